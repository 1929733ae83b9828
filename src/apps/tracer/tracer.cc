// The tracer's observation flows, its packet-in handler, what it writes back, its registration.
#include "apps/tracer/tracer.h"

#include <algorithm>

#include "apps/host.h"
#include "apps/registry.h"
#include "base/log.h"
#include "ofp/match.h"
#include "ofp/message.h"
#include "ofp/packet.h"
#include "pipeline/registers.h"

namespace vlcp::apps {

using Json = nlohmann::json;
using ofp::Field;

namespace {

constexpr uint16_t kEthTypeIp = 0x0800;
constexpr uint16_t kInPortKeep = 0xfff8;  // resubmit: the packet's own in_port

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The observation points, in order, and each one's bit in the trace register.
struct Point {
  const char* table;
  uint16_t bit;
};
constexpr Point kPoints[] = {{"ingress", 0}, {"egress", 1}};

}  // namespace

TracerApp::TracerApp(db::ObjectDb& db, const pipeline::TableMap& tables, After after,
                     std::function<AppHost*()> host, std::function<double()> wall_clock)
    : db_(db),
      tables_(tables),
      after_(std::move(after)),
      host_(std::move(host)),
      wall_(wall_clock ? std::move(wall_clock) : std::function<double()>(now_seconds)) {
  watch_ = db_.open_watch([this, alive = alive_](const db::KeyUpdate& u) {
    if (*alive) on_update(u);
  });
  db_.watch_prefix(watch_, live::session_prefix());
}

TracerApp::~TracerApp() {
  *alive_ = false;
  db_.close_watch(watch_);
}

// A session key written or emptied (by its requester, on any node).
void TracerApp::on_update(const db::KeyUpdate& u) {
  const std::string prefix = live::session_prefix();
  if (u.key.compare(0, prefix.size(), prefix) != 0) return;
  std::string partition = kPartitionPrefix + u.key.substr(prefix.size());
  const Json* v = u.record.value ? &*u.record.value : nullptr;
  if (!v || v->is_null() || (v->is_object() && v->empty()) || live::is_ended(*v)) {
    sessions_.erase(partition);
  } else if (auto s = live::session_from_json(*v);
             !s.ok() || live::session_key(s->requester, s->slot) != u.key) {
    ++counters_.bad_sessions;
    VLCP_LOG_RL(kWarn, "tracer", 5, 5)
        << "live trace session " << u.key
        << " ignored: " << (s.ok() ? "its requester and slot are not its key's" : s.status().message());
    sessions_.erase(partition);
  } else if (s->expires <= wall_()) {
    sessions_.erase(partition);
  } else {
    sessions_[partition] = std::move(*s);
  }
  choose();
}

// The kMaxSessions sessions with the latest expiry get flows; what changed is dirtied.
void TracerApp::choose() {
  std::vector<const std::pair<const std::string, live::Session>*> all;
  for (const auto& e : sessions_) all.push_back(&e);
  std::stable_sort(all.begin(), all.end(),
                   [](const auto* a, const auto* b) { return a->second.expires > b->second.expires; });
  std::map<std::string, live::Session> next;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i < kMaxSessions)
      next.insert(*all[i]);
    else if (!refused_.count(all[i]->first)) {  // (new, or pushed out by a newer one)
      ++counters_.refused_sessions;
      refused_.insert(all[i]->first);
    }
  }
  for (auto it = refused_.begin(); it != refused_.end();)
    it = sessions_.count(*it) && !next.count(*it) ? std::next(it) : refused_.erase(it);
  Dirty d;
  for (const auto& [p, s] : active_)
    if (auto n = next.find(p); n == next.end() || !(n->second == s)) d.partitions.insert(p);
  for (const auto& [p, s] : next) {
    auto a = active_.find(p);
    if (a != active_.end() && a->second == s) continue;
    d.partitions.insert(p);
    State st;
    st.session = s;
    st.seen.id = s.id;
    state_[p] = std::move(st);
    double left = std::max(0.0, s.expires - wall_());
    after_(std::chrono::milliseconds(static_cast<int64_t>(left * 1000) + 1), [this, alive = alive_, p] {
      if (*alive) expire(p);
    });
  }
  for (auto it = state_.begin(); it != state_.end();)
    it = next.count(it->first) ? std::next(it) : state_.erase(it);
  active_ = std::move(next);
  if (d.partitions.empty()) return;
  if (AppHost* host = host_ ? host_() : nullptr) host->dirty(*this, d);
}

void TracerApp::expire(const std::string& partition) {
  auto it = sessions_.find(partition);
  if (it == sessions_.end() || it->second.expires > wall_()) return;
  sessions_.erase(it);
  choose();
}

