// The OpenFlow session without I/O: a scripted switch (our codec) on one side, a manual clock.
#include "switch/session.h"

#include <gtest/gtest.h>

#include "base/clock.h"

namespace vlcp::sw {
namespace {

using namespace std::chrono_literals;
using ofp::MsgType;

struct Recorder : SessionHandler {
  int ready = 0;
  std::vector<std::pair<uint8_t, uint32_t>> port_events;
  int packet_ins = 0;
  std::vector<MsgType> messages;
  std::string closed;
  void on_ready() override { ++ready; }
  void on_port_status(uint8_t reason, const ofp::Port& p) override {
    port_events.emplace_back(reason, p.port_no);
  }
  void on_packet_in(const ofp::Frame&, const ofp::PacketInView&) override { ++packet_ins; }
  void on_message(const ofp::Frame& f) override { messages.push_back(f.header.type); }
  void on_closed(const std::string& reason) override { closed = reason; }
};

// Splits the session's output into messages and consumes it.
std::vector<std::vector<uint8_t>> drain(Session& s) {
  std::vector<std::vector<uint8_t>> out;
  ByteSpan o = s.output();
  size_t off = 0;
  while (o.size() - off >= 8) {
    uint16_t len = load_be16(o.data() + off + 2);
    out.emplace_back(o.begin() + off, o.begin() + off + len);
    off += len;
  }
  s.consumed(off);
  return out;
}

MsgType type_of(const std::vector<uint8_t>& m) {
  return static_cast<MsgType>(m[1]);
}
uint32_t xid_of(const std::vector<uint8_t>& m) {
  return load_be32(m.data() + 4);
}

const std::vector<uint8_t>* find(const std::vector<std::vector<uint8_t>>& msgs, MsgType t) {
  for (auto& m : msgs)
    if (type_of(m) == t) return &m;
  return nullptr;
}

ofp::Port port(uint32_t no, const std::string& name) {
  ofp::Port p;
  p.port_no = no;
  p.name = name;
  p.hw_addr = {2, 0, 0, 0, 0, static_cast<uint8_t>(no)};
  return p;
}

void multipart_reply(Buffer& b, uint32_t xid, ofp::MultipartType type, ByteSpan body, uint16_t flags = 0) {
  size_t start = ofp::begin_message(b, MsgType::kMultipartReply, xid);
  b.put_be16(static_cast<uint16_t>(type));
  b.put_be16(flags);
  b.put_be32(0);
  b.append(body);
  ofp::finish_message(b, start);
}

class SessionTest : public ::testing::Test {
 protected:
  ManualClock clock;
  Recorder rec;
  SessionCounters counters;
  SessionConfig config;
  std::unique_ptr<Session> s;

  void SetUp() override {
    config.probe_interval = 1000ms;
    config.probe_timeout = 500ms;
    config.request_timeout = 3000ms;
  }

  // A new session past HELLO: the xid of its handshake's PORT_DESC request (0 if none was sent).
  uint32_t port_desc_xid_after_hello() {
    s = std::make_unique<Session>(clock, config, &rec, &counters);
    s->start();
    drain(*s);
    InlineBuffer<64> h;
    ofp::encode_hello(h, 1, ofp::Hello{1u << 4});
    s->receive(h.span());
    auto out = drain(*s);
    auto* port_desc = find(out, MsgType::kMultipartRequest);
    return port_desc ? xid_of(*port_desc) : 0;
  }

  // Streams `part` as "more to come" parts of `type` under `xid` until the session closes or
  // `limit` bytes went; what was sent and the most the session held meanwhile.
  struct Streamed {
    size_t sent = 0, max_held = 0;
  };
  Streamed stream_parts(uint32_t xid, ofp::MultipartType type, ByteSpan part, size_t limit) {
    Streamed st;
    while (!s->closed() && st.sent < limit) {
      InlineBuffer<65536> b;
      multipart_reply(b, xid, type, part, ofp::kMultipartMore);
      s->receive(b.span());
      st.sent += part.size();
      st.max_held = std::max(st.max_held, s->multipart_bytes_held());
    }
    return st;
  }

