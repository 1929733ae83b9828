// Worker and I/O thread placement: never on an OVS PMD core, isolated cores first, I/O threads on
// the lowest cores and no worker beside them while another core is free, control elsewhere.
#include <gtest/gtest.h>

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sched/lcores.h"
#include "sched/placement.h"

namespace vlcp::sched {
namespace {

CpuSet cpus(std::string_view list) {
  return *parse_cpu_list(list);
}

TEST(CpuSets, ListsAndMasks) {
  EXPECT_EQ(cpus("0-3,5, 7-8\n"), (CpuSet{0, 1, 2, 3, 5, 7, 8}));
  EXPECT_EQ(cpus(""), CpuSet{});
  EXPECT_FALSE(parse_cpu_list("3-1").ok());
  EXPECT_FALSE(parse_cpu_list("a").ok());
  EXPECT_FALSE(parse_cpu_list("99999").ok());
  EXPECT_EQ(*parse_cpu_mask("0x6"), (CpuSet{1, 2}));
  EXPECT_EQ(*parse_cpu_mask("F0"), (CpuSet{4, 5, 6, 7}));
  EXPECT_EQ(*parse_cpu_mask("10000000000000000"), (CpuSet{64}));
  EXPECT_FALSE(parse_cpu_mask("0xg").ok());
  EXPECT_FALSE(parse_cpu_mask("").ok());
  EXPECT_EQ(format_cpu_list({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
}

bool on_any(const Placement& p, const CpuSet& set) {
  return std::any_of(p.worker_cpus.begin(), p.worker_cpus.end(), [&](int c) { return set.count(c) > 0; });
}

bool noted(const Placement& p, std::string_view text) {
  return std::any_of(p.notes.begin(), p.notes.end(),
                     [&](const std::string& n) { return n.find(text) != n.npos; });
}

// (Before I/O threads were placed: 6 workers on 0-5. Now core 0 is the I/O thread's, and the
// worker that would have shared it runs only with share_io_core.)
TEST(Placement, NeverOnPmdCores) {
  PlacementInput in;
  in.allowed = cpus("0-7");
  in.datapath.dpdk_initialized = true;
  in.datapath.pmd_cpus = cpus("6-7");
  in.workers = 8;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{5, 4, 3, 2, 1}));
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});
  EXPECT_FALSE(on_any(p, cpus("6-7")));
  EXPECT_EQ(p.pmd_cpus, cpus("6-7"));
  in.share_io_core = true;
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus.size(), 6u);
  EXPECT_FALSE(on_any(p, cpus("6-7")));
}

TEST(Placement, IsolatedFirstThenOrdinaryThenOvsLcoreCores) {
  PlacementInput in;
  in.allowed = cpus("0-7");
  in.isolated = cpus("2-3");
  in.datapath.pmd_cpus = cpus("4");
  in.datapath.lcore_cpus = cpus("5-7");
  in.workers = 4;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{3, 2, 1, 0}));
  EXPECT_EQ(p.control_cpus, cpus("5-7"));
  EXPECT_EQ(p.io_cpus, std::vector<int>{5});  // OVS's lcore cores are worth least to workers
}

// (Before I/O threads were placed, the worker took core 1 beside the control and I/O threads.
// Now core 1 is the I/O thread's: the worker runs there only with share_io_core.)
TEST(Placement, AssumesPmdOnLowestCoreWhenMaskIsUnset) {
  PlacementInput in;
  in.allowed = cpus("0-1");
  in.datapath.dpdk_initialized = true;
  in.workers = 1;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.pmd_cpus, cpus("0"));
  EXPECT_EQ(p.io_cpus, std::vector<int>{1});
  EXPECT_TRUE(p.worker_cpus.empty());
  EXPECT_EQ(p.control_cpus, cpus("1"));  // beside the I/O thread rather than on the PMD
  in.share_io_core = true;
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, std::vector<int>{1});
  EXPECT_EQ(p.control_cpus, cpus("1"));
}

// (Same change: the one usable core is the I/O thread's.)
TEST(Placement, TwoCoreMachineWithPmdOnOne) {
  PlacementInput in;
  in.allowed = cpus("0-1");
  in.datapath.pmd_cpus = cpus("1");
  in.workers = 2;
  Placement p = plan_placement(in);
  EXPECT_TRUE(p.worker_cpus.empty());
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});
  EXPECT_EQ(p.control_cpus, cpus("0"));
  in.share_io_core = true;
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, std::vector<int>{0});
  EXPECT_EQ(p.control_cpus, cpus("0"));
}

