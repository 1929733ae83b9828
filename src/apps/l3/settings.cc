#include "apps/l3/l3.h"

namespace vlcp::apps {

namespace {
struct L3Keys {
  VLCP_L3_KEYS(VLCP_KEYS_FIELD)
};
}  // namespace

Result<L3Settings> read_l3_settings(const Config& config) {
  L3Keys keys;
  VLCP_L3_KEYS(VLCP_KEYS_READ)
  L3Settings s;
  auto mac = model::detail::parse_mac(keys.inroutermac);
  if (!mac || ((*mac)[0] & 1))
    return config.error_at("module.l3router.inroutermac",
                           "'" + keys.inroutermac + "' is not a unicast MAC address");
  s.router_mac = *mac;
  auto mask = model::detail::parse_mac(keys.outroutermacmask);
  if (!mask || ((*mask)[0] & 1))
    return config.error_at("module.l3router.outroutermacmask",
                           "'" + keys.outroutermacmask + "' is not a MAC mask that keeps MACs unicast");
  s.out_mask = *mask;
  s.prepush = keys.prepush;
  s.router_forward = keys.enable_router_forward;
  return s;
}

}  // namespace vlcp::apps
