// Perf profiles on fake machines (a root directory with the /sys and /proc files a machine
// shows): what each profile derives for 1, 2, 16 and 64 CPUs, one or two NUMA nodes, SMT
// siblings, the hugepage sizes offered and the memory; what it refuses and how it says so; and
// apply then check in a throw-away root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/config.h"
#include "cli/profile.h"
#include "cli/profile_apply.h"
#include "fake_machine.h"

namespace vlcp::cli::profile {
namespace {
namespace fs = std::filesystem;
using namespace testing;

std::vector<std::string> dirs() {
  return {VLCP_SOURCE_DIR "/perf/profiles"};
}

Result<Plan> derive_on(const std::string& name, const Machine& m) {
  auto p = load_profile(dirs(), name);
  EXPECT_TRUE(p.ok()) << p.error().message();
  auto dropin = load_dropin(dirs(), name);
  EXPECT_TRUE(dropin.ok()) << dropin.error().message();
  return derive(*p, m, *dropin);
}

std::string expected(const Plan& plan, SettingKind kind, const std::string& key = "") {
  for (const auto& s : plan.settings)
    if (s.kind == kind && (key.empty() || s.key == key)) return s.expected;
  return "<no such setting>";
}

CpuSet cpus(const std::string& list) {
  return *parse_cpu_list(list);
}

TEST(CpuSets, ListsAndMasksRoundTrip) {
  EXPECT_EQ(format_cpu_list(cpus("0-3,5,7-8")), "0-3,5,7-8");
  EXPECT_EQ(format_cpu_list(cpus("")), "");
  EXPECT_FALSE(parse_cpu_list("3-1").ok());
  EXPECT_FALSE(parse_cpu_list("a").ok());
  EXPECT_EQ(format_cpu_mask(cpus("6-7,14-15")), "0xc0c0");
  EXPECT_EQ(*parse_cpu_mask("0xc0c0"), cpus("6-7,14-15"));
  EXPECT_EQ(*parse_cpu_mask("ffffffff,ffffffff"), cpus("0-63"));
  EXPECT_EQ(format_cpu_mask(cpus("62-63")), "0xc000000000000000");
}

TEST(Machines, FactsAreReadUnderTheRoot) {
  FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 64});
  Machine m = f.machine();
  EXPECT_EQ(m.cpus, cpus("0-15"));
  ASSERT_EQ(m.nodes.size(), 2u);
  EXPECT_EQ(m.nodes[1], cpus("8-15"));
  EXPECT_EQ(m.node_memory_mb[1], 32768);
  EXPECT_EQ(m.cores.size(), 16u);
  EXPECT_EQ(m.hugepage_sizes_kb, (std::set<int64_t>{2048, 1048576}));
  FakeMachine no_numa({.cpus = 4, .nodes = 1, .memory_gb = 8, .numa_sysfs = false});
  Machine flat = no_numa.machine();
  ASSERT_EQ(flat.nodes.size(), 1u);
  EXPECT_EQ(flat.nodes[0], cpus("0-3"));
  EXPECT_EQ(flat.node_memory_mb[0], 8192);
  EXPECT_FALSE(read_machine("/nonexistent-root").ok());
}

TEST(Profiles, TheShippedOnesParse) {
  for (const char* name : {"shared", "nfv-dedicated", "lab"}) {
    auto p = load_profile(dirs(), name);
    ASSERT_TRUE(p.ok()) << name << ": " << p.error().message();
    EXPECT_FALSE(p->description.empty()) << name;
    EXPECT_TRUE(load_dropin(dirs(), name).ok()) << name;
  }
  EXPECT_EQ(profile_names(dirs()), (std::vector<std::string>{"lab", "nfv-dedicated", "shared"}));
}

TEST(Profiles, MistakesAreRefusedAtTheirLine) {
  auto typo = parse_profile("cpu.isolate = True\ncpu.pmd_per_nod = 2\n", "x", "x.conf");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message().find("x.conf:2: unknown key 'cpu.pmd_per_nod'"), std::string::npos)
      << typo.error().message();
  auto size = parse_profile("hugepages.size = '4M'\n", "x", "x.conf");
  ASSERT_FALSE(size.ok());
  EXPECT_NE(size.error().message().find("x.conf:1"), std::string::npos) << size.error().message();
  EXPECT_FALSE(parse_profile("cpu.isolate = True\n", "x", "x.conf").ok());  // nothing to isolate
  EXPECT_FALSE(parse_profile("hugepages.ovs_mb_per_node = 512\n", "x", "x.conf").ok());
  EXPECT_FALSE(load_profile(dirs(), "../etc/passwd").ok());
  auto missing = load_profile(dirs(), "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("there are: lab, nfv-dedicated, shared"), std::string::npos);
}

