// Switch connections on I/O threads, joined to the control thread and workers by rings
// (see manager.h).
#include "switch/manager.h"

#include <sys/stat.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <cstring>
#include <deque>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include "base/log.h"
#include "io/tls.h"
#include "sched/worker.h"

namespace vlcp::sw {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

// ---- settings --------------------------------------------------------------------------------

Result<Listener> parse_listener(const std::string& url, uint16_t default_port) {
  Listener l;
  l.port = default_port;
  l.text = url;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return make_error(Errc::kInvalidArgument, "listener '" + url + "': expected tcp://, ssl:// or unix://");
  std::string scheme = url.substr(0, scheme_end), rest = url.substr(scheme_end + 3);
  if (scheme == "unix") {
    if (rest.empty() || rest[0] != '/')
      return make_error(Errc::kInvalidArgument, "listener '" + url + "': unix:// needs an absolute path");
    l.kind = Listener::Kind::kUnix;
    l.path = rest;
    return l;
  }
  if (scheme == "tcp" || scheme == "ptcp")
    l.kind = Listener::Kind::kTcp;
  else if (scheme == "ssl" || scheme == "pssl")
    l.kind = Listener::Kind::kSsl;
  else
    return make_error(Errc::kInvalidArgument, "listener '" + url + "': unknown scheme '" + scheme + "'");
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  // [v6]:port, v4:port, host alone; empty means VLCP's "all addresses".
  std::string host = rest, port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos)
      return make_error(Errc::kInvalidArgument, "listener '" + url + "': bad IPv6 address");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  l.host = host.empty() ? "0.0.0.0" : host;
  error_code ec;
  asio::ip::make_address(l.host, ec);
  if (ec)
    return make_error(Errc::kInvalidArgument,
                      "listener '" + url + "': '" + l.host + "' is not an IP address");
  if (!port.empty()) {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end || p < 0 || p > 65535)
      return make_error(Errc::kInvalidArgument, "listener '" + url + "': bad port");
    l.port = static_cast<uint16_t>(p);
  }
  return l;
}

namespace {
struct OpenflowKeys {
  VLCP_OPENFLOW_KEYS(VLCP_KEYS_FIELD)
};

std::chrono::milliseconds seconds(double s) {
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}
}  // namespace

Result<OpenflowSettings> read_openflow_settings(const Config& config) {
  OpenflowKeys keys;
  VLCP_OPENFLOW_KEYS(VLCP_KEYS_READ)
  auto bad = [&](const char* key, const std::string& why) {
    return make_error(Errc::kInvalidArgument, config.where(key) + ": " + key + ": " + why);
  };
  OpenflowSettings s;
  // Each listener with the key it came from, so an error points at the line that asked for it.
  std::vector<std::pair<const char*, std::string>> urls = {{"module.openflowserver.url", keys.url}};
  for (const auto& u : keys.urls) urls.emplace_back("module.openflowserver.urls", u);
  for (auto& [from, u] : urls) {
    auto l = parse_listener(u);
    if (!l.ok()) return bad(from, l.error().message());
    if (l->kind == Listener::Kind::kSsl &&
        (keys.key.empty() || keys.certificate.empty() || keys.ca_certs.empty()))
      return bad(from,
                 "'" + u + "': ssl:// listeners need module.openflowserver.key, certificate and ca_certs");
    // Whoever connects can announce any datapath id: off this host only switches with a
    // certificate from ca_certs (ssl://) are accepted, unless the operator says otherwise.
    if (l->kind == Listener::Kind::kTcp && !keys.allow_remote_tcp &&
        !asio::ip::make_address(l->host).is_loopback())
      return bad(
          from,
          "'" + u + "': a plain tcp:// listener on a non-loopback address lets any host that reaches it " +
              "act as a switch; use unix:// (OVS's controller through module.ovsdbmanager.controller) or " +
              "ssl:// with ca_certs, or set module.openflowserver.allow_remote_tcp = True");
    s.listeners.push_back(*l);
  }
  {
    const std::string& m = keys.socketmode;
    char* end = nullptr;
    unsigned long mode = m.empty() ? 0 : std::strtoul(m.c_str(), &end, 8);
    if (m.empty() || *end || mode > 0777 || (mode & 0600) != 0600 || (mode & 0007))
      return bad("module.openflowserver.socketmode",
                 "'" + m + "': octal, owner read-write and nothing for others (0600 or 0660)");
    s.socket_mode = static_cast<unsigned>(mode);
  }
  s.key = keys.key;
  s.certificate = keys.certificate;
  s.ca_certs = keys.ca_certs;
  if (keys.iothreads < 1 || keys.iothreads > 64)
    return bad("module.openflowserver.iothreads", "must be 1..64");
  s.iothreads = static_cast<unsigned>(keys.iothreads);
  if (keys.packetin != "control" && keys.packetin != "hub")
    return bad("module.openflowserver.packetin", "control or hub");
  s.hub = keys.packetin == "hub";
  if (keys.role == "equal")
    s.session.role = ofp::Role::kEqual;
  else if (keys.role == "master")
    s.session.role = ofp::Role::kMaster;
  else if (keys.role == "slave")
    s.session.role = ofp::Role::kSlave;
  else if (!keys.role.empty())
    return bad("module.openflowserver.role", "equal, master or slave");
  s.session.generation_id = static_cast<uint64_t>(keys.generation_id);
  s.session.versions = 0;
  for (int64_t v : keys.allowedversions) {
    if (v != ofp::kOfp13 && v != ofp::kOfp14)
      return bad("protocol.openflow.allowedversions",
                 "only 4 (OpenFlow 1.3) and 5 (OpenFlow 1.4) are spoken");
    s.session.versions |= 1u << v;
  }
  if (!s.session.versions) return bad("protocol.openflow.allowedversions", "offer at least one version");
  for (auto [key, value] : {std::pair{"protocol.openflow.keepalivetime", keys.keepalivetime},
                            std::pair{"protocol.openflow.keepalivetimeout", keys.keepalivetimeout},
                            std::pair{"protocol.openflow.hellotimeout", keys.hellotimeout}})
    if (!(value >= 0.05)) return bad(key, "timeouts must be at least 0.05 s");
  // The handshake's PORT_DESC alone may need kMaxPortDescBytes; less would refuse real switches.
  if (keys.maxmultipartbytes < static_cast<int64_t>(kMaxPortDescBytes))
    return bad("protocol.openflow.maxmultipartbytes",
               "must be at least " + std::to_string(kMaxPortDescBytes) + " (a full PORT_DESC reply)");
  s.session.max_multipart_bytes = static_cast<size_t>(keys.maxmultipartbytes);
  s.session.probe_interval = seconds(keys.keepalivetime);
  s.session.probe_timeout = seconds(keys.keepalivetimeout);
  s.session.handshake_timeout = seconds(keys.hellotimeout);
  return s;
}

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
  enum Kind : uint32_t { kUp, kDown, kPort, kMessage, kBatchDone, kReply } kind;
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

