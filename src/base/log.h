// Logging: levels, per-call-site rate limiting, stderr and syslog (journald) sinks.
// Lines look like OVS's vlog: "2026-11-27T00:22:56.123Z|00042|module|WARN|text".
// Thread-safe: any thread may log; sinks are serialised by one mutex (logging is off the hot path,
// and hot-path call sites use a RateLimiter).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "base/result.h"

namespace vlcp::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

std::string_view level_name(Level level);
Result<Level> parse_level(std::string_view text);

struct Settings {
  Level level = Level::kInfo;
  bool to_stderr = true;
  bool to_syslog = false;
  std::string ident = "vlcpd";  // syslog identifier
};

// Replaces the settings (and opens or closes syslog). Call from the composition root.
void configure(const Settings& settings);
Settings current_settings();

bool enabled(Level level);
void write(Level level, std::string_view module, std::string_view text);

// Captures everything written while it lives (for tests of what gets logged).
class Capture {
 public:
  Capture();
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  std::string text() const;

 private:
  friend void write(Level, std::string_view, std::string_view);
  mutable std::mutex mu_;
  std::string text_;
};

// Token bucket like OVS's VLOG_RATE_LIMIT_INIT(rate, burst): at most `per_minute` messages a
// minute on average, with bursts of `burst`. Counts what it suppressed and reports it with the
// next message it lets through. Safe to share between threads.
class RateLimiter {
 public:
  RateLimiter(unsigned per_minute, unsigned burst);
  // True when a message may be written at `now`. `suppressed` receives how many were dropped
  // since the last allowed one.
  bool allow(std::chrono::steady_clock::time_point now, uint64_t* suppressed);

 private:
  std::mutex mu_;
  double tokens_;
  const double per_ns_;
  const double burst_;
  std::optional<std::chrono::steady_clock::time_point> last_;
  uint64_t suppressed_ = 0;
};

// One message being built; written when it goes out of scope.
class Line {
 public:
  Line(Level level, std::string_view module, uint64_t suppressed = 0)
      : level_(level), module_(module), suppressed_(suppressed) {}
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  template <typename T>
  Line& operator<<(const T& value) {
    out_ << value;
    return *this;
  }

 private:
  Level level_;
  std::string_view module_;
  uint64_t suppressed_;
  std::ostringstream out_;
};

bool rate_limited_enabled(Level level, RateLimiter& limiter, uint64_t* suppressed);

}  // namespace vlcp::log

// VLCP_LOG(kInfo, "ofp") << "connected " << dpid;   (arguments not evaluated when disabled)
#define VLCP_LOG(level, module)                           \
  if (!::vlcp::log::enabled(::vlcp::log::Level::level)) { \
  } else                                                  \
    ::vlcp::log::Line(::vlcp::log::Level::level, module)

// Rate-limited: one limiter per call site, `per_minute` average, `burst` at once.
#define VLCP_LOG_RL(level, module, per_minute, burst)                                                      \
  if (uint64_t vlcp_suppressed_ = 0; false) {                                                              \
  } else if (static ::vlcp::log::RateLimiter vlcp_rl_(per_minute, burst);                                  \
             !::vlcp::log::rate_limited_enabled(::vlcp::log::Level::level, vlcp_rl_, &vlcp_suppressed_)) { \
  } else                                                                                                   \
    ::vlcp::log::Line(::vlcp::log::Level::level, module, vlcp_suppressed_)
