// Where worker lcores and the OpenFlow I/O threads may run, decided from what the machine and
// the data path say: the process affinity, the kernel's isolated CPUs, and OVS-DPDK's PMD and
// lcore masks (read from OVSDB's Open_vSwitch other_config). The rules that are never broken: no
// worker on a PMD core; no worker on an I/O thread's core while another core is free. Pure
// functions, so every case is a unit test; the daemon re-plans when OVSDB reports a new mask.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/cpuset.h"
#include "base/result.h"

namespace vlcp::sched {

// CPU sets (base/cpuset.h), read in the operator's syntax: module.sched.cores and OVS's masks
// ("0x6", "6", "f0000000000000000" for big hosts; no empty mask, no comma groups).
using CpuSet = vlcp::CpuSet;
using vlcp::format_cpu_list;
inline Result<CpuSet> parse_cpu_list(std::string_view text) {
  return vlcp::parse_cpu_list(text, kConfigCpuSyntax);
}
inline Result<CpuSet> parse_cpu_mask(std::string_view text) {
  return vlcp::parse_cpu_mask(text, kConfigCpuSyntax);
}

// What OVS says about its own threads (absent when there is no OVS-DPDK).
struct DatapathCpus {
  bool dpdk_initialized = false;
  std::optional<CpuSet> pmd_cpus;    // other_config:pmd-cpu-mask
  std::optional<CpuSet> lcore_cpus;  // other_config:dpdk-lcore-mask (OVS's non-PMD DPDK threads)
};

struct PlacementInput {
  CpuSet allowed;                    // this process's affinity (sched_getaffinity)
  CpuSet isolated;                   // /sys/devices/system/cpu/isolated
  std::optional<CpuSet> configured;  // module.sched.cores, when the operator names them
  DatapathCpus datapath;
  unsigned workers = 1;     // how many worker lcores are wanted
  unsigned io_threads = 1;  // module.openflowserver.iothreads (0: place workers only)
  // module.sched.share_io_core: a worker that finds no free core goes on an I/O thread's core
  // (one worker per core) instead of not being placed.
  bool share_io_core = false;
  // The physical cores (SMT siblings together, smt_cores()); empty: every CPU a core of its own.
  // Workers go on cores where no other worker, I/O thread or OVS PMD runs while there are such.
  std::vector<CpuSet> smt_cores;
};

struct Placement {
  std::vector<int> worker_cpus;  // one entry per worker placed (may be fewer than wanted)
  std::vector<int> io_cpus;      // one entry per I/O thread (a core may hold several)
  CpuSet control_cpus;           // where the control thread may run (includes the I/O cores)
  CpuSet pmd_cpus;               // what was avoided as PMD cores (assumed or configured)
  // Every worker is on an isolated or configured (module.sched.cores) core that no I/O thread
  // uses: the cores are ours to burn, so workers poll without sleeping by default.
  bool dedicated = false;
  std::vector<std::string> notes;  // each decision and warning, for the log and introspection
};

// Plans the I/O threads and the workers. The I/O threads take the lowest candidate cores (the
// control thread runs beside them): first the cores workers may not use, then OVS's lcore cores,
// ordinary cores, isolated ones; each I/O thread its own core while a core stays free for the
// workers. Workers take the highest remaining cores (isolated first, then ordinary, then OVS's
// lcore cores), one worker per core, and with SMT a physical core each while there are enough
// (neither beside another worker, an I/O thread nor an OVS PMD; the notes say when one has to
// be); a worker that finds no free core goes on an I/O core only
// with share_io_core, and the notes say so either way. With OVS-DPDK initialised but no
// pmd-cpu-mask, OVS puts one PMD on the lowest core it may use; we assume the lowest allowed core
// and say so in the notes.
Placement plan_placement(const PlacementInput& in);

// The machine's side of the input.
Result<CpuSet> process_affinity();
// The online CPUs' physical cores (`cpu_dir`/online and cpuN/topology/thread_siblings_list);
// empty when the online list cannot be read.
std::vector<CpuSet> smt_cores(const std::string& cpu_dir = "/sys/devices/system/cpu");
CpuSet isolated_cpus(const std::string& sysfs_path = "/sys/devices/system/cpu/isolated");

}  // namespace vlcp::sched
