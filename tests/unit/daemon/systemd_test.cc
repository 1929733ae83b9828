// The systemd watchdog (daemon/systemd.h): which environment enables it, that its pings come
// from the control loop's timers at half the interval to a real $NOTIFY_SOCKET (a unix datagram
// socket the test binds), that a loop held up by a handler sends none until the handler
// returns, and the STATUS= line. The loop runs on a ManualClock: no sleeps.
#include "daemon/systemd.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "base/clock.h"

namespace vlcp::daemon {
namespace {

using namespace std::chrono_literals;

TEST(WatchdogInterval, FromWatchdogUsecWhenThePidIsAbsentOrOurs) {
  EXPECT_EQ(watchdog_interval("200000", nullptr, 42), std::chrono::microseconds(200000));
  EXPECT_EQ(watchdog_interval("30000000", "42", 42), std::chrono::microseconds(30000000));
  EXPECT_EQ(watchdog_interval("200000", "43", 42), std::nullopt) << "meant for another process";
  EXPECT_EQ(watchdog_interval(nullptr, nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("0", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("20s", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("-5", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("200000", "x42", 42), std::nullopt);
}

// A unix datagram socket bound in a fresh directory and named in $NOTIFY_SOCKET, as systemd
// does for a Type=notify unit.
class FakeNotifySocket {
 public:
  FakeNotifySocket() {
    char tmpl[] = "/tmp/vlcp-notify.XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/notify";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~FakeNotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  bool bound() const { return bound_; }
  // Every datagram waiting now (a datagram is queued by the time sendto returns).
  std::vector<std::string> received() {
    std::vector<std::string> out;
    char buf[512];
    for (ssize_t n; (n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) >= 0;)
      out.emplace_back(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(Watchdog, PingsTheNotifySocketFromTheLoopAtHalfTheInterval) {
  FakeNotifySocket socket;
  ASSERT_TRUE(socket.bound());
  ManualClock clock;
  io::ControlLoop loop(clock);
  auto interval = watchdog_interval("200000", nullptr, getpid());  // WATCHDOG_USEC=200000
  ASSERT_TRUE(interval);
  Watchdog watchdog(loop, interval, sd_notify_state);
  EXPECT_EQ(watchdog.period(), 100ms);

  clock.advance(99ms);
  loop.run_pending();
  EXPECT_TRUE(socket.received().empty()) << "not before half the interval";
  clock.advance(1ms);
  loop.run_pending();
  EXPECT_EQ(socket.received(), std::vector<std::string>{"WATCHDOG=1"});
  for (int i = 0; i < 5; ++i) {
    clock.advance(100ms);
    loop.run_pending();
  }
  EXPECT_EQ(socket.received().size(), 5u);
  EXPECT_EQ(watchdog.pings(), 6u);
}

// The wedged loop: a handler that runs for a second (the clock moves while it runs) holds back
// every ping due meanwhile; they are not sent from elsewhere. When it returns, one ping, then
// the usual pace (no burst of late pings).
TEST(Watchdog, AStalledLoopSendsNoPing) {
  FakeNotifySocket socket;
  ASSERT_TRUE(socket.bound());
  ManualClock clock;
  io::ControlLoop loop(clock);
  Watchdog watchdog(loop, 200ms, sd_notify_state);
  clock.advance(100ms);
  loop.run_pending();
  ASSERT_EQ(socket.received().size(), 1u);

  size_t during_stall = 0;
  loop.after(0ms, [&] {
    for (int i = 0; i < 10; ++i) clock.advance(100ms);  // a second, in 10 ping periods
    during_stall = socket.received().size();
  });
  loop.run_pending();
  EXPECT_EQ(during_stall, 0u) << "a ping was sent while the loop was wedged";
  loop.run_pending();
  EXPECT_EQ(socket.received().size(), 1u) << "one ping once the loop runs again, not one per missed period";
  clock.advance(99ms);
  loop.run_pending();
  EXPECT_TRUE(socket.received().empty());
  clock.advance(1ms);
  loop.run_pending();
  EXPECT_EQ(socket.received().size(), 1u);
}

TEST(Watchdog, NoPingsWithoutAnInterval) {
  FakeNotifySocket socket;
  ManualClock clock;
  io::ControlLoop loop(clock);
  std::vector<std::string> sent;
  Watchdog watchdog(loop, watchdog_interval("200000", "1", getpid() == 1 ? 2 : getpid()),
                    [&](std::string_view m) {
                      sent.emplace_back(m);
                      return true;
                    });
  EXPECT_EQ(watchdog.period(), Watchdog::kStatusPeriod);
  clock.advance(60s);
  for (int i = 0; i < 20; ++i) {
    clock.advance(Watchdog::kStatusPeriod);
    loop.run_pending();
  }
  EXPECT_TRUE(sent.empty()) << "no status function, no watchdog: nothing to say";
}

TEST(Watchdog, StatusLinesGoWithThePingsWhenTheyChange) {
  ManualClock clock;
  io::ControlLoop loop(clock);
  std::vector<std::string> sent;
  StatusFigures figures;
  figures.store_connected = true;
  Watchdog watchdog(
      loop, 2s,
      [&](std::string_view m) {
        sent.emplace_back(m);
        return true;
      },
      [&] { return status_text(figures); });
  auto tick = [&] {
    clock.advance(1s);
    loop.run_pending();
  };
  tick();
  tick();
  figures.switches_connected = 2;
  figures.flow_owners = 2;
  figures.switches_in_sync = 1;
  tick();
  figures.store_connected = false;
  tick();
  EXPECT_EQ(sent, (std::vector<std::string>{
                      "WATCHDOG=1\nSTATUS=0 switches connected; ObjectDB connected",
                      "WATCHDOG=1",
                      "WATCHDOG=1\nSTATUS=2 switches connected, 1/2 in sync; ObjectDB connected",
                      "WATCHDOG=1\nSTATUS=2 switches connected, 1/2 in sync; ObjectDB unreachable",
                  }));
}

TEST(Watchdog, WithoutAWatchdogTheStatusAloneEveryPeriod) {
  ManualClock clock;
  io::ControlLoop loop(clock);
  std::vector<std::string> sent;
  StatusFigures figures;
  Watchdog watchdog(
      loop, std::nullopt,
      [&](std::string_view m) {
        sent.emplace_back(m);
        return true;
      },
      [&] { return status_text(figures); });
  clock.advance(Watchdog::kStatusPeriod);
  loop.run_pending();
  figures.switches_connected = 1;
  clock.advance(Watchdog::kStatusPeriod);
  loop.run_pending();
  clock.advance(Watchdog::kStatusPeriod);
  loop.run_pending();
  EXPECT_EQ(sent, (std::vector<std::string>{"STATUS=0 switches connected", "STATUS=1 switch connected"}));
  EXPECT_EQ(watchdog.pings(), 0u);
}

TEST(Watchdog, DestroyedItCancelsItsTimer) {
  ManualClock clock;
  io::ControlLoop loop(clock);
  int sent = 0;
  {
    Watchdog watchdog(loop, 200ms, [&](std::string_view) { return ++sent, true; });
    clock.advance(100ms);
    loop.run_pending();
  }
  EXPECT_EQ(loop.timers(), 0u);
  clock.advance(1s);
  loop.run_pending();
  EXPECT_EQ(sent, 1);
}

}  // namespace
}  // namespace vlcp::daemon
