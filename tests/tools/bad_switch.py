#!/usr/bin/env python3
"""A hostile OpenFlow peer for system tests: connects to a controller, completes the HELLO,
then sends malformed messages and checks each is answered with the right OFPT_ERROR, and that
a framing error (a length below the header) ends with an error and a closed connection.

Usage: bad_switch.py HOST PORT     exit 0 when every answer is as expected"""
import socket
import struct
import sys
import time

OFPT_HELLO, OFPT_ERROR, OFPT_ECHO_REQUEST, OFPT_ECHO_REPLY = 0, 1, 2, 3
OFPT_FEATURES_REQUEST, OFPT_PORT_STATUS, OFPT_FLOW_MOD = 5, 12, 14


def msg(version, mtype, xid, body=b""):
    return struct.pack("!BBHI", version, mtype, 8 + len(body), xid) + body


class Peer:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=5)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def recv_msg(self):
        """The next message (version, type, xid, body), or None when the peer closed."""
        while True:
            if len(self.buf) >= 8:
                length = struct.unpack("!H", self.buf[2:4])[0]
                if len(self.buf) >= length:
                    m, self.buf = self.buf[:length], self.buf[length:]
                    v, t, _, x = struct.unpack("!BBHI", m[:8])
                    return v, t, x, m[8:]
            data = self.s.recv(65536)
            if not data:
                return None
            self.buf += data

    def expect_error(self, xid, etype, ecode, what):
        deadline = time.time() + 5
        while time.time() < deadline:
            m = self.recv_msg()
            if m is None:
                print(f"FAIL {what}: connection closed before the error")
                return False
            v, t, x, body = m
            if t == OFPT_ERROR and x == xid:
                got = struct.unpack("!HH", body[:4])
                if got == (etype, ecode):
                    print(f"ok   {what}: OFPT_ERROR type={etype} code={ecode}")
                    return True
                print(f"FAIL {what}: error {got}, expected {(etype, ecode)}")
                return False
            # FEATURES/PORT_DESC/SET_CONFIG requests and echoes: not what we wait for.
        print(f"FAIL {what}: no error within 5 s")
        return False


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    p = Peer(host, port)
    p.send(msg(4, OFPT_HELLO, 1, struct.pack("!HHI", 1, 8, 1 << 4)))
    ok = True
    # Wrong version after the handshake: OFPBRC_BAD_VERSION (1, 0).
    p.send(msg(1, OFPT_ECHO_REQUEST, 0x101))
    ok &= p.expect_error(0x101, 1, 0, "wrong version")
    # Unknown message type: OFPBRC_BAD_TYPE (1, 1).
    p.send(msg(4, 0x63, 0x102))
    ok &= p.expect_error(0x102, 1, 1, "unknown type")
    # A PORT_STATUS cut short (consistent header length): OFPBRC_BAD_LEN (1, 6).
    p.send(msg(4, OFPT_PORT_STATUS, 0x103, b"\x00" * 40))
    ok &= p.expect_error(0x103, 1, 6, "truncated PORT_STATUS")
    # A FLOW_MOD sent to the controller: OFPBRC_BAD_TYPE.
    p.send(msg(4, OFPT_FLOW_MOD, 0x104, b"\x00" * 48))
    ok &= p.expect_error(0x104, 1, 1, "FLOW_MOD to the controller")
    # Still alive: an echo is answered.
    p.send(msg(4, OFPT_ECHO_REQUEST, 0x105, b"ping"))
    answered = False
    for _ in range(20):
        m = p.recv_msg()
        if m and m[1] == OFPT_ECHO_REPLY and m[2] == 0x105 and m[3] == b"ping":
            answered = True
            break
    print(("ok  " if answered else "FAIL") + " session survives malformed messages (echo answered)")
    ok &= answered
    # Framing error: length 4 < 8 cannot be resynchronised: an error, then a clean close.
    p.send(struct.pack("!BBHI", 4, OFPT_ECHO_REQUEST, 4, 0x106))
    ok &= p.expect_error(0x106, 1, 6, "length below the header")
    closed = False
    for _ in range(50):
        m = p.recv_msg()
        if m is None:
            closed = True
            break
    print(("ok  " if closed else "FAIL") + " connection closed after the framing error")
    ok &= closed
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