flows::Desired TracerApp::session_flows(const live::Session& s) const {
  flows::Desired d;
  for (const Point& pt : kPoints) {
    auto table = tables_.id(pt.table);
    if (!table) continue;
    ofp::FlowMod f;
    f.table_id = *table;
    f.priority = 0xffff;
    f.cookie = flows::cookie(kTracerAppId, *table);
    f.hard_timeout = kHardTimeout;
    f.match.add(Field::kEthType, kEthTypeIp)
        .add(Field::kIpDscp, s.dscp)
        .add(Field::kIpv4Src, s.match.nw_src)
        .add(Field::kIpv4Dst, s.match.nw_dst)
        .add(Field::kIpProto, s.match.proto);
    const bool tcp = s.match.proto == live::kProtoTcp;
    if (s.match.tp_src) f.match.add(tcp ? Field::kTcpSrc : Field::kUdpSrc, *s.match.tp_src);
    if (s.match.tp_dst) f.match.add(tcp ? Field::kTcpDst : Field::kUdpDst, *s.match.tp_dst);
    f.match.add_masked(pipeline::reg::trace, 0, uint32_t{1} << pt.bit);
    ofp::ActionList a;
    a.reg_load({pipeline::reg::trace, pt.bit, 1}, 1)
        .output(ofp::kPortController, kCopyBytes)
        .resubmit(kInPortKeep, *table);
    f.instructions.apply_actions(a);
    pipeline::put_flow(d.flows, f);
  }
  return d;
}

std::map<std::string, flows::Desired> TracerApp::compute(const ModelView&, const SwitchContext&) const {
  std::map<std::string, flows::Desired> out;
  for (const auto& [p, s] : active_) out[p] = session_flows(s);
  return out;
}

std::map<std::string, flows::Desired> TracerApp::compute(const ModelView&, const SwitchContext&,
                                                         const std::set<std::string>& partitions) const {
  std::map<std::string, flows::Desired> out;
  for (const auto& p : partitions) {
    auto it = active_.find(p);
    out[p] = it == active_.end() ? flows::Desired{} : session_flows(it->second);
  }
  return out;
}

// After a round: each session's flows are stated on every connected switch; armed once each of
// those confirms them.
void TracerApp::after_round(const std::vector<SwitchContext>& switches) {
  known_switches_.clear();
  for (const auto& sw : switches) {
    if (sw.system_id && !sw.system_id->empty()) system_id_ = *sw.system_id;
    known_switches_.insert(sw.dpid);
  }
  AppHost* host = host_ ? host_() : nullptr;
  if (!host) return;
  std::set<uint64_t> connected;
  for (const auto& [dpid, bridge, stats] : host->flow_owners())
    if (known_switches_.count(dpid)) connected.insert(dpid);
  for (auto& [p, st] : state_) {
    for (uint64_t dpid : connected) {
      if (!st.arming.insert(dpid).second) continue;
      host->when_confirmed(dpid, [this, alive = alive_, p = p, id = st.session.id, dpid] {
        if (*alive) armed(p, id, dpid);
      });
    }
  }
}

void TracerApp::armed(const std::string& partition, const std::string& id, uint64_t dpid) {
  auto it = state_.find(partition);
  if (it == state_.end() || it->second.session.id != id) return;
  State& st = it->second;
  st.armed.insert(dpid);
  if (st.seen.armed || !std::includes(st.armed.begin(), st.armed.end(), st.arming.begin(), st.arming.end()))
    return;
  st.seen.armed = true;
  schedule_write(partition);
}

void TracerApp::schedule_write(const std::string& partition) {
  write_pending_.insert(partition);
  if (write_scheduled_) return;
  write_scheduled_ = true;
  auto since = std::chrono::steady_clock::now() - last_write_;
  auto wait = since >= kWriteEvery
                  ? std::chrono::milliseconds(0)
                  : std::chrono::duration_cast<std::chrono::milliseconds>(kWriteEvery - since);
  after_(wait, [this, alive = alive_] {
    if (!*alive) return;
    write_scheduled_ = false;
    last_write_ = std::chrono::steady_clock::now();
    auto pending = std::move(write_pending_);
    write_pending_.clear();
    for (const auto& p : pending) write(p);
  });
}

