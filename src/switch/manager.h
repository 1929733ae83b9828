// The switches vlcpd holds: OpenFlow listeners (tcp, unix, ssl), the I/O threads that own the
// connections and run their sessions, the rings that join them to the control thread and to the
// worker lcores, and the control thread's registry of switches by datapath id. Packet-ins go to
// the handlers of a PacketInTable (switch/packet_in.h), by the app id in their cookie.
//
// Files, along the seams: settings.cc (module.openflowserver.*), transport.cc (streams: tcp,
// unix, TLS; listeners; accept), io_thread.cc (I/O threads and their connections), registry.cc
// (the control thread: switches by datapath id, claims and probes of a duplicate datapath id,
// commands to the I/O threads, control-side packet-ins), workers.cc (the worker lcores and
// packet-in dispatch), manager.cc (start, stop, rings); internal.h joins them.
//
// Threads and rings (docs/ARCHITECTURE.md §5):
//   I/O thread t ──SwitchEvent──> control        control ──SwitchCommand──> I/O thread t
//   I/O thread t ──PacketSlot*──> worker w      worker w ──PacketSlot*──> I/O thread t
// One SPSC ring per (producer, consumer) pair. A full ring is counted and the element waits in
// its producer's overflow queue: back-pressure, never a loss. Packet-ins travel in slots of their
// I/O thread's pool (sched/pool.h): the worker writes its answers into the same slot after the
// packet-in and always returns the slot, so a packet-in is copied once (socket buffer -> slot)
// and its answers once (slot -> the session's output).
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
#include "sched/worker.h"
#include "switch/packet_in.h"
#include "switch/session.h"
#include "switch/settings.h"

namespace vlcp::sw {

class Stream;      // a connection's byte stream (tcp, unix or TLS), in internal.h
struct UpPayload;  // a finished handshake, as the I/O thread reports it (internal.h)

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
// A message from a switch that no session-level logic consumed (FLOW_REMOVED, unsolicited
// errors and replies); PACKET_INs go to the packet-in handlers instead.
struct SwitchMessage {
  uint64_t dpid;
  std::shared_ptr<const std::vector<uint8_t>> message;
};

// A PACKET_IN on its way to a worker and its answers on their way back: one 4 KiB slot of the
// I/O thread's pool, loaned by pointer (docs/PACKET_IN_DESIGN.md §2.1). The packet-in is at
// bytes[0, in_len); the worker appends whole messages from answers_at() (8-byte aligned after
// it) and sets answers_len; answers that do not fit are dropped and counted as a failed handler.
struct PacketSlot {
  static constexpr size_t kSize = 4096;
  static constexpr size_t kHeader = 24;
  static constexpr size_t kBytes = kSize - kHeader;
  static constexpr size_t kMaxPacketIn = kBytes / 2;  // larger ones go to the control thread

  uint32_t conn;
  uint16_t handler;  // the PacketInTable index of the handler to run
  uint16_t in_len;
  uint64_t dpid;
  uint32_t answers_len;
  uint32_t spare;
  alignas(8) uint8_t bytes[kBytes];

  size_t answers_at() const { return (size_t{in_len} + 7) & ~size_t{7}; }
  ByteSpan packet_in() const { return {bytes, in_len}; }
  ByteSpan answers() const { return {bytes + answers_at(), answers_len}; }
};
static_assert(sizeof(PacketSlot) == PacketSlot::kSize);

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

// The table module.openflowserver.packetin asks for: the hub as the fallback, or no fallback
// (unclaimed packet-ins dropped, counted). Apps add their handlers before the manager starts.
std::shared_ptr<PacketInTable> make_packet_in_table(const OpenflowSettings& settings);

class SwitchManager {
 public:
  // `packet_ins`: the handlers (null: make_packet_in_table(settings), the hub or nothing).
  SwitchManager(io::ControlLoop& loop, OpenflowSettings settings, SessionCounters* counters,
                std::shared_ptr<const PacketInTable> packet_ins = nullptr);
  ~SwitchManager();

  // Binds every listener (an error names the one that failed), starts the I/O threads and,
  // when `lcores` has workers, the packet-in workers on them.
  Status start(sched::Lcores* lcores);
  // Before start(): the core of each I/O thread (pinned; none: they run where the process may)
  // and how idle workers wait (sched/worker.h).
  void set_threads(std::vector<int> io_cpus, sched::PollConfig poll) {
    io_cpus_ = std::move(io_cpus);
    poll_ = poll;
  }
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
  const PacketInTable& packet_ins() const { return *packet_ins_; }  // its counters

 private:
  struct IoThread;
  struct Worker;
  class Connection;
  struct Event;
  struct Command;

  Status bind_listeners(IoThread& t);
  Status create_workers(unsigned n);
  void accept_tcp(boost::asio::ip::tcp::acceptor* acc, bool ssl);
  void accept_unix(boost::asio::local::stream_protocol::acceptor* acc);
  void adopt(std::function<std::unique_ptr<Stream>(boost::asio::io_context&)> wrap, std::string peer);
  unsigned drain_events(IoThread& t);
  void handle_event(IoThread& t, Event& e);
  void packet_in_on_control(uint64_t dpid, int handler, ByteSpan message);
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
  std::shared_ptr<const PacketInTable> packet_ins_;
  Buffer control_answers_;     // the control thread's packet-in answers, reused
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
  std::vector<int> io_cpus_;
  sched::PollConfig poll_;
};

}  // namespace vlcp::sw
