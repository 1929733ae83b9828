// Closures from one thread to another through an SPSC ring: a heap closure travels as an
// owning pointer. Used where a thread we do not run (ZooKeeper's completion thread) or a
// backend thread (LMDB) hands results to the control loop, and where the control thread hands
// work to such a thread. A full ring holds the producer back (1 ms retries, counted in the
// ring's stats): back-pressure, never a loss.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "sched/ring.h"

namespace vlcp::sched {

class TaskRing {
 public:
  static Result<std::unique_ptr<TaskRing>> create(std::string name, uint32_t min_capacity, Waker* consumer);
  ~TaskRing();  // closures still queued are destroyed without running
  TaskRing(const TaskRing&) = delete;
  TaskRing& operator=(const TaskRing&) = delete;

  // Producer (one thread).
  void post(std::function<void()> fn);
  // Consumer (one thread): runs up to `max` closures in order; returns how many ran.
  unsigned run(unsigned max = 64);
  bool empty() const { return ring_->empty(); }
  const Ring<void*>& ring() const { return *ring_; }

 private:
  explicit TaskRing(std::unique_ptr<Ring<void*>> ring) : ring_(std::move(ring)) {}
  std::unique_ptr<Ring<void*>> ring_;
};

}  // namespace vlcp::sched
