// CPU lists, masks and SMT cores (see cpuset.h).
#include "base/cpuset.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>

namespace vlcp {

namespace {

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// The text for a message: quoted, and cut short when it is long (it may be anyone's input).
std::string shown(std::string_view text) {
  constexpr size_t kShown = 64;
  std::string out;
  for (char c : text.substr(0, kShown)) out += c >= 0x20 && c < 0x7f ? c : '?';
  return "'" + out + (text.size() > kShown ? "...'" : "'");
}

Status bad(const char* what, std::string_view text, const std::string& why) {
  return make_error(Errc::kInvalidArgument,
                    std::string("not a CPU ") + what + ": " + shown(text) + " (" + why + ")");
}

// A CPU number: digits only, below kMaxCpus.
bool parse_cpu(std::string_view s, int* out) {
  if (s.empty() || s.size() > 5) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && *out >= 0 && *out < kMaxCpus;
}

int hex_digit(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

}  // namespace

Result<CpuSet> parse_cpu_list(std::string_view text, const CpuSyntax& syntax) {
  std::string_view rest = trim(text);
  CpuSet out;
  if (rest.empty() || (syntax.null_is_empty && rest == "(null)")) return out;
  int named = 0;  // CPUs named so far, counting repeats: the work stays bounded
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    size_t dash = item.find('-');
    int lo, hi;
    if (item.empty()) return bad("list", text, "an empty item");
    if (dash == std::string_view::npos) {
      if (!parse_cpu(item, &lo))
        return bad("list", text,
                   "'" + std::string(item.substr(0, 16)) + "' is not a CPU number below " +
                       std::to_string(kMaxCpus));
      hi = lo;
    } else if (!parse_cpu(item.substr(0, dash), &lo) || !parse_cpu(item.substr(dash + 1), &hi)) {
      return bad("list", text,
                 "'" + std::string(item.substr(0, 24)) + "' is not a range of CPU numbers below " +
                     std::to_string(kMaxCpus));
    } else if (hi < lo) {
      return bad("list", text, "the range " + std::to_string(lo) + "-" + std::to_string(hi) + " is reversed");
    }
    named += hi - lo + 1;
    if (named > kMaxCpus)
      return bad("list", text, "it names more than " + std::to_string(kMaxCpus) + " CPUs");
    for (int c = lo; c <= hi; ++c) out.insert(out.end(), c);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

Result<CpuSet> parse_cpu_mask(std::string_view text, const CpuSyntax& syntax) {
  std::string_view hex = trim(text);
  if (syntax.null_is_empty && hex == "(null)") return CpuSet{};
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  if (hex.empty()) {
    if (syntax.empty_mask) return CpuSet{};
    return bad("mask", text, "no hexadecimal digits");
  }
  CpuSet out;
  int bit = 0;  // of the digit being read, from the right
  int group_digits = 0;
  const bool grouped = hex.find(',') != std::string_view::npos;  // (one group: any length, as OVS's)
  for (size_t i = hex.size(); i-- > 0;) {
    char c = hex[i];
    if (c == ',') {
      if (!syntax.grouped_mask) return bad("mask", text, "a comma");
      if (group_digits == 0 || i == 0) return bad("mask", text, "an empty group");
      // the group to the left starts at the next 32-bit boundary (past the ceiling, only zeros)
      bit = std::min(bit + 32 - group_digits * 4, kMaxCpus);
      group_digits = 0;
      continue;
    }
    int v = hex_digit(c);
    if (v < 0) return bad("mask", text, "'" + std::string(1, c) + "' is not a hexadecimal digit");
    if (grouped && ++group_digits > 8) return bad("mask", text, "a group of more than 8 digits");
    for (int b = 0; b < 4; ++b) {
      if (!(v & (1 << b))) continue;
      if (bit + b >= kMaxCpus) return bad("mask", text, "a CPU past " + std::to_string(kMaxCpus - 1));
      out.insert(bit + b);
    }
    if (bit < kMaxCpus) bit += 4;  // leading zeros past the ceiling are harmless
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

std::string format_cpu_mask(const CpuSet& cpus) {
  if (cpus.empty() || *cpus.rbegin() < 0) return "0x0";
  std::string out;
  for (int nibble = *cpus.rbegin() / 4; nibble >= 0; --nibble) {
    int v = 0;
    for (int b = 0; b < 4; ++b)
      if (cpus.count(nibble * 4 + b)) v |= 1 << b;
    out += "0123456789abcdef"[v];
  }
  return "0x" + out;
}

std::vector<CpuSet> read_smt_cores(const std::string& cpu_dir, const CpuSet& cpus) {
  std::vector<CpuSet> cores;
  CpuSet seen;
  for (int c : cpus) {
    if (seen.count(c)) continue;
    CpuSet core{c};
    std::ifstream in(cpu_dir + "/cpu" + std::to_string(c) + "/topology/thread_siblings_list");
    std::string text;
    if (in) text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    auto siblings = parse_cpu_list(text, kKernelCpuSyntax);
    if (siblings.ok())
      for (int s : *siblings)
        if (cpus.count(s) && !seen.count(s)) core.insert(s);
    seen.insert(core.begin(), core.end());
    cores.push_back(std::move(core));
  }
  return cores;
}

}  // namespace vlcp
