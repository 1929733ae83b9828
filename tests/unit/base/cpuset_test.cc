// base/cpuset.h: the one reader of CPU lists and masks. What both syntaxes read alike, where the
// kernel's and the operator's differ, malformed input refused with a message (never a crash or
// unbounded work), and SMT cores read from a fake sysfs.
#include "base/cpuset.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace vlcp {
namespace {

CpuSet list(std::string_view text, const CpuSyntax& syntax = kConfigCpuSyntax) {
  auto r = parse_cpu_list(text, syntax);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().message();
  return r.ok() ? *r : CpuSet{};
}

CpuSet mask(std::string_view text, const CpuSyntax& syntax = kConfigCpuSyntax) {
  auto r = parse_cpu_mask(text, syntax);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().message();
  return r.ok() ? *r : CpuSet{};
}

TEST(CpuList, BothSyntaxesReadTheKernelsFormat) {
  for (const CpuSyntax& s : {kKernelCpuSyntax, kConfigCpuSyntax}) {
    EXPECT_EQ(list("0-3,5, 7-8\n", s), (CpuSet{0, 1, 2, 3, 5, 7, 8}));
    EXPECT_EQ(list("", s), CpuSet{});
    EXPECT_EQ(list(" \n", s), CpuSet{});
    EXPECT_EQ(list("8191", s), CpuSet{8191});
    EXPECT_EQ(list("3,1-2,2\r\n", s), (CpuSet{1, 2, 3}));  // overlaps and disorder are fine
    EXPECT_EQ(list("0-8191", s).size(), 8192u);
  }
  EXPECT_EQ(format_cpu_list({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
  EXPECT_EQ(format_cpu_list({}), "");
  EXPECT_EQ(format_cpu_list({4}), "4");
}

TEST(CpuList, NullIsEmptyOnlyInTheKernelsSyntax) {
  EXPECT_EQ(list("(null)\n", kKernelCpuSyntax), CpuSet{});
  EXPECT_FALSE(parse_cpu_list("(null)", kConfigCpuSyntax).ok());
}

TEST(CpuList, MalformedIsRefusedSayingWhy) {
  const char* bad[] = {"3-1",
                       "a",
                       "-1",
                       "1-",
                       "-",
                       "+3",
                       "1,,2",
                       "1,",
                       ",1",
                       "8192",
                       "99999",
                       "0-8192",
                       "1 - 3",
                       "0x3",
                       "1-3-5",
                       "1:2",
                       "0-31:2/8",
                       "１",
                       "99999999999999999999",
                       "2147483648",
                       "(nul)"};
  for (const CpuSyntax& s : {kKernelCpuSyntax, kConfigCpuSyntax})
    for (std::string_view text : bad) {
      auto r = parse_cpu_list(text, s);
      EXPECT_FALSE(r.ok()) << "accepted '" << text << "'";
      if (!r.ok()) {
        EXPECT_EQ(r.error().message().rfind("not a CPU list: ", 0), 0u) << r.error().message();
      }
    }
  auto reversed = parse_cpu_list("5,9-2", kConfigCpuSyntax);
  ASSERT_FALSE(reversed.ok());
  EXPECT_NE(reversed.error().message().find("the range 9-2 is reversed"), std::string::npos);
  auto huge = parse_cpu_list("1,99999", kConfigCpuSyntax);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message().find("below 8192"), std::string::npos) << huge.error().message();
}

// A list that repeats the whole range many times would insert billions of CPUs: refused after
// kMaxCpus, and its message quotes only the start of the text.
TEST(CpuList, OverlongListsAreBounded) {
  std::string text = "0-8191";
  for (int i = 0; i < 100000; ++i) text += ",0-8191";
  auto r = parse_cpu_list(text, kKernelCpuSyntax);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("names more than 8192 CPUs"), std::string::npos);
  EXPECT_LT(r.error().message().size(), 200u);
  std::string every_other;
  for (int c = 0; c < kMaxCpus; c += 2) every_other += (c ? "," : "") + std::to_string(c);
  EXPECT_EQ(list(every_other).size(), 4096u);  // the longest list a real kernel writes
  EXPECT_EQ(format_cpu_list(list(every_other)), every_other);
}

TEST(CpuMask, BothSyntaxesReadOvsMasks) {
  for (const CpuSyntax& s : {kKernelCpuSyntax, kConfigCpuSyntax}) {
    EXPECT_EQ(mask("0x6", s), (CpuSet{1, 2}));
    EXPECT_EQ(mask("F0", s), (CpuSet{4, 5, 6, 7}));
    EXPECT_EQ(mask("0XaB\n", s), (CpuSet{0, 1, 3, 5, 7}));
    EXPECT_EQ(mask("0", s), CpuSet{});
    EXPECT_EQ(mask("0000000000000000000000000000000000000001", s), CpuSet{0});
  }
  EXPECT_EQ(mask("10000000000000000"), CpuSet{64});
  EXPECT_EQ(format_cpu_mask({6, 7, 14, 15}), "0xc0c0");
  EXPECT_EQ(format_cpu_mask({62, 63}), "0xc000000000000000");
  EXPECT_EQ(format_cpu_mask({}), "0x0");
  for (const CpuSet& set : {CpuSet{0}, CpuSet{1, 2, 3, 64, 100}, CpuSet{8191}})
    EXPECT_EQ(mask(format_cpu_mask(set)), set);
}

// The kernel's 32-bit groups: each group is 32 CPUs, whatever its number of digits.
TEST(CpuMask, CommaGroupsOnlyInTheKernelsSyntax) {
  EXPECT_EQ(mask("ffffffff,ffffffff", kKernelCpuSyntax), list("0-63"));
  EXPECT_EQ(mask("00000001,00000000,00000002\n", kKernelCpuSyntax), (CpuSet{1, 64}));
  EXPECT_EQ(mask("f,f", kKernelCpuSyntax), list("0-3,32-35"));
  EXPECT_EQ(mask("3,00000000", kKernelCpuSyntax), (CpuSet{32, 33}));
  EXPECT_FALSE(parse_cpu_mask("ffffffff,ffffffff", kConfigCpuSyntax).ok());
  EXPECT_EQ(mask("ffffffffffffffff", kKernelCpuSyntax), list("0-63"));  // no commas: one number
  for (const char* text : {",f", "f,", "f,,f", "123456789,0", "0x,f"}) {
    EXPECT_FALSE(parse_cpu_mask(text, kKernelCpuSyntax).ok()) << text;
    EXPECT_FALSE(parse_cpu_mask(text, kConfigCpuSyntax).ok()) << text;
  }
}

TEST(CpuMask, EmptyAndNullOnlyInTheKernelsSyntax) {
  for (const char* text : {"", "0x", " \n", "(null)"}) {
    EXPECT_EQ(mask(text, kKernelCpuSyntax), CpuSet{}) << text;
    EXPECT_FALSE(parse_cpu_mask(text, kConfigCpuSyntax).ok()) << text;
  }
}

TEST(CpuMask, MalformedIsRefused) {
  for (const CpuSyntax& s : {kKernelCpuSyntax, kConfigCpuSyntax})
    for (const char* text : {"0xg", "0x-1", "-1", "0x 1", "x1", "0x0x1", "1 2", "ff\x01"})
      EXPECT_FALSE(parse_cpu_mask(text, s).ok()) << text;
  // A CPU past the ceiling, in either syntax; zeros past it are harmless.
  std::string big = "1" + std::string(kMaxCpus / 4, '0');
  auto r = parse_cpu_mask(big, kConfigCpuSyntax);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("a CPU past 8191"), std::string::npos) << r.error().message();
  EXPECT_LT(r.error().message().size(), 200u);
  EXPECT_EQ(mask(std::string(100000, '0') + "8"), CpuSet{3});
  std::string groups;
  for (int i = 0; i < 100000; ++i) groups += "00000000,";
  EXPECT_EQ(mask(groups + "1", kKernelCpuSyntax), CpuSet{0});
  EXPECT_FALSE(parse_cpu_mask("1," + groups + "1", kKernelCpuSyntax).ok());
}

class FakeCpuDir {
 public:
  FakeCpuDir() {
    char tmpl[] = "/tmp/vlcp-cpuset-test.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~FakeCpuDir() { std::filesystem::remove_all(dir); }
  void siblings(int cpu, const std::string& text) {
    std::string d = dir + "/cpu" + std::to_string(cpu) + "/topology";
    std::filesystem::create_directories(d);
    std::ofstream(d + "/thread_siblings_list") << text;
  }
  std::string dir;
};

TEST(SmtCores, SiblingsNumberedApartOrTogether) {
  FakeCpuDir apart, together;
  for (int c = 0; c < 8; ++c) {
    apart.siblings(c, std::to_string(c % 4) + "," + std::to_string(c % 4 + 4) + "\n");
    together.siblings(c, std::to_string(c & ~1) + "-" + std::to_string(c | 1) + "\n");
  }
  EXPECT_EQ(read_smt_cores(apart.dir, list("0-7")), (std::vector<CpuSet>{{0, 4}, {1, 5}, {2, 6}, {3, 7}}));
  EXPECT_EQ(read_smt_cores(together.dir, list("0-7")), (std::vector<CpuSet>{{0, 1}, {2, 3}, {4, 5}, {6, 7}}));
  // Only the CPUs asked about (an offline sibling is left out).
  EXPECT_EQ(read_smt_cores(together.dir, list("0-2")), (std::vector<CpuSet>{{0, 1}, {2}}));
}

TEST(SmtCores, MissingOrContradictoryFilesStillPartition) {
  FakeCpuDir d;
  d.siblings(0, "0-1\n");
  d.siblings(1, "1-2\n");  // contradicts cpu0's
  d.siblings(2, "garbage\n");
  d.siblings(3, "(null)\n");
  // cpu4 has no file
  EXPECT_EQ(read_smt_cores(d.dir, list("0-4")), (std::vector<CpuSet>{{0, 1}, {2}, {3}, {4}}));
  EXPECT_EQ(read_smt_cores("/nonexistent", list("0-1")), (std::vector<CpuSet>{{0}, {1}}));
  EXPECT_TRUE(read_smt_cores(d.dir, {}).empty());
}

}  // namespace
}  // namespace vlcp
