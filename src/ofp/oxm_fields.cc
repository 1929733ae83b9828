// Lookup tables derived from VLCP_OXM_FIELDS.
#include "ofp/oxm_fields.h"

#include <array>

namespace vlcp::ofp {
namespace {

constexpr std::array<FieldInfo, static_cast<size_t>(Field::kCount)> kFields = {{
#define VLCP_OXM_INFO(e, cls, num, bytes, maskable, prereq, name, nxm_name, mf_name, format) \
  {Field::e, cls, num, bytes, maskable, Prereq::prereq, name, nxm_name, mf_name, FieldFormat::format},
    VLCP_OXM_FIELDS(VLCP_OXM_INFO)
#undef VLCP_OXM_INFO
}};

// Index by (class, number) for decoding: basic fields 0..127 and NXM1 fields 0..127.
struct ByWire {
  std::array<int16_t, 128> basic{};
  std::array<int16_t, 128> nxm1{};
  std::array<int16_t, 128> nxm0{};
  constexpr ByWire() {
    basic.fill(-1);
    nxm1.fill(-1);
    nxm0.fill(-1);
    for (size_t i = 0; i < kFields.size(); ++i) {
      if (kFields[i].oxm_class == kOxmClassBasic) basic[kFields[i].number] = static_cast<int16_t>(i);
      if (kFields[i].oxm_class == kOxmClassNxm1) nxm1[kFields[i].number] = static_cast<int16_t>(i);
      if (kFields[i].oxm_class == kOxmClassNxm0) nxm0[kFields[i].number] = static_cast<int16_t>(i);
    }
  }
};
constexpr ByWire kByWire;

}  // namespace

const FieldInfo& field_info(Field f) {
  return kFields[static_cast<size_t>(f)];
}

const FieldInfo* find_field(uint16_t oxm_class, uint8_t number) {
  if (number >= 128) return nullptr;
  int16_t i = -1;
  if (oxm_class == kOxmClassBasic) i = kByWire.basic[number];
  if (oxm_class == kOxmClassNxm1) i = kByWire.nxm1[number];
  if (oxm_class == kOxmClassNxm0) i = kByWire.nxm0[number];
  return i < 0 ? nullptr : &kFields[static_cast<size_t>(i)];
}

const FieldInfo* find_action_field(uint32_t header) {
  const FieldInfo* f = find_field(oxm_class(header), oxm_number(header));
  if (!f) return nullptr;
  unsigned len = oxm_length(header);
  if (oxm_masked(header)) len /= 2;
  return len == f->bytes ? f : nullptr;
}

bool field_writable(Field f) {
  switch (canonical_field(f)) {
    case Field::kEthType:
    case Field::kIpProto:
    case Field::kMplsBos:
    case Field::kNxIpFrag:
    case Field::kConjId:
    case Field::kCtState:
    case Field::kCtZone:
      return false;
    default:
      return true;
  }
}

Field canonical_field(Field f) {
  switch (f) {
    case Field::kNxmInPort:
      return Field::kInPort;
    case Field::kNxmEthDst:
      return Field::kEthDst;
    case Field::kNxmEthSrc:
      return Field::kEthSrc;
    case Field::kNxmEthType:
      return Field::kEthType;
    case Field::kNxmVlanTci:
      return Field::kVlanVid;
    case Field::kNxmIpTos:
      return Field::kIpDscp;
    case Field::kNxmIpProto:
      return Field::kIpProto;
    case Field::kNxmIpSrc:
      return Field::kIpv4Src;
    case Field::kNxmIpDst:
      return Field::kIpv4Dst;
    case Field::kNxmTcpSrc:
      return Field::kTcpSrc;
    case Field::kNxmTcpDst:
      return Field::kTcpDst;
    case Field::kNxmUdpSrc:
      return Field::kUdpSrc;
    case Field::kNxmUdpDst:
      return Field::kUdpDst;
    case Field::kNxmIcmpType:
      return Field::kIcmpv4Type;
    case Field::kNxmIcmpCode:
      return Field::kIcmpv4Code;
    case Field::kNxmArpOp:
      return Field::kArpOp;
    case Field::kNxmArpSpa:
      return Field::kArpSpa;
    case Field::kNxmArpTpa:
      return Field::kArpTpa;
    case Field::kNxTunId:
      return Field::kTunnelId;
    default:
      return f;
  }
}

const FieldInfo* find_field(std::string_view name) {
  for (const FieldInfo& f : kFields)
    if (f.name == name || f.nxm_name == name) return &f;
  return nullptr;
}

}  // namespace vlcp::ofp
