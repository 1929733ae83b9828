// Action and instruction validation and building. Every length is checked against the
// declaration table before an action's own fields are read.
#include "ofp/actions.h"

#include <array>

namespace vlcp::ofp {
namespace {

using namespace errors;

constexpr std::array<ActionInfo, static_cast<size_t>(ActionType::kCount)> kActions = {{
#define VLCP_ACTION_INFO(e, vendor, code, len, variable, name) \
  {ActionType::e, vendor, code, len, variable, name},
    VLCP_OFP_ACTIONS(VLCP_ACTION_INFO)
#undef VLCP_ACTION_INFO
}};

struct InstructionInfo {
  uint16_t type;
  uint16_t length;
  bool holds_actions;
};

constexpr InstructionInfo kInstructions[] = {
#define VLCP_INSTRUCTION_INFO(e, type, len, holds, name) {type, len, holds},
    VLCP_OFP_INSTRUCTIONS(VLCP_INSTRUCTION_INFO)
#undef VLCP_INSTRUCTION_INFO
};

// A field named by an NX action: known (else BAD_SET_TYPE), unmasked, and bits
// [ofs, ofs + n_bits) inside its significant bits (else BAD_SET_LEN, as OVS's mf_check__).
std::optional<OfpError> check_subfield(uint32_t header, uint16_t ofs, uint16_t n_bits) {
  const FieldInfo* f = find_action_field(header);
  if (!f) return kBadAction_BAD_SET_TYPE;
  if (n_bits == 0 || ofs + n_bits > f->bits) return kBadAction_BAD_SET_LEN;
  return std::nullopt;
}

// A field an NX action writes: a valid subfield (check_subfield) that is also
// writable (else BAD_SET_ARGUMENT).
std::optional<OfpError> check_dst_subfield(uint32_t header, uint16_t ofs, uint16_t n_bits) {
  if (auto err = check_subfield(header, ofs, n_bits)) return err;
  if (!field_writable(find_action_field(header)->field)) return kBadAction_BAD_SET_ARGUMENT;
  return std::nullopt;
}

bool all_zero(ByteSpan b) {
  for (uint8_t x : b)
    if (x) return false;
  return true;
}

// Where an action list sits: nesting rules differ (OVS's ofpacts_verify_nested).
enum class Outer { kNone, kCt };

std::optional<OfpError> validate_list(ByteSpan actions, Outer outer);

std::optional<OfpError> validate_nat(ByteSpan a) {
  NatArgs args;
  if (!decode_nat(a, &args)) return kBadAction_BAD_ARGUMENT;
  return std::nullopt;
}

bool is_ct_field(uint32_t header) {
  const FieldInfo* f = find_field(oxm_class(header), oxm_number(header));
  return f && (f->field == Field::kCtMark || f->field == Field::kCtLabel);
}

// The header of the field an action writes (set_field, reg_load, reg_move), else 0.
uint32_t written_field(const ActionInfo& info, ByteSpan a) {
  switch (info.type) {
    case ActionType::kSetField:
      return load_be32(a.data() + 4);
    case ActionType::kNxRegLoad:
      return load_be32(a.data() + 12);
    case ActionType::kNxRegMove:
      return load_be32(a.data() + 20);
    default:
      return 0;
  }
}

std::optional<OfpError> validate_ct(ByteSpan a) {
  uint16_t flags = load_be16(a.data() + 10);
  enum : uint16_t { kCommit = 1, kForce = 2 };
  if ((flags & kForce) && !(flags & kCommit)) return kBadAction_BAD_ARGUMENT;
  uint32_t zone_src = load_be32(a.data() + 12);
  if (zone_src) {
    uint16_t ofs_nbits = load_be16(a.data() + 16);
    if (auto err = check_subfield(zone_src, ofs_nbits >> 6, (ofs_nbits & 0x3f) + 1)) return err;
    if ((ofs_nbits & 0x3f) + 1 != 16) return kBadAction_BAD_SET_LEN;
  }
  ByteSpan nested = a.subspan(24);
  if (auto err = validate_list(nested, Outer::kCt)) return err;
  // Without commit, only a bare nat may run inside ct.
  std::optional<OfpError> error;
  if (!(flags & kCommit)) {
    for_each_action(nested, [&](const ActionView& v) {
      bool bare_nat = v.info->type == ActionType::kNxNat && load_be16(v.bytes.data() + 12) == 0 &&
                      (load_be16(v.bytes.data() + 14) & 0x0f) == 0;
      if (!bare_nat) error = kBadAction_BAD_ARGUMENT;
    });
  }
  return error;
}

std::optional<OfpError> validate_learn(ByteSpan a) {
  // pad; table 255 is not a table; flags: send_flow_rem (1) and delete_learned (2) only
  if (a[27] != 0 || a[26] == 0xff || (load_be16(a.data() + 24) & ~3u)) return kBadAction_BAD_ARGUMENT;
  size_t pos = 32;
  while (pos + 2 <= a.size()) {
    uint16_t h = load_be16(a.data() + pos);
    if (h == 0) break;  // padding
    pos += 2;
    uint16_t n_bits = h & 0x3ff;
    bool src_imm = (h >> 13) & 1;
    unsigned dst_type = (h >> 11) & 3;
    // Output takes its port from a field, never an immediate.
    if (dst_type == 3 || (dst_type == 2 && src_imm)) return kBadAction_BAD_ARGUMENT;
    if (src_imm) {
      size_t bytes = 2 * ((n_bits + 15u) / 16);
      if (a.size() - pos < bytes) return kBadAction_BAD_LEN;
      pos += bytes;
    } else {
      if (a.size() - pos < 6) return kBadAction_BAD_LEN;
      if (auto err = check_subfield(load_be32(a.data() + pos), load_be16(a.data() + pos + 4), n_bits))
        return err;
      pos += 6;
    }
    if (dst_type != 2) {
      if (a.size() - pos < 6) return kBadAction_BAD_LEN;
      // dst_type 1 loads the field in the learned flow: it must be writable.
      auto check = dst_type == 1 ? check_dst_subfield : check_subfield;
      if (auto err = check(load_be32(a.data() + pos), load_be16(a.data() + pos + 4), n_bits)) return err;
      pos += 6;
    }  // output: the port comes from the source field, of any width (OVS checks none)
  }
  if (pos < a.size() && !all_zero(a.subspan(pos))) return kBadAction_BAD_ARGUMENT;
  return std::nullopt;
}

std::optional<OfpError> validate_one(const ActionInfo& info, ByteSpan a, Outer outer) {
  // Inside ct, only writes of ct_mark/ct_label (set_field, reg_load, reg_move) and nat are
  // allowed; those writes only there (OVS's ofpacts_verify_nested).
  if (outer == Outer::kCt && info.type != ActionType::kNxNat && !is_ct_field(written_field(info, a)))
    return kBadAction_BAD_ARGUMENT;
  const uint8_t* p = a.data();
  switch (info.type) {
    case ActionType::kOutput: {
      if (!output_port_ok(load_be32(p + 4))) return kBadAction_BAD_OUT_PORT;
      return std::nullopt;
    }
    case ActionType::kPushVlan: {
      uint16_t et = load_be16(p + 4);
      if (et != 0x8100 && et != 0x88a8) return kBadAction_BAD_ARGUMENT;
      return std::nullopt;
    }
    case ActionType::kPushMpls: {
      uint16_t et = load_be16(p + 4);
      if (et != 0x8847 && et != 0x8848) return kBadAction_BAD_ARGUMENT;
      return std::nullopt;
    }
    case ActionType::kSetField: {
      if (a.size() < 8) return kBadAction_BAD_SET_LEN;
      uint32_t h = load_be32(p + 4);
      // An experimenter OXM (ONF's tcp_flags, actset_output) carries its id before the value.
      const bool exp = oxm_class(h) == kOxmClassExperimenter;
      const FieldInfo* f = !exp             ? find_field(oxm_class(h), oxm_number(h))
                           : a.size() >= 12 ? find_experimenter_field(load_be32(p + 8), oxm_number(h))
                                            : nullptr;
      if (!f) return kBadAction_BAD_SET_TYPE;
      if (oxm_masked(h)) return kBadAction_BAD_SET_ARGUMENT;  // OVS: BAD_SET_MASK, which 1.3 lacks
      const unsigned len = f->bytes + (exp ? 4u : 0u);
      if (oxm_length(h) != len || a.size() != (8u + len + 7u) / 8 * 8) return kBadAction_BAD_SET_LEN;
      if (!all_zero(a.subspan(8 + len))) return kBadAction_BAD_SET_ARGUMENT;
      if (outer != Outer::kCt && is_ct_field(h)) return kBadAction_BAD_SET_ARGUMENT;  // only inside ct
      // OpenFlow forbids setting in_port; read-only fields and impossible values are refused;
      // a VLAN ID set must say OFPVID_PRESENT.
      const uint8_t* value = p + 8 + (exp ? 4 : 0);
      if (f->field == Field::kInPort || !field_writable(f->field) || !field_value_valid(f->field, value) ||
          (f->field == Field::kVlanVid && !(load_be16(value) & 0x1000)))
        return kBadAction_BAD_SET_ARGUMENT;
      return std::nullopt;
    }
    case ActionType::kNxResubmitTable:
      if (!all_zero(a.subspan(13, 3))) return kBadAction_BAD_ARGUMENT;
      return std::nullopt;
    case ActionType::kNxRegMove: {
      uint16_t n_bits = load_be16(p + 10), src_ofs = load_be16(p + 12), dst_ofs = load_be16(p + 14);
      if (auto err = check_subfield(load_be32(p + 16), src_ofs, n_bits)) return err;
      if (auto err = check_dst_subfield(load_be32(p + 20), dst_ofs, n_bits)) return err;
      if (outer != Outer::kCt && is_ct_field(load_be32(p + 20))) return kBadAction_BAD_SET_ARGUMENT;
      return std::nullopt;
    }
    case ActionType::kNxRegLoad: {
      uint16_t ofs_nbits = load_be16(p + 10);
      uint16_t ofs = ofs_nbits >> 6, n_bits = (ofs_nbits & 0x3f) + 1;
      if (auto err = check_dst_subfield(load_be32(p + 12), ofs, n_bits)) return err;
      uint64_t value = load_be64(p + 16);
      if (n_bits < 64 && (value >> n_bits) != 0) return kBadAction_BAD_ARGUMENT;
      if (outer != Outer::kCt && is_ct_field(load_be32(p + 12))) return kBadAction_BAD_SET_ARGUMENT;
      return std::nullopt;
    }
    case ActionType::kNxOutputReg: {
      uint16_t ofs_nbits = load_be16(p + 10);
      if (auto err = check_subfield(load_be32(p + 12), ofs_nbits >> 6, (ofs_nbits & 0x3f) + 1)) return err;
      if (!all_zero(a.subspan(18, 6))) return kBadAction_BAD_ARGUMENT;
      return std::nullopt;
    }
    case ActionType::kNxConjunction: {
      uint8_t clause = p[10], n_clauses = p[11];
      if (n_clauses < 2 || n_clauses > 64 || clause >= n_clauses) return kBadAction_BAD_ARGUMENT;
      return std::nullopt;
    }
    case ActionType::kNxLearn:
      return validate_learn(a);
    case ActionType::kNxCt:
      if (outer == Outer::kCt) return kBadAction_BAD_ARGUMENT;
      return validate_ct(a);
    case ActionType::kNxNat:
      if (outer != Outer::kCt) return kBadAction_BAD_SET_ARGUMENT;
      return validate_nat(a);
    default:
      return std::nullopt;
  }
}

std::optional<OfpError> validate_list(ByteSpan actions, Outer outer) {
  size_t pos = 0;
  bool conjunction = false, other = false;
  while (pos < actions.size()) {
    if (actions.size() - pos < 8) return kBadAction_BAD_LEN;
    const uint8_t* p = actions.data() + pos;
    uint16_t type = load_be16(p), len = load_be16(p + 2);
    if (len < 8 || len % 8 != 0 || len > actions.size() - pos) return kBadAction_BAD_LEN;
    const ActionInfo* info;
    if (type == kActionTypeExperimenter) {
      if (len < 16) return kBadAction_BAD_LEN;
      uint32_t vendor = load_be32(p + 4);
      if (vendor != kNiciraVendor) return kBadAction_BAD_EXPERIMENTER;
      info = find_action(vendor, load_be16(p + 8));
      if (!info) return kBadAction_BAD_EXP_TYPE;
    } else {
      info = find_action(0, type);
      if (!info) return kBadAction_BAD_TYPE;
    }
    if (info->variable ? len < info->length : len != info->length) return kBadAction_BAD_LEN;
    if (auto err = validate_one(*info, actions.subspan(pos, len), outer)) return err;
    if (info->type == ActionType::kNxConjunction)
      conjunction = true;
    else if (info->type != ActionType::kNxNote)
      other = true;
    pos += len;
  }
  // Conjunctions mix with nothing but notes (OVS: NXBAC_BAD_CONJUNCTION).
  if (conjunction && other) return kBadAction_BAD_ARGUMENT;
  return std::nullopt;
}

void put_uint(uint8_t* p, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[bytes - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t subfield_header(const Subfield& s) {
  return oxm_header(nxm_encoding(s.field), false);
}
uint16_t subfield_bits(const Subfield& s) {
  return s.n_bits ? s.n_bits : field_bits(s.field);
}

}  // namespace

bool decode_nat(ByteSpan a, NatArgs* n) {
  *n = NatArgs{};
  n->flags = load_be16(a.data() + 12);
  uint16_t ranges = load_be16(a.data() + 14);
  constexpr uint16_t kAllFlags = 31;
  if ((n->flags & ~kAllFlags) || ((n->flags & NatArgs::kSrc) && (n->flags & NatArgs::kDst)) ||
      ((n->flags & NatArgs::kHash) && (n->flags & NatArgs::kRandom)))
    return false;
  enum : uint16_t { kV4Min = 1, kV4Max = 2, kV6Min = 4, kV6Max = 8, kProtoMin = 16, kProtoMax = 32 };
  ByteReader r(a.subspan(16));
  if (ranges & kV4Min) {
    if ((ranges & (kV6Min | kV6Max)) || !r.read_be32(&n->v4_min)) return false;
    if ((ranges & kV4Max) && (!r.read_be32(&n->v4_max) || n->v4_max < n->v4_min)) return false;
    n->family = 4;
  } else if (ranges & kV4Max) {
    return false;
  } else if (ranges & kV6Min) {
    ByteSpan lo, hi;
    if (!r.take(16, &lo)) return false;
    std::memcpy(n->v6_min.data(), lo.data(), 16);
    if (ranges & kV6Max) {
      if (!r.take(16, &hi) || std::memcmp(hi.data(), lo.data(), 16) < 0) return false;
      std::memcpy(n->v6_max.data(), hi.data(), 16);
    }
    n->family = 6;
  } else if (ranges & kV6Max) {
    return false;
  }
  if (ranges & kProtoMin) {
    if (!n->family || !r.read_be16(&n->proto_min) || n->proto_min == 0) return false;
    if ((ranges & kProtoMax) && (!r.read_be16(&n->proto_max) || n->proto_max < n->proto_min)) return false;
  } else if (ranges & kProtoMax) {
    return false;
  }
  return true;
}

const ActionInfo& action_info(ActionType t) {
  return kActions[static_cast<size_t>(t)];
}

const ActionInfo* find_action(uint32_t vendor, uint16_t code) {
  for (const ActionInfo& a : kActions)
    if (a.vendor == vendor && a.code == code) return &a;
  return nullptr;
}

std::optional<OfpError> validate_actions(ByteSpan actions) {
  return validate_list(actions, Outer::kNone);
}

Subfield make_subfield(uint32_t header, uint16_t ofs, uint16_t n_bits) {
  const FieldInfo* f = find_action_field(header);
  return Subfield{f ? f->field : Field::kInPort, ofs, n_bits};
}

size_t decode_learn(ByteSpan a, LearnHeader* h, LearnSpec* specs, size_t max_specs) {
  const uint8_t* p = a.data();
  h->idle_timeout = load_be16(p + 10);
  h->hard_timeout = load_be16(p + 12);
  h->priority = load_be16(p + 14);
  h->cookie = load_be64(p + 16);
  h->flags = load_be16(p + 24);
  h->table_id = p[26];
  h->fin_idle_timeout = load_be16(p + 28);
  h->fin_hard_timeout = load_be16(p + 30);
  size_t n = 0, pos = 32;
  while (pos + 2 <= a.size() && n < max_specs) {
    uint16_t hdr = load_be16(p + pos);
    if (hdr == 0) break;
    pos += 2;
    LearnSpec s{};
    s.n_bits = hdr & 0x3ff;
    s.src_immediate = (hdr >> 13) & 1;
    unsigned dst_type = (hdr >> 11) & 3;
    s.kind = dst_type == 0   ? LearnSpec::Kind::kMatch
             : dst_type == 1 ? LearnSpec::Kind::kLoad
                             : LearnSpec::Kind::kOutput;
    if (s.src_immediate) {
      size_t bytes = 2 * ((s.n_bits + 15u) / 16);
      s.immediate = a.subspan(pos, bytes);
      pos += bytes;
    } else {
      s.src = make_subfield(load_be32(p + pos), load_be16(p + pos + 4), s.n_bits);
      pos += 6;
    }
    if (s.kind != LearnSpec::Kind::kOutput) {
      s.dst = make_subfield(load_be32(p + pos), load_be16(p + pos + 4), s.n_bits);
      pos += 6;
    }
    specs[n++] = s;
  }
  return n;
}

// --- ActionList ---------------------------------------------------------------------------

uint8_t* ActionList::nx_header(uint16_t subtype, uint16_t len) {
  uint8_t* p = bytes_.extend(len);
  std::memset(p, 0, len);
  store_be16(p, kActionTypeExperimenter);
  store_be16(p + 2, len);
  store_be32(p + 4, kNiciraVendor);
  store_be16(p + 8, subtype);
  return p;
}

namespace {
// Appends a zeroed type-length record (an action or an instruction) and returns it.
template <size_t N>
uint8_t* put_tlv(SmallBytes<N>& b, uint16_t type, uint16_t len) {
  uint8_t* p = b.extend(len);
  std::memset(p, 0, len);
  store_be16(p, type);
  store_be16(p + 2, len);
  return p;
}
}  // namespace

ActionList& ActionList::output(uint32_t port, uint16_t max_len) {
  uint8_t* p = put_tlv(bytes_, 0, 16);
  store_be32(p + 4, port);
  store_be16(p + 8, max_len);
  return *this;
}
ActionList& ActionList::group(uint32_t group_id) {
  store_be32(put_tlv(bytes_, 22, 8) + 4, group_id);
  return *this;
}
ActionList& ActionList::set_queue(uint32_t queue_id) {
  store_be32(put_tlv(bytes_, 21, 8) + 4, queue_id);
  return *this;
}
ActionList& ActionList::push_vlan(uint16_t ethertype) {
  store_be16(put_tlv(bytes_, 17, 8) + 4, ethertype);
  return *this;
}
ActionList& ActionList::pop_vlan() {
  put_tlv(bytes_, 18, 8);
  return *this;
}
ActionList& ActionList::dec_ttl() {
  put_tlv(bytes_, 24, 8);
  return *this;
}
ActionList& ActionList::set_nw_ttl(uint8_t ttl) {
  put_tlv(bytes_, 23, 8)[4] = ttl;
  return *this;
}
ActionList& ActionList::set_field(Field f, uint64_t value) {
  const FieldInfo& i = field_info(f);
  uint16_t len = static_cast<uint16_t>((8 + i.bytes + 7) / 8 * 8);
  uint8_t* p = put_tlv(bytes_, 25, len);
  store_be32(p + 4, oxm_header(oxm_encoding(f), false));
  put_uint(p + 8, value, i.bytes);
  return *this;
}
ActionList& ActionList::set_field_bytes(Field f, ByteSpan value) {
  const FieldInfo& i = field_info(f);
  uint16_t len = static_cast<uint16_t>((8 + i.bytes + 7) / 8 * 8);
  uint8_t* p = put_tlv(bytes_, 25, len);
  store_be32(p + 4, oxm_header(oxm_encoding(f), false));
  std::memcpy(p + 8, value.data(), std::min<size_t>(value.size(), i.bytes));
  return *this;
}
ActionList& ActionList::resubmit(uint16_t in_port, uint8_t table) {
  uint8_t* p = nx_header(14, 16);
  store_be16(p + 10, in_port);
  p[12] = table;
  return *this;
}
ActionList& ActionList::reg_load(Subfield dst, uint64_t value) {
  uint8_t* p = nx_header(7, 24);
  store_be16(p + 10, nx_ofs_nbits(dst.ofs, subfield_bits(dst)));
  store_be32(p + 12, subfield_header(dst));
  store_be64(p + 16, value);
  return *this;
}
ActionList& ActionList::reg_move(Subfield src, Subfield dst) {
  uint8_t* p = nx_header(6, 24);
  store_be16(p + 10, subfield_bits(src));
  store_be16(p + 12, src.ofs);
  store_be16(p + 14, dst.ofs);
  store_be32(p + 16, subfield_header(src));
  store_be32(p + 20, subfield_header(dst));
  return *this;
}
ActionList& ActionList::output_reg(Subfield src, uint16_t max_len) {
  uint8_t* p = nx_header(15, 24);
  store_be16(p + 10, nx_ofs_nbits(src.ofs, subfield_bits(src)));
  store_be32(p + 12, subfield_header(src));
  store_be16(p + 16, max_len);
  return *this;
}
ActionList& ActionList::note(ByteSpan bytes) {
  uint16_t len = static_cast<uint16_t>((10 + bytes.size() + 7) / 8 * 8);
  if (len < 16) len = 16;
  uint8_t* p = nx_header(8, len);
  std::memcpy(p + 10, bytes.data(), bytes.size());
  return *this;
}
ActionList& ActionList::conjunction(uint32_t id, uint8_t clause, uint8_t n_clauses) {
  uint8_t* p = nx_header(34, 16);
  p[10] = static_cast<uint8_t>(clause - 1);  // 0-based on the wire
  p[11] = n_clauses;
  store_be32(p + 12, id);
  return *this;
}
ActionList& ActionList::exit() {
  nx_header(17, 16);
  return *this;
}
ActionList& ActionList::learn(const LearnHeader& h, std::initializer_list<LearnSpec> specs) {
  size_t body = 0;
  for (const LearnSpec& s : specs) {
    body += 2 + (s.src_immediate ? 2 * ((s.n_bits + 15u) / 16) : 6u) +
            (s.kind != LearnSpec::Kind::kOutput ? 6u : 0u);
  }
  uint16_t len = static_cast<uint16_t>((32 + body + 7) / 8 * 8);
  size_t start = bytes_.size();
  nx_header(16, len);
  uint8_t* p = bytes_.data() + start;
  store_be16(p + 10, h.idle_timeout);
  store_be16(p + 12, h.hard_timeout);
  store_be16(p + 14, h.priority);
  store_be64(p + 16, h.cookie);
  store_be16(p + 24, h.flags);
  p[26] = h.table_id;
  store_be16(p + 28, h.fin_idle_timeout);
  store_be16(p + 30, h.fin_hard_timeout);
  size_t pos = 32;
  for (const LearnSpec& s : specs) {
    unsigned dst_type = s.kind == LearnSpec::Kind::kMatch ? 0 : s.kind == LearnSpec::Kind::kLoad ? 1 : 2;
    store_be16(p + pos,
               static_cast<uint16_t>((s.src_immediate ? 1u << 13 : 0u) | (dst_type << 11) | s.n_bits));
    pos += 2;
    if (s.src_immediate) {
      size_t bytes = 2 * ((s.n_bits + 15u) / 16);
      // Right-aligned: the immediate's last bytes are the value's last bytes.
      size_t copy = std::min(bytes, s.immediate.size());
      std::memcpy(p + pos + bytes - copy, s.immediate.data() + s.immediate.size() - copy, copy);
      pos += bytes;
    } else {
      store_be32(p + pos, subfield_header(s.src));
      store_be16(p + pos + 4, s.src.ofs);
      pos += 6;
    }
    if (s.kind != LearnSpec::Kind::kOutput) {
      store_be32(p + pos, subfield_header(s.dst));
      store_be16(p + pos + 4, s.dst.ofs);
      pos += 6;
    }
  }
  return *this;
}
ActionList& ActionList::ct(uint16_t flags, uint16_t zone_imm, uint8_t recirc_table,
                           const ActionList& nested) {
  size_t start = bytes_.size();
  nx_header(35, static_cast<uint16_t>(24 + nested.bytes().size()));
  uint8_t* p = bytes_.data() + start;
  store_be16(p + 10, flags);
  store_be16(p + 16, zone_imm);  // zone_src 0: an immediate zone
  p[18] = recirc_table;
  std::memcpy(p + 24, nested.bytes().data(), nested.bytes().size());
  return *this;
}
ActionList& ActionList::ct_clear() {
  nx_header(43, 16);
  return *this;
}

// --- consistency with the match --------------------------------------------------------------

namespace {
bool field_ok(const MatchFacts& facts, uint32_t header, bool set_field = false) {
  const FieldInfo* f =
      set_field ? find_field(oxm_class(header), oxm_number(header)) : find_action_field(header);
  if (!f) return false;
  // Setting OXM vlan_vid needs a VLAN header to write into (OVS: "lacks prerequisites").
  if (set_field && f->field == Field::kVlanVid && !facts.vlan_present) return false;
  return facts.satisfied(f->prereq);
}
// A learn action reads its sources from the packet (the flow's match must allow them) and
// builds a flow whose match fields need their own prerequisites, which only the immediate
// match specs before them can provide (OVS's learn_check).
std::optional<OfpError> check_learn_consistent(ByteSpan action, const MatchFacts& facts) {
  LearnHeader header;
  LearnSpec specs[64];
  size_t n = decode_learn(action, &header, specs, 64);
  MatchFacts learned;
  for (size_t i = 0; i < n; ++i) {
    const LearnSpec& s = specs[i];
    if (!s.src_immediate && !facts.satisfied(field_info(s.src.field).prereq))
      return kBadAction_MATCH_INCONSISTENT;
    if (s.kind == LearnSpec::Kind::kOutput) continue;
    if (!learned.satisfied(field_info(s.dst.field).prereq)) return kBadAction_MATCH_INCONSISTENT;
    if (s.kind == LearnSpec::Kind::kMatch && s.src_immediate && s.dst.ofs == 0 &&
        s.n_bits == field_bits(s.dst.field)) {
      uint64_t v = 0;
      for (uint8_t b : s.immediate) v = (v << 8) | b;
      Field c = canonical_field(s.dst.field);
      if (c == Field::kEthType) learned.eth_type = static_cast<uint16_t>(v);
      if (c == Field::kIpProto) learned.ip_proto = static_cast<uint8_t>(v);
      if (c == Field::kIcmpv6Type) learned.icmpv6_type = static_cast<uint8_t>(v);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<OfpError> check_actions_consistent(ByteSpan actions, MatchFacts facts, bool action_set) {
  std::optional<OfpError> error;
  // Like OVS, an action set (write_actions) is held only to the hard rules: its actions run
  // later, in a fixed order, on a packet the match no longer describes.
  auto soft = [&] {
    if (!action_set) error = kBadAction_MATCH_INCONSISTENT;
  };
  for_each_action(actions, [&](const ActionView& a) {
    if (error) return;
    const uint8_t* p = a.bytes.data();
    const bool ip = facts.satisfied(Prereq::kIp);
    switch (a.info->type) {
      case ActionType::kPushVlan:
        facts.vlan_present = true;
        break;
      case ActionType::kPopVlan:
        if (!facts.vlan_present) soft();
        facts.vlan_present = false;
        break;
      case ActionType::kPushMpls:
        facts.eth_type = load_be16(p + 4);
        break;
      case ActionType::kPopMpls:
        if (!facts.satisfied(Prereq::kMpls)) soft();
        facts.eth_type = load_be16(p + 4);
        break;
      case ActionType::kSetMplsTtl:
      case ActionType::kDecMplsTtl:
        if (!facts.satisfied(Prereq::kMpls)) soft();
        break;
      case ActionType::kSetField:
        if (!field_ok(facts, load_be32(p + 4), true)) error = kBadAction_MATCH_INCONSISTENT;
        // Setting the whole NXM TCI says whether a VLAN header is there from now on.
        if (find_action_field(load_be32(p + 4)) == &field_info(Field::kNxmVlanTci))
          facts.vlan_present = (load_be16(p + 8) & 0x1000) != 0;
        break;
      case ActionType::kNxRegLoad: {
        // OVS turns a reg_load into a masked set_field and checks it as one.
        if (!field_ok(facts, load_be32(p + 12), true)) error = kBadAction_MATCH_INCONSISTENT;
        // Into vlan_tci, OVS's check_SET_FIELD takes the value, placed at its offset, as the
        // whole TCI whatever bits the load covers: reg_load:5->NXM_OF_VLAN_TCI[0..11] leaves no
        // VLAN header (CFI, bit 12, reads 0) and a VLAN action after it is inconsistent. We
        // decide as OVS does, not by the range (ofp_field_exhaustive_test sweeps every range).
        if (find_action_field(load_be32(p + 12)) == &field_info(Field::kNxmVlanTci)) {
          uint16_t ofs = load_be16(p + 10) >> 6;
          facts.vlan_present = ofs <= 12 && ((load_be64(p + 16) << ofs) & 0x1000) != 0;
        }
        break;
      }
      case ActionType::kNxOutputReg:
        if (!field_ok(facts, load_be32(p + 12))) error = kBadAction_MATCH_INCONSISTENT;
        break;
      case ActionType::kNxRegMove:
        // OVS checks a move's fields only: a move into vlan_tci leaves VLAN presence as it was.
        if (!field_ok(facts, load_be32(p + 16)) || !field_ok(facts, load_be32(p + 20)))
          error = kBadAction_MATCH_INCONSISTENT;
        break;
      case ActionType::kDecNwTtl:
      case ActionType::kSetNwTtl:
        if (!ip) soft();
        break;
      case ActionType::kNxCt: {
        uint16_t alg = load_be16(p + 22);
        if (!ip || (alg == 21 && facts.ip_proto != 6) || (alg == 69 && facts.ip_proto != 17))
          error = kBadAction_MATCH_INCONSISTENT;
        else
          error = check_actions_consistent(a.bytes.subspan(24), facts, action_set);
        break;
      }
      case ActionType::kNxNat: {
        NatArgs nat;
        decode_nat(a.bytes, &nat);
        if (!ip || (nat.family == 4 && facts.eth_type != 0x0800) ||
            (nat.family == 6 && facts.eth_type != 0x86dd))
          error = kBadAction_MATCH_INCONSISTENT;
        break;
      }
      case ActionType::kNxLearn:
        error = check_learn_consistent(a.bytes, facts);
        break;
      default:
        break;
    }
  });
  return error;
}

std::optional<OfpError> check_instructions_consistent(ByteSpan instructions, const MatchFacts& facts) {
  std::optional<OfpError> error;
  for_each_instruction(instructions, [&](const InstructionView& i) {
    if (!error && !i.actions.empty())
      error = check_actions_consistent(i.actions, facts, i.type == InstructionType::kWriteActions);
  });
  return error;
}

// --- instructions ---------------------------------------------------------------------------

std::optional<OfpError> validate_instructions(ByteSpan ins) {
  size_t pos = 0;
  uint32_t seen = 0;
  while (pos < ins.size()) {
    if (ins.size() - pos < 8) return kBadInstruction_BAD_LEN;
    const uint8_t* p = ins.data() + pos;
    uint16_t type = load_be16(p), len = load_be16(p + 2);
    if (len < 8 || len % 8 != 0 || len > ins.size() - pos) return kBadInstruction_BAD_LEN;
    const InstructionInfo* info = nullptr;
    for (const InstructionInfo& i : kInstructions)
      if (i.type == type) info = &i;
    if (!info) return type == 0xffff ? kBadInstruction_BAD_EXPERIMENTER : kBadInstruction_UNKNOWN_INST;
    if (info->holds_actions ? len < info->length : len != info->length) return kBadInstruction_BAD_LEN;
    if (seen & (1u << type)) return kBadInstruction_UNSUP_INST;  // each at most once
    seen |= 1u << type;
    if (type == static_cast<uint16_t>(InstructionType::kMeter)) {
      uint32_t meter = load_be32(p + 4);
      if (meter == 0 || meter > 0xffff0000u) return kMeterModFailed_INVALID_METER;  // 0 and reserved ids
    }
    if (info->holds_actions) {
      if (auto err = validate_actions(ins.subspan(pos + 8, len - 8u))) return err;
    }
    pos += len;
  }
  return std::nullopt;
}

namespace {
// An instruction that holds an action list (write/apply actions).
template <size_t N>
void put_actions_instruction(SmallBytes<N>& b, InstructionType type, const ActionList& actions) {
  uint8_t* p = put_tlv(b, static_cast<uint16_t>(type), static_cast<uint16_t>(8 + actions.bytes().size()));
  std::memcpy(p + 8, actions.bytes().data(), actions.bytes().size());
}
}  // namespace

InstructionList& InstructionList::goto_table(uint8_t table) {
  put_tlv(bytes_, 1, 8)[4] = table;
  return *this;
}
InstructionList& InstructionList::write_metadata(uint64_t value, uint64_t mask) {
  uint8_t* p = put_tlv(bytes_, 2, 24);
  store_be64(p + 8, value);
  store_be64(p + 16, mask);
  return *this;
}
InstructionList& InstructionList::apply_actions(const ActionList& actions) {
  put_actions_instruction(bytes_, InstructionType::kApplyActions, actions);
  return *this;
}
InstructionList& InstructionList::write_actions(const ActionList& actions) {
  put_actions_instruction(bytes_, InstructionType::kWriteActions, actions);
  return *this;
}
InstructionList& InstructionList::clear_actions() {
  put_tlv(bytes_, 5, 8);
  return *this;
}
InstructionList& InstructionList::meter(uint32_t meter_id) {
  store_be32(put_tlv(bytes_, 6, 8) + 4, meter_id);
  return *this;
}

}  // namespace vlcp::ofp
