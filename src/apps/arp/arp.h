// The ARP responder (VLCP's arpresponder) as a flow app on the platform (apps/app.h), with the
// flows of docs/L3_FLOWS.md §2 in table `arp`: requests answered by the switch itself, rewritten
// into the reply and sent back out the asker's port (no packet-in, no flood, nothing crosses to
// another server). Per network with a port on the switch (partition `arp/<network key>`):
//   §2.1 every port of the network with an address (local and remote) and, when the pipeline
//        runs l3router or icmpresponder, the router's address on each of its subnets (the router
//        MAC, apps/l3/l3.h);
//   §2.2 with l3router, on VLAN and native router networks: the local ports' addresses answered
//        to requests from the physical side too (l3router drops the rest of those, §2.4);
//   §2.3 a local port's request for its own address (gratuitous ARP, DAD) is not answered: it
//        goes on to the physical network on the network types of enable_freearp_networktypes,
//        and stops here on the others (their responders already know every address).
// `disableothers` adds partition `arp/base`: every other request dropped. Registered as app
// "arp" (module arpresponder, keys VLCP_ARP_KEYS) in arp_app.cc. What both responders read
// about a switch (its networks, bound ports, the router's addresses) is here too: the ICMP
// responder (apps/icmp) shares it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apps/app.h"
#include "base/config.h"
#include "base/result.h"
#include "flows/cookie.h"
#include "model/address.h"
#include "ofp/actions.h"
#include "pipeline/tables.h"

namespace vlcp::apps {

// --- what the responders read about a switch --------------------------------------------------

struct ResponderNetwork {  // a logical network as the responders need it
  std::string key;
  uint32_t netid = 0;
  std::string type;  // its physical network's: vlan, vxlan, native, local
};
struct BoundPort {  // a logical port bound on the switch
  uint32_t ofport = 0;
  std::string pid;  // its key part (ModelView::logical_ports())
};
struct ResponderInputs {
  std::map<std::string, ResponderNetwork> networks;     // the networks with a port on the switch
  std::map<std::string, std::vector<BoundPort>> ports;  // network key -> its ports here, by ofport
};
// A network with its netid and a known physical network (none: it gets no flows yet).
std::optional<ResponderNetwork> responder_network(const ModelView& model, const std::string& key);
ResponderInputs responder_inputs(const ModelView& model, const SwitchContext& sw);

// The router's address on a subnet: the interface's own, else the subnet's gateway.
struct RouterAddress {
  uint32_t ip = 0;  // host order
  std::string subnet, interface;
};
// One per non-external subnet of the network whose router interface exists and is the one the
// subnet names (external subnets' gateways are the outside router's, never answered for).
std::vector<RouterAddress> router_addresses(const ModelView& model, const std::string& network);

// The end of every answer the switch makes itself: out the port the request came in on (REG6 :=
// in_port, REG7's hairpin flag; l2's egress flow for it outputs to IN_PORT), by the table after
// l2output (the frame is already addressed: no lookup, no flood).
ofp::InstructionList back_to_asker(ofp::ActionList rewrite, uint8_t after_l2output);
// An ARP request rewritten into `mac`'s reply for `ip` (the asker's addresses become the target's).
ofp::ActionList arp_reply(uint32_t ip, const model::detail::Mac& mac);
// What a model change dirties for a responder: the networks it names (every kind a responder
// reads names them: a router interface its subnet's network, a physical network its logical ones).
Dirty responder_dirty(const ModelChange& c);
// Drops the per-switch entries of switches no longer known (after a round).
template <typename Map>
void keep_known_switches(Map& per_switch, const std::vector<SwitchContext>& switches) {
  std::set<uint64_t> known;
  for (const auto& sw : switches) known.insert(sw.dpid);
  for (auto it = per_switch.begin(); it != per_switch.end();)
    it = known.count(it->first) ? std::next(it) : per_switch.erase(it);
}
// The ARP rewrite and ICMP echo rewrite, and the match of a request from a local port or from
// the physical side (REG7 0x4000), are spelled in arp.cc and icmp.cc.

// --- the ARP responder ------------------------------------------------------------------------

inline constexpr flows::AppId kArpAppId = 4;  // cookies: 4 << 48 | netid (docs/L3_FLOWS.md §1)

// X(field, key, C++ type, default, help): VLCP's names and defaults.
#define VLCP_ARP_KEYS(X)                                                                              \
  X(prepush, "module.arpresponder.prepush", bool, true,                                               \
    "accepted for VLCP configurations; vlcpd always answers ARP by flows (VLCP's prepush = True), "   \
    "never by packet-in")                                                                             \
  X(broadcastonly, "module.arpresponder.broadcastonly", bool, true,                                   \
    "answer only broadcast requests for ports: a unicast one (a neighbour refresh) reaches the port " \
    "(the router's addresses are answered either way: nothing else owns them)")                       \
  X(disableothers, "module.arpresponder.disableothers", bool, false,                                  \
    "drop every ARP request the responder does not answer (hosts then reach no address outside the "  \
    "model)")                                                                                         \
  X(enable_freearp, "module.arpresponder.enable_freearp", bool, true,                                 \
    "a port's gratuitous ARP goes on to the physical network (on the types below); false: dropped")   \
  X(enable_freearp_networktypes, "module.arpresponder.enable_freearp_networktypes",                   \
    std::vector<std::string>, (std::vector<std::string>{"vlan", "native"}),                           \
    "the network types whose ports' gratuitous ARP goes on to the physical network (vlan, native, "   \
    "vxlan, local)")

struct ArpSettings {
  bool broadcast_only = true;
  bool disable_others = false;
  bool free_arp = true;
  std::set<std::string> free_arp_types{"vlan", "native"};
  // The router MAC (module.l3router.inroutermac) when the pipeline has something answering for
  // the router (l3router, or icmpresponder: a ping to the gateway needs its ARP answered, as VLCP's
  // icmpresponder made arpresponder answer it): the router's addresses are answered.
  std::optional<model::detail::Mac> router_mac;
  // With l3router (which drops the other requests from outside on router networks, §2.4): ports
  // of VLAN and native router networks answered to the physical side too (§2.2).
  bool proxy_physical = false;
};
// Reads and checks the keys; the router MAC from apps/l3/l3.h.
Result<ArpSettings> read_arp_settings(const Config& config, const pipeline::PipelineSettings& pipeline);

// What one switch's answers are, per partition (status and metrics).
struct ArpCounts {
  size_t ports = 0;     // §2.1 port addresses (local and remote)
  size_t router = 0;    // §2.1 router addresses
  size_t proxy = 0;     // §2.2 local ports answered to the physical side
  size_t free_arp = 0;  // §2.3 local ports' own addresses
};

class ArpApp final : public FlowApp {
 public:
  static constexpr const char* kAppName = "arp";
  static constexpr const char* kBase = "base";  // disableothers' drop
  static std::set<schema::Kind> kinds() {
    using schema::Kind;
    return {Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kLogicalPort, Kind::kSubnet,
            Kind::kRouterInterface};
  }
  ArpApp(const pipeline::TableMap& tables, ArpSettings settings);

