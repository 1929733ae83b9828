// The worker lcore loop (see worker.h).
#include "sched/worker.h"

#include "base/log.h"
#include "sched/lcores.h"

namespace vlcp::sched {

void WorkerLoop::run() {
  cpu_.store(Lcores::current_cpu(), std::memory_order_relaxed);
  auto has_work = [this] {
    if (stop_.load(std::memory_order_relaxed) || want_cpu_.load(std::memory_order_relaxed) >= 0) return true;
    for (auto& s : sources_)
      if (s.ready()) return true;
    return false;
  };
  auto last_tick = std::chrono::steady_clock::now();
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
    if (n) handled_.fetch_add(n, std::memory_order_relaxed);
    auto now = std::chrono::steady_clock::now();
    if (now - last_tick >= idle_tick_) {
      last_tick = now;
      if (tick_) tick_();
    }
    if (n == 0) {
      sleeps_.fetch_add(1, std::memory_order_relaxed);
      waker_.sleep_unless(has_work, idle_tick_);
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