// ---- streams -----------------------------------------------------------------------------------

class Stream {
 public:
  virtual ~Stream() = default;
  virtual void handshake(std::function<void(error_code)> done) = 0;
  virtual void read(asio::mutable_buffer b, std::function<void(error_code, size_t)> done) = 0;
  virtual void write(asio::const_buffer b, std::function<void(error_code, size_t)> done) = 0;
  virtual void close() = 0;
};

// Any Asio stream: a tcp or unix socket, or TLS over tcp (which adds the handshake).
template <typename S>
class AsioStream final : public Stream {
 public:
  template <typename... Args>
  explicit AsioStream(Args&&... args) : s_(std::forward<Args>(args)...) {}
  void handshake(std::function<void(error_code)> done) override {
    if constexpr (std::is_same_v<S, asio::ssl::stream<tcp::socket>>)
      s_.async_handshake(asio::ssl::stream_base::server, std::move(done));
    else
      done({});
  }
  void read(asio::mutable_buffer b, std::function<void(error_code, size_t)> done) override {
    s_.async_read_some(b, std::move(done));
  }
  void write(asio::const_buffer b, std::function<void(error_code, size_t)> done) override {
    asio::async_write(s_, b, std::move(done));
  }
  void close() override {
    error_code ec;
    s_.lowest_layer().shutdown(asio::socket_base::shutdown_both, ec);
    s_.lowest_layer().close(ec);
  }

 private:
  S s_;
};

// ---- worker lcores -----------------------------------------------------------------------------

struct SwitchManager::Worker {
  sched::WorkerLoop loop;
  // Per I/O thread: jobs in, answers out.
  std::vector<std::unique_ptr<sched::Ring<PacketJob>>> in, out;
  std::atomic<uint64_t> handled{0};
  explicit Worker(std::string name) : loop(std::move(name)) {}
};

// ---- I/O threads -------------------------------------------------------------------------------

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
  std::deque<PacketJob> job_overflow;  // packet-ins waiting for a worker ring
  std::optional<asio::steady_timer> retry;
  SwitchManager* manager = nullptr;
  const Clock* clock = nullptr;
  uint32_t next_worker = 0;

  // Switch messages (packet-ins to control, FLOW_REMOVED, ...) waiting beyond the ring: a switch
  // sending faster than the control thread reads is shed here, counted; events that carry
  // state (up, down, ports, replies) always wait.
  static constexpr size_t kMaxOverflowMessages = 256;  // of at most 64 KiB each
  static constexpr size_t kMaxOverflowJobs = 4096;     // packet-ins for the workers, 2 KiB each
  size_t overflow_messages = 0;
  void emit(Event e) {
    if (event_overflow.empty() && events->push(e)) return;
    if (e.kind == Event::kMessage) {
      if (overflow_messages >= kMaxOverflowMessages) {
        delete e.payload;
        dropped();
        return;
      }
      ++overflow_messages;
    }
    event_overflow.push_back(e);
    arm_retry();
  }
  void dropped() {
    if (manager->counters_) manager->counters_->messages_dropped.fetch_add(1, std::memory_order_relaxed);
    VLCP_LOG_RL(kWarn, "switch", 6, 1) << "io" << index << ": control thread behind, switch messages shed";
  }
  void arm_retry();
  void drain_commands();
  void drain_worker_answers();
};

class SwitchManager::Connection : public SessionHandler, public std::enable_shared_from_this<Connection> {
 public:
  Connection(IoThread& t, uint32_t id, std::unique_ptr<Stream> stream, std::string peer)
      : t_(t),
        id_(id),
        stream_(std::move(stream)),
        peer_(std::move(peer)),
        session_(*t.clock, t.manager->settings_.session, this, t.manager->counters_),
        timer_(t.ctx) {}

  void start() {
    auto self = shared_from_this();
    stream_->handshake([self](error_code ec) {
      if (ec) {
        self->finish("TLS handshake failed: " + ec.message());
        return;
      }
      self->session_.start();
      self->flush();
      self->read();
      self->tick();
    });
  }

