#include "apps/l2app.h"

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

std::string text(const Json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
// An endpoint as compared: who and where, not when.
bool same_endpoint(const Json& a, const Json& b) {
  return text(a, "systemid") == text(b, "systemid") && text(a, "bridge") == text(b, "bridge") &&
         text(a, "tunnel_src") == text(b, "tunnel_src");
}

}  // namespace

L2App::L2App(ModelView& model, db::ObjectDb& db, const pipeline::TableMap& tables, L2Settings settings,
             const Clock& clock, After after)
    : model_(model), db_(db), flows_(tables, settings), clock_(clock), after_(std::move(after)) {}

L2App::~L2App() {
  *alive_ = false;
}

void L2App::start() {
  model_.subscribe([this, alive = alive_](const ModelChange& c) {
    if (*alive) on_change(c);
  });
  model_.on_loaded.push_back([this, alive = alive_] {
    if (!*alive) return;
    for (auto& [dpid, sw] : switches_) sw.all_dirty = true;
    schedule();
  });
  if (model_.loaded()) schedule();
}

bool L2App::model_loaded() const {
  return model_.loaded();
}

void L2App::set_system_id(const std::string& id) {
  if (id == system_id_) return;
  system_id_ = id;
  for (auto& [dpid, sw] : switches_) sw.all_dirty = true;
  schedule();
}

// Which networks a change of the model touches (a port bound before its object existed: its
// network now has it; a physical network's type decides which ports serve it).
void L2App::on_change(const ModelChange& c) {
  switch (c.kind) {
    case Kind::kPhysicalNetwork:
      if (c.map) return;  // (its allocations: nothing a switch has)
      for (auto& [dpid, sw] : switches_) sw.all_dirty = true;
      break;
    case Kind::kPhysicalPort:
      for (auto& [dpid, sw] : switches_) sw.all_dirty = true;
      break;
    case Kind::kLogicalNetwork:
    case Kind::kLogicalPort:
    case Kind::kLocation:
      break;
    default:
      return;  // not a kind the L2 apps read
  }
  for (const auto& net : c.parents) network_dirty(net);
  schedule();
}

void L2App::network_dirty(const std::string& net) {
  if (!net.empty()) dirty_nets_.insert(net);
}

void L2App::schedule() {
  if (scheduled_ || !model_.loaded()) return;
  scheduled_ = true;
  after_(std::chrono::milliseconds(0), [this, alive = alive_] {
    if (!*alive) return;
    scheduled_ = false;
    recompute();
  });
}

std::optional<Network> L2App::network_of(const std::string& key) const {
  const auto& nets = model_.logical_networks();
  auto ln = nets.find(key);
  if (ln == nets.end() || !ln->second.netid) return std::nullopt;
  auto pn = model_.physical_networks().find(ln->second.physnet);
  if (pn == model_.physical_networks().end()) return std::nullopt;
  return Network{key, *ln->second.netid, pn->second.type, ln->second.segment, ln->second.physnet};
}

std::optional<uint32_t> L2App::remote_vtep(const std::string& pid) const {
  auto loc = model_.locations().find(pid);
  if (loc == model_.locations().end()) return std::nullopt;
  auto eps = loc->second.find("endpoints");
  if (eps == loc->second.end() || !eps->is_array()) return std::nullopt;
  const Json* best = nullptr;
  for (const auto& ep : *eps) {
    if (text(ep, "systemid") == system_id_) continue;
    if (!best || ep.value("updated_time", 0.0) >= best->value("updated_time", 0.0)) best = &ep;
  }
  return best ? parse_ip(text(*best, "tunnel_src")) : std::nullopt;
}