TEST(Placement, EveryCoreIsPmdMeansNoWorkers) {
  PlacementInput in;
  in.allowed = cpus("0-1");
  in.datapath.pmd_cpus = cpus("0-1");
  Placement p = plan_placement(in);
  EXPECT_TRUE(p.worker_cpus.empty());
  EXPECT_EQ(p.control_cpus, cpus("0-1"));
  EXPECT_TRUE(p.io_cpus.empty());  // not pinned: they float with the control thread
}

TEST(Placement, ConfiguredCoresAreFilteredAndExplained) {
  PlacementInput in;
  in.allowed = cpus("0-3");
  in.configured = cpus("2-5");
  in.datapath.pmd_cpus = cpus("2");
  in.workers = 4;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, std::vector<int>{3});
  EXPECT_TRUE(noted(p, "core 2 is an OVS PMD core"));
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});  // a core the workers may not use
  EXPECT_EQ(p.control_cpus, cpus("0-1"));
}

// The matrix: 1/2/4/8 cores x 1/2 workers x PMD masks, one I/O thread. Workers take the highest
// free cores, the I/O thread the lowest; a worker is on the I/O core only with share_io_core.
TEST(Placement, CoresWorkersAndPmdMasks) {
  struct Case {
    const char* allowed;
    const char* pmd_mask;  // "" for no OVS-DPDK
    unsigned workers;
    std::vector<int> workers_at, io_at, shared_workers_at;
  };
  const Case cases[] = {
      {"0", "", 1, {}, {0}, {0}},
      {"0", "", 2, {}, {0}, {0}},
      {"0-1", "", 1, {1}, {0}, {1}},
      {"0-1", "", 2, {1}, {0}, {1, 0}},
      {"0-1", "0x2", 1, {}, {0}, {0}},
      {"0-1", "0x1", 2, {}, {1}, {1}},
      {"0-3", "", 1, {3}, {0}, {3}},
      {"0-3", "", 2, {3, 2}, {0}, {3, 2}},
      {"0-3", "0xc", 2, {1}, {0}, {1, 0}},
      {"0-3", "0x1", 2, {3, 2}, {1}, {3, 2}},
      {"0-7", "", 1, {7}, {0}, {7}},
      {"0-7", "", 2, {7, 6}, {0}, {7, 6}},
      {"0-7", "0xc0", 2, {5, 4}, {0}, {5, 4}},
      {"0-7", "0x3", 2, {7, 6}, {2}, {7, 6}},
      {"0-7", "0xfe", 2, {}, {0}, {0}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.allowed) + " pmd " + c.pmd_mask + " workers " + std::to_string(c.workers));
    PlacementInput in;
    in.allowed = cpus(c.allowed);
    if (*c.pmd_mask) {
      in.datapath.dpdk_initialized = true;
      in.datapath.pmd_cpus = *parse_cpu_mask(c.pmd_mask);
    }
    in.workers = c.workers;
    Placement p = plan_placement(in);
    EXPECT_EQ(p.worker_cpus, c.workers_at);
    EXPECT_EQ(p.io_cpus, c.io_at);
    EXPECT_FALSE(on_any(p, p.pmd_cpus));
    EXPECT_FALSE(on_any(p, CpuSet(p.io_cpus.begin(), p.io_cpus.end())));
    for (int io : p.io_cpus) EXPECT_TRUE(p.control_cpus.count(io)) << "control runs beside the I/O threads";
    EXPECT_FALSE(p.dedicated);  // ordinary cores are shared with the rest of the machine
    EXPECT_EQ(noted(p, "not placed"), c.shared_workers_at.size() > c.workers_at.size());
    in.share_io_core = true;
    p = plan_placement(in);
    EXPECT_EQ(p.worker_cpus, c.shared_workers_at);
    EXPECT_EQ(p.io_cpus, c.io_at);
    EXPECT_FALSE(on_any(p, p.pmd_cpus));
    EXPECT_EQ(noted(p, "share_io_core"), c.shared_workers_at.size() > c.workers_at.size());
  }
}

