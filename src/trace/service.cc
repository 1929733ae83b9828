#include "trace/service.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "apps/explain.h"
#include "apps/switch_view.h"
#include "base/log.h"
#include "db/store.h"
#include "model/address.h"
#include "trace/annotate.h"
#include "trace/hop.h"
#include "trace/packet_spec.h"
#include "trace/parse.h"
#include "trace/verdict.h"

namespace vlcp::trace {

namespace {

using Json = nlohmann::json;
using model::detail::ip_text;
using model::detail::mac_text;

constexpr int kMaxRunning = 16;                           // §4.4: beyond this, busy
constexpr std::chrono::milliseconds kCallDeadline{5000};  // per ofproto/trace

std::string text_param(const Json& params, const char* name) {
  if (!params.contains(name)) return "";
  const Json& v = params[name];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

Result<std::optional<uint64_t>> number_param(const Json& params, const char* name, uint64_t max) {
  std::string t = text_param(params, name);
  if (t.empty()) return std::optional<uint64_t>();
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(t.c_str(), &end, 10);
  if (errno || *end || t[0] == '-' || v > max)
    return make_error(Errc::kInvalidArgument,
                      std::string(name) + ": '" + t + "' is not a number from 0 to " + std::to_string(max));
  return std::optional<uint64_t>(v);
}

bool bool_param(const Json& params, const char* name) {
  if (!params.contains(name)) return false;
  const Json& v = params[name];
  if (v.is_boolean()) return v.get<bool>();
  std::string t = text_param(params, name);
  return t == "true" || t == "True" || t == "1" || t == "yes";
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

std::string random_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(rng()));
  return b;
}

const apps::LogicalPortObj* port_by_id(const apps::ModelView& m, const std::string& id) {
  auto it = m.logical_ports().find(db::escape_key_part(id));  // (keyed by the id's key part)
  return it == m.logical_ports().end() ? nullptr : &it->second;
}

std::string network_id(const apps::ModelView& m, const std::string& key) {
  auto it = m.logical_networks().find(key);
  return it == m.logical_networks().end() ? key : apps::object_id(key, it->second.value);
}

// The router of a network (through its subnets' router interfaces) by its id, "" none.
std::string router_of(const apps::ModelView& m, const std::string& network) {
  std::string key = apps::router_of_network(m, network);
  return key.empty() ? "" : apps::object_id(key, m.routers().at(key).value);
}

struct Binding {
  uint64_t dpid = 0;
  std::string bridge, iface;
  uint32_t ofport = 0;
};
std::optional<Binding> binding_of(const std::map<uint64_t, apps::SwitchView>& views, const std::string& id) {
  for (const auto& [dpid, v] : views)
    for (const auto& p : v.ports)
      if (p.iface_id == id && p.ofport > 0)
        return Binding{dpid, v.bridge, p.name, static_cast<uint32_t>(p.ofport)};
  return std::nullopt;
}

}  // namespace

// One trace while its ofproto/trace runs.
struct TraceModule::Run {
  api::ApiDone done;
  std::string id;
  bool raw = false;
  Json result;  // what is known before the hop
  VerdictInput verdict;
  PacketSpec packet;
  Binding from;
  std::map<uint64_t, apps::SwitchView> views;
  std::string system_id;
};

TraceModule::~TraceModule() {
  stop();
}

Status TraceModule::start() {
  if (!(deps_.objectdb ? deps_.objectdb() : nullptr))
    return make_error(Errc::kUnavailable, "module trace needs module objectdb");
  alive_ = std::make_shared<bool>(true);
  running_ = 0;  // (a trace the last stop cut short never counted itself out)
  if (const apps::AppHost* host = deps_.host ? deps_.host() : nullptr)
    for (const apps::FlowApp* a : host->apps())
      for (auto id : a->cookie_ids()) app_names_[id] = a->name();
  unixctl_ = std::make_unique<ovsdb::UnixctlClient>(loop_.context(), [s = deps_.ovsdb_settings] {
    return ovsdb::find_vswitchd_ctl(s.vswitchd_ctl, s.remote);
  });
  return {};
}

void TraceModule::stop() {
  if (alive_) *alive_ = false;
  alive_.reset();
  unixctl_.reset();
  model_.reset();
}

Json TraceModule::status() const {
  Json by_code = Json::object();
  for (const auto& [code, n] : verdicts_) by_code[code] = n;
  return {{"running", running_},
          {"own_model_view", model_ != nullptr},
          {"verdicts", by_code},
          {"unixctl_errors", unixctl_errors_}};
}

namespace {
const std::set<schema::Kind>& model_kinds() {
  using schema::Kind;
  static const std::set<Kind> kinds{Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kPhysicalPort,
                                    Kind::kSubnet,          Kind::kLogicalPort,    Kind::kRouter,
                                    Kind::kRouterInterface, Kind::kLocation};
  return kinds;
}
}  // namespace

const apps::ModelView* TraceModule::model_now() {
  // The apps' model view when ioprocessing runs it with every kind the trace reads (no second set
  // of watches on a node that routes), else the module's own, made on first use.
  if (const apps::ModelView* m = deps_.model ? deps_.model() : nullptr)
    if (m->loaded() &&
        std::includes(m->kinds().begin(), m->kinds().end(), model_kinds().begin(), model_kinds().end()))
      return m;
  if (!model_) {
    auto db = deps_.objectdb ? deps_.objectdb() : nullptr;
    if (!db) return nullptr;
    model_ = std::make_unique<apps::ModelView>(
        *db,
        [loop = &loop_](std::chrono::milliseconds d, std::function<void()> fn) {
          loop->after(d, std::move(fn));
        },
        model_kinds());
    model_->start();
  }
  return model_->loaded() ? model_.get() : nullptr;
}

void TraceModule::packet(const Json& params, api::ApiDone done) {
  when_model(
      std::chrono::steady_clock::now() + std::chrono::seconds(10),
      [this, params, done = std::move(done)](const apps::ModelView* m) mutable {
        if (!m)
          return done(make_error(Errc::kUnavailable, "the trace's model view did not load within 10 s"));
        packet(*m, params, std::move(done));
      });
}

void TraceModule::when_model(std::chrono::steady_clock::time_point deadline,
                             std::function<void(const apps::ModelView*)> fn) {
  if (const apps::ModelView* m = model_now()) return fn(m);
  if (std::chrono::steady_clock::now() > deadline) return fn(nullptr);
  loop_.after(std::chrono::milliseconds(100), [this, alive = std::weak_ptr<bool>(alive_), deadline, fn] {
    auto a = alive.lock();
    if (!a || !*a) return fn(nullptr);
    when_model(deadline, fn);
  });
}

void TraceModule::packet(const apps::ModelView& m, const Json& params, api::ApiDone done) {
  if (running_ >= kMaxRunning)
    return done(make_error(Errc::kUnavailable, "busy: " + std::to_string(running_) + " traces running"));
  std::string from = text_param(params, "from"), to = text_param(params, "to");
  std::string proto_text = text_param(params, "proto");
  if (proto_text.empty()) proto_text = "icmp";
  auto proto = proto_from_name(proto_text);
  if (!proto)
    return done(
        make_error(Errc::kInvalidArgument, "proto: '" + proto_text + "' is not icmp, tcp, udp, arp or dhcp"));
  if (from.empty())
    return done(make_error(Errc::kInvalidArgument, "from: the port to trace from is missing"));
  if (to.empty() && *proto != Proto::kDhcp)
    return done(make_error(Errc::kInvalidArgument,
                           "to: a port, IPv4 address or MAC is missing (only --proto dhcp takes none)"));
  auto dport = number_param(params, "dport", 65535);
  auto sport = number_param(params, "sport", 65535);
  auto ttl = number_param(params, "ttl", 255);
  for (const auto* r : {&dport, &sport, &ttl})
    if (!r->ok()) return done(r->error());

  auto run = std::make_shared<Run>();
  run->done = std::move(done);
  run->id = random_id();
  run->raw = bool_param(params, "raw");
  const ovsdb::OvsdbClient* ovsdb = deps_.ovsdb ? deps_.ovsdb() : nullptr;
  if (ovsdb) {
    run->views = apps::switch_views(ovsdb->replica());
    run->system_id = ovsdb->replica().system_id;
  }
  if (run->system_id.empty()) run->system_id = "this server";
  VerdictInput& vi = run->verdict;
  vi.server = run->system_id;
  vi.servers_asked = {run->system_id};
  vi.from = from;
  vi.to = to;
  Json& out = run->result;
  out = {{"id", run->id}, {"mode", "simulated"}, {"hops", Json::array()}, {"notes", Json::array()}};
  out["notes"].push_back(
      "single node: other servers are not asked yet (their bindings and hops come with the node records)");
  auto answer = [this, run] { this->answer(run); };

  // FROM
  const apps::LogicalPortObj* fp = port_by_id(m, from);
  if (!fp) {
    vi.from_exists = false;
    out["from"] = {{"kind", "logicalport"}, {"id", from}, {"exists", false}};
    return answer();
  }
  std::string net_key = fp->network;
  vi.from_network = network_id(m, net_key);
  auto fb = binding_of(run->views, from);
  out["from"] = {{"kind", "logicalport"}, {"id", from}, {"network", vi.from_network}};
  if (fp->mac) out["from"]["mac"] = mac_text(*fp->mac);
  if (fp->ip) out["from"]["ip"] = ip_text(*fp->ip);
  if (!fb) {
    vi.from_bound = false;
    return answer();
  }
  run->from = *fb;
  out["from"]["server"] = run->system_id;
  out["from"]["bridge"] = fb->bridge;
  out["from"]["ofport"] = fb->ofport;
  vi.bridge = fb->bridge;
  if (!fp->mac) {
    out["notes"].push_back("port " + from +
                           " has no MAC address: the packet's source MAC is 00:00:00:00:00:00");
  }
  const apps::SubnetObj* fsub = nullptr;
  if (auto s = m.subnets().find(fp->subnet); s != m.subnets().end()) fsub = &s->second;
  if (fp->ip && fsub && fsub->cidr)
    vi.offer = ip_text(*fp->ip) + "/" + std::to_string(fsub->cidr->prefix) +
               (fsub->gateway ? ", router " + ip_text(*fsub->gateway) : "");
  vi.router = router_of(m, net_key);
  vi.network_routed = !vi.router.empty();

  // The router MAC this network's hosts send routed traffic to (the apps that route say).
  const apps::AppHost* host = deps_.host ? deps_.host() : nullptr;
  std::optional<model::detail::Mac> gateway;
  if (host)
    for (const apps::FlowApp* a : host->apps())
      if (auto g = a->gateway_mac(m, net_key)) gateway = g;

  // TO
  Mac dst_mac{};
  Ipv4 dst_ip = 0;
  Json to_json = Json::object();
  auto to_port = [&](const apps::LogicalPortObj& p) {
    vi.to_port = p.id;
    to_json = {{"kind", "logicalport"}, {"id", p.id}, {"network", network_id(m, p.network)}};
    if (p.ip) {
      to_json["ip"] = ip_text(*p.ip);
      dst_ip = *p.ip;
    }
    if (p.mac) to_json["mac"] = mac_text(*p.mac);
    bool same = p.network == net_key;
    if (same && p.mac) dst_mac = *p.mac;
    if (!same && gateway) dst_mac = *gateway;
    if (auto tb = binding_of(run->views, p.id)) {
      vi.to_ofport = tb->ofport;
      to_json["bound"] =
          Json::array({{{"server", run->system_id}, {"bridge", tb->bridge}, {"ofport", tb->ofport}}});
    } else {
      to_json["bound"] = Json::array();
    }
  };
  if (*proto == Proto::kDhcp) {
    to_json = nullptr;
  } else if (const apps::LogicalPortObj* tp = port_by_id(m, to)) {
    to_port(*tp);
  } else if (auto ip = model::detail::parse_ip(to)) {
    dst_ip = *ip;
    const apps::LogicalPortObj* by_ip = nullptr;
    for (const auto& [k, p] : m.logical_ports())
      if (p.ip == ip && (!by_ip || p.network == net_key)) by_ip = &p;
    if (by_ip) {
      to_port(*by_ip);
    } else {
      std::string router;
      if (const apps::RouterInterfaceObj* ri = apps::interface_at(m, *ip))
        if (auto r = m.routers().find(ri->router); r != m.routers().end())
          router = apps::object_id(r->first, r->second.value);
      if (!router.empty()) {
        to_json = {{"kind", "routerinterface"}, {"router", router}, {"ip", to}};
        if (gateway) dst_mac = *gateway;
      } else if (fsub && fsub->cidr && fsub->cidr->contains(*ip)) {
        vi.to_unknown = true;
        vi.to_what = "IP";
        vi.to_value = to;
        to_json = {{"kind", "address"}, {"ip", to}, {"known", false}};
        dst_mac = Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
      } else {
        to_json = {{"kind", "external"}, {"ip", to}};
        if (gateway) dst_mac = *gateway;
      }
    }
  } else if (auto mac = model::detail::parse_mac(to)) {
    const apps::LogicalPortObj* by_mac = nullptr;
    for (const auto& [k, p] : m.logical_ports())
      if (p.mac == mac && p.network == net_key) by_mac = &p;
    if (by_mac) {
      to_port(*by_mac);
    } else {
      vi.to_unknown = true;
      vi.to_what = "MAC";
      vi.to_value = mac_text(*mac);
      dst_mac = *mac;
      to_json = {{"kind", "mac"}, {"mac", mac_text(*mac)}, {"known", false}};
    }
  } else {
    return run->done(make_error(Errc::kInvalidArgument,
                                "to: '" + to + "' is no logical port, IPv4 address or MAC address"));
  }
  out["to"] = to_json;
  vi.dst_router_mac = gateway && dst_mac == *gateway;

  PacketSpec spec = default_packet(*proto, fp->mac ? *fp->mac : Mac{}, fp->ip.value_or(0), dst_mac, dst_ip);
  spec.in_port = fb->ofport;
  // (each a Result of an optional: given or not; a given 0 is honoured)
  if (*ttl) spec.ttl = static_cast<uint8_t>(**ttl);
  if (*dport && (*proto == Proto::kTcp || *proto == Proto::kUdp))
    spec.tp_dst = static_cast<uint16_t>(**dport);
  if (*sport && (*proto == Proto::kTcp || *proto == Proto::kUdp))
    spec.tp_src = static_cast<uint16_t>(**sport);
  vi.ttl = spec.ttl;
  vi.dst_mac = format_mac(spec.eth_dst);
  vi.dst_ip = format_ipv4(spec.ip_dst);
  run->packet = spec;
  out["packet"] = packet_spec_to_json(spec);

  const sw::SwitchManager* switches = deps_.switches ? deps_.switches() : nullptr;
  vi.openflow_connected = false;
  if (switches)
    if (auto it = switches->switches().find(fb->dpid); it != switches->switches().end())
      vi.openflow_connected = it->second.connected;

  ++running_;
  std::string flow = br_flow(spec);
  out["hops"].push_back({{"server", run->system_id},
                         {"bridge", fb->bridge},
                         {"arrival", {{"via", "port"}, {"port", from}, {"ofport", fb->ofport}}},
                         {"flow", flow}});
  unixctl_->call("ofproto/trace", {fb->bridge, flow}, kCallDeadline,
                 [this, alive = std::weak_ptr<bool>(alive_), run](Result<std::string> text) {
                   auto a = alive.lock();
                   if (!a || !*a) return run->done(make_error(Errc::kUnavailable, "module trace stopped"));
                   finish(run, std::move(text));
                 });
}

void TraceModule::finish(const std::shared_ptr<Run>& run, Result<std::string> text) {
  --running_;
  if (!text.ok()) {
    ++unixctl_errors_;
    return run->done(
        make_error(Errc::kUnavailable, "ofproto/trace on ovs-vswitchd failed: " + text.error().message()));
  }
  auto parsed = parse_trace(*text);
  if (!parsed.ok())
    return run->done(
        make_error(Errc::kInternal, "ofproto/trace's answer did not parse: " + parsed.error().message()));
  Walk walk = walk_trace(*parsed);
  const apps::ModelView* mp = model_now();  // (the apps' view may have gone while the trace ran)
  if (!mp) return run->done(make_error(Errc::kUnavailable, "the model view went away during the trace"));
  const apps::ModelView& m = *mp;
  const apps::AppHost* host = deps_.host ? deps_.host() : nullptr;
  const flows::FlowOwner* owner = host ? host->flow_owner(run->from.dpid) : nullptr;
  std::vector<const apps::FlowApp*> apps_list;
  if (host)
    for (const apps::FlowApp* a : host->apps()) {
      apps_list.push_back(a);
      for (auto id : a->cookie_ids()) app_names_[id] = a->name();
    }
  // (the apps' names by cookie id as last seen: with ioprocessing unloaded, a flow still names its app)
  auto app_name = [this](uint8_t id) {
    auto it = app_names_.find(id);
    return it == app_names_.end() ? std::string() : it->second;
  };
  apps::SwitchContext ctx;
  ctx.dpid = run->from.dpid;
  const apps::SwitchView* view = nullptr;
  if (auto v = run->views.find(run->from.dpid); v != run->views.end()) view = &v->second;
  ctx.view = view;
  ctx.system_id = &run->system_id;

  VerdictInput& vi = run->verdict;
  Json& hop = run->result["hops"].back();
  hop["health"] = {{"openflow", vi.openflow_connected}, {"owner_records", owner != nullptr}};
  Json steps = Json::array();
  for (const Step& step : walk.steps) {
    Annotation a = annotate_step(step, *deps_.tables, owner, app_name);
    apps::FlowFacts f;
    f.table = a.table_name;
    if (!a.partitions.empty()) f.partition = a.partitions.front();
    f.own_bits = a.own_bits;
    f.match = apps::match_fields(step.match);
    for (const auto& w : a.writes) f.writes.emplace_back(w.ovs_name, w.value);
    for (const auto& act : step.actions) f.actions += (f.actions.empty() ? "" : ",") + act;
    f.table_default = a.ownership == Ownership::kDefault;
    const apps::FlowApp* app = nullptr;
    for (const apps::FlowApp* x : apps_list)
      if (x->name() == a.app) app = x;
    std::vector<apps::ObjectRef> refs =
        f.table_default ? std::vector<apps::ObjectRef>{} : apps::explain_flow(m, ctx, f, app, apps_list);
    StepView sv{step.table,      a.table_name, a.app, f.table_default ? "" : apps::explain_text(a.app, refs),
                f.table_default, step.warnings};
    vi.steps.push_back(sv);
    Json objects = Json::array();
    for (const auto& r : refs) {
      Json o = {{"kind", r.kind}, {"id", r.id}};
      if (!r.role.empty()) o["role"] = r.role;
      if (!r.detail.empty()) o["detail"] = r.detail;
      if (!r.in_model) o["in_model"] = false;
      objects.push_back(o);
    }
    Json regs = Json::array();
    for (const auto& w : a.writes)
      regs.push_back({{"reg", w.ovs_name}, {"name", w.name}, {"value", w.value}, {"means", w.described}});
    steps.push_back({{"table", step.table},
                     {"table_name", a.table_name},
                     {"priority", step.priority},
                     {"cookie", hex(step.cookie)},
                     {"match", step.match},
                     {"no_match", step.no_match},
                     {"actions", step.actions},
                     {"default", f.table_default},
                     {"depth", step.depth},
                     {"branch", step.branch},
                     {"bridge", step.bridge},
                     {"underlay", step.underlay},
                     {"owner",
                      {{"app", a.app},
                       {"cookie_app", a.app_id},
                       {"partitions", a.partitions},
                       {"ownership", ownership_name(a.ownership)}}},
                     {"explained", sv.owner},
                     {"objects", objects},
                     {"registers", regs},
                     {"details", step.details},
                     {"warnings", step.warnings}});
  }
  hop["steps"] = std::move(steps);
  Json outputs = Json::array();
  for (const Output& o : walk.outputs) {
    OutputView ov;
    ov.kind = o.kind;
    ov.ofport = o.kind == OutputKind::kInPort ? run->from.ofport : o.ofport;
    ov.step = o.step;
    ov.effective = o.effective && !o.underlay;
    ov.details = o.details;
    ov.warnings = o.warnings;
    ov.packet = o.packet.fields;
    if (view && (o.kind == OutputKind::kPort || o.kind == OutputKind::kInPort))
      for (const auto& p : view->ports)
        if (p.ofport > 0 && static_cast<uint32_t>(p.ofport) == ov.ofport) {
          ov.iface = p.name;
          ov.iface_type = p.type;
          if (!p.iface_id.empty() && port_by_id(m, p.iface_id)) ov.port = p.iface_id;
        }
    if (o.underlay) continue;  // the tunnel's underlay bridge (br-phy): shown in the raw text
    vi.outputs.push_back(ov);
    Json j = {{"kind", output_kind_name(o.kind)},
              {"action", o.action},
              {"ofport", ov.ofport},
              {"effective", o.effective},
              {"details", o.details},
              {"warnings", o.warnings},
              {"packet", o.packet.fields},
              {"approximate", o.packet.approximate}};
    if (!ov.port.empty()) j["port"] = ov.port;
    if (!ov.iface.empty()) j["iface"] = ov.iface;
    if (!ov.iface_type.empty()) j["iface_type"] = ov.iface_type;
    // Out through a tunnel or an uplink: how it arrives on the next server (§7.3; not followed yet).
    if (view && o.effective)
      if (auto a = arrival_of(m, *view, run->system_id, o)) {
        j["arrival"] = arrival_to_json(*a);
        j["followed"] = false;
      }
    outputs.push_back(std::move(j));
  }
  hop["outputs"] = std::move(outputs);
  vi.drop = walk.drop;
  if (walk.drop)
    hop["drop"] = {{"step", walk.drop->step}, {"reason", walk.drop->reason}, {"text", walk.drop->text}};
  hop["datapath_actions"] = parsed->datapath_actions;
  hop["raw"] = run->raw ? Json(*text) : Json(nullptr);
  // The verdict's facts about why l3router has no route: the destination's subnet and whether the
  // router has an interface on it.
  if (!vi.router.empty()) {
    auto ip = model::detail::parse_ip(vi.dst_ip);
    for (const auto& [k, s] : m.subnets())
      if (ip && s.cidr && s.cidr->contains(*ip)) {
        vi.no_route_why = s.router.empty()
                              ? ": it has no interface on subnet " + apps::object_id(k, s.value) + " (" +
                                    s.cidr->text() + ") and no static route covers it"
                              : "";
        break;
      }
  }
  answer(run);
}

void TraceModule::answer(const std::shared_ptr<Run>& run) {
  Verdict v = decide(run->verdict);
  ++verdicts_[v.code_name];
  run->result["verdict"] = {
      {"outcome", v.outcome}, {"code", v.code_name}, {"server", run->system_id}, {"text", v.text}};
  run->done(run->result);
}

void add_trace_api(api::WebApi& api, std::function<TraceModule*()> module) {
  auto get = [module]() -> TraceModule* { return module ? module() : nullptr; };
  api.add("trace", "packet",
          "why can't A reach B: from=PORT to=PORT|IP|MAC [proto=icmp|tcp|udp|arp|dhcp] [dport=N] [sport=N] "
          "[ttl=N] "
          "[raw=true]: the packet's path through this node's flow tables, each step named by table, app and "
          "model "
          "object, and one verdict",
          [get](const Json& params, api::ApiDone done) {
            TraceModule* m = get();
            if (!m) return done(make_error(Errc::kUnavailable, "module trace is not loaded"));
            m->packet(params, std::move(done));
          });
  api.add("trace", "status", "the traces answered (by verdict) and running",
          [get](const Json&, api::ApiDone done) {
            TraceModule* m = get();
            if (!m) return done(make_error(Errc::kUnavailable, "module trace is not loaded"));
            done(m->status());
          });
}

}  // namespace vlcp::trace
