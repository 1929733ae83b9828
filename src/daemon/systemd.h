// systemd's notify protocol (sd_notify(3) without libsystemd): READY=1 once started, STOPPING=1
// when asked to stop, and the watchdog (WATCHDOG=1) pinged from the control loop with a STATUS=
// line. A no-op outside a Type=notify unit.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "io/control_loop.h"

namespace vlcp::daemon {

// Sends `state` to $NOTIFY_SOCKET; returns false when there is no socket or the send failed.
bool sd_notify_state(std::string_view state);

// The watchdog interval systemd asks of process `self` (sd_watchdog_enabled(3)): $WATCHDOG_USEC
// (`usec`, a positive number of microseconds) when $WATCHDOG_PID (`pid`) is unset or names
// `self`; none otherwise (the variables were meant for another process, or are malformed).
std::optional<std::chrono::microseconds> watchdog_interval(const char* usec, const char* pid, pid_t self);
// The same, read from this process's environment.
std::optional<std::chrono::microseconds> watchdog_interval_from_env();

// What `systemctl status vlcpd` shows (STATUS=): the switches and the store, in a few words.
struct StatusFigures {
  size_t switches_connected = 0;
  size_t switches_in_sync = 0;          // flow owners that hold every desired flow
  size_t flow_owners = 0;               // switches the flow apps program (0: none attached, or no apps)
  std::optional<bool> store_connected;  // none: the objectdb module is not running
};
std::string status_text(const StatusFigures& figures);

// Pings systemd's watchdog from the control loop: a timer on the loop sends WATCHDOG=1 every
// half interval, so a wedged loop (a handler that never returns) sends nothing and systemd
// restarts vlcpd after WatchdogSec. Each ping carries STATUS= when the status text changed;
// without a watchdog (interval none) the status alone is sent, every kStatusPeriod, when changed.
// Control thread only; the timer is cancelled on destruction.
class Watchdog {
 public:
  static constexpr std::chrono::seconds kStatusPeriod{5};
  using Send = std::function<bool(std::string_view)>;  // one notify datagram (sd_notify_state)
  using Status = std::function<std::string()>;         // empty: no STATUS= lines

  Watchdog(io::ControlLoop& loop, std::optional<std::chrono::microseconds> interval, Send send,
           Status status = {});
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Time between two pings (or status checks).
  std::chrono::microseconds period() const { return period_; }
  uint64_t pings() const { return pings_; }

 private:
  void tick();
  io::ControlLoop& loop_;
  bool watchdog_;
  std::chrono::microseconds period_;
  Send send_;
  Status status_;
  std::string last_status_;
  uint64_t pings_ = 0;
  io::TimerId timer_ = 0;
};

}  // namespace vlcp::daemon
