#include "apps/l2/l2app.h"

#include "apps/explain.h"
#include "apps/l2/l2_learning.h"
#include "apps/registry.h"

#include "base/buffer.h"
#include "base/log.h"
#include "db/store.h"
#include "model/viperflow.h"
#include "ofp/errors.h"
#include "ofp/message.h"
#include "schema/kinds.h"

namespace vlcp::apps {

using Json = nlohmann::json;

namespace {

using schema::Kind;
constexpr std::string_view kPort = schema::kind(Kind::kLogicalPort).key_prefix,
                           kLocation = schema::kind(Kind::kLocation).key_prefix;

// A location's endpoints as the nodes write them: objects only. A malformed record (written by
// hand, restored from a dump) is skipped, never thrown on: every node reads every location.
std::vector<const Json*> endpoints(const Json& location) {
  std::vector<const Json*> out;
  if (!location.is_object()) return out;
  auto it = location.find("endpoints");
  if (it == location.end() || !it->is_array()) return out;
  for (const auto& e : *it)
    if (e.is_object()) out.push_back(&e);
  return out;
}
double updated_time(const Json& endpoint) {
  auto it = endpoint.find("updated_time");
  return it != endpoint.end() && it->is_number() ? it->get<double>() : 0.0;
}
// An endpoint as compared: who and where, not when.
bool same_endpoint(const Json& a, const Json& b) {
  return text_field(a, "systemid") == text_field(b, "systemid") &&
         text_field(a, "bridge") == text_field(b, "bridge") &&
         text_field(a, "tunnel_src") == text_field(b, "tunnel_src");
}

}  // namespace

L2App::L2App(const ModelView& model, db::ObjectDb& db, const pipeline::TableMap& tables, L2Settings settings,
             After after)
    : model_(model), db_(db), flows_(tables, settings), after_(std::move(after)) {}

L2App::~L2App() {
  *alive_ = false;
}

std::set<flows::AppId> L2App::cookie_ids() const {
  return {static_cast<flows::AppId>(App::kBase), static_cast<flows::AppId>(App::kIo),
          static_cast<flows::AppId>(App::kL2), static_cast<flows::AppId>(App::kVxlan)};
}

std::map<std::string, flows::Desired> L2App::compute(const ModelView&, const SwitchContext& sw) const {
  return flows_.all(inputs(sw));
}

std::map<std::string, flows::Desired> L2App::compute(const ModelView&, const SwitchContext& sw,
                                                     const std::set<std::string>& partitions) const {
  Inputs in = inputs(sw);  // (once for every partition: remote ports' lookups are not cheap)
  std::map<std::string, flows::Desired> out;
  for (const auto& p : partitions) out[p] = p == kBasePartition ? flows_.base(in) : flows_.network(in, p);
  return out;
}

// Which networks a change of the model touches (a port bound before its object existed: its
// network now has it); a physical network's type and the physical ports decide which ports
// serve which network: the whole switch.
Dirty L2App::on_model(const ModelView& model, const ModelChange& c) const {
  switch (c.kind) {
    case Kind::kPhysicalNetwork:
      return c.map ? Dirty::nothing() : Dirty::everything();  // (its map: allocations only)
    case Kind::kPhysicalPort:
    // Which networks a switch routes into (Inputs::routed) follows subnets, routers and their
    // interfaces; rare changes: the whole switch.
    case Kind::kSubnet:
    case Kind::kRouter:
    case Kind::kRouterInterface:
      return Dirty::everything();
    // A network's ports decide which networks its routers bring to a switch (Inputs::routed).
    case Kind::kLogicalNetwork:
    case Kind::kLogicalPort:
      return Dirty::networks(model.with_router_neighbours(c.parents));
    case Kind::kLocation:
      return Dirty::networks(c.parents);
    default:
      return Dirty::nothing();
  }
}

// A port bound or unbound: its network, and the networks its routers bring to the switch once it
// has a port there (Inputs::routed); the tunnel, an uplink or another bridge: the whole switch.
Dirty L2App::on_switch(const ModelView& model, const SwitchContext& sw) const {
  auto nets = binding_networks(model, sw);
  return nets ? Dirty::networks(model.with_router_neighbours(*nets)) : Dirty::everything();
}

void L2App::after_round(const std::vector<SwitchContext>& switches) {
  views_.clear();
  for (const auto& sw : switches) {
    views_.emplace_back(sw.dpid, *sw.view);
    system_id_ = *sw.system_id;
  }
  write_locations();
}

std::optional<Network> L2App::network_of(const std::string& key) const {
  const auto& nets = model_.logical_networks();
  auto ln = nets.find(key);
  if (ln == nets.end() || !ln->second.netid) return std::nullopt;
  auto pn = model_.physical_networks().find(ln->second.physnet);
  if (pn == model_.physical_networks().end()) return std::nullopt;
  return Network{key, *ln->second.netid, pn->second.type, ln->second.segment, ln->second.physnet};
}

std::optional<uint32_t> L2App::remote_vtep(const std::string& system_id, const std::string& pid) const {
  auto loc = model_.locations().find(pid);
  if (loc == model_.locations().end()) return std::nullopt;
  const Json* best = nullptr;
  for (const Json* ep : endpoints(loc->second)) {
    if (text_field(*ep, "systemid") == system_id) continue;
    if (!best || updated_time(*ep) >= updated_time(*best)) best = ep;
  }
  return best ? parse_ip(text_field(*best, "tunnel_src")) : std::nullopt;
}

std::map<std::string, const SwitchPortInfo*> L2App::uplinks(const SwitchContext& sw) const {
  return physical_ports_on(model_, sw);
}

std::map<std::string, const SwitchPortInfo*> physical_ports_on(const ModelView& model_,
                                                               const SwitchContext& sw) {
  std::map<std::string, const SwitchPortInfo*> out;
  for (const auto& p : sw.view->ports) {
    // (a logical port is one even when a physical port rule names it too)
    if (p.ofport <= 0 || p.ofport >= 0xff00 || !p.iface_id.empty()) continue;
    for (const auto& cand : model::physical_port_candidates("", *sw.system_id, sw.view->bridge, p.name)) {
      auto pp = model_.physical_ports().find(cand);
      if (pp == model_.physical_ports().end()) continue;
      // A VXLAN physical network's port is a tunnel; a VLAN or native one's is not.
      auto pn = model_.physical_networks().find(pp->second.physnet);
      bool tunnel_net = pn != model_.physical_networks().end() && pn->second.type == "vxlan";
      if (tunnel_net != (p.type == "vxlan")) {
        VLCP_LOG_RL(kWarn, "l2", 20, 5)
            << "interface " << p.name << " (type " << (p.type.empty() ? "system" : p.type) << ") on "
            << sw.view->bridge << " is a physical port of " << pp->second.physnet << ", which "
            << (tunnel_net ? "needs a vxlan interface (remote_ip=flow, key=flow)"
                           : "is not a VXLAN network: a tunnel cannot serve it")
            << "; not used";
        break;
      }
      out.emplace(pp->second.physnet, &p);  // the first port of a physical network serves it
      break;
    }
  }
  return out;
}

Inputs L2App::inputs(const SwitchContext& sw) const {
  Inputs in;
  for (const auto& p : sw.view->ports) {
    if (p.ofport <= 0 || p.ofport >= 0xff00 || p.iface_id.empty()) continue;
    uint32_t ofport = static_cast<uint32_t>(p.ofport);
    auto it = model_.logical_ports().find(db::escape_key_part(p.iface_id));
    if (it == model_.logical_ports().end()) continue;
    if (auto n = network_of(it->second.network)) {
      in.networks.emplace(n->key, *n);
      in.ports[ofport] = LocalPort{it->second.id, it->second.network, ofport, it->second.mac};
    }
  }
  for (const auto& [physnet, p] : uplinks(sw)) in.uplinks[physnet] = static_cast<uint32_t>(p->ofport);
  // The networks the routers of this switch's networks reach.
  std::map<std::string, std::set<std::string>> router_nets;  // router key -> its networks
  for (const auto& [key, i] : model_.router_interfaces()) {
    std::string net = model_.network_of_subnet(i.subnet);
    if (!net.empty()) router_nets[i.router].insert(net);
  }
  std::set<std::string> here;
  for (const auto& [key, n] : in.networks) here.insert(key);
  for (const auto& [router, nets] : router_nets) {
    bool serves = false;
    for (const auto& net : nets) serves |= here.count(net) > 0;
    if (!serves) continue;
    for (const auto& net : nets)
      if (!here.count(net))
        if (auto n = network_of(net)) {
          in.networks.emplace(n->key, *n);
          in.routed.insert(net);
        }
  }
  // Remote ports of this switch's VXLAN networks.
  std::set<std::string> local_ids;
  for (const auto& [ofport, p] : in.ports) local_ids.insert(p.id);
  for (const auto& [key, n] : in.networks) {
    if (n.type != "vxlan") continue;
    const auto& members = model_.ports_of(key);
    if (members.empty()) continue;
    std::vector<RemotePort>& out = in.remote[key];
    for (const auto& pid : members) {
      auto port = model_.logical_ports().find(pid);
      if (port == model_.logical_ports().end() || local_ids.count(port->second.id)) continue;
      if (auto vtep = remote_vtep(*sw.system_id, pid)) out.push_back(RemotePort{port->second.mac, *vtep});
    }
  }
  return in;
}

// This node's VXLAN ports' locations: an endpoint for each bound port (with the tunnel
// address), removed when the port is no longer bound here. Only from switches whose OVSDB view
// is known, so a restarting node never withdraws what it has not looked at. The hosted-ports
// index finds the endpoints this node published for ports its view does not hold (a port
// unbound or moved while vlcpd was down, in a network this node no longer follows).
void L2App::write_locations() {
  if (system_id_.empty()) return;
  if (hosted_for_ != system_id_) {  // first round, or OVS's system-id changed
    hosted_.clear();
    hosted_for_ = system_id_;
    hosted_listed_ = hosted_listing_ = false;
  }
  if (!hosted_listed_) list_hosted();
  std::map<std::string, Json> want;  // port id (escaped) -> endpoint
  std::set<std::string> bridges;     // bridges whose view is known
  for (const auto& [dpid, view] : views_) {
    bridges.insert(view.bridge);
    // A port is reachable here through its network's tunnel: the VXLAN physical port bound on
    // this bridge, at its local_ip. No tunnel (no physical port, or it was deleted): no location.
    auto tunnels = uplinks(SwitchContext{dpid, &view, &system_id_});
    for (const auto& p : view.ports) {
      if (p.iface_id.empty() || p.ofport <= 0) continue;
      std::string pid = db::escape_key_part(p.iface_id);
      auto port = model_.logical_ports().find(pid);
      if (port == model_.logical_ports().end()) continue;
      auto n = network_of(port->second.network);
      if (!n || n->type != "vxlan") continue;
      auto tunnel = tunnels.find(n->physnet);
      if (tunnel == tunnels.end() || !parse_ip(tunnel->second->local_ip)) continue;
      want[pid] = Json{{"vhost", ""},
                       {"systemid", system_id_},
                       {"bridge", view.bridge},
                       {"tunnel_src", tunnel->second->local_ip}};
    }
  }
  for (const auto& [pid, ep] : want) {
    bool present = false;
    if (auto loc = model_.locations().find(pid); loc != model_.locations().end())
      for (const Json* e : endpoints(loc->second)) present |= same_endpoint(*e, ep);
    if (!present) write_location(pid, ep);
  }
  for (const auto& [pid, loc] : model_.locations()) {
    if (want.count(pid)) continue;
    for (const Json* e : endpoints(loc))
      if (text_field(*e, "systemid") == system_id_ && bridges.count(text_field(*e, "bridge"))) {
        write_location(pid, std::nullopt);
        break;
      }
  }
  if (!hosted_listed_) return;
  std::set<std::string> bound;  // ports bound on the known switches, whether read yet or not
  for (const auto& [dpid, view] : views_)
    for (const auto& p : view.ports)
      if (!p.iface_id.empty()) bound.insert(db::escape_key_part(p.iface_id));
  std::vector<std::string> stale;
  for (const auto& [pid, bridge] : hosted_)
    if (!want.count(pid) && !bound.count(pid) && bridges.count(bridge)) stale.push_back(pid);
  for (const auto& pid : stale) write_location(pid, std::nullopt);
}

std::string L2App::hosted_key(const std::string& pid) const {
  return std::string(schema::kHostedPrefix) + db::escape_key_part(system_id_) + "." + pid;
}

void L2App::list_hosted() {
  if (hosted_listing_) return;
  hosted_listing_ = true;
  std::string prefix = hosted_key("");
  auto retry = [this, alive = alive_] {
    hosted_listing_ = false;
    after_(std::chrono::seconds(1), [this, alive] {
      if (*alive) write_locations();
    });
  };
  db_.list(
      prefix, [this, prefix, retry, sid = system_id_, alive = alive_](Result<std::vector<std::string>> keys) {
        if (!*alive || sid != hosted_for_) return;
        if (!keys.ok()) return retry();
        db_.get(*keys, [this, prefix, retry, sid, alive](Result<std::map<std::string, db::Record>> recs) {
          if (!*alive || sid != hosted_for_) return;
          if (!recs.ok()) return retry();
          for (const auto& [key, rec] : *recs)
            if (rec.value && key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0)
              hosted_.emplace(key.substr(prefix.size()), text_field(*rec.value, "bridge"));
          hosted_listed_ = true;
          write_locations();
        });
      });
}

void L2App::write_location(const std::string& pid, std::optional<Json> endpoint) {
  if (!writing_.insert(pid).second) return;
  std::string key = std::string(kLocation) + pid, port_key = std::string(kPort) + pid;
  std::string sid = system_id_, hosted = hosted_key(pid);
  ++stats_.location_writes;
  db_.transact(
      {key, port_key, hosted},
      [key, sid, hosted, endpoint](
          const std::vector<std::string>&, const std::vector<std::optional<Json>>& v,
          int64_t ts) -> Result<std::vector<std::pair<std::string, std::optional<Json>>>> {
        std::vector<std::pair<std::string, std::optional<Json>>> w;
        // The index entry goes with this node's endpoint (with the port: its deletion removed the
        // location too).
        std::optional<Json> entry;
        if (v[1] && endpoint) entry = Json{{"bridge", text_field(*endpoint, "bridge")}};
        if (entry != v[2]) w.emplace_back(hosted, entry);
        if (!v[1]) return w;
        Json eps = Json::array();
        if (v[0])
          for (const Json* e : endpoints(*v[0]))
            if (!(text_field(*e, "systemid") == sid &&
                  (!endpoint || text_field(*e, "bridge") == text_field(*endpoint, "bridge"))))
              eps.push_back(*e);
        if (endpoint) {
          Json e = *endpoint;
          e["updated_time"] = static_cast<double>(ts) / 1e6;
          eps.push_back(e);
        }
        if (eps.empty())
          w.emplace_back(key, std::nullopt);
        else
          w.emplace_back(key, Json{{"id", text_field(*v[1], "id")}, {"endpoints", eps}});
        return w;
      },
      [this, pid, hosted, sid, endpoint, alive = alive_](Result<db::TxnResult> r) {
        if (!*alive) return;
        writing_.erase(pid);
        if (r.ok() && sid == hosted_for_) {
          auto w = r->written.find(hosted);
          if (w != r->written.end() ? w->second.value.has_value() : endpoint.has_value())
            hosted_[pid] = text_field(*endpoint, "bridge");
          else
            hosted_.erase(pid);
        }
        if (!r.ok()) {
          ++stats_.location_failures;
          VLCP_LOG_RL(kWarn, "l2", 20, 5)
              << "publishing the location of port " << pid << ": " << r.error().message();
          after_(std::chrono::seconds(1), [this, alive] {
            if (*alive) write_locations();
          });
        }
      });
}

std::vector<std::vector<uint8_t>> L2App::packet_in(const SwitchContext& sw, ByteSpan message) {
  const uint64_t dpid = sw.dpid;
  std::vector<std::vector<uint8_t>> out;
  auto frame = ofp::decode_frame(message);
  if (!frame.ok() || frame->header.type != ofp::MsgType::kPacketIn) return out;
  auto p = ofp::decode_packet_in(*frame);
  if (!p.ok()) {
    VLCP_LOG_RL(kWarn, "l2", 20, 5) << "a PACKET_IN from datapath " << dpid
                                    << " does not decode: " << ofp::error_name(p.error());
    return out;
  }
  if (p->data.size() < 14 || (p->cookie >> 48 & 0xff) != static_cast<uint64_t>(App::kVxlan)) return out;
  uint32_t in_port = 0, netid = 0;
  p->match.for_each([&](const ofp::OxmEntry& e) {
    if (e.info && e.info->field == ofp::Field::kInPort) in_port = static_cast<uint32_t>(e.value_u64());
    if (e.info && e.info->field == kRegOutNet) netid = static_cast<uint32_t>(e.value_u64());
  });
  ++stats_.first_packets;
  Mac dst;
  std::copy(p->data.begin(), p->data.begin() + 6, dst.begin());
  // The destination in the model: a port of this network with this MAC, bound on another node
  // (this network's members only: first packets are a hot path).
  std::string net;
  for (const auto& [key, n] : model_.logical_networks())
    if (n.netid == netid) net = key;
  uint32_t tunnel = 0;
  std::set<std::string> local;  // ports bound on this switch (escaped ids)
  for (const auto& sp : sw.view->ports)
    if (!sp.iface_id.empty()) local.insert(db::escape_key_part(sp.iface_id));
  auto n = network_of(net);
  auto tunnels = uplinks(sw);
  if (auto t = n ? tunnels.find(n->physnet) : tunnels.end(); t != tunnels.end())
    tunnel = static_cast<uint32_t>(t->second->ofport);
  std::optional<uint32_t> vtep;
  for (const auto& pid : model_.ports_of(net)) {
    auto port = model_.logical_ports().find(pid);
    if (port == model_.logical_ports().end() || port->second.mac != dst || local.count(pid)) continue;
    vtep = remote_vtep(*sw.system_id, pid);
  }
  if (!vtep || !tunnel || !flows_.tables().id("vxlanoutput")) {
    ++stats_.first_packet_misses;
    return out;
  }
  ofp::FlowMod f = flows_.remote_mac_flow(netid, dst, *vtep, tunnel);
  f.cookie |= kCookieDynamic;  // learned on demand: the flow owner leaves it alone
  f.idle_timeout = flows_.settings().push_timeout;
  out.push_back(encoded([&](Buffer& b) { ofp::encode_flow_mod(b, 0, f); }));
  // The frame itself goes through the tables again (after the flow: a switch applies in order).
  ofp::PacketOut po;
  po.buffer_id = p->buffer_id;
  po.in_port = in_port;
  po.actions.output(ofp::kPortTable);
  if (p->buffer_id == ofp::kNoBuffer) po.data = p->data;
  out.push_back(encoded([&](Buffer& b) { ofp::encode_packet_out(b, 0, po); }));
  return out;
}

void L2App::packet_in(flows::AppId app_id, const SwitchContext& sw, ByteSpan message, Buffer& answers) {
  if (app_id != static_cast<flows::AppId>(App::kVxlan)) return;
  for (const auto& a : packet_in(sw, message)) answers.append(a);
}

Json L2App::status(const ModelView& model) const {
  Json out = Json::object();
  out["logical_networks"] = model.logical_networks().size();
  out["logical_ports"] = model.logical_ports().size();
  Json ids = Json::array();  // the model's ports (ids as stored in keys)
  for (const auto& [pid, p] : model.logical_ports()) ids.push_back(pid);
  out["logical_port_ids"] = std::move(ids);
  out["watched_keys"] = db_.mirror_size();  // what this node mirrors from ObjectDB
  return out;
}

Json L2App::switch_status(const ModelView&, const SwitchContext& sw) const {
  Inputs in = inputs(sw);
  Json bound = Json::array();  // logical port ids bound here
  for (const auto& [ofport, p] : in.ports) bound.push_back(p.id);
  return {{"logical_ports", in.ports.size()},
          {"bound_ports", std::move(bound)},
          {"networks", in.active_networks().size()},
          {"uplinks", in.uplinks}};
}

std::vector<AppMetric> L2App::metrics() const {
  return {{"vlcp_l2_first_packets_total",
           "First packets looked up in the model (VXLAN).",
           {},
           static_cast<double>(stats_.first_packets)},
          {"vlcp_l2_first_packet_misses_total",
           "First packets whose destination the model does not place.",
           {},
           static_cast<double>(stats_.first_packet_misses)},
          {"vlcp_l2_location_writes_total",
           "VXLAN port locations published.",
           {},
           static_cast<double>(stats_.location_writes)},
          {"vlcp_l2_location_failures_total",
           "VXLAN port location writes that failed (retried).",
           {},
           static_cast<double>(stats_.location_failures)}};
}

// --- registration ---------------------------------------------------------------------------------

namespace {

class L2Spec final : public AppSpec {
 public:
  L2Spec(L2Settings settings, std::optional<L2LearningConfig> learning)
      : settings_(settings), learning_(std::move(learning)) {}
  // Controller learning on the workers (a pure function of the message); first packets to a
  // remote MAC on the control thread (they read the model).
  std::vector<PacketInDecl> packet_ins() const override {
    std::vector<PacketInDecl> out;
    if (learning_)
      out.push_back(
          {static_cast<flows::AppId>(App::kL2), true, "l2switch learning",
           [c = *learning_](uint64_t, ByteSpan message, Buffer& answers) { l2_learn(c, message, answers); }});
    if (settings_.vxlan_first_packet())
      out.push_back({static_cast<flows::AppId>(App::kVxlan), false, "vxlancast first packet", {}});
    return out;
  }
  std::unique_ptr<FlowApp> make(const AppEnv& env) const override {
    return std::make_unique<L2App>(env.model, env.db, env.tables, settings_, env.after);
  }

