// Command-line parsing and validation of the server.* keys.
#include "daemon/options.h"

#include <cctype>
#include <set>

#include "base/version.h"
#include "io/tls.h"

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
    } else if (a == "--show-config") {
      o.check_config = o.show_config = true;
    } else if (a == "--allow-unknown-keys") {
      o.allow_unknown_keys = true;
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

std::string show_config(const Config& config) {
  std::string out;
  for (const auto& key : config.keys()) {
    std::string lower = key;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool secret = false;
    for (const char* word : {"token", "password", "secret", "digest", "auth"})
      secret = secret || lower.find(word) != std::string::npos;
    out += key + " = " + (secret ? std::string("'***'") : config.find(key)->dump()) + "  # " +
           config.where(key) + "\n";
  }
  return out;
}

std::string usage_text() {
  std::string text =
      "Usage: vlcpd [OPTIONS]\n"
      "The VLCP SDN controller daemon: programs the local Open vSwitch from the network model.\n"
      "\n"
      "Options:\n"
      "  -c, --config PATH     configuration file, then its drop-ins PATH.d/*.conf in name order (a\n"
      "                        later file's key replaces an earlier one), or a directory of *.conf\n"
      "                        files read as one (default " +
      std::string(kDefaultConfigPath) +
      " and its .d when either exists)\n"
      "      --check-config    validate the configuration and exit: 0 valid, 1 invalid\n"
      "      --show-config     validate, then print every key with its value and the file:line it\n"
      "                        comes from (secrets masked), and exit\n"
      "      --allow-unknown-keys  unknown keys warn instead of failing (as config.allowunknown)\n"
      "  -l, --log-level LEVEL debug, info, warn, error or off (overrides server.loglevel)\n"
      "      --syslog          also log to syslog/journald (overrides server.syslog)\n"
      "  -h, --help            show this help and exit\n"
      "  -V, --version         show the version and exit\n"
      "\n"
      "Configuration keys (one 'key = literal' per line, '#' comments):\n";
#define VLCP_KEY_HELP(field, key, type, fallback, help) \
  text += std::string("  ") + key + " (default " + shown_default(#fallback) + ")\n      " + help + "\n";
  VLCP_DAEMON_KEYS(VLCP_KEY_HELP)
#undef VLCP_KEY_HELP
  for (const auto& k : apps::registered_app_keys())
    text += "  " + k.key + " (default " + shown_default(k.fallback) + ")\n      " + k.help + "\n";
  text +=
      "A key given twice, or one no module declares, is an error naming its file:line.\n"
      "\nExit status: 0 success, 1 configuration or start-up error, 2 usage error.\n";
  return text;
}

std::string version_text() {
  return std::string("vlcpd ") + kVersion + "\n";
}

const std::set<std::string, std::less<>>& declared_keys() {
  static const std::set<std::string, std::less<>> keys = [] {
    std::set<std::string, std::less<>> out = {
#define VLCP_KEY_NAME(field, key, type, fallback, help) key,
        VLCP_DAEMON_KEYS(VLCP_KEY_NAME)
#undef VLCP_KEY_NAME
    };
    for (const auto& k : apps::registered_app_keys()) out.insert(k.key);
    return out;
  }();
  return keys;
}

Result<ServerSettings> read_server_settings(const Config& config) {
  ServerKeys keys;
  VLCP_SERVER_KEYS(VLCP_KEYS_READ)

  ServerSettings s;
  auto level = log::parse_level(keys.loglevel);
  if (!level.ok()) return config.error_at("server.loglevel", level.error().message());
  s.log.level = *level;
  s.log.to_stderr = keys.logstderr;
  s.log.to_syslog = keys.syslog;
  for (auto name : keys.startup) {
    if (name.rfind("vlcpd.", 0) == 0) name = name.substr(6);
    s.startup.push_back(name);
  }
  return s;
}

namespace {

struct ConfigKeys {
  VLCP_CONFIG_KEYS(VLCP_KEYS_FIELD)
};

// Every declared TLS file triple (<section>.key, .certificate, .ca_certs — the naming of VLCP's
// modules) whose files are set must load, each problem placed at its key's line.
Status check_tls_keys(const Config& config) {
  for (const auto& declared : declared_keys()) {
    static constexpr std::string_view kSuffix = ".certificate";
    if (declared.size() <= kSuffix.size() ||
        declared.compare(declared.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
      continue;
    std::string section = declared.substr(0, declared.size() - kSuffix.size());
    std::string names[] = {section + ".key", declared, section + ".ca_certs"};
    io::TlsFiles files;
    std::string* paths[] = {&files.key, &files.certificate, &files.ca_certs};
    for (int i = 0; i < 3; ++i) {
      if (!declared_keys().count(names[i])) continue;
      VLCP_ASSIGN_OR_RETURN(*paths[i], config.get_or<std::string>(names[i], ""));
    }
    if (auto problem = io::check_tls_files(files))
      return config.error_at(names[static_cast<int>(problem->part)], problem->message);
  }
  return Status();
}

}  // namespace

Result<Settings> read_settings(const Config& config, std::vector<std::string>* warnings,
                               bool allow_unknown_keys) {
  ConfigKeys keys;
  VLCP_CONFIG_KEYS(VLCP_KEYS_READ)
  VLCP_RETURN_IF_ERROR(
      config.check_known_keys(declared_keys(), allow_unknown_keys || keys.allowunknown, warnings));
  Settings s;
  VLCP_ASSIGN_OR_RETURN(s.server, read_server_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.sched, sched::read_sched_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.openflow, sw::read_openflow_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.metrics, api::read_metrics_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.http, api::read_http_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.ovsdb, ovsdb::read_ovsdb_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.db, db::read_db_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.pipeline, pipeline::read_pipeline_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.modelview, apps::read_model_view_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.dockerplugin, containers::read_dockerplugin_settings(config));
  VLCP_ASSIGN_OR_RETURN(s.cniserver, containers::read_cniserver_settings(config));
  VLCP_RETURN_IF_ERROR(check_tls_keys(config));
  // Every registered app's keys (apps/registry.h), checked against the pipeline it would run in.
  VLCP_ASSIGN_OR_RETURN(s.apps, apps::configure_apps(config, s.pipeline));
  return s;
}

}  // namespace vlcp::daemon
