#include "trace/live.h"

#include <algorithm>
#include <memory>
#include <random>

#include "base/log.h"
#include "model/address.h"
#include "ofp/actions.h"
#include "ofp/message.h"

namespace vlcp::trace {

using Json = nlohmann::json;
namespace live = apps::live;

namespace {

constexpr uint16_t kRandomPortBase = 49152;  // §9.1: TCP and UDP from a random port 49152-65535

std::string ip(uint32_t a) {
  return model::detail::ip_text(a);
}

const ExpectedHop* hop_of(const Expected& e, const std::string& server) {
  for (const auto& h : e.hops)
    if (h.server == server) return &h;
  return nullptr;
}

// The server whose hop says it sends to VTEP `tun_dst` next, or the hop's next_server.
std::string next_of(const Expected& e, const std::string& server, uint32_t tun_dst) {
  if (const ExpectedHop* h = hop_of(e, server)) {
    if (!h->next_server.empty()) return h->next_server;
  }
  for (const auto& h : e.hops)
    if (h.tun_dst && h.tun_dst == tun_dst && !h.next_server.empty()) return h.next_server;
  return "";
}

bool is_ingress(const live::Observation& o) {
  return o.table == "ingress";
}

// An egress copy leaving by a tunnel: by the simulated hop's tunnel port when the server is on
// the path (a copy that came in by a tunnel still carries its arrival's tun_dst), else by tun_dst.
bool leaves_by_tunnel(const Expected& e, const live::Observation& o) {
  if (const ExpectedHop* h = hop_of(e, o.server)) return h->out_kind == "tunnel" && o.reg6 == h->out_ofport;
  return o.tun_dst != 0;
}

// "hv1 ingress -> hv1 egress (VXLAN 192.168.99.2) -> hv2 ingress -> hv2 egress (a3)"
std::string path_text(const Expected& e, const PacketPath& p) {
  std::string out;
  for (const auto& o : p.observations) {
    if (!out.empty()) out += " \xe2\x86\x92 ";
    out += o.server + " " + o.table;
    if (is_ingress(o)) continue;
    if (o.server == e.to_server && o.reg6 == e.to_ofport && !e.to_port.empty())
      out += " (" + e.to_port + ")";
    else if (leaves_by_tunnel(e, o))
      out += " (VXLAN " + ip(o.tun_dst) + ")";
    else
      out += " (port " + std::to_string(o.reg6) + ")";
  }
  return out.empty() ? "nothing seen" : out;
}

std::vector<std::string> servers_of(const PacketPath& p) {
  std::vector<std::string> s;
  for (const auto& o : p.observations)
    if (s.empty() || s.back() != o.server) s.push_back(o.server);
  return s;
}

}  // namespace

std::string_view live_code_name(LiveCode c) {
  switch (c) {
#define VLCP_LIVE_VERDICT_NAME(e, code, outcome) \
  case LiveCode::e:                              \
    return code;
    VLCP_LIVE_VERDICTS(VLCP_LIVE_VERDICT_NAME)
#undef VLCP_LIVE_VERDICT_NAME
  }
  return "";
}

std::string_view live_outcome(LiveCode c) {
  switch (c) {
#define VLCP_LIVE_VERDICT_OUTCOME(e, code, outcome) \
  case LiveCode::e:                                 \
    return outcome;
    VLCP_LIVE_VERDICTS(VLCP_LIVE_VERDICT_OUTCOME)
#undef VLCP_LIVE_VERDICT_OUTCOME
  }
  return "";
}

LiveResult live_verdict(const Expected& e, const std::map<std::string, live::Seen>& seen, int sent) {
  LiveResult r;
  r.sent = sent;
  std::set<std::string> expected_servers;
  for (const auto& h : e.hops) expected_servers.insert(h.server);
  if (!e.to_server.empty()) expected_servers.insert(e.to_server);
  for (const auto& s : expected_servers) {
    auto it = seen.find(s);
    r.armed[s] = it != seen.end() && it->second.armed;
  }
  for (const auto& [server, s] : seen)
    if (s.armed) r.armed[server] = true;
  for (int n = 1; n <= sent; ++n) {
    PacketPath p;
    p.no = static_cast<uint16_t>(n);
    for (const auto& [server, s] : seen)
      for (const auto& o : s.observations)
        if (o.packet_no == n) p.observations.push_back(o);
    // In the simulated path's order of servers (each node stamps with its own clock, when its
    // vlcpd handled the copy: times of two servers do not order them), then in time on each,
    // ingress first at one instant.
    auto rank = [&](const std::string& server) {
      for (size_t i = 0; i < e.hops.size(); ++i)
        if (e.hops[i].server == server) return i;
      return e.hops.size();
    };
    std::stable_sort(p.observations.begin(), p.observations.end(), [&](const auto& a, const auto& b) {
      if (rank(a.server) != rank(b.server)) return rank(a.server) < rank(b.server);
      if (a.server != b.server) return a.time < b.time;
      if (is_ingress(a) != is_ingress(b)) return is_ingress(a);
      return a.time < b.time;
    });
    for (const auto& o : p.observations)
      if (!is_ingress(o) && o.server == e.to_server && o.reg6 == e.to_ofport && !e.to_server.empty())
        p.delivered = true;
    r.packets.push_back(std::move(p));
  }
  std::vector<std::string> not_armed;
  for (const auto& [s, a] : r.armed)
    if (!a && expected_servers.count(s)) not_armed.push_back(s);
  for (const auto& s : not_armed)
    r.notes.push_back(s + " did not arm its observation flows: its observations may be missing");

  size_t delivered = 0;
  for (const auto& p : r.packets) delivered += p.delivered;
  const std::string of = std::to_string(delivered) + "/" + std::to_string(sent);
  std::vector<std::string> expected_path;
  for (const auto& h : e.hops) expected_path.push_back(h.server);

  if (sent > 0 && delivered == static_cast<size_t>(sent)) {
    const PacketPath& p = r.packets.front();
    bool as_simulated = servers_of(p) == expected_path;
    r.verdict = {LiveCode::kDelivered,
                 of + " packets delivered to port " + e.to_port + " on " + e.to_server + "; " +
                     (as_simulated ? "path as simulated: " : "path (not the simulated servers): ") +
                     path_text(e, p),
                 e.to_server};
    return r;
  }
  // The first packet that did not arrive tells where they are lost.
  const PacketPath* lost = nullptr;
  for (const auto& p : r.packets)
    if (!p.delivered) {
      lost = &p;
      break;
    }
  // A server on the path that did not arm may have seen them: nothing can be concluded.
  if (!not_armed.empty() && sent > 0) {
    std::string who;
    for (const auto& s : not_armed) who += (who.empty() ? "" : ", ") + s;
    r.verdict = {LiveCode::kNotArmed,
                 who + " did not arm its observation flows: its observations may be missing; " + of +
                     " delivered" + (lost ? ", seen: " + path_text(e, *lost) : std::string()),
                 not_armed.front()};
    return r;
  }
  if (!lost || lost->observations.empty()) {
    if (sent == 0) {
      r.verdict = {LiveCode::kNotArmed, "no packet was sent", ""};
      return r;
    }
    std::string first = e.hops.empty() ? "FROM's server" : e.hops.front().server;
    r.verdict = {LiveCode::kLostInPipeline,
                 of + " arrived: never seen, not even entering " + first +
                     "'s ingress: the injected packet did not reach the pipeline",
                 first};
    return r;
  }
  const live::Observation& last = lost->observations.back();
  const std::string sim = e.simulated_code.empty() ? "" : " The simulated trace says: " + e.simulated_text;
  if (is_ingress(last)) {
    std::string how = last.tun_dst || (hop_of(e, last.server) && last.server != expected_path.front())
                          ? " from " + (lost->observations.size() > 1
                                            ? lost->observations[lost->observations.size() - 2].server
                                            : std::string("elsewhere"))
                          : "";
    r.verdict = {LiveCode::kLostInPipeline,
                 of + " arrived: seen entering " + last.server + how + ", never leaving: dropped inside " +
                     last.server + "'s pipeline." + sim,
                 last.server};
    return r;
  }
  // Last seen leaving a server: where to?
  const ExpectedHop* h = hop_of(e, last.server);
  if (h && h->out_ofport && last.reg6 != h->out_ofport) {
    r.verdict = {LiveCode::kDiffers,
                 "live path differs from the simulation at " + last.server + ": simulated out_port " +
                     std::to_string(h->out_ofport) + (h->out_name.empty() ? "" : " (" + h->out_name + ")") +
                     ", seen out_port " + std::to_string(last.reg6) + (last.reg6 == 0 ? " (flood)" : "") +
                     ": flows changed during the trace?",
                 last.server};
    return r;
  }
  if (h ? (h->out_kind == "tunnel" || h->out_kind == "uplink") : last.tun_dst != 0) {
    std::string next = next_of(e, last.server, last.tun_dst);
    std::string how = last.tun_dst
                          ? "by VXLAN to " + ip(last.tun_dst) + (next.empty() ? "" : " (" + next + ")")
                          : "by its uplink";
    std::string text = of + " arrived: seen last leaving " + last.server + " " + how +
                       "; never seen entering " + (next.empty() ? std::string("the next server") : next) +
                       ".";
    if (e.simulated_code == "delivered")
      text +=
          " The flows are right (simulation delivers); the underlay lost it: check the VTEPs reach each "
          "other" +
          (last.tun_dst ? " (ping " + ip(last.tun_dst) + " from " + last.server + "'s br-phy)"
                        : std::string()) +
          ", the tunnel neighbour, MTU (the probe is DSCP LE, dropped first by a congested underlay)";
    r.verdict = {LiveCode::kUnderlayLost, text, last.server};
    return r;
  }
  r.verdict = {LiveCode::kDiffers,
               of + " arrived: seen last leaving " + last.server + " by port " + std::to_string(last.reg6) +
                   ", not TO's port " + std::to_string(e.to_ofport) + " on " +
                   (e.to_server.empty() ? std::string("any server") : e.to_server) + "." + sim,
               last.server};
  return r;
}

Json to_json(const LiveResult& r) {
  Json packets = Json::array();
  for (const auto& p : r.packets) {
    Json obs = Json::array();
    for (const auto& o : p.observations) obs.push_back(live::to_json(o));
    packets.push_back({{"no", p.no}, {"observations", std::move(obs)}, {"delivered", p.delivered}});
  }
  return {{"packets", std::move(packets)},
          {"verdict",
           {{"outcome", live_outcome(r.verdict.code)},
            {"code", live_code_name(r.verdict.code)},
            {"text", r.verdict.text},
            {"server", r.verdict.server}}},
          {"armed", r.armed},
          {"notes", r.notes},
          {"sent", r.sent}};
}

std::vector<uint8_t> live_packet_out(const PacketSpec& packet, const live::Nonce& nonce) {
  InlineBuffer<64> payload;
  live::put_nonce(nonce, payload);
  PacketSpec s = packet;
  s.dscp = live::kDscp;
  InlineBuffer<512> f;
  frame(s, f, payload.span());
  ofp::PacketOut po;
  po.in_port = packet.in_port;
  po.actions.output(ofp::kPortTable);
  po.data = f.span();
  InlineBuffer<1024> out;
  ofp::encode_packet_out(out, 0, po);
  return std::vector<uint8_t>(out.data(), out.data() + out.size());
}

live::Session live_session(const LiveRequest& req, const std::string& self, const std::string& id,
                           uint32_t nonce, double expires) {
  live::Session s;
  s.id = id;
  s.requester = self;
  s.slot = req.slot;
  s.expires = expires;
  s.nonce = nonce;
  s.dscp = live::kDscp;
  const PacketSpec& p = req.packet;
  s.match.nw_src = p.ip_src;
  s.match.nw_dst = p.ip_dst;
  s.match.proto = p.proto == Proto::kTcp   ? live::kProtoTcp
                  : p.proto == Proto::kUdp ? live::kProtoUdp
                                           : live::kProtoIcmp;
  if (p.proto == Proto::kTcp || p.proto == Proto::kUdp) {
    s.match.tp_src = p.tp_src;
    s.match.tp_dst = p.tp_dst;
  }
  return s;
}

namespace {

// One live run: the session written, the observers' answers followed, the packets sent.
class LiveRun : public std::enable_shared_from_this<LiveRun> {
 public:
  LiveRun(LiveEnv env, LiveRequest req, std::function<void(Result<LiveResult>)> done)
      : env_(std::move(env)), req_(std::move(req)), done_(std::move(done)) {}

