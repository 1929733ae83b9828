#include "sched/task_ring.h"

#include <chrono>
#include <thread>

namespace vlcp::sched {

using Task = std::function<void()>;

Result<std::unique_ptr<TaskRing>> TaskRing::create(std::string name, uint32_t min_capacity, Waker* consumer) {
  VLCP_ASSIGN_OR_RETURN(auto ring, Ring<void*>::create(std::move(name), min_capacity, consumer));
  return std::unique_ptr<TaskRing>(new TaskRing(std::move(ring)));
}

TaskRing::~TaskRing() {
  void* batch[64];
  while (unsigned n = ring_->pop(batch))
    for (unsigned i = 0; i < n; ++i) delete static_cast<Task*>(batch[i]);
}

void TaskRing::post(std::function<void()> fn) {
  void* task = new Task(std::move(fn));
  while (!ring_->push(task)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

unsigned TaskRing::run(unsigned max) {
  void* batch[64];
  unsigned total = 0;
  while (total < max) {
    unsigned n = ring_->pop(std::span<void*>(batch, std::min<unsigned>(64, max - total)));
    if (!n) break;
    for (unsigned i = 0; i < n; ++i) {
      std::unique_ptr<Task> task(static_cast<Task*>(batch[i]));
      (*task)();
    }
    total += n;
  }
  return total;
}

}  // namespace vlcp::sched
