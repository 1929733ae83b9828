// One OpenFlow connection's protocol, without I/O (the "sans-I/O" style): bytes go in through
// receive(), bytes to send come out of output(), time comes from a Clock and tick(). The
// transport (switch/connection.h: TCP, unix, SSL over Asio) and the tests drive the same code.
//
// What the session does by itself, as OVS's rconn does for a controller:
//   handshake  HELLO with a version bitmap (1.3 and 1.4; the highest both offer wins),
//              HELLO_FAILED/INCOMPATIBLE when there is none, FEATURES_REQUEST, SET_CONFIG,
//              PORT_DESC, optional ROLE; ready when the datapath id and the ports are known.
//              Messages whose layout 1.3 and 1.4 share are sent with the negotiated version
//              stamped into their header (ofp/message.h lists the ones that differ).
//   liveness   ECHO_REQUEST after probe_interval of silence; closed after probe_timeout more
//              of silence (the inactivity probe). Switch ECHO_REQUESTs are answered.
//   xids       allocated from a counter that skips 0 and every xid still awaiting its reply,
//              so they never collide; 32-bit wrap-around is by design.
//   requests   replies (multipart parts joined) and OFPT_ERRORs are matched to their request's
//              callback; a request without an answer in request_timeout fails with a timeout.
//   batches    barrier(): completes when the BARRIER_REPLY arrives, with every OFPT_ERROR the
//              switch sent for the messages since the previous barrier.
//   bad input  every message is checked (lengths centrally, then its type's decoder) before
//              anything acts on it; a malformed one gets OFPT_ERROR and is dropped; a framing
//              error (length below 8) cannot be resynchronised and closes the session.
//   bounds     nothing the switch sends grows memory without a bound: multipart parts held for
//              unfinished replies are capped (max_multipart_bytes for the session, kMaxPortDescBytes
//              for a PORT_DESC, by the type we requested) and beyond the cap the session answers
//              MULTIPART_BUFFER_OVERFLOW and closes; a reply part whose multipart type is not
//              the one requested under its xid is answered BAD_MULTIPART and closes the session; ports
//              outside OVS's port space are refused by the codec (ofp::decode_port), so the port table holds
//              at most kMaxPorts; a batch keeps at most one error per message it covers; partial input is
//              below one message (64 KiB).
//   back-pressure  output above send_high_watermark marks the session backlogged until it
//              drains below send_low_watermark; the transport stops reading meanwhile.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "base/clock.h"
#include "base/result.h"
#include "ofp/message.h"