TEST(NfvDedicated, SixteenCoresTwoNodes) {
  FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 64});
  auto plan = derive_on("nfv-dedicated", f.machine());
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->pmd, cpus("6-7,14-15"));  // the two highest of each node
  EXPECT_EQ(plan->workers, cpus("4-5"));    // the next two on the boot CPU's node
  EXPECT_EQ(plan->housekeeping, cpus("0-3,8-13"));
  EXPECT_EQ(plan->isolated, cpus("4-7,14-15"));
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "isolcpus"), "managed_irq,domain,4-7,14-15");
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "nohz_full"), "4-7,14-15");
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "rcu_nocbs"), "4-7,14-15");
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "irqaffinity"), "0-3,8-13");
  // 1024 MB for OVS per node + 256 MB for vlcpd on node 0, in 1G pages: 2 per node, 4 in all.
  EXPECT_EQ(plan->page_kb, 1048576);
  EXPECT_EQ(plan->pages_per_node, 2);
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "hugepagesz"), "1G");
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "hugepages"), "4");
  EXPECT_EQ(expected(*plan, SettingKind::kHugeMount), "1048576");
  EXPECT_EQ(expected(*plan, SettingKind::kIrqAffinity), "0-3,8-13");
  EXPECT_EQ(expected(*plan, SettingKind::kOvs, "pmd-cpu-mask"), "0xc0c0");
  EXPECT_EQ(expected(*plan, SettingKind::kOvs, "dpdk-socket-mem"), "1024,1024");
  EXPECT_EQ(expected(*plan, SettingKind::kOvs, "dpdk-init"), "try");
  EXPECT_EQ(expected(*plan, SettingKind::kOvs, "pmd-maxsleep"), "");
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.cores"), "'4-5'");
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.workers"), "2");
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.hugepages"), "True");
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.huge_dir"), "'/var/lib/vlcp/hugepages'");
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.memory_mb"), "256");
  EXPECT_EQ(expected(*plan, SettingKind::kSysctl, "vm.stat_interval"), "10");
}

TEST(NfvDedicated, SixtyFourCoresTwoNodes) {
  FakeMachine f({.cpus = 64, .nodes = 2, .memory_gb = 256});
  auto plan = derive_on("nfv-dedicated", f.machine());
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->pmd, cpus("30-31,62-63"));
  EXPECT_EQ(plan->workers, cpus("28-29"));
  EXPECT_EQ(expected(*plan, SettingKind::kOvs, "pmd-cpu-mask"), "0xc0000000c0000000");
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "irqaffinity"), "0-27,32-61");
}

TEST(NfvDedicated, SmtSiblingsGoTogether) {
  // 16 threads on 8 cores (siblings i and i+8), one node: whole cores for PMDs and workers.
  FakeMachine f({.cpus = 16, .nodes = 1, .memory_gb = 32, .smt = true});
  Machine m = f.machine();
  EXPECT_EQ(m.cores.size(), 8u);
  auto plan = derive_on("nfv-dedicated", m);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->pmd, cpus("6-7,14-15"));
  EXPECT_EQ(plan->workers, cpus("4-5,12-13"));
  EXPECT_EQ(plan->housekeeping, cpus("0-3,8-11"));
  // One thread of each worker core for vlcpd, the siblings idle.
  EXPECT_EQ(plan->worker_cpus, cpus("4-5"));
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.cores"), "'4-5'");
}

// The physical core of each CPU, on machine `m`.
std::map<int, size_t> core_of(const Machine& m) {
  std::map<int, size_t> out;
  for (size_t i = 0; i < m.cores.size(); ++i)
    for (int c : m.cores[i]) out[c] = i;
  return out;
}

