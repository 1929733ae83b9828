// The OpenFlow session protocol (see session.h).
#include "switch/session.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/log.h"
#include "ofp/bodies.h"

namespace vlcp::sw {

using ofp::MsgType;

namespace {

// X(request, reply): the request/reply pairs a controller sends and a switch answers.
#define VLCP_SESSION_REPLIES(X)                   \
  X(kEchoRequest, kEchoReply)                     \
  X(kFeaturesRequest, kFeaturesReply)             \
  X(kGetConfigRequest, kGetConfigReply)           \
  X(kMultipartRequest, kMultipartReply)           \
  X(kBarrierRequest, kBarrierReply)               \
  X(kQueueGetConfigRequest, kQueueGetConfigReply) \
  X(kRoleRequest, kRoleReply)                     \
  X(kGetAsyncRequest, kGetAsyncReply)

std::optional<MsgType> reply_type(MsgType request) {
  switch (request) {
#define VLCP_REPLY_CASE(req, rep) \
  case MsgType::req:              \
    return MsgType::rep;
    VLCP_SESSION_REPLIES(VLCP_REPLY_CASE)
#undef VLCP_REPLY_CASE
    default:
      return std::nullopt;
  }
}

bool is_reply(MsgType t) {
  switch (t) {
#define VLCP_IS_REPLY_CASE(req, rep) case MsgType::rep:
    VLCP_SESSION_REPLIES(VLCP_IS_REPLY_CASE)
#undef VLCP_IS_REPLY_CASE
    return true;
    default:
      return false;
  }
}

// What a switch may send a controller: the replies and the asynchronous messages.
bool from_switch(MsgType t) {
  switch (t) {
    case MsgType::kHello:
    case MsgType::kError:
    case MsgType::kEchoRequest:
    case MsgType::kEchoReply:
    case MsgType::kExperimenter:
    case MsgType::kPacketIn:
    case MsgType::kFlowRemoved:
    case MsgType::kPortStatus:
      return true;
    default:
      return is_reply(t);
  }
}

// Serial-number order for xids (wrap-around safe): x in [first, end).
bool xid_in(uint32_t x, uint32_t first, uint32_t end) {
  return x - first < end - first;
}

std::string hex32(uint32_t v) {
  char b[12];
  std::snprintf(b, sizeof b, "%x", v);
  return b;
}

uint32_t xid_of(ByteSpan m) {
  return m.size() >= 8 ? load_be32(m.data() + 4) : 0;
}

}  // namespace

std::string_view state_name(SessionState s) {
  switch (s) {
    case SessionState::kHello:
      return "hello";
    case SessionState::kFeatures:
      return "features";
    case SessionState::kReady:
      return "ready";
    case SessionState::kClosed:
      return "closed";
  }
  return "?";
}

void SessionCounters::observe_barrier(std::chrono::nanoseconds rtt) {
  double s = std::chrono::duration<double>(rtt).count();
  size_t i = 0;
  while (i < kBarrierBuckets.size() && s > kBarrierBuckets[i]) ++i;
  barrier_buckets[i].fetch_add(1, std::memory_order_relaxed);
  barrier_sum_ns.fetch_add(static_cast<uint64_t>(rtt.count()), std::memory_order_relaxed);
  barrier_count.fetch_add(1, std::memory_order_relaxed);
}

Session::Session(const Clock& clock, SessionConfig config, SessionHandler* handler, SessionCounters* counters)
    : clock_(clock),
      config_(config),
      handler_(handler),
      counters_(counters),
      xid_(config.first_xid - 1),
      batch_first_xid_(config.first_xid),
      last_rx_(clock.now()) {}

void Session::start() {
  last_rx_ = handshake_start_ = clock_.now();
  size_t start = out_.size();
  ofp::Hello hello;
  hello.version_bitmap = config_.versions;
  ofp::encode_hello(out_, next_xid(), hello);
  // The header carries the highest version offered, the bitmap all of them.
  uint8_t highest = 0;
  for (uint8_t v = 1; v < 32; ++v)
    if (config_.versions & (1u << v)) highest = v;
  if (highest) out_.data()[start] = highest;
  count_tx(out_.span().subspan(start));
}

void Session::stamp(size_t start) {
  if (version_ && start < out_.size()) out_.data()[start] = version_;
}

uint32_t Session::next_xid() {
  auto busy = [this](uint32_t x) {
    if (x == 0 || pending_.count(x)) return true;
    return std::any_of(batches_.begin(), batches_.end(), [x](const Batch& b) { return b.barrier_xid == x; });
  };
  do {
    ++xid_;
  } while (busy(xid_));
  return xid_;
}

void Session::count_tx(ByteSpan m) {
  if (counters_ && m.size() >= 8) counters_->tx_by_type[m[1] & 31].fetch_add(1, std::memory_order_relaxed);
  update_backlog();
}

void Session::send(ByteSpan message) {
  append(message, nullptr);
}

void Session::append(ByteSpan message, const uint32_t* xid) {
  if (closed()) return;
  size_t start = out_.size();
  out_.append(message);
  if (xid && message.size() >= 8) store_be32(out_.data() + start + 4, *xid);
  stamp(start);
  // An ONF bundle's ADD_MESSAGE carries a whole message whose version and xid must be the
  // outer message's (OVS checks both): the inner header gets them too.
  constexpr size_t kInner = 8 + 8 + 8;  // header, experimenter header, bundle add header
  if (message.size() >= kInner + 8 && message[1] == static_cast<uint8_t>(ofp::MsgType::kExperimenter) &&
      load_be32(message.data() + 8) == ofp::kOnfExperimenter &&
      load_be32(message.data() + 12) == ofp::kOnfBundleAdd) {
    uint8_t* m = out_.data() + start;
    m[kInner] = m[0];
    std::memcpy(m + kInner + 4, m + 4, 4);
  }
  count_tx(message);
}

void Session::send_new_xid(ByteSpan message) {
  if (closed() || message.size() < 8) return;
  uint32_t xid = next_xid();
  append(message, &xid);  // before the bundle rule copies the outer xid inside
}

void Session::consumed(size_t n) {
  out_head_ += std::min(n, out_.size() - out_head_);
  if (out_head_ == out_.size()) {
    out_.clear();
    out_head_ = 0;
  } else if (out_head_ >= 65536 && out_head_ >= out_.size() / 2) {
    // Only when the written part dominates: the memmove is paid once per half buffer.
    std::memmove(out_.data(), out_.data() + out_head_, out_.size() - out_head_);
    out_.resize(out_.size() - out_head_);
    out_head_ = 0;
  }
  update_backlog();
}

void Session::update_backlog() {
  bool was = backlogged_;
  size_t pending = out_.size() - out_head_;
  if (!backlogged_ && pending > config_.send_high_watermark) backlogged_ = true;
  if (backlogged_ && pending <= config_.send_low_watermark) backlogged_ = false;
  if (was != backlogged_ && handler_) handler_->on_backlog(backlogged_);
}

void Session::request(ByteSpan message, ReplyCallback done) {
  if (closed()) {
    done(make_error(Errc::kUnavailable, "session closed: " + close_reason_));
    return;
  }
  auto type = static_cast<MsgType>(message[1]);
  std::optional<ofp::MultipartType> multipart;  // none for a request too short to carry one
  if (type == MsgType::kMultipartRequest && message.size() >= 10)
    multipart = static_cast<ofp::MultipartType>(load_be16(message.data() + 8));
  pending_[xid_of(message)] =
      Pending{type, clock_.now() + config_.request_timeout, std::move(done), {}, multipart};
  send(message);
}

void Session::barrier(BatchCallback done) {
  InlineBuffer<8> b;
  uint32_t xid = next_xid();
  ofp::encode_simple(b, MsgType::kBarrierRequest, xid);
  Batch batch{batch_first_xid_, xid, clock_.now(), std::move(done), std::move(open_errors_)};
  open_errors_.clear();
  batches_.push_back(std::move(batch));
  batch_first_xid_ = xid + 1;
  send(b.span());
}

void Session::receive(ByteSpan bytes) {
  if (closed()) return;
  if (in_.empty()) {
    // The common case, whole messages: parsed where they are, only a partial tail is kept.
    size_t used = parse(bytes);
    if (!closed()) in_.assign(bytes.begin() + static_cast<ptrdiff_t>(used), bytes.end());
    return;
  }
  in_.insert(in_.end(), bytes.begin(), bytes.end());
  size_t used = parse(ByteSpan(in_.data(), in_.size()));
  if (closed())
    in_.clear();
  else
    in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(used));
}