 private:
  L2Settings settings_;
  std::optional<L2LearningConfig> learning_;
};

Result<std::shared_ptr<const AppSpec>> configure(const Config& config,
                                                 const pipeline::PipelineSettings& pipeline) {
  VLCP_ASSIGN_OR_RETURN(L2Settings settings, read_l2_settings(config));
  std::optional<L2LearningConfig> learning;
  if (settings.l2 == L2Strategy::kControllerLearn) {  // its handler needs the l2switch tables
    auto c = l2_learning_config(pipeline.tables, settings.learn_timeout);
    if (!c.ok()) return config.error_at("module.openflowmanager.apps", c.error().message());
    learning = *c;
  }
  return std::shared_ptr<const AppSpec>(std::make_shared<L2Spec>(settings, std::move(learning)));
}

}  // namespace

VLCP_REGISTER_APP(AppRegistration{
    L2App::kAppName, {"ioprocessing", "l2switch", "vxlancast"}, {VLCP_L2_KEYS(VLCP_APP_KEY)}, configure});

std::vector<ObjectRef> L2App::explain(const ModelView&, const SwitchContext&, const FlowFacts& f) const {
  if (f.partition != std::string(kAppName) + "/" + kBasePartition) return {};
  auto matches = [&](const char* field) {
    for (const auto& [k, v] : f.match)
      if (k == field) return true;
    return false;
  };
  auto rule = [](const char* id, const char* detail) {
    return std::vector<ObjectRef>{{"rule", id, "", detail, false}};
  };
  if (f.table == "l2input" && matches("dl_src"))
    return rule("multicast-source", "a frame from a multicast source is invalid: dropped");
  if (f.table == "l2input" && matches("dl_dst"))
    return rule("link-local", "802.1D link-local frames (STP, pause, LACP) stay local: dropped");
  if (f.table == "l2input") return rule("learning", "each source is learned (by OVS or by vlcpd), then on");
  if (f.table == "l2output" && matches("dl_dst"))
    return rule("flood", "broadcast and multicast are flooded in the network (out_port stays 0)");
  if (f.table == "l2output") return rule("lookup", "a unicast destination is looked up in what was learned");
  return {};
}

}  // namespace vlcp::apps
