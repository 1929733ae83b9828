// libFuzzer target for base/cpuset.h: any text, read as a CPU list and as a mask in both
// syntaxes, is refused or read without crashing; what is read holds only CPUs below kMaxCpus,
// formats back to the same set (list and mask), and the kernel's syntax reads everything the
// operator's does, to the same set. Also replayed by cpuset_fuzz_replay inside `make test`.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/cpuset.h"

namespace {

using namespace vlcp;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_set(const CpuSet& set) {
  check(set.empty() || (*set.begin() >= 0 && *set.rbegin() < kMaxCpus));
  for (const CpuSyntax& s : {kConfigCpuSyntax, kKernelCpuSyntax}) {
    auto list = parse_cpu_list(format_cpu_list(set), s);
    check(list.ok() && *list == set);
    auto mask = parse_cpu_mask(format_cpu_mask(set), s);
    check(mask.ok() && *mask == set);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config_list = parse_cpu_list(text, kConfigCpuSyntax);
  auto kernel_list = parse_cpu_list(text, kKernelCpuSyntax);
  auto config_mask = parse_cpu_mask(text, kConfigCpuSyntax);
  auto kernel_mask = parse_cpu_mask(text, kKernelCpuSyntax);
  for (const auto* r : {&config_list, &kernel_list, &config_mask, &kernel_mask}) {
    if (r->ok())
      check_set(**r);
    else
      check(!r->error().message().empty() && r->error().message().size() < 300);
  }
  if (config_list.ok()) check(kernel_list.ok() && *kernel_list == *config_list);
  if (config_mask.ok()) check(kernel_mask.ok() && *kernel_mask == *config_mask);
  return 0;
}
