// EAL initialisation and worker lcores (see lcores.h).
#include "sched/lcores.h"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <sstream>

namespace vlcp::sched {

Result<SchedSettings> read_sched_settings(const Config& config) {
  SchedSettings keys;
  VLCP_SCHED_KEYS(VLCP_KEYS_READ)
  if (keys.workers < 0 || keys.workers > 64)
    return make_error(Errc::kInvalidArgument,
                      config.where("module.sched.workers") + ": module.sched.workers must be 0..64");
  if (keys.memory_mb < 16 || keys.memory_mb > 65536)
    return make_error(Errc::kInvalidArgument,
                      config.where("module.sched.memory_mb") + ": module.sched.memory_mb must be 16..65536");
  if (keys.poll != "auto" && !parse_poll_policy(keys.poll).ok())
    return config.error_at("module.sched.poll", "must be auto, adaptive, pure or sleep");
  if (keys.spin_us < 0 || keys.spin_us > 10000)
    return config.error_at("module.sched.spin_us", "must be 0..10000");
  if (!keys.cores.empty()) {
    auto cores = parse_cpu_list(keys.cores);
    if (!cores.ok())
      return make_error(Errc::kInvalidArgument, config.where("module.sched.cores") +
                                                    ": module.sched.cores: " + cores.error().message());
  }
  return keys;
}

PollConfig poll_config(const SchedSettings& s, const Placement& p) {
  PollConfig c;
  auto policy = parse_poll_policy(s.poll);
  c.policy = policy.ok() ? *policy : default_poll_policy(p.dedicated);
  c.spin = std::chrono::microseconds(s.spin_us);
  return c;
}

Status pin_thread(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE)
    return make_error(Errc::kInvalidArgument, "no core " + std::to_string(cpu));
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int r = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (r != 0)
    return make_error(Errc::kInvalidArgument,
                      "cannot pin to core " + std::to_string(cpu) + ": " + std::strerror(r));
  return {};
}

Result<CpuSet> thread_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int r = pthread_getaffinity_np(pthread_self(), sizeof set, &set);
  if (r != 0) return make_error(Errc::kIo, std::string("pthread_getaffinity_np: ") + std::strerror(r));
  CpuSet out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.insert(c);
  return out;
}

std::vector<std::string> eal_arguments(const SchedSettings& s, const Placement& p,
                                       const std::string& file_prefix) {
  // Lcore 0 is the main lcore: the control thread, on every control core. Workers 1..n each on
  // one core.
  std::string lcores = "0@(" + format_cpu_list(p.control_cpus) + ")";
  for (size_t i = 0; i < p.worker_cpus.size(); ++i)
    lcores += "," + std::to_string(i + 1) + "@" + std::to_string(p.worker_cpus[i]);
  std::vector<std::string> args = {
      "--lcores=" + lcores,           "--main-lcore=0",           "--no-pci", "--no-telemetry",
      "--file-prefix=" + file_prefix, "--log-level=lib.eal:error"};
  if (s.hugepages) {
    args.push_back("--in-memory");
    args.push_back("--socket-mem=" + std::to_string(s.memory_mb));
    if (!s.huge_dir.empty()) args.push_back("--huge-dir=" + s.huge_dir);
  } else {
    args.insert(args.end(), {"--no-huge", "--no-shconf", "-m", std::to_string(s.memory_mb)});
  }
  std::istringstream extra(s.eal_args);
  for (std::string a; extra >> a;) args.push_back(a);
  return args;
}

namespace {
std::once_flag eal_once;
bool eal_ok = false;
std::string eal_error;

}  // namespace

int Lcores::run_body(void* arg) {
  auto* body = static_cast<Body*>(arg);
  body->fn();
  body->done.store(true, std::memory_order_release);
  return 0;
}

Result<std::unique_ptr<Lcores>> Lcores::start(const SchedSettings& settings, const Placement& placement) {
  std::vector<std::string> args = eal_arguments(settings, placement, "vlcpd-" + std::to_string(getpid()));
  bool first = false;
  std::call_once(eal_once, [&] {
    first = true;
    std::vector<std::string> argv = {"vlcpd"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(argv.size()), cargv.data()) < 0) {
      eal_error = std::string("DPDK EAL initialisation failed: ") + rte_strerror(rte_errno);
    } else {
      eal_ok = true;
    }
  });
  if (!eal_ok)
    return make_error(Errc::kUnavailable, eal_error.empty() ? "DPDK EAL failed earlier" : eal_error);
  if (!first) return make_error(Errc::kAlreadyExists, "the DPDK EAL is initialised once per process");
  std::unique_ptr<Lcores> l(new Lcores());
  unsigned id;
  size_t i = 0;
  RTE_LCORE_FOREACH_WORKER(id) {
    if (i >= placement.worker_cpus.size()) break;
    l->lcore_ids_.push_back(id);
    l->cpus_.push_back(placement.worker_cpus[i++]);
  }
  l->bodies_.resize(l->lcore_ids_.size());
  return l;
}

Status Lcores::launch(unsigned worker, std::function<void()> body) {
  if (worker >= lcore_ids_.size())
    return make_error(Errc::kOutOfRange, "no worker " + std::to_string(worker));
  bodies_[worker] = std::make_unique<Body>();
  bodies_[worker]->fn = std::move(body);
  int r = rte_eal_remote_launch(run_body, bodies_[worker].get(), lcore_ids_[worker]);
  if (r != 0)
    return make_error(Errc::kUnavailable, "lcore " + std::to_string(lcore_ids_[worker]) + " is busy");
  return {};
}

void Lcores::wait_all() {
  rte_eal_mp_wait_lcore();
  // DPDK's own join is invisible to ThreadSanitizer (librte_eal is not instrumented); this
  // acquire pairs with each body's release, so everything a worker did happens-before here.
  for (auto& b : bodies_)
    if (b) (void)b->done.load(std::memory_order_acquire);
}

Lcores::~Lcores() {
  wait_all();
  rte_eal_cleanup();
}

Status Lcores::pin_current_thread(int cpu) {
  rte_cpuset_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (rte_thread_set_affinity(&set) != 0)
    return make_error(Errc::kInvalidArgument, "cannot pin to core " + std::to_string(cpu));
  return {};
}

int Lcores::current_cpu() {
  return sched_getcpu();
}

}  // namespace vlcp::sched
