#include "apps/l3/router.h"

#include <algorithm>

#include "apps/arp/arp.h"
#include "apps/l2/l2.h"
#include "apps/l2/l2app.h"
#include "apps/registry.h"
#include "base/log.h"
#include "db/store.h"
#include "model/common.h"
#include "ofp/errors.h"
#include "ofp/message.h"
#include "ofp/packet.h"

namespace vlcp::apps {

using Json = nlohmann::json;
using model::detail::Cidr;
using model::detail::ip_text;
using model::detail::Mac;
using model::detail::mac_text;
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
constexpr uint16_t kArpRequest = 1, kArpReply = 2;
constexpr uint8_t kReasonNoMatch = 0, kReasonAction = 1;  // OFPR_NO_MATCH, OFPR_ACTION
constexpr uint16_t kEthTypeArp = 0x0806;
constexpr size_t kAllocationTries = 4096;  // candidates an external address allocation looks at
constexpr size_t kAllocationBatch = 48;    // read per round of its transaction (ObjectDB allows 64 rounds)
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

L3Router::L3Router(const ModelView& model, db::ObjectDb& db, const pipeline::TableMap& tables,
                   L3Settings settings,
                   std::function<void(std::chrono::milliseconds, std::function<void()>)> after)
    : model_(model), db_(db), tables_(tables), settings_(settings), after_(std::move(after)) {}

L3Router::~L3Router() {
  *alive_ = false;
}

std::set<schema::Kind> L3Router::reads() const {
  return {Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kPhysicalPort,
          Kind::kLogicalPort,     Kind::kSubnet,         Kind::kRouter,
          Kind::kRouterInterface, Kind::kForwardInfo,    Kind::kExternalAddressInfo};
}

namespace {

// The id part of a key of `kind` ("" when the key is not one: what the store holds is untrusted).
std::string id_of(const std::string& key, Kind kind) {
  std::string_view prefix = schema::kind(kind).key_prefix;
  return key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0 ? key.substr(prefix.size())
                                                                                  : std::string();
}
// ("" when either is not a physical network's key)
std::string forward_key(const std::string& from_physnet, const std::string& to_physnet) {
  std::string from = id_of(from_physnet, Kind::kPhysicalNetwork),
              to = id_of(to_physnet, Kind::kPhysicalNetwork);
  if (from.empty() || to.empty()) return "";
  return std::string(schema::kind(Kind::kForwardInfo).key_prefix) + from + "." + to;
}
const std::string& address_info_key() {
  static const std::string k(schema::kind(Kind::kExternalAddressInfo).key_prefix);
  return k;
}
// The entries of a published info list ({"info": [[...], ...]}) that are arrays of at least n.
std::vector<const Json*> info_entries(const Json* v, size_t n) {
  std::vector<const Json*> out;
  if (!v || !v->is_object()) return out;
  auto it = v->find("info");
  if (it == v->end() || !it->is_array()) return out;
  for (const auto& e : *it)
    if (e.is_array() && e.size() >= n) out.push_back(&e);
  return out;
}
std::string str_at(const Json& e, size_t i) {
  return i < e.size() && e[i].is_string() ? e[i].get<std::string>() : "";
}
// An integer field of an entry (none: absent, not an integer, or out of range).
std::optional<int64_t> num_at(const Json& e, size_t i) {
  if (i >= e.size()) return std::nullopt;
  if (e[i].is_number_unsigned()) {
    uint64_t v = e[i].get<uint64_t>();
    return v <= uint64_t(INT64_MAX) ? std::optional<int64_t>(int64_t(v)) : std::nullopt;
  }
  if (e[i].is_number_integer()) return e[i].get<int64_t>();
  return std::nullopt;
}
// Whether an entry's expiry (at `i`) is later than `now` (a malformed one is never live).
bool live(const Json& e, size_t i, int64_t now) {
  auto v = num_at(e, i);
  return v && *v > now;
}
// What a forwarding node writes in the address index it takes an external address in: the
// owner, so that only its own reservation is ever released.
Json index_owner(const std::string& system_id, const std::string& bridge) {
  return Json(std::string(schema::kind(Kind::kExternalAddressInfo).key_prefix) + ":" + system_id + ":" +
              bridge);
}

}  // namespace

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
  const std::string system_id = sw.system_id ? *sw.system_id : std::string();
  auto ways_out = physical_ports_on(model_, sw);
  auto type_of = [&](const std::string& physnet) {
    auto p = model_.physical_networks().find(physnet);
    return p == model_.physical_networks().end() ? std::string() : p->second.type;
  };
  for (const auto& [physnet, port] : ways_out)
    if (type_of(physnet) == "vxlan" && port->ofport > 0)
      in.tunnels[physnet] = static_cast<uint32_t>(port->ofport);
  // Every router's interfaces on subnets of known networks: internal ones, and external ones.
  std::map<std::string, std::vector<std::pair<std::string, Cidr>>> routers;
  std::map<std::string, std::vector<External>> externals;
  for (const auto& [key, i] : model_.router_interfaces()) {
    auto s = model_.subnets().find(i.subnet);
    if (s == model_.subnets().end() || !s->second.cidr) continue;
    auto n = model_.logical_networks().find(s->second.network);
    if (n == model_.logical_networks().end() || !n->second.netid) continue;
    if (s->second.external)
      externals[i.router].push_back(External{i.subnet, s->second.network, *s->second.cidr, s->second.gateway,
                                             false, std::nullopt, false});
    else
      routers[i.router].emplace_back(s->second.network, *s->second.cidr);
  }
  auto add_net = [&](const std::string& net, bool external) -> Net& {
    if (auto it = in.nets.find(net); it != in.nets.end()) return it->second;
    const LogicalNetworkObj& n = model_.logical_networks().at(net);
    Net info{net, *n.netid, std::nullopt, n.physnet, type_of(n.physnet), "", external, {}};
    if (auto out = ways_out.find(n.physnet); out != ways_out.end()) {
      if (auto mac = model::detail::parse_mac(out->second->mac)) {
        for (size_t b = 0; b < 6; ++b) (*mac)[b] ^= settings_.out_mask[b];
        info.out_mac = *mac;
      }
      if (info.type == "vxlan") info.vtep = out->second->local_ip;
    }
    if (!external)
      for (const RouterAddress& a : router_addresses(model_, net))
        if (auto sn = model_.subnets().find(a.subnet); sn != model_.subnets().end() && sn->second.cidr)
          info.addresses.emplace_back(a.ip, *sn->second.cidr);
    return in.nets.emplace(net, std::move(info)).first->second;
  };
  const Json* address_info = nullptr;
  if (auto it = model_.others().find(address_info_key()); it != model_.others().end())
    address_info = &it->second;
  const int64_t now = db::wall_clock_us();
  for (auto& [router, ifaces] : routers) {
    auto& exts = externals[router];
    bool serves = false;
    for (const auto& [net, cidr] : ifaces) serves |= here.count(net) > 0;
    // A forwarding node: enable_router_forward and a way out to the external network (VLAN or
    // native) on this switch.
    for (External& e : exts) {
      const auto& n = model_.logical_networks().at(e.net);
      auto t = type_of(n.physnet);
      e.forwarding = settings_.router_forward && ways_out.count(n.physnet) && (t == "vlan" || t == "native");
    }
    if (!serves) continue;
    bool forwards = false;
    for (const External& e : exts) forwards |= e.forwarding;
    for (const auto& [net, cidr] : ifaces) {
      add_net(net, false);
      if (here.count(net) || forwards) in.from.insert(net);  // a forwarding node routes from all
    }
    for (External& e : exts) {
      if (!e.forwarding) continue;
      // Its address here: pre_host_config's for this node, else the one it published.
      const SubnetObj& sn = model_.subnets().at(e.subnet);
      if (auto pre = sn.value.find("pre_host_config"); pre != sn.value.end() && pre->is_array())
        for (const auto& h : *pre) {
          if (!h.is_object()) continue;
          std::string sid = text_field(h, "systemid"), br = text_field(h, "bridge");
          if ((sid == system_id || sid == "%") && (br.empty() || br == "%" || br == sw.view->bridge))
            if (auto ip = model::detail::parse_ip(text_field(h, "local_address"))) {
              e.address = *ip;
              e.pinned = true;
              break;
            }
        }
      if (!e.address)
        for (const Json* entry : info_entries(address_info, 6))
          if (str_at(*entry, 0) == system_id && str_at(*entry, 1) == sw.view->bridge &&
              str_at(*entry, 3) == id_of(e.subnet, Kind::kSubnet) && live(*entry, 5, now))
            if (auto ip = model::detail::parse_ip(str_at(*entry, 4))) e.address = *ip;
      Net& net = add_net(e.net, true);
      if (e.address) net.addresses.emplace_back(*e.address, e.cidr);
      ifaces.emplace_back(e.net, e.cidr);
      in.from.insert(e.net);
    }
    // Not forwarding to an external subnet: its traffic goes to a forwarding node's router MAC on
    // the source network (the first one published, by system id, as VLCP).
    for (const External& e : exts) {
      if (e.forwarding) continue;
      const std::string& to_physnet = model_.logical_networks().at(e.net).physnet;
      for (const auto& [net, cidr] : ifaces) {
        const Net& n = in.nets.at(net);
        if (n.external || !in.from.count(net) || in.forward_to[router].count(net)) continue;
        auto fi = model_.others().find(forward_key(n.physnet, to_physnet));
        if (fi == model_.others().end()) continue;
        std::optional<std::pair<std::string, Forwarder>> best;
        for (const Json* entry : info_entries(&fi->second, 5)) {
          std::string sid = str_at(*entry, 0);
          if (sid == system_id || !live(*entry, 4, now)) continue;
          auto mac = model::detail::parse_mac(str_at(*entry, 3));
          if (!mac || ((*mac)[0] & 1)) continue;
          Forwarder f{*mac, model::detail::parse_ip(str_at(*entry, 5))};
          if (!best || sid < best->first) best.emplace(sid, f);
        }
        if (best) in.forward_to[router][net] = best->second;
      }
    }
    in.externals[router] = exts;
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

ActionList L3Router::routed_to(const Net& to, const Mac& mac, bool local) const {
  // A local host sees the router MAC; one on another server gets the frame from this server's own
  // router MAC on that network (one MAC per server for switches and VXLAN learning to see).
  ActionList a;
  set_mac(a, Field::kEthSrc, local ? settings_.router_mac : to.source(settings_.router_mac));
  set_mac(a, Field::kEthDst, mac);
  a.dec_ttl();
  return a;
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
  f.instructions.apply_actions(routed_to(n->second, h.mac, h.local)).goto_table(*l2output);
  return f;
}

flows::Desired L3Router::base() const {
  flows::Desired d;
  if (auto l3output = tables_.id("l3output")) {
    // A routed packet to an address with no flow here: the controller resolves it (control
    // thread) — from the model (VLCP's first packet, prepush = False), or by ARP where the model
    // does not place it (either strategy).
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
  auto ip_from = [&] { return Match().add(Field::kEthType, kEthTypeIpv4).add(kRegInNet, from); };
  // Into the router: IPv4 to the router MAC hosts see (not from outside on an external network),
  // and to this server's own router MAC on the network (what other servers and the external
  // gateway send to this server's router).
  // The router MAC never leaves a server as a source, so only this server's own ports address
  // it: a frame to it from the physical side (a switch flooding it to every server) would be
  // routed by each of them.
  if (!n->second.external)
    put(*l3input, kP,
        eth_dst(settings_.router_mac)
            .add(Field::kEthType, kEthTypeIpv4)
            .add(kRegInNet, from)
            .add_masked(kRegFlags, kFlagFromLogical, kFlagFromLogical),
        InstructionList().goto_table(*l3router));
  if (n->second.out_mac)
    put(*l3input, kP, eth_dst(*n->second.out_mac).add(Field::kEthType, kEthTypeIpv4).add(kRegInNet, from),
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
          ip_from().add_masked(Field::kIpv4Dst, cidr.network, cidr.mask()),
          InstructionList()
              .apply_actions(ActionList().set_field(kRegOutNet, t->second.netid))
              .goto_table(*l3output));
    }
    // Through a nexthop: l3output's flow for it (REG3) is resolved like a host's.
    auto via = [&](uint16_t priority, const Cidr& prefix, const std::string& to, uint32_t nexthop) {
      Match m = ip_from();
      if (prefix.prefix) m.add_masked(Field::kIpv4Dst, prefix.network, prefix.mask());
      put(*l3router, priority, std::move(m),
          InstructionList()
              .apply_actions(
                  ActionList().set_field(kRegOutNet, in.nets.at(to).netid).set_field(kRegNextHop, nexthop))
              .goto_table(*l3output));
    };
    // Static routes through a nexthop in one of the router's subnets: the model's port there
    // directly, any other address by ARP.
    auto r = model_.routers().find(router);
    if (r != model_.routers().end())
      for (const auto& [prefix, nexthop] : r->second.routes) {
        std::optional<Host> nh;
        std::string to;
        for (const auto& [inet, cidr] : ifaces) {
          if (!cidr.contains(nexthop)) continue;
          to = inet;
          for (const Host& h : hosts_of(in, inet))
            if (h.ip == nexthop) nh = h;
        }
        if (to.empty()) continue;  // (not in one of its subnets: no route)
        if (!nh) {
          via(static_cast<uint16_t>(kP + prefix.prefix), prefix, to, nexthop);
          continue;
        }
        // The nexthop the model places: straight to it.
        ofp::FlowMod f;
        f.table_id = *l3router;
        f.priority = static_cast<uint16_t>(kP + prefix.prefix);
        f.cookie = ck;
        f.match = ip_from();
        if (prefix.prefix) f.match.add_masked(Field::kIpv4Dst, prefix.network, prefix.mask());
        ActionList all;
        all.set_field(kRegOutNet, in.nets.at(to).netid);
        set_mac(all, Field::kEthSrc,
                nh->local ? settings_.router_mac : in.nets.at(to).source(settings_.router_mac));
        set_mac(all, Field::kEthDst, nh->mac);
        all.dec_ttl();
        f.instructions.apply_actions(all).goto_table(*l2output);
        pipeline::put_flow(d.flows, f);
      }
    // The external subnets: from an internal network, everything else goes to the gateway of
    // one this switch forwards to, or to a forwarding node.
    if (n->second.external) continue;
    auto ex = in.externals.find(router);
    if (ex == in.externals.end()) continue;
    bool default_route = false;
    for (const External& e : ex->second)
      if (e.forwarding && e.gateway && e.address && !default_route) {
        via(kP - 1, Cidr{}, e.net, *e.gateway);  // (below a static 0.0.0.0/0, which wins)
        default_route = true;
      }
    auto fw = in.forward_to.find(router);
    if (default_route || fw == in.forward_to.end()) continue;
    auto f = fw->second.find(net);
    if (f == fw->second.end()) continue;
    // To the forwarding node's router on this network: it routes (and decrements the TTL).
    ActionList to_node;
    to_node.set_field(kRegOutNet, from);
    set_mac(to_node, Field::kEthDst, f->second.mac);
    for (const External& e : ex->second)
      put(*l3router, static_cast<uint16_t>(kP + e.cidr.prefix),
          ip_from().add_masked(Field::kIpv4Dst, e.cidr.network, e.cidr.mask()),
          InstructionList().apply_actions(to_node).goto_table(*l2output));
    put(*l3router, kP - 1, ip_from(), InstructionList().apply_actions(to_node).goto_table(*l2output));
    // Over VXLAN: to the node's tunnel address (the L2 app knows only ports' locations).
    auto vxlanoutput = tables_.id("vxlanoutput");
    auto tunnel = in.tunnels.find(n->second.physnet);
    if (n->second.type == "vxlan" && f->second.vtep && vxlanoutput && tunnel != in.tunnels.end()) {
      InstructionList i;
      i.apply_actions(
          ActionList().set_field(Field::kTunIpv4Dst, *f->second.vtep).set_field(kRegOutPort, tunnel->second));
      if (auto next = tables_.next_in_path(*vxlanoutput)) i.goto_table(*next);
      put(*vxlanoutput, kP + 9, eth_dst(f->second.mac).add(kRegOutNet, from).add(kRegOutPort, 0),
          std::move(i));
    }
  }
  return d;
}

flows::Desired L3Router::hosts(const Inputs& in, const std::string& net) const {
  flows::Desired d;
  auto n = in.nets.find(net);
  if (n == in.nets.end()) return d;
  for (const Host& h : hosts_of(in, net)) {
    if (!h.local && !settings_.prepush) continue;  // resolved on the first packet
    if (auto f = host_flow(in, net, h)) pipeline::put_flow(d.flows, *f);
  }
  // ARP answers to the router's requests on this network (to the MAC it asks from, for one of its
  // addresses here) go to the controller.
  auto l3input = tables_.id("l3input");
  for (const auto& [ip, cidr] : n->second.addresses) {
    if (!l3input) break;
    ofp::FlowMod f;
    f.table_id = *l3input;
    f.priority = kP;
    f.cookie = flows::cookie(kL3AppId, n->second.netid);
    f.match = eth_dst(n->second.source(settings_.router_mac))
                  .add(Field::kEthType, kEthTypeArp)
                  .add(kRegInNet, n->second.netid)
                  .add(Field::kArpOp, kArpReply)
                  .add(Field::kArpTpa, ip);
    f.instructions.apply_actions(ActionList().output(ofp::kPortController, 0xffff));
    pipeline::put_flow(d.flows, f);
  }
  if (n->second.external) external_flows(in, net, d);
  return d;
}

// A forwarding node's own address on an external network, answered to ARP from the outside
// (the external gateway) with its router MAC there (docs/L3_FLOWS.md §2.2).
void L3Router::external_flows(const Inputs& in, const std::string& net, flows::Desired& d) const {
  const Net& n = in.nets.at(net);
  auto arp = tables_.id("arp"), l2output = tables_.id("l2output");
  if (!arp || !l2output || !n.out_mac) return;
  auto after = tables_.next_in_path(*l2output);
  if (!after) return;
  for (const auto& [ip, cidr] : n.addresses) {
    ofp::FlowMod f;
    f.table_id = *arp;
    f.priority = kP;
    f.cookie = flows::cookie(kL3AppId, n.netid);
    f.match = Match()
                  .add(Field::kEthType, kEthTypeArp)
                  .add(kRegInNet, n.netid)
                  .add(Field::kArpOp, kArpRequest)
                  .add(Field::kArpTpa, ip);
    f.instructions = back_to_asker(arp_reply(ip, *n.out_mac), *after);
    pipeline::put_flow(d.flows, f);
  }
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
    case Kind::kForwardInfo:          // (forwarding nodes come and go: rare)
    case Kind::kExternalAddressInfo:  // (this node's external address taken)
      return Dirty::everything();
    default:
      return Dirty::nothing();
  }
}

