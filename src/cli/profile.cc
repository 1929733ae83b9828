#include "cli/profile.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vlcp::cli::profile {
namespace fs = std::filesystem;

const std::vector<std::string> kManagedKernelArgs = {
    "isolcpus", "nohz_full", "rcu_nocbs", "irqaffinity", "default_hugepagesz", "hugepagesz", "hugepages"};
const std::vector<std::string> kManagedOvsKeys = {"pmd-cpu-mask", "dpdk-socket-mem", "pmd-maxsleep"};
const std::vector<std::string> kManagedVlcpdKeys = {"module.sched.workers",   "module.sched.cores",
                                                    "module.sched.hugepages", "module.sched.huge_dir",
                                                    "module.sched.memory_mb", "module.sched.poll"};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

bool read_text(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

namespace {

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

}  // namespace

std::string Machine::path(std::string_view absolute) const {
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return r == "/" ? std::string(absolute) : r + std::string(absolute);
}

int64_t Machine::memory_mb() const {
  int64_t total = 0;
  for (const auto& [node, mb] : node_memory_mb) total += mb;
  return total;
}

std::string Machine::describe() const {
  std::string out = std::to_string(cpus.size()) + " CPU" + (cpus.size() == 1 ? "" : "s") + " (" +
                    format_cpu_list(cpus) + "), " + std::to_string(nodes.size()) + " NUMA node" +
                    (nodes.size() == 1 ? "" : "s") + ", " + std::to_string(memory_mb()) + " MB";
  if (cores.size() != cpus.size()) out += ", " + std::to_string(cores.size()) + " cores";
  for (const auto& [node, mb] : memory_only_nodes)
    out += ", memory-only node " + std::to_string(node) + " (" + std::to_string(mb) + " MB)";
  std::string sizes;
  for (int64_t kb : hugepage_sizes_kb) sizes += (sizes.empty() ? "" : " and ") + std::to_string(kb) + " kB";
  return out + (sizes.empty() ? ", no hugepages" : ", hugepages of " + sizes);
}

Result<Machine> read_machine(const std::string& root) {
  Machine m;
  m.root = root.empty() ? "/" : root;
  std::string text;
  if (!read_text(m.path("/sys/devices/system/cpu/online"), &text))
    return make_error(Errc::kNotFound, "cannot read " + m.path("/sys/devices/system/cpu/online") +
                                           " (the machine's online CPUs)");
  VLCP_ASSIGN_OR_RETURN(m.cpus, parse_cpu_list(text));
  if (m.cpus.empty())
    return make_error(Errc::kInvalidArgument, m.path("/sys/devices/system/cpu/online") + " is empty");

  std::error_code ec;
  for (const auto& e : fs::directory_iterator(m.path("/sys/devices/system/node"), ec)) {
    std::string name = e.path().filename();
    if (name.rfind("node", 0) != 0 || name.size() == 4 ||
        name.find_first_not_of("0123456789", 4) != std::string::npos)
      continue;
    if (name.size() > 8) continue;  // the kernel has at most 1024 nodes (NODES_SHIFT 10)
    int node = std::atoi(name.c_str() + 4);
    if (!read_text(e.path() / "cpulist", &text)) continue;
    auto cpus = parse_cpu_list(text);
    if (!cpus.ok()) return cpus.error();
    CpuSet online;
    for (int c : *cpus)
      if (m.cpus.count(c)) online.insert(c);
    int64_t mb = -1;
    if (read_text(e.path() / "meminfo", &text)) {
      auto at = text.find("MemTotal:");
      if (at != std::string::npos) mb = std::atoll(text.c_str() + at + 9) / 1024;
    }
    if (online.empty()) {  // a memory-only node (CXL, PMEM)
      if (mb > 0) m.memory_only_nodes[node] = mb;
      continue;
    }
    m.nodes[node] = online;
    if (mb >= 0) m.node_memory_mb[node] = mb;
  }
  if (m.nodes.empty()) m.nodes[0] = m.cpus;
  if (m.node_memory_mb.size() != m.nodes.size()) {  // no per-node figures: /proc/meminfo, split evenly
    if (!read_text(m.path("/proc/meminfo"), &text) || text.find("MemTotal:") == std::string::npos)
      return make_error(Errc::kNotFound, "cannot read the memory size from " + m.path("/proc/meminfo"));
    int64_t total = std::atoll(text.c_str() + text.find("MemTotal:") + 9) / 1024;
    m.node_memory_mb.clear();
    for (const auto& [node, cpus] : m.nodes)
      m.node_memory_mb[node] = total / static_cast<int64_t>(m.nodes.size());
  }

  m.cores = read_smt_cores(m.path("/sys/devices/system/cpu"), m.cpus);

  for (const auto& e : fs::directory_iterator(m.path("/sys/kernel/mm/hugepages"), ec)) {
    std::string name = e.path().filename();
    if (name.rfind("hugepages-", 0) == 0) m.hugepage_sizes_kb.insert(std::atoll(name.c_str() + 10));
  }
  return m;
}

Result<Profile> parse_profile(std::string_view text, const std::string& name, const std::string& source) {
  VLCP_ASSIGN_OR_RETURN(Config config, Config::parse(text, source));
  Profile keys;
  keys.name = name;
  keys.source = source;
  VLCP_PROFILE_KEYS(VLCP_KEYS_READ)
  static const std::set<std::string> declared = {
#define VLCP_PROFILE_KEY_NAME(field, key, type, fallback, help) key,
      VLCP_PROFILE_KEYS(VLCP_PROFILE_KEY_NAME)
#undef VLCP_PROFILE_KEY_NAME
  };
  std::string unknown;
  for (const auto& key : config.keys()) {
    if (declared.count(key)) continue;
    if (key.rfind("sysctl.", 0) == 0 && key.size() > 7) {
      const auto* v = config.find(key);
      keys.sysctl[key.substr(7)] = v->is_string() ? v->get<std::string>() : v->dump();
      continue;
    }
    unknown += (unknown.empty() ? "" : "\n") + config.where(key) + ": unknown key '" + key + "'";
  }
  if (!unknown.empty()) return make_error(Errc::kInvalidArgument, unknown);
  auto bad = [&](const char* key, const std::string& what) { return config.error_at(key, what); };
  if (keys.housekeeping < 1) return bad("cpu.housekeeping", "must be at least 1");
  if (keys.pmd_per_node < 0 || keys.pmd_per_node > 256) return bad("cpu.pmd_per_node", "must be 0..256");
  if (keys.worker_cores < 0 || keys.worker_cores > 256) return bad("cpu.workers", "must be 0..256");
  if (keys.workers < 0 || keys.workers > 256) return bad("vlcpd.workers", "must be 0..256");
  if (keys.memory_mb < 16 || keys.memory_mb > 65536) return bad("vlcpd.memory_mb", "must be 16..65536");
  if (keys.max_percent < 1 || keys.max_percent > 90) return bad("hugepages.max_percent", "must be 1..90");
  if (keys.ovs_mb_per_node < 0) return bad("hugepages.ovs_mb_per_node", "must not be negative");
  const std::set<std::string> sizes = {"", "2M", "1G", "auto"};
  if (!sizes.count(keys.hugepage_size)) return bad("hugepages.size", "must be '', '2M', '1G' or 'auto'");
  const std::set<std::string> polls = {"", "auto", "adaptive", "pure", "sleep"};
  if (!polls.count(keys.poll)) return bad("vlcpd.poll", "must be '', auto, adaptive, pure or sleep");
  const std::set<std::string> inits = {"", "true", "try", "false"};
  if (!inits.count(keys.dpdk_init)) return bad("ovs.dpdk_init", "must be '', true, try or false");
  if (keys.hugepage_size.empty() && keys.ovs_mb_per_node > 0)
    return bad("hugepages.ovs_mb_per_node", "needs hugepages.size");
  if (keys.isolate && keys.pmd_per_node == 0 && keys.worker_cores == 0)
    return bad("cpu.isolate", "there is nothing to isolate (cpu.pmd_per_node and cpu.workers are 0)");
  return keys;
}

std::vector<std::string> profile_dirs(const std::string& explicit_dir) {
  if (!explicit_dir.empty()) return {explicit_dir};
  std::vector<std::string> out;
  if (const char* env = std::getenv("VLCP_PROFILE_DIR"); env && *env) out.emplace_back(env);
  out.emplace_back("/etc/vlcp/profiles");
  out.emplace_back("/usr/share/vlcp/profiles");
#ifdef VLCP_SOURCE_DIR
  out.emplace_back(VLCP_SOURCE_DIR "/perf/profiles");
#endif
  return out;
}

std::vector<std::string> profile_names(const std::vector<std::string>& dirs) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& d : dirs)
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.path().extension() == ".conf" && e.is_regular_file()) names.insert(e.path().stem());
  return {names.begin(), names.end()};
}

