// The switches vlcpd holds: OpenFlow listeners (tcp, unix, ssl), the I/O threads that own the
// connections and run their sessions, the rings that join them to the control thread and to the
// worker lcores, and the control thread's registry of switches by datapath id.
//
// Threads and rings (docs/ARCHITECTURE.md §5):
//   I/O thread t ──SwitchEvent──> control        control ──SwitchCommand──> I/O thread t
//   I/O thread t ──PacketJob────> worker w       worker w ──PacketJob─────> I/O thread t
// One SPSC ring per (producer, consumer) pair. A full ring is counted and the element waits in
// its producer's overflow queue: back-pressure, never a loss.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "base/config.h"
#include "base/result.h"
#include "io/control_loop.h"
#include "sched/lcores.h"
#include "sched/ring.h"
#include "switch/learning.h"
#include "switch/session.h"

namespace vlcp::sw {

class Stream;      // a connection's byte stream (tcp, unix or TLS), in manager.cc
struct UpPayload;  // a finished handshake, as the I/O thread reports it (manager.cc)

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
  X(role, "module.openflowserver.role", std::string, "", "role to request: equal, master or slave")          \
  X(generation_id, "module.openflowserver.generation_id", int64_t, 0,                                        \
    "generation id of master/slave requests")                                                                \
  X(packetin, "module.openflowserver.packetin", std::string, "control",                                      \
    "packet-ins no module claims: control (to the modules) or hub (flooded by the workers)")                 \
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

struct Listener {
  enum class Kind { kTcp, kSsl, kUnix } kind = Kind::kTcp;
  std::string host;  // IP address (tcp, ssl)
  uint16_t port = 6653;
  std::string path;  // unix
  std::string text;  // as configured
};
// tcp://IP[:PORT] (also ptcp), ssl://IP[:PORT] (also pssl), unix:///PATH; IPv6 in brackets.
Result<Listener> parse_listener(const std::string& url, uint16_t default_port = 6653);

struct OpenflowSettings {
  std::vector<Listener> listeners;
  std::string key, certificate, ca_certs;
  unsigned socket_mode = 0600;  // unix:// listeners
  unsigned iothreads = 1;
  bool hub = false;
  SessionConfig session;
  LearningConfig learning;  // controller learning on the workers (from the pipeline's settings)
};
Result<OpenflowSettings> read_openflow_settings(const Config& config);

// What the control thread knows about one datapath.
struct SwitchInfo {
  uint64_t dpid = 0;
  bool connected = false;
  uint32_t conn = 0;  // current connection id
  std::string peer;
  uint8_t version = 0;
  ofp::FeaturesReply features;
  std::map<uint32_t, ofp::Port> ports;
  std::optional<ofp::Role> role;
  Clock::Wall connected_at{};
  uint32_t connections = 0;  // how many times this datapath connected (reconnects + 1)
  std::string last_down_reason;
};

// Events on the control loop.
struct SwitchUp {
  uint64_t dpid;
  bool reconnect;
};
struct SwitchDown {
  uint64_t dpid;
  std::string reason;
};
struct PortChanged {
  uint64_t dpid;
  uint8_t reason;  // 0 add, 1 delete, 2 modify
  ofp::Port port;
};
// A message from a switch that no session-level logic consumed (PACKET_IN in control mode,
// FLOW_REMOVED, unsolicited errors and replies).
struct SwitchMessage {
  uint64_t dpid;
  std::shared_ptr<const std::vector<uint8_t>> message;
};

// A PACKET_IN or PACKET_OUT travelling between an I/O thread and a worker, by value.
struct PacketJob {
  uint32_t conn;
  uint16_t length;
  uint16_t reserved;
  uint64_t dpid;
  uint8_t message[2032];
};

// The snapshot metrics and introspection read from other threads (replaced, never mutated).
struct SwitchSnapshot {
  std::vector<SwitchInfo> switches;
};

struct RingInfo {
  std::string name;
  const sched::RingStats* stats;
  unsigned capacity;
  std::function<unsigned()> size;
};

class SwitchManager {
 public:
  SwitchManager(io::ControlLoop& loop, OpenflowSettings settings, SessionCounters* counters);
  ~SwitchManager();

