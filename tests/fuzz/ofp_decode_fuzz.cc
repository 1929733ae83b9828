// libFuzzer target for the OpenFlow decoders, differential against Open vSwitch's codec:
// the input (after its header is made well formed, so the fuzzer reaches the bodies) must be
// accepted by both decoders or rejected by both, and FLOW_MODs both accept must print the same.
// Also replayed by ofp_fuzz_replay_test inside `make test`.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ofp/message.h"
#include "ofp/print.h"
#include "oracle/ovs_oracle.h"

namespace {

// Message types whose decoding we check against OVS. Others are decoded for safety only.
bool differential(uint8_t type) {
  switch (static_cast<vlcp::ofp::MsgType>(type)) {
    case vlcp::ofp::MsgType::kFlowMod:
    case vlcp::ofp::MsgType::kPacketOut:
    case vlcp::ofp::MsgType::kPacketIn:
    case vlcp::ofp::MsgType::kGroupMod:
    case vlcp::ofp::MsgType::kFeaturesReply:
    case vlcp::ofp::MsgType::kEchoReply:
    case vlcp::ofp::MsgType::kFlowRemoved:
    case vlcp::ofp::MsgType::kRoleRequest:
    case vlcp::ofp::MsgType::kRoleReply:
    case vlcp::ofp::MsgType::kSetConfig:
    case vlcp::ofp::MsgType::kGetConfigReply:
    case vlcp::ofp::MsgType::kBarrierReply:
    case vlcp::ofp::MsgType::kPortStatus:
    case vlcp::ofp::MsgType::kHello:
    case vlcp::ofp::MsgType::kEchoRequest:
    case vlcp::ofp::MsgType::kBarrierRequest:
      return true;
    default:
      return false;
  }
}

// Divergences by design, not bugs: we decode only the Nicira actions and OXM/NXM fields we
// declare (OVS knows more), and we declare the OpenFlow 1.3 fields OVS does not implement
// (in_phy_port, pbb_isid, ipv6_exthdr). OVS also accepts the OpenFlow 1.1 set-header actions
// (types 1-10, 13, 14) that OpenFlow 1.3 removed, and lacks copy_ttl_in/out, which 1.3 has;
// we follow the 1.3 specification. Likewise OVS still reads OpenFlow 1.1's fixed "standard"
// match (type 0), which 1.3 deprecates; we take OXM matches only. OVS takes its OpenFlow 1.5
// and extension group commands (insert/remove bucket, add-or-modify) in 1.3 messages too. Likewise OVS still
// reads OpenFlow 1.1's fixed "standard" match (type 0), which 1.3 deprecates; we take OXM matches only.
// Either side rejecting for those reasons is expected; so is our rejecting a match that holds a
// field OVS lacks (see mentions_field_ovs_lacks).
// Whether the message may hold an OXM for a field OpenFlow 1.3 defines and OVS does not
// (in_phy_port, pbb_isid, ipv6_exthdr): OVS skips them in PACKET_IN matches, we check them.
bool mentions_field_ovs_lacks(const std::vector<uint8_t>& msg) {
  for (size_t i = 0; i + 3 <= msg.size(); ++i) {
    if (msg[i] != 0x80 || msg[i + 1] != 0x00) continue;
    uint8_t number = msg[i + 2] >> 1;  // the field number's 7 bits, above the has-mask bit
    if (number == 1 || number == 37 || number == 39) return true;
  }
  return false;
}

bool known_divergence(std::optional<vlcp::ofp::OfpError> ours, const std::string& ovs_error,
                      const std::vector<uint8_t>& msg) {
  using namespace vlcp::ofp::errors;
  if (ours && ours->type == static_cast<uint16_t>(vlcp::ofp::ErrorType::kBadMatch) &&
      mentions_field_ovs_lacks(msg))
    return true;
  if (ours &&
      (*ours == kBadAction_BAD_EXP_TYPE || *ours == kBadMatch_BAD_FIELD || *ours == kBadAction_BAD_SET_TYPE ||
       *ours == kBadAction_BAD_TYPE || *ours == kBadMatch_BAD_TYPE || *ours == kGroupModFailed_BAD_COMMAND))
    return true;
  // A set_field of a field OVS lacks: OVS says BAD_SET_TYPE, or BAD_SET_LEN when its header
  // shares a hash bucket with a field of another length (nxm_field_by_header's lookup).
  if (!ours && ovs_error == "OFPBAC_BAD_SET_LEN" && mentions_field_ovs_lacks(msg)) return true;
  return !ours && (ovs_error == "OFPBMC_BAD_FIELD" || ovs_error == "OFPBAC_BAD_SET_TYPE" ||
                   ovs_error == "OFPBAC_BAD_TYPE");
}

[[noreturn]] void disagree(const std::vector<uint8_t>& msg, const std::string& what) {
  std::fprintf(stderr, "DIFFERENTIAL MISMATCH: %s\nmessage: %s\n", what.c_str(),
               vlcp::to_hex(vlcp::ByteSpan(msg.data(), msg.size())).c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vlcp::ofp;
  // Our decoder on the raw bytes: must never crash or over-read, whatever they are.
  (void)validate_message(vlcp::ByteSpan(data, size));
  if (size < 8 || size > 0xffff) return 0;

  std::vector<uint8_t> msg(data, data + size);
  msg[0] = kOfp13;
  msg[2] = static_cast<uint8_t>(size >> 8);
  msg[3] = static_cast<uint8_t>(size);
  vlcp::ByteSpan span(msg.data(), msg.size());
  auto ours = validate_message(span);
  (void)print_message(span);
  // `make test` runs the libFuzzer pass for safety only (VLCP_FUZZ_DIFFERENTIAL=0): a new
  // divergence found by chance must not make CI flaky; the deterministic replay and
  // `make fuzz` check agreement with OVS.
  static const bool check_ovs = [] {
    const char* v = std::getenv("VLCP_FUZZ_DIFFERENTIAL");
    return !v || std::strcmp(v, "0") != 0;
  }();
  if (!check_ovs || !differential(msg[1])) return 0;

  char* name = nullptr;
  int theirs = ovs_oracle_decode(msg.data(), msg.size(), &name);
  std::string ovs_error = name ? name : "";
  std::free(name);
  // A PACKET_IN's match may carry fields we do not declare: we skip them (a loose match allows
  // it), OVS interprets them (tun_metadata, conntrack fields, ...) and may reject what it reads
  // there (a duplicate, a bad value). Whatever it says about them is out of our scope.
  auto type = static_cast<MsgType>(msg[1]);
  bool undeclared_fields = false;
  if (type == MsgType::kPacketIn && !ours) {
    auto pin = decode_packet_in(*decode_frame(span));
    pin->match.for_each([&](const OxmEntry& e) { undeclared_fields = undeclared_fields || !e.info; });
    if (undeclared_fields && theirs != 0) return 0;
  }
  if (ours.has_value() != (theirs != 0) && !known_divergence(ours, ovs_error, msg)) {
    disagree(msg, std::string("ours: ") + (ours ? error_name(*ours) : "accepted") +
                      ", OVS: " + (theirs ? ovs_error : "accepted"));
  }
  if (!ours && theirs == 0) {
    char* text = ovs_oracle_print(msg.data(), msg.size());
    std::string ovs_text(text);
    std::free(text);
    while (!ovs_text.empty() && ovs_text.back() == '\n') ovs_text.pop_back();
    std::string our_text = print_message(span);
    // Packet dissection lines cover Ethernet, VLAN, ARP and IPv4 (TCP/UDP/ICMP) only: compare
    // the message line of PACKET_IN/OUT, and the whole text of everything else.
    if (undeclared_fields) return 0;  // OVS prints them, so the texts can only agree without
    if (type == MsgType::kPacketIn || type == MsgType::kPacketOut) {
      ovs_text = ovs_text.substr(0, ovs_text.find('\n'));
      our_text = our_text.substr(0, our_text.find('\n'));
    }
    if (our_text != ovs_text) disagree(msg, "text differs:\n ours: " + our_text + "\n  OVS: " + ovs_text);
  }
  return 0;
}
