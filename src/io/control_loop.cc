// The control thread's loop (see control_loop.h).
#include "io/control_loop.h"

#include "base/log.h"

namespace vlcp::io {

Subscription& Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    reset();
    loop_ = o.loop_;
    type_ = o.type_;
    id_ = o.id_;
    o.loop_ = nullptr;
  }
  return *this;
}

void Subscription::reset() {
  // Cleared first: destroying the handler may destroy the object holding this subscription.
  if (ControlLoop* loop = std::exchange(loop_, nullptr)) loop->unsubscribe(type_, id_);
}

ControlLoop::ControlLoop(const Clock& clock) : clock_(clock), timer_(ctx_) {
  waker_ = std::make_unique<sched::CallbackWaker>([this] {
    asio::post(ctx_, [this] {
      waker_->begin_drain();
      drain_sources();
    });
  });
}

ControlLoop::~ControlLoop() {
  // Handlers of suspended coroutines live in timers and subscriptions: dropping them hands the
  // coroutine frames to the context, whose destruction (next, members in reverse order) then
  // destroys the frames while these tables still exist.
  timer_.cancel();
  timer_index_.clear();
  timers_.clear();
  subs_.clear();
}

void ControlLoop::unsubscribe(std::type_index type, uint64_t id) {
  auto it = subs_.find(type);
  if (it == subs_.end()) return;
  for (auto& s : it->second) {
    if (s.id == id) {
      auto dead = std::move(s.fn);  // destroyed after the slot is already empty
      s.fn = nullptr;               // the slot is compacted after the current dispatch
    }
  }
}

void ControlLoop::schedule_dispatch() {
  if (dispatch_scheduled_) return;
  dispatch_scheduled_ = true;
  asio::post(ctx_, [this] { dispatch(); });
}

size_t ControlLoop::dispatch() {
  dispatch_scheduled_ = false;
  size_t n = 0;
  while (!queue_.empty()) {
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    auto it = subs_.find(q.type);
    if (it != subs_.end()) {
      // By index over the subscribers present when delivery began: handlers may subscribe
      // (the new ones see later events) or unsubscribe (their slot is emptied) meanwhile.
      size_t count = it->second.size();
      for (size_t i = 0; i < count; ++i) {
        auto& vec = subs_[q.type];
        if (vec[i].fn) {
          auto fn = vec[i].fn;  // the handler may unsubscribe itself
          fn(q.event.get());
        }
      }
      auto& vec = subs_[q.type];
      std::erase_if(vec, [](const Sub& s) { return !s.fn; });
    }
    ++n;
  }
  delivered_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

TimerId ControlLoop::at(Clock::Monotonic when, std::function<void()> fn) {
  TimerId id = ++next_id_;
  auto it = timers_.emplace(when, Timer{id, std::move(fn)});
  timer_index_[id] = it;
  if (when < armed_for_) arm_timer();
  return id;
}

void ControlLoop::cancel(TimerId id) {
  auto it = timer_index_.find(id);
  if (it == timer_index_.end()) return;
  timers_.erase(it->second);
  timer_index_.erase(it);
}

void ControlLoop::arm_timer() {
  if (timers_.empty()) {
    armed_for_ = Clock::Monotonic::max();
    timer_.cancel();
    return;
  }
  armed_for_ = timers_.begin()->first;
  auto delay = armed_for_ - clock_.now();
  timer_.expires_after(delay.count() > 0
                           ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay)
                           : std::chrono::steady_clock::duration::zero());
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or cancelled
    armed_for_ = Clock::Monotonic::max();
    fire_due_timers();
    arm_timer();
  });
}

size_t ControlLoop::fire_due_timers() {
  size_t n = 0;
  auto now = clock_.now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto it = timers_.begin();
    auto late = std::chrono::duration<double>(now - it->first).count();
    lag_seconds_.store(late, std::memory_order_relaxed);
    std::function<void()> fn = std::move(it->second.fn);
    timer_index_.erase(it->second.id);
    timers_.erase(it);
    fn();
    ++n;
  }
  return n;
}

size_t ControlLoop::drain_sources() {
  size_t total = 0;
  for (;;) {
    size_t n = 0;
    for (size_t i = 0; i < sources_.size(); ++i) {
      if (!sources_[i].second) continue;
      auto poll = sources_[i].second;  // a source may remove itself or others while it runs
      n += poll();
    }
    if (n == 0) break;
    total += n;
    // Yield to other handlers between bursts so one busy ring cannot starve the loop.
    if (total >= 4096) {
      waker_->notify();
      break;
    }
  }
  return total;
}

void ControlLoop::remove_source(uint64_t id) {
  for (auto& [sid, fn] : sources_)
    if (sid == id) fn = nullptr;
  std::erase_if(sources_, [](const auto& s) { return !s.second; });
}

void ControlLoop::spawn(std::function<asio::awaitable<void>()> body) {
  asio::co_spawn(ctx_, std::move(body), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      VLCP_LOG(kError, "loop") << "coroutine ended with an exception: " << ex.what();
    }
  });
}

namespace {
asio::awaitable<void> sleep_for(auto initiation) {
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(std::move(initiation),
                                                                       asio::use_awaitable);
}
}  // namespace

struct ControlLoop::SleepInitiation {
  ControlLoop* loop;
  std::chrono::nanoseconds delay;
  template <typename Handler>
  void operator()(Handler handler) {
    auto slot = std::make_shared<std::optional<Handler>>(std::move(handler));
    ControlLoop* l = loop;
    l->after(delay, [l, slot] {
      Handler h = std::move(**slot);
      asio::post(l->ctx_, [h = std::move(h)]() mutable { h(); });
    });
  }
};

asio::awaitable<void> ControlLoop::sleep(std::chrono::nanoseconds delay) {
  return sleep_for(SleepInitiation{this, delay});
}

void ControlLoop::run() {
  if (ctx_.stopped()) ctx_.restart();  // run_pending() may have polled it dry
  auto guard = asio::make_work_guard(ctx_);
  arm_timer();
  ctx_.run();
}

void ControlLoop::stop() {
  ctx_.stop();
}

size_t ControlLoop::run_pending() {
  size_t total = 0;
  for (;;) {
    size_t n = fire_due_timers();
    n += drain_sources();
    if (ctx_.stopped()) ctx_.restart();
    n += ctx_.poll();
    n += dispatch();
    if (n == 0) break;
    total += n;
  }
  return total;
}

}  // namespace vlcp::io
