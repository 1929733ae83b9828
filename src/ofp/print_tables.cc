// TABLE_FEATURES as `ovs-ofctl ofp-print` writes it. OVS first reduces each table to its own
// view (instruction kinds, OVS action kinds, field bitmaps by OVS field id, with the miss
// properties defaulting to the others), then prints a table only where it differs from the
// previous one ("ditto" runs, "(same instructions)"...), and field lists abbreviated
// ("eth_{src,dst,type}", "reg0...reg15"). We build the same view from the typed
// `TableFeatures`, with OVS's names and orders declared once below.
#include <algorithm>
#include <bitset>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "base/text.h"
#include "ofp/bodies.h"
#include "ofp/match.h"
#include "ofp/oxm_fields.h"
#include "ofp/print.h"

namespace vlcp::ofp {
namespace {

// OVS's instruction kinds, in its order (execution order): X(OpenFlow type, name).
#define VLCP_OVS_INSTRUCTIONS(X) \
  X(6, "meter")                  \
  X(4, "apply_actions")          \
  X(5, "clear_actions")          \
  X(3, "write_actions")          \
  X(2, "write_metadata")         \
  X(1, "goto_table")

// The OpenFlow 1.3 action types OVS maps to its own action kinds (ofpacts), in ofpact order,
// with the ofpact's name: X(OpenFlow type, name). Types OVS does not support (copy TTL, PBB,
// experimenter) are left out of its view, as here.
#define VLCP_OVS_OFPACTS13(X) \
  X(0, "output")              \
  X(22, "group")              \
  X(25, "set_field")          \
  X(18, "strip_vlan")         \
  X(17, "push_vlan")          \
  X(23, "mod_nw_ttl")         \
  X(24, "dec_ttl")            \
  X(15, "set_mpls_ttl")       \
  X(16, "dec_mpls_ttl")       \
  X(19, "push_mpls")          \
  X(20, "pop_mpls")           \
  X(21, "set_queue")

// OVS's field ids (enum mf_field_id) in order, by OVS field name, for the fields we declare.
// A field OVS lacks (in_phy_port, pbb_isid, ipv6_exthdr) is not listed: OVS ignores it here.
constexpr std::string_view kOvsFieldOrder[] = {
    "conj_id",       "tun_id",      "tun_src",   "tun_dst",  "metadata", "in_port",   "in_port_oxm",
    "actset_output", "pkt_mark",    "ct_state",  "ct_zone",  "ct_mark",  "ct_label",  "reg0",
    "reg1",          "reg2",        "reg3",      "reg4",     "reg5",     "reg6",      "reg7",
    "reg8",          "reg9",        "reg10",     "reg11",    "reg12",    "reg13",     "reg14",
    "reg15",         "eth_src",     "eth_dst",   "eth_type", "vlan_tci", "vlan_vid",  "vlan_pcp",
    "mpls_label",    "mpls_tc",     "mpls_bos",  "ip_src",   "ip_dst",   "ipv6_src",  "ipv6_dst",
    "ipv6_label",    "nw_proto",    "nw_tos",    "ip_dscp",  "nw_ecn",   "nw_ttl",    "ip_frag",
    "arp_op",        "arp_spa",     "arp_tpa",   "arp_sha",  "arp_tha",  "tcp_src",   "tcp_dst",
    "tcp_flags",     "udp_src",     "udp_dst",   "sctp_src", "sctp_dst", "icmp_type", "icmp_code",
    "icmpv6_type",   "icmpv6_code", "nd_target", "nd_sll",   "nd_tll",
};
constexpr size_t kOvsFields = std::size(kOvsFieldOrder);
using FieldSet = std::bitset<kOvsFields>;

std::optional<size_t> ovs_field_rank(std::string_view mf_name) {
  for (size_t i = 0; i < kOvsFields; ++i)
    if (kOvsFieldOrder[i] == mf_name) return i;
  return std::nullopt;
}

// The field an OXM id names, as OVS's header lookup reads it: the length must be the field's
// (twice it, give or take a byte, when the mask bit is set).
const FieldInfo* oxm_id_field(uint64_t id) {
  uint32_t header = static_cast<uint32_t>(id);
  unsigned len = oxm_length(header);
  const FieldInfo* info = nullptr;
  if (oxm_class(header) == kOxmClassExperimenter) {
    info = find_experimenter_field(static_cast<uint32_t>(id >> 32), oxm_number(header));
    if (len < 4) return nullptr;
    len -= 4;
  } else {
    info = find_field(oxm_class(header), oxm_number(header));
  }
  if (!info) return nullptr;
  if (oxm_masked(header)) len /= 2;
  return len == info->bytes ? info : nullptr;
}

struct ActionFeatures {
  uint32_t ofpacts = 0;  // bit i: VLCP_OVS_OFPACTS13's i-th kind
  FieldSet set_fields;
  bool operator==(const ActionFeatures&) const = default;
  bool empty() const { return !ofpacts && set_fields.none(); }
};

struct InstructionFeatures {
  std::bitset<255> next;
  uint32_t instructions = 0;  // bit i: VLCP_OVS_INSTRUCTIONS's i-th kind
  ActionFeatures write, apply;
  bool empty() const { return next.none() && !instructions && write.empty() && apply.empty(); }
};

struct OvsTable {
  uint8_t table_id = 0;
  std::string name;
  uint64_t metadata_match = 0, metadata_write = 0;
  int eviction = -1, vacancy = -1;  // OpenFlow 1.4 capabilities; -1 in 1.3
  uint32_t max_entries = 0;
  InstructionFeatures nonmiss, miss;
  FieldSet match, mask, wildcard;
};

// Next-table sets are equal when they differ only in the later table's own id (a table may
// not go to itself or an earlier one, so consecutive tables always differ there).
bool next_equal(const std::bitset<255>& a, int a_id, const std::bitset<255>& b, int b_id) {
  if (b_id == a_id + 1 && b_id < 255 && a[b_id] && !b[b_id]) {
    std::bitset<255> d = a ^ b;
    d.reset(b_id);
    return d.none();
  }
  if (a_id == b_id + 1) return next_equal(b, b_id, a, a_id);
  return a == b;
}

bool instructions_equal(const InstructionFeatures& a, int a_id, const InstructionFeatures& b, int b_id) {
  return next_equal(a.next, a_id, b.next, b_id) && a.instructions == b.instructions && a.write == b.write &&
         a.apply == b.apply;
}

bool features_equal(const OvsTable& a, const OvsTable& b) {
  return a.metadata_match == b.metadata_match && a.metadata_write == b.metadata_write &&
         a.eviction == b.eviction && a.vacancy == b.vacancy && a.max_entries == b.max_entries &&
         instructions_equal(a.nonmiss, a.table_id, b.nonmiss, b.table_id) &&
         instructions_equal(a.miss, a.table_id, b.miss, b.table_id) && a.match == b.match;
}

// One table's OVS view, or OVS's error name for what it refuses.
std::optional<std::string_view> to_ovs(const TableFeatures& t, uint8_t version, OvsTable* out) {
  static constexpr uint16_t kInstTypes[] = {
#define VLCP_INST_TYPE(type, name) type,
      VLCP_OVS_INSTRUCTIONS(VLCP_INST_TYPE)
#undef VLCP_INST_TYPE
  };
  static constexpr uint16_t kActTypes[] = {
#define VLCP_ACT_TYPE(type, name) type,
      VLCP_OVS_OFPACTS13(VLCP_ACT_TYPE)
#undef VLCP_ACT_TYPE
  };
  OvsTable& o = *out;
  if (t.table_id == 0xff) return "OFPTFFC_BAD_TABLE";
  o.table_id = t.table_id;
  o.name = t.name;
  o.metadata_match = t.metadata_match;
  o.metadata_write = t.metadata_write;
  if (version >= 5) {  // OpenFlow 1.4: the config word is capabilities
    o.eviction = (t.config & (1u << 2)) != 0;
    o.vacancy = (t.config & (1u << 3)) != 0;
  }
  o.max_entries = t.max_entries;

  auto instructions = [&](const std::vector<uint64_t>& ids) {
    uint32_t bits = 0;
    for (uint64_t id : ids)
      for (size_t i = 0; i < std::size(kInstTypes); ++i)
        if (id == kInstTypes[i]) bits |= 1u << i;
    return bits;
  };
  auto actions = [&](const std::vector<uint64_t>& ids) {
    uint32_t bits = 0;
    for (uint64_t id : ids)
      for (size_t i = 0; i < std::size(kActTypes); ++i)
        if (id == kActTypes[i]) bits |= 1u << i;
    return bits;
  };
  // Exact and masked ids of the fields OVS knows; others are ignored, as OVS does for a reply.
  auto fields = [&](const std::vector<uint64_t>& ids, FieldSet* exact, FieldSet* masked) {
    for (uint64_t id : ids) {
      const FieldInfo* info = oxm_id_field(id);
      auto rank = info ? ovs_field_rank(info->mf_name) : std::nullopt;
      if (!rank) continue;
      (oxm_masked(static_cast<uint32_t>(id)) ? *masked : *exact).set(*rank);
    }
  };
  auto next = [&](const std::vector<uint64_t>& ids, std::bitset<255>* bits) {
    for (uint64_t id : ids) {
      if (id >= 255) return false;
      bits->set(id);
    }
    return true;
  };

  using P = TableFeatureProp;
  auto has = [&](P p) { return t.props.count(p) != 0; };
  for (P p : {P::kInstructions, P::kNextTables, P::kWriteActions, P::kApplyActions, P::kMatch, P::kWildcards,
              P::kWriteSetfield, P::kApplySetfield})
    if (!has(p)) return "OFPTFFC_BAD_FEATURES";  // OpenFlow 1.3 and 1.4 require them all

  for (const auto& [p, ids] : t.props) {
    switch (p) {
      case P::kInstructions:
        o.nonmiss.instructions = instructions(ids);
        break;
      case P::kInstructionsMiss:
        o.miss.instructions = instructions(ids);
        break;
      case P::kNextTables:
        if (!next(ids, &o.nonmiss.next)) return "OFPBPC_BAD_VALUE";
        break;
      case P::kNextTablesMiss:
        if (!next(ids, &o.miss.next)) return "OFPBPC_BAD_VALUE";
        break;
      case P::kWriteActions:
        o.nonmiss.write.ofpacts = actions(ids);
        break;
      case P::kWriteActionsMiss:
        o.miss.write.ofpacts = actions(ids);
        break;
      case P::kApplyActions:
        o.nonmiss.apply.ofpacts = actions(ids);
        break;
      case P::kApplyActionsMiss:
        o.miss.apply.ofpacts = actions(ids);
        break;
      case P::kMatch:
        fields(ids, &o.match, &o.mask);
        break;
      default: {
        FieldSet* target = p == P::kWildcards           ? &o.wildcard
                           : p == P::kWriteSetfield     ? &o.nonmiss.write.set_fields
                           : p == P::kWriteSetfieldMiss ? &o.miss.write.set_fields
                           : p == P::kApplySetfield     ? &o.nonmiss.apply.set_fields
                           : p == P::kApplySetfieldMiss ? &o.miss.apply.set_fields
                                                        : nullptr;
        if (!target) break;  // experimenter properties: OVS skips them in a reply
        FieldSet masked;
        fields(ids, target, &masked);
        if (masked.any()) return "OFPBMC_BAD_MASK";  // only MATCH may list masked fields
        break;
      }
    }
  }
  // A miss property that is absent repeats its non-miss counterpart.
  if (!has(P::kInstructionsMiss)) o.miss.instructions = o.nonmiss.instructions;
  if (!has(P::kNextTablesMiss)) o.miss.next = o.nonmiss.next;
  if (!has(P::kWriteActionsMiss)) o.miss.write.ofpacts = o.nonmiss.write.ofpacts;
  if (!has(P::kApplyActionsMiss)) o.miss.apply.ofpacts = o.nonmiss.apply.ofpacts;
  if (!has(P::kWriteSetfieldMiss)) o.miss.write.set_fields = o.nonmiss.write.set_fields;
  if (!has(P::kApplySetfieldMiss)) o.miss.apply.set_fields = o.nonmiss.apply.set_fields;
  // Maskable fields are matchable and may be wildcarded; only matchable ones are wildcards.
  o.match |= o.mask;
  o.wildcard |= o.mask;
  o.wildcard &= o.match;
  return std::nullopt;
}

// OVS's abbreviations of a name list: common prefixes ending in "_" ("eth_{src,dst,type}")
// and numbered runs of three or more ("reg0...reg15").
bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}
bool sequential(std::string_view a, std::string_view b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  if (i == a.size() && i == b.size()) return false;
  std::string_view x = a.substr(i), y = b.substr(i);
  return all_digits(x) && all_digits(y) && x.size() < 10 && y.size() < 10 &&
         std::atoi(std::string(x).c_str()) + 1 == std::atoi(std::string(y).c_str());
}
size_t suffix_run(const std::string_view* ids, size_t n) {
  for (size_t i = 1;; ++i)
    if (i >= n || !sequential(ids[i - 1], ids[i])) return i == 2 ? 1 : i;
}
size_t common_prefix(std::string_view a, std::string_view b) {
  size_t r = 0;
  for (size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i)
    if (a[i] == '_') r = i + 1;
  return r;
}
size_t prefix_run(const std::string_view* ids, size_t n, size_t prefix_len, size_t* extra) {
  *extra = 0;
  if (n < 2) return n;
  size_t len = common_prefix(ids[0].substr(prefix_len), ids[1].substr(prefix_len));
  if (!len) return 1;
  size_t i = 2;
  while (i < n && common_prefix(ids[0].substr(prefix_len), ids[i].substr(prefix_len))) ++i;
  *extra = len;  // the first pair's prefix, as OVS keeps it
  return i;
}
void print_names(std::string& s, const std::string_view* ids, size_t n, size_t prefix_len) {
  for (int group = 0; n > 0; ++group) {
    if (group) s += prefix_len ? ',' : ' ';
    size_t extra = 0;
    size_t prun = prefix_run(ids, n, prefix_len, &extra);
    size_t srun = suffix_run(ids, n);
    size_t run = std::max(prun, srun);
    if (srun >= prun) {
      s += ids[0].substr(prefix_len);
      if (run > 1) {
        s += "...";
        s += ids[run - 1].substr(prefix_len);
      }
    } else {
      s += ids[0].substr(prefix_len, extra);
      s += '{';
      print_names(s, ids, run, prefix_len + extra);
      s += '}';
    }
    ids += run;
    n -= run;
  }
}
void print_fields(std::string& s, const FieldSet& f) {
  std::string_view ids[kOvsFields];
  size_t n = 0;
  for (size_t i = 0; i < kOvsFields; ++i)
    if (f[i]) ids[n++] = kOvsFieldOrder[i];
  if (n) {
    s += ' ';
    print_names(s, ids, n, 0);
  }
}

void print_actions(std::string& s, const ActionFeatures& a) {
  static constexpr std::string_view kNames[] = {
#define VLCP_ACT_NAME(type, name) name,
      VLCP_OVS_OFPACTS13(VLCP_ACT_NAME)
#undef VLCP_ACT_NAME
  };
  if (a.ofpacts) {
    s += "        actions: ";
    for (size_t i = 0; i < std::size(kNames); ++i)
      if (a.ofpacts & (1u << i)) {
        s += kNames[i];
        s += ' ';
      }
    s.back() = '\n';
  }
  if (a.set_fields.any()) {
    s += "        supported on Set-Field:";
    print_fields(s, a.set_fields);
    s += '\n';
  }
}

void print_instructions(std::string& s, const InstructionFeatures& f, const InstructionFeatures* prev) {
  static constexpr std::string_view kNames[] = {
#define VLCP_INST_NAME(type, name) name,
      VLCP_OVS_INSTRUCTIONS(VLCP_INST_NAME)
#undef VLCP_INST_NAME
  };
  if (f.next.any()) {
    s += "      next tables: ";
    for (size_t start = 0; start < 255;) {
      if (!f.next[start]) {
        ++start;
        continue;
      }
      size_t end = start + 1;
      while (end < 255 && f.next[end]) ++end;
      if (end == start + 1)
        appendf(s, "%zu,", start);
      else
        appendf(s, "%zu-%zu,", start, end - 1);
      start = end;
    }
    s.back() = '\n';
  }
  if (f.instructions) {
    if (prev && f.instructions == prev->instructions) {
      s += "      (same instructions)\n";
    } else {
      s += "      instructions: ";
      for (size_t i = 0; i < std::size(kNames); ++i)
        if (f.instructions & (1u << i)) {
          s += kNames[i];
          s += ' ';
        }
      s.back() = '\n';
    }
  }
  if (prev && f.write == prev->write && f.apply == prev->apply && f.write.set_fields.any()) {
    s += "      (same actions)\n";
  } else if (!(f.write == f.apply)) {
    s += "      Write-Actions features:\n";
    print_actions(s, f.write);
    s += "      Apply-Actions features:\n";
    print_actions(s, f.apply);
  } else if (f.write.ofpacts || f.write.set_fields.any()) {
    s += "      Write-Actions and Apply-Actions features:\n";
    print_actions(s, f.write);
  }
}

void finish_dittos(std::string& s, int* first, int* last) {
  if (*first < 0) return;
  if (*first == *last)
    appendf(s, "\n  table %d: ditto\n", *first);
  else
    appendf(s, "\n  tables %d...%d: ditto\n", *first, *last);
  *first = -1;
}

void print_table(std::string& s, const OvsTable& t, const OvsTable* prev, int* first_ditto, int* last_ditto) {
  bool same = prev && features_equal(t, *prev);
  if (same && t.name.empty()) {
    if (*first_ditto < 0) *first_ditto = t.table_id;
    *last_ditto = t.table_id;
    return;
  }
  finish_dittos(s, first_ditto, last_ditto);
  appendf(s, "\n  table %d", t.table_id);
  if (!t.name.empty()) s += " (\"" + t.name + "\")";
  s += ':';
  if (same) {
    s += " ditto";
    return;
  }
  s += '\n';
  if (t.metadata_match || t.metadata_write)
    appendf(s, "    metadata: match=%#" PRIx64 " write=%#" PRIx64 "\n", t.metadata_match, t.metadata_write);
  if (t.eviction >= 0) appendf(s, "    eviction: %ssupported\n", t.eviction ? "" : "not ");
  if (t.vacancy >= 0) appendf(s, "    vacancy events: %ssupported\n", t.vacancy ? "" : "not ");
  if (t.max_entries) appendf(s, "    max_entries=%" PRIu32 "\n", t.max_entries);

  int id = t.table_id, prev_id = prev ? prev->table_id : 0;
  if (prev && instructions_equal(t.nonmiss, id, prev->nonmiss, prev_id) &&
      instructions_equal(t.miss, id, prev->miss, prev_id)) {
    if (!t.nonmiss.empty()) s += "    (same instructions)\n";
  } else if (!instructions_equal(t.nonmiss, id, t.miss, id)) {
    s += "    instructions (other than table miss):\n";
    print_instructions(s, t.nonmiss, prev ? &prev->nonmiss : nullptr);
    s += "    instructions (table miss):\n";
    print_instructions(s, t.miss, prev ? &prev->miss : nullptr);
  } else if (!t.nonmiss.empty()) {
    s += "    instructions (table miss and others):\n";
    print_instructions(s, t.nonmiss, prev ? &prev->nonmiss : nullptr);
  }

  if (t.match.any()) {
    if (prev && t.match == prev->match) {
      s += "    (same matching)\n";
    } else {
      s += "    matching:\n";
      auto line = [&](const FieldSet& bits, const char* title) {
        if (bits.none()) return;
        appendf(s, "      %s:", title);
        print_fields(s, bits);
        s += '\n';
      };
      line(t.match & t.mask & t.wildcard, "arbitrary mask");
      line(t.match & ~t.mask & t.wildcard, "exact match or wildcard");
      line(t.match & ~t.mask & ~t.wildcard, "must exact match");
    }
  }
}

}  // namespace

std::optional<std::string> format_table_features(std::string& s, uint8_t version, ByteSpan body) {
  auto tables = decode_table_features(body);
  if (!tables.ok()) return error_name(tables.error());
  int first_ditto = -1, last_ditto = -1;
  std::optional<OvsTable> prev;
  for (const TableFeatures& t : *tables) {
    OvsTable o;
    if (auto bad = to_ovs(t, version, &o)) {
      finish_dittos(s, &first_ditto, &last_ditto);
      return std::string(*bad);
    }
    print_table(s, o, prev ? &*prev : nullptr, &first_ditto, &last_ditto);
    prev = std::move(o);
  }
  finish_dittos(s, &first_ditto, &last_ditto);
  return std::nullopt;
}

}  // namespace vlcp::ofp
