// The DHCP server app's pure parts (VLCP's dhcpserver): its settings (module.dhcpserver), the
// lease a logical port gets from the model (its address and the options of its network, subnet
// and port merged in VLCP's order), and the punt flows that send a served port's DHCP to the
// worker lcores. The packet logic is dhcp/server.h's; the app that publishes the leases to the
// workers is apps/dhcp/dhcp_app.h.
//
// Punt flows (docs/L3_FLOWS.md §6), table l3input, priority P+2, cookie 7 << 48 | netid with the
// to-workers bit, one pair per served port (the design's per-network pair plus in_port): DHCP of
// a port the server does not answer — DHCP disabled on its subnet or on the port, no address —
// goes on through the pipeline like any traffic, so a DHCP server the operator runs in the
// network still gets it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/model_view.h"
#include "base/config.h"
#include "base/result.h"
#include "dhcp/server.h"
#include "flows/cookie.h"
#include "flows/desired.h"
#include "pipeline/tables.h"

namespace vlcp::apps {

inline constexpr flows::AppId kDhcpAppId = 7;  // docs/L3_FLOWS.md §1

// X(field, key, C++ type, default, help): VLCP's names and defaults. `None` (VLCP's spelling, a
// null in the file) is the default of the three times.
#define VLCP_DHCP_KEYS(X)                                                                                    \
  X(serveraddress, "module.dhcpserver.serveraddress", std::string, "169.254.169.254",                        \
    "the server identifier (option 54) and source address of replies, where a subnet names no "              \
    "dhcp_server")                                                                                           \
  X(servermac, "module.dhcpserver.servermac", std::string, "1a:23:67:59:63:33", "the source MAC of replies") \
  X(leasetime, "module.dhcpserver.leasetime", nlohmann::json, None,                                          \
    "lease time in seconds where neither the network nor the subnet sets lease_time; None: infinite")        \
  X(t1, "module.dhcpserver.t1", nlohmann::json, None,                                                        \
    "renewal time (option 58) in seconds, used when shorter than the lease; None: half the lease")           \
  X(t2, "module.dhcpserver.t2", nlohmann::json, None,                                                        \
    "rebinding time (option 59) in seconds, used when shorter than the lease; None: 7/8 of the lease")
Result<dhcp::ServerConfig> read_dhcp_settings(const Config& config);

// Whether a stored `dhcp_enabled` leaves DHCP on: absent, null or anything but false (false,
// 0, "false", "False") is on. (VLCP tested the subnet's flag the wrong way round: it skipped
// the ports of subnets with dhcp_enabled=True.)
bool dhcp_enabled(const nlohmann::json& object);

// The bytes of an extra_dhcp_options value for option `code`, typed by code as VLCP's
// create_option_from_value: addresses (1, 28, 50, 54), times (2, 51, 58, 59; "infinite"), server
// lists (3-11, 42), text (12, 15, 56, 61), 16-bit (26, 57), classless routes (121, [[cidr,
// router]]), option codes (55); any other code: text as its bytes, or a list of byte values.
// None when the value does not fit the code.
std::optional<std::vector<uint8_t>> encode_dhcp_option(uint8_t code, const nlohmann::json& value);

// A logical port the server answers, as the model has it: its network (with a netid), its
// subnet, its address and MAC. None when the port has no MAC or no address in a known subnet of
// its network, or DHCP is off on its subnet or on the port.
struct ServedPort {
  const LogicalPortObj* port = nullptr;
  const SubnetObj* subnet = nullptr;
  const LogicalNetworkObj* network = nullptr;
};
std::optional<ServedPort> served_port(const ModelView& model, const LogicalPortObj& port);

// The address a served port's server answers from: its subnet's dhcp_server, else the setting.
uint32_t server_address(const ServedPort& served, const dhcp::ServerConfig& config);

struct LeaseStats {
  uint64_t options_refused = 0;  // stored options that do not fit their code: left out
};
// The lease of a served port: address, prefix, gateway (option 3), the server address (the
// subnet's dhcp_server), and the options merged as VLCP does — network (dns_nameservers,
// domain_name, mtu, ntp_servers, lease_time, extra_dhcp_options), then subnet (mask, broadcast,
// gateway, the same fields, host_routes, extra_dhcp_options), then port (hostname,
// extra_dhcp_options): each level's fields replace the earlier levels' options of the same code,
// and its extra options replace its own fields'.
dhcp::Lease lease_of(const ServedPort& served, LeaseStats* stats = nullptr);

// Every lease of the ports bound on a set of switches: by (datapath id, ofport).
struct LeaseTable {
  std::map<std::pair<uint64_t, uint32_t>, dhcp::Lease> leases;
  const dhcp::Lease* find(uint64_t dpid, uint32_t ofport) const {
    auto it = leases.find({dpid, ofport});
    return it == leases.end() ? nullptr : &it->second;
  }
};

// One served port bound on a switch, as its punt flows need it.
struct PuntPort {
  uint32_t ofport = 0;
  uint32_t netid = 0;
  uint32_t server = 0;  // the address its unicast renewals go to
};
// The punt flows of one network's served ports on a switch (none without an l3input table).
flows::Desired dhcp_punt_flows(const pipeline::TableMap& tables, const std::vector<PuntPort>& ports);

}  // namespace vlcp::apps
