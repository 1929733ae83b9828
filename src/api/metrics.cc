// The Prometheus exporter (see metrics.h).
#include "api/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "api/http.h"
#include "base/version.h"
#include "ofp/message.h"

namespace vlcp::api {

namespace {
struct MetricsKeys {
  VLCP_METRICS_KEYS(VLCP_KEYS_FIELD)
};

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(const char* name, const char* help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric sample(double v, MetricType type, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter)
    m.counter.value = v;
  else
    m.gauge.value = v;
  return m;
}

std::string hex_dpid(uint64_t dpid) {
  char b[20];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(dpid));
  return b;
}

class Collector final : public prometheus::Collectable {
 public:
  explicit Collector(MetricSources s) : s_(std::move(s)) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    auto add = [&](MetricFamily f) {
      if (!f.metric.empty()) out.push_back(std::move(f));
    };
    {
      auto f = family("vlcp_build_info", "Version of the running vlcpd.", MetricType::Gauge);
      f.metric.push_back(sample(1, MetricType::Gauge, {{"version", kVersion}}));
      add(std::move(f));
    }
    if (s_.switches) switches(add);
    if (s_.openflow) openflow(add);
    if (s_.switches) rings(add);
    if (s_.placement) placement(add);
    if (s_.loop) {
      auto lag = family("vlcp_control_loop_lag_seconds", "How late the control loop ran its latest timer.",
                        MetricType::Gauge);
      lag.metric.push_back(sample(s_.loop->lag_seconds(), MetricType::Gauge));
      add(std::move(lag));
      auto ev =
          family("vlcp_control_loop_events_total", "Events the control loop delivered.", MetricType::Counter);
      ev.metric.push_back(sample(static_cast<double>(s_.loop->events_delivered()), MetricType::Counter));
      add(std::move(ev));
    }
    if (s_.ovsdb) {
      for (auto& [name, value] : s_.ovsdb()) {
        // Counters by Prometheus convention end in _total; the rest are gauges.
        bool counter = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
        MetricType type = counter ? MetricType::Counter : MetricType::Gauge;
        MetricFamily f;
        f.name = name;
        f.help = "OVSDB client state.";
        f.type = type;
        f.metric.push_back(sample(value, type));
        add(std::move(f));
      }
    }
    http(add);
    if (s_.board) {
      std::map<std::string, MetricFamily> families;  // by name, in name order
      for (auto& v : s_.board->snapshot()) {
        bool counter = v.name.size() > 6 && v.name.compare(v.name.size() - 6, 6, "_total") == 0;
        MetricType type = counter ? MetricType::Counter : MetricType::Gauge;
        auto [it, fresh] = families.try_emplace(v.name);
        if (fresh) it->second = family(v.name.c_str(), v.help.c_str(), type);
        std::vector<ClientMetric::Label> labels;
        for (auto& [k, l] : v.labels) labels.push_back({k, l});
        it->second.metric.push_back(sample(v.value, type, std::move(labels)));
      }
      for (auto& [name, f] : families) add(std::move(f));
    }
    return out;
  }

