// vlcpd: the composition root. Parses options, loads and validates the configuration, sets up
// logging, then wires the runtime: the control loop on this thread, the DPDK EAL with worker
// lcores placed away from OVS's PMD cores, the OpenFlow listeners and I/O threads, /metrics and
// the WebAPI's introspection. Runs until SIGINT/SIGTERM.
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "api/http.h"
#include "api/introspect.h"
#include "api/metrics.h"
#include "base/config.h"
#include "base/log.h"
#include "base/version.h"
#include "daemon/options.h"
#include "daemon/systemd.h"
#include "io/control_loop.h"
#include "ovsdb/client.h"
#include "sched/lcores.h"
#include "sched/placement.h"
#include "switch/manager.h"

namespace {

constexpr int kExitConfig = 1;
constexpr int kExitUsage = 2;

int fail(const vlcp::Status& s) {
  std::fprintf(stderr, "vlcpd: %s\n", s.message().c_str());
  return kExitConfig;
}

int run(const vlcp::daemon::Options& options) {
  using vlcp::Config;
  std::string path;
  vlcp::Result<Config> config = Config{};
  if (options.config_path) {
    path = *options.config_path;
    config = Config::load_file(path);
  } else if (std::filesystem::exists(vlcp::daemon::kDefaultConfigPath)) {
    path = vlcp::daemon::kDefaultConfigPath;
    config = Config::load_file(path);
  }
  if (!config.ok()) return fail(config.error());
  std::vector<std::string> warnings;
  auto settings = vlcp::daemon::read_settings(*config, &warnings);
  if (!settings.ok()) return fail(settings.error());
  for (const auto& w : warnings) std::fprintf(stderr, "vlcpd: warning: %s\n", w.c_str());
  if (options.check_config) {
    std::printf("%s: configuration OK (%zu keys)\n", path.empty() ? "<defaults>" : path.c_str(),
                config->keys().size());
    return 0;
  }

  vlcp::log::Settings log = settings->server.log;
  if (options.log_level) log.level = *options.log_level;
  if (options.syslog) log.to_syslog = true;
  vlcp::log::configure(log);
  VLCP_LOG(kInfo, "daemon") << "vlcpd " << vlcp::kVersion << " starting (pid " << getpid() << ", config "
                            << (path.empty() ? "<defaults>" : path) << ")";

  vlcp::io::ControlLoop loop(vlcp::RealClock::instance());
  // Before anything links libopenvswitch's signal handling: OVS installs its own handlers only
  // where none is set yet.
  boost::asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    VLCP_LOG(kInfo, "daemon") << "received " << strsignal(sig) << ", stopping";
    vlcp::daemon::sd_notify_state("STOPPING=1");
    loop.stop();
  });

  // Worker placement. OVS's PMD mask arrives from OVSDB later and re-plans.
  vlcp::sched::PlacementInput placement_in;
  auto affinity = vlcp::sched::process_affinity();
  if (!affinity.ok()) return fail(affinity.error());
  placement_in.allowed = *affinity;
  placement_in.isolated = vlcp::sched::isolated_cpus();
  if (!settings->sched.cores.empty())
    placement_in.configured = *vlcp::sched::parse_cpu_list(settings->sched.cores);
  placement_in.workers = static_cast<unsigned>(settings->sched.workers);
  std::mutex placement_mu;
  vlcp::sched::Placement placement = vlcp::sched::plan_placement(placement_in);
  for (auto& note : placement.notes) VLCP_LOG(kInfo, "sched") << note;
  auto current_placement = [&] {
    std::lock_guard<std::mutex> lock(placement_mu);
    return placement;
  };

  std::unique_ptr<vlcp::sched::Lcores> lcores;
  if (!placement.worker_cpus.empty()) {
    auto started = vlcp::sched::Lcores::start(settings->sched, placement);
    if (!started.ok()) return fail(started.error());
    lcores = std::move(*started);
  }

  vlcp::sw::SessionCounters counters;
  auto switches = std::make_unique<vlcp::sw::SwitchManager>(loop, settings->openflow, &counters);
  if (auto s = switches->start(lcores.get()); !s.ok()) return fail(s);

  // OVSDB: the replica, bridge take-over, and OVS-DPDK's PMD mask for worker placement.
  vlcp::ovsdb::OvsdbClient ovsdb(loop, settings->ovsdb);
  auto replan = loop.subscribe<vlcp::ovsdb::OvsdbUpdated>([&](const vlcp::ovsdb::OvsdbUpdated& u) {
    vlcp::sched::DatapathCpus dp = u.replica->datapath_cpus();
    if (dp.dpdk_initialized == placement_in.datapath.dpdk_initialized &&
        dp.pmd_cpus == placement_in.datapath.pmd_cpus && dp.lcore_cpus == placement_in.datapath.lcore_cpus)
      return;
    placement_in.datapath = dp;
    vlcp::sched::Placement next = vlcp::sched::plan_placement(placement_in);
    for (auto& note : next.notes) VLCP_LOG(kInfo, "sched") << "re-plan: " << note;
    // The EAL's worker lcores are fixed at start: the new plan moves them, never adds any.
    std::vector<int> cpus = next.worker_cpus;
    for (size_t w = cpus.size(); lcores && w < lcores->workers(); ++w) {
      VLCP_LOG(kWarn, "sched") << "worker " << w
                               << " has no core outside the PMD set; it shares control cores";
      if (!next.control_cpus.empty()) cpus.push_back(*next.control_cpus.begin());
    }
    switches->repin_workers(cpus);
    std::lock_guard<std::mutex> lock(placement_mu);
    placement = next;
  });
  if (auto s = ovsdb.start(); !s.ok()) return fail(s);

  vlcp::api::MetricSources sources;
  sources.ovsdb = [&ovsdb] { return ovsdb.metrics(); };
  sources.openflow = &counters;
  sources.switches = switches.get();
  sources.loop = &loop;
  sources.placement = current_placement;
  auto metrics = vlcp::api::Metrics::start(settings->metrics, sources);
  if (!metrics.ok()) return fail(metrics.error());
  if ((*metrics)->port()) {
    VLCP_LOG(kInfo, "api") << "metrics on port " << (*metrics)->port();
  }

  vlcp::api::IntrospectSources introspect_sources{switches.get(), current_placement, [&ovsdb] {
                                                    nlohmann::json j =
                                                        vlcp::ovsdb::replica_to_json(ovsdb.replica());
                                                    j["connected"] = ovsdb.connected();
                                                    return j;
                                                  }};
  auto http = vlcp::api::HttpServer::start(loop.context(), settings->http,
                                           [&introspect_sources](const vlcp::api::HttpRequest& r) {
                                             return vlcp::api::introspect(introspect_sources, r);
                                           });
  if (!http.ok()) return fail(http.error());

  vlcp::daemon::sd_notify_state("READY=1");
  VLCP_LOG(kInfo, "daemon") << "vlcpd ready";
  loop.run();

  http->reset();
  metrics->reset();
  ovsdb.stop();
  switches->stop();
  switches.reset();
  lcores.reset();
  VLCP_LOG(kInfo, "daemon") << "vlcpd stopped";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = vlcp::daemon::parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!options.ok()) {
    std::fprintf(stderr, "vlcpd: %s\n", options.error().message().c_str());
    return kExitUsage;
  }
  if (options->help) {
    std::cout << vlcp::daemon::usage_text();
    return 0;
  }
  if (options->version) {
    std::cout << vlcp::daemon::version_text();
    return 0;
  }
  return run(*options);
}
