// The control thread's loop: one thread, no locks in the logic (VLCP's scheduler idea). It
// delivers typed events to subscribers whose matchers accept them, runs timers on a Clock
// (ManualClock in tests), runs C++20 coroutines as Asio awaitables for sequential logic, and
// drains the rings other threads feed it.
//
//   loop.subscribe<SwitchUp>([](const SwitchUp& e) {...}, [](const SwitchUp& e) { return e.dpid == 1; });
//   loop.publish(SwitchUp{1});                      // delivered after the current handler
//   loop.after(500ms, [] {...});
//   loop.spawn([&]() -> asio::awaitable<void> {
//     auto up = co_await loop.next<SwitchUp>(match, 5s);   // std::nullopt on timeout
//   });
//
// Everything here runs on the loop's thread; only wake() (through waker()) is called from others.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "sched/waker.h"

namespace vlcp::io {

namespace asio = boost::asio;

class ControlLoop;

// Unsubscribes when destroyed (or reset()).
class Subscription {
 public:
  Subscription() = default;
  Subscription(ControlLoop* loop, std::type_index type, uint64_t id) : loop_(loop), type_(type), id_(id) {}
  Subscription(Subscription&& o) noexcept { *this = std::move(o); }
  Subscription& operator=(Subscription&& o) noexcept;
  ~Subscription() { reset(); }
  void reset();
  explicit operator bool() const { return loop_ != nullptr; }

 private:
  ControlLoop* loop_ = nullptr;
  std::type_index type_ = typeid(void);
  uint64_t id_ = 0;
};

using TimerId = uint64_t;

class ControlLoop {
 public:
  explicit ControlLoop(const Clock& clock);
  ~ControlLoop();
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;

  asio::io_context& context() { return ctx_; }
  const Clock& clock() const { return clock_; }

  // --- typed events ---------------------------------------------------------------------------
  template <typename E>
  [[nodiscard]] Subscription subscribe(std::function<void(const E&)> handler,
                                       std::function<bool(const E&)> match = {}) {
    uint64_t id = ++next_id_;
    subs_[typeid(E)].push_back(Sub{id, [h = std::move(handler), m = std::move(match)](const void* e) {
                                     const E& ev = *static_cast<const E*>(e);
                                     if (!m || m(ev)) h(ev);
                                   }});
    return Subscription(this, typeid(E), id);
  }
  // Queues the event; subscribers see it in publication order, after the running handler.
  template <typename E>
  void publish(E event) {
    auto boxed = std::make_shared<E>(std::move(event));
    queue_.push_back(Queued{typeid(E), boxed});
    schedule_dispatch();
  }

  // --- timers (on clock()) --------------------------------------------------------------------
  TimerId at(Clock::Monotonic when, std::function<void()> fn);
  TimerId after(std::chrono::nanoseconds delay, std::function<void()> fn) {
    return at(clock_.now() + delay, std::move(fn));
  }
  void cancel(TimerId id);
  size_t timers() const { return timers_.size(); }

  // --- coroutines -----------------------------------------------------------------------------
  // Starts a coroutine on the loop; it runs until its first suspension right away.
  void spawn(std::function<asio::awaitable<void>()> body);
  // The next event of type E that `match` accepts, or nullopt after `timeout`.
  template <typename E>
  asio::awaitable<std::optional<E>> next(std::function<bool(const E&)> match,
                                         std::chrono::nanoseconds timeout);
  // Suspends for `delay` of clock() time.
  asio::awaitable<void> sleep(std::chrono::nanoseconds delay);

  // --- other threads ----------------------------------------------------------------------------
  // A waker for rings this loop consumes: a notify posts one drain of every source.
  sched::Waker& waker() { return *waker_; }
  // poll() handles one burst from a ring and returns how many events it took. The id removes it.
  uint64_t add_source(std::function<unsigned()> poll) {
    sources_.emplace_back(++next_id_, std::move(poll));
    return next_id_;
  }
  void remove_source(uint64_t id);

  // --- running ----------------------------------------------------------------------------------
  void run();   // on the calling thread until stop()
  void stop();  // any thread
  // Without blocking: delivers queued events, due timers and ready handlers (tests with a
  // ManualClock call this after advancing the clock). Returns how much it did.
  size_t run_pending();

