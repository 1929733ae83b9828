// The DPDK EAL and the worker lcores. vlcpd initialises the EAL itself, by default without
// hugepages (--no-huge --no-shconf --no-pci), so it runs on any Linux box; config keys select
// hugepages, memory and cores. The calling thread becomes the main lcore (the control thread)
// and keeps its whole affinity; each worker lcore is pinned to the core placement chose.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "sched/placement.h"
#include "sched/waker.h"
#include "sched/worker.h"

namespace vlcp::sched {

// X(field, key, C++ type, default, help): module.sched.* declared once (defaults, help, checks).
#define VLCP_SCHED_KEYS(X)                                                                            \
  X(workers, "module.sched.workers", int64_t, 1,                                                      \
    "worker lcores for the packet-in path (0: the I/O threads run the handlers)")                     \
  X(cores, "module.sched.cores", std::string, "",                                                     \
    "CPU list the workers may use, e.g. \"2-3\" (default: any allowed core that is not an OVS PMD "   \
    "core)")                                                                                          \
  X(hugepages, "module.sched.hugepages", bool, false,                                                 \
    "back DPDK memory with hugepages (reserved and mounted by the perf profile)")                     \
  X(huge_dir, "module.sched.huge_dir", std::string, "", "hugetlbfs mount to use with hugepages")      \
  X(memory_mb, "module.sched.memory_mb", int64_t, 64, "DPDK memory in MB (touched up front)")         \
  X(eal_args, "module.sched.eal_args", std::string, "", "extra EAL arguments, space separated")       \
  X(poll, "module.sched.poll", std::string, "auto",                                                   \
    "how an idle worker waits: adaptive (spin up to spin_us after its last work, then sleep), pure "  \
    "(never sleep), sleep (at once); auto: pure on dedicated cores (isolated or module.sched.cores, " \
    "no I/O thread), else adaptive")                                                                  \
  X(spin_us, "module.sched.spin_us", int64_t, 100,                                                    \
    "adaptive polling: microseconds an idle worker spins after its last work before it sleeps "       \
    "(0..10000)")                                                                                     \
  X(share_io_core, "module.sched.share_io_core", bool, false,                                         \
    "when no other core is free, run a worker on an OpenFlow I/O thread's core (default: that "       \
    "worker is not started and its handlers run on the I/O thread)")

struct SchedSettings {
  VLCP_SCHED_KEYS(VLCP_KEYS_FIELD)
};

// Reads and checks module.sched.* (types, ranges, the core list, the poll policy).
Result<SchedSettings> read_sched_settings(const Config& config);

// The workers' poll policy for a plan: module.sched.poll, or with "auto" pure polling on
// dedicated cores (Placement::dedicated) and adaptive polling elsewhere; spin from spin_us.
PollConfig poll_config(const SchedSettings& s, const Placement& p);

// Pins the calling thread to one core, for plain std::threads (the OpenFlow I/O threads), which
// are not EAL lcores: Lcores::pin_current_thread is for those.
Status pin_thread(int cpu);
// The calling thread's affinity (pthread_getaffinity_np).
Result<CpuSet> thread_affinity();

// The EAL argument vector for a placement (without argv[0]); exposed for tests.
std::vector<std::string> eal_arguments(const SchedSettings& s, const Placement& p,
                                       const std::string& file_prefix);

class Lcores {
 public:
  // Initialises the EAL (once per process) with one worker lcore per placed worker core.
  static Result<std::unique_ptr<Lcores>> start(const SchedSettings& settings, const Placement& placement);
  ~Lcores();  // waits for every launched body, then rte_eal_cleanup()

  unsigned workers() const { return static_cast<unsigned>(lcore_ids_.size()); }
  unsigned lcore_id(unsigned worker) const { return lcore_ids_[worker]; }
  int cpu(unsigned worker) const { return cpus_[worker]; }

  // Runs body on worker lcore `worker`; the body returns when its owner tells it to stop.
  Status launch(unsigned worker, std::function<void()> body);
  void wait_all();

  // Pins the calling lcore thread to one core (re-planning moves workers this way).
  static Status pin_current_thread(int cpu);
  static int current_cpu();

 private:
  Lcores() = default;
  std::vector<unsigned> lcore_ids_;
  std::vector<int> cpus_;
  static int run_body(void* arg);
  struct Body {
    std::function<void()> fn;
    std::atomic<bool> done{false};  // released by the lcore when fn returns
  };
  std::vector<std::unique_ptr<Body>> bodies_;
};

}  // namespace vlcp::sched