  Session& session() { return session_; }
  uint32_t id() const { return id_; }

  void send_and_flush(ByteSpan m) {
    session_.send(m);
    flush();
  }
  void flush() {
    if (writing_ || done_) return;
    ByteSpan out = session_.output();
    if (out.empty()) {
      if (session_.closed()) finish(session_.close_reason());
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    stream_->write(asio::buffer(out.data(), out.size()), [self](error_code ec, size_t n) {
      self->writing_ = false;
      if (ec) {
        self->session_.close("write failed: " + ec.message());
        self->finish(self->session_.close_reason());
        return;
      }
      self->session_.consumed(n);
      self->flush();
      self->read();  // resumes reading if the backlog drained
    });
  }
  void close(const std::string& reason) {
    session_.close(reason);
    flush();
  }

  // SessionHandler: on the I/O thread, inside receive()/tick().
  void on_ready() override {
    auto* p = new UpPayload();
    p->peer = peer_;
    p->version = session_.version();
    p->features = session_.features();
    p->ports = session_.ports();
    p->role = session_.role();
    t_.emit(Event{Event::kUp, id_, session_.datapath_id(), 0, p});
  }
  void on_port_status(uint8_t reason, const ofp::Port& port) override {
    if (session_.state() != SessionState::kReady) return;  // part of the handshake's port list
    auto* p = new PortPayload();
    p->reason = reason;
    p->port = port;
    t_.emit(Event{Event::kPort, id_, session_.datapath_id(), 0, p});
  }
  void on_packet_in(const ofp::Frame& frame, const ofp::PacketInView& p) override {
    // The workers take what they can answer alone (hub mode, controller learning); the rest
    // (first-packet lookups in the model) goes to the control thread.
    bool to_workers = t_.manager->settings_.hub || (p.cookie & kCookieToWorkers);
    if (to_workers && !t_.workers.empty() && frame.bytes.size() <= sizeof(PacketJob::message)) {
      PacketJob job{id_, static_cast<uint16_t>(frame.bytes.size()), 0, session_.datapath_id(), {}};
      std::memcpy(job.message, frame.bytes.data(), frame.bytes.size());
      // Round robin over the workers; a full ring tries the next, then waits in the overflow.
      for (size_t i = 0; i < t_.workers.size(); ++i) {
        Worker* w = t_.workers[t_.next_worker++ % t_.workers.size()];
        if (t_.job_overflow.empty() && w->in[t_.index]->push(job)) return;
      }
      if (t_.job_overflow.size() >= IoThread::kMaxOverflowJobs) {
        t_.dropped();  // the switch sends the next packet up again
        return;
      }
      t_.job_overflow.push_back(job);
      t_.arm_retry();
      return;
    }
    on_message(frame);
  }
  void on_message(const ofp::Frame& frame) override {
    auto* p = new BytesPayload();
    p->bytes.assign(frame.bytes.begin(), frame.bytes.end());
    t_.emit(Event{Event::kMessage, id_, session_.datapath_id(), 0, p});
  }
  void on_closed(const std::string&) override {}
  void on_backlog(bool backlogged) override {
    if (!backlogged) read();
  }

 private:
  void read() {
    if (reading_ || done_ || session_.closed() || session_.backlogged()) return;
    reading_ = true;
    auto self = shared_from_this();
    stream_->read(asio::buffer(buf_), [self](error_code ec, size_t n) {
      self->reading_ = false;
      if (ec) {
        self->session_.close(ec == asio::error::eof ? "connection closed by the switch"
                                                    : "read failed: " + ec.message());
        self->flush();
        return;
      }
      self->session_.receive(ByteSpan(self->buf_.data(), n));
      self->flush();
      self->read();
    });
  }
  void tick() {
    if (done_) return;
    auto next = session_.tick();
    flush();
    if (done_ || session_.closed()) return;
    auto delay = next - t_.clock->now();
    timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
    auto self = shared_from_this();
    timer_.async_wait([self](error_code ec) {
      if (!ec) self->tick();
    });
  }
  void finish(const std::string& reason) {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    stream_->close();
    if (auto* c = t_.manager->counters_) c->connections_closed.fetch_add(1, std::memory_order_relaxed);
    VLCP_LOG_RL(kInfo, "switch", 60, 20)
        << "connection " << id_ << " from " << peer_ << " closed: " << reason;
    auto* p = new BytesPayload();
    p->text = reason;
    t_.emit(Event{Event::kDown, id_, session_.datapath_id(), 0, p});
    t_.conns.erase(id_);  // the last handler holding `self` frees the connection
  }

  IoThread& t_;
  uint32_t id_;
  std::unique_ptr<Stream> stream_;
  std::string peer_;
  Session session_;
  asio::steady_timer timer_;
  std::array<uint8_t, 65536> buf_;
  bool reading_ = false, writing_ = false, done_ = false;
};

void SwitchManager::IoThread::arm_retry() {
  if (!retry) retry.emplace(ctx);
  if (retry->expiry() > std::chrono::steady_clock::now()) return;  // already armed
  retry->expires_after(std::chrono::milliseconds(1));
  retry->async_wait([this](error_code ec) {
    if (ec) return;
    while (!event_overflow.empty() && events->push(event_overflow.front())) {
      if (event_overflow.front().kind == Event::kMessage) --overflow_messages;
      event_overflow.pop_front();
    }
    while (!job_overflow.empty()) {
      bool pushed = false;
      for (size_t i = 0; i < workers.size() && !pushed; ++i)
        pushed = workers[next_worker++ % workers.size()]->in[index]->push(job_overflow.front());
      if (!pushed) break;
      job_overflow.pop_front();
    }
    if (!event_overflow.empty() || !job_overflow.empty()) arm_retry();
  });
}

void SwitchManager::IoThread::drain_commands() {
  Command batch[32];
  while (unsigned n = commands->pop(batch)) {
    for (unsigned i = 0; i < n; ++i) {
      Command& c = batch[i];
      std::unique_ptr<BytesPayload> payload(c.payload);
      auto it = conns.find(c.conn);
      Connection* conn = it == conns.end() ? nullptr : it->second.get();
      uint64_t token = c.token;
      switch (c.kind) {
        case Command::kSend:
          if (conn && payload->bytes.size() >= 8) {
            store_be32(payload->bytes.data() + 4, conn->session().next_xid());
            conn->send_and_flush(payload->bytes);
          }
          break;
        case Command::kBarrier:
          if (conn) {
            conn->session().barrier([this, token, id = c.conn](const BatchResult& r) {
              auto* p = new BatchPayload();
              p->result = r;
              emit(Event{Event::kBatchDone, id, 0, token, p});
            });
            conn->flush();
          } else {
            emit(Event{Event::kBatchDone, c.conn, 0, token, new BatchPayload()});
          }
          break;
        case Command::kRequest:
          if (conn && payload->bytes.size() >= 8) {
            store_be32(payload->bytes.data() + 4, conn->session().next_xid());
            conn->session().request(payload->bytes, [this, token, id = c.conn](Result<Reply> r) {
              auto* p = new ReplyPayload();
              p->reply = std::move(r);
              emit(Event{Event::kReply, id, 0, token, p});
            });
            conn->flush();
          } else {
            auto* p = new ReplyPayload();
            p->reply = make_error(Errc::kUnavailable, "switch connection is gone");
            emit(Event{Event::kReply, c.conn, 0, token, p});
          }
          break;
        case Command::kClose:
          if (conn) conn->close(payload ? payload->text : "closed by the controller");
          break;
      }
    }
  }
}

void SwitchManager::IoThread::drain_worker_answers() {
  PacketJob jobs[16];
  for (Worker* w : workers) {
    while (unsigned n = w->out[index]->pop(jobs)) {
      for (unsigned i = 0; i < n; ++i) {
        auto it = conns.find(jobs[i].conn);
        if (it == conns.end()) continue;  // the switch left meanwhile
        store_be32(jobs[i].message + 4, it->second->session().next_xid());
        it->second->send_and_flush(ByteSpan(jobs[i].message, jobs[i].length));
      }
    }
  }
}

// ---- the hub handler on workers ----------------------------------------------------------------

namespace {
// Answers a PACKET_IN with a PACKET_OUT flooding it (ovs-testcontroller --hub). Returns the
// answer's length, 0 when the message cannot be answered.
size_t flood(const PacketJob& in, PacketJob* out) {
  auto frame = ofp::decode_frame(ByteSpan(in.message, in.length));
  if (!frame.ok() || frame->header.type != ofp::MsgType::kPacketIn) return 0;
  auto p = ofp::decode_packet_in(*frame);
  if (!p.ok()) return 0;
  uint32_t in_port = ofp::kPortController;
  p->match.for_each([&](const ofp::OxmEntry& e) {
    if (e.info && e.info->field == ofp::Field::kInPort) in_port = static_cast<uint32_t>(e.value_u64());
  });
  ofp::PacketOut po;
  po.buffer_id = p->buffer_id;
  po.in_port = in_port;
  po.actions.output(ofp::kPortFlood);
  if (p->buffer_id == ofp::kNoBuffer) po.data = p->data;
  InlineBuffer<sizeof(PacketJob::message)> b;
  ofp::encode_packet_out(b, 0, po);
  if (b.size() > sizeof(out->message)) return 0;
  std::memcpy(out->message, b.data(), b.size());
  return b.size();
}
}  // namespace

// ---- the manager -------------------------------------------------------------------------------

SwitchManager::SwitchManager(io::ControlLoop& loop, OpenflowSettings settings, SessionCounters* counters)
    : loop_(loop),
      settings_(std::move(settings)),
      counters_(counters),
      snapshot_(std::make_shared<SwitchSnapshot>()) {}

SwitchManager::~SwitchManager() {
  stop();
  for (uint64_t id : sources_) loop_.remove_source(id);
  if (retry_timer_) loop_.cancel(retry_timer_);
  for (auto& [dpid, p] : probes_)
    if (p.timer) loop_.cancel(p.timer);
}

Status SwitchManager::start(sched::Lcores* lcores) {
  asio::ssl::context* tls = nullptr;
  for (auto& l : settings_.listeners) {
    if (l.kind != Listener::Kind::kSsl || tls) continue;
    // Switches must present a certificate from our CA (as OVS's own SSL setup requires).
    VLCP_ASSIGN_OR_RETURN(
        auto ctx, io::tls_server_context({settings_.key, settings_.certificate, settings_.ca_certs}, true,
                                         "module.openflowserver.key/certificate/ca_certs"));
    tls = ctx.get();
    tls_ = ctx;
  }

  for (unsigned i = 0; i < settings_.iothreads; ++i) {
    auto t = std::make_unique<IoThread>();
    t->index = i;
    t->manager = this;
    t->clock = &loop_.clock();
    IoThread* raw = t.get();
    t->waker = std::make_unique<sched::CallbackWaker>([raw] {
      asio::post(raw->ctx, [raw] {
        raw->waker->begin_drain();
        raw->drain_commands();
        raw->drain_worker_answers();
      });
    });
    VLCP_ASSIGN_OR_RETURN(t->events, sched::Ring<Event>::create("io" + std::to_string(i) + "-to-control",
                                                                4095, &loop_.waker()));
    VLCP_ASSIGN_OR_RETURN(
        t->commands, sched::Ring<Command>::create("control-to-io" + std::to_string(i), 4095, t->waker.get()));
    sources_.push_back(loop_.add_source([this, raw] { return drain_events(*raw); }));
    threads_.push_back(std::move(t));
  }

  // Workers: one per worker lcore, rings to and from every I/O thread.
  unsigned nworkers = lcores ? lcores->workers() : 0;
  for (unsigned w = 0; w < nworkers; ++w) {
    auto worker = std::make_unique<Worker>("worker" + std::to_string(w));
    for (auto& t : threads_) {
      VLCP_ASSIGN_OR_RETURN(auto in, sched::Ring<PacketJob>::create(
                                         "io" + std::to_string(t->index) + "-to-worker" + std::to_string(w),
                                         1023, &worker->loop.waker()));
      VLCP_ASSIGN_OR_RETURN(auto out, sched::Ring<PacketJob>::create(
                                          "worker" + std::to_string(w) + "-to-io" + std::to_string(t->index),
                                          1023, t->waker.get()));
      worker->in.push_back(std::move(in));
      worker->out.push_back(std::move(out));
      t->workers.push_back(worker.get());
    }
    Worker* wp = worker.get();
    bool hub = settings_.hub;
    LearningConfig learning = settings_.learning;
    wp->loop.add_source(
        {[wp, hub, learning] {
           unsigned total = 0;
           PacketJob jobs[8];
           for (size_t t = 0; t < wp->in.size(); ++t) {
             unsigned n = wp->in[t]->pop(jobs);
             for (unsigned i = 0; i < n; ++i) {
               // The answer ring is as large as the job ring; a full one is
               // counted by the ring and the answer is dropped (the switch
               // sends the next packet up again).
               if (hub) {
                 PacketJob answer{jobs[i].conn, 0, 0, jobs[i].dpid, {}};
                 answer.length = static_cast<uint16_t>(flood(jobs[i], &answer));
                 if (answer.length) wp->out[t]->push(answer);
               } else if (learning.enabled) {
                 InlineBuffer<256> a, b;
                 if (!learn(learning, ByteSpan(jobs[i].message, jobs[i].length), a, b)) continue;
                 for (Buffer* m : {static_cast<Buffer*>(&a), static_cast<Buffer*>(&b)}) {
                   PacketJob answer{jobs[i].conn, static_cast<uint16_t>(m->size()), 0, jobs[i].dpid, {}};
                   std::memcpy(answer.message, m->data(), m->size());
                   wp->out[t]->push(answer);
                 }
               }
             }
             wp->handled.fetch_add(n, std::memory_order_relaxed);
             total += n;
           }
           return total;
         },
         [wp] {
           for (auto& r : wp->in)
             if (!r->empty()) return true;
           return false;
         }});
    workers_.push_back(std::move(worker));
  }

  // Listeners live on I/O thread 0. An accepted socket is handed to its connection's thread
  // (round robin) by its native handle, so every later operation runs on the owning thread.
  IoThread& t0 = *threads_[0];
  for (auto& l : settings_.listeners) {
    error_code ec;
    if (l.kind == Listener::Kind::kUnix) {
      // A stale socket from an earlier run goes; anything else at the path is not ours to remove.
      std::error_code rm;
      auto st = std::filesystem::symlink_status(l.path, rm);
      if (st.type() == std::filesystem::file_type::socket)
        std::filesystem::remove(l.path, rm);
      else if (st.type() != std::filesystem::file_type::not_found)
        return make_error(Errc::kUnavailable,
                          "cannot listen on " + l.text + ": the path exists and is not a socket");
      auto acc = std::make_unique<unix_stream::acceptor>(t0.ctx);
      acc->open(unix_stream(), ec);
      if (!ec) acc->bind(unix_stream::endpoint(l.path), ec);
      // Connecting needs write permission on the socket: only root (and the group with 0660). The
      // mode is set before listen(), so no connection is accepted with the umask's mode.
      if (!ec && ::chmod(l.path.c_str(), settings_.socket_mode) != 0)
        ec = error_code(errno, boost::system::system_category());
      if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return make_error(Errc::kUnavailable, "cannot listen on " + l.text + ": " + ec.message());
      bound_.push_back("unix://" + l.path);
      accept_unix(acc.get());
      t0.unix_acceptors.push_back(std::move(acc));
    } else {
      tcp::endpoint ep(asio::ip::make_address(l.host), l.port);
      auto acc = std::make_unique<tcp::acceptor>(t0.ctx);
      acc->open(ep.protocol(), ec);
      if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acc->bind(ep, ec);
      if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return make_error(Errc::kUnavailable, "cannot listen on " + l.text + ": " + ec.message());
      auto local = acc->local_endpoint(ec);
      bool ssl = l.kind == Listener::Kind::kSsl;
      bound_.push_back(std::string(ssl ? "ssl://" : "tcp://") + local.address().to_string() + ":" +
                       std::to_string(local.port()));
      accept_tcp(acc.get(), ssl);
      t0.tcp_acceptors.push_back(std::move(acc));
    }
  }

  for (auto& t : threads_) {
    IoThread* raw = t.get();
    raw->thread = std::thread([raw] {
      auto guard = asio::make_work_guard(raw->ctx);
      raw->ctx.run();
    });
  }
  for (size_t w = 0; w < workers_.size(); ++w) {
    Worker* wp = workers_[w].get();
    VLCP_RETURN_IF_ERROR(lcores->launch(static_cast<unsigned>(w), [wp] { wp->loop.run(); }));
  }
  started_ = true;
  lcores_ = lcores;
  for (auto& b : bound_) VLCP_LOG(kInfo, "switch") << "OpenFlow listening on " << b;
  return {};
}

void SwitchManager::adopt(std::function<std::unique_ptr<Stream>(asio::io_context&)> wrap, std::string peer) {
  IoThread& t = *threads_[next_thread_++ % threads_.size()];
  uint32_t id = ++next_conn_id_;
  asio::post(t.ctx, [&t, id, wrap = std::move(wrap), peer = std::move(peer)] {
    auto conn = std::make_shared<Connection>(t, id, wrap(t.ctx), peer);
    t.conns[id] = conn;
    if (auto* c = t.manager->counters_) c->connections_opened.fetch_add(1, std::memory_order_relaxed);
    VLCP_LOG_RL(kInfo, "switch", 60, 20) << "connection " << id << " from " << peer;
    conn->start();
  });
}

void SwitchManager::accept_tcp(tcp::acceptor* acc, bool ssl) {
  acc->async_accept([this, acc, ssl](error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      VLCP_LOG_RL(kWarn, "switch", 60, 5) << "accept failed: " << ec.message();
    } else {
      error_code e2;
      auto peer = s.remote_endpoint(e2);
      std::string name = e2 ? "?" : peer.address().to_string() + ":" + std::to_string(peer.port());
      s.set_option(tcp::no_delay(true), e2);
      auto proto = peer.protocol();
      int fd = s.release(e2);
      asio::ssl::context* tls = static_cast<asio::ssl::context*>(tls_.get());
      adopt(
          [fd, proto, ssl, tls](asio::io_context& ctx) -> std::unique_ptr<Stream> {
            tcp::socket sock(ctx, proto, fd);
            if (ssl)
              return std::make_unique<AsioStream<asio::ssl::stream<tcp::socket>>>(std::move(sock), *tls);
            return std::make_unique<AsioStream<tcp::socket>>(std::move(sock));
          },
          (ssl ? "ssl:" : "tcp:") + name);
    }
    accept_tcp(acc, ssl);
  });
}

