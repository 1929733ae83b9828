// The DHCP server's packet logic on one core (issue 16): a DISCOVER frame to its OFFER frame
// (decode, decide, encode with checksums), and the worker handler's whole path, PACKET_IN to
// PACKET_OUT, with a lease looked up per message. Frames per second are items_per_second.
#include <benchmark/benchmark.h>

#include <unordered_map>

#include "dhcp/server.h"
#include "ofp/message.h"

namespace {

using namespace vlcp;
using namespace vlcp::dhcp;

constexpr Mac kClient = {0x02, 0, 0, 0, 0, 7};

// dhclient's DISCOVER, built with the server's own encoder's helpers: a request frame by hand.
std::vector<uint8_t> discover_frame() {
  InlineBuffer<512> body;
  ofp::pkt::Dhcp d;
  d.op = 1;
  d.htype = 1;
  d.hlen = 6;
  d.xid = 0x1234;
  d.chaddr = kClient;
  d.magic = ofp::pkt::kDhcpMagic;
  d.encode(body);
  const uint8_t options[] = {53, 1,  1,  55,  13, 1,  28, 2,    3,    15,  6,   119, 12,
                             44, 47, 26, 121, 42, 57, 2,  0x05, 0xdc, 61,  7,   1,   2,
                             0,  0,  0,  0,   7,  12, 5,  'h',  'o',  's', 't', '7', 255};
  body.append(ByteSpan(options, sizeof options));
  body.resize(300);
  InlineBuffer<1024> frame;
  ofp::pkt::build_udp(frame, kClient, Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, 0xffffffff, 68, 67,
                      body.span());
  return {frame.data(), frame.data() + frame.size()};
}

Lease lease() {
  Lease l;
  l.mac = kClient;
  l.ip = 0x0a000105;
  l.prefix = 24;
  l.router = 0x0a000101;
  l.dns = {0x0a000035, 0x08080808};
  l.domain_name = "example.org";
  l.hostname = "host7";
  l.mtu = 1450;
  l.lease_time = 86400;
  l.routes = {{0x0a110000, 16, 0x0a0001fe}};
  return l;
}

void BM_DiscoverToOffer(benchmark::State& state) {
  auto frame = discover_frame();
  Lease l = lease();
  ServerConfig cfg;
  Counters n;
  InlineBuffer<1536> out;
  for (auto _ : state) {
    out.clear();
    serve_frame(cfg, &l, ByteSpan(frame), out, n);
    benchmark::DoNotOptimize(out.data());
  }
  if (n.offers != uint64_t(state.iterations())) state.SkipWithError("not an offer");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DiscoverToOffer);

// The worker handler's path: PACKET_IN decoded, lease found among 1000 ports, OFFER in a PACKET_OUT.
void BM_PacketInToPacketOut(benchmark::State& state) {
  auto frame = discover_frame();
  ofp::Match m;
  m.add(ofp::Field::kInPort, 7).add(ofp::Field::kReg5, 0x1001);
  ofp::PacketInView p;
  p.total_len = static_cast<uint16_t>(frame.size());
  p.data = ByteSpan(frame);
  InlineBuffer<1024> msg;
  ofp::encode_packet_in(msg, 0, p, m.oxms());
  std::unordered_map<uint32_t, Lease> leases;
  for (uint32_t port = 1; port <= 1000; ++port) leases[port] = lease();
  LeaseLookup lookup = [&](uint64_t, uint32_t port) -> const Lease* {
    auto it = leases.find(port);
    return it == leases.end() ? nullptr : &it->second;
  };
  ServerConfig cfg;
  Counters n;
  InlineBuffer<2048> answers;
  for (auto _ : state) {
    answers.clear();
    serve_packet_in(cfg, lookup, 1, msg.span(), answers, n);
    benchmark::DoNotOptimize(answers.data());
  }
  if (n.offers != uint64_t(state.iterations())) state.SkipWithError("not an offer");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacketInToPacketOut);

void BM_DecodeDiscover(benchmark::State& state) {
  auto frame = discover_frame();
  Request r;
  for (auto _ : state) benchmark::DoNotOptimize(decode_request(ByteSpan(frame), r));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeDiscover);

}  // namespace

BENCHMARK_MAIN();