size_t Session::parse(ByteSpan bytes) {
  size_t off = 0;
  while (!closed() && bytes.size() - off >= 8) {
    uint16_t len = load_be16(bytes.data() + off + 2);
    if (len < 8) {
      ByteSpan bad(bytes.data() + off, 8);
      reply_error(ofp::errors::kBadRequest_BAD_LEN, bad, xid_of(bad));
      close("framing error: message length " + std::to_string(len) + " is below the header size");
      break;
    }
    if (bytes.size() - off < len) break;
    handle(ByteSpan(bytes.data() + off, len));
    off += len;
  }
  return off;
}

void Session::reply_error(ofp::OfpError e, ByteSpan offending, uint32_t xid) {
  size_t start = out_.size();
  ofp::encode_error(out_, xid, e, offending);
  stamp(start);
  count_tx(out_.span().subspan(start));
  if (counters_) counters_->rx_errors_sent.fetch_add(1, std::memory_order_relaxed);
  VLCP_LOG_RL(kWarn, "switch", 60, 10)
      << "dpid " << std::hex << features_.datapath_id << std::dec << ": rejected " << offending.size()
      << "-byte message (type " << int(offending[1]) << "): " << ofp::error_name(e);
}

void Session::handle(ByteSpan m) {
  last_rx_ = clock_.now();
  echo_outstanding_ = false;
  if (counters_) counters_->rx_by_type[m[1] & 31].fetch_add(1, std::memory_order_relaxed);
  uint32_t xid = xid_of(m);
  if (state_ == SessionState::kHello) {
    if (m[1] != static_cast<uint8_t>(MsgType::kHello)) {
      reply_error(ofp::errors::kHelloFailed_INCOMPATIBLE, m, xid);
      close("expected HELLO, got message type " + std::to_string(m[1]));
      return;
    }
    ofp::Frame f{{m[0], MsgType::kHello, static_cast<uint16_t>(m.size()), xid}, m, m.subspan(8)};
    handle_hello(f);
    return;
  }
  if (m[0] != version_) {
    reply_error(ofp::errors::kBadRequest_BAD_VERSION, m, xid);
    return;
  }
  auto frame = ofp::decode_frame(m);
  if (!frame.ok()) {
    reply_error(frame.error(), m, xid);
    return;
  }
  const ofp::Frame& f = *frame;
  MsgType type = f.header.type;
  if (version_ == ofp::kOfp14 && m[1] >= 30 && m[1] <= 33) {
    // 1.4's ROLE_STATUS, TABLE_STATUS, REQUESTFORWARD and bundle replies: for the modules.
    if (handler_) handler_->on_message(f);
    return;
  }
  if (!from_switch(type)) {  // a controller-to-switch message sent to the controller
    reply_error(ofp::errors::kBadRequest_BAD_TYPE, m, xid);
    return;
  }
  if (type == MsgType::kPacketIn) {  // the hot path: decode once, as a view
    auto p = ofp::decode_packet_in(f);
    if (!p.ok()) {
      reply_error(p.error(), m, xid);
      return;
    }
    if (handler_) handler_->on_packet_in(f, *p);
    return;
  }
  if (auto bad = ofp::validate_message(m)) {
    reply_error(*bad, m, xid);
    return;
  }
  switch (type) {
    case MsgType::kEchoRequest: {
      size_t start = out_.size();
      ofp::encode_simple(out_, MsgType::kEchoReply, xid, f.body);
      stamp(start);
      count_tx(out_.span().subspan(start));
      return;
    }
    case MsgType::kError:
      handle_error(f);
      return;
    case MsgType::kPortStatus: {
      auto s = ofp::decode_port_status(f);
      if (!s.ok()) {
        reply_error(s.error(), m, xid);
        return;
      }
      if (s->reason == 1)
        ports_.erase(s->port.port_no);
      else
        ports_[s->port.port_no] = s->port;
      if (handler_) handler_->on_port_status(s->reason, s->port);
      return;
    }
    case MsgType::kHello:  // a second HELLO: harmless, as OVS treats it
      return;
    case MsgType::kFlowRemoved:
    case MsgType::kExperimenter:
      if (handler_) handler_->on_message(f);
      return;
    default:  // the replies (from_switch() let nothing else through)
      handle_reply(f);
      return;
  }
}

