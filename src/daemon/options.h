// vlcpd's command line and the server.* configuration keys it reads, declared once in
// VLCP_SERVER_KEYS so that --check-config, --help and the daemon agree.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/http.h"
#include "api/metrics.h"
#include "apps/l2.h"
#include "base/config.h"
#include "base/log.h"
#include "base/result.h"
#include "db/settings.h"
#include "ovsdb/client.h"
#include "pipeline/tables.h"
#include "sched/lcores.h"
#include "switch/manager.h"

namespace vlcp::daemon {

inline constexpr const char* kDefaultConfigPath = "/etc/vlcp/vlcp.conf";

struct Options {
  std::optional<std::string> config_path;  // -c; absent: kDefaultConfigPath if it exists
  bool check_config = false;
  bool help = false;
  bool version = false;
  std::optional<log::Level> log_level;  // -l overrides server.loglevel
  bool syslog = false;
};

// Parses argv. Errors are usage errors (exit status 2).
Result<Options> parse_options(const std::vector<std::string>& args);
std::string usage_text();
std::string version_text();

// X(field, key, C++ type, default, help)
#define VLCP_SERVER_KEYS(X)                                                                       \
  X(loglevel, "server.loglevel", std::string, "info", "log level: debug, info, warn, error, off") \
  X(logstderr, "server.logstderr", bool, true, "write log lines to standard error")               \
  X(syslog, "server.syslog", bool, false, "also send log lines to syslog (journald)")             \
  X(startup, "server.startup", std::vector<std::string>, {},                                      \
    "the modules to start (with what they depend on), e.g. ['httpserver', 'objectdb']; empty: all")

// The server.* keys as read, with their declared defaults.
struct ServerKeys {
  VLCP_SERVER_KEYS(VLCP_KEYS_FIELD)
};

// What the daemon takes from the config file, validated.
struct ServerSettings {
  log::Settings log;
  std::vector<std::string> startup;  // module names ("vlcpd." prefixes removed); empty: all
};

// Checks every server.* key (type, allowed values, unknown keys) and derives the settings.
// `warnings` receives non-fatal findings (unknown keys), each naming its line.
Result<ServerSettings> read_server_settings(const Config& config, std::vector<std::string>* warnings);

// Everything vlcpd reads from the file, validated together (what --check-config checks).
struct Settings {
  ServerSettings server;
  sched::SchedSettings sched;
  sw::OpenflowSettings openflow;
  api::MetricsSettings metrics;
  api::HttpSettings http;
  ovsdb::OvsdbSettings ovsdb;
  db::DbSettings db;
  pipeline::PipelineSettings pipeline;
  apps::L2Settings l2;
};
// `warnings` receives unknown keys under the prefixes vlcpd owns, each with its line.
Result<Settings> read_settings(const Config& config, std::vector<std::string>* warnings);

}  // namespace vlcp::daemon
