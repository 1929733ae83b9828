// A pod interface, made and removed, per second (issue 19, docs/CONTAINERS_DESIGN.md §3.1): a
// veth pair whose container end is created in the pod's namespace as eth0 (MTU, MAC), then in
// the pod lo and eth0 up, an address and a default route, then the pair deleted.
//   netlink:  src/link's LinkWorker on this thread (also: the owner alias on both ends and TX
//             checksum offload off on both, which the `ip` peer does not do);
//   executor: the same through LinkExecutor (the vlcp-link thread and its rings), as vlcpd runs it;
//   ip:       three forks of iproute2, the fewest that do the job: `ip link add ... netns POD name
//             eth0`, `ip -n POD -batch -` (lo up, eth0 up, address, default route), `ip link del`.
// Pods per second are items_per_second; cpu_ms_per_pod counts every thread of this process and
// the ip children (getrusage), which the benchmark's own CPU column does not. The *_Create
// variants time the create half only (the delete, about 20 ms of the kernel's RCU waits on this
// machine, runs with the timer paused): that half is what a container waits for.
// BM_PodDelete_Executor: deletes alone, one by one or posted together (batched by the link thread). It runs
// as root in a network namespace of its own (unshared at start) and one pod namespace (`ip netns add
// link-bench-PID`, removed at exit): nothing touches the machine's namespace.
//   link_bench --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "io/control_loop.h"
#include "link/executor.h"

