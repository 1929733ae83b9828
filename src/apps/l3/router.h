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
// Partitions: "net/<network key>" (entering the router from a network with a port here: its
// l3input entry and routes), "hosts/<network key>" (the host flows into a router network),
// "base" (the learning miss).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apps/app.h"
#include "apps/l3/l3.h"
#include "pipeline/flowset.h"
#include "pipeline/tables.h"

namespace vlcp::apps {

inline constexpr flows::AppId kL3AppId = 6;  // docs/L3_FLOWS.md §1

struct L3Stats {
  uint64_t misses = 0, resolved = 0, unresolved = 0;
};

class L3Router final : public FlowApp {
 public:
  static constexpr const char* kAppName = "l3";
  L3Router(const ModelView& model, const pipeline::TableMap& tables, L3Settings settings);

  std::string name() const override { return kAppName; }
  std::set<flows::AppId> cookie_ids() const override { return {kL3AppId}; }
  std::set<schema::Kind> reads() const override;
  std::map<std::string, flows::Desired> compute(const ModelView& model,
                                                const SwitchContext& sw) const override;
  std::map<std::string, flows::Desired> compute(const ModelView& model, const SwitchContext& sw,
                                                const std::set<std::string>& partitions) const override;
  Dirty on_model(const ModelView& model, const ModelChange& change) const override;
  void packet_in(flows::AppId app_id, const SwitchContext& sw, ByteSpan message, Buffer& answers) override;
  nlohmann::json status(const ModelView& model) const override;
  std::vector<AppMetric> metrics() const override;

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
  };
  struct Inputs {
    std::map<std::string, Net> nets;    // every network of a router that serves this switch
    std::set<std::string> from;         // those with a port here (routing starts there)
    std::set<std::string> local_ports;  // logical port key parts bound here
    // Per router serving this switch: its interfaces as (network key, subnet cidr).
    std::map<std::string, std::vector<std::pair<std::string, model::detail::Cidr>>> routers;
  };
  Inputs inputs(const SwitchContext& sw) const;

 private:
  flows::Desired base() const;
  flows::Desired from_network(const Inputs& in, const std::string& net) const;
  flows::Desired hosts(const Inputs& in, const std::string& net) const;
  // The host flow into network `to` (null: the host has no MAC or the tables are missing).
  std::optional<ofp::FlowMod> host_flow(const Inputs& in, const std::string& to, const Host& h) const;
  std::vector<Host> hosts_of(const Inputs& in, const std::string& net) const;

  const ModelView& model_;
  const pipeline::TableMap& tables_;
  L3Settings settings_;
  L3Stats stats_;
};

}  // namespace vlcp::apps
