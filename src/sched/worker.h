// The loop a worker lcore runs: poll its input rings in bursts, run what is due, and sleep on
// its waker when there is nothing to do (a 2-core machine cannot afford a busy core; with
// isolated cores the idle timeout can be zero for pure polling).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "sched/waker.h"

namespace vlcp::sched {

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

  EventFdWaker& waker() { return waker_; }
  const std::string& name() const { return name_; }

  // Runs on the calling thread until stop(). Re-pins itself when asked (repin()).
  void run();
  void stop();          // any thread
  void repin(int cpu);  // any thread: the loop moves itself to `cpu` at its next turn
  int cpu() const { return cpu_.load(std::memory_order_relaxed); }

  uint64_t handled() const { return handled_.load(std::memory_order_relaxed); }
  uint64_t sleeps() const { return sleeps_.load(std::memory_order_relaxed); }

 private:
  std::string name_;
  std::chrono::milliseconds idle_tick_;
  std::vector<Source> sources_;
  std::function<void()> tick_;
  EventFdWaker waker_;
  std::atomic<bool> stop_{false};
  std::atomic<int> want_cpu_{-1};
  std::atomic<int> cpu_{-1};
  std::atomic<uint64_t> handled_{0};
  std::atomic<uint64_t> sleeps_{0};
};

}  // namespace vlcp::sched