namespace vlcp::sw {

struct SessionConfig {
  std::chrono::milliseconds probe_interval{10000};  // silence before an ECHO_REQUEST
  std::chrono::milliseconds probe_timeout{3000};    // then silence before the session is dropped
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds request_timeout{30000};
  uint32_t versions = (1u << ofp::kOfp13) | (1u << ofp::kOfp14);  // the bitmap we offer
  uint16_t miss_send_len = 0xffff;                                // whole packets, no switch buffering
  std::optional<ofp::Role> role;                                  // sent after FEATURES when set
  uint64_t generation_id = 0;
  size_t send_high_watermark = 4u << 20;
  size_t send_low_watermark = 1u << 20;
  uint32_t first_xid = 1;  // where the xid counter starts (0 is never used)
  // Multipart reply bytes the session holds at once for its unfinished requests (the parts of a
  // reply are joined before the request completes). See protocol.openflow.maxmultipartbytes.
  size_t max_multipart_bytes = 200'000'000;
};

// The port space of Open vSwitch (ofp/actions.h port_in_range): numbers below 0xff00 and the
// 256 reserved ones; anything else in a port description is refused.
inline constexpr size_t kMaxPorts = 0xff00 + 0x100;
// A PORT_DESC reply holds one ofp_port per port: 64 bytes in 1.3, 72 plus properties in 1.4
// (OVS sends one 32-byte ethernet property); 256 bytes a port is generous.
inline constexpr size_t kMaxPortDescBytes = kMaxPorts * 256;

enum class SessionState : uint8_t { kHello, kFeatures, kReady, kClosed };
std::string_view state_name(SessionState s);

// Counters that outlive sessions: metrics read them from another thread (relaxed atomics).
struct SessionCounters {
  std::array<std::atomic<uint64_t>, 32> rx_by_type{};
  std::array<std::atomic<uint64_t>, 32> tx_by_type{};
  std::atomic<uint64_t> rx_errors_sent{0};  // OFPT_ERROR replies to malformed input
  std::atomic<uint64_t> probes_failed{0};
  std::atomic<uint64_t> handshakes{0};
  std::atomic<uint64_t> multipart_overflows{0};  // sessions closed for too large a multipart reply
  // Kept by the SwitchManager (switch/manager.h), exported with the rest.
  std::atomic<uint64_t> connections_opened{0};
  std::atomic<uint64_t> connections_closed{0};
  std::atomic<uint64_t> duplicate_refused{0};   // a second connection for a live datapath, closed
  std::atomic<uint64_t> duplicate_replaced{0};  // ... that took over from a holder found dead
  std::atomic<uint64_t> messages_dropped{0};    // switch messages shed by a full queue to a thread
  std::atomic<uint64_t> packet_ins_shed{0};     // ... of which packet-ins with no slot for a worker
  // Barrier round trips: cumulative buckets (upper bounds below), sum and count.
  static constexpr std::array<double, 12> kBarrierBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                             0.01,   0.025,   0.05,   0.1,   0.5,    1.0};
  std::array<std::atomic<uint64_t>, kBarrierBuckets.size() + 1> barrier_buckets{};
  std::atomic<uint64_t> barrier_sum_ns{0};
  std::atomic<uint64_t> barrier_count{0};
  void observe_barrier(std::chrono::nanoseconds rtt);
};

// What the owner learns from a session. Called from inside receive()/tick() on the driving
// thread; the handler may call send()/request()/barrier() but not destroy the session.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  virtual void on_ready() {}
  virtual void on_port_status(uint8_t /*reason*/, const ofp::Port& /*port*/) {}
  virtual void on_packet_in(const ofp::Frame& /*frame*/, const ofp::PacketInView& /*p*/) {}
  // Anything asynchronous that is not a reply: FLOW_REMOVED, unsolicited ERRORs, ...
  virtual void on_message(const ofp::Frame& /*frame*/) {}
  virtual void on_closed(const std::string& /*reason*/) {}
  virtual void on_backlog(bool /*backlogged*/) {}
};

// The answer to a request: the reply message(s), or why there is none (an OFPT_ERROR from the
// switch is kConflict with the error's name; no answer in time is kTimeout; a closed session
// is kUnavailable). Multipart replies arrive as one body, the parts joined.
struct Reply {
  ofp::MsgType type = ofp::MsgType::kHello;
  std::vector<uint8_t> message;  // the (first) reply message, whole
  std::vector<uint8_t> body;     // multipart: the joined bodies of every part
  std::optional<ofp::OfpError> error;
};
using ReplyCallback = std::function<void(Result<Reply>)>;
// A barrier's outcome: the errors the switch reported for the batch (empty: all applied).
struct BatchResult {
  bool completed = false;  // false: the session closed or timed out before the barrier reply
  std::vector<std::pair<uint32_t, ofp::OfpError>> errors;  // (xid, error)
};
using BatchCallback = std::function<void(const BatchResult&)>;

class Session {
 public:
  Session(const Clock& clock, SessionConfig config, SessionHandler* handler, SessionCounters* counters);

  // Starts the handshake (queues our HELLO).
  void start();
  // Bytes from the transport.
  void receive(ByteSpan bytes);
  // Timers (echo, probe, request timeouts). Returns when tick() next wants to run.
  Clock::Monotonic tick();
  // Closes with a reason (idempotent); pending requests and batches fail.
  void close(const std::string& reason);

  // Output for the transport: take it whole, then report how much was written.
  ByteSpan output() const { return out_.span().subspan(out_head_); }
  void consumed(size_t n);
  bool backlogged() const { return backlogged_; }