// Siblings numbered together (0,1), (2,3)...: module.sched.cores used to list both threads of
// each worker core ('8-11'), and vlcpd's placement, highest first, put its two workers on 11 and
// 10, one physical core, while 8-9 idled. Now one thread per core: vlcpd cannot pair them.
TEST(NfvDedicated, AdjacentSiblingsGiveEachWorkerItsOwnCore) {
  FakeMachine f({.cpus = 16, .nodes = 1, .memory_gb = 32, .smt_adjacent = true});
  Machine m = f.machine();
  ASSERT_EQ(m.cores.size(), 8u);
  EXPECT_EQ(m.cores[4], cpus("8-9"));
  auto plan = derive_on("nfv-dedicated", m);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->pmd, cpus("12-15"));
  EXPECT_EQ(plan->workers, cpus("8-11"));
  EXPECT_EQ(plan->worker_cpus, cpus("8,10"));
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.cores"), "'8,10'");
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.workers"), "2");
  EXPECT_EQ(plan->isolated, cpus("8-15"));  // the idle siblings too: nothing else runs there
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "irqaffinity"), "0-7");
  bool said = false;
  for (const auto& n : plan->notes)
    said |= n.find("vlcpd worker CPUs 8,10 (their SMT siblings 9,11 left idle)") != n.npos;
  EXPECT_TRUE(said);
}

// 8 CPUs as 4 cores x 2 threads, both numberings: 2 PMDs and 2 workers cannot have a physical
// core each beside the boot CPU's (3 left): each role takes a whole core, one per thread, never a
// PMD beside a worker, and profile show's notes say so (this used to be refused outright).
TEST(NfvDedicated, FourCoresTwoThreadsShareSiblingsWithinARoleAndSaySo) {
  struct Layout {
    bool adjacent;
    const char *pmd, *workers, *housekeeping;
  };
  for (const Layout& l : {Layout{false, "3,7", "2,6", "0-1,4-5"}, Layout{true, "6-7", "4-5", "0-3"}}) {
    SCOPED_TRACE(l.adjacent ? "siblings (0,1)" : "siblings (0,4)");
    FakeSpec spec{.cpus = 8, .nodes = 1, .memory_gb = 32};
    spec.smt = !l.adjacent;
    spec.smt_adjacent = l.adjacent;
    FakeMachine f(spec);
    Machine m = f.machine();
    ASSERT_EQ(m.cores.size(), 4u);
    auto plan = derive_on("nfv-dedicated", m);
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ(plan->pmd, cpus(l.pmd));
    EXPECT_EQ(plan->workers, cpus(l.workers));
    EXPECT_EQ(plan->worker_cpus, cpus(l.workers));  // both threads: two workers, one core
    EXPECT_EQ(plan->housekeeping, cpus(l.housekeeping));
    EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.cores"), "'" + std::string(l.workers) + "'");
    EXPECT_EQ(expected(*plan, SettingKind::kOvs, "pmd-cpu-mask"), format_cpu_mask(cpus(l.pmd)));
    auto core = core_of(m);
    for (int w : plan->workers)
      for (int d : plan->pmd) EXPECT_NE(core[w], core[d]) << "worker " << w << " beside PMD " << d;
    bool said = false;
    for (const auto& n : plan->notes)
      said |= n.rfind(
                  "SMT: NUMA node 0 has 3 physical cores besides the boot CPU's, not the 4 for a core each: "
                  "2 OVS PMDs share the threads of CPUs " +
                      std::string(l.pmd) + ", 2 vlcpd workers share the threads of CPUs " + l.workers,
                  0) == 0;
    EXPECT_TRUE(said);
  }
}

// Where even sharing siblings within a role cannot fit, the refusal says so.
TEST(NfvDedicated, RefusedOnTwoCoresTwoThreads) {
  FakeMachine f({.cpus = 4, .nodes = 1, .memory_gb = 32, .smt = true});
  auto plan = derive_on("nfv-dedicated", f.machine());
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("NUMA node 0 has 1 core besides the boot CPU's"), std::string::npos)
      << plan.error().message();
  EXPECT_NE(plan.error().message().find("nor can its 2 threads"), std::string::npos)
      << plan.error().message();
}

TEST(NfvDedicated, TwoMegabytePagesWhenNoGigantic) {
  FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 64, .gigantic = false});
  auto plan = derive_on("nfv-dedicated", f.machine());
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->page_kb, 2048);
  EXPECT_EQ(plan->pages_per_node, 640);  // (1024 + 256) MB / 2 MB
  EXPECT_EQ(expected(*plan, SettingKind::kSysctl, "vm.nr_hugepages"), "1280");
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "hugepages"), "");
}