 private:
  template <typename Add>
  void switches(Add& add) const {
    auto snap = s_.switches->snapshot();
    auto up = family("vlcp_switch_connected", "1 when the datapath is connected, 0 when it was and is not.",
                     MetricType::Gauge);
    auto conns =
        family("vlcp_switch_connections_total", "Handshakes completed per datapath.", MetricType::Counter);
    auto ports = family("vlcp_switch_ports", "Ports the datapath reported.", MetricType::Gauge);
    double connected = 0;
    for (auto& s : snap->switches) {
      std::vector<ClientMetric::Label> l = {{"dpid", hex_dpid(s.dpid)}};
      up.metric.push_back(sample(s.connected ? 1 : 0, MetricType::Gauge, l));
      conns.metric.push_back(sample(s.connections, MetricType::Counter, l));
      ports.metric.push_back(sample(static_cast<double>(s.ports.size()), MetricType::Gauge, l));
      connected += s.connected;
    }
    auto total = family("vlcp_switches_connected", "Datapaths connected now.", MetricType::Gauge);
    total.metric.push_back(sample(connected, MetricType::Gauge));
    add(std::move(total));
    if (s_.managed_bridges) {
      // A bridge vlcpd controls whose datapath is not connected — also one that never came back
      // after a vlcpd restart (it has no vlcp_switch_connected series) — or has no id yet.
      std::set<uint64_t> up;
      for (auto& s : snap->switches)
        if (s.connected) up.insert(s.dpid);
      double missing = 0;
      for (const auto& dpid : s_.managed_bridges()) missing += !dpid || !up.count(*dpid);
      auto m = family("vlcp_switches_missing",
                      "Bridges vlcpd controls (OVSDB) whose datapath is not connected to it now.",
                      MetricType::Gauge);
      m.metric.push_back(sample(missing, MetricType::Gauge));
      add(std::move(m));
    }
    add(std::move(up));
    add(std::move(conns));
    add(std::move(ports));
    auto w = family("vlcp_packet_ins_to_workers_total", "PACKET_INs handled on worker lcores.",
                    MetricType::Counter);
    w.metric.push_back(
        sample(static_cast<double>(s_.switches->packet_ins_to_workers()), MetricType::Counter));
    add(std::move(w));
    // The packet-in handlers, by app (switch/packet_in.h): what each answered or failed on.
    const sw::PacketInTable& table = s_.switches->packet_ins();
    auto handled = family("vlcp_packet_in_handled_total", "PACKET_INs a handler ran on, by app and side.",
                          MetricType::Counter);
    auto failed = family("vlcp_packet_in_failed_total",
                         "PACKET_INs whose handler threw or wrote malformed answers (dropped), by app.",
                         MetricType::Counter);
    for (const auto& h : table.stats()) {
      std::vector<ClientMetric::Label> l = {
          {"app", h.app}, {"side", h.side == sw::PacketInSide::kWorkers ? "workers" : "control"}};
      handled.metric.push_back(sample(static_cast<double>(h.handled), MetricType::Counter, l));
      failed.metric.push_back(sample(static_cast<double>(h.failed), MetricType::Counter, l));
    }
    add(std::move(handled));
    add(std::move(failed));
    auto unclaimed =
        family("vlcp_packet_in_unclaimed_total",
               "PACKET_INs no app's handler claims and no fallback takes (dropped).", MetricType::Counter);
    unclaimed.metric.push_back(sample(static_cast<double>(table.unclaimed()), MetricType::Counter));
    add(std::move(unclaimed));
  }