  // Sending. Encode with next_xid(); send() takes a whole encoded message.
  uint32_t next_xid();
  void send(ByteSpan message);
  // send() of a message encoded with xid 0 (a packet-in handler's answer): the copy in the
  // output gets next_xid().
  void send_new_xid(ByteSpan message);
  // Sends a request (already encoded with an xid from next_xid()) and calls back with its reply.
  void request(ByteSpan message, ReplyCallback done);
  // Ends the current batch with a BARRIER_REQUEST; done runs on its reply (or failure).
  void barrier(BatchCallback done);

  SessionState state() const { return state_; }
  bool closed() const { return state_ == SessionState::kClosed; }
  const std::string& close_reason() const { return close_reason_; }
  uint8_t version() const { return version_; }
  uint64_t datapath_id() const { return features_.datapath_id; }
  const ofp::FeaturesReply& features() const { return features_; }
  const std::map<uint32_t, ofp::Port>& ports() const { return ports_; }
  std::optional<ofp::Role> role() const { return role_; }
  size_t pending_requests() const { return pending_.size(); }
  // Multipart reply bytes held for unfinished requests (bounded by max_multipart_bytes).
  size_t multipart_bytes_held() const { return multipart_held_; }

 private:
  struct Pending {
    ofp::MsgType request_type;
    Clock::Monotonic deadline;
    ReplyCallback done;
    Reply partial;  // multipart parts so far
    // A MULTIPART_REQUEST's type, as we sent it: every part of the reply must carry it, and the
    // per-type cap (kMaxPortDescBytes) comes from it, never from the type the switch claims.
    std::optional<ofp::MultipartType> multipart;
  };
  struct Batch {
    uint32_t first_xid;  // first xid of the batch (inclusive)
    uint32_t barrier_xid;
    Clock::Monotonic sent;
    BatchCallback done;
    std::vector<std::pair<uint32_t, ofp::OfpError>> errors;
  };

  void handle(ByteSpan message);
  void handle_hello(const ofp::Frame& f);
  void handle_reply(const ofp::Frame& f);
  void handle_error(const ofp::Frame& f);
  Pending take(std::map<uint32_t, Pending>::iterator it);  // removes a request, releasing its parts
  void reply_error(ofp::OfpError e, ByteSpan offending, uint32_t xid);
  void after_features();
  void maybe_ready();
  void count_tx(ByteSpan message);
  void stamp(size_t start);  // the negotiated version into the message at out_[start]
  void update_backlog();

  const Clock& clock_;
  SessionConfig config_;
  SessionHandler* handler_;
  SessionCounters* counters_;
  SessionState state_ = SessionState::kHello;
  std::string close_reason_;
  uint8_t version_ = 0;
  std::vector<uint8_t> in_;  // unparsed input
  Buffer out_;
  size_t out_head_ = 0;          // out_[0, out_head_) is written; compacted when it empties or grows large
  size_t parse(ByteSpan bytes);  // handles every whole message; returns the bytes consumed
  void append(ByteSpan message, const uint32_t* xid);  // send(), with the xid replaced when given
  bool backlogged_ = false;
  uint32_t xid_ = 0;
  uint32_t batch_first_xid_ = 1;
  std::map<uint32_t, Pending> pending_;
  std::vector<Batch> batches_;  // in barrier order
  ofp::FeaturesReply features_;
  bool have_features_ = false;
  bool have_ports_ = false;
  bool role_pending_ = false;
  std::optional<ofp::Role> role_;
  std::map<uint32_t, ofp::Port> ports_;
  Clock::Monotonic last_rx_;
  Clock::Monotonic handshake_start_;
  Clock::Monotonic echo_sent_;
  bool echo_outstanding_ = false;
  std::vector<std::pair<uint32_t, ofp::OfpError>> open_errors_;  // for the batch not yet ended
  size_t multipart_held_ = 0;  // sum of the pending requests' partial bodies
};

}  // namespace vlcp::sw
