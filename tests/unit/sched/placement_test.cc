// Worker placement: never on an OVS PMD core, isolated cores first, control elsewhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

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

TEST(Placement, NeverOnPmdCores) {
  PlacementInput in;
  in.allowed = cpus("0-7");
  in.datapath.dpdk_initialized = true;
  in.datapath.pmd_cpus = cpus("6-7");
  in.workers = 8;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus.size(), 6u);
  EXPECT_FALSE(on_any(p, cpus("6-7")));
  EXPECT_EQ(p.pmd_cpus, cpus("6-7"));
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
}

TEST(Placement, AssumesPmdOnLowestCoreWhenMaskIsUnset) {
  PlacementInput in;
  in.allowed = cpus("0-1");
  in.datapath.dpdk_initialized = true;
  in.workers = 1;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, std::vector<int>{1});
  EXPECT_EQ(p.pmd_cpus, cpus("0"));
  EXPECT_EQ(p.control_cpus, cpus("1"));  // shares with the worker rather than the PMD
}

TEST(Placement, TwoCoreMachineWithPmdOnOne) {
  PlacementInput in;
  in.allowed = cpus("0-1");
  in.datapath.pmd_cpus = cpus("1");
  in.workers = 2;
  Placement p = plan_placement(in);
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
}

TEST(Placement, ConfiguredCoresAreFilteredAndExplained) {
  PlacementInput in;
  in.allowed = cpus("0-3");
  in.configured = cpus("2-5");
  in.datapath.pmd_cpus = cpus("2");
  in.workers = 4;
  Placement p = plan_placement(in);
  EXPECT_EQ(p.worker_cpus, std::vector<int>{3});
  bool explained = std::any_of(p.notes.begin(), p.notes.end(), [](const std::string& n) {
    return n.find("core 2 is an OVS PMD core") != n.npos;
  });
  EXPECT_TRUE(explained);
}

TEST(Placement, ReadsIsolatedFromSysfsFormat) {
  std::string path = ::testing::TempDir() + "/isolated";
  std::ofstream(path) << "2-3,6\n";
  EXPECT_EQ(isolated_cpus(path), cpus("2-3,6"));
  EXPECT_EQ(isolated_cpus("/nonexistent"), CpuSet{});
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

}  // namespace
}  // namespace vlcp::sched