// This machine's case: I/O and control on core 0, one worker on core 1; the second worker runs
// (on core 0) only with share_io_core.
TEST(Placement, TwoCoresTwoWorkersKeepTheIoCoreFree) {
  PlacementInput in;
  in.allowed = cpus("0-1");
  in.workers = 2;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});
  EXPECT_EQ(p.worker_cpus, std::vector<int>{1});
  EXPECT_EQ(p.control_cpus, cpus("0"));
  EXPECT_TRUE(noted(p, "1 worker(s) not placed"));
  EXPECT_TRUE(noted(p, "placed 1 of 2 workers"));
  in.share_io_core = true;
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{1, 0}));
  EXPECT_EQ(p.control_cpus, cpus("0"));
  EXPECT_TRUE(noted(p, "1 worker(s) on I/O thread cores [0]"));
  // Without I/O threads to place (the old plan): both workers, control floating over them.
  in.share_io_core = false;
  in.io_threads = 0;
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{1, 0}));
  EXPECT_TRUE(p.io_cpus.empty());
  EXPECT_EQ(p.control_cpus, cpus("0-1"));
  EXPECT_TRUE(noted(p, "control thread shares the worker cores"));
}

// Each I/O thread gets its own low core while a core stays free for a worker; more I/O threads
// than that share the I/O cores round robin.
TEST(Placement, SeveralIoThreads) {
  PlacementInput in;
  in.allowed = cpus("0-3");
  in.io_threads = 2;
  in.workers = 2;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, (std::vector<int>{0, 1}));
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{3, 2}));
  EXPECT_EQ(p.control_cpus, cpus("0-1"));
  in.allowed = cpus("0-1");
  in.workers = 1;
  p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, (std::vector<int>{0, 0}));
  EXPECT_EQ(p.worker_cpus, std::vector<int>{1});
  EXPECT_TRUE(noted(p, "2 I/O threads share cores 0"));
  in.workers = 0;  // no worker to leave a core for
  p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, (std::vector<int>{0, 1}));
  EXPECT_TRUE(p.worker_cpus.empty());
}

// Isolated cores are the workers' (dedicated: pure polling by default); the I/O thread takes an
// ordinary core even when it is higher.
TEST(Placement, IsolatedCoresAreDedicatedToWorkers) {
  PlacementInput in;
  in.allowed = cpus("0-3");
  in.isolated = cpus("1-2");
  in.workers = 2;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{2, 1}));
  EXPECT_EQ(p.control_cpus, cpus("0,3"));
  EXPECT_TRUE(p.dedicated);
  in.allowed = cpus("0-1");
  in.isolated = cpus("0");
  in.workers = 1;
  p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, std::vector<int>{1});
  EXPECT_EQ(p.worker_cpus, std::vector<int>{0});
  EXPECT_TRUE(p.dedicated);
  in.workers = 3;  // more workers than cores: the second shares the I/O core, if allowed to
  in.share_io_core = true;
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{0, 1}));
  EXPECT_FALSE(p.dedicated);  // one worker shares the I/O core: nobody pure-polls
}

// module.sched.cores: the I/O thread goes to a core outside them; workers on them are dedicated.
TEST(Placement, ConfiguredCoresAreDedicatedToWorkers) {
  PlacementInput in;
  in.allowed = cpus("0-3");
  in.configured = cpus("2-3");
  in.workers = 2;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{3, 2}));
  EXPECT_EQ(p.control_cpus, cpus("0-1"));
  EXPECT_TRUE(p.dedicated);
  // Every core configured on a 2-core machine: the I/O thread still keeps core 0 to itself.
  in.allowed = cpus("0-1");
  in.configured = cpus("0-1");
  p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});
  EXPECT_EQ(p.worker_cpus, std::vector<int>{1});
  EXPECT_TRUE(p.dedicated);
  in.share_io_core = true;
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{1, 0}));
  EXPECT_FALSE(p.dedicated);
}

// Under isolcpus the inherited affinity (init's) leaves the isolated cores out; the configured
// ones (a perf profile's module.sched.cores) are still where the workers go.
TEST(Placement, ConfiguredIsolatedCoresOutsideTheInheritedAffinityAreUsed) {
  PlacementInput in;
  in.allowed = cpus("0-3,8-13");  // housekeeping: what systemd's services inherit
  in.isolated = cpus("4-7,14-15");
  in.configured = cpus("4-5");
  in.datapath.pmd_cpus = cpus("6-7,14-15");
  in.workers = 2;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{5, 4}));
  EXPECT_TRUE(p.dedicated);
  EXPECT_FALSE(noted(p, "outside our affinity"));
  EXPECT_FALSE(on_any(p, cpus("6-7,14-15")));
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});  // I/O stays on housekeeping cores
  // A configured core neither in our affinity nor isolated is still refused, and said so.
  in.configured = cpus("4-5,16");
  p = plan_placement(in);
  EXPECT_TRUE(noted(p, "core 16 is outside our affinity"));
}