std::map<std::string, const SwitchPortInfo*> L2App::uplinks(const Switch& sw) const {
  std::map<std::string, const SwitchPortInfo*> out;
  for (const auto& p : sw.view.ports) {
    // (a logical port is one even when a physical port rule names it too)
    if (p.ofport <= 0 || p.ofport >= 0xff00 || !p.iface_id.empty()) continue;
    for (const auto& cand : model::physical_port_candidates("", system_id_, sw.view.bridge, p.name)) {
      auto pp = model_.physical_ports().find(cand);
      if (pp == model_.physical_ports().end()) continue;
      // A VXLAN physical network's port is a tunnel; a VLAN or native one's is not.
      auto pn = model_.physical_networks().find(pp->second.physnet);
      bool tunnel_net = pn != model_.physical_networks().end() && pn->second.type == "vxlan";
      if (tunnel_net != (p.type == "vxlan")) {
        VLCP_LOG_RL(kWarn, "l2", 20, 5)
            << "interface " << p.name << " (type " << (p.type.empty() ? "system" : p.type) << ") on "
            << sw.view.bridge << " is a physical port of " << pp->second.physnet << ", which "
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

Inputs L2App::inputs(uint64_t dpid) const {
  Inputs in;
  auto sit = switches_.find(dpid);
  if (sit == switches_.end()) return in;
  const Switch& sw = sit->second;
  for (const auto& p : sw.view.ports) {
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
      if (auto vtep = remote_vtep(pid)) out.push_back(RemotePort{port->second.mac, *vtep});
    }
  }
  return in;
}

L2App::Switch& L2App::switch_of(uint64_t dpid) {
  Switch& sw = switches_[dpid];
  if (!sw.owner) {
    sw.owner = std::make_unique<flows::FlowOwner>(clock_);
    Status st = sw.owner->add_app(
        kAppName, {static_cast<flows::AppId>(App::kBase), static_cast<flows::AppId>(App::kIo),
                   static_cast<flows::AppId>(App::kL2), static_cast<flows::AppId>(App::kVxlan)});
    if (!st.ok()) {  // (a fresh owner: cannot happen)
      VLCP_LOG(kError, "l2") << "registering with the flow owner: " << st.message();
    }
  }
  return sw;
}

void L2App::update_switch(uint64_t dpid, SwitchView view) {
  Switch& sw = switch_of(dpid);
  bool same = sw.have_view && sw.view.bridge == view.bridge && sw.view.ports.size() == view.ports.size();
  for (size_t i = 0; same && i < view.ports.size(); ++i) {
    const auto &a = sw.view.ports[i], &b = view.ports[i];
    same = a.name == b.name && a.type == b.type && a.iface_id == b.iface_id && a.local_ip == b.local_ip &&
           a.ofport == b.ofport;
  }
  if (same) return;
  sw.view = std::move(view);
  sw.have_view = true;
  sw.all_dirty = true;
  maybe_attach(dpid, sw);
  schedule();
}

void L2App::remove_switch(uint64_t dpid) {
  auto it = switches_.find(dpid);
  if (it == switches_.end()) return;
  it->second.have_view = false;
}

void L2App::attach(uint64_t dpid, SwitchLink* link) {
  Switch& sw = switch_of(dpid);
  sw.link = link;
  sw.attached = false;
  maybe_attach(dpid, sw);
}

void L2App::maybe_attach(uint64_t dpid, Switch& sw) {
  if (sw.attached || !sw.link || !sw.have_view || !model_.loaded()) return;
  Inputs in = inputs(dpid);
  (void)sw.owner->set_all(kAppName, flows_.all(in));  // (a refusal: counted and logged by the owner)
  sw.active = in.active_networks();
  sw.all_dirty = false;
  sw.attached = true;
  VLCP_LOG(kInfo, "l2") << "switch " << sw.view.bridge << " (dpid " << dpid << "): reconciling "
                        << in.ports.size() << " logical ports in " << sw.active.size() << " networks";
  sw.owner->attach(sw.link);
}

void L2App::detach(uint64_t dpid) {
  auto it = switches_.find(dpid);
  if (it == switches_.end()) return;
  it->second.link = nullptr;
  it->second.attached = false;
  if (it->second.owner) it->second.owner->detach();
}

const flows::FlowOwner* L2App::flow_owner(uint64_t dpid) const {
  auto it = switches_.find(dpid);
  return it == switches_.end() ? nullptr : it->second.owner.get();
}

std::vector<std::tuple<uint64_t, std::string, flows::FlowOwnerStats>> L2App::flow_owners() const {
  std::vector<std::tuple<uint64_t, std::string, flows::FlowOwnerStats>> out;
  for (const auto& [dpid, sw] : switches_)  // (bridges that never connected: not ours)
    if (sw.owner && (sw.link || sw.owner->stats().reconciles))
      out.emplace_back(dpid, sw.view.bridge, sw.owner->stats());
  return out;
}

void L2App::recompute() {
  ++stats_.recomputes;
  for (auto& [dpid, sw] : switches_) {
    if (!sw.attached) {
      maybe_attach(dpid, sw);
      continue;
    }
    Inputs in = inputs(dpid);
    if (sw.all_dirty) {
      auto all = flows_.all(in);
      stats_.partitions_recomputed += all.size();
      (void)sw.owner->set_all(kAppName, std::move(all));  // (refusals: counted, logged by the owner)
      sw.all_dirty = false;
    } else {
      (void)sw.owner->set(kAppName, kBasePartition, flows_.base(in));
      for (const auto& net : dirty_nets_) {
        (void)sw.owner->set(kAppName, net, flows_.network(in, net));
        ++stats_.partitions_recomputed;
      }
    }
    sw.active = in.active_networks();
  }
  dirty_nets_.clear();
  write_locations();
  if (on_recomputed) on_recomputed();
}

// This node's VXLAN ports' locations: an endpoint for each bound port (with the tunnel
// address), removed when the port is no longer bound here. Only from switches whose OVSDB view
// is known, so a restarting node never withdraws what it has not looked at.
void L2App::write_locations() {
  if (system_id_.empty()) return;
  std::map<std::string, Json> want;  // port id (escaped) -> endpoint
  std::set<std::string> bridges;     // bridges whose view is known
  for (const auto& [dpid, sw] : switches_) {
    if (!sw.have_view) continue;
    bridges.insert(sw.view.bridge);
    // A port is reachable here through its network's tunnel: the VXLAN physical port bound on
    // this bridge, at its local_ip. No tunnel (no physical port, or it was deleted): no location.
    auto tunnels = uplinks(sw);
    for (const auto& p : sw.view.ports) {
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
                       {"bridge", sw.view.bridge},
                       {"tunnel_src", tunnel->second->local_ip}};
    }
  }
  for (const auto& [pid, ep] : want) {
    bool present = false;
    if (auto loc = model_.locations().find(pid); loc != model_.locations().end())
      for (const auto& e : loc->second.value("endpoints", Json::array())) present |= same_endpoint(e, ep);
    if (!present) write_location(pid, ep);
  }
  for (const auto& [pid, loc] : model_.locations()) {
    if (want.count(pid)) continue;
    for (const auto& e : loc.value("endpoints", Json::array()))
      if (text(e, "systemid") == system_id_ && bridges.count(text(e, "bridge"))) {
        write_location(pid, std::nullopt);
        break;
      }
  }
}

void L2App::write_location(const std::string& pid, std::optional<Json> endpoint) {
  if (!writing_.insert(pid).second) return;
  std::string key = std::string(kLocation) + pid, port_key = std::string(kPort) + pid;
  std::string sid = system_id_;
  ++stats_.location_writes;
  db_.transact(
      {key, port_key},
      [key, sid, endpoint](const std::vector<std::string>&, const std::vector<std::optional<Json>>& v,
                           int64_t ts) -> Result<std::vector<std::pair<std::string, std::optional<Json>>>> {
        std::vector<std::pair<std::string, std::optional<Json>>> w;
        if (!v[1]) return w;  // the port is gone (its deletion removed the location too)
        Json eps = Json::array();
        if (v[0])
          for (const auto& e : v[0]->value("endpoints", Json::array()))
            if (!(text(e, "systemid") == sid &&
                  (!endpoint || text(e, "bridge") == text(*endpoint, "bridge"))))
              eps.push_back(e);
        if (endpoint) {
          Json e = *endpoint;
          e["updated_time"] = static_cast<double>(ts) / 1e6;
          eps.push_back(e);
        }
        if (eps.empty())
          w.emplace_back(key, std::nullopt);
        else
          w.emplace_back(key, Json{{"id", text(*v[1], "id")}, {"endpoints", eps}});
        return w;
      },
      [this, pid, alive = alive_](Result<db::TxnResult> r) {
        if (!*alive) return;
        writing_.erase(pid);
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

std::vector<std::vector<uint8_t>> L2App::packet_in(uint64_t dpid, ByteSpan message) {
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
  auto sit = switches_.find(dpid);
  std::string net;
  for (const auto& [key, n] : model_.logical_networks())
    if (n.netid == netid) net = key;
  uint32_t tunnel = 0;
  std::set<std::string> local;  // ports bound on this switch (escaped ids)
  if (sit != switches_.end()) {
    for (const auto& sp : sit->second.view.ports)
      if (!sp.iface_id.empty()) local.insert(db::escape_key_part(sp.iface_id));
    auto n = network_of(net);
    auto tunnels = uplinks(sit->second);
    if (auto t = n ? tunnels.find(n->physnet) : tunnels.end(); t != tunnels.end())
      tunnel = static_cast<uint32_t>(t->second->ofport);
  }
  std::optional<uint32_t> vtep;
  for (const auto& pid : model_.ports_of(net)) {
    auto port = model_.logical_ports().find(pid);
    if (port == model_.logical_ports().end() || port->second.mac != dst || local.count(pid)) continue;
    vtep = remote_vtep(pid);
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

Json L2App::status() const {
  Json out = Json::object();
  out["system_id"] = system_id_;
  out["model_loaded"] = model_.loaded();
  out["logical_networks"] = model_.logical_networks().size();
  out["logical_ports"] = model_.logical_ports().size();
  Json ids = Json::array();  // the model's ports (ids as stored in keys)
  for (const auto& [pid, p] : model_.logical_ports()) ids.push_back(pid);
  out["logical_port_ids"] = std::move(ids);
  out["watched_keys"] = db_.mirror_size();  // what this node mirrors from ObjectDB
  out["versions_kept"] = model_.versions_kept();
  Json sws = Json::array();
  for (const auto& [dpid, sw] : switches_) {
    Inputs in = inputs(dpid);
    const flows::FlowOwnerStats& s = sw.owner->stats();
    Json apps = Json::object();  // each app's share of the switch (cookie app ids)
    for (const auto& [name, a] : s.apps)
      apps[name] = {{"installed_flows", a.installed_flows},
                    {"installed_groups", a.installed_groups},
                    {"reconcile_found_flows", a.reconcile_found_flows},
                    {"refused", a.refused}};
    Json bound = Json::array();  // logical port ids bound here
    for (const auto& [ofport, p] : in.ports) bound.push_back(p.id);
    sws.push_back({{"dpid", dpid},
                   {"bridge", sw.view.bridge},
                   {"connected", sw.link != nullptr},
                   {"attached", sw.attached},
                   {"logical_ports", in.ports.size()},
                   {"bound_ports", bound},
                   {"networks", in.active_networks().size()},
                   {"uplinks", in.uplinks},
                   {"synced", s.synced},
                   {"installed_flows", s.installed_flows},
                   {"installed_groups", s.installed_groups},
                   {"flow_mods", s.flow_mods},
                   {"group_mods", s.group_mods},
                   {"bundles", s.bundles},
                   {"reconciles", s.reconciles},
                   {"last_reconcile_seconds", s.last_reconcile_seconds},
                   {"last_reconcile_flow_mods", s.last_reconcile_flow_mods},
                   {"errors", s.errors},
                   {"refused", s.refused},
                   {"reconcile_unowned_flows", s.reconcile_unowned_flows},
                   {"apps", std::move(apps)}});
  }
  out["switches"] = sws;
  return out;
}

}  // namespace vlcp::apps
