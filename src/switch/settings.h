// module.openflowserver.* and protocol.openflow.*: where switches connect, the I/O threads, the
// session's timeouts and versions, and what happens to packet-ins no app claims.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "io/listener.h"
#include "switch/session.h"

namespace vlcp::sw {

// X(field, key, C++ type, default, help): VLCP's names (module.openflowserver.*, protocol.openflow.*).
#define VLCP_OPENFLOW_KEYS(X)                                                                                \
  X(url, "module.openflowserver.url", std::string, "tcp://127.0.0.1:6653",                                   \
    "where switches connect: unix:///PATH (recommended: give OVS 'unix:PATH' through "                       \
    "module.ovsdbmanager.controller), ssl://IP[:PORT] (switches need a certificate from ca_certs) or "       \
    "tcp://IP[:PORT] (loopback only unless allow_remote_tcp; port 6653 by default)")                         \
  X(allow_remote_tcp, "module.openflowserver.allow_remote_tcp", bool, false,                                 \
    "allow a plain tcp:// listener on an address other than loopback: any host that reaches it can "         \
    "claim a datapath id, so use ssl:// off-host instead")                                                   \
  X(socketmode, "module.openflowserver.socketmode", std::string, "0600",                                     \
    "permissions of unix:// listener sockets, in octal: 0600 (vlcpd's user, root) or 0660 (and its "         \
    "group, e.g. OVS run as openvswitch:root); never others")                                                \
  X(urls, "module.openflowserver.urls", std::vector<std::string>, {}, "more listeners, same syntax")         \
  X(key, "module.openflowserver.key", std::string, "", "TLS private key (PEM) for ssl:// listeners")         \
  X(certificate, "module.openflowserver.certificate", std::string, "", "TLS certificate (PEM)")              \
  X(ca_certs, "module.openflowserver.ca_certs", std::string, "",                                             \
    "CA certificates (PEM) that switch certificates must chain to (required for ssl://)")                    \
  X(iothreads, "module.openflowserver.iothreads", int64_t, 1, "I/O threads owning switch connections")       \
  X(spin_us, "module.openflowserver.spin_us", int64_t, 50,                                                   \
    "microseconds an I/O thread polls for the workers' answers to the packet-ins it just handed over "       \
    "before it goes back to epoll (one wake-up per round trip instead of three); 0: never")                  \
  X(role, "module.openflowserver.role", std::string, "", "role to request: equal, master or slave")          \
  X(generation_id, "module.openflowserver.generation_id", int64_t, 0,                                        \
    "generation id of master/slave requests")                                                                \
  X(packetin, "module.openflowserver.packetin", std::string, "control",                                      \
    "packet-ins no app claims: control (dropped, counted) or hub (flooded by the workers)")                  \
  X(allowedversions, "protocol.openflow.allowedversions", std::vector<int64_t>,                              \
    (std::vector<int64_t>{4, 5}),                                                                            \
    "OpenFlow wire versions offered: 4 (1.3) and/or 5 (1.4); the highest both sides offer is used")          \
  X(keepalivetime, "protocol.openflow.keepalivetime", double, 10.0, "seconds of silence before an echo")     \
  X(keepalivetimeout, "protocol.openflow.keepalivetimeout", double, 3.0,                                     \
    "seconds without any message after the echo before the switch is dropped")                               \
  X(hellotimeout, "protocol.openflow.hellotimeout", double, 10.0, "seconds allowed for the whole handshake") \
  X(maxmultipartbytes, "protocol.openflow.maxmultipartbytes", int64_t, 200000000,                            \
    "bytes of multipart reply parts held at once per switch; beyond it the switch is dropped. The "          \
    "largest reply is a whole flow table: 1,000,000 flows at ~200 bytes (match, instructions) each")

// The listener syntax lives in io/ (the WebAPI's endpoints use it too).
using io::Listener;
using io::parse_listener;

struct OpenflowSettings {
  std::vector<Listener> listeners;
  std::string key, certificate, ca_certs;
  unsigned socket_mode = 0600;  // unix:// listeners
  unsigned iothreads = 1;
  std::chrono::microseconds spin{50};  // module.openflowserver.spin_us
  bool hub = false;                    // the hub is the fallback packet-in handler (switch/packet_in.h)
  SessionConfig session;
};
Result<OpenflowSettings> read_openflow_settings(const Config& config);

}  // namespace vlcp::sw