std::vector<CpuSet> cores(std::initializer_list<const char*> lists) {
  std::vector<CpuSet> out;
  for (const char* l : lists) out.push_back(cpus(l));
  return out;
}

// 8 CPUs as 4 cores x 2 threads, siblings numbered together (0,1)...: highest first would put the
// two workers on 7 and 6, one physical core, while core 4-5 is free.
TEST(Placement, SmtWorkersOnSeparatePhysicalCores) {
  PlacementInput in;
  in.allowed = cpus("0-7");
  in.workers = 2;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{7, 6}));  // (no topology: every CPU its own core)
  in.smt_cores = cores({"0-1", "2-3", "4-5", "6-7"});
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{7, 5}));
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});
  EXPECT_FALSE(noted(p, "SMT"));
  // Siblings numbered apart (0,4)...: 7 and 6 are two cores already.
  in.smt_cores = cores({"0,4", "1,5", "2,6", "3,7"});
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{7, 6}));
  // A profile's module.sched.cores of both threads of two cores: one worker per core.
  in.smt_cores = cores({"0-1", "2-3", "4-5", "6-7", "8-9", "10-11"});
  in.allowed = cpus("0-11");
  in.configured = cpus("8-11");
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{11, 9}));
  EXPECT_TRUE(p.dedicated);
}

// Nor beside an OVS PMD or the I/O thread while another core is free.
TEST(Placement, SmtWorkersAvoidPmdAndIoSiblings) {
  PlacementInput in;
  in.allowed = cpus("0-7");
  in.smt_cores = cores({"0,4", "1,5", "2,6", "3,7"});
  in.datapath.pmd_cpus = cpus("3");
  in.workers = 2;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{6, 5}));  // not 7 (PMD 3's sibling), not 4 (I/O's)
  EXPECT_FALSE(noted(p, "SMT"));
  in.smt_cores.clear();
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{7, 6}));  // without the topology, 7 beside the PMD
}

// When no physical core is free a worker shares one, and the notes say with what.
TEST(Placement, SmtSharingWhenUnavoidableIsSaid) {
  PlacementInput in;
  in.allowed = cpus("0-3");
  in.smt_cores = cores({"0-1", "2-3"});
  in.workers = 2;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.io_cpus, std::vector<int>{0});
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{3, 2}));
  EXPECT_TRUE(noted(
      p, "SMT: worker on core 2 shares its physical core with a worker on 3: no physical core is free"));
  in.workers = 3;
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, (std::vector<int>{3, 2, 1}));
  EXPECT_TRUE(noted(p, "SMT: worker on core 1 shares its physical core with an I/O thread on 0"));
  in.allowed = cpus("0-7");
  in.smt_cores = cores({"0,4", "1,5", "2,6", "3,7"});
  in.datapath.pmd_cpus = cpus("1-3");
  in.workers = 1;
  p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, std::vector<int>{7});
  EXPECT_TRUE(noted(p, "shares its physical core with an OVS PMD on 3"));
}

TEST(Placement, ReadsSmtCoresFromSysfs) {
  std::string dir = ::testing::TempDir() + "/smt-cpu";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/online") << "0-3\n";
  for (int c = 0; c < 4; ++c) {
    std::filesystem::create_directories(dir + "/cpu" + std::to_string(c) + "/topology");
    std::ofstream(dir + "/cpu" + std::to_string(c) + "/topology/thread_siblings_list")
        << (c & ~1) << "-" << (c | 1) << "\n";
  }
  EXPECT_EQ(smt_cores(dir), cores({"0-1", "2-3"}));
  EXPECT_TRUE(smt_cores("/nonexistent").empty());
  std::filesystem::remove_all(dir);
}

TEST(Placement, ReadsIsolatedFromSysfsFormat) {
  std::string path = ::testing::TempDir() + "/isolated";
  std::ofstream(path) << "2-3,6\n";
  EXPECT_EQ(isolated_cpus(path), cpus("2-3,6"));
  EXPECT_EQ(isolated_cpus("/nonexistent"), CpuSet{});
  std::ofstream(path) << "(null)\n";  // what some kernels show for none
  EXPECT_EQ(isolated_cpus(path), CpuSet{});
  auto affinity = process_affinity();
  ASSERT_TRUE(affinity.ok());
  EXPECT_FALSE(affinity->empty());
}

