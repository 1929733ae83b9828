#include "apps/l2/l2_learning.h"

#include "apps/l2/l2.h"
#include "ofp/actions.h"
#include "ofp/message.h"

namespace vlcp::apps {

Result<L2LearningConfig> l2_learning_config(const pipeline::TableMap& tables, uint16_t timeout) {
  auto l2input = tables.id("l2input"), l2learning = tables.id("l2learning");
  if (!l2input || !l2learning || !tables.next_in_path(*l2input))
    return make_error(Errc::kInvalidArgument,
                      "controller learning (module.l2switch.nxlearn = False) needs the l2switch app");
  L2LearningConfig c;
  c.l2input = *l2input;
  c.after_l2input = *tables.next_in_path(*l2input);
  c.l2learning = *l2learning;
  c.timeout = timeout;
  c.cookie = kCookieDynamic | cookie(App::kL2);
  return c;
}

bool l2_learn(const L2LearningConfig& c, ByteSpan bytes, Buffer& answers) {
  auto frame = ofp::decode_frame(bytes);
  if (!frame.ok() || frame->header.type != ofp::MsgType::kPacketIn) return false;
  auto p = ofp::decode_packet_in(*frame);
  if (!p.ok() || p->data.size() < 14) return false;
  uint64_t in_port = 0, net = 0, tun_src = 0;
  bool have_net = false;
  p->match.for_each([&](const ofp::OxmEntry& e) {
    if (!e.info) return;
    if (e.info->field == ofp::Field::kInPort) in_port = e.value_u64();
    if (e.info->field == kRegInNet) net = e.value_u64(), have_net = true;
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
  s.match.add(ofp::Field::kInPort, in_port).add(kRegInNet, net).add_bytes(ofp::Field::kEthSrc, mac);
  s.instructions.goto_table(c.after_l2input);
  ofp::encode_flow_mod(answers, 0, s);

  ofp::FlowMod f;
  f.table_id = c.l2learning;
  f.priority = 0x8000;
  f.cookie = c.cookie;
  f.hard_timeout = c.timeout;
  f.match.add(kRegOutNet, net).add_bytes(ofp::Field::kEthDst, mac);
  ofp::ActionList a;
  a.set_field(kRegOutPort, in_port);
  if (tun_src) a.set_field(ofp::Field::kTunIpv4Dst, tun_src);
  f.instructions.apply_actions(a);
  ofp::encode_flow_mod(answers, 0, f);
  return true;
}

}  // namespace vlcp::apps
