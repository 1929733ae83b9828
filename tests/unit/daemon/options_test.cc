#include "daemon/options.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <type_traits>
#include <utility>

#include "daemon/systemd.h"

namespace vlcp::daemon {
namespace {

TEST(Options, ParsesEveryFlag) {
  auto o = parse_options({"-c", "/tmp/x.conf", "--check-config", "--log-level=debug", "--syslog"});
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(*o->config_path, "/tmp/x.conf");
  EXPECT_TRUE(o->check_config);
  EXPECT_EQ(*o->log_level, log::Level::kDebug);
  EXPECT_TRUE(o->syslog);
  EXPECT_TRUE(parse_options({"--help"})->help);
  EXPECT_TRUE(parse_options({"-V"})->version);
  EXPECT_TRUE(parse_options({"--allow-unknown-keys"})->allow_unknown_keys);
  EXPECT_FALSE(parse_options({})->allow_unknown_keys);
  EXPECT_EQ(*parse_options({"--config=a.conf"})->config_path, "a.conf");
}

TEST(Options, RejectsUnknownAndIncomplete) {
  EXPECT_NE(parse_options({"--frobnicate"}).error().message().find("unknown option '--frobnicate'"),
            std::string::npos);
  EXPECT_NE(parse_options({"-c"}).error().message().find("needs a value"), std::string::npos);
  EXPECT_FALSE(parse_options({"-l", "loud"}).ok());
}

TEST(ServerSettings, DefaultsAndValidation) {
  auto empty = Config::parse("");
  auto s = read_server_settings(*empty);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->log.level, log::Level::kInfo);
  EXPECT_TRUE(s->log.to_stderr);
  EXPECT_FALSE(s->log.to_syslog);

  auto c = Config::parse("server.loglevel = 'warn'\nserver.syslog = True\n", "v.conf");
  s = read_server_settings(*c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->log.level, log::Level::kWarn);
  EXPECT_TRUE(s->log.to_syslog);

  auto bad = Config::parse("\nserver.loglevel = 'chatty'\n", "v.conf");
  auto e = read_server_settings(*bad);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message().rfind("v.conf:2: server.loglevel: unknown log level 'chatty'", 0), 0u);
  auto wrong_type = Config::parse("server.syslog = 'yes'\n", "v.conf");
  EXPECT_FALSE(read_server_settings(*wrong_type).ok());
}

// read_settings over a file's text; "v.conf" names it.
Result<Settings> settings_of(const std::string& text, std::vector<std::string>* warnings = nullptr,
                             bool allow_unknown = false) {
  auto c = Config::parse(text, "v.conf");
  if (!c.ok()) return c.error();
  return read_settings(*c, warnings, allow_unknown);
}

TEST(Settings, DefaultsAreValid) {
  auto s = settings_of("");
  EXPECT_TRUE(s.ok()) << s.status().to_string();
}

TEST(Settings, UnknownKeysFailWithTheirLines) {
  for (const auto& [text, start] : std::vector<std::pair<std::string, std::string>>{
           {"server.loglevel = 'info'\nmodule.httpserver.urll = 'tcp://127.0.0.1:1'\n",
            "v.conf:2: unknown key 'module.httpserver.urll' (did you mean 'module.httpserver.url'?)"},
           {"\n\nmodule.frobnicator.x = 1\n", "v.conf:3: unknown key 'module.frobnicator.x'"},
           {"server.colour = 1\n", "v.conf:1: unknown key 'server.colour'"},
           {"protocol.openflow.hellotimeot = 1\n", "v.conf:1: unknown key 'protocol.openflow.hellotimeot'"},
           {"proxy.kvdbproxy = 1\n", "v.conf:1: unknown key 'proxy.kvdbproxy'"},
       }) {
    std::vector<std::string> warnings;
    auto s = settings_of(text, &warnings);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.error().message().rfind(start, 0), 0u) << s.error().message();
  }
}

TEST(Settings, UnknownKeysWarnWhenOptedOut) {
  const std::string text = "module.httpserver.urll = 1\nmodule.frobnicator.x = 1\n";
  std::vector<std::string> warnings;
  ASSERT_TRUE(settings_of(text, &warnings, /*allow_unknown=*/true).ok());
  EXPECT_EQ(warnings.size(), 2u);
  warnings.clear();
  ASSERT_TRUE(settings_of("config.allowunknown = True\n" + text, &warnings).ok());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[1].rfind("v.conf:2: unknown key 'module.httpserver.urll'", 0), 0u) << warnings[1];
  // Opting out does not let a key through twice, nor a bad value.
  EXPECT_FALSE(
      settings_of("config.allowunknown = True\nserver.loglevel = 'info'\nserver.loglevel = 'debug'\n").ok());
  EXPECT_FALSE(settings_of("server.syslog = 'yes'\n", nullptr, true).ok());
}