namespace {

using namespace vlcp;
using namespace vlcp::link;

std::string g_pod;       // the pod namespace's name
std::string g_pod_path;  // its path

int run(const std::vector<std::string>& argv, const std::string& stdin_text = {}) {
  int pipefd[2] = {-1, -1};
  if (!stdin_text.empty() && pipe(pipefd) < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    if (pipefd[0] >= 0) {
      dup2(pipefd[0], 0);
      close(pipefd[0]);
      close(pipefd[1]);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  if (pipefd[0] >= 0) {
    close(pipefd[0]);
    (void)!write(pipefd[1], stdin_text.data(), stdin_text.size());
    close(pipefd[1]);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// CPU of this process (all threads) and of its waited-for children.
class CpuMeter {
 public:
  CpuMeter() : start_(now()) {}
  double ms() const { return (now() - start_) * 1e3; }

 private:
  static double now() {
    double t = 0;
    for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
      rusage u{};
      getrusage(who, &u);
      t += u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
    }
    return t;
  }
  double start_;
};

void finish(benchmark::State& state, const CpuMeter& cpu) {
  state.SetItemsProcessed(state.iterations());
  if (state.iterations())
    state.counters["cpu_ms_per_pod"] = cpu.ms() / static_cast<double>(state.iterations());
}

VethRequest pod_veth() {
  VethRequest r;
  r.host_name = "vlcpbench0";
  r.peer_name = "eth0";
  r.netns = g_pod_path;
  r.mtu = 1450;
  r.peer_mac = Mac{2, 0, 0, 0, 0, 0x42};
  r.alias = "vlcp:bench:0";
  return r;
}

NetnsSetup pod_setup() {
  NetnsSetup s;
  s.netns = g_pod_path;
  s.ifname = "eth0";
  s.addresses = {Ipv4Prefix{{10, 1, 0, 5}, 24}};
  s.routes = {Route{Ipv4Prefix{{0, 0, 0, 0}, 0}, Ipv4{10, 1, 0, 1}}};
  return s;
}

void BM_PodInterface_Netlink(benchmark::State& state) {
  auto worker = LinkWorker::open();
  if (!worker.ok()) return state.SkipWithError(worker.error().message().c_str());
  VethRequest veth = pod_veth();
  NetnsSetup setup = pod_setup();
  const bool create_only = state.range(0) != 0;
  CpuMeter cpu;
  for (auto _ : state) {
    Status s = (*worker)->create_veth(veth);
    if (s.ok()) s = (*worker)->setup_netns(setup);
    if (create_only) state.PauseTiming();
    Status d = (*worker)->delete_link(veth.host_name, "");
    if (create_only) state.ResumeTiming();
    if (!s.ok() || !d.ok()) return state.SkipWithError((s.ok() ? d : s).to_string().c_str());
  }
  finish(state, cpu);
}
BENCHMARK(BM_PodInterface_Netlink)
    ->ArgName("create_only")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->MinTime(2.0);

void BM_PodInterface_Executor(benchmark::State& state) {
  io::ControlLoop loop(RealClock::instance());
  auto executor = LinkExecutor::start(loop);
  if (!executor.ok()) return state.SkipWithError(executor.error().message().c_str());
  LinkOps& ops = **executor;
  VethRequest veth = pod_veth();
  NetnsSetup setup = pod_setup();
  Status failed;
  CpuMeter cpu;
  for (auto _ : state) {
    // The plug's order: each step when the previous one answered, on the control loop.
    ops.create_veth(veth, [&](Status s) {
      if (!s.ok()) failed = s;
      ops.setup_netns(setup, [&](Status s2) {
        if (!s2.ok()) failed = s2;
        ops.delete_link(veth.host_name, "", [&](Status s3) {
          if (!s3.ok()) failed = s3;
          loop.stop();
        });
      });
    });
    loop.run();
    if (!failed.ok()) return state.SkipWithError(failed.to_string().c_str());
  }
  finish(state, cpu);
}
BENCHMARK(BM_PodInterface_Executor)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(2.0);

// Deletes only: 16 pod interfaces made with the timer paused, then deleted through the
// LinkExecutor either all posted at once (batched: one kernel RCU wait per batch) or each posted
// when the previous one answered (one RCU wait each). Items are deletes.
void BM_PodDelete_Executor(benchmark::State& state) {
  const bool together = state.range(0) != 0;
  constexpr int kPods = 16;
  auto worker = LinkWorker::open();
  io::ControlLoop loop(RealClock::instance());
  auto executor = LinkExecutor::start(loop);
  if (!worker.ok() || !executor.ok()) return state.SkipWithError("no netlink");
  LinkOps& ops = **executor;
  Status failed;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < kPods; ++i) {
      VethRequest r = pod_veth();
      r.host_name = "vlcpbench" + std::to_string(i);
      r.peer_name = "eth" + std::to_string(i);
      r.peer_mac.reset();
      if (Status s = (*worker)->create_veth(r); !s.ok()) return state.SkipWithError(s.to_string().c_str());
    }
    state.ResumeTiming();
    int left = kPods;
    std::function<void(int)> next = [&](int i) {
      ops.delete_link("vlcpbench" + std::to_string(i), "", [&, i](Status s) {
        if (!s.ok()) failed = s;
        if (--left == 0) loop.stop();
        if (!together && i + 1 < kPods) next(i + 1);
      });
    };
    if (together) {
      for (int i = 0; i < kPods; ++i) {
        ops.delete_link("vlcpbench" + std::to_string(i), "", [&](Status s) {
          if (!s.ok()) failed = s;
          if (--left == 0) loop.stop();
        });
      }
    } else {
      next(0);
    }
    loop.run();
    if (!failed.ok()) return state.SkipWithError(failed.to_string().c_str());
  }
  state.SetItemsProcessed(state.iterations() * kPods);
}
BENCHMARK(BM_PodDelete_Executor)
    ->ArgName("together")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

void BM_PodInterface_Ip(benchmark::State& state) {
  const std::string batch =
      "link set lo up\nlink set eth0 up\naddr add 10.1.0.5/24 dev eth0\nroute add default via 10.1.0.1\n";
  const bool create_only = state.range(0) != 0;
  CpuMeter cpu;
  for (auto _ : state) {
    int a = run({"ip", "link", "add", "name", "vlcpbench0", "mtu", "1450", "up", "type", "veth", "peer",
                 "address", "02:00:00:00:00:42", "mtu", "1450", "netns", g_pod, "name", "eth0"});
    int b = run({"ip", "-n", g_pod, "-batch", "-"}, batch);
    if (create_only) state.PauseTiming();
    int c = run({"ip", "link", "del", "vlcpbench0"});
    if (create_only) state.ResumeTiming();
    if (a || b || c) return state.SkipWithError("an ip command failed");
  }
  finish(state, cpu);
}
BENCHMARK(BM_PodInterface_Ip)
    ->ArgName("create_only")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  // A namespace of our own for the host ends, before any thread exists.
  if (unshare(CLONE_NEWNET) < 0) {
    std::perror("link_bench: unshare(CLONE_NEWNET) (run as root)");
    return 1;
  }
  g_pod = "link-bench-" + std::to_string(getpid());
  g_pod_path = "/run/netns/" + g_pod;
  if (run({"ip", "netns", "add", g_pod}) != 0) {
    std::fprintf(stderr, "link_bench: ip netns add %s failed\n", g_pod.c_str());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return run({"ip", "netns", "del", g_pod}) == 0 ? 0 : 1;
}