TEST(NfvDedicated, RefusedOnTwoCoresSayingWhatItNeeds) {
  FakeMachine f({.cpus = 2, .nodes = 1, .memory_gb = 8});
  auto plan = derive_on("nfv-dedicated", f.machine());
  ASSERT_FALSE(plan.ok());
  const std::string& why = plan.error().message();
  EXPECT_NE(why.find("needs at least 6 CPUs"), std::string::npos) << why;
  EXPECT_NE(why.find("2 housekeeping"), std::string::npos) << why;
  EXPECT_NE(why.find("2 per NUMA node for OVS-DPDK PMDs"), std::string::npos) << why;
  EXPECT_NE(why.find("2 for vlcpd's workers"), std::string::npos) << why;
  EXPECT_NE(why.find("This machine: 2 CPUs (0-1)"), std::string::npos) << why;
}

TEST(NfvDedicated, RefusedOnOneCore) {
  FakeMachine f({.cpus = 1, .nodes = 1, .memory_gb = 4});
  auto plan = derive_on("nfv-dedicated", f.machine());
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("1 CPU (0)"), std::string::npos) << plan.error().message();
}

TEST(NfvDedicated, RefusedWhenANodeLacksCores) {
  // 8 CPUs on 2 nodes: node 1 has 4 cores, enough for its 2 PMDs; node 0 needs 2 PMDs, 2 workers
  // and keeps CPU 0: 3 free, 4 needed.
  FakeMachine f({.cpus = 8, .nodes = 2, .memory_gb = 32});
  auto plan = derive_on("nfv-dedicated", f.machine());
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("NUMA node 0 has 3 cores besides the boot CPU's"), std::string::npos)
      << plan.error().message();
}

TEST(NfvDedicated, RefusedWhenTheHugepagesWouldTakeTooMuchMemory) {
  FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 6});  // 3 GB a node: 2 GB is over 50 %
  auto plan = derive_on("nfv-dedicated", f.machine());
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("needs 2048 MB of hugepages on NUMA node 0"), std::string::npos)
      << plan.error().message();
  EXPECT_NE(plan.error().message().find("the node has 3072 MB"), std::string::npos) << plan.error().message();
}

// A memory-only node (CXL, PMEM: memory, no CPU) gets no hugepages: the global forms
// (hugepages=N, vm.nr_hugepages) would have the kernel spread them over it too, so the kernel
// command line names each node; OVS's socket memory has an entry per node, 0 for it.
TEST(NfvDedicated, NoHugepagesOnAMemoryOnlyNode) {
  struct Case {
    int memory_only;
    const char *reserved, *socket_mem;
  };
  for (const Case& c : {Case{2, "0:2,1:2", "1024,1024,0"}, Case{1, "0:2,2:2", "1024,0,1024"}}) {
    SCOPED_TRACE("memory-only node " + std::to_string(c.memory_only));
    FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 64, .memory_only_node = c.memory_only});
    Machine m = f.machine();
    ASSERT_EQ(m.nodes.size(), 2u);
    EXPECT_EQ(m.memory_only_nodes, (std::map<int, int64_t>{{c.memory_only, 32768}}));
    EXPECT_NE(m.describe().find("memory-only node " + std::to_string(c.memory_only) + " (32768 MB)"),
              std::string::npos);
    auto plan = derive_on("nfv-dedicated", m);
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ(plan->hugepage_nodes.count(c.memory_only), 0u);
    EXPECT_EQ(plan->hugepage_nodes.size(), 2u);
    EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "hugepagesz"), "1G");
    EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "hugepages"), c.reserved);
    EXPECT_EQ(expected(*plan, SettingKind::kOvs, "dpdk-socket-mem"), c.socket_mem);
    for (const auto& s : plan->settings)
      if (s.kind == SettingKind::kHugepages) {
        EXPECT_NE(s.key.rfind(std::to_string(c.memory_only) + " ", 0), 0u) << s.key;
      }
    bool said = false;
    for (const auto& n : plan->notes)
      said |= n.find(std::to_string(c.memory_only) + " (memory-only)") != n.npos;
    EXPECT_TRUE(said);
  }
  // 2M pages: per node on the kernel command line too, no vm.nr_hugepages.
  FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 64, .gigantic = false, .memory_only_node = 2});
  auto plan = derive_on("nfv-dedicated", f.machine());
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->page_kb, 2048);
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "hugepagesz"), "2M");
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "hugepages"), "0:640,1:640");
  EXPECT_EQ(expected(*plan, SettingKind::kSysctl, "vm.nr_hugepages"), "<no such setting>");
  // Without one, the global forms as before (the kernel's even spread is what is wanted).
  FakeMachine plain({.cpus = 16, .nodes = 2, .memory_gb = 64, .gigantic = false});
  plan = derive_on("nfv-dedicated", plain.machine());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(expected(*plan, SettingKind::kSysctl, "vm.nr_hugepages"), "1280");
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "hugepages"), "");
}