void SwitchManager::accept_unix(unix_stream::acceptor* acc) {
  acc->async_accept([this, acc](error_code ec, unix_stream::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      error_code e2;
      int fd = s.release(e2);
      adopt(
          [fd](asio::io_context& ctx) -> std::unique_ptr<Stream> {
            return std::make_unique<AsioStream<unix_stream::socket>>(
                unix_stream::socket(ctx, unix_stream(), fd));
          },
          "unix");
    }
    accept_unix(acc);
  });
}

void SwitchManager::stop() {
  if (!started_) return;
  started_ = false;
  for (auto& t : threads_) {
    IoThread* raw = t.get();
    asio::post(raw->ctx, [raw] {
      for (auto& a : raw->tcp_acceptors) a->close();
      for (auto& a : raw->unix_acceptors) a->close();
      auto conns = raw->conns;
      for (auto& [id, c] : conns) c->close("controller stopping");
    });
  }
  // Give the sessions a moment to send what they queued, then stop the threads.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (auto& t : threads_) {
    t->ctx.stop();
    if (t->thread.joinable()) t->thread.join();
  }
  for (auto& w : workers_) w->loop.stop();
  if (lcores_ && !workers_.empty()) lcores_->wait_all();  // the lcores are free for a restart
}

unsigned SwitchManager::drain_events(IoThread& t) {
  Event batch[32];
  unsigned n = t.events->pop(batch);
  for (unsigned i = 0; i < n; ++i) handle_event(t, batch[i]);
  if (n) publish_snapshot();
  return n;
}

