// Worker and I/O thread placement (see placement.h).
#include "sched/placement.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <map>

namespace vlcp::sched {

namespace {
std::string format_cpus(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}
}  // namespace

Placement plan_placement(const PlacementInput& in) {
  Placement p;
  const DatapathCpus& dp = in.datapath;
  if (dp.pmd_cpus) {
    p.pmd_cpus = *dp.pmd_cpus;
    p.notes.push_back("avoiding OVS PMD cores " + format_cpu_list(p.pmd_cpus) + " (pmd-cpu-mask)");
  } else if (dp.dpdk_initialized && !in.allowed.empty()) {
    p.pmd_cpus = {*in.allowed.begin()};
    p.notes.push_back("OVS-DPDK has no pmd-cpu-mask: assuming its PMD on core " +
                      std::to_string(*in.allowed.begin()));
  }
  CpuSet lcore = dp.lcore_cpus.value_or(CpuSet{});

  // Every core we may run on at all: our affinity, and the configured cores the kernel isolated.
  // With isolcpus the kernel keeps isolated cores out of init's affinity, which every service
  // inherits, yet a thread pinned there explicitly runs there: those are the cores a perf
  // profile (nfv-dedicated) names for the workers.
  CpuSet reachable = in.allowed;
  if (in.configured)
    for (int c : *in.configured)
      if (in.isolated.count(c)) reachable.insert(c);
  CpuSet usable;
  for (int c : reachable)
    if (!p.pmd_cpus.count(c)) usable.insert(c);
  CpuSet candidates;  // the cores workers may use
  for (int c : in.configured ? *in.configured : in.allowed)
    if (usable.count(c)) candidates.insert(c);
  if (in.configured) {
    for (int c : *in.configured)
      if (!candidates.count(c))
        p.notes.push_back(
            "configured core " + std::to_string(c) +
            (p.pmd_cpus.count(c) ? " is an OVS PMD core: not used" : " is outside our affinity: not used"));
  }

  // The I/O threads: the cores worth least to workers first (cores workers may not use, OVS's
  // lcore cores, ordinary, isolated), lowest numbers first inside each class. Each thread gets its
  // own core while one stays free for a worker; further threads share those cores round robin.
  CpuSet io_cores;
  if (in.io_threads > 0 && !usable.empty()) {
    auto io_rank = [&](int c) {
      return !candidates.count(c) ? 0 : lcore.count(c) ? 1 : in.isolated.count(c) ? 3 : 2;
    };
    std::vector<int> order(usable.begin(), usable.end());
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return io_rank(a) != io_rank(b) ? io_rank(a) < io_rank(b) : a < b;
    });
    size_t distinct = std::min<size_t>(in.io_threads, order.size());
    auto leaves_a_worker_core = [&](size_t n) {
      for (int c : candidates)
        if (std::find(order.begin(), order.begin() + n, c) == order.begin() + n) return true;
      return false;
    };
    while (distinct > 1 && in.workers > 0 && !leaves_a_worker_core(distinct)) --distinct;
    io_cores.insert(order.begin(), order.begin() + distinct);
    for (unsigned i = 0; i < in.io_threads; ++i) p.io_cpus.push_back(order[i % distinct]);
    if (distinct < in.io_threads)
      p.notes.push_back(std::to_string(in.io_threads) + " I/O threads share cores " +
                        format_cpu_list(io_cores));
  } else if (in.io_threads > 0) {
    p.notes.push_back("no core outside the PMD set for the I/O threads: they are not pinned");
  }

  // The workers: preference isolated cores (set aside for exactly this), then ordinary cores,
  // then the cores OVS's own DPDK threads use; highest numbers first inside each class, since
  // the kernel and most daemons favour the low ones. One worker per core.
  auto rank = [&](int c) { return in.isolated.count(c) ? 0 : lcore.count(c) ? 2 : 1; };
  auto by_rank = [&](int a, int b) { return rank(a) != rank(b) ? rank(a) < rank(b) : a > b; };
  std::vector<int> order, shared;
  for (int c : candidates) (io_cores.count(c) ? shared : order).push_back(c);
  std::stable_sort(order.begin(), order.end(), by_rank);
  std::stable_sort(shared.begin(), shared.end(), by_rank);
  unsigned n = std::min<unsigned>(in.workers, static_cast<unsigned>(order.size()));
  // With SMT: a physical core of its own for each worker while there is one, in that order; then
  // the remaining threads, each said. A core is taken by an OVS PMD, an I/O thread or a worker
  // on any of its threads.
  std::map<int, size_t> core_of;
  for (size_t i = 0; i < in.smt_cores.size(); ++i)
    for (int c : in.smt_cores[i]) core_of.emplace(c, i);
  auto core = [&](int c) -> int64_t {
    auto it = core_of.find(c);
    return it == core_of.end() ? -1 - static_cast<int64_t>(c) : static_cast<int64_t>(it->second);
  };
  std::set<int64_t> taken;
  for (int c : p.pmd_cpus) taken.insert(core(c));
  for (int c : io_cores) taken.insert(core(c));
  auto siblings = [&](int c) {
    CpuSet out;
    auto it = core_of.find(c);
    if (it != core_of.end())
      for (int s : in.smt_cores[it->second])
        if (s != c) out.insert(s);
    return out;
  };
  std::vector<int> picked, rest;
  for (int c : order) {
    if (picked.size() < n && !taken.count(core(c))) {
      picked.push_back(c);
      taken.insert(core(c));
    } else {
      rest.push_back(c);
    }
  }
  for (size_t i = 0; picked.size() < n; ++i) {
    int c = rest[i];
    picked.push_back(c);
    std::string beside;
    for (int s : siblings(c)) {
      const char* what = p.pmd_cpus.count(s)                                          ? "an OVS PMD"
                         : io_cores.count(s)                                          ? "an I/O thread"
                         : std::find(picked.begin(), picked.end(), s) != picked.end() ? "a worker"
                                                                                      : nullptr;
      if (what) beside += (beside.empty() ? "" : ", ") + std::string(what) + " on " + std::to_string(s);
    }
    p.notes.push_back("SMT: worker on core " + std::to_string(c) + " shares its physical core with " +
                      (beside.empty() ? "another thread" : beside) + ": no physical core is free");
  }
  p.worker_cpus = picked;
  if (n < in.workers && !shared.empty()) {
    unsigned more = std::min<unsigned>(in.workers - n, static_cast<unsigned>(shared.size()));
    if (in.share_io_core) {
      p.worker_cpus.insert(p.worker_cpus.end(), shared.begin(), shared.begin() + more);
      p.notes.push_back(std::to_string(more) + " worker(s) on I/O thread cores [" +
                        format_cpus({shared.begin(), shared.begin() + more}) +
                        "]: no other core is free (module.sched.share_io_core)");
      n += more;
    } else {
      p.notes.push_back(std::to_string(more) +
                        " worker(s) not placed: the only free cores run I/O threads (their handlers run on "
                        "the I/O threads; module.sched.share_io_core = true places them there)");
    }
  }
  if (n < in.workers)
    p.notes.push_back("placed " + std::to_string(n) + " of " + std::to_string(in.workers) + " workers" +
                      (shared.empty() || in.share_io_core ? ": no more cores outside the PMD set" : ""));

  // The control thread: every usable core that no worker has to itself (the I/O cores among
  // them); otherwise it shares the workers' cores (never the PMD ones, if avoidable).
  auto exclusive_worker = [&](int c) {
    return !io_cores.count(c) &&
           std::find(p.worker_cpus.begin(), p.worker_cpus.end(), c) != p.worker_cpus.end();
  };
  for (int c : usable)
    if (!exclusive_worker(c)) p.control_cpus.insert(c);
  if (p.control_cpus.empty()) {
    p.control_cpus = usable;
    if (!p.worker_cpus.empty()) p.notes.push_back("control thread shares the worker cores");
  }
  if (p.control_cpus.empty()) {
    p.control_cpus = in.allowed;
    p.notes.push_back("every allowed core is an OVS PMD core: control thread shares them");
  }

  p.dedicated = !p.worker_cpus.empty() && std::all_of(p.worker_cpus.begin(), p.worker_cpus.end(), [&](int c) {
    return !io_cores.count(c) && (in.isolated.count(c) || (in.configured && in.configured->count(c)));
  });
  p.notes.push_back("workers on cores [" + format_cpus(p.worker_cpus) + "]" +
                    (p.dedicated ? " (dedicated)" : "") + ", I/O threads on cores [" +
                    format_cpus(p.io_cpus) + "], control on " + format_cpu_list(p.control_cpus));
  return p;
}

Result<CpuSet> process_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return make_error(Errc::kIo, "sched_getaffinity failed");
  CpuSet out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.insert(c);
  return out;
}

std::vector<CpuSet> smt_cores(const std::string& cpu_dir) {
  std::ifstream f(cpu_dir + "/online");
  std::string line;
  std::getline(f, line);
  auto online = vlcp::parse_cpu_list(line, kKernelCpuSyntax);
  if (!online.ok() || online->empty()) return {};
  return read_smt_cores(cpu_dir, *online);
}

CpuSet isolated_cpus(const std::string& sysfs_path) {
  std::ifstream f(sysfs_path);
  std::string line;
  std::getline(f, line);
  auto set = vlcp::parse_cpu_list(line, kKernelCpuSyntax);  // the kernel's file: "(null)" is none
  return set.ok() ? *set : CpuSet{};
}

}  // namespace vlcp::sched