  template <typename Add>
  void openflow(Add& add) const {
    const sw::SessionCounters& c = *s_.openflow;
    auto rx = family("vlcp_openflow_messages_received_total", "OpenFlow messages received, by type.",
                     MetricType::Counter);
    auto tx =
        family("vlcp_openflow_messages_sent_total", "OpenFlow messages sent, by type.", MetricType::Counter);
    for (unsigned t = 0; t < c.rx_by_type.size(); ++t) {
      std::string_view name = ofp::message_name(static_cast<ofp::MsgType>(t));
      if (name.empty()) continue;
      std::vector<ClientMetric::Label> l = {{"type", std::string(name)}};
      rx.metric.push_back(sample(static_cast<double>(c.rx_by_type[t].load()), MetricType::Counter, l));
      tx.metric.push_back(sample(static_cast<double>(c.tx_by_type[t].load()), MetricType::Counter, l));
    }
    add(std::move(rx));
    add(std::move(tx));
    auto one = [&](const char* name, const char* help, double v) {
      auto f = family(name, help, MetricType::Counter);
      f.metric.push_back(sample(v, MetricType::Counter));
      add(std::move(f));
    };
    one("vlcp_packet_ins_total", "PACKET_IN messages received.",
        static_cast<double>(c.rx_by_type[static_cast<int>(ofp::MsgType::kPacketIn)].load()));
    one("vlcp_flow_mods_total", "FLOW_MOD messages sent.",
        static_cast<double>(c.tx_by_type[static_cast<int>(ofp::MsgType::kFlowMod)].load()));
    one("vlcp_openflow_errors_sent_total", "OFPT_ERROR replies to malformed messages from switches.",
        static_cast<double>(c.rx_errors_sent.load()));
    one("vlcp_openflow_probe_failures_total", "Sessions dropped by the inactivity probe.",
        static_cast<double>(c.probes_failed.load()));
    one("vlcp_openflow_handshakes_total", "OpenFlow handshakes completed.",
        static_cast<double>(c.handshakes.load()));
    one("vlcp_openflow_connections_opened_total", "OpenFlow connections accepted.",
        static_cast<double>(c.connections_opened.load()));
    one("vlcp_openflow_connections_closed_total", "OpenFlow connections closed.",
        static_cast<double>(c.connections_closed.load()));
    one("vlcp_openflow_multipart_overflows_total",
        "Switches dropped for a multipart reply beyond protocol.openflow.maxmultipartbytes.",
        static_cast<double>(c.multipart_overflows.load()));
    one("vlcp_openflow_messages_dropped_total",
        "Switch messages shed because the control thread or, for packet-ins, the workers were behind.",
        static_cast<double>(c.messages_dropped.load()));
    one("vlcp_packet_ins_shed_total",
        "PACKET_INs shed on their way to the workers: every packet slot of their I/O thread was out "
        "(the workers are behind; also counted in vlcp_openflow_messages_dropped_total).",
        static_cast<double>(c.packet_ins_shed.load()));
    {
      auto f = family("vlcp_openflow_duplicate_datapath_total",
                      "Connections announcing a datapath id already connected: refused (the holder answered "
                      "an echo) or replaced (it did not).",
                      MetricType::Counter);
      f.metric.push_back(sample(static_cast<double>(c.duplicate_refused.load()), MetricType::Counter,
                                {{"outcome", "refused"}}));
      f.metric.push_back(sample(static_cast<double>(c.duplicate_replaced.load()), MetricType::Counter,
                                {{"outcome", "replaced"}}));
      add(std::move(f));
    }
    auto h =
        family("vlcp_barrier_rtt_seconds", "Round-trip time of barrier requests.", MetricType::Histogram);
    ClientMetric m;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < c.barrier_buckets.size(); ++i) {
      cumulative += c.barrier_buckets[i].load();
      double bound = i < sw::SessionCounters::kBarrierBuckets.size()
                         ? sw::SessionCounters::kBarrierBuckets[i]
                         : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back({cumulative, bound});
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = static_cast<double>(c.barrier_sum_ns.load()) / 1e9;
    h.metric.push_back(m);
    add(std::move(h));
  }

  template <typename Add>
  void rings(Add& add) const {
    auto occ = family("vlcp_ring_occupancy", "Elements waiting in a ring.", MetricType::Gauge);
    auto cap = family("vlcp_ring_capacity", "Elements a ring holds.", MetricType::Gauge);
    auto hw = family("vlcp_ring_high_water", "Most elements a ring has held.", MetricType::Gauge);
    auto enq = family("vlcp_ring_enqueued_total", "Elements put into a ring.", MetricType::Counter);
    auto full =
        family("vlcp_ring_full_total",
               "Elements refused by a full ring (back-pressure: they waited or were dropped, see docs).",
               MetricType::Counter);
    for (auto& r : s_.switches->rings()) {
      std::vector<ClientMetric::Label> l = {{"ring", r.name}};
      occ.metric.push_back(sample(r.size(), MetricType::Gauge, l));
      cap.metric.push_back(sample(r.capacity, MetricType::Gauge, l));
      hw.metric.push_back(sample(r.stats->high_water.load(), MetricType::Gauge, l));
      enq.metric.push_back(sample(static_cast<double>(r.stats->enqueued.load()), MetricType::Counter, l));
      full.metric.push_back(sample(static_cast<double>(r.stats->full.load()), MetricType::Counter, l));
    }
    add(std::move(occ));
    add(std::move(cap));
    add(std::move(hw));
    add(std::move(enq));
    add(std::move(full));
  }