TEST(Settings, ValueOutOfRangeNamesTheKeysLine) {
  auto s = settings_of("# comment\nmodule.openflowserver.iothreads = 1000\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message().rfind("v.conf:2: module.openflowserver.iothreads:", 0), 0u)
      << s.error().message();
  s = settings_of(
      "\nmodule.openflowmanager.apps = ['ioprocessing']\nmodule.l2switch.learning = True\n"
      "module.l2switch.nxlearn = False\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message().rfind("v.conf:2: module.openflowmanager.apps:", 0), 0u)
      << s.error().message();
}

// A scratch file, removed at the end of the test.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name, const std::string& text)
      : path(::testing::TempDir() + "options_test_" + name) {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

TEST(Settings, TlsFilesThatCannotBeLoadedFailAtTheirKey) {
  TempFile garbage("garbage.pem", "not a PEM file\n");
  for (const auto& [text, start] : std::vector<std::pair<std::string, std::string>>{
           {"\nmodule.httpserver.key = '/nonexistent/key.pem'\n",
            "v.conf:2: module.httpserver.key: cannot read '/nonexistent/key.pem'"},
           {"module.httpserver.url = 'tcp://127.0.0.1:1'\nmodule.httpserver.certificate = "
            "'/nonexistent/c.pem'\n",
            "v.conf:2: module.httpserver.certificate: cannot read '/nonexistent/c.pem'"},
           {"\n\nmodule.openflowserver.ca_certs = '/nonexistent/ca.pem'\n",
            "v.conf:3: module.openflowserver.ca_certs: cannot read"},
           {"module.openflowserver.key = '" + garbage.path + "'\n",
            "v.conf:1: module.openflowserver.key: cannot use"},
           {"module.httpserver.ca_certs = '" + garbage.path + "'\n",
            "v.conf:1: module.httpserver.ca_certs: cannot use"},
       }) {
    auto s = settings_of(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.error().message().rfind(start, 0), 0u) << s.error().message();
  }
}

// What a key of type T could be given that might be out of its range, as literals.
template <typename T>
std::vector<std::string> probe_values() {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, nlohmann::json>) {
    return {};
  } else if constexpr (std::is_arithmetic_v<T>) {
    return {"0", "-1", "1099511627776"};
  } else if constexpr (std::is_same_v<T, std::string>) {
    return {"''", "'bogus'", "'ssl://127.0.0.1:1'"};
  } else if constexpr (std::is_same_v<typename T::value_type, std::string>) {
    return {"[]", "['bogus']"};
  } else {
    return {"[]", "[-1]", "[1099511627776]"};
  }
}

// The guard for the whole class "an error about a value names another key, or no line": every
// declared key, given a value of the wrong type or one that may be out of range, either passes
// or fails with an error placed at its own line (the only key in the file, on line 2).
TEST(Settings, EveryKeysValueErrorIsAtThatKeysLine) {
  struct Probe {
    std::string key, literal;
  };
  std::vector<Probe> probes;
#define VLCP_PROBE(field, key, type, fallback, help)                                       \
  if (!std::is_same_v<type, nlohmann::json>) probes.push_back({key, "{'wrong': 'type'}"}); \
  for (const auto& v : probe_values<type>()) probes.push_back({key, v});
  VLCP_DAEMON_KEYS(VLCP_PROBE)
#undef VLCP_PROBE
  ASSERT_GT(probes.size(), 100u);
  // Known to report against another key, without a line (switch/manager.cc's listener checks):
  // to be fixed there, then removed from here.
  int failed = 0;
  for (const auto& p : probes) {
    auto s = settings_of("# probe\n" + p.key + " = " + p.literal + "\n");
    if (s.ok()) continue;
    ++failed;
    EXPECT_EQ(s.error().message().rfind("v.conf:2: ", 0), 0u)
        << p.key << " = " << p.literal << " -> " << s.error().message();
  }
  EXPECT_GT(failed, 60);  // every wrong type, at least
}

TEST(Usage, ListsDeclaredKeys) {
  std::string u = usage_text();
  EXPECT_NE(u.find("--check-config"), std::string::npos);
  EXPECT_NE(u.find("--allow-unknown-keys"), std::string::npos);
  for (const auto& key : declared_keys())
    EXPECT_NE(u.find("  " + key + " (default"), std::string::npos) << key;
}

}  // namespace
}  // namespace vlcp::daemon

namespace vlcp::daemon {
namespace {

TEST(SdNotify, SendsStateToNotifySocket) {
  std::string path = ::testing::TempDir() + "vlcp-notify-" + std::to_string(getpid());
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  unlink(path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(sd_notify_state("READY=1"));
  char buf[64] = {};
  ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "READY=1");
  unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(sd_notify_state("READY=1"));
  close(fd);
  unlink(path.c_str());
}

}  // namespace
}  // namespace vlcp::daemon