// Applied: the boot loader's arguments reserve per node, and the written configuration checks.
TEST(ApplyAndCheck, MemoryOnlyNodeInAThrowAwayRoot) {
  FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 64, .memory_only_node = 2});
  Machine m = f.machine();
  auto plan = derive_on("nfv-dedicated", m);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_TRUE(apply(*plan, m, false).ok());
  std::string grub = read(f.root + "/etc/default/grub.d/vlcp.cfg");
  EXPECT_NE(grub.find(" hugepagesz=1G hugepages=0:2,1:2\""), std::string::npos) << grub;
  std::vector<std::string> notes;
  EXPECT_TRUE(check(*plan, m, true, &notes).empty());
}

TEST(Lab, TwoCoresOnePmdNoIsolation) {
  FakeMachine f({.cpus = 2, .nodes = 1, .memory_gb = 8});
  auto plan = derive_on("lab", f.machine());
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->pmd, cpus("1"));
  EXPECT_TRUE(plan->isolated.empty());
  EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, "isolcpus"), "");
  EXPECT_EQ(expected(*plan, SettingKind::kOvs, "pmd-cpu-mask"), "0x2");
  EXPECT_EQ(expected(*plan, SettingKind::kOvs, "pmd-maxsleep"), "1000");
  EXPECT_EQ(expected(*plan, SettingKind::kOvs, "dpdk-socket-mem"), "256");
  EXPECT_EQ(expected(*plan, SettingKind::kSysctl, "vm.nr_hugepages"), "160");  // (256 + 64) MB / 2 MB
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.cores"), "");
  EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.workers"), "1");
}

TEST(Lab, RefusedOnOneCore) {
  FakeMachine f({.cpus = 1, .nodes = 1, .memory_gb = 8});
  auto plan = derive_on("lab", f.machine());
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("needs at least 2 CPUs"), std::string::npos)
      << plan.error().message();
}

TEST(Shared, AnyMachineNothingIsolatedNoHugepages) {
  for (int n : {1, 2, 16, 64}) {
    FakeMachine f({.cpus = n, .nodes = n >= 16 ? 2 : 1, .memory_gb = 8});
    Machine m = f.machine();
    auto plan = derive_on("shared", m);
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    for (const auto& arg : kManagedKernelArgs)
      EXPECT_EQ(expected(*plan, SettingKind::kKernelArg, arg), "") << arg;
    EXPECT_EQ(plan->page_kb, 0);
    EXPECT_EQ(expected(*plan, SettingKind::kHugeMount), "");
    EXPECT_EQ(expected(*plan, SettingKind::kOvs, "pmd-cpu-mask"), "");
    EXPECT_EQ(expected(*plan, SettingKind::kIrqAffinity), format_cpu_list(m.cpus));
    EXPECT_EQ(expected(*plan, SettingKind::kVlcpd, "module.sched.cores"), "");
  }
}

