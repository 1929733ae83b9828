// The ARP responder's flows (docs/L3_FLOWS.md §2), and what both responders read about a switch.
#include "apps/arp/arp.h"

#include <algorithm>

#include "apps/l2/l2.h"
#include "apps/l3/l3.h"
#include "db/store.h"
#include "ofp/match.h"

namespace vlcp::apps {

using ofp::ActionList;
using ofp::Field;
using ofp::InstructionList;
using ofp::Match;

namespace {

struct ArpKeys {
  VLCP_ARP_KEYS(VLCP_KEYS_FIELD)
};

constexpr uint16_t kP = 0x8000;  // OFP_DEFAULT_PRIORITY, VLCP's "P"
constexpr uint16_t kEthTypeArp = 0x0806;
constexpr uint16_t kArpRequest = 1, kArpReply = 2;
const uint8_t kMulticastBit[6] = {1, 0, 0, 0, 0, 0};

ByteSpan mac_bytes(const model::detail::Mac& mac) {
  return ByteSpan(mac.data(), mac.size());
}

// An ARP request on network `netid`, for `ip`: from a local logical port or from the physical
// side (REG7's 0x4000), broadcast only or any.
Match request(uint32_t netid, uint32_t ip, bool from_logical, bool broadcast_only) {
  Match m;
  m.add(Field::kEthType, kEthTypeArp)
      .add(kRegInNet, netid)
      .add_masked(kRegFlags, from_logical ? kFlagFromLogical : 0, kFlagFromLogical)
      .add(Field::kArpOp, kArpRequest)
      .add(Field::kArpTpa, ip);
  if (broadcast_only) m.add_bytes(Field::kEthDst, ByteSpan(kMulticastBit, 6), ByteSpan(kMulticastBit, 6));
  return m;
}

void put(flows::Desired& d, uint8_t table, uint16_t priority, uint32_t netid, const Match& match,
         const InstructionList& instructions) {
  ofp::FlowMod f;
  f.table_id = table;
  f.priority = priority;
  f.cookie = flows::cookie(kArpAppId, netid);
  f.match = match;
  f.instructions = instructions;
  pipeline::put_flow(d.flows, f);
}

}  // namespace

// --- what the responders read ---------------------------------------------------------------------

std::optional<ResponderNetwork> responder_network(const ModelView& model, const std::string& key) {
  auto ln = model.logical_networks().find(key);
  if (ln == model.logical_networks().end() || !ln->second.netid) return std::nullopt;
  auto pn = model.physical_networks().find(ln->second.physnet);
  if (pn == model.physical_networks().end()) return std::nullopt;
  return ResponderNetwork{key, *ln->second.netid, pn->second.type};
}

ResponderInputs responder_inputs(const ModelView& model, const SwitchContext& sw) {
  ResponderInputs in;
  for (const auto& p : sw.view->ports) {  // (sorted by name: ports are sorted by ofport below)
    if (p.ofport <= 0 || p.ofport >= 0xff00 || p.iface_id.empty()) continue;
    std::string pid = db::escape_key_part(p.iface_id);
    auto it = model.logical_ports().find(pid);
    if (it == model.logical_ports().end()) continue;
    auto n = responder_network(model, it->second.network);
    if (!n) continue;
    in.networks.emplace(n->key, *n);
    in.ports[n->key].push_back(BoundPort{static_cast<uint32_t>(p.ofport), pid});
  }
  for (auto& [net, ports] : in.ports)
    std::sort(ports.begin(), ports.end(), [](const auto& a, const auto& b) { return a.ofport < b.ofport; });
  return in;
}

std::vector<RouterAddress> router_addresses(const ModelView& model, const std::string& network) {
  std::vector<RouterAddress> out;
  for (const auto& skey : model.subnets_of(network)) {
    auto s = model.subnets().find(skey);
    if (s == model.subnets().end() || s->second.external || s->second.router.empty()) continue;
    auto i = model.router_interfaces().find(s->second.router);
    if (i == model.router_interfaces().end() || i->second.subnet != skey) continue;
    std::optional<uint32_t> ip = i->second.ip ? i->second.ip : s->second.gateway;
    if (ip) out.push_back(RouterAddress{*ip, skey, i->first});
  }
  return out;
}

// (arp.h) The request rewritten into `mac`'s reply for `ip` (the asker's addresses become the target's).
// Moves name fields by their NXM headers, as OVS reports them back (a restart then finds the
// flows it wants installed, byte for byte).
ActionList arp_reply(uint32_t ip, const model::detail::Mac& mac) {
  ActionList a;
  a.reg_move({Field::kNxmEthSrc}, {Field::kNxmEthDst})
      .set_field_bytes(Field::kEthSrc, mac_bytes(mac))
      .set_field(Field::kArpOp, kArpReply)
      .reg_move({Field::kNxArpSha}, {Field::kNxArpTha})
      .set_field_bytes(Field::kArpSha, mac_bytes(mac))
      .reg_move({Field::kNxmArpSpa}, {Field::kNxmArpTpa})
      .set_field(Field::kArpSpa, ip);
  return a;
}

InstructionList back_to_asker(ActionList rewrite, uint8_t after_l2output) {
  rewrite.reg_move({Field::kInPort}, {kRegOutPort}).reg_load({kRegFlags, 15, 1}, 1);
  InstructionList i;
  i.apply_actions(rewrite).goto_table(after_l2output);
  return i;
}

// --- settings -------------------------------------------------------------------------------------

Result<ArpSettings> read_arp_settings(const Config& config, const pipeline::PipelineSettings& pipeline) {
  ArpKeys keys;
  VLCP_ARP_KEYS(VLCP_KEYS_READ)
  ArpSettings s;
  s.broadcast_only = keys.broadcastonly;
  s.disable_others = keys.disableothers;
  s.free_arp = keys.enable_freearp;
  s.free_arp_types.clear();
  for (const auto& t : keys.enable_freearp_networktypes) {
    if (t != "vlan" && t != "native" && t != "vxlan" && t != "local")
      return config.error_at("module.arpresponder.enable_freearp_networktypes",
                             "'" + t + "' is not a network type (vlan, native, vxlan, local)");
    s.free_arp_types.insert(t);
  }
  // The router's settings are checked whether it runs or not (they are its keys); its MAC is
  // answered only when something answers for the router.
  VLCP_ASSIGN_OR_RETURN(L3Settings l3, read_l3_settings(config));
  auto runs = [&](const char* module) {
    return std::find(pipeline.apps.begin(), pipeline.apps.end(), module) != pipeline.apps.end();
  };
  if (runs("l3router") || runs("icmpresponder")) s.router_mac = l3.router_mac;
  s.proxy_physical = runs("l3router");
  return s;
}

// --- flows ----------------------------------------------------------------------------------------

ArpApp::ArpApp(const pipeline::TableMap& tables, ArpSettings settings)
    : tables_(tables), settings_(std::move(settings)) {}

flows::Desired ArpApp::network(const ModelView& model, const ResponderInputs& in, const std::string& key,
                               ArpCounts* counts) const {
  flows::Desired d;
  ArpCounts c;
  auto n = in.networks.find(key);
  auto arp = tables_.id("arp"), l2output = tables_.id("l2output");
  auto out = l2output ? tables_.next_in_path(*l2output) : std::nullopt;
  if (n == in.networks.end() || !arp || !out) {
    if (counts) *counts = c;
    return d;
  }
  const uint32_t id = n->second.netid;
  const std::vector<BoundPort>& local = in.ports.at(key);
  auto answer = [&](uint32_t ip, const model::detail::Mac& mac, bool from_logical, bool broadcast_only) {
    put(d, *arp, kP, id, request(id, ip, from_logical, broadcast_only),
        back_to_asker(arp_reply(ip, mac), *out));
  };
  // §2.1: every port of the network with an address, wherever it is bound.
  for (const auto& pid : model.ports_of(key)) {
    auto p = model.logical_ports().find(pid);
    if (p == model.logical_ports().end() || !p->second.ip || !p->second.mac) continue;
    answer(*p->second.ip, *p->second.mac, true, settings_.broadcast_only);
    ++c.ports;
  }
  // §2.1: the router's addresses, with the router MAC. Unicast requests too (a host refreshing
  // its gateway's entry): no port owns these addresses to answer them (VLCP's proxy entries).
  bool router_network = false;
  if (settings_.router_mac)
    for (const RouterAddress& r : router_addresses(model, key)) {
      answer(r.ip, *settings_.router_mac, true, false);
      router_network = true;
      ++c.router;
    }
  // §2.2: on a router network, requests from the physical side for a local port are answered
  // here (l3router drops the others, §2.4). VLAN and native only: a tunnelled request's reply
  // would go back into the tunnel towards this server's own address (a received frame's tun_dst).
  const std::string& type = n->second.type;
  if (settings_.proxy_physical && router_network && (type == "vlan" || type == "native"))
    for (const BoundPort& b : local) {
      const LogicalPortObj& p = model.logical_ports().at(b.pid);
      if (!p.ip || !p.mac) continue;
      answer(*p.ip, *p.mac, false, false);
      ++c.proxy;
    }
  // §2.3: a port's request for its own address (gratuitous ARP, duplicate address detection) is
  // never answered; it goes on to the physical network where it tells switches there, and stops
  // here elsewhere.
  bool pass = settings_.free_arp && settings_.free_arp_types.count(type);
  auto after_arp = tables_.next_in_path(*arp);
  for (const BoundPort& b : local) {
    const LogicalPortObj& p = model.logical_ports().at(b.pid);
    if (!p.ip || !p.mac) continue;
    Match m;
    m.add(Field::kEthType, kEthTypeArp)
        .add(Field::kInPort, b.ofport)
        .add(kRegInNet, id)
        .add(Field::kArpOp, kArpRequest)
        .add(Field::kArpTpa, *p.ip);
    if (settings_.broadcast_only)
      m.add_bytes(Field::kEthDst, ByteSpan(kMulticastBit, 6), ByteSpan(kMulticastBit, 6));
    InstructionList i;
    if (pass && after_arp) i.goto_table(*after_arp);
    put(d, *arp, kP + 10, id, m, i);
    ++c.free_arp;
  }
  if (counts) *counts = c;
  return d;
}

flows::Desired ArpApp::base() const {
  flows::Desired d;
  auto arp = tables_.id("arp");
  if (!settings_.disable_others || !arp) return d;
  // VLCP's disableothers: requests no flow above answered go nowhere.
  Match m;
  m.add(Field::kEthType, kEthTypeArp).add(Field::kArpOp, kArpRequest);
  if (settings_.broadcast_only)
    m.add_bytes(Field::kEthDst, ByteSpan(kMulticastBit, 6), ByteSpan(kMulticastBit, 6));
  put(d, *arp, 1, 0, m, InstructionList());
  return d;
}

}  // namespace vlcp::apps
