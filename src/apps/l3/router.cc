#include "apps/l3/router.h"

#include "apps/l2/l2.h"
#include "apps/l2/l2app.h"
#include "apps/registry.h"
#include "base/log.h"
#include "db/store.h"
#include "ofp/errors.h"
#include "ofp/message.h"
#include "ofp/packet.h"

namespace vlcp::apps {

using Json = nlohmann::json;
using model::detail::Cidr;
using model::detail::Mac;
using ofp::ActionList;
using ofp::Field;
using ofp::InstructionList;
using ofp::Match;
using schema::Kind;

namespace {

constexpr uint16_t kP = 0x8000;         // VLCP's "P"
constexpr uint16_t kLearnedIdle = 60;   // seconds a host flow installed for a first packet idles
constexpr uint16_t kLearnedHard = 300;  // and lives at most (then resolved again: a re-created host is found)
constexpr uint16_t kEthTypeIpv4 = 0x0800;
const char* const kNetPrefix = "net/";
const char* const kHostsPrefix = "hosts/";

Match eth_dst(const Mac& mac) {
  Match m;
  m.add_eth(Field::kEthDst, *reinterpret_cast<const uint8_t(*)[6]>(mac.data()));
  return m;
}
ActionList& set_mac(ActionList& a, Field f, const Mac& mac) {
  return a.set_field_bytes(f, ByteSpan(mac.data(), mac.size()));
}
bool starts(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

L3Router::L3Router(const ModelView& model, const pipeline::TableMap& tables, L3Settings settings)
    : model_(model), tables_(tables), settings_(settings) {}

std::set<schema::Kind> L3Router::reads() const {
  return {Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kPhysicalPort,   Kind::kLogicalPort,
          Kind::kSubnet,          Kind::kRouter,         Kind::kRouterInterface};
}

L3Router::Inputs L3Router::inputs(const SwitchContext& sw) const {
  Inputs in;
  std::set<std::string> here;  // networks with a port on this switch
  for (const auto& p : sw.view->ports) {
    if (p.ofport <= 0 || p.ofport >= 0xff00 || p.iface_id.empty()) continue;
    std::string pid = db::escape_key_part(p.iface_id);
    auto it = model_.logical_ports().find(pid);
    if (it == model_.logical_ports().end()) continue;
    in.local_ports.insert(pid);
    here.insert(it->second.network);
  }
  // Every router's interfaces on internal subnets of known networks.
  std::map<std::string, std::vector<std::pair<std::string, Cidr>>> routers;
  for (const auto& [key, i] : model_.router_interfaces()) {
    auto s = model_.subnets().find(i.subnet);
    if (s == model_.subnets().end() || s->second.external || !s->second.cidr) continue;
    auto n = model_.logical_networks().find(s->second.network);
    if (n == model_.logical_networks().end() || !n->second.netid) continue;
    routers[i.router].emplace_back(s->second.network, *s->second.cidr);
  }
  auto ways_out = physical_ports_on(model_, sw);
  for (auto& [router, ifaces] : routers) {
    bool serves = false;
    for (const auto& [net, cidr] : ifaces) serves |= here.count(net) > 0;
    if (!serves) continue;
    for (const auto& [net, cidr] : ifaces) {
      if (in.nets.count(net)) continue;
      const LogicalNetworkObj& n = model_.logical_networks().at(net);
      Net info{net, *n.netid, std::nullopt};
      if (auto out = ways_out.find(n.physnet); out != ways_out.end())
        if (auto mac = model::detail::parse_mac(out->second->mac)) {
          for (size_t b = 0; b < 6; ++b) (*mac)[b] ^= settings_.out_mask[b];
          info.out_mac = *mac;
        }
      in.nets.emplace(net, info);
      if (here.count(net)) in.from.insert(net);
    }
    in.routers[router] = std::move(ifaces);
  }
  return in;
}

std::vector<L3Router::Host> L3Router::hosts_of(const Inputs& in, const std::string& net) const {
  std::vector<Host> out;
  for (const auto& pid : model_.ports_of(net)) {
    auto p = model_.logical_ports().find(pid);
    if (p == model_.logical_ports().end() || !p->second.ip || !p->second.mac) continue;
    out.push_back(Host{*p->second.ip, *p->second.mac, in.local_ports.count(pid) > 0});
  }
  return out;
}

std::optional<ofp::FlowMod> L3Router::host_flow(const Inputs& in, const std::string& to,
                                                const Host& h) const {
  auto l3output = tables_.id("l3output"), l2output = tables_.id("l2output");
  auto n = in.nets.find(to);
  if (!l3output || !l2output || n == in.nets.end()) return std::nullopt;
  ofp::FlowMod f;
  f.table_id = *l3output;
  f.priority = kP + 1;
  f.cookie = flows::cookie(kL3AppId, n->second.netid);
  f.match =
      Match().add(Field::kEthType, kEthTypeIpv4).add(kRegOutNet, n->second.netid).add(Field::kIpv4Dst, h.ip);
  // A local host sees the router MAC; one on another server gets the frame from this server's own
  // router MAC on that network (one MAC per server for switches and VXLAN learning to see).
  const Mac& src = h.local || !n->second.out_mac ? settings_.router_mac : *n->second.out_mac;
  ActionList a;
  set_mac(a, Field::kEthSrc, src);
  set_mac(a, Field::kEthDst, h.mac);
  a.dec_ttl();
  f.instructions.apply_actions(a).goto_table(*l2output);
  return f;
}

flows::Desired L3Router::base() const {
  flows::Desired d;
  auto l3output = tables_.id("l3output");
  if (!settings_.prepush && l3output) {
    // A routed packet to a host with no flow here: the controller resolves it (control thread).
    ofp::FlowMod f;
    f.table_id = *l3output;
    f.priority = 0;
    f.cookie = flows::cookie(kL3AppId, 0);
    f.instructions.apply_actions(ActionList().output(ofp::kPortController, 0xffff));
    pipeline::put_flow(d.flows, f);
  }
  return d;
}

flows::Desired L3Router::from_network(const Inputs& in, const std::string& net) const {
  flows::Desired d;
  auto l3input = tables_.id("l3input"), l3router = tables_.id("l3router"), l3output = tables_.id("l3output"),
       l2output = tables_.id("l2output");
  auto n = in.nets.find(net);
  if (!in.from.count(net) || n == in.nets.end() || !l3input || !l3router || !l3output || !l2output) return d;
  const uint32_t from = n->second.netid;
  const uint64_t ck = flows::cookie(kL3AppId, from);
  auto put = [&](uint8_t table, uint16_t priority, Match m, InstructionList i) {
    ofp::FlowMod f;
    f.table_id = table;
    f.priority = priority;
    f.cookie = ck;
    f.match = std::move(m);
    f.instructions = std::move(i);
    pipeline::put_flow(d.flows, f);
  };
  // Into the router: IPv4 to the router MAC.
  put(*l3input, kP, eth_dst(settings_.router_mac).add(Field::kEthType, kEthTypeIpv4).add(kRegInNet, from),
      InstructionList().goto_table(*l3router));
  for (const auto& [router, ifaces] : in.routers) {
    bool attached = false;
    for (const auto& [inet, cidr] : ifaces) attached |= inet == net;
    if (!attached) continue;
    // Each interface's subnet: the longest prefix wins by priority.
    for (const auto& [to, cidr] : ifaces) {
      auto t = in.nets.find(to);
      if (t == in.nets.end()) continue;
      put(*l3router, static_cast<uint16_t>(kP + cidr.prefix),
          Match()
              .add(Field::kEthType, kEthTypeIpv4)
              .add(kRegInNet, from)
              .add_masked(Field::kIpv4Dst, cidr.network, cidr.mask()),
          InstructionList()
              .apply_actions(ActionList().set_field(kRegOutNet, t->second.netid))
              .goto_table(*l3output));
    }
    // Static routes through a nexthop the model places in one of the router's subnets.
    auto r = model_.routers().find(router);
    if (r == model_.routers().end()) continue;
    for (const auto& [prefix, nexthop] : r->second.routes) {
      std::optional<Host> nh;
      std::string to;
      for (const auto& [inet, cidr] : ifaces) {
        if (!cidr.contains(nexthop)) continue;
        for (const Host& h : hosts_of(in, inet))
          if (h.ip == nexthop) nh = h, to = inet;
      }
      if (!nh) continue;  // (not resolved: the route falls to a shorter prefix)
      auto f = host_flow(in, to, *nh);
      if (!f) continue;
      Match m = Match().add(Field::kEthType, kEthTypeIpv4).add(kRegInNet, from);
      if (prefix.prefix) m.add_masked(Field::kIpv4Dst, prefix.network, prefix.mask());
      ActionList a;
      a.set_field(kRegOutNet, in.nets.at(to).netid);
      const Mac& src = nh->local || !in.nets.at(to).out_mac ? settings_.router_mac : *in.nets.at(to).out_mac;
      set_mac(a, Field::kEthSrc, src);
      set_mac(a, Field::kEthDst, nh->mac);
      a.dec_ttl();
      put(*l3router, static_cast<uint16_t>(kP + prefix.prefix), std::move(m),
          InstructionList().apply_actions(a).goto_table(*l2output));
    }
  }
  return d;
}

flows::Desired L3Router::hosts(const Inputs& in, const std::string& net) const {
  flows::Desired d;
  if (!in.nets.count(net)) return d;
  for (const Host& h : hosts_of(in, net)) {
    if (!h.local && !settings_.prepush) continue;  // resolved on the first packet
    if (auto f = host_flow(in, net, h)) pipeline::put_flow(d.flows, *f);
  }
  return d;
}

std::map<std::string, flows::Desired> L3Router::compute(const ModelView&, const SwitchContext& sw) const {
  Inputs in = inputs(sw);
  std::map<std::string, flows::Desired> out;
  out[kBasePartition] = base();
  for (const auto& [net, n] : in.nets) {
    if (in.from.count(net)) out[kNetPrefix + net] = from_network(in, net);
    out[kHostsPrefix + net] = hosts(in, net);
  }
  return out;
}

std::map<std::string, flows::Desired> L3Router::compute(const ModelView&, const SwitchContext& sw,
                                                        const std::set<std::string>& partitions) const {
  Inputs in = inputs(sw);
  std::map<std::string, flows::Desired> out;
  for (const auto& p : partitions) {
    if (p == kBasePartition)
      out[p] = base();
    else if (starts(p, kNetPrefix))
      out[p] = from_network(in, p.substr(std::string_view(kNetPrefix).size()));
    else if (starts(p, kHostsPrefix))
      out[p] = hosts(in, p.substr(std::string_view(kHostsPrefix).size()));
    else
      out[p] = {};
  }
  return out;
}

// A port's address, MAC or binding touches its network's hosts and whether routing starts there;
// which networks a router joins, their subnets and the ways out: the whole switch (rare changes).
Dirty L3Router::on_model(const ModelView& model, const ModelChange& c) const {
  switch (c.kind) {
    case Kind::kLogicalPort: {
      // Its network's hosts and entry, and those of every network sharing a router with it
      // (static routes through it as a nexthop; whether its router serves this switch).
      std::set<std::string> nets = model.with_router_neighbours(c.parents);
      Dirty d = Dirty::networks(nets, kNetPrefix);
      d.partitions.merge(Dirty::networks(nets, kHostsPrefix).partitions);
      return d;
    }
    case Kind::kPhysicalNetwork:
      return c.map ? Dirty::nothing() : Dirty::everything();
    case Kind::kLogicalNetwork:
    case Kind::kPhysicalPort:
    case Kind::kSubnet:
    case Kind::kRouter:
    case Kind::kRouterInterface:
      return Dirty::everything();
    default:
      return Dirty::nothing();
  }
}

// A routed first packet to a host with no flow here (VLCP's default, prepush = False): the host in
// the model, its flow installed (learned: the flow owner leaves it alone; it idles out), and the
// packet sent through the tables again to meet it.
void L3Router::packet_in(flows::AppId, const SwitchContext& sw, ByteSpan message, Buffer& answers) {
  auto frame = ofp::decode_frame(message);
  if (!frame.ok() || frame->header.type != ofp::MsgType::kPacketIn) return;
  auto p = ofp::decode_packet_in(*frame);
  if (!p.ok()) {
    VLCP_LOG_RL(kWarn, "l3", 20, 5) << "a PACKET_IN from datapath " << sw.dpid
                                    << " does not decode: " << ofp::error_name(p.error());
    return;
  }
  uint32_t in_port = 0, netid = 0;
  p->match.for_each([&](const ofp::OxmEntry& e) {
    if (e.info && e.info->field == Field::kInPort) in_port = static_cast<uint32_t>(e.value_u64());
    if (e.info && e.info->field == kRegOutNet) netid = static_cast<uint32_t>(e.value_u64());
  });
  ++stats_.misses;
  auto parsed = ofp::pkt::parse_packet(p->data);
  if (!parsed.view.ip || !in_port || !netid) {
    ++stats_.unresolved;
    return;
  }
  uint32_t dst = parsed.view.ip->dst;
  Inputs in = inputs(sw);
  std::optional<Host> host;
  std::string to;
  for (const auto& [net, n] : in.nets)
    if (n.netid == netid)
      for (const Host& h : hosts_of(in, net))
        if (h.ip == dst) host = h, to = net;
  auto f = host ? host_flow(in, to, *host) : std::nullopt;
  if (!f) {
    ++stats_.unresolved;  // (a host the model does not know: no ARP resolution yet)
    return;
  }
  ++stats_.resolved;
  f->cookie |= kCookieDynamic;
  f->idle_timeout = kLearnedIdle;
  f->hard_timeout = kLearnedHard;  // (re-resolved then: a host re-created with a new MAC is found)
  Buffer b;
  ofp::encode_flow_mod(b, 0, *f);
  ofp::PacketOut po;
  po.buffer_id = p->buffer_id;
  po.in_port = in_port;
  po.actions.output(ofp::kPortTable);
  if (p->buffer_id == ofp::kNoBuffer) po.data = p->data;
  ofp::encode_packet_out(b, 0, po);
  answers.append(b.span());
}

Json L3Router::status(const ModelView& model) const {
  return {{"routers", model.routers().size()}, {"interfaces", model.router_interfaces().size()},
          {"prepush", settings_.prepush},      {"first_packets", stats_.misses},
          {"resolved", stats_.resolved},       {"unresolved", stats_.unresolved}};
}

std::vector<AppMetric> L3Router::metrics() const {
  return {{"vlcp_l3_first_packets_total",
           "Routed packets to a host with no flow here, sent to the controller.",
           {},
           static_cast<double>(stats_.misses)},
          {"vlcp_l3_first_packets_resolved_total",
           "Routed first packets whose host the model placed (its flow installed).",
           {},
           static_cast<double>(stats_.resolved)},
          {"vlcp_l3_first_packets_unresolved_total",
           "Routed first packets to a host the model does not know (dropped).",
           {},
           static_cast<double>(stats_.unresolved)}};
}

// --- registration ---------------------------------------------------------------------------------

namespace {

class L3Spec final : public AppSpec {
 public:
  explicit L3Spec(L3Settings settings) : settings_(settings) {}
  std::vector<PacketInDecl> packet_ins() const override {
    if (settings_.prepush) return {};
    return {{kL3AppId, false, "l3router first packet", {}}};
  }
  std::unique_ptr<FlowApp> make(const AppEnv& env) const override {
    return std::make_unique<L3Router>(env.model, env.tables, settings_);
  }

 private:
  L3Settings settings_;
};

Result<std::shared_ptr<const AppSpec>> configure(const Config& config, const pipeline::PipelineSettings&) {
  VLCP_ASSIGN_OR_RETURN(L3Settings settings, read_l3_settings(config));
  return std::shared_ptr<const AppSpec>(std::make_shared<L3Spec>(settings));
}

}  // namespace

VLCP_REGISTER_APP(AppRegistration{L3Router::kAppName, {"l3router"}, {VLCP_L3_KEYS(VLCP_APP_KEY)}, configure});

}  // namespace vlcp::apps