  // The WebAPI's transport (process-wide counters: see HttpCounters).
  template <typename Add>
  void http(Add& add) const {
    const HttpCounters& c = http_counters();
    auto one = [&](const char* name, const char* help, MetricType type, double v,
                   std::vector<ClientMetric::Label> labels = {}) {
      auto f = family(name, help, type);
      f.metric.push_back(sample(v, type, std::move(labels)));
      return f;
    };
    add(one("vlcp_api_handler_errors_total",
            "WebAPI requests whose handler failed with an exception (answered 500).", MetricType::Counter,
            static_cast<double>(c.handler_errors.load())));
    add(one("vlcp_api_bad_encoding_total", "WebAPI requests refused because the target is not UTF-8 (400).",
            MetricType::Counter, static_cast<double>(c.bad_encoding.load())));
    auto shed = one("vlcp_api_connections_shed_total",
                    "Idle WebAPI connections closed to make room, by which cap was reached.",
                    MetricType::Counter, static_cast<double>(c.shed_per_client.load()), {{"cap", "client"}});
    shed.metric.push_back(
        sample(static_cast<double>(c.shed_capacity.load()), MetricType::Counter, {{"cap", "total"}}));
    add(std::move(shed));
    add(one("vlcp_api_connections_refused_total",
            "WebAPI connections refused (503): at a cap with no idle connection to close.",
            MetricType::Counter, static_cast<double>(c.refused.load())));
    add(one("vlcp_api_connections_open", "WebAPI connections open now.", MetricType::Gauge,
            static_cast<double>(c.open.load())));
  }

  template <typename Add>
  void placement(Add& add) const {
    sched::Placement p = s_.placement();
    auto f = family("vlcp_lcore_info", "Where each vlcpd thread group may run (value 1).", MetricType::Gauge);
    for (size_t i = 0; i < p.worker_cpus.size(); ++i)
      f.metric.push_back(sample(1, MetricType::Gauge,
                                {{"lcore", std::to_string(i + 1)},
                                 {"role", "worker"},
                                 {"cpus", std::to_string(p.worker_cpus[i])}}));
    f.metric.push_back(
        sample(1, MetricType::Gauge,
               {{"lcore", "0"}, {"role", "control"}, {"cpus", sched::format_cpu_list(p.control_cpus)}}));
    add(std::move(f));
    auto pmd = family("vlcp_ovs_pmd_cores", "OVS-DPDK PMD cores vlcpd keeps its workers away from.",
                      MetricType::Gauge);
    pmd.metric.push_back(sample(static_cast<double>(p.pmd_cpus.size()), MetricType::Gauge));
    add(std::move(pmd));
  }

  MetricSources s_;
};
}  // namespace

Result<MetricsSettings> read_metrics_settings(const Config& config) {
  MetricsKeys keys;
  VLCP_METRICS_KEYS(VLCP_KEYS_READ)
  MetricsSettings s;
  s.user = keys.user;
  s.password = keys.password;
  if (keys.url.empty()) return s;
  VLCP_ASSIGN_OR_RETURN(auto l, read_service_endpoint(config, "module.metrics.url", keys.url, 9464,
                                                      !keys.password.empty(), "module.metrics.password"));
  s.bind =
      (l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host) + ":" + std::to_string(l.port);
  return s;
}

struct Metrics::Impl {
  std::shared_ptr<Collector> collector;
  std::unique_ptr<prometheus::Exposer> exposer;
};

Result<std::unique_ptr<Metrics>> Metrics::start(const MetricsSettings& settings, MetricSources sources) {
  std::unique_ptr<Metrics> m(new Metrics());
  m->impl_ = std::make_unique<Impl>();
  m->impl_->collector = std::make_shared<Collector>(std::move(sources));
  if (settings.bind.empty()) return m;
  try {
    m->impl_->exposer = std::make_unique<prometheus::Exposer>(settings.bind, 1);
  } catch (const std::exception& e) {
    return make_error(Errc::kUnavailable, "metrics: cannot listen on " + settings.bind + ": " + e.what());
  }
  m->impl_->exposer->RegisterCollectable(m->impl_->collector);
  if (!settings.password.empty()) {
    std::string user = settings.user, password = settings.password;
    m->impl_->exposer->RegisterAuth(
        [user, password](const std::string& u, const std::string& p) {
          // Both compared in full and in constant time: neither is learnt from timings.
          bool user_ok = same_secret(u, user);
          bool password_ok = same_secret(p, password);
          return user_ok && password_ok;
        },
        "vlcpd");
  }
  auto ports = m->impl_->exposer->GetListeningPorts();
  m->port_ = ports.empty() ? 0 : ports[0];
  return m;
}

Metrics::~Metrics() = default;

std::string Metrics::render() const {
  prometheus::TextSerializer ser;
  return ser.Serialize(impl_->collector->Collect());
}

}  // namespace vlcp::api
