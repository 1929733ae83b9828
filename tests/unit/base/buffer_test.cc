#include "base/buffer.h"

#include <gtest/gtest.h>

namespace vlcp {
namespace {

TEST(Buffer, AppendsBigEndianAndPatchesLengths) {
  InlineBuffer<64> b;
  b.put_u8(4);
  b.put_u8(14);
  b.put_be16(0);  // length, patched below
  b.put_be32(0x01020304);
  b.put_be64(0x1122334455667788ULL);
  b.append(std::string_view("ab"));
  b.pad_to(8);
  b.patch_be16(2, static_cast<uint16_t>(b.size()));
  EXPECT_EQ(to_hex(b.span()),
            std::string("040e0018") + "01020304" + "1122334455667788" + "6162" + "000000000000");
  EXPECT_EQ(b.size(), 24u);
  EXPECT_FALSE(b.on_heap());
}

TEST(Buffer, InlineStorageSpillsToHeapKeepingContents) {
  InlineBuffer<8> b;
  for (int i = 0; i < 100; ++i) b.put_u8(static_cast<uint8_t>(i));
  EXPECT_TRUE(b.on_heap());
  ASSERT_EQ(b.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.data()[i], i);
  b.resize(104);
  EXPECT_EQ(b.data()[103], 0);
  b.clear();
  EXPECT_TRUE(b.empty());
}

TEST(ByteReader, ChecksEveryReadAgainstTheEnd) {
  const uint8_t bytes[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
  ByteReader r(bytes);
  uint16_t v16 = 0;
  uint32_t v32 = 0;
  uint8_t v8 = 0;
  ASSERT_TRUE(r.read_be16(&v16));
  EXPECT_EQ(v16, 0x1234);
  EXPECT_FALSE(r.read_be32(&v32));  // only 3 bytes left: refused, position unchanged
  EXPECT_EQ(r.remaining(), 3u);
  ByteSpan s;
  EXPECT_FALSE(r.take(4, &s));
  ASSERT_TRUE(r.take(2, &s));
  EXPECT_EQ(s[0], 0x56);
  ASSERT_TRUE(r.read_u8(&v8));
  EXPECT_EQ(v8, 0x9a);
  EXPECT_TRUE(r.at_end());
  EXPECT_FALSE(r.read_u8(&v8));
  EXPECT_FALSE(r.skip(1));
}

TEST(Hex, RoundTripsAndRejectsJunk) {
  InlineBuffer<32> b;
  ASSERT_TRUE(from_hex("0x04 00 00:10\n0000 0001", b));
  EXPECT_EQ(to_hex(b.span()), "0400001000000001");
  InlineBuffer<8> bad;
  EXPECT_FALSE(from_hex("0g", bad));
  EXPECT_FALSE(from_hex("abc", bad));  // odd number of digits
}

}  // namespace
}  // namespace vlcp
