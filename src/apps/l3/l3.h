// The L3 router's settings (VLCP's module.l3router), shared by the apps that answer for the
// router (the ARP and ICMP responders read its MAC from here): one router MAC that hosts see as
// their gateway on every router interface and every server, and the mask that makes each
// server's own router MAC on the way out (the MAC of the port a network leaves by, XOR the mask).
#pragma once

#include <cstdint>
#include <string>

#include "base/config.h"
#include "base/result.h"
#include "model/address.h"

namespace vlcp::apps {

// X(field, key, C++ type, default, help): VLCP's names and defaults.
#define VLCP_L3_KEYS(X)                                                                                  \
  X(inroutermac, "module.l3router.inroutermac", std::string, "1a:23:67:59:63:33",                        \
    "the router MAC hosts see as their gateway (every router interface, every server)")                  \
  X(outroutermacmask, "module.l3router.outroutermacmask", std::string, "0a:00:00:00:00:00",              \
    "a server's own router MAC on a network is the MAC of its way out (uplink or tunnel port) XOR this") \
  X(prepush, "module.l3router.prepush", bool, false,                                                     \
    "install every remote host's route on every server; false: a routed first packet goes to the "       \
    "controller, which installs the host's flow")                                                        \
  X(enable_router_forward, "module.l3router.enable_router_forward", bool, false,                         \
    "this server forwards routed traffic to external networks it has a physical port for")               \
  X(arp_cycle_time, "module.l3router.arp_cycle_time", int64_t, 5,                                        \
    "seconds between ARP requests for an address the model does not place (while packets ask for it)")   \
  X(arp_incomplete_timeout, "module.l3router.arp_incomplete_timeout", int64_t, 60,                       \
    "seconds after which an unanswered address is given up (dropped by a flow for arp_cycle_time)")      \
  X(buffer_packet_timeout, "module.l3router.buffer_packet_timeout", int64_t, 30,                         \
    "seconds a routed packet is kept while its destination's MAC is resolved")                           \
  X(arp_complete_timeout, "module.l3router.arp_complete_timeout", int64_t, 30,                           \
    "seconds a host flow learned by ARP lives (then resolved again)")                                    \
  X(forwardinfo_discover_update_time, "module.l3router.forwardinfo_discover_update_time", int64_t, 15,   \
    "seconds between a forwarding node's refreshes of what it publishes (entries expire at twice this)")

struct L3Settings {
  model::detail::Mac router_mac{};  // inroutermac
  model::detail::Mac out_mask{};    // outroutermacmask
  bool prepush = false;
  bool router_forward = false;
  int64_t arp_cycle_s = 5, arp_incomplete_s = 60, buffer_s = 30, arp_complete_s = 30, forward_info_s = 15;
};
Result<L3Settings> read_l3_settings(const Config& config);

}  // namespace vlcp::apps
