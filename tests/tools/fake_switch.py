#!/usr/bin/env python3
"""A fake OpenFlow 1.3 switch for system tests, playing the hostile local process of issue 14.

Usage: fake_switch.py MODE HOST PORT DPID [SECONDS]
  impostor   completes the handshake announcing datapath DPID (hex) and answers echoes for
             SECONDS (default 5): what a process posing as a connected bridge does.
  portdesc   answers PORT_DESC with endless "more to come" parts during the handshake.
  flowstats  completes the handshake, then answers the first FLOW_STATS request with endless
             "more to come" parts.
Prints one JSON line: {"closed": bool (the controller closed the connection), "seconds": float,
"received": {type name: count}, "sent_bytes": int (multipart bytes streamed)}."""
import json
import socket
import struct
import sys
import time

HELLO, ERROR, ECHO_REQUEST, ECHO_REPLY = 0, 1, 2, 3
FEATURES_REQUEST, FEATURES_REPLY, SET_CONFIG, FLOW_MOD = 5, 6, 9, 14
MULTIPART_REQUEST, MULTIPART_REPLY, BARRIER_REQUEST, BARRIER_REPLY = 18, 19, 20, 21
NAMES = {0: "HELLO", 1: "ERROR", 2: "ECHO_REQUEST", 3: "ECHO_REPLY", 5: "FEATURES_REQUEST",
         9: "SET_CONFIG", 10: "PACKET_OUT", 14: "FLOW_MOD", 15: "GROUP_MOD", 18: "MULTIPART_REQUEST",
         20: "BARRIER_REQUEST", 24: "ROLE_REQUEST", 4: "EXPERIMENTER"}
MP_FLOW, MP_PORT_DESC, MORE = 1, 13, 1


def msg(mtype, xid, body=b""):
    return struct.pack("!BBHI", 4, mtype, 8 + len(body), xid) + body


def port(no, name):  # ofp_port (1.3): 64 bytes
    return struct.pack("!I4x6s2x16sIIIIIIII", no, bytes([2, 0, 0, 0, 0, no & 0xff]),
                       name.encode()[:15], 0, 0, 0x800, 0, 0, 0, 10000000, 10000000)


def flow_entry():  # ofp_flow_stats with an empty OXM match, no instructions: 56 bytes
    return struct.pack("!HBxIIHHHH4xQQQ", 56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) + struct.pack("!HH4x", 1, 4)


def main():
    mode, host, tcp_port, dpid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4], 16)
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 5.0
    s = socket.create_connection((host, tcp_port), timeout=5)
    s.settimeout(0.2)
    s.sendall(msg(HELLO, 1, struct.pack("!HHI", 1, 8, 1 << 4)))
    buf, received, closed, sent = b"", {}, False, 0
    start = time.time()
    stream = None  # (xid, type, body) of a reply being streamed
    ports = b"".join(port(n, "fake%d" % n) for n in range(1, 1000))
    flows = flow_entry() * 1100
    while time.time() - start < seconds and not closed:
        if stream:
            xid, mtype, body = stream
            try:
                s.settimeout(5)
                s.sendall(msg(MULTIPART_REPLY, xid, struct.pack("!HH4x", mtype, MORE) + body))
                sent += len(body)
            except OSError:
                closed = True
                break
        try:
            s.settimeout(0.0 if stream else 0.2)  # streaming: as fast as the controller reads
            data = s.recv(65536)
            if not data:
                closed = True
                break
            buf += data
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            closed = True
            break
        while len(buf) >= 8:
            length = struct.unpack("!H", buf[2:4])[0]
            if length < 8 or len(buf) < length:
                break
            m, buf = buf[:length], buf[length:]
            _, t, _, xid = struct.unpack("!BBHI", m[:8])
            name = NAMES.get(t, str(t))
            received[name] = received.get(name, 0) + 1
            answer = b""
            if t == ECHO_REQUEST:
                answer = msg(ECHO_REPLY, xid, m[8:])
            elif t == FEATURES_REQUEST:
                answer = msg(FEATURES_REPLY, xid, struct.pack("!QIBB2xII", dpid, 0, 254, 0, 0x4f, 0))
            elif t == BARRIER_REQUEST:
                answer = msg(BARRIER_REPLY, xid)
            elif t == MULTIPART_REQUEST:
                mtype = struct.unpack("!H", m[8:10])[0]
                if mtype == MP_PORT_DESC and mode == "portdesc":
                    stream = (xid, mtype, ports)
                elif mtype == MP_PORT_DESC:
                    answer = msg(MULTIPART_REPLY, xid, struct.pack("!HH4x", mtype, 0) + port(1, "fake1"))
                elif mtype == MP_FLOW and mode == "flowstats" and not stream:
                    stream = (xid, mtype, flows)
                else:  # an empty last part for anything else (groups, ...)
                    answer = msg(MULTIPART_REPLY, xid, struct.pack("!HH4x", mtype, 0))
            if answer:
                try:
                    s.sendall(answer)
                except OSError:
                    closed = True
    print(json.dumps({"closed": closed, "seconds": round(time.time() - start, 2), "received": received,
                      "sent_bytes": sent}))


if __name__ == "__main__":
    main()