  void start() {
    uint64_t r = env_.random();
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(r));
    id_ = id;
    nonce_ = static_cast<uint32_t>(env_.random());
    if (req_.packet.proto == Proto::kTcp || req_.packet.proto == Proto::kUdp)
      req_.packet.tp_src = static_cast<uint16_t>(kRandomPortBase + env_.random() % (65536 - kRandomPortBase));
    session_ = live_session(req_, env_.self, id_, nonce_, env_.wall() + req_.options.session_seconds);
    for (const auto& h : req_.expected.hops) expect_armed_.insert(h.server);
    if (!req_.expected.to_server.empty()) expect_armed_.insert(req_.expected.to_server);
    // Follow the answers before the session exists: none is missed.
    auto self = shared_from_this();
    watch_ = env_.db->open_watch([w = weak_from_this()](const db::KeyUpdate& u) {
      if (auto s = w.lock()) s->on_seen(u);
    });
    env_.db->watch_prefix(watch_, live::seen_prefix(env_.self, req_.slot));
    write_session(live::to_json(session_), [self](Status st) {
      if (!st.ok()) return self->finish(st);
      self->env_.after(self->req_.options.arm_wait, [self] { self->inject(); });
    });
  }

 private:
  void write_session(Json value, std::function<void(Status)> then) {
    std::string key = live::session_key(env_.self, req_.slot);
    env_.db->transact(
        {key},
        [key, value](const auto&, const auto&, int64_t) {
          return Result<std::vector<std::pair<std::string, std::optional<Json>>>>({{key, value}});
        },
        [then = std::move(then)](Result<db::TxnResult> r) { then(r.ok() ? Status{} : r.status()); });
  }

