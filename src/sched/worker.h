// The loop a worker lcore runs: poll its input rings in bursts, run what is due, and when a poll
// finds nothing, do what its poll policy says: spin (re-checking the rings) or sleep on its waker.
//
//   sleep     sleep at once (a 2-core machine that cannot afford a busy core; the old behaviour)
//   adaptive  spin up to spin_us since the last work, then sleep: under load (a packet-in every
//             few tens of µs) the worker never pays the eventfd wake-up, idle it sleeps
//   pure      never sleep (dedicated cores: isolated or module.sched.cores); ticks, stop() and
//             repin() still work
//
// Spinning never announces sleep, so producers' notify() stays one RMW and writes nothing; when
// the spin ends the loop sleeps through EventFdWaker::sleep_unless, whose announce-then-re-check
// protocol (waker.h) is what keeps every wake-up: the policy only decides when to call it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sched/waker.h"

namespace vlcp::sched {

enum class PollPolicy { kSleep, kAdaptive, kPure };

// One step of a spin-wait (x86 PAUSE, Arm YIELD): no EAL or DPDK header needed, so code outside
// vlcp_sched (an I/O thread's bounded spin) can use it too.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// "sleep", "adaptive", "pure" (module.sched.poll's values other than "auto").
Result<PollPolicy> parse_poll_policy(std::string_view text);
std::string_view poll_policy_name(PollPolicy policy);
// module.sched.poll = auto: pure polling on dedicated cores (Placement::dedicated), adaptive on
// shared ones.
PollPolicy default_poll_policy(bool dedicated_cores);

// Covers one driver round trip on this class of machine (a packet-in answered every ~40-70 µs in
// latency mode), so a loaded worker catches the next job spinning; idle, it costs ≤100 µs of CPU
// per burst of work.
inline constexpr std::chrono::microseconds kDefaultSpin{100};

struct PollConfig {
  PollPolicy policy = PollPolicy::kSleep;
  std::chrono::microseconds spin = kDefaultSpin;  // adaptive only
};

// What an idle turn does (a poll found nothing): spin for `spin_for` more (re-checking ready()),
// or sleep. A pure function of the policy and the time since the loop last found work.
struct IdleStep {
  bool sleep;
  std::chrono::nanoseconds spin_for;  // when !sleep; nanoseconds::max() for pure polling
  bool operator==(const IdleStep&) const = default;
};
IdleStep idle_step(const PollConfig& config, std::chrono::nanoseconds since_work);

class WorkerLoop {
 public:
  struct Source {
    std::function<unsigned()> poll;  // handles one burst, returns how many events it handled
    std::function<bool()> ready;     // true when poll would find something
  };

  explicit WorkerLoop(std::string name, std::chrono::milliseconds idle_tick = std::chrono::milliseconds(100))
      : name_(std::move(name)), idle_tick_(idle_tick) {}

  // Before run(): the rings this loop consumes (their Ring must use waker() as consumer).
  void add_source(Source s) { sources_.push_back(std::move(s)); }
  // Called at least every idle_tick (timers, stats flushes).
  void on_tick(std::function<void()> fn) { tick_ = std::move(fn); }
  // Before run(): how idle turns wait (default: sleep at once).
  void set_poll(PollConfig config) { poll_ = config; }
  const PollConfig& poll_config() const { return poll_; }

  EventFdWaker& waker() { return waker_; }
  const std::string& name() const { return name_; }

  // Runs on the calling thread until stop(). Re-pins itself when asked (repin()).
  void run();
  void stop();          // any thread
  void repin(int cpu);  // any thread: the loop moves itself to `cpu` at its next turn
  int cpu() const { return cpu_.load(std::memory_order_relaxed); }

  uint64_t handled() const { return handled_.load(std::memory_order_relaxed); }
  uint64_t sleeps() const { return sleeps_.load(std::memory_order_relaxed); }
  // Idle turns spent spinning, and those of them that ended because a source had work (each one
  // an eventfd wake-up saved).
  uint64_t spins() const { return spins_.load(std::memory_order_relaxed); }
  uint64_t spin_hits() const { return spin_hits_.load(std::memory_order_relaxed); }

 private:
  bool asked() const;          // stop() or repin() is pending
  bool sources_ready() const;  // some source's ready()

  std::string name_;
  std::chrono::milliseconds idle_tick_;
  PollConfig poll_;
  std::vector<Source> sources_;
  std::function<void()> tick_;
  EventFdWaker waker_;
  std::atomic<bool> stop_{false};
  std::atomic<int> want_cpu_{-1};
  std::atomic<int> cpu_{-1};
  std::atomic<uint64_t> handled_{0};
  std::atomic<uint64_t> sleeps_{0};
  std::atomic<uint64_t> spins_{0};
  std::atomic<uint64_t> spin_hits_{0};
};

}  // namespace vlcp::sched