// A port bound or unbound: as a port's change (its network's hosts and entry, and those of the
// networks its routers join: whether they serve this switch); a way out (tunnel, uplink: MAC,
// local_ip) or another bridge: the whole switch.
Dirty L3Router::on_switch(const ModelView& model, const SwitchContext& sw) const {
  auto nets = binding_networks(model, sw);
  if (!nets) return Dirty::everything();
  std::set<std::string> all = model.with_router_neighbours(*nets);
  Dirty d = Dirty::networks(all, kNetPrefix);
  d.partitions.merge(Dirty::networks(all, kHostsPrefix).partitions);
  return d;
}

// A PACKET_IN for the router: a routed packet that missed l3output (an address with no flow
// here), or an ARP answer to the router's request.
void L3Router::packet_in(flows::AppId, const SwitchContext& sw, ByteSpan message, Buffer& answers) {
  auto frame = ofp::decode_frame(message);
  if (!frame.ok() || frame->header.type != ofp::MsgType::kPacketIn) return;
  auto p = ofp::decode_packet_in(*frame);
  if (!p.ok()) {
    VLCP_LOG_RL(kWarn, "l3", 20, 5) << "a PACKET_IN from datapath " << sw.dpid
                                    << " does not decode: " << ofp::error_name(p.error());
    return;
  }
  // A miss or the punt's action, never a TTL that ran out (invalid_ttl, when a connection asks
  // for those): resolving again what has a flow would only send more ARP.
  if (p->reason != kReasonNoMatch && p->reason != kReasonAction) return;
  if (tables_.id("l3input") && p->table_id == *tables_.id("l3input"))
    on_arp_answer(sw, *p, answers);
  else
    on_miss(sw, *p, answers);
}