  void on_seen(const db::KeyUpdate& u) {
    if (finished_ || !u.record.value) return;
    auto s = live::seen_from_json(*u.record.value);
    if (!s.ok() || s->id != id_) return;  // (another session's: the slot's previous use)
    std::string observer =
        db::unescape_key_part(u.key.substr(live::seen_prefix(env_.self, req_.slot).size()));
    seen_[observer] = std::move(*s);
    if (!injecting_ && all_armed()) inject();
    if (sent_ == req_.options.count && all_delivered()) settle();
  }

  // Every packet reached TO: the other observers' last copies (each writes at most every 50 ms)
  // are still on their way, so the path is read a moment later.
  void settle() {
    if (settling_ || finished_) return;
    settling_ = true;
    env_.after(req_.options.settle, [self = shared_from_this()] { self->finish({}); });
  }

  bool all_armed() const {
    for (const auto& s : expect_armed_)
      if (auto it = seen_.find(s); it == seen_.end() || !it->second.armed) return false;
    return !expect_armed_.empty();
  }
  bool all_delivered() const {
    LiveResult r = live_verdict(req_.expected, seen_, sent_);
    return r.verdict.code == LiveCode::kDelivered;
  }

  // Every expected server armed, or the wait is over: the packets, interval apart.
  void inject() {
    if (injecting_ || finished_) return;
    injecting_ = true;
    send_next();
  }
  void send_next() {
    if (finished_) return;
    auto self = shared_from_this();
    ++sent_;
    live::Nonce n{static_cast<uint16_t>(req_.slot), static_cast<uint16_t>(sent_), nonce_};
    Status st = env_.send(req_.dpid, live_packet_out(req_.packet, n));
    if (!st.ok()) {
      --sent_;
      cannot_inject_ = st.message();
      return finish({});
    }
    if (sent_ < req_.options.count) {
      env_.after(req_.options.interval, [self] { self->send_next(); });
      return;
    }
    if (all_delivered()) return settle();
    env_.after(req_.options.collect_after, [self] { self->finish({}); });
  }