void Session::handle_hello(const ofp::Frame& f) {
  auto hello = ofp::decode_hello(f);
  uint32_t theirs = hello.ok() ? hello->version_bitmap : (2u << f.header.version) - 2;
  if (hello.ok() && hello->malformed) {
    VLCP_LOG_RL(kWarn, "switch", 60, 10)
        << "HELLO with malformed elements; negotiating from what was readable";
  }
  version_ = ofp::negotiate_version(config_.versions, theirs);
  if (!version_) {
    reply_error(ofp::errors::kHelloFailed_INCOMPATIBLE, f.bytes, f.header.xid);
    close("no common OpenFlow version (we offer bitmap 0x" + hex32(config_.versions) + ", peer 0x" +
          hex32(theirs) + ")");
    return;
  }
  state_ = SessionState::kFeatures;
  InlineBuffer<64> b;
  ofp::encode_simple(b, MsgType::kFeaturesRequest, next_xid());
  request(b.span(), [this](Result<Reply> r) {
    if (!r.ok()) {
      close("FEATURES_REQUEST failed: " + r.error().message());
      return;
    }
    ofp::Frame ff{{version_, MsgType::kFeaturesReply, static_cast<uint16_t>(r->message.size()), 0},
                  ByteSpan(r->message),
                  ByteSpan(r->message).subspan(8)};
    auto features = ofp::decode_features_reply(ff);
    if (!features.ok()) {
      close("bad FEATURES_REPLY: " + ofp::error_name(features.error()));
      return;
    }
    features_ = *features;
    have_features_ = true;
    maybe_ready();
  });
  b.clear();
  ofp::encode_switch_config(b, MsgType::kSetConfig, next_xid(), ofp::SwitchConfig{0, config_.miss_send_len});
  send(b.span());
  b.clear();
  ofp::encode_multipart_request(b, next_xid(), ofp::MultipartType::kPortDesc, {});
  request(b.span(), [this](Result<Reply> r) {
    if (!r.ok()) {
      close("PORT_DESC request failed: " + r.error().message());
      return;
    }
    auto ports = ofp::decode_port_desc_reply(ByteSpan(r->body), version_);
    if (!ports.ok()) {
      close("bad PORT_DESC reply: " + ofp::error_name(ports.error()));
      return;
    }
    for (auto& p : *ports) ports_[p.port_no] = p;  // decode_port() refused any beyond kMaxPorts
    have_ports_ = true;
    maybe_ready();
  });
  if (config_.role) {
    role_pending_ = true;
    b.clear();
    ofp::encode_role(b, MsgType::kRoleRequest, next_xid(),
                     ofp::RoleMsg{*config_.role, config_.generation_id});
    request(b.span(), [this](Result<Reply> r) {
      role_pending_ = false;
      if (!r.ok()) {
        // A stale generation id or a switch without roles: keep the connection, as OVS's
        // controllers do, and say so.
        VLCP_LOG(kWarn, "switch") << "role request refused: " << r.error().message();
      } else {
        ofp::Frame rf{{version_, MsgType::kRoleReply, static_cast<uint16_t>(r->message.size()), 0},
                      ByteSpan(r->message),
                      ByteSpan(r->message).subspan(8)};
        auto role = ofp::decode_role(rf);
        if (role.ok()) role_ = role->role;
      }
      maybe_ready();
    });
  }
}