void SwitchManager::handle_event(IoThread& t, Event& e) {
  std::unique_ptr<Payload> payload(e.payload);
  switch (e.kind) {
    case Event::kUp: {
      std::unique_ptr<UpPayload> up(static_cast<UpPayload*>(payload.release()));
      auto it = switches_.find(e.dpid);
      if (it != switches_.end() && it->second.connected && it->second.conn != e.conn) {
        claim(t.index, e.conn, e.dpid, std::move(up));  // the datapath is held: is its holder alive?
        return;
      }
      register_up(t.index, e.conn, e.dpid, *up);
      return;
    }
    case Event::kDown: {
      auto* p = static_cast<BytesPayload*>(payload.get());
      claims_.erase(e.conn);  // a newcomer that left while its claim was examined
      auto it = conn_dpid_.find(e.conn);
      if (it == conn_dpid_.end()) return;  // never finished its handshake
      uint64_t dpid = it->second;
      conn_dpid_.erase(it);
      conn_thread_.erase(e.conn);
      SwitchInfo& s = switches_[dpid];
      if (s.conn != e.conn) return;  // an old connection of a datapath that came back
      s.connected = false;
      s.last_down_reason = p->text;
      loop_.publish(SwitchDown{dpid, p->text});
      // A holder that left while being probed: a waiting newcomer takes over.
      if (auto pr = probes_.find(dpid); pr != probes_.end() && pr->second.conn == e.conn)
        resolve(dpid, pr->second.id, false);
      return;
    }
    case Event::kPort: {
      auto* p = static_cast<PortPayload*>(payload.get());
      auto it = switches_.find(e.dpid);
      if (it == switches_.end() || it->second.conn != e.conn) return;
      if (p->reason == 1)
        it->second.ports.erase(p->port.port_no);
      else
        it->second.ports[p->port.port_no] = p->port;
      loop_.publish(PortChanged{e.dpid, p->reason, p->port});
      return;
    }
    case Event::kMessage: {
      // Only the registered connection of a datapath speaks for it (not a newcomer whose claim
      // on the same datapath id is being examined, nor one that was replaced).
      auto it = switches_.find(e.dpid);
      if (it == switches_.end() || !it->second.connected || it->second.conn != e.conn) return;
      auto* p = static_cast<BytesPayload*>(payload.get());
      loop_.publish(SwitchMessage{e.dpid, std::make_shared<const std::vector<uint8_t>>(std::move(p->bytes))});
      return;
    }
    case Event::kBatchDone: {
      auto it = batch_callbacks_.find(e.token);
      if (it == batch_callbacks_.end()) return;
      BatchCallback cb = std::move(it->second);
      batch_callbacks_.erase(it);
      cb(static_cast<BatchPayload*>(payload.get())->result);
      return;
    }
    case Event::kReply: {
      auto it = reply_callbacks_.find(e.token);
      if (it == reply_callbacks_.end()) return;
      ReplyCallback cb = std::move(it->second);
      reply_callbacks_.erase(it);
      cb(std::move(static_cast<ReplyPayload*>(payload.get())->reply));
      return;
    }
  }
}

