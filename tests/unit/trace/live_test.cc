// trace --live (docs/TRACE_DESIGN.md §9.2, §9.3): the live verdicts from the simulated path and
// the observers' answers, one case per code; and the whole sequence on one node — the session
// written, the tracer app's flows armed, the packets injected (the test plays OVS: each
// PACKET_OUT comes back as the observation flows' copies), the verdict, the session emptied and
// the flows gone.
#include "trace/live.h"

#include <gtest/gtest.h>

#include "../apps/app_node_fixture.h"
#include "apps/tracer/tracer.h"
#include "ofp/message.h"
#include "ofp/packet.h"
#include "pipeline/registers.h"

namespace vlcp::trace {
namespace {

namespace live = apps::live;
using Json = nlohmann::json;

constexpr uint32_t kVtep2 = 0xc0a86302;  // 192.168.99.2

// a1 on hv1 -> a3 on hv2 over VXLAN, as simulated.
Expected two_servers() {
  Expected e;
  e.hops = {{"hv1", "tunnel", 100, "vxlan0", kVtep2, "hv2"}, {"hv2", "port", 1, "a3", 0, ""}};
  e.to_port = "a3";
  e.to_server = "hv2";
  e.to_ofport = 1;
  e.simulated_code = "delivered";
  e.simulated_text = "delivered to port a3 on server hv2";
  return e;
}

live::Observation seen_at(const std::string& server, const char* table, uint16_t no, double t,
                          uint32_t reg6 = 0, uint32_t tun_dst = 0) {
  live::Observation o;
  o.server = server;
  o.bridge = "br-int";
  o.table = table;
  o.reg6 = reg6;
  o.tun_dst = tun_dst;
  o.packet_no = no;
  o.time = t;
  return o;
}

// What hv1 and hv2 write for packets 1..3 when `upto` says how far each went: 0 nothing, 1 hv1
// ingress, 2 hv1 egress, 3 hv2 ingress, 4 hv2 egress (at port hv2_out).
std::map<std::string, live::Seen> answers(int upto, uint32_t hv2_out = 1, bool hv2_armed = true) {
  std::map<std::string, live::Seen> m;
  m["hv1"] = {"id", true, {}};
  if (hv2_armed) m["hv2"] = {"id", true, {}};
  for (uint16_t n = 1; n <= 3; ++n) {
    double t = n;
    if (upto >= 1) m["hv1"].observations.push_back(seen_at("hv1", "ingress", n, t));
    if (upto >= 2) m["hv1"].observations.push_back(seen_at("hv1", "egress", n, t + 0.001, 100, kVtep2));
    if (upto >= 3) m["hv2"].observations.push_back(seen_at("hv2", "ingress", n, t + 0.002));
    if (upto >= 4) m["hv2"].observations.push_back(seen_at("hv2", "egress", n, t + 0.003, hv2_out));
  }
  return m;
}

TEST(LiveVerdict, DeliveredAsSimulated) {
  LiveResult r = live_verdict(two_servers(), answers(4), 3);
  EXPECT_EQ(live_code_name(r.verdict.code), "live-delivered");
  EXPECT_EQ(live_outcome(r.verdict.code), "delivered");
  EXPECT_EQ(r.verdict.text,
            "3/3 packets delivered to port a3 on hv2; path as simulated: hv1 ingress \xe2\x86\x92 hv1 egress "
            "(VXLAN 192.168.99.2) \xe2\x86\x92 hv2 ingress \xe2\x86\x92 hv2 egress (a3)");
  ASSERT_EQ(r.packets.size(), 3u);
  EXPECT_EQ(r.packets[2].observations.size(), 4u);
  EXPECT_TRUE(r.armed.at("hv2"));
  Json j = to_json(r);
  EXPECT_EQ(j["verdict"]["code"], "live-delivered");
  EXPECT_EQ(j["packets"][0]["observations"].size(), 4u);
}

// Each node stamps its observations with its own clock when its vlcpd handled them: hv1's may be
// later than hv2's. The path follows the simulated servers; an arrival's tun_dst is no tunnel
// output.
TEST(LiveVerdict, OrderedByThePathNotByTheNodesClocks) {
  auto a = answers(4);
  for (auto& o : a["hv1"].observations) o.time += 0.5;
  for (auto& o : a["hv2"].observations) o.tun_dst = kVtep2;  // (came in by VXLAN)
  LiveResult r = live_verdict(two_servers(), a, 3);
  EXPECT_EQ(live_code_name(r.verdict.code), "live-delivered");
  EXPECT_NE(r.verdict.text.find("path as simulated: hv1 ingress \xe2\x86\x92 hv1 egress (VXLAN 192.168.99.2) "
                                "\xe2\x86\x92 hv2 ingress \xe2\x86\x92 hv2 egress (a3)"),
            std::string::npos)
      << r.verdict.text;
}

TEST(LiveVerdict, UnderlayLost) {
  LiveResult r = live_verdict(two_servers(), answers(2), 3);
  EXPECT_EQ(live_code_name(r.verdict.code), "underlay-lost");
  EXPECT_EQ(r.verdict.server, "hv1");
  EXPECT_NE(
      r.verdict.text.find("0/3 arrived: seen last leaving hv1 by VXLAN to 192.168.99.2 (hv2); never seen "
                          "entering hv2. The flows are right (simulation delivers)"),
      std::string::npos)
      << r.verdict.text;
}

TEST(LiveVerdict, LostInPipeline) {
  LiveResult r = live_verdict(two_servers(), answers(3), 3);
  EXPECT_EQ(live_code_name(r.verdict.code), "lost-in-pipeline");
  EXPECT_EQ(r.verdict.server, "hv2");
  EXPECT_NE(r.verdict.text.find("seen entering hv2 from hv1, never leaving: dropped inside hv2's pipeline. "
                                "The simulated trace says: delivered to port a3 on server hv2"),
            std::string::npos)
      << r.verdict.text;
  // Not even FROM's ingress: the injection never reached the pipeline.
  r = live_verdict(two_servers(), answers(0), 3);
  EXPECT_EQ(live_code_name(r.verdict.code), "lost-in-pipeline");
  EXPECT_NE(r.verdict.text.find("never seen, not even entering hv1's ingress"), std::string::npos);
}

TEST(LiveVerdict, Differs) {
  LiveResult r = live_verdict(two_servers(), answers(4, 0), 3);
  EXPECT_EQ(live_code_name(r.verdict.code), "live-differs");
  EXPECT_EQ(
      r.verdict.text,
      "live path differs from the simulation at hv2: simulated out_port 1 (a3), seen out_port 0 (flood): "
      "flows changed during the trace?");
}

TEST(LiveVerdict, NotArmed) {
  LiveResult r = live_verdict(two_servers(), answers(2, 1, false), 3);
  EXPECT_EQ(live_code_name(r.verdict.code), "live-not-armed");
  EXPECT_EQ(live_outcome(r.verdict.code), "incomplete");
  EXPECT_NE(r.verdict.text.find("hv2 did not arm its observation flows"), std::string::npos);
  EXPECT_FALSE(r.armed.at("hv2"));
  ASSERT_EQ(r.notes.size(), 1u);
  // Delivered all the same: delivered, with the note.
  auto a = answers(4);
  a["hv2"].armed = false;
  r = live_verdict(two_servers(), a, 3);
  EXPECT_EQ(live_code_name(r.verdict.code), "live-delivered");
  EXPECT_EQ(r.notes.size(), 1u);
}

TEST(LiveVerdict, SomeArrived) {
  auto a = answers(4);
  std::erase_if(a["hv2"].observations, [](const live::Observation& o) { return o.packet_no == 2; });
  LiveResult r = live_verdict(two_servers(), a, 3);
  EXPECT_EQ(live_code_name(r.verdict.code), "underlay-lost");
  EXPECT_EQ(r.verdict.text.rfind("2/3 arrived: seen last leaving hv1", 0), 0u) << r.verdict.text;
}

TEST(LivePacket, MarkedAndNonced) {
  PacketSpec s = default_packet(Proto::kUdp, {2, 0, 0, 0, 0, 1}, 0x0a01000b, {2, 0, 0, 0, 0, 2}, 0x0a01000d);
  s.in_port = 7;
  auto msg = live_packet_out(s, {2, 3, 0xabcdef01});
  auto frame = ofp::decode_frame(ByteSpan(msg.data(), msg.size()));
  ASSERT_TRUE(frame.ok());
  auto po = ofp::decode_packet_out(*frame);
  ASSERT_TRUE(po.ok());
  EXPECT_EQ(po->in_port, 7u);
  auto p = ofp::pkt::parse_packet(po->data);
  ASSERT_TRUE(p.view.ip);
  EXPECT_EQ(p.view.ip->tos >> 2, 1);  // DSCP 1 (LE)
  EXPECT_EQ(live::read_nonce(p.view.l4_payload), (live::Nonce{2, 3, 0xabcdef01}));
}

// The sequence on one node whose tracer app plays both servers' part.
class LiveRunTest : public apps::testing::AppNodeFixture {
 protected:
  void SetUp() override {
    AppNodeFixture::SetUp();
    configure_app("tracer",
                  "module.openflowmanager.apps = ['ioprocessing', 'l2switch', 'vxlancast', 'tracer']\n");
    release();
    model_ = std::make_unique<apps::ModelView>(*db_, after());
    app_ =
        spec_->make(apps::AppEnv{*model_, *db_, pipeline_.tables, after(), [this] { return host_.get(); }});
    host_ =
        std::make_unique<apps::AppHost>(*model_, std::vector<apps::FlowApp*>{app_.get()}, clock_, after());
    host_->set_system_id("me");
    host_->start();
    model_->start();
    host_->update_switch(1,
                         apps::SwitchView{"br-int", {{"tap1", "", "p1", "", 5}, {"tap2", "", "p2", "", 6}}});
    host_->attach(1, &sw_);
    ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
    settle();
  }
  // OVS's part: a PACKET_OUT through the pipeline meets the observation flows (when the switch
  // has them) in ingress, then in egress towards port `out`; each sends its copy.
  Status play_ovs(const std::vector<uint8_t>& msg, uint32_t out) {
    ++packet_outs_;
    auto frame = ofp::decode_frame(ByteSpan(msg.data(), msg.size()));
    if (!frame.ok()) return make_error(Errc::kMalformed, "not a frame");
    auto po = ofp::decode_packet_out(*frame);
    if (!po.ok()) return make_error(Errc::kMalformed, "not a PACKET_OUT");
    if (sw_.flows.size() != 2) return {};  // (not armed: nothing observed)
    for (const char* t : {"ingress", "egress"}) {
      uint8_t id = *pipeline_.tables.id(t);
      ofp::Match m;
      m.add(ofp::Field::kInPort, po->in_port).add(pipeline::reg::out_port, *t == 'e' ? out : 0);
      ofp::PacketInView p;
      p.total_len = uint16_t(po->data.size());
      p.reason = 1;
      p.table_id = id;
      p.cookie = flows::cookie(apps::kTracerAppId, id);
      p.data = po->data;
      InlineBuffer<2048> b;
      ofp::encode_packet_in(b, 0, p, m.oxms());
      Buffer answers;
      host_->packet_in(apps::kTracerAppId, 1, b.span(), answers);
    }
    return {};
  }
  LiveEnv env(uint32_t out) {
    LiveEnv e;
    e.db = db_.get();
    e.self = "me";
    e.after = after();
    e.send = [this, out](uint64_t dpid, std::vector<uint8_t> msg) {
      EXPECT_EQ(dpid, 1u);
      return play_ovs(msg, out);
    };
    return e;
  }
  LiveRequest request() {
    LiveRequest r;
    r.slot = 1;
    r.packet = default_packet(Proto::kIcmp, {2, 0, 0, 0, 0, 5}, 0x0a01000b, {2, 0, 0, 0, 0, 6}, 0x0a01000c);
    r.packet.in_port = 5;
    r.dpid = 1;
    r.expected.hops = {{"me", "port", 6, "p2", 0, ""}};
    r.expected.to_port = "p2";
    r.expected.to_server = "me";
    r.expected.to_ofport = 6;
    r.expected.simulated_code = "delivered";
    r.options.interval = std::chrono::milliseconds(20);
    r.options.collect_after = std::chrono::milliseconds(300);
    return r;
  }
  std::optional<LiveResult> run(LiveEnv e, LiveRequest r) {
    std::optional<Result<LiveResult>> out;
    run_live(std::move(e), std::move(r), [&](Result<LiveResult> x) { out = std::move(x); });
    EXPECT_TRUE(run_until([&] { return out.has_value(); }));
    if (!out || !out->ok()) {
      ADD_FAILURE() << (out ? out->status().to_string() : "no answer");
      return std::nullopt;
    }
    return std::move(**out);
  }
  size_t packet_outs_ = 0;
};

TEST_F(LiveRunTest, DeliveredThenTheSessionAndItsFlowsAreGone) {
  auto r = run(env(6), request());
  ASSERT_TRUE(r);
  EXPECT_EQ(live_code_name(r->verdict.code), "live-delivered") << r->verdict.text;
  EXPECT_EQ(r->sent, 3);
  EXPECT_EQ(packet_outs_, 3u);
  EXPECT_TRUE(r->armed.at("me"));
  ASSERT_EQ(r->packets.size(), 3u);
  for (const auto& p : r->packets) EXPECT_EQ(p.observations.size(), 2u);
  // The session key is empty, and the switch lost the observation flows.
  settle("after");
  EXPECT_TRUE(run_until([&] { return sw_.flows.empty(); }));
  EXPECT_TRUE(static_cast<apps::TracerApp&>(*app_).sessions().empty());
}

TEST_F(LiveRunTest, LostInThePipelineAndRefusals) {
  auto r = run(env(0), request());  // (egress toward no port: flooded, not at p2)
  ASSERT_TRUE(r);
  EXPECT_EQ(live_code_name(r->verdict.code), "live-differs") << r->verdict.text;

  LiveEnv refusing = env(6);
  refusing.send = [](uint64_t, std::vector<uint8_t>) {
    return make_error(Errc::kUnavailable, "not connected");
  };
  r = run(refusing, request());
  ASSERT_TRUE(r);
  EXPECT_EQ(live_code_name(r->verdict.code), "live-cannot-inject");
  EXPECT_EQ(r->sent, 0);

  std::optional<Result<LiveResult>> out;
  LiveRequest arp = request();
  arp.packet.proto = Proto::kArp;
  run_live(env(6), arp, [&](Result<LiveResult> x) { out = std::move(x); });
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->ok());
}

}  // namespace
}  // namespace vlcp::trace
