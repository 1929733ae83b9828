// The ICMP responder (VLCP's icmpresponder) as a flow app on the platform (apps/app.h), with the
// flows of docs/L3_FLOWS.md §3 in table `l3input`: an echo request to the router's address on a
// subnet, from a local port, is turned into the echo reply by the switch (addresses swapped, type
// 0, TTL 64; OVS fixes both checksums) and sent back out the asker's port. One flow per
// non-external subnet with a router interface, on every network with a port on the switch
// (partition `icmp/<network key>`), at P+1: above the router's entry for the router MAC. Registered
// as app "icmp" (module icmpresponder, keys VLCP_ICMP_KEYS) in icmp.cc.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "apps/app.h"
#include "apps/arp/arp.h"
#include "base/config.h"
#include "base/result.h"
#include "model/address.h"
#include "pipeline/tables.h"

namespace vlcp::apps {

inline constexpr flows::AppId kIcmpAppId = 5;  // cookies: 5 << 48 | netid (docs/L3_FLOWS.md §1)

// X(field, key, C++ type, default, help): VLCP's names and defaults.
#define VLCP_ICMP_KEYS(X)                                                                          \
  X(prepush, "module.icmpresponder.prepush", bool, false,                                          \
    "accepted for VLCP configurations; vlcpd always answers pings to the router by flows (VLCP's " \
    "prepush = True, OVS >= 2.5), never by packet-in")                                             \
  X(inroutermac, "module.icmpresponder.inroutermac", std::string, "1a:23:67:59:63:33",             \
    "the router MAC pings are answered from: must equal module.l3router.inroutermac (one router "  \
    "MAC per node)")

struct IcmpSettings {
  model::detail::Mac router_mac{};
};
// Reads and checks the keys (the MAC must be the router's: module.l3router.inroutermac).
// `running`: the pipeline runs icmpresponder (then its router MAC must be l3router's).
Result<IcmpSettings> read_icmp_settings(const Config& config, bool running = true);

class IcmpApp final : public FlowApp {
 public:
  static constexpr const char* kAppName = "icmp";
  static std::set<schema::Kind> kinds() {
    using schema::Kind;
    return {Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kLogicalPort, Kind::kSubnet,
            Kind::kRouterInterface};
  }
  IcmpApp(const pipeline::TableMap& tables, IcmpSettings settings);

  std::string name() const override { return kAppName; }
  std::set<flows::AppId> cookie_ids() const override { return {kIcmpAppId}; }
  std::set<schema::Kind> reads() const override { return kinds(); }
  std::map<std::string, flows::Desired> compute(const ModelView& model,
                                                const SwitchContext& sw) const override;
  std::map<std::string, flows::Desired> compute(const ModelView& model, const SwitchContext& sw,
                                                const std::set<std::string>& partitions) const override;
  Dirty on_model(const ModelView& model, const ModelChange& change) const override;
  Dirty on_switch(const ModelView& model, const SwitchContext& sw) const override;
  void after_round(const std::vector<SwitchContext>& switches) override;
  nlohmann::json status(const ModelView& model) const override;
  nlohmann::json switch_status(const ModelView& model, const SwitchContext& sw) const override;
  std::vector<AppMetric> metrics() const override;

  // One network's flows on a switch (empty when it has no port there): one per router address.
  flows::Desired network(const ModelView& model, const ResponderInputs& in, const std::string& key) const;

 private:
  std::map<std::string, flows::Desired> compute(const ModelView& model, const SwitchContext& sw,
                                                const ResponderInputs& in,
                                                const std::set<std::string>& partitions) const;
  const pipeline::TableMap& tables_;
  IcmpSettings settings_;
  // The router addresses each switch answers pings for, per partition, as last computed.
  mutable std::map<uint64_t, std::map<std::string, size_t>> answered_;
};

}  // namespace vlcp::apps
