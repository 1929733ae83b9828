// vlcpd: the composition root. Parses options, loads and validates the configuration, sets up
// logging, then wires the runtime: the control loop on this thread, the DPDK EAL with worker
// lcores placed away from OVS's PMD cores, the OpenFlow listeners and I/O threads, /metrics and
// the WebAPI's introspection: the modules of daemon/modules.h; under systemd, READY=1 and the
// watchdog (daemon/systemd.h). Runs until SIGINT/SIGTERM.
#include <unistd.h>

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "base/config.h"
#include "base/log.h"
#include "base/version.h"
#include "daemon/modules.h"
#include "daemon/options.h"
#include "daemon/systemd.h"
#include "io/control_loop.h"

namespace {

constexpr int kExitConfig = 1;
constexpr int kExitUsage = 2;

// One "vlcpd: " line per line of the message (a check lists every unknown key).
int fail(const vlcp::Status& s) {
  std::string_view text = s.message();
  for (size_t start = 0; start <= text.size();) {
    size_t end = std::min(text.find('\n', start), text.size());
    std::fprintf(stderr, "vlcpd: %.*s\n", static_cast<int>(end - start), text.data() + start);
    start = end + 1;
  }
  return kExitConfig;
}

int run(const vlcp::daemon::Options& options) {
  using vlcp::Config;
  std::string path;
  vlcp::Result<Config> config = Config{};
  if (options.config_path) {
    // A directory is one configuration of its files; a file comes with its drop-ins (FILE.d).
    // (error_code overloads: an unreadable path is the loader's clear error, not an exception.)
    std::error_code ec;
    path = *options.config_path;
    config = std::filesystem::is_directory(path, ec) ? Config::load(path) : Config::load_with_dropins(path);
  } else if (std::error_code ec;
             std::filesystem::exists(vlcp::daemon::kDefaultConfigPath, ec) ||
             std::filesystem::exists(std::string(vlcp::daemon::kDefaultConfigPath) + ".d", ec)) {
    path = vlcp::daemon::kDefaultConfigPath;
    config = Config::load_with_dropins(path);
  }
  if (!config.ok()) return fail(config.error());
  std::vector<std::string> warnings;
  auto settings = vlcp::daemon::read_settings(*config, &warnings, options.allow_unknown_keys);
  if (!settings.ok()) return fail(settings.error());
  for (const auto& w : warnings) std::fprintf(stderr, "vlcpd: warning: %s\n", w.c_str());
  if (options.show_config) std::fputs(vlcp::daemon::show_config(*config).c_str(), stdout);
  if (options.check_config) {
    std::printf("%s: configuration OK (%zu keys%s)\n", path.empty() ? "<defaults>" : path.c_str(),
                config->keys().size(),
                config->files() > 1 ? (" from " + std::to_string(config->files()) + " files").c_str() : "");
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

  vlcp::daemon::Runtime rt(loop, std::move(*settings));
  vlcp::daemon::make_modules(rt);
  if (rt.settings.server.startup.empty()) {
    if (auto s = rt.modules.load_all(); !s.ok()) return fail(s);
  } else {
    for (const auto& name : rt.settings.server.startup)
      if (auto s = rt.modules.load(name); !s.ok()) return fail(s);
  }

  vlcp::daemon::sd_notify_state("READY=1");
  VLCP_LOG(kInfo, "daemon") << "vlcpd ready";
  // Under systemd: the watchdog (WatchdogSec) pinged from this loop, so a wedged loop is
  // restarted, and a STATUS= line for `systemctl status`.
  std::optional<vlcp::daemon::Watchdog> watchdog;
  if (const char* sock = std::getenv("NOTIFY_SOCKET"); sock && *sock) {
    auto interval = vlcp::daemon::watchdog_interval_from_env();
    watchdog.emplace(loop, interval, vlcp::daemon::sd_notify_state, [&rt] {
      vlcp::daemon::StatusFigures f;
      if (rt.switches)
        for (const auto& [dpid, info] : rt.switches->switches()) f.switches_connected += info.connected;
      if (rt.host)
        for (const auto& [dpid, bridge, st] : rt.host->flow_owners()) {
          ++f.flow_owners;
          f.switches_in_sync += st.synced;
        }
      if (rt.store) f.store_connected = rt.store->connected();
      return vlcp::daemon::status_text(f);
    });
    if (interval) {
      VLCP_LOG(kInfo, "daemon")
          << "systemd watchdog: a ping every "
          << std::chrono::duration_cast<std::chrono::milliseconds>(watchdog->period()).count() << " ms";
    }
  }
  loop.run();

  rt.modules.unload_all();
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