  // Runs the handshake as OVS would answer it; the port description comes in two parts.
  void handshake() {
    s = std::make_unique<Session>(clock, config, &rec, &counters);
    s->start();
    auto out = drain(*s);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(type_of(out[0]), MsgType::kHello);
    InlineBuffer<512> b;
    ofp::encode_hello(b, 7, ofp::Hello{(1u << 1) | (1u << 4)});  // OF1.0 and 1.3
    s->receive(b.span());
    EXPECT_EQ(s->version(), ofp::kOfp13);
    out = drain(*s);
    auto* features = find(out, MsgType::kFeaturesRequest);
    auto* port_desc = find(out, MsgType::kMultipartRequest);
    ASSERT_TRUE(features && port_desc && find(out, MsgType::kSetConfig));
    b.clear();
    ofp::encode_features_reply(b, xid_of(*features), ofp::FeaturesReply{0xabcdef, 0, 254, 0, 0x4f});
    InlineBuffer<256> part;
    ofp::encode_port(part, port(1, "p1"));
    multipart_reply(b, xid_of(*port_desc), ofp::MultipartType::kPortDesc, part.span(), ofp::kMultipartMore);
    part.clear();
    ofp::encode_port(part, port(2, "p2"));
    EXPECT_EQ(rec.ready, 0);
    s->receive(b.span());
    EXPECT_EQ(rec.ready, 0);  // the port list is not complete yet
    b.clear();
    multipart_reply(b, xid_of(*port_desc), ofp::MultipartType::kPortDesc, part.span());
    s->receive(b.span());
  }
};

TEST_F(SessionTest, HandshakeLearnsDatapathAndPorts) {
  handshake();
  EXPECT_EQ(rec.ready, 1);
  EXPECT_EQ(s->state(), SessionState::kReady);
  EXPECT_EQ(s->datapath_id(), 0xabcdefu);
  ASSERT_EQ(s->ports().size(), 2u);
  EXPECT_EQ(s->ports().at(2).name, "p2");
  EXPECT_EQ(counters.handshakes.load(), 1u);
  EXPECT_EQ(s->pending_requests(), 0u);
}

TEST_F(SessionTest, OpenFlow14IsNegotiatedWhenBothOfferIt) {
  s = std::make_unique<Session>(clock, config, &rec, &counters);
  s->start();
  auto out = drain(*s);
  EXPECT_EQ(out[0][0], ofp::kOfp14);  // our HELLO's header: the highest version we offer
  InlineBuffer<512> b;
  ofp::encode_hello(b, 7, ofp::Hello{(1u << 4) | (1u << 5)});
  b.data()[0] = ofp::kOfp14;
  s->receive(b.span());
  ASSERT_EQ(s->version(), ofp::kOfp14);
  out = drain(*s);
  for (auto& m : out) EXPECT_EQ(m[0], ofp::kOfp14) << "type " << int(m[1]);
  auto* features = find(out, MsgType::kFeaturesRequest);
  auto* port_desc = find(out, MsgType::kMultipartRequest);
  ASSERT_TRUE(features && port_desc);
  b.clear();
  ofp::encode_features_reply(b, xid_of(*features), ofp::FeaturesReply{0x14, 0, 254, 0, 0x4f});
  b.data()[0] = ofp::kOfp14;
  InlineBuffer<256> ports;
  ofp::Port p1 = port(1, "p1");
  p1.curr_speed = 10000000;
  ofp::encode_port14(ports, p1);
  ofp::encode_port14(ports, port(2, "p2"));
  size_t at = b.size();
  multipart_reply(b, xid_of(*port_desc), ofp::MultipartType::kPortDesc, ports.span());
  b.data()[at] = ofp::kOfp14;
  s->receive(b.span());
  ASSERT_EQ(rec.ready, 1) << rec.closed;
  ASSERT_EQ(s->ports().size(), 2u);
  EXPECT_EQ(s->ports().at(1).curr_speed, 10000000u);  // from the Ethernet property
  // A 1.4 PORT_STATUS (port with properties) adds a port; a 1.3-sized one is refused.
  b.clear();
  size_t start = ofp::begin_message(b, MsgType::kPortStatus, 0);
  b.put_u8(0);
  b.put_zeros(7);
  ofp::encode_port14(b, port(3, "p3"));
  ofp::finish_message(b, start);
  b.data()[start] = ofp::kOfp14;
  s->receive(b.span());
  EXPECT_EQ(s->ports().count(3), 1u);
  b.clear();
  ofp::encode_port_status(b, 9, ofp::PortStatus{0, port(4, "p4")});
  b.data()[0] = ofp::kOfp14;
  s->receive(b.span());
  EXPECT_EQ(s->ports().count(4), 0u);
  out = drain(*s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(type_of(out[0]), MsgType::kError);
  EXPECT_EQ(out[0][0], ofp::kOfp14);
}

TEST_F(SessionTest, NoCommonVersionIsRefusedWithHelloFailed) {
  s = std::make_unique<Session>(clock, config, &rec, &counters);
  s->start();
  drain(*s);
  InlineBuffer<64> b;
  ofp::encode_hello(b, 1, ofp::Hello{1u << 1});  // OpenFlow 1.0 only
  s->receive(b.span());
  auto out = drain(*s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(type_of(out[0]), MsgType::kError);
  EXPECT_EQ(load_be16(out[0].data() + 8), 0);  // OFPET_HELLO_FAILED
  EXPECT_TRUE(s->closed());
  EXPECT_NE(rec.closed.find("no common OpenFlow version"), std::string::npos);
}

TEST_F(SessionTest, PortStatusKeepsThePortTable) {
  handshake();
  InlineBuffer<128> b;
  ofp::encode_port_status(b, 0, ofp::PortStatus{0, port(3, "p3")});
  ofp::encode_port_status(b, 0, ofp::PortStatus{1, port(1, "p1")});
  s->receive(b.span());
  EXPECT_EQ(s->ports().count(3), 1u);
  EXPECT_EQ(s->ports().count(1), 0u);
  ASSERT_EQ(rec.port_events.size(), 2u);
  EXPECT_EQ(rec.port_events[1], (std::pair<uint8_t, uint32_t>{1, 1}));
}

TEST_F(SessionTest, EchoKeepsAliveAndTheProbeDropsASilentPeer) {
  handshake();
  drain(*s);
  clock.advance(999ms);
  s->tick();
  EXPECT_TRUE(drain(*s).empty());
  clock.advance(1ms);
  s->tick();
  auto out = drain(*s);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(type_of(out[0]), MsgType::kEchoRequest);
  // The reply (any message would do) resets the probe.
  InlineBuffer<16> b;
  ofp::encode_simple(b, MsgType::kEchoReply, xid_of(out[0]));
  s->receive(b.span());
  clock.advance(900ms);
  s->tick();
  EXPECT_FALSE(s->closed());
  // Silence: an echo after 1 s, closed 0.5 s later.
  clock.advance(100ms);
  auto next = s->tick();
  EXPECT_EQ(type_of(drain(*s).at(0)), MsgType::kEchoRequest);
  EXPECT_EQ(next, clock.now() + 500ms);
  clock.advance(499ms);
  s->tick();
  EXPECT_FALSE(s->closed());
  clock.advance(1ms);
  s->tick();
  EXPECT_TRUE(s->closed());
  EXPECT_NE(rec.closed.find("inactivity probe"), std::string::npos);
  EXPECT_EQ(counters.probes_failed.load(), 1u);
}

TEST_F(SessionTest, SwitchEchoRequestsAreAnswered) {
  handshake();
  drain(*s);
  InlineBuffer<32> b;
  ofp::encode_simple(b, MsgType::kEchoRequest, 0x55, ByteSpan(reinterpret_cast<const uint8_t*>("ping"), 4));
  s->receive(b.span());
  auto out = drain(*s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(type_of(out[0]), MsgType::kEchoReply);
  EXPECT_EQ(xid_of(out[0]), 0x55u);
  EXPECT_EQ(out[0].size(), 12u);
}

TEST_F(SessionTest, MalformedMessagesGetErrorsAndTheSessionLives) {
  handshake();
  drain(*s);
  // A PORT_STATUS two bytes short (the length is consistent with the bytes).
  InlineBuffer<128> b;
  ofp::encode_port_status(b, 9, ofp::PortStatus{0, port(4, "p4")});
  std::vector<uint8_t> bad(b.data(), b.data() + b.size() - 8);
  store_be16(bad.data() + 2, static_cast<uint16_t>(bad.size()));
  s->receive(bad);
  // Wrong version, unknown type, a (malformed) FLOW_MOD sent to the controller.
  std::vector<uint8_t> wrong_version = {0x01, 0x02, 0, 8, 0, 0, 0, 10};
  std::vector<uint8_t> unknown_type = {0x04, 0x63, 0, 8, 0, 0, 0, 11};
  std::vector<uint8_t> flow_mod(56, 0);
  flow_mod[0] = 0x04;
  flow_mod[1] = 14;
  flow_mod[3] = 56;
  flow_mod[7] = 12;
  s->receive(wrong_version);
  s->receive(unknown_type);
  s->receive(flow_mod);
  auto out = drain(*s);
  ASSERT_EQ(out.size(), 4u);
  for (auto& m : out) EXPECT_EQ(type_of(m), MsgType::kError);
  EXPECT_EQ(xid_of(out[0]), 9u);
  EXPECT_EQ(load_be16(out[1].data() + 8), 1);   // OFPET_BAD_REQUEST
  EXPECT_EQ(load_be16(out[1].data() + 10), 0);  // OFPBRC_BAD_VERSION
  EXPECT_EQ(load_be16(out[2].data() + 10), 1);  // OFPBRC_BAD_TYPE
  EXPECT_EQ(load_be16(out[3].data() + 8), 1);   // the direction is checked before the body
  EXPECT_EQ(load_be16(out[3].data() + 10), 1);
  EXPECT_EQ(counters.rx_errors_sent.load(), 4u);
  EXPECT_FALSE(s->closed());
  EXPECT_EQ(s->ports().count(4), 0u);  // nothing acted on the bad message
}

TEST_F(SessionTest, FramingErrorClosesTheSession) {
  handshake();
  drain(*s);
  std::vector<uint8_t> bad = {0x04, 0x02, 0, 4, 0, 0, 0, 1};
  s->receive(bad);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(type_of(drain(*s).at(0)), MsgType::kError);
}

TEST_F(SessionTest, MessagesSplitAcrossReadsAreReassembled) {
  handshake();
  drain(*s);
  InlineBuffer<32> b;
  ofp::encode_simple(b, MsgType::kEchoRequest, 1);
  ofp::encode_simple(b, MsgType::kEchoRequest, 2);
  ByteSpan all = b.span();
  for (size_t i = 0; i < all.size(); i += 3) s->receive(all.subspan(i, std::min<size_t>(3, all.size() - i)));
  auto out = drain(*s);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(xid_of(out[1]), 2u);
}

TEST_F(SessionTest, BarrierBatchCollectsItsErrors) {
  handshake();
  drain(*s);
  InlineBuffer<64> b;
  uint32_t x1 = s->next_xid();
  ofp::encode_simple(b, MsgType::kGetConfigRequest, x1);  // stands for any batched message
  s->send(b.span());
  std::optional<BatchResult> first, second;
  s->barrier([&](const BatchResult& r) { first = r; });
  uint32_t x2 = s->next_xid();
  b.clear();
  ofp::encode_simple(b, MsgType::kGetConfigRequest, x2);
  s->send(b.span());
  s->barrier([&](const BatchResult& r) { second = r; });
  auto out = drain(*s);
  ASSERT_EQ(out.size(), 4u);
  // The switch fails the second batch's message and answers both barriers.
  b.clear();
  ofp::encode_error(b, x2, ofp::errors::kBadRequest_BAD_TYPE, ByteSpan(out[2]));
  ofp::encode_simple(b, MsgType::kBarrierReply, xid_of(out[1]));
  s->receive(b.span());
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->completed);
  EXPECT_TRUE(first->errors.empty());
  EXPECT_FALSE(second);
  clock.advance(2ms);
  b.clear();
  ofp::encode_simple(b, MsgType::kBarrierReply, xid_of(out[3]));
  s->receive(b.span());
  ASSERT_TRUE(second);
  ASSERT_EQ(second->errors.size(), 1u);
  EXPECT_EQ(second->errors[0].first, x2);
  EXPECT_EQ(counters.barrier_count.load(), 2u);
}

TEST_F(SessionTest, RequestsTimeOutAndFailOnClose) {
  handshake();
  drain(*s);
  InlineBuffer<16> b;
  ofp::encode_simple(b, MsgType::kGetConfigRequest, s->next_xid());
  std::optional<Result<Reply>> got;
  s->request(b.span(), [&](Result<Reply> r) { got = std::move(r); });
  // Keep the session alive with echoes from the switch while the request waits.
  for (int i = 0; i < 3; ++i) {
    clock.advance(999ms);
    InlineBuffer<16> e;
    ofp::encode_simple(e, MsgType::kEchoRequest, 100 + i);
    s->receive(e.span());
    s->tick();
  }
  clock.advance(3ms);
  s->tick();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->error().code(), Errc::kTimeout);
  got.reset();
  b.clear();
  ofp::encode_simple(b, MsgType::kGetConfigRequest, s->next_xid());
  s->request(b.span(), [&](Result<Reply> r) { got = std::move(r); });
  s->close("test");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->error().code(), Errc::kUnavailable);
}

TEST_F(SessionTest, XidsWrapSkippingZeroAndPendingRequests) {
  config.first_xid = 0xfffffff0;
  handshake();
  drain(*s);
  // A request waits on xid 1 (the first xid after the wrap) while the counter wraps.
  InlineBuffer<16> b;
  ofp::encode_simple(b, MsgType::kGetConfigRequest, 1);
  s->request(b.span(), [](Result<Reply>) {});
  uint32_t x = 0;
  while (x != 0xffffffff) x = s->next_xid();
  EXPECT_EQ(s->next_xid(), 2u);  // 0 is never used, 1 is still pending
}

TEST_F(SessionTest, RoleRequestIsPartOfTheHandshake) {
  config.role = ofp::Role::kMaster;
  config.generation_id = 7;
  s = std::make_unique<Session>(clock, config, &rec, &counters);
  s->start();
  drain(*s);
  InlineBuffer<512> b;
  ofp::encode_hello(b, 1, ofp::Hello{1u << 4});
  s->receive(b.span());
  auto out = drain(*s);
  auto* role = find(out, MsgType::kRoleRequest);
  ASSERT_TRUE(role);
  b.clear();
  ofp::encode_features_reply(b, xid_of(*find(out, MsgType::kFeaturesRequest)),
                             ofp::FeaturesReply{1, 0, 254, 0, 0});
  multipart_reply(b, xid_of(*find(out, MsgType::kMultipartRequest)), ofp::MultipartType::kPortDesc, {});
  s->receive(b.span());
  EXPECT_EQ(rec.ready, 0);
  b.clear();
  ofp::encode_role(b, MsgType::kRoleReply, xid_of(*role), ofp::RoleMsg{ofp::Role::kMaster, 7});
  s->receive(b.span());
  EXPECT_EQ(rec.ready, 1);
  EXPECT_EQ(s->role(), ofp::Role::kMaster);
}

TEST_F(SessionTest, BackpressureFollowsTheWatermarks) {
  config.send_high_watermark = 1000;
  config.send_low_watermark = 100;
  handshake();
  drain(*s);
  std::vector<uint8_t> msg(200, 0);
  InlineBuffer<256> b;
  ofp::encode_simple(b, MsgType::kEchoRequest, 1, ByteSpan(msg.data(), 192));
  for (int i = 0; i < 6; ++i) s->send(b.span());
  EXPECT_TRUE(s->backlogged());
  s->consumed(800);
  EXPECT_TRUE(s->backlogged());  // 400 left: above the low watermark
  s->consumed(350);
  EXPECT_FALSE(s->backlogged());
}

// The OFPT_ERROR messages in a batch of output, as (type, code).
std::vector<std::pair<uint16_t, uint16_t>> errors_in(const std::vector<std::vector<uint8_t>>& out) {
  std::vector<std::pair<uint16_t, uint16_t>> e;
  for (auto& m : out)
    if (type_of(m) == MsgType::kError) e.emplace_back(load_be16(m.data() + 8), load_be16(m.data() + 10));
  return e;
}

// A switch streaming "more to come" parts of a reply cannot grow the session past the cap: the
// session answers MULTIPART_BUFFER_OVERFLOW, fails the request, closes, counts it, and holds
// nothing afterwards.
TEST_F(SessionTest, MultipartPartsBeyondTheCapCloseTheSession) {
  config.max_multipart_bytes = 1u << 20;
  handshake();
  drain(*s);
  EXPECT_EQ(s->multipart_bytes_held(), 0u);  // the handshake's PORT_DESC parts were released
  // A reply within the cap completes and releases its parts. Parts of real flow entries, as
  // OVS sends them (empty match, no instructions: 56 bytes each).
  InlineBuffer<65536> entries;
  while (entries.size() + 56 <= 60000) ofp::encode_flow_stats_entry(entries, ofp::FlowStats{});
  std::vector<uint8_t> chunk(entries.data(), entries.data() + entries.size());
  auto request = [&](std::optional<Result<Reply>>* got) {
    InlineBuffer<64> b;
    uint32_t xid = s->next_xid();
    ofp::encode_flow_stats_request(b, xid, ofp::FlowStatsRequest{});
    s->request(b.span(), [got](Result<Reply> r) { *got = std::move(r); });
    return xid;
  };
  std::optional<Result<Reply>> small;
  uint32_t x = request(&small);
  for (int i = 0; i < 3; ++i) {
    InlineBuffer<65536> b;
    multipart_reply(b, x, ofp::MultipartType::kFlow, ByteSpan(chunk), i < 2 ? ofp::kMultipartMore : 0);
    s->receive(b.span());
  }
  ASSERT_TRUE(small);
  ASSERT_TRUE(small->ok()) << small->error().message();
  EXPECT_EQ((*small)->body.size(), 3 * chunk.size());
  EXPECT_EQ(s->multipart_bytes_held(), 0u);

  // An endless one: the session stops it at the cap.
  std::optional<Result<Reply>> endless;
  x = request(&endless);
  drain(*s);
  auto [sent, max_held] = stream_parts(x, ofp::MultipartType::kFlow, ByteSpan(chunk), 64u << 20);
  EXPECT_TRUE(s->closed());
  EXPECT_LE(sent, config.max_multipart_bytes + chunk.size());
  EXPECT_LE(max_held, config.max_multipart_bytes);
  EXPECT_EQ(s->multipart_bytes_held(), 0u);
  ASSERT_TRUE(endless);
  EXPECT_EQ(endless->error().code(), Errc::kUnavailable);
  EXPECT_NE(s->close_reason().find("maxmultipartbytes"), std::string::npos) << s->close_reason();
  EXPECT_EQ(counters.multipart_overflows.load(), 1u);
  auto errors = errors_in(drain(*s));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], std::make_pair(ofp::errors::kBadRequest_MULTIPART_BUFFER_OVERFLOW.type,
                                      ofp::errors::kBadRequest_MULTIPART_BUFFER_OVERFLOW.code));
  EXPECT_EQ(rec.closed, s->close_reason());
}

