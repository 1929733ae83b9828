// The control thread's side: the registry of switches by datapath id (up, down, ports), the
// claims of a second connection announcing a held datapath id and the probes that settle them,
// commands to the I/O threads (send, barrier, request, close) and their results, control-side
// packet-ins, and the snapshot other threads read.
#include "switch/internal.h"

namespace vlcp::sw {

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
    case Event::kPacketIn: {
      auto it = switches_.find(e.dpid);
      if (it == switches_.end() || !it->second.connected || it->second.conn != e.conn) return;
      packet_in_on_control(e.dpid, static_cast<int>(e.token),
                           static_cast<BytesPayload*>(payload.get())->bytes);
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

// Control handlers, and worker handlers when no worker lcore runs; the answers go out like any
// other message of the control thread's (send()).
void SwitchManager::packet_in_on_control(uint64_t dpid, int handler, ByteSpan message) {
  control_answers_.clear();
  if (!packet_ins_->run(handler, dpid, message, control_answers_)) return;
  for_each_message(control_answers_.span(),
                   [&](ByteSpan m) { (void)send(dpid, std::vector<uint8_t>(m.begin(), m.end())); });
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

}  // namespace vlcp::sw