Result<Profile> load_profile(const std::vector<std::string>& dirs, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.')
    return make_error(Errc::kInvalidArgument, "'" + name + "' is not a profile name");
  for (const auto& d : dirs) {
    std::string path = d + "/" + name + ".conf", text;
    if (read_text(path, &text)) return parse_profile(text, name, path);
  }
  std::string known;
  for (const auto& n : profile_names(dirs)) known += (known.empty() ? "" : ", ") + n;
  std::string where;
  for (const auto& d : dirs) where += (where.empty() ? "" : ", ") + d;
  return make_error(Errc::kNotFound, "no profile '" + name + "' in " + where +
                                         (known.empty() ? "" : " (there are: " + known + ")"));
}

Result<std::string> load_dropin(const std::vector<std::string>& dirs, const std::string& name) {
  for (const auto& d : dirs) {
    std::string text;
    for (const std::string& p :
         {d + "/systemd/" + name + ".conf", d + "/../../systemd/profiles/" + name + ".conf"})
      if (read_text(p, &text)) return text;
  }
  return make_error(Errc::kNotFound, "no vlcpd drop-in for profile '" + name + "' (systemd/" + name +
                                         ".conf beside the profiles)");
}

namespace {
std::string literal(const std::string& v) {
  return quoted(v);
}
std::string literal(bool v) {
  return v ? "True" : "False";
}
std::string literal(int64_t v) {
  return std::to_string(v);
}
}  // namespace