// During the handshake the PORT_DESC is bounded by what OVS's port space can describe, well
// below the session's cap: a switch streaming port parts is dropped before it is ready.
TEST_F(SessionTest, PortDescDuringTheHandshakeIsBounded) {
  uint32_t port_desc = port_desc_xid_after_hello();
  ASSERT_NE(port_desc, 0u);
  // Parts of one real port repeated: as OVS would encode them.
  InlineBuffer<65536> body;
  while (body.size() + 64 <= 65000) ofp::encode_port(body, port(1, "p1"));
  auto [sent, max_held] = stream_parts(port_desc, ofp::MultipartType::kPortDesc, body.span(), 256u << 20);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(rec.ready, 0);
  EXPECT_LE(max_held, kMaxPortDescBytes);
  EXPECT_LE(sent, kMaxPortDescBytes + body.size());
  EXPECT_EQ(counters.multipart_overflows.load(), 1u);
}

// The PORT_DESC cap follows the type we requested, not the one the switch claims: parts
// labelled FLOW under the PORT_DESC's xid are refused at the first one (BAD_MULTIPART, counted
// as bad input) instead of being held up to maxmultipartbytes.
TEST_F(SessionTest, PortDescXidAnsweredWithOtherTypedPartsIsBounded) {
  uint32_t port_desc = port_desc_xid_after_hello();
  ASSERT_NE(port_desc, 0u);
  // Parts of real flow entries (56 bytes each, as OVS sends them): well-formed FLOW parts.
  InlineBuffer<65536> body;
  while (body.size() + 56 <= 65000) ofp::encode_flow_stats_entry(body, ofp::FlowStats{});
  // Four times the PORT_DESC cap is enough to tell: a session trusting the label holds it all.
  auto [sent, max_held] =
      stream_parts(port_desc, ofp::MultipartType::kFlow, body.span(), 4 * kMaxPortDescBytes);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(rec.ready, 0);
  EXPECT_LE(max_held, kMaxPortDescBytes);
  EXPECT_EQ(sent, body.size());  // the first mislabelled part closed the session
  EXPECT_EQ(s->multipart_bytes_held(), 0u);
  EXPECT_EQ(counters.rx_errors_sent.load(), 1u);
  auto errors = errors_in(drain(*s));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], std::make_pair(ofp::errors::kBadRequest_BAD_MULTIPART.type,
                                      ofp::errors::kBadRequest_BAD_MULTIPART.code));
  EXPECT_EQ(rec.closed, s->close_reason());
}

