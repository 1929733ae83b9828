// vlcpd's command line and the server.* configuration keys it reads, declared once in
// VLCP_SERVER_KEYS so that --check-config, --help and the daemon agree.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/http.h"
#include "api/metrics.h"
#include "apps/registry.h"
#include "base/config.h"
#include "base/log.h"
#include "base/result.h"
#include "containers/cni_module.h"
#include "containers/docker_module.h"
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
  bool show_config = false;  // --show-config: check, then every key, its value and its file:line
  bool help = false;
  bool version = false;
  std::optional<log::Level> log_level;  // -l overrides server.loglevel
  bool syslog = false;
  bool allow_unknown_keys = false;  // --allow-unknown-keys: unknown keys warn (as config.allowunknown)
};

// Parses argv. Errors are usage errors (exit status 2).
Result<Options> parse_options(const std::vector<std::string>& args);
std::string usage_text();
// The configuration as vlcpd reads it (the packaged file and its drop-ins merged): one
// "key = value  # file:line" per key, sorted; the values of secrets (keys naming a token,
// password, secret, digest or auth — module.zookeeperdb.auth is "user:password") shown as '***'.
std::string show_config(const Config& config);
std::string version_text();

// X(field, key, C++ type, default, help)
#define VLCP_SERVER_KEYS(X)                                                                       \
  X(loglevel, "server.loglevel", std::string, "info", "log level: debug, info, warn, error, off") \
  X(logstderr, "server.logstderr", bool, true, "write log lines to standard error")               \
  X(syslog, "server.syslog", bool, false, "also send log lines to syslog (journald)")             \
  X(startup, "server.startup", std::vector<std::string>, {},                                      \
    "the modules to start (with what they depend on), e.g. ['httpserver', 'objectdb']; empty: all")

// X(field, key, C++ type, default, help): how the file itself is checked.
#define VLCP_CONFIG_KEYS(X)                                                                \
  X(allowunknown, "config.allowunknown", bool, false,                                      \
    "unknown keys warn instead of failing the check (a file shared with newer versions); " \
    "keys given twice still fail")

// Every key table of vlcpd's own modules, the one list the rest derives from (with the apps' keys,
// each declared beside its app and registered: apps/registry.h): --help, the check that every key
// in the file is declared (and which modules exist), and the TLS file checks.
// clang-format off
#define VLCP_DAEMON_KEYS(X) \
  VLCP_CONFIG_KEYS(X)       \
  VLCP_SERVER_KEYS(X)       \
  VLCP_SCHED_KEYS(X)        \
  VLCP_OPENFLOW_KEYS(X)     \
  VLCP_METRICS_KEYS(X)      \
  VLCP_HTTP_KEYS(X)         \
  VLCP_OVSDB_KEYS(X)        \
  VLCP_OBJECTDB_KEYS(X)     \
  VLCP_PIPELINE_KEYS(X)      \
  VLCP_MODEL_VIEW_KEYS(X)   \
  VLCP_DOCKERPLUGIN_KEYS(X) \
  VLCP_CNISERVER_KEYS(X)
// clang-format on

// Every declared key's name.
const std::set<std::string, std::less<>>& declared_keys();

// The server.* keys as read, with their declared defaults.
struct ServerKeys {
  VLCP_SERVER_KEYS(VLCP_KEYS_FIELD)
};

// What the daemon takes from the config file, validated.
struct ServerSettings {
  log::Settings log;
  std::vector<std::string> startup;  // module names ("vlcpd." prefixes removed); empty: all
};

// Checks the server.* keys' values and derives the settings (read_settings checks for unknown keys).
Result<ServerSettings> read_server_settings(const Config& config);

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
  apps::ModelViewSettings modelview;
  containers::DockerPluginSettings dockerplugin;
  containers::CniModuleSettings cniserver;
  std::vector<apps::ConfiguredApp> apps;  // every registered app (its spec when the pipeline runs it)
};
// Every key must be declared (VLCP_DAEMON_KEYS); unknown keys fail the check, each named with
// its file:line, unless `allow_unknown_keys` or config.allowunknown is set: then they go to
// `warnings`. Value errors name the key's file:line; configured TLS files must load.
Result<Settings> read_settings(const Config& config, std::vector<std::string>* warnings,
                               bool allow_unknown_keys = false);

}  // namespace vlcp::daemon