void TracerApp::write(const std::string& partition) {
  auto it = state_.find(partition);
  if (it == state_.end()) return;
  std::string self = system_id_;
  if (self.empty())
    if (AppHost* host = host_ ? host_() : nullptr) self = host->system_id();
  if (self.empty()) return;  // (no name for this node yet: its OVSDB record)
  const live::Session& s = it->second.session;
  std::string key = live::seen_key(s.requester, s.slot, self);
  Json value = live::to_json(it->second.seen);
  db_.transact(
      {key},
      [key, value](const auto&, const auto&, int64_t) {
        return Result<std::vector<std::pair<std::string, std::optional<Json>>>>({{key, value}});
      },
      [this, alive = alive_, key](Result<db::TxnResult> r) {
        if (!*alive) return;
        if (r.ok()) {
          ++counters_.writes;
          return;
        }
        VLCP_LOG_RL(kWarn, "tracer", 5, 5) << "cannot write " << key << ": " << r.status().message();
      });
}

// A copy from an observation flow: the packet it carries must have the session's nonce.
void TracerApp::packet_in(flows::AppId, const SwitchContext& sw, ByteSpan message, Buffer&) {
  auto frame = ofp::decode_frame(message);
  if (!frame.ok() || frame->header.type != ofp::MsgType::kPacketIn) return;
  auto p = ofp::decode_packet_in(*frame);
  if (!p.ok()) return;
  auto parsed = ofp::pkt::parse_packet(p->data);
  const auto& ip = parsed.view.ip;
  auto nonce = ip ? live::read_nonce(parsed.view.l4_payload) : std::nullopt;
  State* st = nullptr;
  std::string partition;
  if (nonce)
    for (auto& [part, s] : state_) {
      const live::Session& ses = s.session;
      if (ses.slot == nonce->slot && ses.nonce == nonce->nonce && ip->src == ses.match.nw_src &&
          ip->dst == ses.match.nw_dst && ip->protocol == ses.match.proto) {
        st = &s;
        partition = part;
        break;
      }
    }
  if (!st) {
    ++counters_.foreign;
    return;
  }
  if (st->seen.observations.size() >= kMaxObservations) {
    ++counters_.ignored;
    return;
  }
  live::Observation o;
  o.server = sw.system_id ? *sw.system_id : system_id_;
  o.bridge = sw.view ? sw.view->bridge : "";
  o.dpid = sw.dpid;
  o.table_id = p->table_id;
  o.table = p->table_id < tables_.tables.size() ? tables_.tables[p->table_id].name : "";
  o.packet_no = nonce->packet_no;
  o.time = wall_();
  p->match.for_each([&](const ofp::OxmEntry& e) {
    if (!e.info) return;
    auto v = static_cast<uint32_t>(e.value_u64());
    if (e.info->field == Field::kInPort) o.in_port = v;
    if (e.info->field == pipeline::reg::in_network) o.reg4 = v;
    if (e.info->field == pipeline::reg::out_network) o.reg5 = v;
    if (e.info->field == pipeline::reg::out_port) o.reg6 = v;
    if (e.info->field == Field::kTunIpv4Dst) o.tun_dst = v;
  });
  st->seen.observations.push_back(std::move(o));
  ++counters_.observed;
  schedule_write(partition);
}

Json TracerApp::status(const ModelView&) const {
  return {{"tracer",
           {{"sessions", active_.size()},
            {"observed", counters_.observed},
            {"foreign", counters_.foreign},
            {"ignored", counters_.ignored},
            {"sessions_refused", counters_.refused_sessions}}}};
}

std::vector<AppMetric> TracerApp::metrics() const {
  static const char* kHelp = "Copies of live trace packets the tracer received, by result.";
  return {{"vlcp_trace_observations_total", kHelp, {{"result", "observed"}}, double(counters_.observed)},
          {"vlcp_trace_observations_total", kHelp, {{"result", "foreign"}}, double(counters_.foreign)},
          {"vlcp_trace_observations_total", kHelp, {{"result", "ignored"}}, double(counters_.ignored)},
          {"vlcp_tracer_sessions",
           "Live trace sessions with observation flows on this node.",
           {},
           double(active_.size())},
          {"vlcp_tracer_sessions_refused_total",
           "Live trace sessions beyond the per-switch limit.",
           {},
           double(counters_.refused_sessions)}};
}

// --- registration ---------------------------------------------------------------------------------

namespace {

class TracerSpec final : public AppSpec {
 public:
  std::vector<PacketInDecl> packet_ins() const override {
    return {{kTracerAppId, false, "tracer live trace observations", {}}};
  }
  std::unique_ptr<FlowApp> make(const AppEnv& env) const override {
    return std::make_unique<TracerApp>(env.db, env.tables, env.after, env.host);
  }
};

Result<std::shared_ptr<const AppSpec>> configure(const Config&, const pipeline::PipelineSettings&) {
  return std::shared_ptr<const AppSpec>(std::make_shared<TracerSpec>());
}

}  // namespace

VLCP_REGISTER_APP(AppRegistration{TracerApp::kAppName, {"tracer"}, {}, configure});

}  // namespace vlcp::apps