void Session::maybe_ready() {
  if (state_ != SessionState::kFeatures || !have_features_ || !have_ports_ || role_pending_) return;
  state_ = SessionState::kReady;
  if (counters_) counters_->handshakes.fetch_add(1, std::memory_order_relaxed);
  if (handler_) handler_->on_ready();
}

void Session::handle_reply(const ofp::Frame& f) {
  uint32_t xid = f.header.xid;
  if (f.header.type == MsgType::kBarrierReply) {
    auto it = std::find_if(batches_.begin(), batches_.end(),
                           [xid](const Batch& b) { return b.barrier_xid == xid; });
    if (it != batches_.end()) {
      Batch batch = std::move(*it);
      batches_.erase(it);
      if (counters_) counters_->observe_barrier(clock_.now() - batch.sent);
      if (batch.done) batch.done(BatchResult{true, std::move(batch.errors)});
      return;
    }
  }
  auto it = pending_.find(xid);
  if (it == pending_.end() || reply_type(it->second.request_type) != f.header.type) {
    if (handler_) handler_->on_message(f);  // unsolicited or late
    return;
  }
  Reply& reply = it->second.partial;
  if (reply.message.empty()) {
    reply.type = f.header.type;
    reply.message.assign(f.bytes.begin(), f.bytes.end());
  }
  if (f.header.type == MsgType::kMultipartReply) {
    auto mp = ofp::decode_multipart(f);
    if (!mp.ok()) {
      reply_error(mp.error(), f.bytes, xid);
      return;
    }
    // Every part answers the type we requested: the caps below come from the request, so a
    // switch cannot choose a looser one by labelling its parts differently.
    auto name = [](std::optional<ofp::MultipartType> t) {
      std::string n = t ? std::string(ofp::multipart_name(*t)) : std::string();
      return n.empty() ? (t ? "type " + std::to_string(static_cast<uint16_t>(*t)) : std::string("?")) : n;
    };
    const std::optional<ofp::MultipartType> requested = it->second.multipart;
    if (requested != mp->type) {
      reply_error(ofp::errors::kBadRequest_BAD_MULTIPART, f.bytes, xid);
      close("multipart reply " + name(mp->type) + " (xid " + std::to_string(xid) + ") does not answer the " +
            name(requested) + " request");
      return;
    }
    // The parts are held until the last one: bounded for the session, and for a PORT_DESC by
    // what OVS's port space can describe.
    const bool port_desc = *requested == ofp::MultipartType::kPortDesc;
    bool too_much = multipart_held_ + mp->body.size() > config_.max_multipart_bytes ||
                    (port_desc && reply.body.size() + mp->body.size() > kMaxPortDescBytes);
    if (too_much) {
      size_t limit =
          port_desc ? std::min(kMaxPortDescBytes, config_.max_multipart_bytes) : config_.max_multipart_bytes;
      std::string what = name(requested);
      if (counters_) counters_->multipart_overflows.fetch_add(1, std::memory_order_relaxed);
      reply_error(ofp::errors::kBadRequest_MULTIPART_BUFFER_OVERFLOW, f.bytes, xid);
      close("multipart reply " + what + " (xid " + std::to_string(xid) + ") exceeds " +
            std::to_string(limit) + " bytes (protocol.openflow.maxmultipartbytes)");
      return;
    }
    reply.body.insert(reply.body.end(), mp->body.begin(), mp->body.end());
    multipart_held_ += mp->body.size();
    if (mp->flags & ofp::kMultipartMore) {
      it->second.deadline = clock_.now() + config_.request_timeout;
      return;
    }
  }
  Pending p = take(it);
  p.done(std::move(p.partial));
}

