// libopenvswitch links into our test binaries and decodes OpenFlow: the oracle the codec's
// differential tests (issue 3) build on. Guards the `make deps` build of the library.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "base/buffer.h"

extern "C" {
#include "openvswitch/ofp-print.h"
}

namespace {

std::string ovs_print(const char* hex) {
  vlcp::InlineBuffer<256> bytes;
  EXPECT_TRUE(vlcp::from_hex(hex, bytes));
  char* text = ofp_to_string(bytes.data(), bytes.size(), nullptr, nullptr, 1);
  std::string out(text);
  std::free(text);
  return out;
}

TEST(LibOvs, DecodesHelloAndFlowMod) {
  EXPECT_NE(ovs_print("04000010000000010001000800000010").find("OFPT_HELLO (OF1.3) (xid=0x1)"),
            std::string::npos);
  std::string flow_mod = ovs_print(
      // header, cookie, cookie mask, table, command, timeouts, priority, buffer, out port/group, flags
      "040e005800000003"
      "0000000000000000"
      "0000000000000000"
      "00"
      "00"
      "00000000"
      "0001"
      "ffffffff"
      "ffffffff"
      "ffffffff"
      "00000000"
      // match in_port=1, then apply_actions(output:2)
      "0001000c800000040000000100000000"
      "00040018000000000000001000000002ffe5000000000000");
  EXPECT_EQ(flow_mod.find("***"), std::string::npos) << flow_mod;
  EXPECT_NE(flow_mod.find("ADD priority=1,in_port=1 actions=output:2"), std::string::npos) << flow_mod;
}

TEST(LibOvs, FlagsTruncatedInput) {
  EXPECT_NE(ovs_print("0400001000000001000100080000").find("***"), std::string::npos);
}

}  // namespace