  void finish(Status st) {
    if (finished_) return;
    finished_ = true;
    env_.db->close_watch(watch_);  // (a timer may keep the run a while: it holds nothing then)
    watch_ = 0;
    auto self = shared_from_this();
    // The session ended: every node's partition empties, the flows go with the next round. (The
    // key is overwritten, never deleted: on ZooKeeper a prefix watch may miss a deleted key that
    // is written again, and the slot is reused.)
    write_session(live::ended(id_), [self, st](Status) {
      if (!st.ok()) return self->done_(st);
      LiveResult r = live_verdict(self->req_.expected, self->seen_, self->sent_);
      if (!self->cannot_inject_.empty()) {
        r.verdict = {LiveCode::kCannotInject,
                     "cannot inject on FROM's switch (datapath " + std::to_string(self->req_.dpid) +
                         "): " + self->cannot_inject_,
                     self->env_.self};
      }
      self->done_(std::move(r));
    });
  }

  LiveEnv env_;
  LiveRequest req_;
  std::function<void(Result<LiveResult>)> done_;
  std::string id_;
  uint32_t nonce_ = 0;
  live::Session session_;
  std::set<std::string> expect_armed_;
  std::map<std::string, live::Seen> seen_;
  db::WatchId watch_ = 0;
  int sent_ = 0;
  bool injecting_ = false, finished_ = false, settling_ = false;
  std::string cannot_inject_;
};

}  // namespace

void run_live(LiveEnv env, LiveRequest req, std::function<void(Result<LiveResult>)> done) {
  if (req.packet.proto != Proto::kIcmp && req.packet.proto != Proto::kTcp && req.packet.proto != Proto::kUdp)
    return done(
        make_error(Errc::kInvalidArgument,
                   std::string(proto_name(req.packet.proto)) +
                       " cannot be live: answered by flows or by vlcpd, the simulated trace shows it"));
  if (req.options.count < 1 || req.options.count > kMaxCount)
    return done(make_error(Errc::kInvalidArgument, "--count must be 1 to " + std::to_string(kMaxCount)));
  if (!env.db || !env.after || !env.send)
    return done(make_error(Errc::kUnavailable, "no ObjectDB or switch"));
  if (!env.wall)
    env.wall = [] {
      return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
  if (!env.random) {
    auto rd = std::make_shared<std::random_device>();
    env.random = [rd] { return (uint64_t{(*rd)()} << 32) | (*rd)(); };
  }
  std::make_shared<LiveRun>(std::move(env), std::move(req), std::move(done))->start();
}

}  // namespace vlcp::trace
