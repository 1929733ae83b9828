// Codec speed: the PACKET_IN decode and FLOW_MOD encode that sit on the controller's hot paths,
// PACKET_OUT encode, and parsing the ARP and DHCP packets the responders answer.
// Targets (issue 3): >= 10 M PACKET_IN decodes/s and >= 5 M FLOW_MOD encodes/s on one core.
#include <benchmark/benchmark.h>

#include "ofp/message.h"
#include "ofp/packet.h"

namespace {

using namespace vlcp;
using namespace vlcp::ofp;

std::vector<uint8_t> packet_in_message() {
  static const uint8_t frame[64] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
  Match m;
  m.add(Field::kInPort, 3).add(Field::kReg0, 9).add(Field::kReg4, 0x1001).add(Field::kMetadata, 0x10);
  PacketInView p;
  p.total_len = sizeof frame;
  p.reason = 1;
  p.table_id = 4;
  p.data = ByteSpan(frame, sizeof frame);
  InlineBuffer<256> b;
  encode_packet_in(b, 7, p, m.oxms());
  return {b.data(), b.data() + b.size()};
}

void BM_DecodePacketIn(benchmark::State& state) {
  auto msg = packet_in_message();
  for (auto _ : state) {
    auto frame = decode_frame(ByteSpan(msg));
    auto p = decode_packet_in(*frame);
    auto port = p->match.find(Field::kInPort);
    benchmark::DoNotOptimize(port);
    benchmark::DoNotOptimize(p->data.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodePacketIn);

// A typical pipeline flow: a multi-table match with registers and metadata, NX actions.
FlowMod typical_flow_mod() {
  FlowMod m;
  m.table_id = 5;
  m.priority = 200;
  m.cookie = 0x1000000000000042;
  m.match.add(Field::kReg4, 0x1001)
      .add_masked(Field::kMetadata, 0x20, 0xffff)
      .add(Field::kEthType, 0x0800)
      .add(Field::kIpv4Dst, 0x0a000002)
      .add(Field::kEthDst, 0x020000000002ULL);
  m.instructions
      .apply_actions(ActionList()
                         .set_field(Field::kReg5, 7)
                         .reg_load(Subfield{Field::kReg6, 0, 16}, 3)
                         .set_field(Field::kTunnelId, 5001)
                         .resubmit(0xfff8, 7))
      .goto_table(6);
  return m;
}

void BM_EncodeFlowMod(benchmark::State& state) {
  FlowMod m = typical_flow_mod();
  InlineBuffer<512> out;
  uint32_t xid = 0;
  for (auto _ : state) {
    out.clear();
    encode_flow_mod(out, ++xid, m);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeFlowMod);

// Building the FlowMod (match + actions) and encoding it: what an app's change costs.
void BM_BuildAndEncodeFlowMod(benchmark::State& state) {
  InlineBuffer<512> out;
  uint32_t xid = 0;
  for (auto _ : state) {
    FlowMod m = typical_flow_mod();
    out.clear();
    encode_flow_mod(out, ++xid, m);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildAndEncodeFlowMod);

void BM_EncodePacketOut(benchmark::State& state) {
  static const uint8_t frame[64] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06};
  PacketOut p;
  p.in_port = kPortController;
  p.actions.set_field(Field::kReg4, 0x1001).resubmit(0xfff8, 3);
  p.data = ByteSpan(frame, sizeof frame);
  InlineBuffer<256> out;
  for (auto _ : state) {
    out.clear();
    encode_packet_out(out, 1, p);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodePacketOut);

void BM_ParseArp(benchmark::State& state) {
  using namespace vlcp::ofp::pkt;
  InlineBuffer<128> f;
  build_arp(f, 1, Mac{2, 0, 0, 0, 0, 1}, 0x0a000001, Mac{}, 0x0a000002,
            Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  for (auto _ : state) {
    auto r = parse_packet(f.span());
    benchmark::DoNotOptimize(r.view.arp->tpa);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseArp);

void BM_ParseDhcp(benchmark::State& state) {
  using namespace vlcp::ofp::pkt;
  Dhcp fixed;
  fixed.op = 1;
  fixed.htype = 1;
  fixed.hlen = 6;
  fixed.chaddr = Mac{2, 0, 0, 0, 0, 1};
  DhcpBuilder b(fixed);
  const uint8_t params[] = {1, 3, 6, 15, 26, 121};
  ByteSpan body = b.option_u8(DhcpOption::kMessageType, 1)
                      .option(DhcpOption::kParameterList, ByteSpan(params, sizeof params))
                      .finish();
  InlineBuffer<700> f;
  build_udp(f, fixed.chaddr, Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, 0xffffffff, kDhcpClientPort,
            kDhcpServerPort, body);
  for (auto _ : state) {
    auto r = parse_packet(f.span());
    auto type = find_dhcp_option(r.view.dhcp_options, DhcpOption::kMessageType);
    benchmark::DoNotOptimize(type);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseDhcp);

}  // namespace

BENCHMARK_MAIN();
