// What the files of the SwitchManager share (manager.h lists them): the kinds that travel in
// the rings, a connection's stream, an I/O thread and a worker. Not for use outside switch/.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <optional>
#include <thread>
#include <unordered_map>

#include "base/log.h"
#include "sched/pool.h"
#include "sched/worker.h"
#include "switch/manager.h"

namespace vlcp::sw {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

// ---- what travels in the rings -----------------------------------------------------------------

// Kind-specific heap payloads hang off events and commands by pointer; the receiver owns them.
struct Payload {
  virtual ~Payload() = default;
};
struct UpPayload : Payload {
  std::string peer;
  uint8_t version = 0;
  ofp::FeaturesReply features;
  std::map<uint32_t, ofp::Port> ports;
  std::optional<ofp::Role> role;
};
struct PortPayload : Payload {
  uint8_t reason = 0;
  ofp::Port port;
};
struct BytesPayload : Payload {
  std::vector<uint8_t> bytes;
  std::string text;
};
struct BatchPayload : Payload {
  BatchResult result;
};
struct ReplyPayload : Payload {
  Result<Reply> reply = make_error(Errc::kInternal, "unset");
};

struct SwitchManager::Event {
  // kPacketIn: `token` is the PacketInTable index of the handler to run on the control thread.
  enum Kind : uint32_t { kUp, kDown, kPort, kMessage, kPacketIn, kBatchDone, kReply } kind;
  uint32_t conn;
  uint64_t dpid;
  uint64_t token;
  Payload* payload;
};
struct SwitchManager::Command {
  enum Kind : uint32_t { kSend, kBarrier, kRequest, kClose } kind;
  uint32_t conn;
  uint64_t token;
  BytesPayload* payload;
};

// ---- a connection's byte stream (transport.cc) -------------------------------------------------

class Stream {
 public:
  virtual ~Stream() = default;
  virtual void handshake(std::function<void(error_code)> done) = 0;
  virtual void read(asio::mutable_buffer b, std::function<void(error_code, size_t)> done) = 0;
  virtual void write(asio::const_buffer b, std::function<void(error_code, size_t)> done) = 0;
  virtual void close() = 0;
};

// ---- worker lcores (workers.cc) ----------------------------------------------------------------

// A Buffer over a slot's answer area: a handler appends in place; one that outgrows the area
// moves to the heap (on_heap()) and its answers are dropped, counted as failed.
class SlotAnswers final : public Buffer {
 public:
  explicit SlotAnswers(PacketSlot& s)
      : Buffer(s.bytes + s.answers_at(), PacketSlot::kBytes - s.answers_at()) {}
};

// Runs the slot's handler into the slot; answers_len = 0 when it failed or overflowed.
void run_in_slot(const PacketInTable& table, PacketSlot& slot);

struct SwitchManager::Worker {
  sched::WorkerLoop loop;
  // Per I/O thread: slots in (packet-ins), the same slots out (with answers). Every out ring has
  // room for every slot of its I/O thread's pool, so returning a slot never fails.
  std::vector<std::unique_ptr<sched::Ring<PacketSlot*>>> in, out;
  std::atomic<uint64_t> handled{0};
  explicit Worker(std::string name) : loop(std::move(name)) {}
  unsigned poll(const PacketInTable& table);  // one burst from every I/O thread
};

// ---- I/O threads (io_thread.cc) ----------------------------------------------------------------

struct SwitchManager::IoThread {
  unsigned index = 0;
  asio::io_context ctx;
  std::thread thread;
  std::unique_ptr<sched::CallbackWaker> waker;
  std::unique_ptr<sched::Ring<Event>> events;      // to control
  std::unique_ptr<sched::Ring<Command>> commands;  // from control
  std::deque<Event> event_overflow;                // waiting for room in `events`
  std::deque<Command> command_overflow;            // control side: waiting for room in `commands`
  std::vector<std::unique_ptr<tcp::acceptor>> tcp_acceptors;
  std::vector<std::unique_ptr<unix_stream::acceptor>> unix_acceptors;
  std::unordered_map<uint32_t, std::shared_ptr<Connection>> conns;
  std::vector<Worker*> workers;
  // Packet-in slots: the pool this thread owns, the slots filled by the read in progress (handed
  // to the workers in one burst after it), and those waiting for room in a worker ring.
  static constexpr size_t kPoolSlots = 2048;
  std::unique_ptr<sched::SlotPool<PacketSlot>> pool;
  std::vector<PacketSlot*> staged;
  std::deque<PacketSlot*> job_overflow;
  InlineBuffer<4096> inline_answers;  // worker handlers run here when no worker lcore exists
  // Connections with output appended since the last flush: flushed once per drain (one write
  // per connection for a burst of answers or commands).
  std::vector<std::shared_ptr<Connection>> dirty;
  std::chrono::microseconds spin{0};  // how long to poll the workers' answers before epoll
  std::optional<asio::steady_timer> retry;
  SwitchManager* manager = nullptr;
  const Clock* clock = nullptr;
  uint32_t next_worker = 0;

  // Switch messages (packet-ins to control, FLOW_REMOVED, ...) waiting beyond the ring: a switch
  // sending faster than the control thread reads is shed here, counted; events that carry
  // state (up, down, ports, replies) always wait.
  static constexpr size_t kMaxOverflowMessages = 256;  // of at most 64 KiB each
  size_t overflow_messages = 0;
  static bool sheddable(const Event& e) { return e.kind == Event::kMessage || e.kind == Event::kPacketIn; }
  void emit(Event e);
  void dropped();
  void arm_retry();
  void drain_commands();
  // Every answered slot back from the workers: answers to their sessions, slots home, one flush
  // per connection. Returns how many slots came back.
  unsigned drain_worker_answers();
  void mark_dirty(Connection& c);
  void flush_dirty();
  // After a read: the staged slots to the workers (one burst, one wake-up), then, while some are
  // out and for at most `spin`, their answers polled here instead of through a posted wake-up.
  void hand_off();
  // A connection accepted on I/O thread 0, adopted by this one (on this thread).
  void open(uint32_t id, std::unique_ptr<Stream> stream, std::string peer);
  void close_all(const std::string& reason);
  // Staged slots to the workers: round robin by burst (workers.cc); what does not fit waits.
  void to_workers();
};

}  // namespace vlcp::sw
