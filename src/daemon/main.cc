// vlcpd: the composition root. Parses options, loads and validates the configuration, sets up
// logging, then runs until SIGINT/SIGTERM. The runtime (I/O threads, control loop, lcores)
// and the modules are wired here as they arrive.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "base/config.h"
#include "base/log.h"
#include "base/version.h"
#include "daemon/options.h"
#include "daemon/systemd.h"

namespace {

constexpr int kExitConfig = 1;
constexpr int kExitUsage = 2;

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
  if (!config.ok()) {
    std::fprintf(stderr, "vlcpd: %s\n", config.error().message().c_str());
    return kExitConfig;
  }
  std::vector<std::string> warnings;
  auto settings = vlcp::daemon::read_server_settings(*config, &warnings);
  if (!settings.ok()) {
    std::fprintf(stderr, "vlcpd: %s\n", settings.error().message().c_str());
    return kExitConfig;
  }
  for (const auto& w : warnings) std::fprintf(stderr, "vlcpd: warning: %s\n", w.c_str());
  if (options.check_config) {
    std::printf("%s: configuration OK (%zu keys)\n", path.empty() ? "<defaults>" : path.c_str(),
                config->keys().size());
    return 0;
  }

  vlcp::log::Settings log = settings->log;
  if (options.log_level) log.level = *options.log_level;
  if (options.syslog) log.to_syslog = true;
  vlcp::log::configure(log);

  // Signals are taken synchronously by this thread; threads started later inherit the mask.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  VLCP_LOG(kInfo, "daemon") << "vlcpd " << vlcp::kVersion << " started (pid " << getpid() << ", config "
                            << (path.empty() ? "<defaults>" : path) << ")";
  vlcp::daemon::sd_notify_state("READY=1");
  int sig = 0;
  sigwait(&stop, &sig);
  VLCP_LOG(kInfo, "daemon") << "received " << strsignal(sig) << ", stopping";
  vlcp::daemon::sd_notify_state("STOPPING=1");
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
