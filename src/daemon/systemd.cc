// sd_notify over the unix datagram socket systemd names in $NOTIFY_SOCKET, and the watchdog
// timer on the control loop (see systemd.h).
#include "daemon/systemd.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace vlcp::daemon {

bool sd_notify_state(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  socklen_t alen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), alen);
  close(fd);
  return n == static_cast<ssize_t>(state.size());
}

namespace {
// A whole decimal number, nothing else.
template <typename T>
std::optional<T> parse_whole(const char* s) {
  if (!s || !*s) return std::nullopt;
  T v{};
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}
}  // namespace

std::optional<std::chrono::microseconds> watchdog_interval(const char* usec, const char* pid, pid_t self) {
  auto us = parse_whole<uint64_t>(usec);
  if (!us || *us == 0 || *us > static_cast<uint64_t>(std::chrono::microseconds::max().count()))
    return std::nullopt;
  if (pid) {
    auto p = parse_whole<pid_t>(pid);
    if (!p || *p != self) return std::nullopt;
  }
  return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(*us));
}

std::optional<std::chrono::microseconds> watchdog_interval_from_env() {
  return watchdog_interval(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID"), getpid());
}

std::string status_text(const StatusFigures& f) {
  std::string s = std::to_string(f.switches_connected) +
                  (f.switches_connected == 1 ? " switch" : " switches") + " connected";
  if (f.flow_owners)
    s += ", " + std::to_string(f.switches_in_sync) + "/" + std::to_string(f.flow_owners) + " in sync";
  if (f.store_connected) s += *f.store_connected ? "; ObjectDB connected" : "; ObjectDB unreachable";
  return s;
}

Watchdog::Watchdog(io::ControlLoop& loop, std::optional<std::chrono::microseconds> interval, Send send,
                   Status status)
    : loop_(loop),
      watchdog_(interval.has_value()),
      // Half the interval, as sd_watchdog_enabled(3) advises: one late ping is not a restart.
      period_(interval ? std::max(*interval / 2, std::chrono::microseconds(1)) : kStatusPeriod),
      send_(std::move(send)),
      status_(std::move(status)) {
  timer_ = loop_.after(period_, [this] { tick(); });
}

Watchdog::~Watchdog() {
  if (timer_) loop_.cancel(timer_);
}

void Watchdog::tick() {
  std::string message = watchdog_ ? "WATCHDOG=1" : "";
  if (status_) {
    std::string status = status_();
    if (status != last_status_) {
      if (!message.empty()) message += '\n';
      message += "STATUS=" + status;
      last_status_ = std::move(status);
    }
  }
  if (!message.empty()) send_(message);
  if (watchdog_) ++pings_;
  // Re-armed from now, not from the due time: after a stall, one ping, then the usual pace.
  timer_ = loop_.after(period_, [this] { tick(); });
}

}  // namespace vlcp::daemon
