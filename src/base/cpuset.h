// CPU sets as the kernel and the operators write them: lists ("0-3,5"), hexadecimal masks ("0x6",
// "ff,ffffffff") and the SMT topology (which CPUs are threads of one physical core). The one
// reader and writer of these formats: the perf profiles (cli/profile) read the machine's sysfs
// files with it, the scheduler's placement (sched/placement) the operator's module.sched.cores
// and OVS's masks. The two readings differ only where a CpuSyntax option says so. Untrusted text
// is refused with a message (never a crash, never unbounded work): every CPU number is below
// kMaxCpus, and a list names at most kMaxCpus CPUs in all.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace vlcp {

using CpuSet = std::set<int>;

// The kernel's ceiling (CONFIG_NR_CPUS is at most 8192): CPU numbers are 0..kMaxCpus-1.
inline constexpr int kMaxCpus = 8192;

struct CpuSyntax {
  // "(null)" is the empty set: what sysfs shows for an empty cpumask (nohz_full, isolated on
  // some kernels) instead of an empty line.
  bool null_is_empty = false;
  // A mask of no digits ("" or "0x") is the empty set; otherwise it is refused, as a value an
  // operator or OVS wrote by mistake.
  bool empty_mask = false;
  // Masks in 32-bit groups separated by commas, each of 1 to 8 hex digits, the last group the
  // lowest CPUs ("ffffffff,ffffffff", as in .../cpumap and /proc/irq/default_smp_affinity);
  // otherwise a comma in a mask is refused. A mask without commas is one number in both.
  bool grouped_mask = false;
};
// What the kernel writes: sysfs and procfs files.
inline constexpr CpuSyntax kKernelCpuSyntax{true, true, true};
// What an operator or OVS writes: module.sched.cores, other_config:pmd-cpu-mask.
inline constexpr CpuSyntax kConfigCpuSyntax{false, false, false};

// "0-3,5,7-8" (blanks around items and at the ends are allowed); "" is the empty set. Refused:
// empty items ("1,,2", "1,"), reversed ranges ("3-1"), signs, strides, anything not a digit.
Result<CpuSet> parse_cpu_list(std::string_view text, const CpuSyntax& syntax);
// Hexadecimal, with or without 0x; bit N is CPU N.
Result<CpuSet> parse_cpu_mask(std::string_view text, const CpuSyntax& syntax);
// "0-2,5,7-8"; "" for the empty set.
std::string format_cpu_list(const CpuSet& cpus);
// "0x..." as OVS takes it ("0x0" for the empty set).
std::string format_cpu_mask(const CpuSet& cpus);

// The physical cores among `cpus`: each CPU with its SMT siblings (cpuN/topology/
// thread_siblings_list under `cpu_dir`, e.g. "/sys/devices/system/cpu"), only those in `cpus`;
// a CPU whose file is missing or unreadable is a core of its own. The cores partition `cpus`
// (even when the files contradict each other) and are ordered by their lowest CPU.
std::vector<CpuSet> read_smt_cores(const std::string& cpu_dir, const CpuSet& cpus);

}  // namespace vlcp