void SwitchManager::register_up(unsigned thread, uint32_t conn, uint64_t dpid, UpPayload& up) {
  SwitchInfo& s = switches_[dpid];
  bool reconnect = s.connections > 0;
  s.dpid = dpid;
  s.connected = true;
  s.conn = conn;
  s.peer = up.peer;
  s.version = up.version;
  s.features = up.features;
  s.ports = std::move(up.ports);
  s.role = up.role;
  s.connected_at = loop_.clock().wall();
  ++s.connections;
  conn_dpid_[conn] = dpid;
  conn_thread_[conn] = thread;
  VLCP_LOG_RL(kInfo, "switch", 60, 20)
      << "datapath " << std::hex << dpid << std::dec << (reconnect ? " reconnected" : " connected")
      << " from " << s.peer << " (" << s.ports.size() << " ports)";
  loop_.publish(SwitchUp{dpid, reconnect});
}

void SwitchManager::close_conn(uint32_t conn, unsigned thread, std::string reason) {
  if (thread >= threads_.size()) return;
  auto* bp = new BytesPayload();
  bp->text = std::move(reason);
  push_command(*threads_[thread], Command{Command::kClose, conn, 0, bp});
}

// A second connection announcing a datapath id that a connected session holds. OVS reconnecting
// before we noticed its old connection died looks the same as a local process claiming the
// datapath: the holder decides. It gets an ECHO_REQUEST; answering it within the echo timeout
// (protocol.openflow.keepalivetimeout) proves it alive and the newcomer is closed; silence, or
// the holder closing, lets the newcomer take over. Until then the newcomer is not registered:
// nothing is sent to it and nothing it sends reaches the modules.
void SwitchManager::claim(unsigned thread, uint32_t conn, uint64_t dpid, std::unique_ptr<UpPayload> up) {
  claims_[conn] = Claim{dpid, thread, std::move(up)};
  if (probes_.count(dpid)) return;  // the holder is being probed already: this claim waits with it
  const SwitchInfo& holder = switches_.at(dpid);
  uint64_t id = ++next_probe_;
  InlineBuffer<8> echo;
  ofp::encode_simple(echo, ofp::MsgType::kEchoRequest, 0);
  Status sent = request(dpid, std::vector<uint8_t>(echo.data(), echo.data() + echo.size()),
                        [this, dpid, id](Result<Reply> r) { resolve(dpid, id, r.ok()); });
  if (!sent.ok()) {  // the holder is gone already
    probes_[dpid] = Probe{id, holder.conn, 0};
    resolve(dpid, id, false);
    return;
  }
  io::TimerId timer =
      loop_.after(settings_.session.probe_timeout, [this, dpid, id] { resolve(dpid, id, false); });
  probes_[dpid] = Probe{id, holder.conn, timer};
}

