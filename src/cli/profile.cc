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

Result<CpuSet> parse_cpu_list(std::string_view text) {
  CpuSet out;
  std::string t = trim(std::string(text));
  if (t.empty() || t == "(null)") return out;
  std::stringstream ss(t);
  std::string part;
  while (std::getline(ss, part, ',')) {
    part = trim(part);
    auto dash = part.find('-');
    char* end = nullptr;
    long lo = std::strtol(part.c_str(), &end, 10);
    long hi = lo;
    bool ok = end != part.c_str() && (dash == std::string::npos ? *end == 0 : end == part.c_str() + dash);
    if (ok && dash != std::string::npos) {
      const char* from = part.c_str() + dash + 1;
      hi = std::strtol(from, &end, 10);
      ok = end != from && *end == 0;
    }
    if (!ok || lo < 0 || hi < lo || hi > 8191)
      return make_error(Errc::kInvalidArgument, "not a CPU list: '" + std::string(text) + "'");
    for (long c = lo; c <= hi; ++c) out.insert(static_cast<int>(c));
  }
  return out;
}

std::string format_cpu_list(const CpuSet& cpus) {
  std::string out;
  for (auto it = cpus.begin(); it != cpus.end();) {
    int lo = *it, hi = lo;
    ++it;
    while (it != cpus.end() && *it == hi + 1) hi = *it++;
    out += (out.empty() ? "" : ",") + std::to_string(lo) + (hi > lo ? "-" + std::to_string(hi) : "");
  }
  return out;
}

Result<CpuSet> parse_cpu_mask(std::string_view text) {
  std::string hex;
  std::string t = trim(std::string(text));
  if (t.rfind("0x", 0) == 0 || t.rfind("0X", 0) == 0) t = t.substr(2);
  for (char c : t)
    if (c != ',') hex += c;
  CpuSet out;
  int bit = 0;
  for (auto it = hex.rbegin(); it != hex.rend(); ++it, bit += 4) {
    int v;
    if (*it >= '0' && *it <= '9')
      v = *it - '0';
    else if (*it >= 'a' && *it <= 'f')
      v = *it - 'a' + 10;
    else if (*it >= 'A' && *it <= 'F')
      v = *it - 'A' + 10;
    else
      return make_error(Errc::kInvalidArgument, "not a CPU mask: '" + std::string(text) + "'");
    for (int b = 0; b < 4; ++b)
      if (v & (1 << b)) out.insert(bit + b);
  }
  return out;
}

