#include "daemon/options.h"

#include <gtest/gtest.h>

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
  auto s = read_server_settings(*empty, nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->log.level, log::Level::kInfo);
  EXPECT_TRUE(s->log.to_stderr);
  EXPECT_FALSE(s->log.to_syslog);

  auto c = Config::parse("server.loglevel = 'warn'\nserver.syslog = True\nserver.bogus = 1\n", "v.conf");
  std::vector<std::string> warnings;
  s = read_server_settings(*c, &warnings);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->log.level, log::Level::kWarn);
  EXPECT_TRUE(s->log.to_syslog);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "v.conf:3: unknown key 'server.bogus'");

  auto bad = Config::parse("\nserver.loglevel = 'chatty'\n", "v.conf");
  auto e = read_server_settings(*bad, nullptr);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message().rfind("v.conf:2: server.loglevel: unknown log level 'chatty'", 0), 0u);
  auto wrong_type = Config::parse("server.syslog = 'yes'\n", "v.conf");
  EXPECT_FALSE(read_server_settings(*wrong_type, nullptr).ok());
}

TEST(Usage, ListsDeclaredKeys) {
  std::string u = usage_text();
  EXPECT_NE(u.find("server.loglevel"), std::string::npos);
  EXPECT_NE(u.find("--check-config"), std::string::npos);
}

}  // namespace
}  // namespace vlcp::daemon
