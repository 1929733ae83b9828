// The distributed L3 router (VLCP's l3router) as a flow app (apps/app.h): routing happens on the
// sender's server, with one router MAC for every interface (docs/L3_FLOWS.md §4, each flow proven
// on real OVS):
//   l3input   P      ip,reg4=<from>,dl_dst=<router MAC>           -> l3router
//   l3router  P+len  ip,reg4=<from>,nw_dst=<subnet of an interface> -> reg5=<to>, l3output
//             P+len  ip,reg4=<from>,nw_dst=<static route>           -> rewrite to its nexthop, l2output
//   l3output  P+1    ip,reg5=<to>,nw_dst=<host>  -> eth_src, eth_dst=<host MAC>, dec_ttl, l2output
// after which the frame is an ordinary frame of network <to> (the L2 app delivers it, locally,
// through the tunnel or the uplink). A routed frame leaving the server carries the server's own
// router MAC on that network (its way out's MAC XOR module.l3router.outroutermacmask), never the
// shared one. Pre-push installs every host of the router's networks on every server; otherwise
// (VLCP's default) only the local ones, and a routed packet to a remote host misses l3output
// into the controller, which finds the host in the model, installs its flow (idle timeout) and
// sends the packet on (a host the model does not know is not resolved: counted).
//
// An address the model does not place (an external gateway, a static route's nexthop outside
// the model, a host on a VLAN network no logical port describes) is resolved by ARP from the
// controller (apps/l3/resolver.h): routed packets to it are kept meanwhile, and the answer
// installs its flow (arp_complete_timeout) and sends them on; an unanswered one is refused by a
// short-lived drop flow.
//
// External networks (docs/L3_FLOWS.md §5): a router interface on an external subnet (VLAN or
// native) makes every server with module.l3router.enable_router_forward and a physical port on
// its physical network a forwarding node: it takes an address in the external subnet
// (pre_host_config's local_address for it, else allocated in the subnet's address index and
// published in viperflow.dvrouterexternaladdressinfo), answers ARP for it, routes between the
// external subnet and the router's other subnets and sends everything else to the subnet's
// gateway; and publishes, per physical network of the router, its router MAC there in
// viperflow.dvrouterforwardinfo.<from>.<to>. Every other server sends the router's external
// traffic to a forwarding node's router MAC on the source network (no dec_ttl: the forwarding
// node routes), over VXLAN by a flow to that node.
//
// Partitions: "net/<network key>" (entering the router from a network with a port here: its
// l3input entry and routes), "hosts/<network key>" (the host flows into a router network, and
// the punt of ARP answers to the router there), "base" (the learning miss).
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apps/app.h"
#include "apps/l3/l3.h"
#include "apps/l3/resolver.h"
#include "db/objectdb.h"
#include "ofp/message.h"
#include "pipeline/flowset.h"
#include "pipeline/registers.h"
#include "pipeline/tables.h"

namespace vlcp::apps {

inline constexpr flows::AppId kL3AppId = 6;  // docs/L3_FLOWS.md §1

struct L3Stats {
  uint64_t misses = 0, resolved = 0, unresolved = 0;
  uint64_t arp_requests = 0, arp_answers = 0, arp_ignored = 0, arp_refused = 0, kept = 0, sent_on = 0,
           kept_dropped = 0, publish_writes = 0, publish_failures = 0;
};

// REG3: the nexthop a route sends a packet through (0: its IP destination), for l3output
// (declared in flowtables/registers.def).
inline constexpr ofp::Field kRegNextHop = pipeline::reg::nexthop;

class L3Router final : public FlowApp {
 public:
  static constexpr const char* kAppName = "l3";
  L3Router(const ModelView& model, db::ObjectDb& db, const pipeline::TableMap& tables, L3Settings settings,
           std::function<void(std::chrono::milliseconds, std::function<void()>)> after);
  ~L3Router() override;

  std::string name() const override { return kAppName; }
  std::set<flows::AppId> cookie_ids() const override { return {kL3AppId}; }
  std::set<schema::Kind> reads() const override;
  std::map<std::string, flows::Desired> compute(const ModelView& model,
                                                const SwitchContext& sw) const override;
  std::map<std::string, flows::Desired> compute(const ModelView& model, const SwitchContext& sw,
                                                const std::set<std::string>& partitions) const override;
  Dirty on_model(const ModelView& model, const ModelChange& change) const override;
  Dirty on_switch(const ModelView& model, const SwitchContext& sw) const override;
  void packet_in(flows::AppId app_id, const SwitchContext& sw, ByteSpan message, Buffer& answers) override;
  void after_round(const std::vector<SwitchContext>& switches) override;
  nlohmann::json status(const ModelView& model) const override;
  nlohmann::json switch_status(const ModelView& model, const SwitchContext& sw) const override;
  std::vector<AppMetric> metrics() const override;
  // The router MAC, for a network with a router interface (the trace, docs/TRACE_DESIGN.md §6.3).
  std::optional<model::detail::Mac> gateway_mac(const ModelView& model,
                                                const std::string& network) const override;

