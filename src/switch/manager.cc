// The SwitchManager's life: construction, start (TLS, I/O threads and their rings, workers,
// listeners), stop, and the rings for introspection. The rest along its seams: manager.h.
#include <pthread.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>

#include "io/tls.h"
#include "switch/internal.h"

namespace vlcp::sw {

SwitchManager::SwitchManager(io::ControlLoop& loop, OpenflowSettings settings, SessionCounters* counters,
                             std::shared_ptr<const PacketInTable> packet_ins)
    : loop_(loop),
      settings_(std::move(settings)),
      counters_(counters),
      packet_ins_(packet_ins ? std::move(packet_ins) : make_packet_in_table(settings_)),
      snapshot_(std::make_shared<SwitchSnapshot>()) {}

SwitchManager::~SwitchManager() {
  stop();
  for (uint64_t id : sources_) loop_.remove_source(id);
  if (retry_timer_) loop_.cancel(retry_timer_);
  for (auto& [dpid, p] : probes_)
    if (p.timer) loop_.cancel(p.timer);
}

Status SwitchManager::start(sched::Lcores* lcores) {
  asio::ssl::context* tls = nullptr;
  for (auto& l : settings_.listeners) {
    if (l.kind != Listener::Kind::kSsl || tls) continue;
    // Switches must present a certificate from our CA (as OVS's own SSL setup requires).
    VLCP_ASSIGN_OR_RETURN(
        auto ctx, io::tls_server_context({settings_.key, settings_.certificate, settings_.ca_certs}, true,
                                         "module.openflowserver.key/certificate/ca_certs"));
    tls = ctx.get();
    tls_ = ctx;
  }

  for (unsigned i = 0; i < settings_.iothreads; ++i) {
    auto t = std::make_unique<IoThread>();
    t->index = i;
    t->manager = this;
    t->clock = &loop_.clock();
    t->spin = settings_.spin;
    IoThread* raw = t.get();
    t->waker = std::make_unique<sched::CallbackWaker>([raw] {
      asio::post(raw->ctx, [raw] {
        raw->waker->begin_drain();
        raw->drain_commands();
        raw->drain_worker_answers();
      });
    });
    VLCP_ASSIGN_OR_RETURN(t->events, sched::Ring<Event>::create("io" + std::to_string(i) + "-to-control",
                                                                4095, &loop_.waker()));
    VLCP_ASSIGN_OR_RETURN(
        t->commands, sched::Ring<Command>::create("control-to-io" + std::to_string(i), 4095, t->waker.get()));
    sources_.push_back(loop_.add_source([this, raw] { return drain_events(*raw); }));
    threads_.push_back(std::move(t));
  }

  VLCP_RETURN_IF_ERROR(create_workers(lcores ? lcores->workers() : 0));
  // A worker placed on an I/O thread's core (module.sched.share_io_core) must not spin there,
  // nor that I/O thread wait spinning for an answer the worker needs the same core to compute.
  for (size_t w = 0; w < workers_.size(); ++w) {
    int cpu = lcores->cpu(static_cast<unsigned>(w));
    for (size_t i = 0; i < io_cpus_.size() && i < threads_.size(); ++i) {
      if (io_cpus_[i] != cpu) continue;
      workers_[w]->loop.set_poll({sched::PollPolicy::kSleep, poll_.spin});
      threads_[i]->spin = std::chrono::microseconds(0);
    }
  }
  VLCP_RETURN_IF_ERROR(bind_listeners(*threads_[0]));

  for (auto& t : threads_) {
    IoThread* raw = t.get();
    int cpu = raw->index < io_cpus_.size() ? io_cpus_[raw->index] : -1;
    raw->thread = std::thread([raw, cpu] {
      std::string name = "vlcp-io" + std::to_string(raw->index);  // for top -H and perf
      pthread_setname_np(pthread_self(), name.c_str());
      if (cpu >= 0) {
        if (auto pinned = sched::pin_thread(cpu); !pinned.ok())
          VLCP_LOG(kWarn, "switch") << name << " stays unpinned: " << pinned.message();
        else
          VLCP_LOG(kInfo, "switch") << name << " pinned to core " << cpu;
      }
      auto guard = asio::make_work_guard(raw->ctx);
      raw->ctx.run();
    });
  }
  for (size_t w = 0; w < workers_.size(); ++w) {
    Worker* wp = workers_[w].get();
    VLCP_RETURN_IF_ERROR(lcores->launch(static_cast<unsigned>(w), [wp] { wp->loop.run(); }));
  }
  started_ = true;
  lcores_ = lcores;
  for (auto& b : bound_) VLCP_LOG(kInfo, "switch") << "OpenFlow listening on " << b;
  return {};
}

void SwitchManager::stop() {
  if (!started_) return;
  started_ = false;
  for (auto& t : threads_) {
    IoThread* raw = t.get();
    asio::post(raw->ctx, [raw] { raw->close_all("controller stopping"); });
  }
  // Give the sessions a moment to send what they queued, then stop the threads.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (auto& t : threads_) {
    t->ctx.stop();
    if (t->thread.joinable()) t->thread.join();
  }
  for (auto& w : workers_) w->loop.stop();
  if (lcores_ && !workers_.empty()) lcores_->wait_all();  // the lcores are free for a restart
}

std::vector<RingInfo> SwitchManager::rings() const {
  std::vector<RingInfo> out;
  auto add = [&out](auto& ring) {
    auto* r = ring.get();
    out.push_back(RingInfo{r->name(), &r->stats(), r->capacity(), [r] { return r->size(); }});
  };
  for (auto& t : threads_) {
    add(t->events);
    add(t->commands);
  }
  for (auto& w : workers_) {
    for (auto& r : w->in) add(r);
    for (auto& r : w->out) add(r);
  }
  return out;
}

}  // namespace vlcp::sw
