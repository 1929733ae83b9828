#include "daemon/options.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

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