  // What a switch's routing is computed from (public for tests).
  struct Host {
    uint32_t ip = 0;
    model::detail::Mac mac{};
    bool local = false;
  };
  struct Net {
    std::string key;
    uint32_t netid = 0;
    std::optional<model::detail::Mac> out_mac;  // this server's router MAC on it (none: no way out)
    std::string physnet, type;
    std::string vtep;  // this switch's tunnel address on it (VXLAN)
    bool external = false;
    // Where the router ARPs from on it: (address, subnet) per subnet with a router address here.
    std::vector<std::pair<uint32_t, model::detail::Cidr>> addresses;
    // The router's MAC on it as hosts and ARP answers see it from this server.
    const model::detail::Mac& source(const model::detail::Mac& router_mac) const {
      return out_mac ? *out_mac : router_mac;
    }
  };
  // An external subnet of a router serving this switch.
  struct External {
    std::string subnet, net;  // keys
    model::detail::Cidr cidr{};
    std::optional<uint32_t> gateway;
    bool forwarding = false;          // this switch carries the router's traffic to it
    std::optional<uint32_t> address;  // this switch's address in it (forwarding, once taken)
    bool pinned = false;              // the address is pre_host_config's (else from the pool)
  };
  // A forwarding node another switch sends a network's external traffic to.
  struct Forwarder {
    model::detail::Mac mac{};      // its router MAC on the network
    std::optional<uint32_t> vtep;  // its tunnel address (VXLAN networks)
  };
  struct Inputs {
    std::map<std::string, Net> nets;    // every network of a router that serves this switch
    std::set<std::string> from;         // those where routing starts here
    std::set<std::string> local_ports;  // logical port key parts bound here
    // Per router serving this switch: its interfaces as (network key, subnet cidr); an external
    // subnet only where this switch forwards to it.
    std::map<std::string, std::vector<std::pair<std::string, model::detail::Cidr>>> routers;
    std::map<std::string, std::vector<External>> externals;  // per router
    // Per router and internal network: the forwarding node this switch sends external traffic to.
    std::map<std::string, std::map<std::string, Forwarder>> forward_to;
    std::map<std::string, uint32_t> tunnels;  // physical network key -> this switch's tunnel ofport
  };
  Inputs inputs(const SwitchContext& sw) const;

  // What a forwarding node publishes (computed each round; written when it changes or ages).
  struct Publication {
    // (bridge, external subnet key) -> pre_host_config's address for it (0: one from the pool).
    std::map<std::pair<std::string, std::string>, uint32_t> addresses;
    // forwardinfo key -> (bridge, router MAC text, tunnel address text)
    std::map<std::string, std::vector<std::array<std::string, 3>>> forward;
    bool operator==(const Publication&) const = default;
  };
  Publication publication(const std::vector<SwitchContext>& switches) const;

 private:
  flows::Desired base() const;
  flows::Desired from_network(const Inputs& in, const std::string& net) const;
  flows::Desired hosts(const Inputs& in, const std::string& net) const;
  // The host flow into network `to` (null: the host has no MAC or the tables are missing).
  std::optional<ofp::FlowMod> host_flow(const Inputs& in, const std::string& to, const Host& h) const;
  std::vector<Host> hosts_of(const Inputs& in, const std::string& net) const;
  void external_flows(const Inputs& in, const std::string& net, flows::Desired& d) const;
  // The actions that route a packet to `mac` on network `to` (source: this server's MAC there).
  ofp::ActionList routed_to(const Net& to, const model::detail::Mac& mac, bool local) const;
  void send_on(const Net& to, const model::detail::Mac& mac, bool local, const Neighbours::Kept& k,
               Buffer& out);
  ofp::FlowMod learned_flow(const Net& to, uint32_t target, bool nexthop, const model::detail::Mac* mac,
                            bool local, uint16_t hard) const;
  void on_miss(const SwitchContext& sw, const ofp::PacketInView& p, Buffer& answers);
  void on_arp_answer(const SwitchContext& sw, const ofp::PacketInView& p, Buffer& answers);
  void publish();
  void tick();

  const ModelView& model_;
  db::ObjectDb& db_;
  const pipeline::TableMap& tables_;
  L3Settings settings_;
  std::function<void(std::chrono::milliseconds, std::function<void()>)> after_;
  L3Stats stats_;
  std::map<uint64_t, Neighbours> neighbours_;  // per switch
  std::string system_id_;
  Publication published_;  // what is in the store (as this node last wrote it)
  std::map<std::pair<std::string, std::string>, uint32_t> addresses_;  // the external addresses held
  Publication wanted_;                                                 // what this node should publish
  int64_t published_at_us_ = 0;  // when (wall clock): refreshed before it expires
  bool publishing_ = false, timer_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::apps