namespace {
struct Regs {
  uint32_t in_port = 0, reg3 = 0, reg4 = 0, reg5 = 0, reg7 = 0;
};
Regs regs_of(const ofp::PacketInView& p) {
  Regs r;
  p.match.for_each([&](const ofp::OxmEntry& e) {
    if (!e.info) return;
    auto v = static_cast<uint32_t>(e.value_u64());
    if (e.info->field == Field::kInPort) r.in_port = v;
    if (e.info->field == kRegNextHop) r.reg3 = v;
    if (e.info->field == kRegInNet) r.reg4 = v;
    if (e.info->field == kRegOutNet) r.reg5 = v;
    if (e.info->field == kRegFlags) r.reg7 = v;
  });
  return r;
}
}  // namespace

// A routed packet on its way to `to`, sent on from l2output as its flow would have sent it.
void L3Router::send_on(const Net& to, const Mac& mac, bool local, const Neighbours::Kept& k, Buffer& out) {
  auto l2output = tables_.id("l2output");
  if (!l2output) return;
  ofp::PacketOut po;
  po.in_port = k.in_port ? k.in_port : ofp::kPortController;
  po.actions.set_field(kRegInNet, k.reg4)
      .set_field(kRegOutNet, to.netid)
      .set_field(kRegOutPort, 0)
      .set_field(kRegFlags, k.reg7);
  set_mac(po.actions, Field::kEthSrc, local ? settings_.router_mac : to.source(settings_.router_mac));
  set_mac(po.actions, Field::kEthDst, mac);
  po.actions.dec_ttl().resubmit(0xfff8, *l2output);
  po.data = ByteSpan(k.data.data(), k.data.size());
  ofp::encode_packet_out(out, 0, po);
  ++stats_.sent_on;
}

