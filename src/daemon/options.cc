// Command-line parsing and validation of the server.* keys.
#include "daemon/options.h"

#include <set>

#include "base/version.h"

namespace vlcp::daemon {

Result<Options> parse_options(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& name) -> Result<std::string> {
      auto eq = a.find('=');
      if (a.rfind("--", 0) == 0 && eq != std::string::npos) return a.substr(eq + 1);
      if (i + 1 >= args.size())
        return make_error(Errc::kInvalidArgument, "option " + name + " needs a value");
      return args[++i];
    };
    std::string name = a.substr(0, a.find('='));
    if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "-V" || a == "--version") {
      o.version = true;
    } else if (a == "--check-config") {
      o.check_config = true;
    } else if (a == "--syslog") {
      o.syslog = true;
    } else if (name == "-c" || name == "--config") {
      VLCP_ASSIGN_OR_RETURN(o.config_path, value(name));
    } else if (name == "-l" || name == "--log-level") {
      VLCP_ASSIGN_OR_RETURN(std::string level, value(name));
      VLCP_ASSIGN_OR_RETURN(o.log_level, log::parse_level(level));
    } else {
      return make_error(Errc::kInvalidArgument, "unknown option '" + a + "' (see vlcpd --help)");
    }
  }
  return o;
}

namespace {
// A key's declared default as written in config files: "{4, 5}"-style C++ lists become "[4, 5]".
std::string shown_default(std::string text) {
  auto brace = text.find('{');
  if (brace == std::string::npos) return text;
  std::string inner = text.substr(brace + 1, text.rfind('}') - brace - 1);
  return "[" + inner + "]";
}
}  // namespace

std::string usage_text() {
  std::string text =
      "Usage: vlcpd [OPTIONS]\n"
      "The VLCP SDN controller daemon: programs the local Open vSwitch from the network model.\n"
      "\n"
      "Options:\n"
      "  -c, --config FILE     configuration file (default " +
      std::string(kDefaultConfigPath) +
      " when it exists)\n"
      "      --check-config    validate the configuration and exit: 0 valid, 1 invalid\n"
      "  -l, --log-level LEVEL debug, info, warn, error or off (overrides server.loglevel)\n"
      "      --syslog          also log to syslog/journald (overrides server.syslog)\n"
      "  -h, --help            show this help and exit\n"
      "  -V, --version         show the version and exit\n"
      "\n"
      "Configuration keys (one 'key = literal' per line, '#' comments):\n";
#define VLCP_KEY_HELP(field, key, type, fallback, help) \
  text += std::string("  ") + key + " (default " + shown_default(#fallback) + ")\n      " + help + "\n";
  VLCP_SERVER_KEYS(VLCP_KEY_HELP)
  VLCP_SCHED_KEYS(VLCP_KEY_HELP)
  VLCP_OPENFLOW_KEYS(VLCP_KEY_HELP)
  VLCP_METRICS_KEYS(VLCP_KEY_HELP)
  VLCP_HTTP_KEYS(VLCP_KEY_HELP)
  VLCP_OVSDB_KEYS(VLCP_KEY_HELP)
  VLCP_OBJECTDB_KEYS(VLCP_KEY_HELP)
  VLCP_PIPELINE_KEYS(VLCP_KEY_HELP)
#undef VLCP_KEY_HELP
  text += "\nExit status: 0 success, 1 configuration or start-up error, 2 usage error.\n";
  return text;
}

std::string version_text() {
  return std::string("vlcpd ") + kVersion + "\n";
}

Result<ServerSettings> read_server_settings(const Config& config, std::vector<std::string>* warnings) {
  static const std::set<std::string, std::less<>> known = {
#define VLCP_KEY_NAME(field, key, type, fallback, help) key,
      VLCP_SERVER_KEYS(VLCP_KEY_NAME)
#undef VLCP_KEY_NAME
  };
  for (const auto& key : config.keys_under("server")) {
    if (!known.count(key) && warnings) warnings->push_back(config.where(key) + ": unknown key '" + key + "'");
  }
  ServerKeys keys;
  VLCP_SERVER_KEYS(VLCP_KEYS_READ)

  ServerSettings s;
  auto level = log::parse_level(keys.loglevel);
  if (!level.ok()) {
    return make_error(Errc::kInvalidArgument,
                      config.where("server.loglevel") + ": server.loglevel: " + level.error().message());
  }
  s.log.level = *level;
  s.log.to_stderr = keys.logstderr;
  s.log.to_syslog = keys.syslog;
  for (auto name : keys.startup) {
    if (name.rfind("vlcpd.", 0) == 0) name = name.substr(6);
    s.startup.push_back(name);
  }
  return s;
}

Result<Settings> read_settings(const Config& config, std::vector<std::string>* warnings) {
  Settings s;
  VLCP_ASSIGN_OR_RETURN(s.server, read_server_settings(config, warnings));
  VLCP_ASSIGN_OR_RETURN(s.sched, sched::read_sched_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.openflow, sw::read_openflow_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.metrics, api::read_metrics_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.http, api::read_http_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.ovsdb, ovsdb::read_ovsdb_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.db, db::read_db_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.pipeline, pipeline::read_pipeline_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.l2, apps::read_l2_settings(config));
  // Controller learning runs on the workers: they need the tables and timeouts.
  if (s.l2.l2 == apps::L2Strategy::kControllerLearn) {
    auto& tables = s.pipeline.tables;
    auto l2input = tables.id("l2input"), l2learning = tables.id("l2learning");
    if (!l2input || !l2learning || !tables.next_in_path(*l2input))
      return make_error(Errc::kInvalidArgument, "controller learning needs the l2switch app's tables");
    auto& l = s.openflow.learning;
    l.enabled = true;
    l.l2input = *l2input;
    l.after_l2input = *tables.next_in_path(*l2input);
    l.l2learning = *l2learning;
    l.timeout = s.l2.learn_timeout;
    l.cookie = apps::kCookieDynamic | apps::cookie(apps::App::kL2);
  }
  static const std::set<std::string, std::less<>> known = {
#define VLCP_KEY_NAME(field, key, type, fallback, help) key,
      VLCP_SCHED_KEYS(VLCP_KEY_NAME) VLCP_OPENFLOW_KEYS(VLCP_KEY_NAME) VLCP_METRICS_KEYS(VLCP_KEY_NAME)
          VLCP_HTTP_KEYS(VLCP_KEY_NAME) VLCP_OVSDB_KEYS(VLCP_KEY_NAME) VLCP_OBJECTDB_KEYS(VLCP_KEY_NAME)
              VLCP_PIPELINE_KEYS(VLCP_KEY_NAME) VLCP_L2_KEYS(VLCP_KEY_NAME)
#undef VLCP_KEY_NAME
  };
  for (const char* prefix :
       {"module.sched", "module.openflowserver", "protocol.openflow", "module.metrics", "module.httpserver",
        "module.ovsdbmanager", "module.objectdb", "module.zookeeperdb", "module.openflowmanager",
        "module.l2switch", "module.vxlancast", "module.ioprocessing"}) {
    for (const auto& key : config.keys_under(prefix))
      if (!known.count(key) && warnings)
        warnings->push_back(config.where(key) + ": unknown key '" + key + "'");
  }
  return s;
}

}  // namespace vlcp::daemon