void SwitchManager::resolve(uint64_t dpid, uint64_t probe, bool holder_alive) {
  auto pr = probes_.find(dpid);
  if (pr == probes_.end() || pr->second.id != probe) return;  // decided already
  uint32_t holder_conn = pr->second.conn;
  if (pr->second.timer) loop_.cancel(pr->second.timer);
  probes_.erase(pr);
  std::vector<uint32_t> waiting;
  for (auto& [conn, c] : claims_)
    if (c.dpid == dpid) waiting.push_back(conn);
  if (waiting.empty()) return;
  auto sit = switches_.find(dpid);
  bool holder_current = sit != switches_.end() && sit->second.connected && sit->second.conn == holder_conn;
  std::string holder_peer = sit != switches_.end() ? sit->second.peer : "?";
  if (holder_alive && holder_current) {
    for (uint32_t conn : waiting) {
      Claim c = std::move(claims_.at(conn));
      claims_.erase(conn);
      if (counters_) counters_->duplicate_refused.fetch_add(1, std::memory_order_relaxed);
      VLCP_LOG_RL(kWarn, "switch", 6, 3)
          << "datapath " << std::hex << dpid << std::dec << ": refused connection " << conn << " from "
          << c.up->peer << " claiming it: connection " << holder_conn << " from " << holder_peer
          << " holds it and answers echoes";
      close_conn(conn, c.thread, "datapath id already held by a live connection");
    }
    return;
  }
  // The holder is dead (or gone): the first newcomer takes over; any others claim again, now
  // against it.
  uint32_t winner = waiting.front();
  Claim c = std::move(claims_.at(winner));
  claims_.erase(winner);
  if (holder_current) {
    auto th = conn_thread_.find(holder_conn);
    if (th != conn_thread_.end())
      close_conn(holder_conn, th->second,
                 "did not answer an echo while another connection claimed its datapath");
  }
  if (counters_) counters_->duplicate_replaced.fetch_add(1, std::memory_order_relaxed);
  VLCP_LOG_RL(kWarn, "switch", 6, 3) << "datapath " << std::hex << dpid << std::dec << ": connection "
                                     << winner << " from " << c.up->peer << " replaces connection "
                                     << holder_conn << " from " << holder_peer
                                     << ", which did not answer an echo";
  register_up(c.thread, winner, dpid, *c.up);
  for (size_t i = 1; i < waiting.size(); ++i) {
    Claim again = std::move(claims_.at(waiting[i]));
    claims_.erase(waiting[i]);
    claim(again.thread, waiting[i], dpid, std::move(again.up));
  }
}