// A single (last) part of another multipart type is not the answer: not to the handshake's
// PORT_DESC (no ports learnt, never ready), nor to a module's request (it fails).
TEST_F(SessionTest, MultipartReplyOfAnotherTypeIsNotTheAnswer) {
  s = std::make_unique<Session>(clock, config, &rec, &counters);
  s->start();
  drain(*s);
  InlineBuffer<512> b;
  ofp::encode_hello(b, 1, ofp::Hello{1u << 4});
  s->receive(b.span());
  auto out = drain(*s);
  auto* features = find(out, MsgType::kFeaturesRequest);
  auto* port_desc = find(out, MsgType::kMultipartRequest);
  ASSERT_TRUE(features && port_desc);
  b.clear();
  ofp::encode_features_reply(b, xid_of(*features), ofp::FeaturesReply{0xabcdef, 0, 254, 0, 0x4f});
  // An empty FLOW reply: read as a PORT_DESC it would be a valid switch without ports.
  multipart_reply(b, xid_of(*port_desc), ofp::MultipartType::kFlow, {});
  s->receive(b.span());
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(rec.ready, 0);
  EXPECT_TRUE(s->ports().empty());
  EXPECT_EQ(errors_in(drain(*s)).size(), 1u);

  // After the handshake: a FLOW request answered by a PORT_DESC-typed reply fails.
  rec = Recorder{};
  counters.rx_errors_sent = 0;
  handshake();
  ASSERT_EQ(rec.ready, 1);
  drain(*s);
  std::optional<Result<Reply>> got;
  InlineBuffer<64> q;
  uint32_t x = s->next_xid();
  ofp::encode_flow_stats_request(q, x, ofp::FlowStatsRequest{});
  s->request(q.span(), [&](Result<Reply> r) { got = std::move(r); });
  b.clear();
  InlineBuffer<256> part;
  ofp::encode_port(part, port(1, "p1"));
  multipart_reply(b, x, ofp::MultipartType::kPortDesc, part.span());
  s->receive(b.span());
  ASSERT_TRUE(got);
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), Errc::kUnavailable);
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(counters.rx_errors_sent.load(), 1u);
  EXPECT_EQ(s->pending_requests(), 0u);
}