  // How late the loop ran its last timers (seconds): the control-loop lag metric.
  double lag_seconds() const { return lag_seconds_.load(std::memory_order_relaxed); }
  uint64_t events_delivered() const { return delivered_.load(std::memory_order_relaxed); }

 private:
  friend class Subscription;
  struct Sub {
    uint64_t id;
    std::function<void(const void*)> fn;
  };
  struct Queued {
    std::type_index type;
    std::shared_ptr<void> event;
  };
  struct Timer {
    TimerId id;
    std::function<void()> fn;
  };

  template <typename E>
  struct WaitState;
  template <typename E>
  struct WaitInitiation;
  struct SleepInitiation;
  template <typename E>
  static asio::awaitable<std::optional<E>> wait(WaitState<E>* raw);

  void unsubscribe(std::type_index type, uint64_t id);
  void schedule_dispatch();
  size_t dispatch();
  size_t fire_due_timers();
  void arm_timer();
  size_t drain_sources();

  const Clock& clock_;
  std::unique_ptr<sched::CallbackWaker> waker_;
  std::vector<std::pair<uint64_t, std::function<unsigned()>>> sources_;  // null: removed
  std::unordered_map<std::type_index, std::vector<Sub>> subs_;
  std::deque<Queued> queue_;
  bool dispatch_scheduled_ = false;
  std::multimap<Clock::Monotonic, Timer> timers_;
  std::unordered_map<TimerId, std::multimap<Clock::Monotonic, Timer>::iterator> timer_index_;
  Clock::Monotonic armed_for_ = Clock::Monotonic::max();
  uint64_t next_id_ = 0;
  std::atomic<double> lag_seconds_{0};
  std::atomic<uint64_t> delivered_{0};
  // Last, so they are destroyed first: coroutine frames destroyed with the context still find
  // the subscription and timer tables they unregister from.
  asio::io_context ctx_;
  asio::steady_timer timer_;
};

// g++ 12 destroys class-type by-value parameters of coroutines twice when the argument is a
// temporary (Asio's own initiate() takes the initiation by value), so everything handed to a
// coroutine or to async_initiate below is trivially destructible: raw pointers whose owner is
// a coroutine local.
template <typename E>
struct ControlLoop::WaitState {
  ControlLoop* loop;
  std::function<bool(const E&)> match;
  std::chrono::nanoseconds timeout;
  std::optional<E> value;
  Subscription sub;
  TimerId timer = 0;
};

template <typename E>
struct ControlLoop::WaitInitiation {
  WaitState<E>* st;  // owned by the waiting coroutine, which outlives the subscription and timer
  template <typename Handler>
  void operator()(Handler handler) {
    auto slot = std::make_shared<std::optional<Handler>>(std::move(handler));
    ControlLoop* loop = st->loop;
    auto finish = [loop, slot] {
      if (!*slot) return;
      Handler h = std::move(**slot);
      slot->reset();
      asio::post(loop->ctx_, std::move(h));
    };
    WaitState<E>* s = st;
    s->sub = loop->subscribe<E>(
        [s, finish](const E& e) {
          if (s->value) return;
          s->value = e;
          finish();
        },
        std::move(s->match));
    s->timer = loop->after(s->timeout, finish);
  }
};

template <typename E>
asio::awaitable<std::optional<E>> ControlLoop::wait(WaitState<E>* raw) {
  std::unique_ptr<WaitState<E>> st(raw);
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(WaitInitiation<E>{st.get()},
                                                                       asio::use_awaitable);
  st->sub.reset();
  st->loop->cancel(st->timer);
  std::optional<E> value = std::move(st->value);
  co_return value;
}

template <typename E>
asio::awaitable<std::optional<E>> ControlLoop::next(std::function<bool(const E&)> match,
                                                    std::chrono::nanoseconds timeout) {
  auto st = std::make_unique<WaitState<E>>();
  st->loop = this;
  st->match = std::move(match);
  st->timeout = timeout;
  return wait<E>(st.release());
}

}  // namespace vlcp::io
