// The packet-in handler table on its own: routing by the cookie's app id, the fallback, one
// handler per app id, and handlers that throw or write garbage counted without harm. The L2
// app's learning handler and the hub, as the daemon registers them.
#include "switch/packet_in.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "apps/l2/l2.h"
#include "apps/l2/l2_learning.h"
#include "ofp/actions.h"
#include "ofp/message.h"

namespace vlcp::sw {
namespace {

std::vector<uint8_t> packet_in(uint64_t cookie, uint64_t in_port = 3, std::optional<uint64_t> net = 7,
                               uint8_t src0 = 0x02) {
  uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, src0, 0, 0, 0, 0, 1, 0x08, 0x06};
  ofp::PacketInView p;
  p.total_len = sizeof frame;
  p.cookie = cookie;
  p.data = ByteSpan(frame, sizeof frame);
  ofp::Match m;
  m.add(ofp::Field::kInPort, in_port);
  if (net) m.add(ofp::Field::kReg4, *net);
  Buffer b;
  ofp::encode_packet_in(b, 9, p, m.oxms());
  return {b.data(), b.data() + b.size()};
}

std::vector<ofp::MsgType> types_of(ByteSpan answers) {
  std::vector<ofp::MsgType> t;
  EXPECT_TRUE(for_each_message(answers, [&](ByteSpan m) { t.push_back(static_cast<ofp::MsgType>(m[1])); }));
  return t;
}

void echo(uint64_t, ByteSpan, Buffer& out) {
  ofp::encode_simple(out, ofp::MsgType::kEchoRequest, 0);
}

TEST(PacketInTable, RoutesByTheCookiesAppIdThenTheFallback) {
  PacketInTable t;
  EXPECT_EQ(t.route(uint64_t{2} << 48), PacketInTable::kNone);  // empty: nobody
  ASSERT_TRUE(t.add(2, {"l2", PacketInSide::kWorkers, echo}).ok());
  ASSERT_TRUE(t.add(3, {"vxlan", PacketInSide::kControl, echo}).ok());
  int l2 = t.route(uint64_t{2} << 48 | 0x1234), vx = t.route(uint64_t{3} << 48 | uint64_t{1} << 62);
  ASSERT_NE(l2, PacketInTable::kNone);
  ASSERT_NE(vx, PacketInTable::kNone);
  EXPECT_EQ(t.handler(l2).app, "l2");
  EXPECT_EQ(t.handler(l2).side, PacketInSide::kWorkers);
  EXPECT_EQ(t.handler(vx).app, "vxlan");
  EXPECT_EQ(t.handler(vx).side, PacketInSide::kControl);
  // Bit 62 or 63 (dynamic) and the low bits do not change the route; bits 48..55 do.
  EXPECT_EQ(t.route(uint64_t{2} << 48 | uint64_t{3} << 62), l2);
  EXPECT_EQ(t.route(0), PacketInTable::kNone);
  EXPECT_EQ(t.route(uint64_t{0x42} << 48), PacketInTable::kNone);
  ASSERT_TRUE(t.set_fallback({"hub", PacketInSide::kWorkers, hub_packet_in}).ok());
  EXPECT_EQ(t.handler(t.route(0)).app, "hub");
  EXPECT_EQ(t.handler(t.route(uint64_t{0x42} << 48)).app, "hub");
  EXPECT_EQ(t.route(uint64_t{2} << 48), l2);  // an app's own handler before the fallback
}

TEST(PacketInTable, OneHandlerPerAppIdAndOneFallback) {
  PacketInTable t;
  ASSERT_TRUE(t.add(2, {"l2", PacketInSide::kWorkers, echo}).ok());
  auto again = t.add(2, {"l3", PacketInSide::kControl, echo});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.message().find("l2"), std::string::npos);
  EXPECT_NE(again.message().find("l3"), std::string::npos);
  EXPECT_EQ(t.handler(t.route(uint64_t{2} << 48)).app, "l2");  // the first stays
  EXPECT_FALSE(t.add(4, {"nothing", PacketInSide::kWorkers, nullptr}).ok());
  ASSERT_TRUE(t.set_fallback({"hub", PacketInSide::kWorkers, hub_packet_in}).ok());
  EXPECT_FALSE(t.set_fallback({"hub2", PacketInSide::kWorkers, hub_packet_in}).ok());
}

