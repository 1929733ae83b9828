// Events per second through one SPSC ring between two lcores (our rte_ring adapter): the main
// lcore produces bursts, a pinned worker lcore consumes them. Two consumers: one that polls,
// and the WorkerLoop that sleeps on its waker when the ring is empty (what vlcpd runs).
// Usage: ring_bench [EVENTS_PER_RUN] [RUNS] [BURST]     prints each run and the median.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sched/lcores.h"
#include "sched/ring.h"
#include "sched/worker.h"

namespace {
struct Event {  // a typical control event: 16 bytes by value
  uint64_t seq;
  uint32_t kind;
  uint32_t conn;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  using namespace vlcp::sched;
  uint64_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000000;
  int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  unsigned burst = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 32;
  auto allowed = process_affinity();
  if (!allowed.ok() || allowed->size() < 2) {
    std::fprintf(stderr, "ring_bench needs two CPUs\n");
    return 1;
  }
  PlacementInput in;
  in.allowed = *allowed;
  in.workers = 1;
  Placement plan = plan_placement(in);
  SchedSettings settings;
  settings.memory_mb = 32;
  auto lcores = Lcores::start(settings, plan);
  if (!lcores.ok()) {
    std::fprintf(stderr, "%s\n", lcores.error().message().c_str());
    return 1;
  }
  // The producer (this thread, the main lcore) on the control cores; the consumer on its core.
  std::printf("ring_bench: %llu events/run, burst %u, producer on cores %s, consumer on core %d\n",
              static_cast<unsigned long long>(events), burst, format_cpu_list(plan.control_cpus).c_str(),
              (*lcores)->cpu(0));
  for (int mode = 0; mode < 2; ++mode) {
    std::vector<double> rates;
    for (int r = 0; r < runs; ++r) {
      WorkerLoop loop("consumer", std::chrono::milliseconds(100));
      auto ring = Ring<Event>::create("bench", 1023, mode ? &loop.waker() : nullptr);
      if (!ring.ok()) return 1;
      Ring<Event>& q = **ring;
      std::atomic<uint64_t> received{0};
      uint64_t checksum = 0;
      if (mode == 0) {
        (void)(*lcores)->launch(0, [&] {
          Event out[64];
          uint64_t n = 0;
          while (n < events) {
            unsigned got = q.pop(std::span<Event>(out, burst));
            for (unsigned i = 0; i < got; ++i) checksum += out[i].seq;
            n += got;
          }
          received.store(n, std::memory_order_release);
        });
      } else {
        loop.add_source({[&] {
                           Event out[64];
                           unsigned got = q.pop(std::span<Event>(out, burst));
                           for (unsigned i = 0; i < got; ++i) checksum += out[i].seq;
                           uint64_t n = received.load(std::memory_order_relaxed) + got;
                           received.store(n, std::memory_order_release);
                           if (n >= events) loop.stop();
                           return got;
                         },
                         [&] { return !q.empty(); }});
        (void)(*lcores)->launch(0, [&] { loop.run(); });
      }
      Event batch[64];
      auto start = std::chrono::steady_clock::now();
      for (uint64_t seq = 0; seq < events;) {
        unsigned n = 0;
        for (; n < burst && seq + n < events; ++n) batch[n] = Event{seq + n, 1, 7};
        seq += q.push(std::span<const Event>(batch, n));  // a full ring: try again
      }
      (*lcores)->wait_all();
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      double rate = static_cast<double>(events) / secs / 1e6;
      rates.push_back(rate);
      std::printf("  %-22s run %d: %7.1f M events/s  (ring full %llu times, checksum %llu)\n",
                  mode ? "sleeping WorkerLoop" : "polling consumer", r + 1, rate,
                  static_cast<unsigned long long>(q.stats().full.load()),
                  static_cast<unsigned long long>(checksum));
    }
    std::printf("%s median: %.1f M events/s\n", mode ? "sleeping WorkerLoop" : "polling consumer",
                median(rates));
  }
  return 0;
}
