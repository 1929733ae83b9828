// The ARP responder on the platform: its partitions (one per network with a port on the switch,
// and `base` with disableothers), what each model change dirties, its figures, its registration.
#include "apps/arp/arp.h"
#include "apps/registry.h"

namespace vlcp::apps {

using Json = nlohmann::json;
using schema::Kind;

std::map<std::string, flows::Desired> ArpApp::compute(const ModelView& model, const SwitchContext& sw) const {
  ResponderInputs in = responder_inputs(model, sw);
  std::set<std::string> partitions = always();
  for (const auto& [key, n] : in.networks) partitions.insert(key);
  counts_[sw.dpid].clear();
  return compute(model, sw, in, partitions);
}

std::map<std::string, flows::Desired> ArpApp::compute(const ModelView& model, const SwitchContext& sw,
                                                      const std::set<std::string>& partitions) const {
  return compute(model, sw, responder_inputs(model, sw), partitions);  // (inputs once for all)
}

std::map<std::string, flows::Desired> ArpApp::compute(const ModelView& model, const SwitchContext& sw,
                                                      const ResponderInputs& in,
                                                      const std::set<std::string>& partitions) const {
  std::map<std::string, flows::Desired> out;
  auto& counts = counts_[sw.dpid];
  for (const auto& p : partitions) {
    if (p == kBase) {
      out[p] = base();
      continue;
    }
    ArpCounts c;
    out[p] = network(model, in, p, &c);
    if (out[p].empty())
      counts.erase(p);
    else
      counts[p] = c;
  }
  return out;
}

std::set<std::string> ArpApp::always() const {
  if (settings_.disable_others) return {kBase};
  return {};
}

// Every kind it reads names the networks it touches (a router interface its subnet's network, a
// physical network its logical networks): only those are recomputed. Bindings are switch
// changes (a recompute of that switch).
Dirty responder_dirty(const ModelChange& c) {
  switch (c.kind) {
    case Kind::kPhysicalNetwork:
    case Kind::kLogicalNetwork:
    case Kind::kLogicalPort:
    case Kind::kSubnet:
    case Kind::kRouterInterface:
      return Dirty::networks(c.parents);
    default:
      return Dirty::nothing();
  }
}

Dirty ArpApp::on_model(const ModelView&, const ModelChange& c) const {
  return responder_dirty(c);
}

// A port bound or unbound: its network's partition (the responders read bound ports only).
Dirty ArpApp::on_switch(const ModelView& model, const SwitchContext& sw) const {
  auto nets = binding_networks(model, sw);
  return nets ? Dirty::networks(*nets) : Dirty::everything();
}

void ArpApp::after_round(const std::vector<SwitchContext>& switches) {
  keep_known_switches(counts_, switches);
}

Json ArpApp::status(const ModelView&) const {
  Json types = Json::array();
  for (const auto& t : settings_.free_arp_types) types.push_back(t);
  return {{"broadcastonly", settings_.broadcast_only},
          {"disableothers", settings_.disable_others},
          {"freearp_passes", settings_.free_arp ? types : Json::array()},
          {"router_mac", settings_.router_mac ? model::detail::mac_text(*settings_.router_mac) : ""},
          {"proxy_physical", settings_.proxy_physical}};
}

Json ArpApp::switch_status(const ModelView& model, const SwitchContext& sw) const {
  ResponderInputs in = responder_inputs(model, sw);
  ArpCounts total;
  Json nets = Json::object();
  for (const auto& [key, n] : in.networks) {
    ArpCounts c;
    network(model, in, key, &c);
    nets[key] = {{"ports", c.ports}, {"router", c.router}, {"proxy", c.proxy}, {"free_arp", c.free_arp}};
    total.ports += c.ports;
    total.router += c.router;
    total.proxy += c.proxy;
    total.free_arp += c.free_arp;
  }
  return {{"networks", std::move(nets)},
          {"answered", total.ports + total.router + total.proxy},
          {"free_arp", total.free_arp}};
}

std::vector<AppMetric> ArpApp::metrics() const {
  std::vector<AppMetric> out;
  for (const auto& [dpid, parts] : counts_) {
    ArpCounts t;
    for (const auto& [p, c] : parts) {
      t.ports += c.ports;
      t.router += c.router;
      t.proxy += c.proxy;
      t.free_arp += c.free_arp;
    }
    for (auto [kind, n] : {std::pair{"port", t.ports}, std::pair{"router", t.router},
                           std::pair{"proxy", t.proxy}, std::pair{"free_arp", t.free_arp}})
      out.push_back({"vlcp_arp_addresses",
                     "Addresses the switch answers ARP for by flows (port: ports' own, router: the "
                     "router's, proxy: local ports to the physical side; free_arp: ports' own requests "
                     "for themselves, never answered).",
                     {{"dpid", std::to_string(dpid)}, {"kind", kind}},
                     static_cast<double>(n)});
  }
  return out;
}

// --- registration ---------------------------------------------------------------------------------

namespace {

class ArpSpec final : public AppSpec {
 public:
  explicit ArpSpec(ArpSettings settings) : settings_(std::move(settings)) {}
  std::unique_ptr<FlowApp> make(const AppEnv& env) const override {
    return std::make_unique<ArpApp>(env.tables, settings_);
  }

 private:
  ArpSettings settings_;
};

Result<std::shared_ptr<const AppSpec>> configure(const Config& config,
                                                 const pipeline::PipelineSettings& pipeline) {
  VLCP_ASSIGN_OR_RETURN(ArpSettings settings, read_arp_settings(config, pipeline));
  return std::shared_ptr<const AppSpec>(std::make_shared<ArpSpec>(std::move(settings)));
}

}  // namespace

VLCP_REGISTER_APP(AppRegistration{
    ArpApp::kAppName, {"arpresponder"}, {VLCP_ARP_KEYS(VLCP_APP_KEY)}, configure});

}  // namespace vlcp::apps
