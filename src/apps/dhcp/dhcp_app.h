// The DHCP server (VLCP's dhcpserver) as a flow app on the platform (apps/app.h): per network
// partition (`dhcp/<network key>`) the punt flows of the served ports bound on a switch
// (apps/dhcp/dhcp.h), and a packet-in handler on the worker lcores that answers with
// dhcp/server.h from the leases the app publishes.
//
// Threads: the app runs on the control thread and owns the model; the handler runs on every
// worker at once and never reads the model. After each round the app builds an immutable
// LeaseTable (by datapath id and ofport) from the model and publishes it through DhcpShared;
// workers load it per packet (an atomic shared_ptr: a table stays alive while a worker uses it)
// and add what became of each packet to DhcpShared's relaxed atomic counters, which metrics()
// reads. Registered as app "dhcp" (module dhcpserver, keys VLCP_DHCP_KEYS, cookie app id 7) in
// dhcp_app.cc.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "apps/app.h"
#include "apps/dhcp/dhcp.h"

namespace vlcp::apps {

// What became of the packets the workers handled, summed over workers (relaxed: each counter
// is read alone, by metrics()).
struct DhcpCounters {
#define VLCP_DHCP_APP_COUNTER(e, counter) std::atomic<uint64_t> counter{0};
  VLCP_DHCP_OUTCOMES(VLCP_DHCP_APP_COUNTER)
#undef VLCP_DHCP_APP_COUNTER
  std::array<std::atomic<uint64_t>, dhcp::kMalformedCount + 1> malformed_by{};
  std::atomic<uint64_t> bad_packet_in{0}, options_dropped{0};

  void add(const dhcp::Counters& c);  // one worker's, for one packet
  dhcp::Counters snapshot() const;
};

// Shared by the app (writes the leases) and the worker handler (reads them, counts).
struct DhcpShared {
  // Written by the control thread (release), read by workers (acquire): the table is immutable.
  std::atomic<std::shared_ptr<const LeaseTable>> leases;
  DhcpCounters counters;
};

// The worker handler's body: one PACKET_IN answered (a PACKET_OUT of the reply appended to
// `answers`) from the leases published in `shared`.
void serve_dhcp_packet_in(const dhcp::ServerConfig& config, DhcpShared& shared, uint64_t dpid,
                          ByteSpan packet_in, Buffer& answers);

class DhcpApp final : public FlowApp {
 public:
  static constexpr const char* kAppName = "dhcp";
  DhcpApp(const ModelView& model, const pipeline::TableMap& tables, dhcp::ServerConfig config,
          std::shared_ptr<DhcpShared> shared);

  std::string name() const override { return kAppName; }
  std::set<flows::AppId> cookie_ids() const override { return {kDhcpAppId}; }
  std::set<schema::Kind> reads() const override {
    return {schema::Kind::kLogicalNetwork, schema::Kind::kLogicalPort, schema::Kind::kSubnet};
  }
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

  // The leases of the ports bound on these switches, from the model now.
  std::shared_ptr<const LeaseTable> leases(const std::vector<SwitchContext>& switches) const;
  // The table the workers use now (null before the first round).
  std::shared_ptr<const LeaseTable> published() const {
    return shared_->leases.load(std::memory_order_acquire);
  }

 private:
  // Served ports bound on a switch, by network key.
  std::map<std::string, std::vector<PuntPort>> punt_ports(const SwitchContext& sw) const;

  const ModelView& model_;
  const pipeline::TableMap& tables_;
  dhcp::ServerConfig config_;
  std::shared_ptr<DhcpShared> shared_;
  // Whether the model or a switch changed since the leases were last built (set by the const
  // change handlers, on the control thread like after_round).
  mutable bool stale_ = true;
  std::vector<uint64_t> last_switches_;
  mutable LeaseStats lease_stats_;
  uint64_t tables_published_ = 0;
};

}  // namespace vlcp::apps
