// Log sinks and rate limiting.
#include "base/log.h"

#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace vlcp::log {
namespace {

struct State {
  std::mutex mu;
  Settings settings;
  bool syslog_open = false;
  uint64_t sequence = 0;
  Capture* capture = nullptr;
  // Under systemd, stderr goes to the journal, which reads "<N>" priority prefixes.
  bool journal_stderr = std::getenv("JOURNAL_STREAM") != nullptr;
};

State& state() {
  static State s;
  return s;
}

// Read without the mutex on every call site; written under it. Relaxed is enough: a level
// change may take effect a few messages late, never corrupt anything.
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

int syslog_priority(Level level) {
  switch (level) {
    case Level::kDebug:
      return LOG_DEBUG;
    case Level::kInfo:
      return LOG_INFO;
    case Level::kWarn:
      return LOG_WARNING;
    case Level::kError:
    case Level::kOff:
      return LOG_ERR;
  }
  return LOG_ERR;
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DBG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarn:
      return "WARN";
    case Level::kError:
      return "ERR";
    case Level::kOff:
      return "OFF";
  }
  return "?";
}

Result<Level> parse_level(std::string_view text) {
  std::string t(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "debug" || t == "dbg") return Level::kDebug;
  if (t == "info") return Level::kInfo;
  if (t == "warn" || t == "warning") return Level::kWarn;
  if (t == "error" || t == "err") return Level::kError;
  if (t == "off") return Level::kOff;
  return make_error(Errc::kInvalidArgument,
                    "unknown log level '" + std::string(text) + "' (debug, info, warn, error, off)");
}

void configure(const Settings& settings) {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.syslog_open && (!settings.to_syslog || settings.ident != s.settings.ident)) {
    closelog();
    s.syslog_open = false;
  }
  s.settings = settings;
  if (settings.to_syslog && !s.syslog_open) {
    // openlog keeps the pointer: settings.ident lives in the static state.
    openlog(s.settings.ident.c_str(), LOG_PID | LOG_NDELAY, LOG_DAEMON);
    s.syslog_open = true;
  }
  g_level.store(static_cast<int>(settings.level), std::memory_order_relaxed);
}

Settings current_settings() {
  State& s = state();
  std::lock_guard lock(s.mu);
  return s.settings;
}

bool enabled(Level level) {
  return level != Level::kOff && static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view module, std::string_view text) {
  if (!enabled(level)) return;
  State& s = state();
  std::lock_guard lock(s.mu);
  char seq[16];
  std::snprintf(seq, sizeof seq, "%05llu", static_cast<unsigned long long>(++s.sequence % 100000));
  std::string line;
  line.reserve(64 + text.size());
  line += timestamp();
  line += '|';
  line += seq;
  line += '|';
  line += module;
  line += '|';
  line += level_name(level);
  line += '|';
  line += text;
  if (s.capture) {
    std::lock_guard cl(s.capture->mu_);
    s.capture->text_ += line;
    s.capture->text_ += '\n';
  }
  if (s.settings.to_stderr) {
    std::string out;
    if (s.journal_stderr) {  // (appended piece by piece: GCC 12 -O3 warns falsely on "<" + string)
      out += '<';
      out += std::to_string(syslog_priority(level));
      out += '>';
    }
    out += line;
    out += '\n';
    // One write(2) per line so lines from several processes sharing stderr do not interleave.
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, out.data(), out.size());
  }
  if (s.syslog_open) {
    std::string body(module);
    body += '|';
    body += text;
    syslog(syslog_priority(level), "%s", body.c_str());
  }
}

Capture::Capture() {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.capture = this;
}

Capture::~Capture() {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.capture == this) s.capture = nullptr;
}

std::string Capture::text() const {
  std::lock_guard lock(mu_);
  return text_;
}

RateLimiter::RateLimiter(unsigned per_minute, unsigned burst)
    : tokens_(burst), per_ns_(per_minute / 60e9), burst_(std::max(1u, burst)) {}

bool RateLimiter::allow(std::chrono::steady_clock::time_point now, uint64_t* suppressed) {
  std::lock_guard lock(mu_);
  if (last_) {
    double elapsed = std::chrono::duration<double, std::nano>(now - *last_).count();
    if (elapsed > 0) tokens_ = std::min(burst_, tokens_ + elapsed * per_ns_);
  }
  last_ = now;
  if (tokens_ < 1.0) {
    ++suppressed_;
    return false;
  }
  tokens_ -= 1.0;
  if (suppressed) *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

bool rate_limited_enabled(Level level, RateLimiter& limiter, uint64_t* suppressed) {
  return enabled(level) && limiter.allow(std::chrono::steady_clock::now(), suppressed);
}

Line::~Line() {
  if (suppressed_ > 0) out_ << " (" << suppressed_ << " similar messages suppressed)";
  write(level_, module_, out_.str());
}

}  // namespace vlcp::log