// A flow learned for `target` on network `to`, as a host (its IP destination) or as a nexthop
// (REG3, P+2: a route through it wins over a host flow for the same address): the rewrite to
// `mac`, or with no MAC a drop (the negative answer). Dynamic cookie: the flow owner leaves it.
ofp::FlowMod L3Router::learned_flow(const Net& to, uint32_t target, bool nexthop, const Mac* mac, bool local,
                                    uint16_t hard) const {
  ofp::FlowMod f;
  f.table_id = *tables_.id("l3output");
  f.priority = nexthop ? kP + 2 : kP + 1;
  f.cookie = flows::cookie(kL3AppId, to.netid) | kCookieDynamic;
  f.match = Match().add(Field::kEthType, kEthTypeIpv4).add(kRegOutNet, to.netid);
  if (nexthop)
    f.match.add(kRegNextHop, target);
  else
    f.match.add(Field::kIpv4Dst, target);
  f.hard_timeout = hard;
  if (mac) {
    f.idle_timeout = std::min<uint16_t>(kLearnedIdle, hard);
    f.instructions.apply_actions(routed_to(to, *mac, local)).goto_table(*tables_.id("l2output"));
  }
  return f;
}

void L3Router::on_miss(const SwitchContext& sw, const ofp::PacketInView& p, Buffer& answers) {
  ++stats_.misses;
  Regs r = regs_of(p);
  auto parsed = ofp::pkt::parse_packet(p.data);
  auto l3output = tables_.id("l3output"), l2output = tables_.id("l2output");
  if (!parsed.view.ip || !r.reg5 || !l3output || !l2output) {
    ++stats_.unresolved;
    return;
  }
  const uint32_t target = r.reg3 ? r.reg3 : parsed.view.ip->dst;
  Inputs in = inputs(sw);
  const Net* to = nullptr;
  for (const auto& [net, n] : in.nets)
    if (n.netid == r.reg5) to = &n;
  if (!to) {
    ++stats_.unresolved;  // (not a network of a router here any more)
    return;
  }
  auto learned = [&](bool nexthop, const Mac* mac, bool local, uint16_t hard) {
    ofp::encode_flow_mod(answers, 0, learned_flow(*to, target, nexthop, mac, local, hard));
  };
  Neighbours::Kept k{
      r.in_port, r.reg4, r.reg7, r.reg3 != 0, std::vector<uint8_t>(p.data.begin(), p.data.end()), {}};
  // A host the model places.
  for (const Host& h : hosts_of(in, to->key))
    if (h.ip == target) {
      ++stats_.resolved;
      learned(r.reg3 != 0, &h.mac, h.local, kLearnedHard);
      send_on(*to, h.mac, h.local, k, answers);
      return;
    }
  // Any other address in one of the router's subnets there: by ARP, from the router's address.
  std::optional<uint32_t> from_ip;
  for (const auto& [ip, cidr] : to->addresses)
    if (cidr.contains(target) && ip != target) from_ip = ip;
  if (!from_ip) {
    ++stats_.unresolved;  // (no subnet of the router holds it)
    return;
  }
  auto& nb = neighbours_
                 .try_emplace(sw.dpid, Neighbours::Limits{std::chrono::seconds(settings_.arp_cycle_s),
                                                          std::chrono::seconds(settings_.arp_incomplete_s),
                                                          std::chrono::seconds(settings_.buffer_s),
                                                          std::chrono::seconds(settings_.arp_cycle_s)})
                 .first->second;
  switch (nb.miss({to->netid, target}, std::move(k), Neighbours::Clock::now())) {
    case Neighbours::Verdict::kAsk: {
      ++stats_.kept;
      ++stats_.arp_requests;
      const Mac& src = to->source(settings_.router_mac);
      Buffer frame;
      ofp::pkt::build_arp(frame, kArpRequest, src, *from_ip, Mac{}, target,
                          Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
      ofp::PacketOut po;
      po.in_port = ofp::kPortController;
      po.actions.set_field(kRegInNet, to->netid)
          .set_field(kRegOutNet, to->netid)
          .set_field(kRegOutPort, 0)
          .set_field(kRegFlags, kFlagFromLogical)
          .resubmit(0xfff8, *l2output);
      po.data = frame.span();
      ofp::encode_packet_out(answers, 0, po);
      return;
    }
    case Neighbours::Verdict::kWait:
      ++stats_.kept;
      return;
    case Neighbours::Verdict::kDropped:
      ++stats_.kept_dropped;
      return;
    case Neighbours::Verdict::kRefused:
      ++stats_.arp_refused;
      learned(r.reg3 != 0, nullptr, false, static_cast<uint16_t>(settings_.arp_cycle_s));
      return;
  }
}

// An ARP answer to the router: the packets kept for that address sent on, its flows installed.
// Only answers to a request still out are believed (anything else teaches nothing).
void L3Router::on_arp_answer(const SwitchContext& sw, const ofp::PacketInView& p, Buffer& answers) {
  Regs r = regs_of(p);
  auto parsed = ofp::pkt::parse_packet(p.data);
  auto l3output = tables_.id("l3output"), l2output = tables_.id("l2output");
  auto nb = neighbours_.find(sw.dpid);
  if (!parsed.view.arp || !l3output || !l2output || nb == neighbours_.end()) {
    ++stats_.arp_ignored;
    return;
  }
  const auto& arp = *parsed.view.arp;
  Mac mac;
  std::copy(std::begin(arp.sha), std::end(arp.sha), mac.begin());
  if (arp.op != kArpReply || (mac[0] & 1) || mac == Mac{}) {
    ++stats_.arp_ignored;
    return;
  }
  auto kept = nb->second.answer({r.reg4, arp.spa}, Neighbours::Clock::now());
  if (!kept) {
    ++stats_.arp_ignored;
    return;
  }
  const Net* to = nullptr;
  Inputs in = inputs(sw);
  for (const auto& [net, n] : in.nets)
    if (n.netid == r.reg4) to = &n;
  if (!to) return;
  ++stats_.arp_answers;
  for (bool nexthop : {false, true})
    ofp::encode_flow_mod(
        answers, 0,
        learned_flow(*to, arp.spa, nexthop, &mac, false, static_cast<uint16_t>(settings_.arp_complete_s)));
  for (const auto& k : *kept) send_on(*to, mac, false, k, answers);
}

// --- what a forwarding node publishes ---------------------------------------------------------

L3Router::Publication L3Router::publication(const std::vector<SwitchContext>& switches) const {
  Publication pub;
  for (const auto& sw : switches) {
    if (!sw.view) continue;
    Inputs in = inputs(sw);
    for (const auto& [router, exts] : in.externals)
      for (const External& e : exts) {
        if (!e.forwarding) continue;
        pub.addresses[{sw.view->bridge, e.subnet}] = e.pinned ? *e.address : 0;
        const std::string& to_physnet = model_.logical_networks().at(e.net).physnet;
        for (const auto& [net, cidr] : in.routers.at(router)) {
          const Net& n = in.nets.at(net);
          if (n.external || !n.out_mac) continue;
          std::string key = forward_key(n.physnet, to_physnet);
          if (key.empty()) continue;
          auto& entries = pub.forward[key];
          std::array<std::string, 3> entry{sw.view->bridge, mac_text(*n.out_mac), n.vtep};
          if (std::find(entries.begin(), entries.end(), entry) == entries.end()) entries.push_back(entry);
        }
      }
  }
  return pub;
}

void L3Router::after_round(const std::vector<SwitchContext>& switches) {
  for (const auto& sw : switches)
    if (sw.system_id) system_id_ = *sw.system_id;
  keep_known_switches(neighbours_, switches);
  for (auto& [dpid, nb] : neighbours_) nb.expire(Neighbours::Clock::now());
  wanted_ = publication(switches);
  publish();
}

// Writes what this node publishes when it differs from what it wrote, or half its life is gone
// (checked every quarter of its life while there is something to publish: a refresh lands well
// before expiry).
void L3Router::publish() {
  if (system_id_.empty() || publishing_) return;
  const int64_t life_us = settings_.forward_info_s * 2 * 1000000;
  bool aged = db::wall_clock_us() - published_at_us_ >= life_us / 2;
  bool nothing = wanted_.addresses.empty() && wanted_.forward.empty();
  if (wanted_ == published_ && (!aged || (nothing && published_ == Publication{}))) return;
  if (!timer_ && !nothing) {
    timer_ = true;
    after_(std::chrono::milliseconds(settings_.forward_info_s * 500), [this, alive = alive_] {
      if (*alive) tick();
    });
  }
  publishing_ = true;
  ++stats_.publish_writes;
  Publication want = wanted_, had = published_;
  std::string sid = system_id_;
  std::vector<std::string> keys{address_info_key()};
  for (const auto& [k, v] : want.forward) keys.push_back(k);
  for (const auto& [k, v] : had.forward)
    if (!want.forward.count(k)) keys.push_back(k);
  for (const auto& [bs, ip] : want.addresses) keys.push_back(bs.second);  // the subnets
  auto index = model::detail::index_rule(Kind::kLogicalPort, "ip");
  auto chosen = std::make_shared<std::map<std::pair<std::string, std::string>, uint32_t>>();
  db_.writewalk(
      keys,
      [keys, want, sid, life_us, index, chosen](db::TxnContext& t) -> Status {
        chosen->clear();
        const int64_t now = t.timestamp_us(), expire = now + life_us;
        // The forwarding info: this node's entries replaced; others' kept while they live
        // (malformed ones kept as they are: not ours to judge).
        for (size_t i = 1; i < keys.size(); ++i) {
          const std::string& k = keys[i];
          if (k.rfind(schema::kind(Kind::kForwardInfo).key_prefix, 0) != 0) continue;
          auto cur = t.get(k);
          if (!cur.fetched) return {};
          Json info = Json::array();
          for (const Json* e : info_entries(cur.value(), 5))
            if (str_at(*e, 0) != sid && (live(*e, 4, now) || !num_at(*e, 4))) info.push_back(*e);
          if (auto w = want.forward.find(k); w != want.forward.end())
            for (const auto& [bridge, mac, vtep] : w->second)
              info.push_back(Json::array({sid, bridge, "", mac, expire, vtep}));
          if (info.empty())
            t.write(k, std::nullopt);
          else
            t.write(k, Json{{"info", info}});
        }
        // The external addresses, each reserved in its subnet's address index (shared with ports
        // and router interfaces) under its owner's name: pre_host_config's, else the one held,
        // else the first free one of the pool.
        auto cur = t.get(address_info_key());
        if (!cur.fetched) return {};
        const std::string subnet_prefix(schema::kind(Kind::kSubnet).key_prefix);
        auto index_key = [&](const std::string& subnet, uint32_t ip) {
          Json v{{"subnet", subnet}, {"ip_address", ip_text(ip)}};
          return *db::ObjectDb::index_key(index, &v);
        };
        struct Release {
          std::string key;
          Json owner;
        };
        std::vector<Release> release;  // reservations to give back (only if still the owner's)
        std::map<std::pair<std::string, std::string>, uint32_t> held;  // (bridge, subnet key) -> ip
        Json info = Json::array();
        for (const Json* e : info_entries(cur.value(), 6)) {
          auto ip = model::detail::parse_ip(str_at(*e, 4));
          std::string subnet = subnet_prefix + str_at(*e, 3);
          if (str_at(*e, 0) == sid) {
            if (ip && want.addresses.count({str_at(*e, 1), subnet}))
              held[{str_at(*e, 1), subnet}] = *ip;
            else if (ip)
              release.push_back({index_key(subnet, *ip), index_owner(sid, str_at(*e, 1))});
            continue;
          }
          if (live(*e, 5, now) || !num_at(*e, 5) || !ip) {
            info.push_back(*e);  // (another node's, alive or malformed: left as it is)
            continue;
          }
          release.push_back({index_key(subnet, *ip), index_owner(str_at(*e, 0), str_at(*e, 1))});  // expired
        }
        for (const auto& [bs, pinned] : want.addresses) {
          const auto& [bridge, subnet] = bs;
          const Json owner = index_owner(sid, bridge);
          uint32_t ip = pinned;
          auto h = held.find(bs);
          if (!ip && h != held.end()) ip = h->second;
          if (ip) {  // reserve it, unless another holds it (a pin is the operator's: kept anyway)
            auto r = t.get(index_key(subnet, ip));
            if (!r.fetched) return {};
            if (!r.value())
              t.write(index_key(subnet, ip), owner);
            else if (*r.value() != owner && !pinned)
              ip = 0;  // (lost: take another)
          }
          if (!ip) {
            auto sv = t.get(subnet);
            if (!sv.fetched) return {};
            if (!sv.value()) continue;  // (the subnet is gone)
            auto cidr = model::detail::parse_cidr(text_field(*sv.value(), "cidr"));
            if (!cidr.ok()) continue;
            uint64_t first = cidr->network + 1, last = uint64_t(cidr->network) + ~cidr->mask() - 1;
            if (auto a = model::detail::parse_ip(text_field(*sv.value(), "allocated_start"))) first = *a;
            if (auto a = model::detail::parse_ip(text_field(*sv.value(), "allocated_end"))) last = *a;
            auto gateway = model::detail::parse_ip(text_field(*sv.value(), "gateway"));
            // Candidates read in batches (one round of the transaction each, not one per address).
            bool unread = false;
            size_t tries = 0, asked = 0;
            for (uint64_t c = first; c <= last && tries < kAllocationTries; ++c, ++tries) {
              if (gateway && c == *gateway) continue;
              auto taken = t.get(index_key(subnet, static_cast<uint32_t>(c)));
              if (!taken.fetched) {
                unread = true;
                if (++asked == kAllocationBatch) break;
                continue;
              }
              if (!taken.value() && !unread) {
                ip = static_cast<uint32_t>(c);
                break;
              }
            }
            if (!ip && unread) return {};
            if (!ip) continue;  // (the pool is full: nothing published for it)
            t.write(index_key(subnet, ip), owner);
          }
          if (h != held.end() && h->second != ip) release.push_back({index_key(subnet, h->second), owner});
          (*chosen)[bs] = ip;
          info.push_back(Json::array({sid, bridge, "", id_of(subnet, Kind::kSubnet), ip_text(ip), expire}));
        }
        bool unread = false;
        for (const auto& r : release) unread |= !t.get(r.key).fetched;
        if (unread) return {};
        for (const auto& r : release) {
          auto f = t.get(r.key);
          bool mine_now = false;  // (re-reserved above for another of this node's entries)
          for (const auto& [bs, ip] : *chosen) mine_now |= index_key(bs.second, ip) == r.key;
          if (f.value() && *f.value() == r.owner && !mine_now) t.write(r.key, std::nullopt);
        }
        t.write(address_info_key(), Json{{"info", info}});
        return {};
      },
      [this, alive = alive_, want, chosen](Result<db::TxnResult> res) {
        if (!*alive) return;
        publishing_ = false;
        if (!res.ok()) {
          ++stats_.publish_failures;
          VLCP_LOG_RL(kWarn, "l3", 20, 5)
              << "publishing this forwarding node's router info: " << res.error().message();
          after_(std::chrono::seconds(1), [this, alive] {
            if (*alive) publish();
          });
          return;
        }
        published_ = want;
        addresses_ = *chosen;
        published_at_us_ = db::wall_clock_us();
        if (!(wanted_ == want)) publish();  // (it changed while this was written)
      });
}

// The refresh, every quarter of the published entries' life while there is something to publish.
void L3Router::tick() {
  if (wanted_.addresses.empty() && wanted_.forward.empty()) {
    timer_ = false;
    publish();  // (what was published is withdrawn)
    return;
  }
  publish();
  after_(std::chrono::milliseconds(settings_.forward_info_s * 500), [this, alive = alive_] {
    if (*alive) tick();
  });
}

Json L3Router::status(const ModelView& model) const {
  Json addresses = Json::array();
  for (const auto& [bs, ip] : addresses_)
    addresses.push_back({{"bridge", bs.first}, {"subnet", bs.second}, {"address", ip_text(ip)}});
  return {{"routers", model.routers().size()},   {"interfaces", model.router_interfaces().size()},
          {"prepush", settings_.prepush},        {"first_packets", stats_.misses},
          {"resolved", stats_.resolved},         {"unresolved", stats_.unresolved},
          {"arp_requests", stats_.arp_requests}, {"arp_answers", stats_.arp_answers},
          {"arp_refused", stats_.arp_refused},   {"packets_kept", stats_.kept},
          {"packets_sent_on", stats_.sent_on},   {"external_addresses", addresses}};
}

Json L3Router::switch_status(const ModelView&, const SwitchContext& sw) const {
  Json out = Json::object();
  if (auto nb = neighbours_.find(sw.dpid); nb != neighbours_.end())
    out = {{"resolving", nb->second.pending()}, {"kept", nb->second.kept()}};
  return out;
}

std::vector<AppMetric> L3Router::metrics() const {
  auto m = [](const char* name, const char* help, uint64_t v) {
    return AppMetric{name, help, {}, static_cast<double>(v)};
  };
  size_t resolving = 0, kept = 0;
  for (const auto& [dpid, nb] : neighbours_) resolving += nb.pending(), kept += nb.kept();
  return {m("vlcp_l3_first_packets_total",
            "Routed packets to an address with no flow here, sent to the controller.", stats_.misses),
          m("vlcp_l3_first_packets_resolved_total",
            "Routed first packets whose host the model placed (its flow installed).", stats_.resolved),
          m("vlcp_l3_first_packets_unresolved_total",
            "Routed first packets to an address no subnet of the router there holds (dropped).",
            stats_.unresolved),
          m("vlcp_l3_arp_requests_total",
            "ARP requests the router sent for addresses the model does not place.", stats_.arp_requests),
          m("vlcp_l3_arp_answers_total",
            "ARP answers to the router's requests (flows installed, packets sent on).", stats_.arp_answers),
          m("vlcp_l3_arp_ignored_total",
            "ARP packets to the router that answered nothing it asked (ignored).", stats_.arp_ignored),
          m("vlcp_l3_arp_refused_total",
            "Addresses given up on after arp_incomplete_timeout (refused by a flow).", stats_.arp_refused),
          m("vlcp_l3_packets_kept_total", "Routed packets kept while their destination was resolved.",
            stats_.kept),
          m("vlcp_l3_packets_sent_on_total", "Kept or first packets sent on once resolved.", stats_.sent_on),
          m("vlcp_l3_packets_kept_dropped_total", "Routed packets not kept (queue or address limit reached).",
            stats_.kept_dropped),
          m("vlcp_l3_publish_failures_total",
            "Failed writes of what this forwarding node publishes (retried).", stats_.publish_failures),
          m("vlcp_l3_resolving", "Addresses being resolved by ARP now.", resolving),
          m("vlcp_l3_packets_kept", "Routed packets kept now.", kept)};
}

// --- registration ---------------------------------------------------------------------------------

namespace {

class L3Spec final : public AppSpec {
 public:
  explicit L3Spec(L3Settings settings) : settings_(settings) {}
  std::vector<PacketInDecl> packet_ins() const override {
    return {{kL3AppId, false, "l3router first packet and ARP", {}}};
  }
  std::unique_ptr<FlowApp> make(const AppEnv& env) const override {
    return std::make_unique<L3Router>(env.model, env.db, env.tables, settings_, env.after);
  }
  bool whole_model() const override { return settings_.router_forward; }  // (it serves every network)

 private:
  L3Settings settings_;
};

Result<std::shared_ptr<const AppSpec>> configure(const Config& config, const pipeline::PipelineSettings&) {
  VLCP_ASSIGN_OR_RETURN(L3Settings settings, read_l3_settings(config));
  return std::shared_ptr<const AppSpec>(std::make_shared<L3Spec>(settings));
}

}  // namespace

VLCP_REGISTER_APP(AppRegistration{L3Router::kAppName, {"l3router"}, {VLCP_L3_KEYS(VLCP_APP_KEY)}, configure});

std::optional<model::detail::Mac> L3Router::gateway_mac(const ModelView& model,
                                                        const std::string& network) const {
  for (const auto& key : model.subnets_of(network))
    if (auto s = model.subnets().find(key); s != model.subnets().end() && !s->second.router.empty())
      return settings_.router_mac;
  return std::nullopt;
}

}  // namespace vlcp::apps
