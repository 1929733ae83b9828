// Lookups derived from VLCP_OXM_FIELDS (the hot ones are inline in the header).
#include "ofp/oxm_fields.h"

#include <array>

namespace vlcp::ofp {
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
    case Field::kTcpFlags:
    case Field::kConjId:
    case Field::kCtState:
    case Field::kCtZone:
    case Field::kActsetOutput:
      return false;
    default:
      return true;
  }
}

const FieldInfo* find_field(std::string_view name) {
  for (const FieldInfo& f : detail::kFields)
    if (f.name == name || f.nxm_name == name) return &f;
  return nullptr;
}

}  // namespace vlcp::ofp
