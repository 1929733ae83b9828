// Worker placement (see placement.h).
#include "sched/placement.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>

namespace vlcp::sched {

namespace {
constexpr int kMaxCpu = 4096;

bool parse_int(std::string_view s, int* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && *out >= 0 && *out < kMaxCpu;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

Result<CpuSet> parse_cpu_list(std::string_view text) {
  CpuSet out;
  text = trim(text);
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t dash = item.find('-');
    int lo, hi;
    if (dash == std::string_view::npos) {
      if (!parse_int(item, &lo))
        return make_error(Errc::kInvalidArgument, "bad CPU '" + std::string(item) + "'");
      hi = lo;
    } else if (!parse_int(item.substr(0, dash), &lo) || !parse_int(item.substr(dash + 1), &hi) || hi < lo) {
      return make_error(Errc::kInvalidArgument, "bad CPU range '" + std::string(item) + "'");
    }
    for (int c = lo; c <= hi; ++c) out.insert(c);
  }
  return out;
}

Result<CpuSet> parse_cpu_mask(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.empty() || text.size() > kMaxCpu / 4)
    return make_error(Errc::kInvalidArgument, "bad CPU mask '" + std::string(text) + "'");
  CpuSet out;
  int bit = 0;
  for (size_t i = text.size(); i-- > 0; bit += 4) {
    char c = text[i];
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0) return make_error(Errc::kInvalidArgument, "bad CPU mask '" + std::string(text) + "'");
    for (int b = 0; b < 4; ++b)
      if (v & (1 << b)) out.insert(bit + b);
  }
  return out;
}

std::string format_cpu_list(const CpuSet& cpus) {
  std::string out;
  for (auto it = cpus.begin(); it != cpus.end();) {
    int lo = *it, hi = lo;
    for (++it; it != cpus.end() && *it == hi + 1; ++it) hi = *it;
    if (!out.empty()) out += ',';
    out += std::to_string(lo);
    if (hi > lo) out += '-' + std::to_string(hi);
  }
  return out;
}

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

  CpuSet candidates;
  for (int c : in.configured ? *in.configured : in.allowed)
    if (in.allowed.count(c) && !p.pmd_cpus.count(c)) candidates.insert(c);
  if (in.configured) {
    for (int c : *in.configured)
      if (!candidates.count(c))
        p.notes.push_back(
            "configured core " + std::to_string(c) +
            (p.pmd_cpus.count(c) ? " is an OVS PMD core: not used" : " is outside our affinity: not used"));
  }

  // Preference: isolated cores (set aside for exactly this), then ordinary cores, then the
  // cores OVS's own DPDK threads use; highest numbers first inside each class, since the
  // kernel and most daemons favour the low ones.
  auto rank = [&](int c) { return in.isolated.count(c) ? 0 : lcore.count(c) ? 2 : 1; };
  std::vector<int> order(candidates.begin(), candidates.end());
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return rank(a) != rank(b) ? rank(a) < rank(b) : a > b; });
  unsigned n = std::min<unsigned>(in.workers, static_cast<unsigned>(order.size()));
  p.worker_cpus.assign(order.begin(), order.begin() + n);
  if (n < in.workers)
    p.notes.push_back("placed " + std::to_string(n) + " of " + std::to_string(in.workers) +
                      " workers: no more cores outside the PMD set");

  // The control and I/O threads: everything allowed except PMD and worker cores, if anything
  // remains; otherwise they share the workers' cores (never the PMD ones, if avoidable).
  for (int c : in.allowed)
    if (!p.pmd_cpus.count(c) &&
        std::find(p.worker_cpus.begin(), p.worker_cpus.end(), c) == p.worker_cpus.end())
      p.control_cpus.insert(c);
  if (p.control_cpus.empty()) {
    for (int c : in.allowed)
      if (!p.pmd_cpus.count(c)) p.control_cpus.insert(c);
    if (!p.worker_cpus.empty()) p.notes.push_back("control thread shares the worker cores");
  }
  if (p.control_cpus.empty()) {
    p.control_cpus = in.allowed;
    p.notes.push_back("every allowed core is an OVS PMD core: control thread shares them");
  }
  std::string w;
  for (int c : p.worker_cpus) w += (w.empty() ? "" : ",") + std::to_string(c);
  p.notes.push_back("workers on cores [" + w + "], control on " + format_cpu_list(p.control_cpus));
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

CpuSet isolated_cpus(const std::string& sysfs_path) {
  std::ifstream f(sysfs_path);
  std::string line;
  std::getline(f, line);
  auto set = parse_cpu_list(line);
  return set.ok() ? *set : CpuSet{};
}

}  // namespace vlcp::sched