bool SwitchManager::push_command(IoThread& t, Command c) {
  if (t.command_overflow.empty() && t.commands->push(c)) return true;
  t.command_overflow.push_back(c);
  if (!retry_timer_) retry_timer_ = loop_.after(std::chrono::milliseconds(1), [this] { flush_commands(); });
  return false;
}

void SwitchManager::flush_commands() {
  retry_timer_ = 0;
  bool left = false;
  for (auto& t : threads_) {
    while (!t->command_overflow.empty() && t->commands->push(t->command_overflow.front()))
      t->command_overflow.pop_front();
    left |= !t->command_overflow.empty();
  }
  if (left) retry_timer_ = loop_.after(std::chrono::milliseconds(1), [this] { flush_commands(); });
}

SwitchManager::IoThread* SwitchManager::thread_of(uint64_t dpid, uint32_t* conn) {
  auto it = switches_.find(dpid);
  if (it == switches_.end() || !it->second.connected) return nullptr;
  *conn = it->second.conn;
  auto th = conn_thread_.find(*conn);
  return th == conn_thread_.end() ? nullptr : threads_[th->second].get();
}

Status SwitchManager::send(uint64_t dpid, std::vector<uint8_t> message) {
  uint32_t conn;
  IoThread* t = thread_of(dpid, &conn);
  if (!t) return make_error(Errc::kUnavailable, "datapath " + std::to_string(dpid) + " is not connected");
  auto* p = new BytesPayload();
  p->bytes = std::move(message);
  push_command(*t, Command{Command::kSend, conn, 0, p});
  return {};
}

Status SwitchManager::barrier(uint64_t dpid, BatchCallback done) {
  uint32_t conn;
  IoThread* t = thread_of(dpid, &conn);
  if (!t) return make_error(Errc::kUnavailable, "datapath " + std::to_string(dpid) + " is not connected");
  uint64_t token = ++next_token_;
  batch_callbacks_[token] = std::move(done);
  push_command(*t, Command{Command::kBarrier, conn, token, nullptr});
  return {};
}

Status SwitchManager::request(uint64_t dpid, std::vector<uint8_t> message, ReplyCallback done) {
  uint32_t conn;
  IoThread* t = thread_of(dpid, &conn);
  if (!t) return make_error(Errc::kUnavailable, "datapath " + std::to_string(dpid) + " is not connected");
  uint64_t token = ++next_token_;
  reply_callbacks_[token] = std::move(done);
  auto* p = new BytesPayload();
  p->bytes = std::move(message);
  push_command(*t, Command{Command::kRequest, conn, token, p});
  return {};
}

void SwitchManager::publish_snapshot() {
  auto snap = std::make_shared<SwitchSnapshot>();
  for (auto& [dpid, s] : switches_) snap->switches.push_back(s);
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  snapshot_ = std::move(snap);
}

std::shared_ptr<const SwitchSnapshot> SwitchManager::snapshot() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return snapshot_;
}

std::vector<RingInfo> SwitchManager::rings() const {
  std::vector<RingInfo> out;
  auto add = [&out](auto& ring) {
    auto* r = ring.get();
    out.push_back(RingInfo{r->name(), &r->stats(), r->capacity(), [r] { return r->size(); }});
  };
  for (auto& t : threads_) {
    add(t->events);
    add(t->commands);
  }
  for (auto& w : workers_) {
    for (auto& r : w->in) add(r);
    for (auto& r : w->out) add(r);
  }
  return out;
}

void SwitchManager::repin_workers(const std::vector<int>& cpus) {
  for (size_t w = 0; w < workers_.size() && w < cpus.size(); ++w)
    if (workers_[w]->loop.cpu() != cpus[w]) workers_[w]->loop.repin(cpus[w]);
}

uint64_t SwitchManager::packet_ins_to_workers() const {
  uint64_t n = 0;
  for (auto& w : workers_) n += w->handled.load(std::memory_order_relaxed);
  return n;
}

}  // namespace vlcp::sw
