// Fake machines for the perf-profile tests (profile_test.cc, profile_apply_test.cc): a root
// directory holding the /sys and /proc files a machine shows, removed at the end of the test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/profile.h"

namespace vlcp::cli::profile::testing {
namespace fs = std::filesystem;

inline std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

struct FakeSpec {
  int cpus = 16;
  int nodes = 1;
  int64_t memory_gb = 64;     // the whole machine's
  bool smt = false;           // siblings: cpu i and i + cpus/2
  bool gigantic = true;       // 1G pages offered
  bool numa_sysfs = true;     // /sys/devices/system/node present
  bool smt_adjacent = false;  // siblings: cpus 2k and 2k + 1 (each node's CPUs contiguous)
  int memory_only_node = -1;  // this node number has memory (memory_gb / nodes) and no CPU
  bool grub = true;           // /etc/default/grub: grub is its boot loader
  bool booted = true;         // /proc/cmdline (a stock Debian kernel's)
  std::string irq_affinity = "ffffffff,ffffffff";
};

// A machine's files under a fresh directory, removed at the end of the test.
class FakeMachine {
 public:
  explicit FakeMachine(const FakeSpec& s) {
    char tmpl[] = "/tmp/vlcp-fake-machine.XXXXXX";
    root = mkdtemp(tmpl);
    write(root + "/sys/devices/system/cpu/online", "0-" + std::to_string(s.cpus - 1) + "\n");
    if (s.cpus == 1) write(root + "/sys/devices/system/cpu/online", "0\n");
    write(root + "/sys/devices/system/cpu/isolated", "\n");
    write(root + "/proc/meminfo", "MemTotal:       " + std::to_string(s.memory_gb * 1024 * 1024) + " kB\n");
    int per_node = s.cpus / s.nodes;
    if (s.memory_only_node >= 0) {
      std::string d = root + "/sys/devices/system/node/node" + std::to_string(s.memory_only_node);
      write(d + "/cpulist", "\n");
      write(d + "/meminfo", "Node " + std::to_string(s.memory_only_node) + " MemTotal:       " +
                                std::to_string(s.memory_gb * 1024 * 1024 / s.nodes) + " kB\n");
    }
    for (int n = 0; s.numa_sysfs && n < s.nodes; ++n) {
      int id = s.memory_only_node >= 0 && n >= s.memory_only_node ? n + 1 : n;  // the node's number
      std::string d = root + "/sys/devices/system/node/node" + std::to_string(id);
      std::string list = std::to_string(n * per_node) + "-" + std::to_string((n + 1) * per_node - 1);
      if (s.smt)  // each node holds both threads of its cores
        list = std::to_string(n * per_node / 2) + "-" + std::to_string((n + 1) * per_node / 2 - 1) + "," +
               std::to_string(s.cpus / 2 + n * per_node / 2) + "-" +
               std::to_string(s.cpus / 2 + (n + 1) * per_node / 2 - 1);
      write(d + "/cpulist", list + "\n");
      write(d + "/meminfo", "Node " + std::to_string(id) + " MemTotal:       " +
                                std::to_string(s.memory_gb * 1024 * 1024 / s.nodes) + " kB\n");
      for (int64_t kb : {2048, 1048576})
        write(d + "/hugepages/hugepages-" + std::to_string(kb) + "kB/nr_hugepages", "0\n");
    }
    for (int c = 0; c < s.cpus; ++c) {
      std::string sib = std::to_string(c);
      if (s.smt) sib = std::to_string(c % (s.cpus / 2)) + "," + std::to_string(c % (s.cpus / 2) + s.cpus / 2);
      if (s.smt_adjacent) sib = std::to_string(c & ~1) + "-" + std::to_string(c | 1);
      write(root + "/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/thread_siblings_list",
            sib + "\n");
    }
    write(root + "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n");
    if (s.gigantic) write(root + "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n");
    for (const char* k :
         {"vm/stat_interval", "kernel/nmi_watchdog", "kernel/numa_balancing", "vm/nr_hugepages"})
      write(root + "/proc/sys/" + k, "1\n");
    if (s.booted) write(root + "/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet\n");
    write(root + "/proc/irq/default_smp_affinity", s.irq_affinity + "\n");
    write(root + "/proc/mounts", "sysfs /sys sysfs rw 0 0\n");
    if (s.grub) write(root + "/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
  }
  ~FakeMachine() { fs::remove_all(root); }
  Machine machine() const {
    auto m = read_machine(root);
    EXPECT_TRUE(m.ok()) << m.error().message();
    return *m;
  }
  std::string root;
};

}  // namespace vlcp::cli::profile::testing
