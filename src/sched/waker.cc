// Wake-up protocol for sleeping consumers (see waker.h for why no wake-up is lost).
#include "sched/waker.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace vlcp::sched {

EventFdWaker::EventFdWaker() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) std::abort();  // out of file descriptors at start-up: nothing sensible to do
}

EventFdWaker::~EventFdWaker() {
  close(fd_);
}

// Both sides use read-modify-writes on sleeping_ (no fences: ThreadSanitizer understands
// these, and they are what makes it correct). RMWs on one atomic are totally ordered: if the
// consumer's announcing exchange comes first, the producer's exchange reads `true` and writes
// the eventfd; if the producer's comes first, the consumer's exchange acquires from it, so its
// re-check sees the element the producer published before notifying.
void EventFdWaker::notify() {
  if (sleeping_.exchange(false, std::memory_order_acq_rel)) {
    uint64_t one = 1;
    while (write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
}

bool EventFdWaker::sleep_unless(const std::function<bool()>& has_work, std::chrono::nanoseconds timeout) {
  sleeping_.exchange(true, std::memory_order_acq_rel);  // announce before the re-check
  if (has_work()) {
    sleeping_.store(false, std::memory_order_relaxed);
    return true;
  }
  pollfd p{fd_, POLLIN, 0};
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  int r = poll(&p, 1, ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms));
  sleeping_.store(false, std::memory_order_relaxed);
  if (r > 0) {
    uint64_t count;
    while (read(fd_, &count, sizeof count) < 0 && errno == EINTR) {
    }
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

void CallbackWaker::notify() {
  // acq_rel on both sides' read-modify-writes: the drain that clears the flag acquires from the
  // notify that set it, so it sees every element published before that notify.
  if (!scheduled_.exchange(true, std::memory_order_acq_rel)) schedule_();
}

void CallbackWaker::begin_drain() {
  scheduled_.exchange(false, std::memory_order_acq_rel);
}

void CallbackWaker::hold() {
  scheduled_.exchange(true, std::memory_order_acq_rel);
}

}  // namespace vlcp::sched
