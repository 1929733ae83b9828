// I/O threads and their connections: each connection's session driven by its stream, events
// to the control thread, commands from it, packet-ins to the workers and their answers back.
#include <cstring>

#include "switch/internal.h"

namespace vlcp::sw {

void SwitchManager::IoThread::emit(Event e) {
  if (event_overflow.empty() && events->push(e)) return;
  if (sheddable(e)) {
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

void SwitchManager::IoThread::dropped() {
  if (manager->counters_) manager->counters_->messages_dropped.fetch_add(1, std::memory_order_relaxed);
  VLCP_LOG_RL(kWarn, "switch", 6, 1) << "io" << index << ": control thread behind, switch messages shed";
}

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

  // Whole messages (xid 0) a handler wrote: each stamped with the session's next xid and queued;
  // the caller flushes (once per drain or per read).
  void send_answers(ByteSpan answers) {
    for_each_message(answers, [&](ByteSpan m) { session_.send_new_xid(m); });
  }
  bool dirty = false;  // in its I/O thread's dirty list
  void flush() {
    if (writing_ || done_) return;
    ByteSpan out = session_.output();
    if (out.empty()) {
      if (session_.closed()) finish(session_.close_reason());
      return;
    }
    // The write goes from a buffer of its own: the session's output may grow (and move) while
    // the write waits for a slow switch's socket.
    writing_ = true;
    wbuf_.assign(out.begin(), out.end());
    auto self = shared_from_this();
    stream_->write(asio::buffer(wbuf_.data(), wbuf_.size()), [self](error_code ec, size_t n) {
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
    // The handler of the app that sent it up (the cookie's app id), else the fallback.
    const PacketInTable& table = *t_.manager->packet_ins_;
    int h = table.route(p.cookie);
    if (h == PacketInTable::kNone) {
      table.count_unclaimed();
      return;
    }
    if (table.handler(h).side == PacketInSide::kWorkers && frame.bytes.size() <= PacketSlot::kMaxPacketIn) {
      if (t_.workers.empty()) {
        // No worker lcore: the handler (a pure function) runs here, its answers go out with
        // this read's flush.
        t_.inline_answers.clear();
        if (!table.run(h, session_.datapath_id(), frame.bytes, t_.inline_answers)) return;
        send_answers(t_.inline_answers.span());
        return;
      }
      PacketSlot* slot = t_.pool->take();
      if (!slot) {
        // Every slot is out (workers behind): the switch sends the next packet up again.
        if (t_.manager->counters_)
          t_.manager->counters_->packet_ins_shed.fetch_add(1, std::memory_order_relaxed);
        t_.dropped();
        return;
      }
      slot->conn = id_;
      slot->handler = static_cast<uint16_t>(h);
      slot->in_len = static_cast<uint16_t>(frame.bytes.size());
      slot->dpid = session_.datapath_id();
      slot->answers_len = 0;
      std::memcpy(slot->bytes, frame.bytes.data(), frame.bytes.size());
      t_.staged.push_back(slot);
      return;
    }
    // Control handlers, and packet-ins too large for a slot: on the control thread.
    auto* bp = new BytesPayload();
    bp->bytes.assign(frame.bytes.begin(), frame.bytes.end());
    t_.emit(Event{Event::kPacketIn, id_, session_.datapath_id(), static_cast<uint64_t>(h), bp});
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
      self->t_.hand_off();
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
  std::vector<uint8_t> wbuf_;  // what the write in flight sends (a copy of the session's output)
  bool reading_ = false, writing_ = false, done_ = false;
};

void SwitchManager::IoThread::open(uint32_t id, std::unique_ptr<Stream> stream, std::string peer) {
  auto conn = std::make_shared<Connection>(*this, id, std::move(stream), peer);
  conns[id] = conn;
  if (auto* c = manager->counters_) c->connections_opened.fetch_add(1, std::memory_order_relaxed);
  VLCP_LOG_RL(kInfo, "switch", 60, 20) << "connection " << id << " from " << peer;
  conn->start();
}

void SwitchManager::IoThread::close_all(const std::string& reason) {
  for (auto& a : tcp_acceptors) a->close();
  for (auto& a : unix_acceptors) a->close();
  auto all = conns;
  for (auto& [id, c] : all) c->close(reason);
}

void SwitchManager::IoThread::arm_retry() {
  if (!retry) retry.emplace(ctx);
  if (retry->expiry() > std::chrono::steady_clock::now()) return;  // already armed
  retry->expires_after(std::chrono::milliseconds(1));
  retry->async_wait([this](error_code ec) {
    if (ec) return;
    while (!event_overflow.empty() && events->push(event_overflow.front())) {
      if (sheddable(event_overflow.front())) --overflow_messages;
      event_overflow.pop_front();
    }
    while (!job_overflow.empty()) {
      bool pushed = false;
      for (size_t i = 0; i < workers.size() && !pushed; ++i)
        pushed = workers[next_worker++ % workers.size()]->in[index]->push(job_overflow.front());
      if (!pushed) break;
      job_overflow.pop_front();
    }
    hand_off();
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
            conn->session().send(payload->bytes);
            mark_dirty(*conn);
          }
          break;
        case Command::kBarrier:
          if (conn) {
            conn->session().barrier([this, token, id = c.conn](const BatchResult& r) {
              auto* p = new BatchPayload();
              p->result = r;
              emit(Event{Event::kBatchDone, id, 0, token, p});
            });
            mark_dirty(*conn);
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
            mark_dirty(*conn);
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
  flush_dirty();
}

unsigned SwitchManager::IoThread::drain_worker_answers() {
  unsigned total = 0;
  PacketSlot* slots[32];
  uint32_t last_id = 0;
  Connection* last = nullptr;
  for (Worker* w : workers) {
    while (unsigned n = w->out[index]->pop(slots)) {
      for (unsigned i = 0; i < n; ++i) {
        PacketSlot* s = slots[i];
        if (s->answers_len) {
          if (!last || last_id != s->conn) {
            auto it = conns.find(s->conn);
            last = it == conns.end() ? nullptr : it->second.get();  // null: the switch left
            last_id = s->conn;
          }
          if (last) {
            last->send_answers(ByteSpan(s->bytes + s->answers_at(), s->answers_len));
            mark_dirty(*last);
          }
        }
        pool->give(s);
      }
      total += n;
    }
  }
  flush_dirty();
  return total;
}

void SwitchManager::IoThread::mark_dirty(Connection& c) {
  if (c.dirty) return;
  c.dirty = true;
  dirty.push_back(c.shared_from_this());
}

void SwitchManager::IoThread::flush_dirty() {
  for (size_t i = 0; i < dirty.size(); ++i) {  // a flush may close a connection, never add one
    dirty[i]->dirty = false;
    dirty[i]->flush();
  }
  dirty.clear();
}

void SwitchManager::IoThread::hand_off() {
  if (!staged.empty()) to_workers();
  if (spin.count() == 0 || !pool) return;
  // While slots are at the workers and for at most `spin`: poll their answers here, holding the
  // waker so that the workers' pushes post nothing; then release it and drain once more (the
  // waker's protocol: an answer published after begin_drain schedules a drain as usual).
  if (pool->loaned() <= job_overflow.size()) return;
  waker->hold();
  auto until = std::chrono::steady_clock::now() + spin;
  while (pool->loaned() > job_overflow.size()) {
    if (drain_worker_answers()) continue;
    if (std::chrono::steady_clock::now() >= until) break;
    sched::cpu_relax();
  }
  waker->begin_drain();
  drain_commands();
  drain_worker_answers();
}

}  // namespace vlcp::sw