std::vector<std::string> describe_keys(const Profile& p) {
  std::vector<std::string> out;
#define VLCP_PROFILE_KEY_LINE(field, key, type, fallback, help) \
  out.push_back(std::string(key) + " = " + literal(p.field) + "  # " + help);
  VLCP_PROFILE_KEYS(VLCP_PROFILE_KEY_LINE)
#undef VLCP_PROFILE_KEY_LINE
  for (const auto& [key, value] : p.sysctl) out.push_back("sysctl." + key + " = " + value);
  return out;
}

std::string setting_name(const Setting& s) {
  switch (s.kind) {
    case SettingKind::kKernelArg:
      return "kernel command line " + s.key;
    case SettingKind::kSysctl:
      return "sysctl " + s.key;
    case SettingKind::kHugepages:
      return "hugepages reserved on NUMA node " + s.key;
    case SettingKind::kHugeMount:
      return "hugetlbfs mount " + s.key + " (page size in kB)";
    case SettingKind::kIsolated:
      return "isolated CPUs (/sys/devices/system/cpu/isolated)";
    case SettingKind::kNohzFull:
      return "nohz_full CPUs (/sys/devices/system/cpu/nohz_full)";
    case SettingKind::kIrqAffinity:
      return "IRQ default affinity (/proc/irq/default_smp_affinity)";
    case SettingKind::kOvs:
      return "OVS other_config:" + s.key;
    case SettingKind::kVlcpd:
      return "vlcpd " + s.key + " (/etc/vlcp/vlcp.conf and vlcp.conf.d)";
    case SettingKind::kDropIn:
      return "vlcpd drop-in " + s.key;
    case SettingKind::kProfileName:
      return "profile applied (/etc/vlcp/perf-profile)";
  }
  return s.key;
}

