// The EAL without hugepages and a pinned worker lcore answering through two rings.
#include <gtest/gtest.h>

#include "sched/lcores.h"
#include "sched/ring.h"
#include "sched/worker.h"

namespace vlcp::sched {
namespace {

struct Msg {
  uint64_t value;
};

TEST(Lcores, PinnedWorkerEchoesThroughRings) {
  auto allowed = process_affinity();
  ASSERT_TRUE(allowed.ok());
  PlacementInput in;
  in.allowed = *allowed;
  in.workers = 1;
  Placement plan = plan_placement(in);
  ASSERT_EQ(plan.worker_cpus.size(), 1u);
  SchedSettings settings;
  settings.memory_mb = 32;
  auto lcores = Lcores::start(settings, plan);
  ASSERT_TRUE(lcores.ok()) << lcores.error().message();
  ASSERT_EQ((*lcores)->workers(), 1u);
  EXPECT_FALSE(Lcores::start(settings, plan).ok());  // once per process

  WorkerLoop loop("worker0", std::chrono::seconds(5));
  EventFdWaker main_waker;
  auto to_worker = Ring<Msg>::create("to-worker", 255, &loop.waker());
  auto to_main = Ring<Msg>::create("to-main", 255, &main_waker);
  ASSERT_TRUE(to_worker.ok() && to_main.ok());
  Ring<Msg>& down = **to_worker;
  Ring<Msg>& up = **to_main;
  int seen_cpu = -1;
  loop.add_source({[&] {
                     Msg m[16];
                     unsigned n = down.pop(m);
                     for (unsigned i = 0; i < n; ++i) {
                       seen_cpu = Lcores::current_cpu();
                       m[i].value *= 2;
                     }
                     up.push(std::span<const Msg>(m, n));
                     return n;
                   },
                   [&] { return !down.empty(); }});
  ASSERT_TRUE((*lcores)->launch(0, [&] { loop.run(); }).ok());

  uint64_t sum = 0;
  unsigned got = 0;
  uint64_t next = 1;
  while (got < 1000) {
    // Keep fewer in flight than the return ring holds, so the worker never meets a full ring.
    while (next <= 1000 && next - 1 - got < 200 && down.push(Msg{next})) ++next;
    Msg m[64];
    unsigned n = up.pop(m);
    for (unsigned i = 0; i < n; ++i) sum += m[i].value;
    got += n;
    if (!n) main_waker.sleep_unless([&] { return !up.empty(); }, std::chrono::seconds(5));
  }
  EXPECT_EQ(sum, 1000u * 1001u);
  loop.stop();
  (*lcores)->wait_all();
  EXPECT_EQ(seen_cpu, plan.worker_cpus[0]);
  EXPECT_EQ(loop.cpu(), plan.worker_cpus[0]);
}

}  // namespace
}  // namespace vlcp::sched
