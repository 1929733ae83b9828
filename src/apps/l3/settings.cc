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
  struct {
    const char* key;
    int64_t value, max;
    int64_t* out;
  } times[] = {
      {"module.l3router.arp_cycle_time", keys.arp_cycle_time, 3600, &s.arp_cycle_s},
      {"module.l3router.arp_incomplete_timeout", keys.arp_incomplete_timeout, 3600, &s.arp_incomplete_s},
      {"module.l3router.buffer_packet_timeout", keys.buffer_packet_timeout, 3600, &s.buffer_s},
      {"module.l3router.arp_complete_timeout", keys.arp_complete_timeout, 65535, &s.arp_complete_s},
      {"module.l3router.forwardinfo_discover_update_time", keys.forwardinfo_discover_update_time, 3600,
       &s.forward_info_s}};
  for (auto& t : times) {
    if (t.value < 1 || t.value > t.max)
      return config.error_at(
          t.key, std::to_string(t.value) + " is not a number of seconds in 1.." + std::to_string(t.max));
    *t.out = t.value;
  }
  return s;
}

}  // namespace vlcp::apps