TEST(SchedSettings, DefaultsNeedNoHugepages) {
  Config c;
  auto s = read_sched_settings(c);
  ASSERT_TRUE(s.ok());
  Placement p;
  p.worker_cpus = {1};
  p.control_cpus = {0};
  auto args = eal_arguments(*s, p, "pfx");
  auto has = [&](const std::string& a) { return std::find(args.begin(), args.end(), a) != args.end(); };
  EXPECT_TRUE(has("--no-huge"));
  EXPECT_TRUE(has("--no-shconf"));
  EXPECT_TRUE(has("--no-pci"));
  EXPECT_TRUE(has("--lcores=0@(0),1@1"));
  EXPECT_FALSE(has("--in-memory"));
}

TEST(SchedSettings, HugepagesAndBadValues) {
  Config c;
  c.set("module.sched.hugepages", true);
  c.set("module.sched.memory_mb", 256);
  c.set("module.sched.huge_dir", "/mnt/huge");
  auto s = read_sched_settings(c);
  ASSERT_TRUE(s.ok());
  auto args = eal_arguments(*s, Placement{}, "p");
  EXPECT_NE(std::find(args.begin(), args.end(), "--in-memory"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--socket-mem=256"), args.end());
  EXPECT_EQ(std::find(args.begin(), args.end(), "--no-huge"), args.end());
  Config bad;
  bad.set("module.sched.workers", -1);
  EXPECT_FALSE(read_sched_settings(bad).ok());
  Config bad_cores;
  bad_cores.set("module.sched.cores", "1-");
  auto r = read_sched_settings(bad_cores);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("module.sched.cores"), std::string::npos);
}

// module.sched.poll = auto follows the plan: pure polling on dedicated cores, adaptive elsewhere;
// an explicit policy wins; spin_us sets the adaptive spin.
TEST(SchedSettings, PollPolicyFollowsThePlan) {
  Config c;
  auto s = read_sched_settings(c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->poll, "auto");
  EXPECT_FALSE(s->share_io_core);
  Placement shared, dedicated;
  dedicated.dedicated = true;
  EXPECT_EQ(poll_config(*s, shared).policy, PollPolicy::kAdaptive);
  EXPECT_EQ(poll_config(*s, shared).spin, kDefaultSpin);
  EXPECT_EQ(poll_config(*s, dedicated).policy, PollPolicy::kPure);
  Config sleep;
  sleep.set("module.sched.poll", "sleep");
  sleep.set("module.sched.spin_us", 30);
  sleep.set("module.sched.share_io_core", true);
  s = read_sched_settings(sleep);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(poll_config(*s, dedicated).policy, PollPolicy::kSleep);
  EXPECT_EQ(poll_config(*s, dedicated).spin, std::chrono::microseconds(30));
  EXPECT_TRUE(s->share_io_core);
  Config bad_poll;
  bad_poll.set("module.sched.poll", "busy");
  auto r = read_sched_settings(bad_poll);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("module.sched.poll"), std::string::npos);
  Config bad_spin;
  bad_spin.set("module.sched.spin_us", 20000);
  r = read_sched_settings(bad_spin);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("module.sched.spin_us"), std::string::npos);
}

// A plain std::thread (an I/O thread: not an EAL lcore) pins itself and reads its affinity back.
TEST(PinThread, PinsTheCallingThread) {
  auto allowed = process_affinity();
  ASSERT_TRUE(allowed.ok());
  int target = *allowed->rbegin();
  Status pinned;
  Result<CpuSet> after = CpuSet{};
  int running_on = -1;
  std::thread t([&] {
    pinned = pin_thread(target);
    after = thread_affinity();
    running_on = sched_getcpu();
  });
  t.join();
  ASSERT_TRUE(pinned.ok()) << pinned.message();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, CpuSet{target});
  EXPECT_EQ(running_on, target);
  EXPECT_EQ(*thread_affinity(), *allowed);  // only that thread moved
  EXPECT_FALSE(pin_thread(-1).ok());
  EXPECT_FALSE(pin_thread(1 << 20).ok());
  if (!allowed->count(CPU_SETSIZE - 1)) {
    std::thread u([&] { pinned = pin_thread(CPU_SETSIZE - 1); });
    u.join();
    EXPECT_FALSE(pinned.ok());  // not a core we may use
  }
}

}  // namespace
}  // namespace vlcp::sched