// Ports outside OVS's port space are refused, so the port table is bounded by kMaxPorts.
TEST_F(SessionTest, PortStatusOutsideThePortSpaceIsRefused) {
  handshake();
  drain(*s);
  for (uint32_t no : {0x10000u, 0xff00u, 0x12345678u}) {
    InlineBuffer<256> b;
    ofp::encode_port_status(b, 0, ofp::PortStatus{0, port(no, "x")});
    s->receive(b.span());
  }
  EXPECT_EQ(s->ports().size(), 2u);
  EXPECT_TRUE(rec.port_events.empty());
  EXPECT_EQ(errors_in(drain(*s)).size(), 3u);
  InlineBuffer<256> local;  // LOCAL is a port OVS has
  ofp::encode_port_status(local, 0, ofp::PortStatus{0, port(ofp::kPortLocal, "br0")});
  s->receive(local.span());
  EXPECT_EQ(s->ports().size(), 3u);
  EXPECT_FALSE(s->closed());
}

// A switch repeating errors for the xids of a batch cannot grow it: at most one error per
// message the batch covers.
TEST_F(SessionTest, BatchErrorsAreBoundedByItsMessages) {
  handshake();
  drain(*s);
  InlineBuffer<64> b;
  uint32_t x1 = s->next_xid();
  ofp::encode_simple(b, MsgType::kGetConfigRequest, x1);
  s->send(b.span());
  std::optional<BatchResult> done;
  InlineBuffer<256> e;
  for (int i = 0; i < 1000; ++i) {  // before the barrier: the open batch
    e.clear();
    ofp::encode_error(e, x1, ofp::errors::kBadRequest_EPERM, b.span());
    s->receive(e.span());
  }
  s->barrier([&](const BatchResult& r) { done = r; });
  auto out = drain(*s);
  for (int i = 0; i < 1000; ++i) {  // after it: the ended batch
    e.clear();
    ofp::encode_error(e, x1, ofp::errors::kBadRequest_EPERM, b.span());
    s->receive(e.span());
  }
  e.clear();
  ofp::encode_simple(e, MsgType::kBarrierReply, xid_of(out.back()));
  s->receive(e.span());
  ASSERT_TRUE(done);
  // The batch covers every xid since the start (the handshake's too): one error per xid at most.
  EXPECT_GE(done->errors.size(), 1u);
  EXPECT_LE(done->errors.size(), x1);
}

}  // namespace
}  // namespace vlcp::sw
