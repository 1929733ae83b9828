// How a consumer that has nothing to do sleeps without losing a wake-up.
//
// The protocol: the consumer announces it is about to sleep, re-checks its rings, and only then
// sleeps; a producer publishes its element, then notifies, which wakes the consumer only if it
// announced. Both announce and notify are read-modify-writes of one atomic, so whichever order
// the two race in, either the consumer's re-check sees the element or the producer sees the
// announcement (see waker.cc).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

namespace vlcp::sched {

class Waker {
 public:
  virtual ~Waker() = default;
  // Producer side, after publishing. Cheap when the consumer is awake (one uncontended RMW).
  virtual void notify() = 0;
};

// For threads that own their loop (worker lcores): an eventfd the consumer blocks on.
class EventFdWaker final : public Waker {
 public:
  EventFdWaker();
  ~EventFdWaker() override;
  EventFdWaker(const EventFdWaker&) = delete;
  EventFdWaker& operator=(const EventFdWaker&) = delete;

  void notify() override;

  // Consumer side: announce, re-check with `has_work`, and sleep up to `timeout` only if there
  // is still nothing. Returns true if woken by a notify (or work was found), false on timeout.
  bool sleep_unless(const std::function<bool()>& has_work, std::chrono::nanoseconds timeout);

  uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }

 private:
  int fd_;
  std::atomic<bool> sleeping_{false};
  std::atomic<uint64_t> wakeups_{0};
};

// For consumers that live in an event loop (the control thread's Asio loop): notify() calls
// `schedule` (which posts a drain to the loop) at most once per drain. The drain callback calls
// begin_drain() before it empties its rings, so an element published meanwhile schedules again.
class CallbackWaker final : public Waker {
 public:
  explicit CallbackWaker(std::function<void()> schedule) : schedule_(std::move(schedule)) {}
  void notify() override;
  void begin_drain();  // consumer: call first thing in the scheduled callback
  // Consumer, outside a drain: it is about to poll its rings itself for a while (a bounded
  // spin); producers' notify() schedules nothing until it calls begin_drain() and drains once
  // more, as a scheduled callback would.
  void hold();

 private:
  std::function<void()> schedule_;
  std::atomic<bool> scheduled_{false};
};

}  // namespace vlcp::sched