Session::Pending Session::take(std::map<uint32_t, Pending>::iterator it) {
  multipart_held_ -= it->second.partial.body.size();
  Pending p = std::move(it->second);
  pending_.erase(it);
  return p;
}

void Session::handle_error(const ofp::Frame& f) {
  auto e = ofp::decode_error(f);
  if (!e.ok()) {
    reply_error(e.error(), f.bytes, f.header.xid);
    return;
  }
  uint32_t xid = f.header.xid;
  if (auto it = pending_.find(xid); it != pending_.end()) {
    Pending p = take(it);
    p.done(make_error(Errc::kConflict, "switch answered " + ofp::error_name(e->error)));
    return;
  }
  // A batch keeps at most one error per message it covers (a switch repeating errors for the
  // same xids cannot grow it).
  for (auto& b : batches_) {
    if (xid_in(xid, b.first_xid, b.barrier_xid)) {
      if (b.errors.size() < b.barrier_xid - b.first_xid) b.errors.emplace_back(xid, e->error);
      return;
    }
  }
  if (xid_in(xid, batch_first_xid_, xid_ + 1)) {
    if (open_errors_.size() < xid_ + 1 - batch_first_xid_) open_errors_.emplace_back(xid, e->error);
    return;
  }
  if (handler_) handler_->on_message(f);
}

