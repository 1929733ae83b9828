#include "apps/dhcp/dhcp_app.h"

#include "apps/registry.h"
#include "base/log.h"
#include "db/store.h"
#include "model/address.h"

namespace vlcp::apps {

using Json = nlohmann::json;

void DhcpCounters::add(const dhcp::Counters& c) {
  auto bump = [](std::atomic<uint64_t>& into, uint64_t n) {
    if (n) into.fetch_add(n, std::memory_order_relaxed);
  };
#define VLCP_DHCP_APP_ADD(e, counter) bump(counter, c.counter);
  VLCP_DHCP_OUTCOMES(VLCP_DHCP_APP_ADD)
#undef VLCP_DHCP_APP_ADD
  if (c.malformed)
    for (size_t i = 0; i <= dhcp::kMalformedCount; ++i) bump(malformed_by[i], c.malformed_by[i]);
  bump(bad_packet_in, c.bad_packet_in);
  bump(options_dropped, c.options_dropped);
}

dhcp::Counters DhcpCounters::snapshot() const {
  dhcp::Counters c;
#define VLCP_DHCP_APP_READ(e, counter) c.counter = counter.load(std::memory_order_relaxed);
  VLCP_DHCP_OUTCOMES(VLCP_DHCP_APP_READ)
#undef VLCP_DHCP_APP_READ
  for (size_t i = 0; i <= dhcp::kMalformedCount; ++i)
    c.malformed_by[i] = malformed_by[i].load(std::memory_order_relaxed);
  c.bad_packet_in = bad_packet_in.load(std::memory_order_relaxed);
  c.options_dropped = options_dropped.load(std::memory_order_relaxed);
  return c;
}

void serve_dhcp_packet_in(const dhcp::ServerConfig& config, DhcpShared& shared, uint64_t dpid,
                          ByteSpan packet_in, Buffer& answers) {
  std::shared_ptr<const LeaseTable> table = shared.leases.load(std::memory_order_acquire);
  const LeaseTable* t = table.get();
  dhcp::Counters c;
  dhcp::serve_packet_in(
      config, [t](uint64_t d, uint32_t port) -> const dhcp::Lease* { return t ? t->find(d, port) : nullptr; },
      dpid, packet_in, answers, c);
  shared.counters.add(c);
  // Untrusted input: counted above, logged rate-limited here.
  if (c.bad_packet_in) {
    VLCP_LOG_RL(kWarn, "dhcp", 20, 5)
        << "a packet-in from datapath " << dpid << " is no PACKET_IN with an in_port";
  } else if (c.malformed) {
    for (size_t i = 1; i <= dhcp::kMalformedCount; ++i) {
      if (!c.malformed_by[i]) continue;
      VLCP_LOG_RL(kWarn, "dhcp", 20, 5)
          << "a DHCP request from datapath " << dpid
          << " dropped: " << dhcp::malformed_name(static_cast<dhcp::Malformed>(i));
    }
  }
}

DhcpApp::DhcpApp(const ModelView& model, const pipeline::TableMap& tables, dhcp::ServerConfig config,
                 std::shared_ptr<DhcpShared> shared)
    : model_(model), tables_(tables), config_(config), shared_(std::move(shared)) {}

std::map<std::string, std::vector<PuntPort>> DhcpApp::punt_ports(const SwitchContext& sw) const {
  std::map<std::string, std::vector<PuntPort>> out;
  for (const auto& p : sw.view->ports) {
    if (p.iface_id.empty() || p.ofport <= 0 || p.ofport >= 0xff00) continue;
    auto port = model_.logical_ports().find(db::escape_key_part(p.iface_id));
    if (port == model_.logical_ports().end()) continue;
    auto served = served_port(model_, port->second);
    if (!served || !served->network->netid) continue;
    out[port->second.network].push_back(
        {static_cast<uint32_t>(p.ofport), *served->network->netid, server_address(*served, config_)});
  }
  return out;
}

std::map<std::string, flows::Desired> DhcpApp::compute(const ModelView&, const SwitchContext& sw) const {
  std::map<std::string, flows::Desired> out;
  for (const auto& [net, ports] : punt_ports(sw)) out[net] = dhcp_punt_flows(tables_, ports);
  return out;
}

std::map<std::string, flows::Desired> DhcpApp::compute(const ModelView&, const SwitchContext& sw,
                                                       const std::set<std::string>& partitions) const {
  auto ports = punt_ports(sw);  // (one pass over the switch's ports for every partition)
  std::map<std::string, flows::Desired> out;
  for (const auto& p : partitions) {
    auto it = ports.find(p);
    out[p] = it == ports.end() ? flows::Desired{} : dhcp_punt_flows(tables_, it->second);
  }
  return out;
}

// A network, a port or a subnet changes the served ports of the networks it names (a subnet's
// ports are in its network).
Dirty DhcpApp::on_model(const ModelView&, const ModelChange& c) const {
  stale_ = true;
  return Dirty::networks(c.parents);
}

// A port bound or unbound: its network's punts (and the lease table, published again).
Dirty DhcpApp::on_switch(const ModelView& model, const SwitchContext& sw) const {
  stale_ = true;
  auto nets = binding_networks(model, sw);
  return nets ? Dirty::networks(*nets) : Dirty::everything();
}

std::shared_ptr<const LeaseTable> DhcpApp::leases(const std::vector<SwitchContext>& switches) const {
  auto table = std::make_shared<LeaseTable>();
  lease_stats_ = {};
  for (const auto& sw : switches)
    for (const auto& p : sw.view->ports) {
      if (p.iface_id.empty() || p.ofport <= 0 || p.ofport >= 0xff00) continue;
      auto port = model_.logical_ports().find(db::escape_key_part(p.iface_id));
      if (port == model_.logical_ports().end()) continue;
      if (auto served = served_port(model_, port->second))
        table->leases.emplace(std::pair{sw.dpid, static_cast<uint32_t>(p.ofport)},
                              lease_of(*served, &lease_stats_));
    }
  return table;
}

void DhcpApp::after_round(const std::vector<SwitchContext>& switches) {
  std::vector<uint64_t> ids;
  for (const auto& sw : switches) ids.push_back(sw.dpid);
  if (!stale_ && ids == last_switches_) return;
  stale_ = false;
  last_switches_ = std::move(ids);
  shared_->leases.store(leases(switches), std::memory_order_release);
  ++tables_published_;
}

Json DhcpApp::status(const ModelView&) const {
  auto table = published();
  return {{"dhcp",
           {{"leases", table ? table->leases.size() : 0},
            {"server", model::detail::ip_text(config_.ip)},
            {"lease_options_refused", lease_stats_.options_refused},
            {"lease_tables_published", tables_published_}}}};
}

Json DhcpApp::switch_status(const ModelView&, const SwitchContext& sw) const {
  auto table = published();
  size_t n = 0;
  if (table)
    for (auto it = table->leases.lower_bound({sw.dpid, 0});
         it != table->leases.end() && it->first.first == sw.dpid; ++it)
      ++n;
  return {{"dhcp_leases", n}};
}

std::vector<AppMetric> DhcpApp::metrics() const {
  dhcp::Counters c = shared_->counters.snapshot();
  auto table = published();
  std::vector<AppMetric> v;
  auto add = [&](const char* name, const char* help, const char* label, const char* value, uint64_t n) {
    std::vector<std::pair<std::string, std::string>> labels;
    if (label) labels.emplace_back(label, value);
    v.push_back({name, help, std::move(labels), static_cast<double>(n)});
  };
  const char* replies = "DHCP replies sent by the workers, by type (inform: the ACK to an INFORM).";
  add("vlcp_dhcp_replies_total", replies, "type", "offer", c.offers);
  add("vlcp_dhcp_replies_total", replies, "type", "ack", c.acks);
  add("vlcp_dhcp_replies_total", replies, "type", "nak", c.naks);
  add("vlcp_dhcp_replies_total", replies, "type", "inform", c.informs);
  const char* quiet = "DHCP messages handled without a reply, by type.";
  add("vlcp_dhcp_unanswered_total", quiet, "type", "release", c.releases);
  add("vlcp_dhcp_unanswered_total", quiet, "type", "decline", c.declines);
  const char* dropped =
      "Packet-ins the DHCP server dropped, by reason (ignored: for another server or client; no_lease: the "
      "port has no address from the model; malformed: see vlcp_dhcp_malformed_total).";
  add("vlcp_dhcp_dropped_total", dropped, "reason", "ignored", c.ignored);
  add("vlcp_dhcp_dropped_total", dropped, "reason", "unknown_type", c.unknown_type);
  add("vlcp_dhcp_dropped_total", dropped, "reason", "no_lease", c.no_lease);
  add("vlcp_dhcp_dropped_total", dropped, "reason", "malformed", c.malformed);
  add("vlcp_dhcp_dropped_total", dropped, "reason", "bad_packet_in", c.bad_packet_in);
  for (size_t i = 1; i <= dhcp::kMalformedCount; ++i)
    add("vlcp_dhcp_malformed_total", "DHCP requests the decoder refused, by reason.", "reason",
        std::string(dhcp::malformed_name(static_cast<dhcp::Malformed>(i))).c_str(), c.malformed_by[i]);
  add("vlcp_dhcp_options_dropped_total", "Options left out of replies for the client's maximum message size.",
      nullptr, nullptr, c.options_dropped);
  add("vlcp_dhcp_leases", "Ports bound here that the DHCP server answers (leases published to the workers).",
      nullptr, nullptr, table ? table->leases.size() : 0);
  add("vlcp_dhcp_lease_options_refused",
      "Stored DHCP options of those leases that do not fit their code (left out).", nullptr, nullptr,
      lease_stats_.options_refused);
  return v;
}

// --- registration ---------------------------------------------------------------------------------

namespace {

class DhcpSpec final : public AppSpec {
 public:
  explicit DhcpSpec(dhcp::ServerConfig config) : config_(config) {}
  std::vector<PacketInDecl> packet_ins() const override {
    return {{kDhcpAppId, true, "dhcpserver",
             [c = config_, s = shared_](uint64_t dpid, ByteSpan message, Buffer& answers) {
               serve_dhcp_packet_in(c, *s, dpid, message, answers);
             }}};
  }
  std::unique_ptr<FlowApp> make(const AppEnv& env) const override {
    return std::make_unique<DhcpApp>(env.model, env.tables, config_, shared_);
  }

 private:
  dhcp::ServerConfig config_;
  std::shared_ptr<DhcpShared> shared_ = std::make_shared<DhcpShared>();
};

Result<std::shared_ptr<const AppSpec>> configure(const Config& config, const pipeline::PipelineSettings&) {
  VLCP_ASSIGN_OR_RETURN(dhcp::ServerConfig c, read_dhcp_settings(config));
  return std::shared_ptr<const AppSpec>(std::make_shared<DhcpSpec>(c));
}

}  // namespace

VLCP_REGISTER_APP(AppRegistration{
    DhcpApp::kAppName, {"dhcpserver"}, {VLCP_DHCP_KEYS(VLCP_APP_KEY)}, configure});

}  // namespace vlcp::apps
