// Names of OpenFlow errors, derived from VLCP_OFP_ERROR_TYPES and VLCP_OFP_ERROR_CODES.
#include "ofp/errors.h"

namespace vlcp::ofp {

std::string_view error_type_prefix(uint16_t type) {
  switch (type) {
#define VLCP_OFP_ERROR_TYPE_CASE(e, code, prefix) \
  case code:                                      \
    return prefix;
    VLCP_OFP_ERROR_TYPES(VLCP_OFP_ERROR_TYPE_CASE)
#undef VLCP_OFP_ERROR_TYPE_CASE
  }
  return {};
}

std::string error_name(OfpError e) {
  switch ((uint32_t{e.type} << 16) | e.code) {
#define VLCP_OFP_ERROR_NAME_CASE(type, name, code)                        \
  case (uint32_t{static_cast<uint16_t>(ErrorType::type)} << 16) | (code): \
    return std::string(error_type_prefix(static_cast<uint16_t>(ErrorType::type))) + "_" #name;
    VLCP_OFP_ERROR_CODES(VLCP_OFP_ERROR_NAME_CASE)
#undef VLCP_OFP_ERROR_NAME_CASE
  }
  std::string_view prefix = error_type_prefix(e.type);
  if (prefix.empty()) return "type " + std::to_string(e.type) + " code " + std::to_string(e.code);
  return std::string(prefix) + "(" + std::to_string(e.code) + ")";
}

}  // namespace vlcp::ofp