Clock::Monotonic Session::tick() {
  auto now = clock_.now();
  if (closed()) return now + std::chrono::hours(24);
  auto probe = config_.probe_interval;
  auto handshake = config_.handshake_timeout;
  if (state_ != SessionState::kReady && now - handshake_start_ >= handshake) {
    close("handshake did not finish in " + std::to_string(handshake.count()) + " ms");
    return now + std::chrono::hours(24);
  }
  if (!echo_outstanding_ && now - last_rx_ >= probe) {
    InlineBuffer<8> b;
    ofp::encode_simple(b, MsgType::kEchoRequest, next_xid());
    send(b.span());
    echo_outstanding_ = true;
    echo_sent_ = now;
  } else if (echo_outstanding_ && now - echo_sent_ >= config_.probe_timeout) {
    if (counters_) counters_->probes_failed.fetch_add(1, std::memory_order_relaxed);
    close("inactivity probe: no message for " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - last_rx_).count()) +
          " ms");
    return now + std::chrono::hours(24);
  }
  // Requests and barriers that were never answered.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now >= it->second.deadline) {
      auto next_it = std::next(it);
      Pending p = take(it);
      it = next_it;
      p.done(make_error(Errc::kTimeout, "no reply from the switch"));
      if (closed()) return now + std::chrono::hours(24);
    } else {
      ++it;
    }
  }
  while (!batches_.empty() && now - batches_.front().sent >= config_.request_timeout) {
    Batch b = std::move(batches_.front());
    batches_.erase(batches_.begin());
    if (b.done) b.done(BatchResult{false, std::move(b.errors)});
  }
  auto next = echo_outstanding_ ? echo_sent_ + config_.probe_timeout : last_rx_ + probe;
  if (state_ != SessionState::kReady) next = std::min(next, handshake_start_ + handshake);
  for (auto& [x, p] : pending_) next = std::min(next, p.deadline);
  if (!batches_.empty()) next = std::min(next, batches_.front().sent + config_.request_timeout);
  return next;
}

void Session::close(const std::string& reason) {
  if (closed()) return;
  state_ = SessionState::kClosed;
  close_reason_ = reason;
  auto pending = std::move(pending_);
  pending_.clear();
  multipart_held_ = 0;
  for (auto& [x, p] : pending) p.done(make_error(Errc::kUnavailable, "session closed: " + reason));
  auto batches = std::move(batches_);
  batches_.clear();
  for (auto& b : batches)
    if (b.done) b.done(BatchResult{false, std::move(b.errors)});
  if (handler_) handler_->on_closed(reason);
}

}  // namespace vlcp::sw
