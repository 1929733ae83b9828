// Perf profiles: a profile (perf/profiles/NAME.conf, in vlcpd's configuration format) declares a
// policy — how many cores for OVS-DPDK's PMDs and vlcpd's workers, whether to isolate them, how
// much hugepage memory — and derive() turns it into concrete settings for one machine, read
// under a root directory (/sys, /proc), or refuses with what the machine lacks. The settings are
// what `vlcpctl profile apply` writes (profile_apply.cc) and what `profile check` compares.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/cpuset.h"
#include "base/result.h"

namespace vlcp::cli::profile {

// CPU sets (base/cpuset.h), read in the kernel's syntax: the machine's files under --root, where
// "(null)" is the empty set and masks come in 32-bit groups ("ff,ffffffff").
using CpuSet = vlcp::CpuSet;
using vlcp::format_cpu_list;
using vlcp::format_cpu_mask;  // "0x..." as OVS takes it
inline Result<CpuSet> parse_cpu_list(std::string_view text) {
  return vlcp::parse_cpu_list(text, kKernelCpuSyntax);
}
inline Result<CpuSet> parse_cpu_mask(std::string_view text) {
  return vlcp::parse_cpu_mask(text, kKernelCpuSyntax);
}

// What the machine offers, read under `root`: every file is root + an absolute path.
struct Machine {
  std::string root = "/";
  CpuSet cpus;                            // /sys/devices/system/cpu/online
  std::map<int, CpuSet> nodes;            // /sys/devices/system/node/nodeN/cpulist (one node when absent)
  std::map<int, int64_t> node_memory_mb;  // nodeN/meminfo, or /proc/meminfo for a single node
  // Nodes with memory and no online CPU (CXL, PMEM): their nodeN/meminfo, in MB. Not in `nodes`:
  // nothing runs there, and no hugepages are reserved there.
  std::map<int, int64_t> memory_only_nodes;
  std::vector<CpuSet> cores;            // physical cores: SMT siblings (cpuN/topology/thread_siblings_list)
  std::set<int64_t> hugepage_sizes_kb;  // /sys/kernel/mm/hugepages/hugepages-NkB
  int64_t memory_mb() const;
  std::string path(std::string_view absolute) const;  // root + absolute
  std::string describe() const;  // "16 CPUs (0-15), 2 NUMA nodes, 64 GB, hugepages 2048 kB and 1048576 kB"
};
Result<Machine> read_machine(const std::string& root);

// X(field, key, type, default, help): a profile's keys, declared once (parse, check, show).
#define VLCP_PROFILE_KEYS(X)                                                                               \
  X(description, "profile.description", std::string, "", "what the profile is for, in one line")           \
  X(isolate, "cpu.isolate", bool, false,                                                                   \
    "isolate the PMD and worker cores: isolcpus, nohz_full and rcu_nocbs on the kernel command line, "     \
    "IRQs on the housekeeping cores (irqaffinity)")                                                        \
  X(housekeeping, "cpu.housekeeping", int64_t, 1,                                                          \
    "CPUs at least left for the kernel, IRQs, vlcpd's control and I/O threads and OVS's main threads "     \
    "(the boot CPU's core always is)")                                                                     \
  X(pmd_per_node, "cpu.pmd_per_node", int64_t, 0,                                                          \
    "OVS-DPDK PMD cores on every NUMA node (other_config:pmd-cpu-mask); 0: the mask removed, OVS "         \
    "chooses")                                                                                             \
  X(worker_cores, "cpu.workers", int64_t, 0,                                                               \
    "cores for vlcpd's worker lcores, on the boot CPU's node (module.sched.cores, module.sched.workers); " \
    "0: vlcpd places vlcpd.workers itself")                                                                \
  X(hugepage_size, "hugepages.size", std::string, "",                                                      \
    "hugepages to reserve and mount: '' (none), '2M', '1G' or 'auto' (1G when the machine offers it, "     \
    "else 2M)")                                                                                            \
  X(ovs_mb_per_node, "hugepages.ovs_mb_per_node", int64_t, 0,                                              \
    "OVS-DPDK's memory on every NUMA node, in MB (other_config:dpdk-socket-mem)")                          \
  X(max_percent, "hugepages.max_percent", int64_t, 50,                                                     \
    "refuse when the hugepages would take more than this share of a node's memory")                        \
  X(workers, "vlcpd.workers", int64_t, 1, "module.sched.workers when cpu.workers is 0")                    \
  X(memory_mb, "vlcpd.memory_mb", int64_t, 64,                                                             \
    "module.sched.memory_mb: vlcpd's DPDK memory, from the hugepages of node 0 when there are any")        \
  X(poll, "vlcpd.poll", std::string, "", "module.sched.poll ('': vlcpd's default, auto)")                  \
  X(dpdk_init, "ovs.dpdk_init", std::string, "", "other_config:dpdk-init ('': left as it is)")             \
  X(pmd_maxsleep_us, "ovs.pmd_maxsleep_us", int64_t, -1,                                                   \
    "other_config:pmd-maxsleep, microseconds an idle PMD may sleep (-1: removed)")

struct Profile {
  std::string name, source;  // source: the file it was read from
  VLCP_PROFILE_KEYS(VLCP_KEYS_FIELD)
  std::map<std::string, std::string> sysctl;  // sysctl.KEY = VALUE lines
};
// A profile's text; unknown keys and bad values are errors at their file:line.
Result<Profile> parse_profile(std::string_view text, const std::string& name, const std::string& source);

// Where the profiles are: `explicit_dir` when given, else $VLCP_PROFILE_DIR, /etc/vlcp/profiles,
// /usr/share/vlcp/profiles, and the source tree's perf/profiles (a build that is not installed).
std::vector<std::string> profile_dirs(const std::string& explicit_dir);
std::vector<std::string> profile_names(const std::vector<std::string>& dirs);
Result<Profile> load_profile(const std::vector<std::string>& dirs, const std::string& name);
// The profile's vlcpd drop-in (systemd/profiles/NAME.conf): beside the profiles in systemd/,
// or in the source tree's systemd/profiles.
Result<std::string> load_dropin(const std::vector<std::string>& dirs, const std::string& name);

// The profile's keys as they would be written (`key = literal  # help`), for `profile show`.
std::vector<std::string> describe_keys(const Profile& profile);

// One setting a profile gives the machine; `expected` "" means absent.
enum class SettingKind {
  kKernelArg,    // a kernel command-line argument (key: its name)
  kSysctl,       // key: the sysctl name
  kHugepages,    // pages reserved on a node (key: node number); expected: at least that many
  kHugeMount,    // a hugetlbfs mount (key: its path; expected: the page size in kB)
  kIsolated,     // /sys/devices/system/cpu/isolated
  kNohzFull,     // /sys/devices/system/cpu/nohz_full
  kIrqAffinity,  // /proc/irq/default_smp_affinity, on the online CPUs
  kOvs,          // OVS's Open_vSwitch other_config (key: its key)
  kVlcpd,        // a key of /etc/vlcp/vlcp.conf (expected: the literal)
  kDropIn,       // vlcpd's drop-in (key: its path; expected: its content)
  kProfileName,  // /etc/vlcp/perf-profile: the profile applied
};
struct Setting {
  SettingKind kind;
  std::string key;
  std::string expected;
};
std::string setting_name(const Setting& s);  // "kernel command line isolcpus", "sysctl vm.stat_interval"

inline constexpr const char* kHugeMountPath = "/var/lib/vlcp/hugepages";
inline constexpr const char* kDropInPath = "/etc/systemd/system/vlcpd.service.d/perf-profile.conf";
// The kernel arguments and OVS keys a profile owns: every profile sets or removes each of them.
extern const std::vector<std::string> kManagedKernelArgs;
extern const std::vector<std::string> kManagedOvsKeys;
extern const std::vector<std::string> kManagedVlcpdKeys;

struct Plan {
  std::string profile;
  CpuSet housekeeping, pmd, workers, isolated;  // pmd, workers: whole physical cores
  // Where vlcpd's workers run (module.sched.cores): one thread of each worker core, its SMT
  // siblings left idle; both threads of a core only when the machine has too few cores.
  CpuSet worker_cpus;
  int64_t page_kb = 0;           // 0: no hugepages
  int64_t pages_per_node = 0;    // on each node of hugepage_nodes
  std::set<int> hugepage_nodes;  // the nodes whose CPUs run OVS's PMDs or vlcpd's workers
  std::vector<Setting> settings;
  std::vector<std::string> notes;  // how the values were derived
};
// The settings `profile` gives `machine`, or an error saying what the machine cannot give.
// `dropin` is the profile's vlcpd drop-in text.
Result<Plan> derive(const Profile& profile, const Machine& machine, const std::string& dropin);

// Shared by profile.cc and profile_apply.cc: `s` without surrounding blanks (and trailing
// newlines); a whole file into `out` (false when it cannot be read).
std::string trim(std::string s);
bool read_text(const std::string& path, std::string* out);

}  // namespace vlcp::cli::profile