TEST(PacketInTable, AThrowingOrMisbehavingHandlerIsCountedAndItsAnswersDropped) {
  PacketInTable t;
  ASSERT_TRUE(t.add(1, {"throws", PacketInSide::kWorkers,
                        [](uint64_t, ByteSpan, Buffer& out) {
                          out.put_u8(1);  // half written, then fails
                          throw std::runtime_error("bad day");
                        }})
                  .ok());
  ASSERT_TRUE(
      t.add(2, {"throws-anything", PacketInSide::kWorkers, [](uint64_t, ByteSpan, Buffer&) { throw 7; }})
          .ok());
  ASSERT_TRUE(t.add(3, {"garbage", PacketInSide::kWorkers,
                        [](uint64_t, ByteSpan, Buffer& out) {
                          echo(0, {}, out);
                          out.append(std::string_view("\x04\x0a\xff\xff", 4));  // a length past the end
                        }})
                  .ok());
  ASSERT_TRUE(t.add(4, {"good", PacketInSide::kWorkers, echo}).ok());
  auto msg = packet_in(0);
  InlineBuffer<256> answers;
  echo(0, {}, answers);  // what the caller had before stays
  for (uint64_t app : {1, 2, 3}) EXPECT_FALSE(t.run(t.route(app << 48), 1, msg, answers)) << app;
  EXPECT_EQ(answers.size(), 8u);
  EXPECT_TRUE(t.run(t.route(uint64_t{4} << 48), 1, msg, answers));
  EXPECT_EQ(types_of(answers.span()),
            (std::vector<ofp::MsgType>{ofp::MsgType::kEchoRequest, ofp::MsgType::kEchoRequest}));
  for (const auto& s : t.stats()) {
    EXPECT_EQ(s.failed, s.app == "good" ? 0u : 1u) << s.app;
    EXPECT_EQ(s.handled, s.app == "good" ? 1u : 0u) << s.app;
  }
  t.count_unclaimed();
  EXPECT_EQ(t.unclaimed(), 1u);
}

TEST(PacketInTable, HubFloodsThePacket) {
  InlineBuffer<2048> out;
  auto msg = packet_in(0, 5);
  hub_packet_in(1, msg, out);
  ASSERT_EQ(types_of(out.span()), std::vector<ofp::MsgType>{ofp::MsgType::kPacketOut});
  EXPECT_FALSE(ofp::validate_message(out.span()));
  out.clear();
  hub_packet_in(1, ByteSpan(msg.data(), 20), out);  // truncated: no answer
  EXPECT_TRUE(out.empty());
}

// The L2 app's controller learning as the daemon registers it: kL2 packet-ins become the
// suppressing and the forwarding FLOW_MOD; unlearnable ones (a multicast source, no network
// register) none, and the handler is not counted as failed for them.
TEST(PacketInTable, L2LearningHandlerAnswersTwoFlowMods) {
  apps::L2LearningConfig config{10, 11, 12, 300, apps::kCookieDynamic | apps::cookie(apps::App::kL2)};
  PacketInTable t;
  ASSERT_TRUE(t.add(static_cast<uint8_t>(apps::App::kL2),
                    {"l2switch learning", PacketInSide::kWorkers,
                     [config](uint64_t, ByteSpan m, Buffer& out) { apps::l2_learn(config, m, out); }})
                  .ok());
  uint64_t cookie = apps::cookie(apps::App::kL2) | uint64_t{1} << 62;  // as l2input's flow sends it
  InlineBuffer<1024> out;
  ASSERT_TRUE(t.run(t.route(cookie), 1, packet_in(cookie), out));
  EXPECT_EQ(types_of(out.span()),
            (std::vector<ofp::MsgType>{ofp::MsgType::kFlowMod, ofp::MsgType::kFlowMod}));
  for_each_message(out.span(), [&](ByteSpan m) {
    EXPECT_FALSE(ofp::validate_message(m));
    EXPECT_EQ(load_be64(m.data() + 8), config.cookie);
  });
  out.clear();
  ASSERT_TRUE(t.run(t.route(cookie), 1, packet_in(cookie, 3, 7, 0x01), out));  // multicast source
  ASSERT_TRUE(t.run(t.route(cookie), 1, packet_in(cookie, 3, std::nullopt), out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(t.route(apps::cookie(apps::App::kVxlan)), PacketInTable::kNone);
}

}  // namespace
}  // namespace vlcp::sw
