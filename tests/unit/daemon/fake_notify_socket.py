#!/usr/bin/env python3
"""systemd's side of sd_notify for tests: binds a unix datagram socket at PATH (what systemd
names in $NOTIFY_SOCKET) and appends one line per datagram to LOG, flushed at once:
    <monotonic ms> <sender pid> <payload, newlines as |>
The sender's pid comes from the kernel (SO_PASSCRED), as systemd's NotifyAccess=main checks it.
Runs until killed. Usage: fake_notify_socket.py PATH LOG"""
import os
import socket
import struct
import sys
import time

path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
with open(log, "a") as out:
    while True:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", value[:12])[0]
        text = data.decode(errors="replace").strip("\n").replace("\n", "|")
        out.write(f"{time.monotonic() * 1000:.1f} {pid} {text}\n")
        out.flush()
