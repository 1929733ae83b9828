// OpenFlow 1.3 actions and instructions, and the Nicira (NX) actions VLCP's pipeline uses,
// declared once in VLCP_OFP_ACTIONS / VLCP_OFP_INSTRUCTIONS. ActionList and InstructionList
// hold wire bytes in inline storage and build them; validate_* check untrusted bytes (lengths,
// known types, nested fields) before anything iterates them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/buffer.h"
#include "ofp/errors.h"
#include "ofp/match.h"
#include "ofp/oxm_fields.h"

namespace vlcp::ofp {

inline constexpr uint32_t kNiciraVendor = 0x00002320;
inline constexpr uint16_t kActionTypeExperimenter = 0xffff;

// X(Enum, vendor (0 = standard, else experimenter id), type or NX subtype, wire length
//   (minimum when variable), variable length?, ovs-ofctl name)
#define VLCP_OFP_ACTIONS(X)                                      \
  X(kOutput, 0, 0, 16, false, "output")                          \
  X(kCopyTtlOut, 0, 11, 8, false, "copy_ttl_out")                \
  X(kCopyTtlIn, 0, 12, 8, false, "copy_ttl_in")                  \
  X(kSetMplsTtl, 0, 15, 8, false, "set_mpls_ttl")                \
  X(kDecMplsTtl, 0, 16, 8, false, "dec_mpls_ttl")                \
  X(kPushVlan, 0, 17, 8, false, "push_vlan")                     \
  X(kPopVlan, 0, 18, 8, false, "pop_vlan")                       \
  X(kPushMpls, 0, 19, 8, false, "push_mpls")                     \
  X(kPopMpls, 0, 20, 8, false, "pop_mpls")                       \
  X(kSetQueue, 0, 21, 8, false, "set_queue")                     \
  X(kGroup, 0, 22, 8, false, "group")                            \
  X(kSetNwTtl, 0, 23, 8, false, "mod_nw_ttl")                    \
  X(kDecNwTtl, 0, 24, 8, false, "dec_ttl")                       \
  X(kSetField, 0, 25, 8, true, "set_field")                      \
  X(kNxResubmit, kNiciraVendor, 1, 16, false, "resubmit")        \
  X(kNxSetTunnel, kNiciraVendor, 2, 16, false, "set_tunnel")     \
  X(kNxRegMove, kNiciraVendor, 6, 24, false, "move")             \
  X(kNxRegLoad, kNiciraVendor, 7, 24, false, "load")             \
  X(kNxNote, kNiciraVendor, 8, 16, true, "note")                 \
  X(kNxSetTunnel64, kNiciraVendor, 9, 24, false, "set_tunnel64") \
  X(kNxResubmitTable, kNiciraVendor, 14, 16, false, "resubmit")  \
  X(kNxOutputReg, kNiciraVendor, 15, 24, false, "output")        \
  X(kNxLearn, kNiciraVendor, 16, 32, true, "learn")              \
  X(kNxExit, kNiciraVendor, 17, 16, false, "exit")               \
  X(kNxController, kNiciraVendor, 20, 16, false, "controller")   \
  X(kNxConjunction, kNiciraVendor, 34, 16, false, "conjunction") \
  X(kNxCt, kNiciraVendor, 35, 24, true, "ct")                    \
  X(kNxNat, kNiciraVendor, 36, 16, true, "nat")                  \
  X(kNxCtClear, kNiciraVendor, 43, 16, false, "ct_clear")

enum class ActionType : uint8_t {
#define VLCP_ACTION_ENUM(e, vendor, code, len, variable, name) e,
  VLCP_OFP_ACTIONS(VLCP_ACTION_ENUM)
#undef VLCP_ACTION_ENUM
      kCount
};

struct ActionInfo {
  ActionType type;
  uint32_t vendor;
  uint16_t code;
  uint16_t length;
  bool variable;
  std::string_view name;
};

const ActionInfo& action_info(ActionType t);
const ActionInfo* find_action(uint32_t vendor, uint16_t code);

// X(Enum, type, wire length (minimum when it holds actions), holds actions?, name)
#define VLCP_OFP_INSTRUCTIONS(X)                    \
  X(kGotoTable, 1, 8, false, "goto_table")          \
  X(kWriteMetadata, 2, 24, false, "write_metadata") \
  X(kWriteActions, 3, 8, true, "write_actions")     \
  X(kApplyActions, 4, 8, true, "apply_actions")     \
  X(kClearActions, 5, 8, false, "clear_actions")    \
  X(kMeter, 6, 8, false, "meter")

enum class InstructionType : uint16_t {
#define VLCP_INSTRUCTION_ENUM(e, type, len, holds, name) e = type,
  VLCP_OFP_INSTRUCTIONS(VLCP_INSTRUCTION_ENUM)
#undef VLCP_INSTRUCTION_ENUM
};

// Reserved port numbers (OpenFlow 1.3 ofp_port_no).
enum : uint32_t {
  kPortMax = 0xffffff00,
  kPortInPort = 0xfffffff8,
  kPortTable = 0xfffffff9,
  kPortNormal = 0xfffffffa,
  kPortFlood = 0xfffffffb,
  kPortAll = 0xfffffffc,
  kPortController = 0xfffffffd,
  kPortLocal = 0xfffffffe,
  kPortAny = 0xffffffff,
};
// Open vSwitch's port space: 16-bit port numbers below 0xff00, and the reserved ports.
inline constexpr bool port_in_range(uint32_t p) {
  return p < 0xff00 || p >= kPortMax;
}
// What an output action may name.
inline constexpr bool output_port_ok(uint32_t p) {
  return p < 0xff00 || (p >= kPortInPort && p <= kPortLocal);
}
inline constexpr uint16_t kNoBuffer16 = 0xffff;  // max_len: send the whole packet
inline constexpr uint8_t kTableNone = 0xff;      // resubmit: this table

// One action in a validated list: its declaration and its bytes (header included).
struct ActionView {
  const ActionInfo* info;
  ByteSpan bytes;
};

// The part of a field an NX action reads or writes: bits [ofs, ofs + n_bits) of `field`.
struct Subfield {
  Field field;
  uint16_t ofs = 0;
  uint16_t n_bits = 0;  // 0 = the whole field
};

// One flow_mod_spec of a learn action.
struct LearnSpec {
  enum class Kind : uint8_t { kMatch, kLoad, kOutput };
  Kind kind;
  uint16_t n_bits;
  bool src_immediate;
  Subfield src;        // when !src_immediate
  ByteSpan immediate;  // when src_immediate: n_bits rounded up to 16-bit units
  Subfield dst;        // when kind != kOutput
};

// Fields of a learn action besides its specs.
struct LearnHeader {
  uint16_t idle_timeout = 0;
  uint16_t hard_timeout = 0;
  uint16_t priority = 0x8000;
  uint64_t cookie = 0;
  uint16_t flags = 0;
  uint8_t table_id = 0;
  uint16_t fin_idle_timeout = 0;
  uint16_t fin_hard_timeout = 0;
};

// Validates an action list (inside an instruction, a PACKET_OUT or a group bucket).
std::optional<OfpError> validate_actions(ByteSpan actions);

// Calls fn(const ActionView&) for each action of a validated list.
template <typename Fn>
void for_each_action(ByteSpan actions, Fn&& fn) {
  size_t pos = 0;
  while (pos + 8 <= actions.size()) {
    uint16_t type = load_be16(actions.data() + pos);
    uint16_t len = load_be16(actions.data() + pos + 2);
    const ActionInfo* info =
        type == kActionTypeExperimenter
            ? find_action(load_be32(actions.data() + pos + 4), load_be16(actions.data() + pos + 8))
            : find_action(0, type);
    fn(ActionView{info, actions.subspan(pos, len)});
    pos += len;
  }
}

// A NAT action's arguments (NXAST_NAT).
struct NatArgs {
  enum : uint16_t { kSrc = 1, kDst = 2, kPersistent = 4, kHash = 8, kRandom = 16 };
  uint16_t flags = 0;
  int family = 0;  // 0 none, 4 or 6: which address range is present
  uint32_t v4_min = 0, v4_max = 0;
  std::array<uint8_t, 16> v6_min{}, v6_max{};
  uint16_t proto_min = 0, proto_max = 0;
};
// Reads and checks a NAT action (OVS's rules): false when malformed.
bool decode_nat(ByteSpan nat_action, NatArgs* out);

// Reads a validated learn action: its header and up to max_specs specs; returns the count.
size_t decode_learn(ByteSpan learn_action, LearnHeader* header, LearnSpec* specs, size_t max_specs);
// Reads the Subfield an NX action names with a 32-bit NXM/OXM header and ofs/n_bits.
Subfield make_subfield(uint32_t header, uint16_t ofs, uint16_t n_bits);
// Width in bits of a field as NX actions address it: its significant bits (vlan_vid: 12).
inline uint16_t field_bits(Field f) {
  return field_info(f).bits;
}

// An action list under construction (also holds decoded ones). Builders append in order.
class ActionList {
 public:
  ActionList() = default;
  explicit ActionList(ByteSpan validated) { bytes_.assign(validated); }