  // Binds every listener (an error names the one that failed), starts the I/O threads and,
  // when `lcores` has workers, the packet-in workers on them.
  Status start(sched::Lcores* lcores);
  void stop();

  // --- control thread -------------------------------------------------------------------------
  const std::map<uint64_t, SwitchInfo>& switches() const { return switches_; }
  // Sends a whole encoded message; its xid is replaced by the session's.
  Status send(uint64_t dpid, std::vector<uint8_t> message);
  Status barrier(uint64_t dpid, BatchCallback done);
  Status request(uint64_t dpid, std::vector<uint8_t> message, ReplyCallback done);

  // Moves worker w to cpus[w] (re-planned placement); workers beyond cpus.size() stay.
  void repin_workers(const std::vector<int>& cpus);

  // --- any thread -------------------------------------------------------------------------------
  std::shared_ptr<const SwitchSnapshot> snapshot() const;
  std::vector<RingInfo> rings() const;
  std::vector<std::string> bound_listeners() const { return bound_; }  // actual addresses
  uint64_t packet_ins_to_workers() const;

 private:
  struct IoThread;
  struct Worker;
  class Connection;
  struct Event;
  struct Command;

  void accept_tcp(boost::asio::ip::tcp::acceptor* acc, bool ssl);
  void accept_unix(boost::asio::local::stream_protocol::acceptor* acc);
  void adopt(std::function<std::unique_ptr<Stream>(boost::asio::io_context&)> wrap, std::string peer);
  unsigned drain_events(IoThread& t);
  void handle_event(IoThread& t, Event& e);
  void register_up(unsigned thread, uint32_t conn, uint64_t dpid, UpPayload& up);
  void claim(unsigned thread, uint32_t conn, uint64_t dpid, std::unique_ptr<UpPayload> up);
  void resolve(uint64_t dpid, uint64_t probe, bool holder_alive);
  void close_conn(uint32_t conn, unsigned thread, std::string reason);
  bool push_command(IoThread& t, Command c);
  void flush_commands();
  void publish_snapshot();
  IoThread* thread_of(uint64_t dpid, uint32_t* conn);

  io::ControlLoop& loop_;
  OpenflowSettings settings_;
  SessionCounters* counters_;
  std::shared_ptr<void> tls_;  // the ssl::context; declared first, so connections go before it
  std::vector<std::unique_ptr<IoThread>> threads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::string> bound_;
  std::map<uint64_t, SwitchInfo> switches_;
  std::map<uint32_t, uint64_t> conn_dpid_;
  std::map<uint32_t, unsigned> conn_thread_;
  std::atomic<uint32_t> next_conn_id_{0};
  unsigned next_thread_ = 0;  // accept handlers run on I/O thread 0 only
  uint64_t next_token_ = 0;
  std::map<uint64_t, BatchCallback> batch_callbacks_;
  std::map<uint64_t, ReplyCallback> reply_callbacks_;
  io::TimerId retry_timer_ = 0;
  // A connection whose datapath id is already held by a live session waits here, unregistered,
  // while the holder is sent an ECHO_REQUEST: an answer within the echo timeout keeps the holder
  // (the newcomer is closed), none lets the newcomer take over (see claim()).
  struct Claim {
    uint64_t dpid;
    unsigned thread;
    std::unique_ptr<UpPayload> up;
  };
  struct Probe {
    uint64_t id;
    uint32_t conn;  // the holder being probed
    io::TimerId timer;
  };
  std::map<uint32_t, Claim> claims_;  // by the newcomer's connection id
  std::map<uint64_t, Probe> probes_;  // by datapath id
  uint64_t next_probe_ = 0;
  std::vector<uint64_t> sources_;  // our ring drains on the control loop
  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const SwitchSnapshot> snapshot_;
  bool started_ = false;
  sched::Lcores* lcores_ = nullptr;
};

}  // namespace vlcp::sw