// What a boot with the written configuration would show: the kernel command line, isolated
// and nohz_full CPUs, IRQ affinity, reserved pages, the mount and the sysctl values.
void boot(const FakeMachine& f, const Plan& plan) {
  std::string args;
  for (const auto& s : plan.settings)
    if (s.kind == SettingKind::kKernelArg && !s.expected.empty()) args += " " + s.key + "=" + s.expected;
  write(f.root + "/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet" + args + "\n");
  write(f.root + "/sys/devices/system/cpu/isolated", format_cpu_list(plan.isolated) + "\n");
  write(f.root + "/sys/devices/system/cpu/nohz_full", format_cpu_list(plan.isolated) + "\n");
  write(f.root + "/proc/irq/default_smp_affinity",
        format_cpu_mask(plan.isolated.empty() ? f.machine().cpus : plan.housekeeping).substr(2) + "\n");
  for (const auto& s : plan.settings) {
    if (s.kind == SettingKind::kSysctl) {
      std::string file = s.key;
      std::replace(file.begin(), file.end(), '.', '/');
      write(f.root + "/proc/sys/" + file, s.expected + "\n");
    }
    if (s.kind == SettingKind::kHugepages)
      write(f.root + "/sys/devices/system/node/node" + s.key.substr(0, s.key.find(' ')) +
                "/hugepages/hugepages-" + std::to_string(plan.page_kb) + "kB/nr_hugepages",
            s.expected + "\n");
  }
  write(f.root + "/proc/mounts",
        "sysfs /sys sysfs rw 0 0\n" +
            (plan.page_kb ? "hugetlbfs /var/lib/vlcp/hugepages hugetlbfs rw,relatime,pagesize=" +
                                std::to_string(plan.page_kb / 1024) + "M 0 0\n"
                          : ""));
}

TEST(ApplyAndCheck, NfvDedicatedInAThrowAwayRoot) {
  FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 64});
  write(f.root + "/etc/vlcp/vlcp.conf",
        "# vlcpd\nserver.loglevel = 'info'\nmodule.sched.workers = 1\nmodule.sched.memory_mb = 64\n");
  Machine m = f.machine();
  auto plan = derive_on("nfv-dedicated", m);
  ASSERT_TRUE(plan.ok()) << plan.error().message();

  auto dry = apply(*plan, m, true);
  ASSERT_TRUE(dry.ok()) << dry.error().message();
  EXPECT_FALSE(fs::exists(f.root + "/etc/default/grub.d/vlcp.cfg"));  // a dry run writes nothing

  auto report = apply(*plan, m, false);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_NE(read(f.root + "/etc/default/grub.d/vlcp.cfg")
                .find("GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT "
                      "isolcpus=managed_irq,domain,4-7,14-15 "
                      "nohz_full=4-7,14-15 rcu_nocbs=4-7,14-15 irqaffinity=0-3,8-13 default_hugepagesz=1G "
                      "hugepagesz=1G hugepages=4\""),
            std::string::npos);
  EXPECT_NE(read(f.root + "/etc/sysctl.d/90-vlcp-profile.conf").find("vm.stat_interval = 10\n"),
            std::string::npos);
  EXPECT_NE(read(f.root + "/etc/systemd/system/var-lib-vlcp-hugepages.mount").find("Options=pagesize=1G"),
            std::string::npos);
  EXPECT_TRUE(
      fs::is_symlink(f.root + "/etc/systemd/system/local-fs.target.wants/var-lib-vlcp-hugepages.mount"));
  EXPECT_EQ(read(f.root + kDropInPath), *load_dropin(dirs(), "nfv-dedicated"));
  // vlcpd's keys: in the profile's drop-in beside vlcp.conf (profile_apply_test.cc has the rest).
  auto conf = Config::load_file(f.root + kVlcpConfDropIn);
  ASSERT_TRUE(conf.ok()) << conf.error().message();
  EXPECT_EQ(*conf->get<std::string>("module.sched.cores"), "4-5");
  EXPECT_EQ(*conf->get<int64_t>("module.sched.workers"), 2);
  EXPECT_EQ(*conf->get<bool>("module.sched.hugepages"), true);
  // No OVS database under the root: the settings wait for the first boot.
  EXPECT_NE(read(f.root + "/etc/vlcp/profile-ovs.pending").find("pmd-cpu-mask=0xc0c0\n"), std::string::npos);
  EXPECT_NE(read(f.root + "/etc/systemd/system/vlcp-profile-ovs.service")
                .find("ExecStart=/usr/bin/ovs-vsctl --no-wait init -- set Open_vSwitch . "
                      "other_config:pmd-cpu-mask=0xc0c0"),
            std::string::npos);

  std::vector<std::string> notes;
  EXPECT_TRUE(check(*plan, m, true, &notes).empty());  // the written configuration matches
  // The running system does not until it boots with it: the kernel arguments, isolated CPUs...
  auto diffs = check(*plan, m, false, &notes);
  bool saw_isolcpus = false, saw_isolated = false, saw_ovs = false;
  for (const auto& d : diffs) {
    if (d.what == "kernel command line isolcpus")
      saw_isolcpus = d.expected == "managed_irq,domain,4-7,14-15" && d.actual.empty();
    if (d.what.rfind("isolated CPUs", 0) == 0) saw_isolated = d.expected == "4-7,14-15";
    if (d.what == "OVS other_config:pmd-cpu-mask") saw_ovs = d.actual.find("pending") != std::string::npos;
  }
  EXPECT_TRUE(saw_isolcpus && saw_isolated && saw_ovs);

  boot(f, *plan);
  write(f.root + "/etc/vlcp/profile-ovs.pending", "");  // (OVS itself is the system test's)
  diffs = check(*plan, m, false, &notes);
  for (const auto& d : diffs)  // only OVS's settings: no database under this root
    EXPECT_EQ(d.what.rfind("OVS other_config:", 0), 0u) << d.what << ": " << d.expected << " / " << d.actual;
}