  ActionList& output(uint32_t port, uint16_t max_len = 0);
  ActionList& controller(uint16_t max_len = kNoBuffer16) { return output(kPortController, max_len); }
  ActionList& group(uint32_t group_id);
  ActionList& set_queue(uint32_t queue_id);
  ActionList& push_vlan(uint16_t ethertype = 0x8100);
  ActionList& pop_vlan();
  ActionList& dec_ttl();
  ActionList& set_nw_ttl(uint8_t ttl);
  ActionList& set_field(Field f, uint64_t value);
  ActionList& set_field_bytes(Field f, ByteSpan value);
  // Nicira extensions.
  ActionList& resubmit(uint16_t in_port, uint8_t table = kTableNone);  // in_port 0xfff8: IN_PORT
  ActionList& reg_load(Subfield dst, uint64_t value);
  ActionList& reg_move(Subfield src, Subfield dst);
  ActionList& output_reg(Subfield src, uint16_t max_len = 0);
  ActionList& note(ByteSpan bytes);
  ActionList& conjunction(uint32_t id, uint8_t clause, uint8_t n_clauses);  // clause is 1-based
  ActionList& exit();
  ActionList& learn(const LearnHeader& header, std::initializer_list<LearnSpec> specs);
  ActionList& ct(uint16_t flags, uint16_t zone_imm, uint8_t recirc_table, const ActionList& nested);
  ActionList& ct_clear();

