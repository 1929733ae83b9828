#include "switch/learning.h"

#include "ofp/actions.h"
#include "ofp/message.h"

namespace vlcp::sw {

bool learn(const LearningConfig& c, ByteSpan bytes, Buffer& suppress, Buffer& forward) {
  auto frame = ofp::decode_frame(bytes);
  if (!frame.ok() || frame->header.type != ofp::MsgType::kPacketIn) return false;
  auto p = ofp::decode_packet_in(*frame);
  if (!p.ok() || p->data.size() < 14) return false;
  uint64_t in_port = 0, net = 0, tun_src = 0;
  bool have_net = false;
  p->match.for_each([&](const ofp::OxmEntry& e) {
    if (!e.info) return;
    if (e.info->field == ofp::Field::kInPort) in_port = e.value_u64();
    if (e.info->field == ofp::Field::kReg4) net = e.value_u64(), have_net = true;
    if (e.info->field == ofp::Field::kTunIpv4Src) tun_src = e.value_u64();
  });
  const uint8_t* src = p->data.data() + 6;
  if (!have_net || in_port == 0 || (src[0] & 1)) return false;
  ByteSpan mac(src, 6);

  ofp::FlowMod s;
  s.table_id = c.l2input;
  s.priority = 0x8000;
  s.cookie = c.cookie;
  s.hard_timeout = static_cast<uint16_t>(c.timeout > 1 ? c.timeout / 2 : 1);
  s.match.add(ofp::Field::kInPort, in_port).add(ofp::Field::kReg4, net).add_bytes(ofp::Field::kEthSrc, mac);
  s.instructions.goto_table(c.after_l2input);
  ofp::encode_flow_mod(suppress, 0, s);

  ofp::FlowMod f;
  f.table_id = c.l2learning;
  f.priority = 0x8000;
  f.cookie = c.cookie;
  f.hard_timeout = c.timeout;
  f.match.add(ofp::Field::kReg5, net).add_bytes(ofp::Field::kEthDst, mac);
  ofp::ActionList a;
  a.set_field(ofp::Field::kReg6, in_port);
  if (tun_src) a.set_field(ofp::Field::kTunIpv4Dst, tun_src);
  f.instructions.apply_actions(a);
  ofp::encode_flow_mod(forward, 0, f);
  return true;
}

}  // namespace vlcp::sw
