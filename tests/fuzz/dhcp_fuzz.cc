// libFuzzer target for the DHCP server (src/dhcp): any frame decodes without crashing or
// over-reading; a refused frame is never answered; an accepted one gets at most one reply, which a
// client's decoder reads back (both checksums right) with the request's xid and chaddr, the
// lease's address or none, and never more than the size the client allows. The same bytes as a
// PACKET_IN give a PACKET_OUT or nothing. Also replayed by dhcp_fuzz_replay inside `make test`.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "dhcp/server.h"
#include "ofp/message.h"

namespace {

using namespace vlcp;
using namespace vlcp::dhcp;

void check(bool ok) {
  if (!ok) std::abort();
}

const Lease& lease_for(const Request& r) {
  static Lease lease = [] {
    Lease l;
    l.ip = 0x0a000105;
    l.prefix = 24;
    l.router = 0x0a000101;
    l.dns = {0x0a000035};
    l.domain_name = "example.org";
    l.mtu = 1450;
    l.lease_time = 3600;
    l.routes = {{0x0a110000, 16, 0x0a0001fe}};
    l.extra = {{66, {'t', 'f', 't', 'p'}}};
    return l;
  }();
  lease.mac = r.chaddr;  // the port's own client, so decisions go past the chaddr check
  return lease;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan frame(data, size);
  ServerConfig cfg;
  Request r;
  Malformed m = decode_request(frame, r);
  InlineBuffer<1536> out;
  Counters n;
  if (m != Malformed::kNone) {
    check(malformed_name(m) != "?");
    serve_frame(cfg, &lease_for(r), frame, out, n);
    check(out.empty() && n.malformed == 1);
    return 0;
  }
  auto inside = [&](ByteSpan s) {
    return s.empty() || (s.data() >= data && s.data() + s.size() <= data + size);
  };
  check(inside(r.options) && inside(r.parameter_list) && inside(r.client_id) && inside(r.hostname));

  const Lease& lease = lease_for(r);
  Decision d = decide(cfg, lease, r);
  Outcome o = serve_frame(cfg, &lease, frame, out, n);
  check(o == d.outcome);
  check(out.empty() == (d.reply_type == 0));
  if (!out.empty()) {
    Request back;
    check(decode_reply(out.span(), back) == Malformed::kNone);
    check(back.xid == r.xid && back.chaddr == r.chaddr && back.message_type == d.reply_type);
    check(back.yiaddr == 0 || back.yiaddr == lease.ip);
    size_t ip_len = out.size() - (r.vlan_tci ? 18 : 14);
    check(ip_len <= std::max<size_t>(576, r.max_size.value_or(576)));
  }

  // The same frame through the PACKET_IN wrapper.
  ofp::Match match;
  match.add(ofp::Field::kInPort, 3);
  ofp::PacketInView pi;
  pi.total_len = static_cast<uint16_t>(size);
  pi.data = frame;
  if (size > 0xffff - 64) return 0;
  InlineBuffer<2048> msg, answers;
  ofp::encode_packet_in(msg, 1, pi, match.oxms());
  LeaseLookup lookup = [&](uint64_t, uint32_t port) { return port == 3 ? &lease : nullptr; };
  bool answered = serve_packet_in(cfg, lookup, 1, msg.span(), answers, n);
  check(answered == (d.reply_type != 0));
  if (answered) {
    auto f = ofp::decode_frame(answers.span());
    check(f.ok() && f->header.type == ofp::MsgType::kPacketOut && f->bytes.size() == answers.size());
    auto po = ofp::decode_packet_out(*f);
    check(po.ok() && po->data.size() == out.size());
  }
  return 0;
}