  ByteSpan bytes() const { return bytes_.span(); }
  bool empty() const { return bytes_.size() == 0; }
  bool on_heap() const { return bytes_.on_heap(); }
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for_each_action(bytes(), fn);
  }

 private:
  uint8_t* nx_header(uint16_t subtype, uint16_t len);
  SmallBytes<128> bytes_;
};

// Checks that actions make sense for packets the match admits (OVS's "consistency" rules):
// set_field and NX field actions need their field's prerequisites, TTL and ct actions need IP,
// VLAN fields need a VLAN header (matched or pushed).
std::optional<OfpError> check_actions_consistent(ByteSpan actions, MatchFacts facts, bool action_set = false);
// The same for every action list in an instruction list.
std::optional<OfpError> check_instructions_consistent(ByteSpan instructions, const MatchFacts& facts);

// Validates an instruction list (FLOW_MOD, flow stats).
std::optional<OfpError> validate_instructions(ByteSpan instructions);

struct InstructionView {
  InstructionType type;
  ByteSpan bytes;    // the whole instruction
  ByteSpan actions;  // for write/apply actions
};

template <typename Fn>
void for_each_instruction(ByteSpan instructions, Fn&& fn) {
  size_t pos = 0;
  while (pos + 8 <= instructions.size()) {
    uint16_t type = load_be16(instructions.data() + pos);
    uint16_t len = load_be16(instructions.data() + pos + 2);
    ByteSpan whole = instructions.subspan(pos, len);
    InstructionView v{static_cast<InstructionType>(type), whole, {}};
    if (type == 3 || type == 4) v.actions = whole.subspan(8);
    fn(v);
    pos += len;
  }
}

class InstructionList {
 public:
  InstructionList() = default;
  explicit InstructionList(ByteSpan validated) { bytes_.assign(validated); }

  InstructionList& goto_table(uint8_t table);
  InstructionList& write_metadata(uint64_t value, uint64_t mask);
  InstructionList& apply_actions(const ActionList& actions);
  InstructionList& write_actions(const ActionList& actions);
  InstructionList& clear_actions();
  InstructionList& meter(uint32_t meter_id);

  ByteSpan bytes() const { return bytes_.span(); }
  bool on_heap() const { return bytes_.on_heap(); }
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for_each_instruction(bytes(), fn);
  }

 private:
  SmallBytes<192> bytes_;
};

// ofs_nbits as NX actions encode it: ofs << 6 | (n_bits - 1).
constexpr uint16_t nx_ofs_nbits(uint16_t ofs, uint16_t n_bits) {
  return static_cast<uint16_t>((ofs << 6) | (n_bits - 1));
}

}  // namespace vlcp::ofp
