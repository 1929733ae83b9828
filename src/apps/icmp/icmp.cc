// The ICMP responder's flows (docs/L3_FLOWS.md §3), its partitions, figures and registration.
#include "apps/icmp/icmp.h"

#include <algorithm>

#include "apps/l2/l2.h"
#include "apps/l3/l3.h"
#include "apps/registry.h"
#include "ofp/match.h"

namespace vlcp::apps {

using Json = nlohmann::json;
using ofp::ActionList;
using ofp::Field;
using ofp::Match;
using schema::Kind;

namespace {

struct IcmpKeys {
  VLCP_ICMP_KEYS(VLCP_KEYS_FIELD)
};

constexpr uint16_t kP = 0x8000;
constexpr uint16_t kEthTypeIp = 0x0800;
constexpr uint8_t kProtoIcmp = 1, kEchoRequest = 8, kEchoReply = 0;
constexpr uint8_t kReplyTtl = 64;  // a Linux router's (VLCP's 128)

}  // namespace

Result<IcmpSettings> read_icmp_settings(const Config& config, bool running) {
  IcmpKeys keys;
  VLCP_ICMP_KEYS(VLCP_KEYS_READ)
  auto mac = model::detail::parse_mac(keys.inroutermac);
  if (!mac || ((*mac)[0] & 1))
    return config.error_at("module.icmpresponder.inroutermac",
                           "'" + keys.inroutermac + "' is not a unicast MAC address");
  VLCP_ASSIGN_OR_RETURN(L3Settings l3, read_l3_settings(config));
  if (running && *mac != l3.router_mac)  // (a node not running the responder only checks its syntax)
    return config.error_at("module.icmpresponder.inroutermac",
                           keys.inroutermac + " is not module.l3router.inroutermac (" +
                               model::detail::mac_text(l3.router_mac) + "): one router MAC per node");
  return IcmpSettings{*mac};
}

IcmpApp::IcmpApp(const pipeline::TableMap& tables, IcmpSettings settings)
    : tables_(tables), settings_(settings) {}

flows::Desired IcmpApp::network(const ModelView& model, const ResponderInputs& in,
                                const std::string& key) const {
  flows::Desired d;
  auto n = in.networks.find(key);
  auto l3input = tables_.id("l3input"), l2output = tables_.id("l2output");
  auto out = l2output ? tables_.next_in_path(*l2output) : std::nullopt;
  if (n == in.networks.end() || !l3input || !out) return d;
  const uint32_t id = n->second.netid;
  const auto& rmac = settings_.router_mac;
  for (const RouterAddress& r : router_addresses(model, key)) {
    ofp::FlowMod f;
    f.table_id = *l3input;
    f.priority = kP + 1;  // above the router's ip,dl_dst=router MAC entry (P)
    f.cookie = flows::cookie(kIcmpAppId, id);
    f.match.add(Field::kEthType, kEthTypeIp)
        .add(kRegInNet, id)
        .add_masked(kRegFlags, kFlagFromLogical, kFlagFromLogical)
        .add_bytes(Field::kEthDst, ByteSpan(rmac.data(), rmac.size()))
        .add(Field::kIpProto, kProtoIcmp)
        .add(Field::kIpv4Dst, r.ip)
        .add(Field::kIcmpv4Type, kEchoRequest)
        .add(Field::kIcmpv4Code, 0);
    ActionList a;  // (moves by NXM headers, as OVS reports them back)
    a.reg_move({Field::kNxmEthSrc}, {Field::kNxmEthDst})
        .set_field_bytes(Field::kEthSrc, ByteSpan(rmac.data(), rmac.size()))
        .reg_move({Field::kNxmIpSrc}, {Field::kNxmIpDst})
        .set_field(Field::kIpv4Src, r.ip)
        .set_field(Field::kIcmpv4Type, kEchoReply)
        .set_nw_ttl(kReplyTtl);
    f.instructions = back_to_asker(a, *out);
    pipeline::put_flow(d.flows, f);
  }
  return d;
}

std::map<std::string, flows::Desired> IcmpApp::compute(const ModelView& model,
                                                       const SwitchContext& sw) const {
  ResponderInputs in = responder_inputs(model, sw);
  std::set<std::string> partitions;
  for (const auto& [key, n] : in.networks) partitions.insert(key);
  answered_[sw.dpid].clear();
  return compute(model, sw, in, partitions);
}

std::map<std::string, flows::Desired> IcmpApp::compute(const ModelView& model, const SwitchContext& sw,
                                                       const std::set<std::string>& partitions) const {
  return compute(model, sw, responder_inputs(model, sw), partitions);
}

std::map<std::string, flows::Desired> IcmpApp::compute(const ModelView& model, const SwitchContext& sw,
                                                       const ResponderInputs& in,
                                                       const std::set<std::string>& partitions) const {
  std::map<std::string, flows::Desired> out;
  auto& answered = answered_[sw.dpid];
  for (const auto& p : partitions) {
    out[p] = network(model, in, p);
    if (out[p].empty())
      answered.erase(p);
    else
      answered[p] = out[p].flows.size();
  }
  return out;
}

// Each change names the networks it touches (a router interface its subnet's network); bindings
// are switch changes.
Dirty IcmpApp::on_model(const ModelView&, const ModelChange& c) const {
  return responder_dirty(c);
}

// A port bound or unbound: its network's partition (answers follow the bound ports' networks).
Dirty IcmpApp::on_switch(const ModelView& model, const SwitchContext& sw) const {
  auto nets = binding_networks(model, sw);
  return nets ? Dirty::networks(*nets) : Dirty::everything();
}

void IcmpApp::after_round(const std::vector<SwitchContext>& switches) {
  keep_known_switches(answered_, switches);
}

Json IcmpApp::status(const ModelView&) const {
  return {{"router_mac", model::detail::mac_text(settings_.router_mac)}};
}

Json IcmpApp::switch_status(const ModelView& model, const SwitchContext& sw) const {
  ResponderInputs in = responder_inputs(model, sw);
  Json addresses = Json::array();
  for (const auto& [key, n] : in.networks)
    for (const RouterAddress& r : router_addresses(model, key))
      addresses.push_back(model::detail::ip_text(r.ip));
  return {{"answered", std::move(addresses)}};
}

std::vector<AppMetric> IcmpApp::metrics() const {
  std::vector<AppMetric> out;
  for (const auto& [dpid, parts] : answered_) {
    size_t n = 0;
    for (const auto& [p, k] : parts) n += k;
    out.push_back({"vlcp_icmp_addresses",
                   "Router addresses the switch answers pings for by flows.",
                   {{"dpid", std::to_string(dpid)}},
                   static_cast<double>(n)});
  }
  return out;
}

// --- registration ---------------------------------------------------------------------------------

namespace {

class IcmpSpec final : public AppSpec {
 public:
  explicit IcmpSpec(IcmpSettings settings) : settings_(settings) {}
  std::unique_ptr<FlowApp> make(const AppEnv& env) const override {
    return std::make_unique<IcmpApp>(env.tables, settings_);
  }

 private:
  IcmpSettings settings_;
};

Result<std::shared_ptr<const AppSpec>> configure(const Config& config,
                                                 const pipeline::PipelineSettings& pipeline) {
  bool running =
      std::find(pipeline.apps.begin(), pipeline.apps.end(), "icmpresponder") != pipeline.apps.end();
  VLCP_ASSIGN_OR_RETURN(IcmpSettings settings, read_icmp_settings(config, running));
  return std::shared_ptr<const AppSpec>(std::make_shared<IcmpSpec>(settings));
}

}  // namespace

VLCP_REGISTER_APP(AppRegistration{
    IcmpApp::kAppName, {"icmpresponder"}, {VLCP_ICMP_KEYS(VLCP_APP_KEY)}, configure});

}  // namespace vlcp::apps