std::string format_cpu_mask(const CpuSet& cpus) {
  if (cpus.empty()) return "0x0";
  std::string out;
  for (int nibble = *cpus.rbegin() / 4; nibble >= 0; --nibble) {
    int v = 0;
    for (int b = 0; b < 4; ++b)
      if (cpus.count(nibble * 4 + b)) v |= 1 << b;
    out += "0123456789abcdef"[v];
  }
  return "0x" + out;
}

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
    int node = std::atoi(name.c_str() + 4);
    if (!read_text(e.path() / "cpulist", &text)) continue;
    auto cpus = parse_cpu_list(text);
    if (!cpus.ok()) return cpus.error();
    CpuSet online;
    for (int c : *cpus)
      if (m.cpus.count(c)) online.insert(c);
    if (online.empty()) continue;  // a memory-only node
    m.nodes[node] = online;
    if (read_text(e.path() / "meminfo", &text)) {
      auto at = text.find("MemTotal:");
      if (at != std::string::npos) m.node_memory_mb[node] = std::atoll(text.c_str() + at + 9) / 1024;
    }
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

  CpuSet seen;
  for (int c : m.cpus) {
    if (seen.count(c)) continue;
    CpuSet core{c};
    if (read_text(
            m.path("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/thread_siblings_list"),
            &text)) {
      auto siblings = parse_cpu_list(text);
      if (siblings.ok())
        for (int s : *siblings)
          if (m.cpus.count(s)) core.insert(s);
    }
    seen.insert(core.begin(), core.end());
    m.cores.push_back(core);
  }

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
      return "vlcpd " + s.key + " (/etc/vlcp/vlcp.conf)";
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

  // Cores: OVS's PMDs take the highest cores of every node, vlcpd's workers the next ones on the
  // boot CPU's node; the boot CPU's core and the rest stay housekeeping. With SMT a core's
  // sibling threads go together.
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
      for (const auto& core : m.cores)
        if (cpus.count(*core.begin()) && !core.count(boot_cpu)) free.push_back(core);
      std::sort(free.begin(), free.end(),
                [](const CpuSet& a, const CpuSet& b) { return *a.begin() > *b.begin(); });
      size_t want = static_cast<size_t>(p.pmd_per_node + (node == boot_node ? p.worker_cores : 0));
      if (free.size() < want)
        return refuse("NUMA node " + std::to_string(node) + " has " + std::to_string(free.size()) + " core" +
                      (free.size() == 1 ? "" : "s") + " besides the boot CPU's (CPUs " +
                      format_cpu_list(cpus) + ") where it needs " + std::to_string(want));
      size_t i = 0;
      for (; i < static_cast<size_t>(p.pmd_per_node); ++i) plan.pmd.insert(free[i].begin(), free[i].end());
      if (node == boot_node)
        for (size_t w = 0; w < static_cast<size_t>(p.worker_cores); ++w, ++i)
          plan.workers.insert(free[i].begin(), free[i].end());
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
  plan.notes.push_back("machine: " + m.describe());
  plan.notes.push_back(
      "housekeeping CPUs " + format_cpu_list(plan.housekeeping) +
      (plan.pmd.empty() ? "" : ", OVS PMD CPUs " + format_cpu_list(plan.pmd)) +
      (plan.workers.empty() ? "" : ", vlcpd worker CPUs " + format_cpu_list(plan.workers)) +
      (plan.isolated.empty() ? ", none isolated" : ", isolated " + format_cpu_list(plan.isolated)));

  // Hugepages: the same number on every node (the kernel spreads a reservation evenly), enough
  // for OVS's socket memory there and, on the boot node, vlcpd's memory.
  std::map<int, int64_t> need_mb;
  if (!p.hugepage_size.empty()) {
    int64_t kb = p.hugepage_size == "1G" ? 1048576 : 2048;
    if (p.hugepage_size == "auto") kb = m.hugepage_sizes_kb.count(1048576) ? 1048576 : 2048;
    if (!m.hugepage_sizes_kb.count(kb))
      return make_error(Errc::kResourceExhausted,
                        "profile " + p.name + " needs hugepages of " + std::to_string(kb) +
                            " kB, which this machine " + "does not offer (" +
                            m.path("/sys/kernel/mm/hugepages") + "). This machine: " + m.describe() + ".");
    int64_t pages = 0;
    for (const auto& [node, cpus] : m.nodes) {
      need_mb[node] = p.ovs_mb_per_node + (node == boot_node ? p.memory_mb : 0);
      pages = std::max(pages, (need_mb[node] * 1024 + kb - 1) / kb);
    }
    for (const auto& [node, cpus] : m.nodes) {
      int64_t mb = pages * kb / 1024, have = m.node_memory_mb.at(node);
      if (mb * 100 > have * p.max_percent)
        return make_error(
            Errc::kResourceExhausted,
            "profile " + p.name + " needs " + std::to_string(mb) + " MB of hugepages on NUMA node " +
                std::to_string(node) + " (" + std::to_string(p.ovs_mb_per_node) + " MB for OVS-DPDK" +
                (node == boot_node ? ", " + std::to_string(p.memory_mb) + " MB for vlcpd" : "") + ", in " +
                size_text(kb) + " pages), at most " + std::to_string(p.max_percent) +
                "% of the node's memory; the node has " + std::to_string(have) +
                " MB. This machine: " + m.describe() + ".");
    }
    plan.page_kb = kb;
    plan.pages_per_node = pages;
    plan.notes.push_back("hugepages: " + std::to_string(pages) + " of " + size_text(kb) + " on each of " +
                         std::to_string(m.nodes.size()) + " node(s), mounted at " + kHugeMountPath);
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
  int64_t total_pages = plan.pages_per_node * static_cast<int64_t>(m.nodes.size());
  if (plan.page_kb == 1048576) {  // 1G pages are reserved at boot
    args["default_hugepagesz"] = "1G";
    args["hugepagesz"] = "1G";
    args["hugepages"] = std::to_string(total_pages);
  }
  for (const auto& a : kManagedKernelArgs) add(SettingKind::kKernelArg, a, args.count(a) ? args[a] : "");

  std::map<std::string, std::string> sysctl = p.sysctl;
  if (plan.page_kb == 2048) sysctl["vm.nr_hugepages"] = std::to_string(total_pages);
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
    for (const auto& [node, cpus] : m.nodes)
      add(SettingKind::kHugepages, std::to_string(node) + " (" + std::to_string(plan.page_kb) + " kB pages)",
          std::to_string(plan.pages_per_node));
  }
  add(SettingKind::kHugeMount, kHugeMountPath, plan.page_kb ? std::to_string(plan.page_kb) : "");
  add(SettingKind::kIsolated, "", format_cpu_list(plan.isolated));
  add(SettingKind::kNohzFull, "", format_cpu_list(plan.isolated));
  add(SettingKind::kIrqAffinity, "", format_cpu_list(plan.isolated.empty() ? m.cpus : plan.housekeeping));

  // OVS: PMD cores, socket memory per node (in node order, 0 for a node without CPUs).
  std::string socket_mem;
  if (plan.page_kb && p.ovs_mb_per_node > 0)
    for (int node = 0; node <= m.nodes.rbegin()->first; ++node)
      socket_mem += (node ? "," : "") + std::to_string(m.nodes.count(node) ? p.ovs_mb_per_node : 0);
  add(SettingKind::kOvs, "pmd-cpu-mask", plan.pmd.empty() ? "" : format_cpu_mask(plan.pmd));
  add(SettingKind::kOvs, "dpdk-socket-mem", socket_mem);
  add(SettingKind::kOvs, "pmd-maxsleep", p.pmd_maxsleep_us >= 0 ? std::to_string(p.pmd_maxsleep_us) : "");
  if (!p.dpdk_init.empty()) add(SettingKind::kOvs, "dpdk-init", p.dpdk_init);

  // vlcpd: its workers on their cores, its memory from the hugepages.
  add(SettingKind::kVlcpd, "module.sched.workers",
      std::to_string(plan.workers.empty() ? p.workers : static_cast<int64_t>(p.worker_cores)));
  add(SettingKind::kVlcpd, "module.sched.cores",
      plan.workers.empty() ? "" : quoted(format_cpu_list(plan.workers)));
  add(SettingKind::kVlcpd, "module.sched.hugepages", plan.page_kb ? "True" : "");
  add(SettingKind::kVlcpd, "module.sched.huge_dir", plan.page_kb ? quoted(kHugeMountPath) : "");
  add(SettingKind::kVlcpd, "module.sched.memory_mb", std::to_string(p.memory_mb));
  add(SettingKind::kVlcpd, "module.sched.poll", p.poll.empty() ? "" : quoted(p.poll));
  add(SettingKind::kDropIn, kDropInPath, dropin);
  add(SettingKind::kProfileName, "", p.name);
  return plan;
}

}  // namespace vlcp::cli::profile
