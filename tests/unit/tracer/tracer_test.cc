// The tracer app (docs/TRACE_DESIGN.md §9, §13.1 tracer_test): a live session in ObjectDB gives
// exactly two observation flows per switch (ingress and egress, cookie 8|table, the REG2 bit,
// hard_timeout 30) and `armed` once the switch confirmed them; removing it removes them; the
// packet-in handler records a copy with the session's nonce, counts one without as foreign and
// one past 64 as ignored. The pipeline's numbering is the same with `tracer` appended.
#include <gtest/gtest.h>

#include "../apps/app_node_fixture.h"
#include "apps/trace_live.h"
#include "apps/tracer/tracer.h"
#include "ofp/actions.h"
#include "ofp/message.h"
#include "ofp/packet.h"
#include "pipeline/registers.h"

namespace vlcp::apps::testing {
namespace {

using Json = nlohmann::json;
using Bytes = std::vector<uint8_t>;
using ofp::Field;

constexpr uint32_t kSrc = 0x0a01000b, kDst = 0x0a01000d;  // 10.1.0.11 -> 10.1.0.13
constexpr const char* kPipeline =
    "module.openflowmanager.apps = ['ioprocessing', 'l2switch', 'vxlancast', 'tracer']\n";

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

live::Session session(const std::string& id, int slot = 0, double expires_in = 20) {
  live::Session s;
  s.id = id;
  s.requester = "hv9";
  s.slot = slot;
  s.expires = now() + expires_in;
  s.match = {live::kProtoIcmp, kSrc, kDst, std::nullopt, std::nullopt};
  s.nonce = 0x5eed0000u + slot;
  return s;
}

class TracerTest : public AppNodeFixture {
 protected:
  void SetUp() override {
    AppNodeFixture::SetUp();
    configure_app("tracer", kPipeline);
    release();
    model_ = std::make_unique<ModelView>(*db_, after());
    app_ = spec_->make(AppEnv{*model_, *db_, pipeline_.tables, after(), [this] { return host_.get(); }});
    host_ = std::make_unique<AppHost>(*model_, std::vector<FlowApp*>{app_.get()}, clock_, after());
    host_->set_system_id("me");
    host_->start();
    model_->start();
    host_->update_switch(1, SwitchView{"br-int", {{"tap1", "", "p1", "", 5}}});
    host_->attach(1, &sw_);
    ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
    settle();
  }
  void pump() override {
    sw_.deliver();
    sw2_.deliver();
  }
  TracerApp& tracer() { return static_cast<TracerApp&>(*app_); }
  uint8_t table(const char* name) { return *pipeline_.tables.id(name); }
  void put_session(const live::Session& s) { put(live::session_key(s.requester, s.slot), live::to_json(s)); }
  // The node's answer for the session, as the requester reads it.
  std::optional<live::Seen> seen(const live::Session& s) {
    std::optional<live::Seen> out;
    bool done = false;
    std::string key = live::seen_key(s.requester, s.slot, "me");
    db_->get({key}, [&](Result<std::map<std::string, db::Record>> r) {
      done = true;
      if (!r.ok() || !r->count(key) || !r->at(key).value) return;
      auto v = live::seen_from_json(*r->at(key).value);
      if (v.ok()) out = std::move(*v);
    });
    run_until([&] { return done; });
    return out;
  }
  // A copy from the observation flow in `tbl`, as OVS sends it (registers in the match).
  Bytes copy(uint8_t tbl, const live::Session& s, uint32_t nonce, uint16_t packet_no = 1,
             uint32_t in_port = 5) {
    Buffer payload;
    live::put_nonce({uint16_t(s.slot), packet_no, nonce}, payload);
    Buffer frame;
    ofp::pkt::build_icmp(frame, {2, 0, 10, 1, 0, 11}, {2, 0, 10, 1, 0, 13}, s.match.nw_src, s.match.nw_dst, 8,
                         0, 0, payload.span(), 64, live::kDscp << 2);
    ofp::Match m;
    m.add(Field::kInPort, in_port).add(pipeline::reg::in_network, 1).add(pipeline::reg::out_port, 7);
    ofp::PacketInView p;
    p.total_len = uint16_t(frame.size());
    p.reason = 1;
    p.table_id = tbl;
    p.cookie = flows::cookie(kTracerAppId, tbl);
    p.data = frame.span();
    InlineBuffer<2048> b;
    ofp::encode_packet_in(b, 0, p, m.oxms());
    return Bytes(b.data(), b.data() + b.size());
  }
  void deliver(const Bytes& msg) {
    Buffer answers;
    ASSERT_TRUE(host_->packet_in(kTracerAppId, 1, ByteSpan(msg.data(), msg.size()), answers));
    EXPECT_EQ(answers.size(), 0u);
  }
  flows::FakeSwitch sw2_;
};

TEST_F(TracerTest, NoSessionNoFlows) {
  EXPECT_TRUE(sw_.flows.empty());
  EXPECT_TRUE(tracer().sessions().empty());
}

TEST_F(TracerTest, ASessionIsTwoFlowsPerSwitchArmedOnceConfirmed) {
  host_->update_switch(2, SwitchView{"br-two", {}});
  host_->attach(2, &sw2_);
  settle();
  live::Session s = session("a1");
  put_session(s);
  settle("session");
  ASSERT_TRUE(run_until([&] { return sw2_.flows.size() == 2; }));
  for (const auto* sw : {&sw_, &sw2_}) {
    ASSERT_EQ(sw->flows.size(), 2u);
    std::set<uint8_t> tables;
    for (const auto& [key, body] : sw->flows) {
      tables.insert(key.table);
      EXPECT_EQ(key.priority, 0xffff);
      EXPECT_EQ(body.cookie, (uint64_t{8} << 48) | key.table);
      EXPECT_EQ(body.hard_timeout, 30);
      EXPECT_EQ(body.idle_timeout, 0);
      uint32_t bit = key.table == table("ingress") ? 1u : 2u;  // REG2 bit 0 in ingress, 1 in egress
      ofp::Match want;
      want.add(Field::kEthType, 0x0800)
          .add(Field::kIpDscp, 1)
          .add(Field::kIpv4Src, kSrc)
          .add(Field::kIpv4Dst, kDst)
          .add(Field::kIpProto, 1)
          .add_masked(Field::kReg2, 0, bit);
      EXPECT_EQ(key.match, pipeline::canonical_match(want.oxms())) << int(key.table);
      // load:1->reg2[b], controller(max_len=256), resubmit(,T)
      std::vector<std::string> names;
      ofp::for_each_instruction(
          ByteSpan(reinterpret_cast<const uint8_t*>(body.instructions.data()), body.instructions.size()),
          [&](const ofp::InstructionView& i) {
            ofp::for_each_action(i.actions, [&](const ofp::ActionView& a) {
              names.emplace_back(a.info ? a.info->name : "?");
            });
          });
      EXPECT_EQ(names, (std::vector<std::string>{"load", "output", "resubmit"}));
    }
    EXPECT_EQ(tables, (std::set<uint8_t>{table("ingress"), table("egress")}));
  }
  ASSERT_TRUE(run_until([&] {
    auto v = seen(s);
    return v && v->armed;
  }));
  EXPECT_EQ(seen(s)->id, "a1");
  EXPECT_TRUE(seen(s)->observations.empty());

  // Ended by its requester: the flows go on both switches.
  put(live::session_key(s.requester, s.slot), live::ended(s.id));
  settle("session removed");
  ASSERT_TRUE(run_until([&] { return sw2_.flows.empty(); }));
  EXPECT_TRUE(sw_.flows.empty());
}

TEST_F(TracerTest, ExpiredAndInvalidSessionsGetNoFlows) {
  put_session(session("old", 0, -1));
  live::Session bad = session("bad", 1);
  Json j = live::to_json(bad);
  j["match"]["proto"] = 2;  // IGMP: not live
  put(live::session_key("hv9", 1), j);
  Json wrong = live::to_json(session("wrong", 2));  // its slot is not its key's
  put(live::session_key("hv9", 3), wrong);
  settle("bad sessions");
  EXPECT_TRUE(sw_.flows.empty());
  EXPECT_EQ(tracer().counters().bad_sessions, 2u);
}

TEST_F(TracerTest, EightSessionsPerSwitchTheNewest) {
  for (int slot = 0; slot < 9; ++slot) {
    live::Session s = session("s" + std::to_string(slot), slot, 10 + slot);
    s.match.nw_dst += slot;  // (two sessions of one 5-tuple share their flows)
    put_session(s);
  }
  settle("nine sessions");
  EXPECT_EQ(sw_.flows.size(), 16u);
  EXPECT_EQ(tracer().sessions().size(), 8u);
  EXPECT_FALSE(tracer().sessions().count("live/hv9.0"));  // the one expiring first
  EXPECT_EQ(tracer().counters().refused_sessions, 1u);
}

TEST_F(TracerTest, PacketInsNonceMatchedForeignAndIgnored) {
  live::Session s = session("p1");
  put_session(s);
  settle("session");
  deliver(copy(table("ingress"), s, s.nonce, 1));
  deliver(copy(table("egress"), s, s.nonce, 1));
  deliver(copy(table("ingress"), s, s.nonce ^ 1, 2));  // same 5-tuple and DSCP, not our nonce
  EXPECT_EQ(tracer().counters().observed, 2u);
  EXPECT_EQ(tracer().counters().foreign, 1u);
  ASSERT_TRUE(run_until([&] {
    auto v = seen(s);
    return v && v->observations.size() == 2;
  }));
  auto v = seen(s);
  EXPECT_EQ(v->observations[0].table, "ingress");
  EXPECT_EQ(v->observations[0].server, "me");
  EXPECT_EQ(v->observations[0].bridge, "br-int");
  EXPECT_EQ(v->observations[0].in_port, 5u);
  EXPECT_EQ(v->observations[0].reg4, 1u);
  EXPECT_EQ(v->observations[0].reg6, 7u);
  EXPECT_EQ(v->observations[0].packet_no, 1);
  EXPECT_EQ(v->observations[1].table, "egress");

  for (int i = 0; i < 70; ++i) deliver(copy(table("egress"), s, s.nonce, uint16_t(i)));
  EXPECT_EQ(tracer().counters().observed, 64u);
  EXPECT_EQ(tracer().counters().ignored, 8u);
  ASSERT_TRUE(run_until([&] {
    auto v = seen(s);
    return v && v->observations.size() == 64;
  }));
  // At most one write per 50 ms: 72 copies in a burst are a few writes, not 64.
  EXPECT_LT(tracer().counters().writes, 10u);
}

// AppHost::when_confirmed: at once (from the loop) when the switch has everything stated; after
// the barrier of the batch carrying what was stated; on a detached switch, after its reconcile.
TEST_F(TracerTest, WhenConfirmedWaitsForTheBarrier) {
  int calls = 0;
  host_->when_confirmed(1, [&] { ++calls; });
  ASSERT_TRUE(run_until([&] { return calls == 1; }));

  // A session: a round states its flows; the batch goes, its barrier is not answered yet (the
  // loop turns without the switch answering).
  live::Session s = session("w1");
  std::string key = live::session_key(s.requester, s.slot);
  Json value = live::to_json(s);
  db_->transact(
      {key},
      [&](const auto&, const auto&, int64_t) {
        return Result<std::vector<std::pair<std::string, std::optional<Json>>>>({{key, value}});
      },
      [](Result<db::TxnResult>) {});
  for (int i = 0; i < 20000 && sw_.queued.empty(); ++i)
    if (!loop_.run_pending()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  ASSERT_FALSE(sw_.queued.empty());
  host_->when_confirmed(1, [&] { ++calls; });
  loop_.run_pending();
  EXPECT_EQ(calls, 1);
  sw_.deliver();
  ASSERT_TRUE(run_until([&] { return calls == 2; }));

  host_->detach(1);
  host_->when_confirmed(1, [&] { ++calls; });
  for (int i = 0; i < 20; ++i) loop_.run_pending();
  EXPECT_EQ(calls, 2);
  host_->attach(1, &sw_);
  ASSERT_TRUE(run_until([&] { return calls == 3; }));
  host_->when_confirmed(99, [&] { ++calls; });  // (no such switch: never)
  for (int i = 0; i < 20; ++i) loop_.run_pending();
  EXPECT_EQ(calls, 3);
}

TEST(TracerPipeline, AppendingTracerChangesNoTableNumber) {
  const std::vector<std::vector<std::string>> lists = {
      {"ioprocessing", "l2switch", "vxlancast"},
      {"ioprocessing", "l2switch", "vxlancast", "arpresponder"},
      {"ioprocessing", "l2switch", "vxlancast", "arpresponder", "dhcpserver", "icmpresponder", "l3router"},
      {"ioprocessing", "l2switch", "vxlancast", "arpresponder", "dhcpserver", "icmpresponder"},
  };
  auto tables = [](const std::vector<std::string>& apps) {
    std::string text = "module.openflowmanager.apps = [";
    for (const auto& a : apps) text += "'" + a + "', ";
    auto c = Config::parse(text + "]\n");
    EXPECT_TRUE(c.ok());
    auto p = pipeline::read_pipeline_settings(*c);
    EXPECT_TRUE(p.ok()) << p.status().to_string();
    return p.ok() ? p->tables.to_json() : Json();
  };
  for (auto apps : lists) {
    Json before = tables(apps);
    apps.push_back("tracer");
    EXPECT_EQ(tables(apps), before) << apps.size();
  }
}

TEST(TraceLiveRecords, RoundTripAndValidation) {
  live::Session s = session("r1", 3);
  s.match = {live::kProtoUdp, kSrc, kDst, 50000, 33434};
  auto back = live::session_from_json(live::to_json(s));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, s);
  Json j = live::to_json(s);
  j["match"]["nw_src"] = "10.1.0.300";
  EXPECT_FALSE(live::session_from_json(j).ok());
  live::Seen seen{"r1", true, {{"hv1", "br-int", 1, "egress", 11, 1, 1, 2, 100, 0xc0a86302, 2, 1.5}}};
  auto sb = live::seen_from_json(live::to_json(seen));
  ASSERT_TRUE(sb.ok()) << sb.status().to_string();
  EXPECT_EQ(*sb, seen);
  Buffer b;
  live::put_nonce({3, 2, 0xdeadbeef}, b);
  EXPECT_EQ(live::read_nonce(b.span()), (live::Nonce{3, 2, 0xdeadbeef}));
  b.data()[0] = 'X';
  EXPECT_FALSE(live::read_nonce(b.span()));
  EXPECT_EQ(live::seen_key("hv 1", 2, "hv2").rfind(live::seen_prefix("hv 1", 2), 0), 0u);
}

}  // namespace
}  // namespace vlcp::apps::testing