namespace {

std::string size_text(int64_t kb) {
  return kb >= 1048576 ? std::to_string(kb / 1048576) + "G" : std::to_string(kb / 1024) + "M";
}

// What the profile asks for, in words, for a refusal.
std::string needs(const Profile& p, size_t nodes) {
  std::string out = std::to_string(p.housekeeping) +
                    " housekeeping (the kernel, IRQs, vlcpd's control and I/O "
                    "threads, OVS's main threads)";
  if (p.pmd_per_node)
    out += ", " + std::to_string(p.pmd_per_node) + " per NUMA node for OVS-DPDK PMDs (" +
           std::to_string(nodes) + " node" + (nodes == 1 ? "" : "s") + ")";
  if (p.worker_cores) out += ", " + std::to_string(p.worker_cores) + " for vlcpd's workers";
  return out;
}

}  // namespace

Result<Plan> derive(const Profile& p, const Machine& m, const std::string& dropin) {
  Plan plan;
  plan.profile = p.name;
  const int boot_cpu = *m.cpus.begin();
  int boot_node = m.nodes.begin()->first;
  for (const auto& [node, cpus] : m.nodes)
    if (cpus.count(boot_cpu)) boot_node = node;

  // Cores: OVS's PMDs take the highest physical cores of every node, vlcpd's workers the next
  // ones on the boot CPU's node; the boot CPU's core and the rest stay housekeeping. A core's SMT
  // siblings go together, so no two of them (PMD or worker) share a physical core; a worker runs
  // on one thread of its core (module.sched.cores), the siblings left idle. When a node has too
  // few cores for that, PMDs and workers each take whole cores with one of them per thread
  // (never a PMD beside a worker), and the notes say so.
  const size_t min_cpus = static_cast<size_t>(
      p.housekeeping + p.pmd_per_node * static_cast<int64_t>(m.nodes.size()) + p.worker_cores);
  auto refuse = [&](const std::string& why) {
    return make_error(Errc::kResourceExhausted,
                      "profile " + p.name + " needs at least " + std::to_string(min_cpus) + " CPUs: " +
                          needs(p, m.nodes.size()) + "; " + why + ". This machine: " + m.describe() + ".");
  };
  if (p.pmd_per_node || p.worker_cores) {
    for (const auto& [node, cpus] : m.nodes) {
      std::vector<CpuSet> free;  // this node's cores, highest first, the boot CPU's core left out
      size_t threads = 0;
      for (const auto& core : m.cores)
        if (cpus.count(*core.begin()) && !core.count(boot_cpu)) {
          free.push_back(core);
          threads += core.size();
        }
      std::sort(free.begin(), free.end(),
                [](const CpuSet& a, const CpuSet& b) { return *a.begin() > *b.begin(); });
      const size_t pmds = static_cast<size_t>(p.pmd_per_node);
      const size_t workers = node == boot_node ? static_cast<size_t>(p.worker_cores) : 0;
      const std::string node_name = "NUMA node " + std::to_string(node);
      if (free.size() >= pmds + workers) {  // a physical core each
        size_t i = 0;
        for (; i < pmds; ++i) plan.pmd.insert(free[i].begin(), free[i].end());
        for (size_t w = 0; w < workers; ++w, ++i) {
          plan.workers.insert(free[i].begin(), free[i].end());
          plan.worker_cpus.insert(*free[i].begin());
        }
        continue;
      }
      // Too few cores: one PMD or worker per thread, each role on whole cores of its own.
      size_t i = 0;
      auto take = [&](size_t units, CpuSet* role, CpuSet* used) {
        for (size_t got = 0; got < units; ++i) {
          if (i == free.size()) return false;
          role->insert(free[i].begin(), free[i].end());
          for (auto c = free[i].begin(); c != free[i].end() && got < units; ++c, ++got)
            if (used) used->insert(*c);
        }
        return true;
      };
      CpuSet pmd, worker_cores, worker_cpus;
      if (threads < pmds + workers || !take(pmds, &pmd, nullptr) ||
          !take(workers, &worker_cores, &worker_cpus))
        return refuse(node_name + " has " + std::to_string(free.size()) + " core" +
                      (free.size() == 1 ? "" : "s") + " besides the boot CPU's (CPUs " +
                      format_cpu_list(cpus) + ") where it needs " + std::to_string(pmds + workers) +
                      (threads > free.size()
                           ? ", nor can its " + std::to_string(threads) +
                                 " threads hold them with PMDs and workers on separate cores"
                           : ""));
      plan.pmd.insert(pmd.begin(), pmd.end());
      plan.workers.insert(worker_cores.begin(), worker_cores.end());
      plan.worker_cpus.insert(worker_cpus.begin(), worker_cpus.end());
      plan.notes.push_back(
          "SMT: " + node_name + " has " + std::to_string(free.size()) +
          " physical cores besides the boot CPU's, not the " + std::to_string(pmds + workers) +
          " for a core each: " +
          (pmds ? std::to_string(pmds) + " OVS PMDs share the threads of CPUs " + format_cpu_list(pmd)
                : std::string()) +
          (pmds && workers ? ", " : "") +
          (workers ? std::to_string(workers) + " vlcpd workers share the threads of CPUs " +
                         format_cpu_list(worker_cores)
                   : std::string()) +
          " (no PMD shares a core with a worker)");
    }
  }
  for (int c : m.cpus)
    if (!plan.pmd.count(c) && !plan.workers.count(c)) plan.housekeeping.insert(c);
  if (plan.housekeeping.size() < static_cast<size_t>(p.housekeeping))
    return refuse("only " + std::to_string(plan.housekeeping.size()) + " would be left for housekeeping (" +
                  format_cpu_list(plan.housekeeping) + ")");
  if (p.isolate) {
    plan.isolated = plan.pmd;
    plan.isolated.insert(plan.workers.begin(), plan.workers.end());
  }
  CpuSet idle_siblings;
  for (int c : plan.workers)
    if (!plan.worker_cpus.count(c)) idle_siblings.insert(c);
  plan.notes.push_back("machine: " + m.describe());
  plan.notes.push_back(
      "housekeeping CPUs " + format_cpu_list(plan.housekeeping) +
      (plan.pmd.empty() ? "" : ", OVS PMD CPUs " + format_cpu_list(plan.pmd)) +
      (plan.worker_cpus.empty() ? "" : ", vlcpd worker CPUs " + format_cpu_list(plan.worker_cpus)) +
      (idle_siblings.empty() ? ""
                             : " (their SMT siblings " + format_cpu_list(idle_siblings) + " left idle)") +
      (plan.isolated.empty() ? ", none isolated" : ", isolated " + format_cpu_list(plan.isolated)));

  // Hugepages: on the nodes whose CPUs run OVS's PMDs (every node with CPUs when OVS places them
  // itself) or vlcpd (the boot node), never on a memory-only node (CXL, PMEM); the same number
  // on each, enough for OVS's socket memory there and, on the boot node, vlcpd's memory. When
  // they are all the nodes with memory, the kernel's even spread reserves them (vm.nr_hugepages,
  // hugepages=N); otherwise the kernel command line names each node (hugepages=0:N,1:N).
  std::set<int> ovs_nodes;  // where OVS-DPDK's PMDs run, so its socket memory is there
  bool per_node_args = false;
  if (!p.hugepage_size.empty()) {
    int64_t kb = p.hugepage_size == "1G" ? 1048576 : 2048;
    if (p.hugepage_size == "auto") kb = m.hugepage_sizes_kb.count(1048576) ? 1048576 : 2048;
    if (!m.hugepage_sizes_kb.count(kb))
      return make_error(Errc::kResourceExhausted,
                        "profile " + p.name + " needs hugepages of " + std::to_string(kb) +
                            " kB, which this machine " + "does not offer (" +
                            m.path("/sys/kernel/mm/hugepages") + "). This machine: " + m.describe() + ".");
    for (const auto& [node, cpus] : m.nodes) {
      bool pmds = p.pmd_per_node == 0
                      ? p.ovs_mb_per_node > 0
                      : std::any_of(cpus.begin(), cpus.end(), [&](int c) { return plan.pmd.count(c); });
      if (pmds) ovs_nodes.insert(node);
    }
    plan.hugepage_nodes = ovs_nodes;
    plan.hugepage_nodes.insert(boot_node);
    int64_t pages = 0;
    for (int node : plan.hugepage_nodes) {
      int64_t need_mb =
          (ovs_nodes.count(node) ? p.ovs_mb_per_node : 0) + (node == boot_node ? p.memory_mb : 0);
      pages = std::max(pages, (need_mb * 1024 + kb - 1) / kb);
    }
    for (int node : plan.hugepage_nodes) {
      int64_t mb = pages * kb / 1024, have = m.node_memory_mb.at(node);
      if (mb * 100 > have * p.max_percent)
        return make_error(
            Errc::kResourceExhausted,
            "profile " + p.name + " needs " + std::to_string(mb) + " MB of hugepages on NUMA node " +
                std::to_string(node) + " (" + std::to_string(ovs_nodes.count(node) ? p.ovs_mb_per_node : 0) +
                " MB for OVS-DPDK" +
                (node == boot_node ? ", " + std::to_string(p.memory_mb) + " MB for vlcpd" : "") + ", in " +
                size_text(kb) + " pages), at most " + std::to_string(p.max_percent) +
                "% of the node's memory; the node has " + std::to_string(have) +
                " MB. This machine: " + m.describe() + ".");
    }
    plan.page_kb = kb;
    plan.pages_per_node = pages;
    per_node_args = plan.hugepage_nodes.size() != m.nodes.size() + m.memory_only_nodes.size();
    std::string nodes, skipped;
    for (int node : plan.hugepage_nodes) nodes += (nodes.empty() ? "" : ",") + std::to_string(node);
    for (const auto& [node, cpus] : m.nodes)
      if (!plan.hugepage_nodes.count(node)) skipped += (skipped.empty() ? "" : ",") + std::to_string(node);
    for (const auto& [node, mb] : m.memory_only_nodes)
      skipped += (skipped.empty() ? "" : ",") + std::to_string(node) + " (memory-only)";
    plan.notes.push_back(
        "hugepages: " + std::to_string(pages) + " of " + size_text(kb) + " on each of node(s) " + nodes +
        (skipped.empty() ? "" : ", none on node(s) " + skipped) + ", mounted at " + kHugeMountPath);
    if (per_node_args)
      plan.notes.push_back(
          "hugepages are reserved node by node on the kernel command line (hugepages=NODE:PAGES): the "
          "kernel would spread vm.nr_hugepages or hugepages=N over every node with memory; they take effect "
          "at the next boot");
  }

  auto add = [&](SettingKind k, std::string key, std::string expected) {
    plan.settings.push_back({k, std::move(key), std::move(expected)});
  };
  // The kernel command line: every managed argument, set or absent.
  std::map<std::string, std::string> args;
  if (!plan.isolated.empty()) {
    std::string list = format_cpu_list(plan.isolated);
    args["isolcpus"] = "managed_irq,domain," + list;
    args["nohz_full"] = list;
    args["rcu_nocbs"] = list;
    args["irqaffinity"] = format_cpu_list(plan.housekeeping);
  }
  int64_t total_pages = plan.pages_per_node * static_cast<int64_t>(plan.hugepage_nodes.size());
  std::string per_node;
  for (int node : plan.hugepage_nodes)
    per_node +=
        (per_node.empty() ? "" : ",") + std::to_string(node) + ":" + std::to_string(plan.pages_per_node);
  if (plan.page_kb == 1048576) {  // 1G pages are reserved at boot
    args["default_hugepagesz"] = "1G";
    args["hugepagesz"] = "1G";
    args["hugepages"] = per_node_args ? per_node : std::to_string(total_pages);
  } else if (plan.page_kb == 2048 && per_node_args) {
    args["hugepagesz"] = "2M";
    args["hugepages"] = per_node;
  }
  for (const auto& a : kManagedKernelArgs) add(SettingKind::kKernelArg, a, args.count(a) ? args[a] : "");

  std::map<std::string, std::string> sysctl = p.sysctl;
  if (plan.page_kb == 2048 && !per_node_args) sysctl["vm.nr_hugepages"] = std::to_string(total_pages);
  for (const auto& [key, value] : sysctl) {
    std::string file = key;
    std::replace(file.begin(), file.end(), '.', '/');
    if (!fs::exists(m.path("/proc/sys/" + file))) {
      plan.notes.push_back("sysctl " + key + " left out: this kernel has no " + m.path("/proc/sys/" + file));
      continue;
    }
    add(SettingKind::kSysctl, key, value);
  }
  if (plan.page_kb) {
    for (int node : plan.hugepage_nodes)
      add(SettingKind::kHugepages, std::to_string(node) + " (" + std::to_string(plan.page_kb) + " kB pages)",
          std::to_string(plan.pages_per_node));
  }
  add(SettingKind::kHugeMount, kHugeMountPath, plan.page_kb ? std::to_string(plan.page_kb) : "");
  add(SettingKind::kIsolated, "", format_cpu_list(plan.isolated));
  add(SettingKind::kNohzFull, "", format_cpu_list(plan.isolated));
  add(SettingKind::kIrqAffinity, "", format_cpu_list(plan.isolated.empty() ? m.cpus : plan.housekeeping));

  // OVS: PMD cores, socket memory per node in node order up to the last node with memory (0 for a
  // node without PMDs: one without CPUs, a memory-only one).
  std::string socket_mem;
  if (plan.page_kb && p.ovs_mb_per_node > 0) {
    int last = m.nodes.rbegin()->first;
    if (!m.memory_only_nodes.empty()) last = std::max(last, m.memory_only_nodes.rbegin()->first);
    for (int node = 0; node <= last; ++node)
      socket_mem += (node ? "," : "") + std::to_string(ovs_nodes.count(node) ? p.ovs_mb_per_node : 0);
  }
  add(SettingKind::kOvs, "pmd-cpu-mask", plan.pmd.empty() ? "" : format_cpu_mask(plan.pmd));
  add(SettingKind::kOvs, "dpdk-socket-mem", socket_mem);
  add(SettingKind::kOvs, "pmd-maxsleep", p.pmd_maxsleep_us >= 0 ? std::to_string(p.pmd_maxsleep_us) : "");
  if (!p.dpdk_init.empty()) add(SettingKind::kOvs, "dpdk-init", p.dpdk_init);

  // vlcpd: its workers on their cores, its memory from the hugepages.
  add(SettingKind::kVlcpd, "module.sched.workers",
      std::to_string(plan.workers.empty() ? p.workers : static_cast<int64_t>(p.worker_cores)));
  add(SettingKind::kVlcpd, "module.sched.cores",
      plan.worker_cpus.empty() ? "" : quoted(format_cpu_list(plan.worker_cpus)));
  add(SettingKind::kVlcpd, "module.sched.hugepages", plan.page_kb ? "True" : "");
  add(SettingKind::kVlcpd, "module.sched.huge_dir", plan.page_kb ? quoted(kHugeMountPath) : "");
  add(SettingKind::kVlcpd, "module.sched.memory_mb", std::to_string(p.memory_mb));
  add(SettingKind::kVlcpd, "module.sched.poll", p.poll.empty() ? "" : quoted(p.poll));
  add(SettingKind::kDropIn, kDropInPath, dropin);
  add(SettingKind::kProfileName, "", p.name);
  return plan;
}

}  // namespace vlcp::cli::profile
