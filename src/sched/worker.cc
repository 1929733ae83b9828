// The worker lcore loop (see worker.h).
#include "sched/worker.h"

#include <algorithm>

#include "base/log.h"
#include "sched/lcores.h"

namespace vlcp::sched {

Result<PollPolicy> parse_poll_policy(std::string_view text) {
  for (PollPolicy p : {PollPolicy::kSleep, PollPolicy::kAdaptive, PollPolicy::kPure})
    if (text == poll_policy_name(p)) return p;
  return make_error(Errc::kInvalidArgument,
                    "unknown poll policy '" + std::string(text) + "' (adaptive, pure or sleep)");
}

std::string_view poll_policy_name(PollPolicy policy) {
  switch (policy) {
    case PollPolicy::kAdaptive:
      return "adaptive";
    case PollPolicy::kPure:
      return "pure";
    case PollPolicy::kSleep:
      break;
  }
  return "sleep";
}

PollPolicy default_poll_policy(bool dedicated_cores) {
  return dedicated_cores ? PollPolicy::kPure : PollPolicy::kAdaptive;
}

IdleStep idle_step(const PollConfig& config, std::chrono::nanoseconds since_work) {
  using std::chrono::nanoseconds;
  switch (config.policy) {
    case PollPolicy::kPure:
      return {false, nanoseconds::max()};
    case PollPolicy::kAdaptive: {
      nanoseconds since = std::max(since_work, nanoseconds::zero());
      if (since < config.spin) return {false, config.spin - since};
      break;
    }
    case PollPolicy::kSleep:
      break;
  }
  return {true, nanoseconds::zero()};
}

bool WorkerLoop::asked() const {
  return stop_.load(std::memory_order_relaxed) || want_cpu_.load(std::memory_order_relaxed) >= 0;
}

bool WorkerLoop::sources_ready() const {
  for (auto& s : sources_)
    if (s.ready()) return true;
  return false;
}

void WorkerLoop::run() {
  using Clock = std::chrono::steady_clock;
  cpu_.store(Lcores::current_cpu(), std::memory_order_relaxed);
  const std::function<bool()> has_work = [this] { return asked() || sources_ready(); };
  auto last_tick = Clock::now();
  auto last_work = last_tick;
  while (!stop_.load(std::memory_order_acquire)) {
    int want = want_cpu_.exchange(-1, std::memory_order_relaxed);
    if (want >= 0) {
      Status s = Lcores::pin_current_thread(want);
      if (s.ok()) {
        cpu_.store(want, std::memory_order_relaxed);
        VLCP_LOG(kInfo, "sched") << name_ << " moved to core " << want;
      } else {
        VLCP_LOG(kWarn, "sched") << name_ << ": " << s.message();
      }
    }
    unsigned n = 0;
    for (auto& s : sources_) n += s.poll();
    auto now = Clock::now();
    if (n) {
      handled_.fetch_add(n, std::memory_order_relaxed);
      last_work = now;
    }
    if (now - last_tick >= idle_tick_) {
      last_tick = now;
      if (tick_) tick_();
    }
    if (n) continue;
    IdleStep step = idle_step(poll_, now - last_work);
    if (step.sleep) {
      sleeps_.fetch_add(1, std::memory_order_relaxed);
      waker_.sleep_unless(has_work, idle_tick_);
      continue;
    }
    // Spin: re-check the sources (not poll them: ready() is a load or two) until one has work,
    // the policy's budget ends, or the tick is due. The clock is read every 16 pauses (~1 µs).
    spins_.fetch_add(1, std::memory_order_relaxed);
    auto until = now + std::min<std::chrono::nanoseconds>(step.spin_for, idle_tick_ - (now - last_tick));
    for (unsigned i = 1; !asked(); ++i) {
      if (sources_ready()) {
        spin_hits_.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      cpu_relax();
      if (i % 16 == 0 && Clock::now() >= until) break;
    }
  }
}

void WorkerLoop::stop() {
  stop_.store(true, std::memory_order_release);
  waker_.notify();
}

void WorkerLoop::repin(int cpu) {
  want_cpu_.store(cpu, std::memory_order_relaxed);
  waker_.notify();
}

}  // namespace vlcp::sched