  std::string name() const override { return kAppName; }
  std::set<flows::AppId> cookie_ids() const override { return {kArpAppId}; }
  std::set<schema::Kind> reads() const override { return kinds(); }
  std::map<std::string, flows::Desired> compute(const ModelView& model,
                                                const SwitchContext& sw) const override;
  std::map<std::string, flows::Desired> compute(const ModelView& model, const SwitchContext& sw,
                                                const std::set<std::string>& partitions) const override;
  std::set<std::string> always() const override;
  Dirty on_model(const ModelView& model, const ModelChange& change) const override;
  Dirty on_switch(const ModelView& model, const SwitchContext& sw) const override;
  void after_round(const std::vector<SwitchContext>& switches) override;
  nlohmann::json status(const ModelView& model) const override;
  nlohmann::json switch_status(const ModelView& model, const SwitchContext& sw) const override;
  std::vector<AppMetric> metrics() const override;

  // One network's flows on a switch (empty when it has no port there); `counts` what they answer.
  flows::Desired network(const ModelView& model, const ResponderInputs& in, const std::string& key,
                         ArpCounts* counts = nullptr) const;
  flows::Desired base() const;
  const ArpSettings& settings() const { return settings_; }

 private:
  std::map<std::string, flows::Desired> compute(const ModelView& model, const SwitchContext& sw,
                                                const ResponderInputs& in,
                                                const std::set<std::string>& partitions) const;
  const pipeline::TableMap& tables_;
  ArpSettings settings_;
  // What the last computation of each switch's partitions answered (dpid -> partition ->
  // counts): kept by compute(), pruned to the switches of the last round.
  mutable std::map<uint64_t, std::map<std::string, ArpCounts>> counts_;
};

}  // namespace vlcp::apps