TEST(ApplyAndCheck, SharedUndoesNfvDedicated) {
  FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 64});
  Machine m = f.machine();
  auto nfv = derive_on("nfv-dedicated", m);
  ASSERT_TRUE(nfv.ok());
  ASSERT_TRUE(apply(*nfv, m, false).ok());
  auto shared = derive_on("shared", m);
  ASSERT_TRUE(shared.ok());
  std::vector<std::string> notes;
  EXPECT_FALSE(check(*shared, m, true, &notes).empty());
  ASSERT_TRUE(apply(*shared, m, false).ok());
  EXPECT_FALSE(fs::exists(f.root + "/etc/default/grub.d/vlcp.cfg"));
  EXPECT_FALSE(fs::exists(f.root + "/etc/sysctl.d/90-vlcp-profile.conf"));
  EXPECT_FALSE(fs::exists(f.root + "/etc/systemd/system/var-lib-vlcp-hugepages.mount"));
  std::string dropin = read(f.root + kVlcpConfDropIn);
  EXPECT_EQ(dropin.find("module.sched.cores"), std::string::npos) << dropin;
  EXPECT_EQ(dropin.find("module.sched.hugepages"), std::string::npos) << dropin;
  EXPECT_TRUE(check(*shared, m, true, &notes).empty());
  boot(f, *shared);
  EXPECT_TRUE(check(*shared, m, false, &notes).empty());
}

// (/etc/kernel/cmdline and systemd-boot's entries: profile_apply_test.cc, SystemdBoot.)

}  // namespace
}  // namespace vlcp::cli::profile

namespace vlcp::cli::profile {
namespace {

TEST(Tuned, TheKernelSideAsATunedProfile) {
  FakeMachine f({.cpus = 16, .nodes = 2, .memory_gb = 64});
  Machine m = f.machine();
  auto plan = derive_on("nfv-dedicated", m);
  ASSERT_TRUE(plan.ok());
  std::string conf = tuned_conf(*plan, "d", m);
  EXPECT_NE(conf.find("[main]\nsummary=VLCP nfv-dedicated: d\n"), std::string::npos) << conf;
  EXPECT_NE(
      conf.find("[bootloader]\ncmdline_vlcp=isolcpus=managed_irq,domain,4-7,14-15 nohz_full=4-7,14-15 "
                "rcu_nocbs=4-7,14-15 irqaffinity=0-3,8-13 default_hugepagesz=1G hugepagesz=1G hugepages=4\n"),
      std::string::npos)
      << conf;
  EXPECT_NE(conf.find("[sysctl]\n"), std::string::npos);
  EXPECT_NE(conf.find("vm.stat_interval=10\n"), std::string::npos);
  EXPECT_NE(conf.find("[scheduler]\nisolated_cores=4-7,14-15\n"), std::string::npos);
  EXPECT_NE(conf.find("[irqbalance]\nbanned_cpus=4-7,14-15\n"), std::string::npos);
  // tuned reads it as an INI file: every line a section, key=value, a comment or blank.
  std::stringstream lines(conf);
  for (std::string l; std::getline(lines, l);)
    EXPECT_TRUE(l.empty() || l[0] == '#' || l[0] == '[' || l.find('=') != std::string::npos) << l;
  auto shared = derive_on("shared", m);
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(tuned_conf(*shared, "d", m).find("[bootloader]"), std::string::npos);
}

}  // namespace
}  // namespace vlcp::cli::profile
