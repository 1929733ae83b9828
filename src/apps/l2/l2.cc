#include "apps/l2/l2.h"

#include <cstdio>

#include "ofp/actions.h"
#include "ofp/match.h"

namespace vlcp::apps {

using ofp::ActionList;
using ofp::Field;
using ofp::InstructionList;
using ofp::Match;

namespace {
struct L2Keys {
  VLCP_L2_KEYS(VLCP_KEYS_FIELD)
};
}  // namespace

Result<L2Settings> read_l2_settings(const Config& config) {
  L2Keys keys;
  VLCP_L2_KEYS(VLCP_KEYS_READ)
  L2Settings s;
  s.l2 = !keys.learning ? L2Strategy::kPrepush
         : keys.nxlearn ? L2Strategy::kLearn
                        : L2Strategy::kControllerLearn;
  s.vxlan_prepush = keys.vxlan_prepush;
  s.vxlan_learn = keys.vxlan_learning;
  for (auto [v, key] : {std::pair{keys.learntimeout, "module.l2switch.learntimeout"},
                        std::pair{keys.vxlan_learntimeout, "module.vxlancast.learntimeout"},
                        std::pair{keys.pushtimeout, "module.vxlancast.pushtimeout"}})
    if (v < 1 || v > 65535)
      return make_error(Errc::kInvalidArgument, config.where(key) + ": " + key + " must be 1-65535 seconds");
  s.learn_timeout = static_cast<uint16_t>(keys.learntimeout);
  s.vxlan_timeout = static_cast<uint16_t>(keys.vxlan_learntimeout);
  s.push_timeout = static_cast<uint16_t>(keys.pushtimeout);
  if (keys.unknownunicast == "flood")
    s.unknown_unicast = UnknownUnicast::kFlood;
  else if (keys.unknownunicast == "tunnels")
    s.unknown_unicast = UnknownUnicast::kTunnels;
  else
    return config.error_at("module.vxlancast.unknownunicast",
                           "'" + keys.unknownunicast + "': flood or tunnels");
  return s;
}

std::set<std::string> Inputs::active_networks() const {
  std::set<std::string> out;
  for (const auto& [ofport, p] : ports)
    if (networks.count(p.network)) out.insert(p.network);
  for (const auto& key : routed)
    if (networks.count(key)) out.insert(key);
  return out;
}

std::set<uint32_t> Inputs::remote_vteps(const std::string& network) const {
  std::set<uint32_t> out;
  auto it = remote.find(network);
  if (it != remote.end())
    for (const auto& r : it->second) out.insert(r.vtep);
  return out;
}

namespace {

constexpr uint16_t kP = 0x8000;  // OFP_DEFAULT_PRIORITY, VLCP's "P"
const uint8_t kMulticastBit[6] = {1, 0, 0, 0, 0, 0};
const uint8_t kZeroMac[6] = {0, 0, 0, 0, 0, 0};
const uint8_t kStp[6] = {0x01, 0x80, 0xc2, 0, 0, 0};
const uint8_t kStpMask[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xf0};

void flow(Desired& d, uint8_t table, uint16_t priority, uint64_t cookie, const Match& match,
          const InstructionList& instructions) {
  ofp::FlowMod f;
  f.table_id = table;
  f.priority = priority;
  f.cookie = cookie;
  f.match = match;
  f.instructions = instructions;
  pipeline::put_flow(d.flows, f);
}

Match eth(Field f, const Mac& mac) {
  Match m;
  const uint8_t(&raw)[6] = *reinterpret_cast<const uint8_t(*)[6]>(mac.data());
  m.add_eth(f, raw);
  return m;
}

// The actions that put a packet of network `n` on the wire of its physical port.
ActionList uplink_output(const Network& n, uint32_t ofport) {
  ActionList a;
  if (n.type == "vlan") a.push_vlan(0x8100).set_field(Field::kVlanVid, 0x1000 | n.segment);
  a.output(ofport);
  return a;
}

}  // namespace

L2Flows::L2Flows(const pipeline::TableMap& tables, L2Settings settings)
    : tables_(tables), settings_(settings) {}

Desired L2Flows::base(const Inputs& /*in*/) const {
  Desired d;
  // Each path's default: on to the next table of the path; the side paths' single tables and
  // the last table have no default (a miss drops, or returns from a resubmit).
  for (const auto& table : tables_.tables)
    if (auto next = tables_.next_in_path(table.id))
      flow(d, table.id, 0, cookie(App::kBase), Match(), InstructionList().goto_table(*next));
  // ingress and egress drop what no port claims.
  if (auto ingress = t("ingress")) flow(d, *ingress, 0, cookie(App::kBase), Match(), InstructionList());
  if (auto egress = t("egress")) flow(d, *egress, 0, cookie(App::kBase), Match(), InstructionList());
  if (auto l2input = t("l2input")) {
    // Frames from a multicast source are invalid; 802.1D (STP, pause, LACP) frames stay local.
    Match mcast;
    mcast.add_bytes(Field::kEthSrc, ByteSpan(kMulticastBit, 6), ByteSpan(kMulticastBit, 6));
    flow(d, *l2input, kP + 100, cookie(App::kL2), mcast, InstructionList());
    Match stp;
    stp.add_bytes(Field::kEthDst, ByteSpan(kStp, 6), ByteSpan(kStpMask, 6));
    flow(d, *l2input, kP + 100, cookie(App::kL2), stp, InstructionList());
  }
  auto l2output = t("l2output"), l2learning = t("l2learning"), l2input = t("l2input");
  if (l2output) {
    // Broadcast and multicast: flooded (REG6 stays 0).
    Match mcast;
    mcast.add_bytes(Field::kEthDst, ByteSpan(kMulticastBit, 6), ByteSpan(kMulticastBit, 6));
    if (auto next = tables_.next_in_path(*l2output))
      flow(d, *l2output, kP + 10, cookie(App::kL2), mcast, InstructionList().goto_table(*next));
  }
  if (settings_.l2 != L2Strategy::kPrepush && l2input && l2output && l2learning) {
    auto after_input = tables_.next_in_path(*l2input);
    auto after_output = tables_.next_in_path(*l2output);
    // Unicast destinations come from what was learned: l2output looks in l2learning first.
    InstructionList lookup;
    lookup.apply_actions(ActionList().resubmit(0xfff8, *l2learning));  // 0xfff8: the packet's own in_port
    if (after_output) lookup.goto_table(*after_output);
    flow(d, *l2output, 1, cookie(App::kL2), Match(), lookup);
    InstructionList learn;
    if (settings_.l2 == L2Strategy::kLearn) {
      // OVS learns: frames to this source, in this network, go to the port it came in on (and
      // to the node it came from, when it came through a tunnel).
      ofp::LearnHeader h;
      h.table_id = *l2learning;
      h.hard_timeout = settings_.learn_timeout;
      h.priority = kP;
      h.cookie = kCookieDynamic | cookie(App::kL2);
      using Spec = ofp::LearnSpec;
      learn.apply_actions(ActionList().learn(
          h,
          {Spec{Spec::Kind::kMatch, 32, false, {kRegInNet, 0, 32}, {}, {kRegOutNet, 0, 32}},
           Spec{Spec::Kind::kMatch, 48, false, {Field::kNxmEthSrc, 0, 48}, {}, {Field::kNxmEthDst, 0, 48}},
           Spec{Spec::Kind::kLoad, 16, false, {Field::kNxmInPort, 0, 16}, {}, {kRegOutPort, 0, 16}},
           Spec{
               Spec::Kind::kLoad, 32, false, {Field::kTunIpv4Src, 0, 32}, {}, {Field::kTunIpv4Dst, 0, 32}}}));
      if (after_input) learn.goto_table(*after_input);
      flow(d, *l2input, 0, cookie(App::kL2), Match(), learn);
    } else {
      // The controller learns (on the worker lcores): a copy of the frame's head goes up until
      // its source is learned and suppressed there; the frame goes on.
      learn.apply_actions(ActionList().output(ofp::kPortController, 128));
      if (after_input) learn.goto_table(*after_input);
      flow(d, *l2input, 1, cookie(App::kL2) | kCookieToWorkers, Match(), learn);
    }
  }
  return d;
}

Desired L2Flows::network(const Inputs& in, const std::string& key) const {
  Desired d;
  auto nit = in.networks.find(key);
  if (nit == in.networks.end()) return d;
  const Network& n = nit->second;
  std::vector<const LocalPort*> ports;
  for (const auto& [ofport, p] : in.ports)
    if (p.network == key) ports.push_back(&p);
  if (ports.empty() && !in.routed.count(key)) return d;
  const uint32_t id = n.netid;
  auto ingress = t("ingress"), l2input = t("l2input"), l2output = t("l2output"), egress = t("egress");
  auto vxlanoutput = t("vxlanoutput");
  if (!ingress || !l2input || !egress) return d;
  // The network's way out of the server: its physical port (VLAN, native) or the tunnel (VXLAN).
  std::optional<uint32_t> uplink;
  uint32_t tunnel = 0;
  if (auto u = in.uplinks.find(n.physnet); u != in.uplinks.end()) {
    if (n.type == "vlan" || n.type == "native") uplink = u->second;
    if (n.type == "vxlan") tunnel = u->second;
  }
  const bool vxlan = tunnel != 0;
  auto vxlaninput = t("vxlaninput"), vxlanlearning = t("vxlanlearning");
  std::set<uint32_t> vteps = vxlan ? in.remote_vteps(key) : std::set<uint32_t>{};

  auto enter = [&](uint32_t flags) {
    ActionList a;
    a.set_field(kRegInNet, id).set_field(kRegOutNet, id);
    if (flags) a.set_field(kRegFlags, flags);
    return a;
  };
  // ingress: the logical ports, and the network's traffic on the physical port or the tunnel.
  for (const LocalPort* p : ports)
    flow(d, *ingress, kP, cookie(App::kIo, id), Match().add(Field::kInPort, p->ofport),
         InstructionList().apply_actions(enter(kFlagFromLogical)).goto_table(*l2input));
  if (uplink && n.type == "vlan")
    flow(d, *ingress, kP, cookie(App::kIo, id),
         Match().add(Field::kInPort, *uplink).add(Field::kVlanVid, 0x1000 | n.segment),
         InstructionList()
             .apply_actions(ActionList().pop_vlan().set_field(kRegInNet, id).set_field(kRegOutNet, id))
             .goto_table(*l2input));
  if (uplink && n.type == "native")  // untagged frames only: a tagged one is no native traffic
    flow(d, *ingress, kP - 1, cookie(App::kIo, id),
         Match().add(Field::kInPort, *uplink).add(Field::kVlanVid, 0),
         InstructionList().apply_actions(enter(0)).goto_table(*l2input));
  if (vxlan)
    flow(d, *ingress, kP, cookie(App::kIo, id),
         Match().add(Field::kInPort, tunnel).add(Field::kTunnelId, n.segment),
         InstructionList().apply_actions(enter(0)).goto_table(*l2input));

  // l2output: local MACs to their port; the rest of a VLAN or native network to its physical
  // port (unless a port here has no MAC the model knows: then unknown destinations flood).
  bool all_macs = true;
  if (l2output) {
    auto next = tables_.next_in_path(*l2output);
    for (const LocalPort* p : ports) {
      if (!p->mac) {
        all_macs = false;
        continue;
      }
      if (settings_.l2 != L2Strategy::kPrepush) continue;
      InstructionList i;
      i.apply_actions(ActionList().set_field(kRegOutPort, p->ofport));
      if (next) i.goto_table(*next);
      flow(d, *l2output, kP + 2, cookie(App::kL2, id), eth(Field::kEthDst, *p->mac).add(kRegOutNet, id), i);
    }
    if (uplink && all_macs && settings_.l2 == L2Strategy::kPrepush) {
      InstructionList i;
      i.apply_actions(ActionList().set_field(kRegOutPort, *uplink));
      if (next) i.goto_table(*next);
      flow(d, *l2output, kP + 1, cookie(App::kL2, id), Match().add(kRegOutNet, id), i);
    }
  }
  // vxlanoutput: remote MACs to their node.
  if (vxlan && vxlanoutput && settings_.vxlan_prepush) {
    auto r = in.remote.find(key);
    if (r != in.remote.end())
      for (const RemotePort& rp : r->second)
        if (rp.mac) pipeline::put_flow(d.flows, remote_mac_flow(id, *rp.mac, rp.vtep, tunnel));
  }
  if (vxlan && vxlanoutput && vxlaninput && vxlanlearning && settings_.vxlan_learn) {
    // OVS learns where remote MACs are from what arrives through the tunnel: in vxlanlearning,
    // frames of this network to the source MAC go to the node it came from (tun_dst := tun_src,
    // out through the tunnel). Learned entries are the switch's, never the installer's.
    ofp::LearnHeader h;
    h.table_id = *vxlanlearning;
    h.hard_timeout = settings_.vxlan_timeout;
    h.priority = kP;
    h.cookie = kCookieDynamic | cookie(App::kVxlan, id);
    using Spec = ofp::LearnSpec;
    InstructionList learn;
    learn.apply_actions(ActionList().learn(
        h, {Spec{Spec::Kind::kMatch, 32, false, {kRegInNet, 0, 32}, {}, {kRegOutNet, 0, 32}},
            Spec{Spec::Kind::kMatch, 48, false, {Field::kNxmEthSrc, 0, 48}, {}, {Field::kNxmEthDst, 0, 48}},
            Spec{Spec::Kind::kLoad, 32, false, {Field::kTunIpv4Src, 0, 32}, {}, {Field::kTunIpv4Dst, 0, 32}},
            Spec{Spec::Kind::kLoad, 16, false, {Field::kNxmInPort, 0, 16}, {}, {kRegOutPort, 0, 16}}}));
    if (auto next = tables_.next_in_path(*vxlaninput)) learn.goto_table(*next);
    flow(d, *vxlaninput, kP, cookie(App::kVxlan, id), Match().add(Field::kInPort, tunnel).add(kRegInNet, id),
         learn);
    // Unicast from this server's ports with no destination yet looks there (below any pushed
    // MAC); what came through a tunnel is never sent back into one.
    InstructionList lookup;
    lookup.apply_actions(ActionList().resubmit(0xfff8, *vxlanlearning));
    if (auto next = tables_.next_in_path(*vxlanoutput)) lookup.goto_table(*next);
    flow(d, *vxlanoutput, 1, cookie(App::kVxlan, id),
         Match()
             .add(kRegOutNet, id)
             .add(kRegOutPort, 0)
             .add_masked(kRegFlags, kFlagFromLogical, kFlagFromLogical),
         lookup);
  }

  if (vxlan && vxlanoutput && settings_.vxlan_first_packet()) {
    // Unknown unicast to the controller, which looks the MAC up in the model, installs a flow
    // for it (idle timeout) and sends the frame through the tables again.
    Match unicast;
    unicast.add_bytes(Field::kEthDst, ByteSpan(kZeroMac, 6), ByteSpan(kMulticastBit, 6));
    flow(d, *vxlanoutput, kP, cookie(App::kVxlan, id), unicast.add(kRegOutNet, id).add(kRegOutPort, 0),
         InstructionList().apply_actions(ActionList().output(ofp::kPortController, 0xffff)));
  }

  // egress: each port, hairpin when allowed, the physical port, the tunnel, and the floods.
  if (vxlan)  // the destination node (tun_dst) was resolved before: this network's VNI
    flow(d, *egress, kP, cookie(App::kVxlan, id), Match().add(kRegOutPort, tunnel).add(kRegOutNet, id),
         InstructionList().apply_actions(ActionList().set_field(Field::kTunnelId, n.segment).output(tunnel)));
  std::vector<ofp::Bucket> all, inside;
  for (const LocalPort* p : ports) {
    flow(d, *egress, kP, cookie(App::kIo, id), Match().add(kRegOutPort, p->ofport),
         InstructionList().apply_actions(ActionList().output(p->ofport)));
    flow(d, *egress, kP + 1, cookie(App::kIo, id),
         Match()
             .add(Field::kInPort, p->ofport)
             .add(kRegOutPort, p->ofport)
             .add_masked(kRegFlags, kFlagHairpin, kFlagHairpin),
         InstructionList().apply_actions(ActionList().output(ofp::kPortInPort)));
    ofp::Bucket b;
    b.actions.output(p->ofport);
    all.push_back(b);
    inside.push_back(b);
  }
  if (uplink) {
    flow(d, *egress, kP, cookie(App::kIo, id), Match().add(kRegOutPort, *uplink).add(kRegOutNet, id),
         InstructionList().apply_actions(uplink_output(n, *uplink)));
    // Back out of the physical port it came in on (an answer for the physical side: proxy ARP);
    // OVS drops output to the in_port silently.
    ActionList back;
    if (n.type == "vlan") back.push_vlan(0x8100).set_field(Field::kVlanVid, 0x1000 | n.segment);
    back.output(ofp::kPortInPort);
    flow(d, *egress, kP + 1, cookie(App::kIo, id),
         Match()
             .add(Field::kInPort, *uplink)
             .add(kRegOutPort, *uplink)
             .add(kRegOutNet, id)
             .add_masked(kRegFlags, kFlagHairpin, kFlagHairpin),
         InstructionList().apply_actions(back));
    ofp::Bucket b;
    b.actions = uplink_output(n, *uplink);
    all.push_back(b);
  }
  std::vector<ofp::Bucket> to_nodes;
  for (uint32_t vtep : vteps) {
    ofp::Bucket b;
    b.actions.set_field(Field::kTunnelId, n.segment).set_field(Field::kTunIpv4Dst, vtep).output(tunnel);
    all.push_back(b);
    to_nodes.push_back(b);
  }
  pipeline::put_group(d.groups, id, 0, all);
  pipeline::put_group(d.groups, id | kGroupFromOutside, 0, inside);
  // Unknown unicast (no port here, no pushed or learned location) only where nothing local can
  // want it: every local port's MAC has its l2output flow. From a port it goes to the nodes
  // only; from the tunnel it is dropped (it was sent to every node, and its own port, if bound
  // anywhere, has its MAC's flow there). Above the floods; broadcast and multicast keep them.
  if (vxlan && all_macs && settings_.l2 == L2Strategy::kPrepush &&
      settings_.unknown_unicast == UnknownUnicast::kTunnels) {
    pipeline::put_group(d.groups, id | kGroupTunnels, 0, to_nodes);
    Match unicast;
    unicast.add_bytes(Field::kEthDst, ByteSpan(kZeroMac, 6), ByteSpan(kMulticastBit, 6));
    Match from_port = unicast;
    flow(d, *egress, kP + 1, cookie(App::kVxlan, id),
         from_port.add(kRegOutPort, 0)
             .add(kRegOutNet, id)
             .add_masked(kRegFlags, kFlagFromLogical, kFlagFromLogical),
         InstructionList().apply_actions(ActionList().group(id | kGroupTunnels)));
    flow(d, *egress, kP + 1, cookie(App::kVxlan, id),
         unicast.add(Field::kInPort, tunnel).add(kRegOutPort, 0).add(kRegOutNet, id), InstructionList());
  }
  flow(d, *egress, kP, cookie(App::kIo, id),
       Match()
           .add(kRegOutPort, 0)
           .add(kRegOutNet, id)
           .add_masked(kRegFlags, kFlagFromLogical, kFlagFromLogical),
       InstructionList().apply_actions(ActionList().group(id)));
  flow(d, *egress, kP - 1, cookie(App::kIo, id), Match().add(kRegOutPort, 0).add(kRegOutNet, id),
       InstructionList().apply_actions(ActionList().group(id | kGroupFromOutside)));
  return d;
}

ofp::FlowMod L2Flows::remote_mac_flow(uint32_t netid, const Mac& mac, uint32_t vtep,
                                      uint32_t tunnel_ofport) const {
  uint8_t vxlanoutput = *t("vxlanoutput");
  ofp::FlowMod f;
  f.table_id = vxlanoutput;
  f.priority = kP + 9;
  f.cookie = cookie(App::kVxlan, netid);
  f.match = eth(Field::kEthDst, mac).add(kRegOutNet, netid).add(kRegOutPort, 0);
  f.instructions.apply_actions(
      ActionList().set_field(Field::kTunIpv4Dst, vtep).set_field(kRegOutPort, tunnel_ofport));
  if (auto next = tables_.next_in_path(vxlanoutput)) f.instructions.goto_table(*next);
  return f;
}

std::map<std::string, Desired> L2Flows::all(const Inputs& in) const {
  std::map<std::string, Desired> out;
  out[kBasePartition] = base(in);
  for (const auto& key : in.active_networks()) out[key] = network(in, key);
  return out;
}

}  // namespace vlcp::apps
