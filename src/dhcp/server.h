// The DHCP server's packet logic (VLCP's dhcpserver, RFC 2131 §4.3): a request decoded by
// dhcp/request.h plus the Lease the caller looked up for the port it came in on gives a decision
// (OFFER, ACK, NAK or none) and the reply frame, Ethernet/IPv4/UDP 67→68 with both checksums,
// wrapped into an OpenFlow 1.3 PACKET_OUT back out of that port. Pure functions of the
// configuration, the lease and the message: any worker lcore runs them, several at once; each
// worker keeps its own Counters (plain integers) and the caller sums them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "dhcp/request.h"

namespace vlcp::dhcp {

struct Route {  // a subnet's host route: destination/prefix via gateway
  Ipv4 dest = 0;
  uint8_t prefix = 0;  // 0..32
  Ipv4 gateway = 0;
};

struct ExtraOption {  // extra_dhcp_options, already encoded as the option's bytes
  uint8_t code = 0;
  std::vector<uint8_t> value;
};

// What the model gave one port: its address and the options of its subnet, network and port
// (already merged by the caller in VLCP's order: network, then subnet, then port).
struct Lease {
  Mac mac{};  // the port's MAC: a request with another chaddr gets no address
  Ipv4 ip = 0;
  uint8_t prefix = 24;
  std::optional<Ipv4> router;          // option 3 (subnet gateway)
  std::vector<Ipv4> dns, ntp;          // options 6, 42
  std::string domain_name, hostname;   // options 15, 12
  uint16_t mtu = 0;                    // option 26 when >= 68
  std::optional<uint32_t> lease_time;  // option 51; unset: ServerConfig::lease_time
  std::vector<Route> routes;           // option 121 (host_routes; the default route added)
  std::vector<ExtraOption> extra;      // replace computed options of the same code (not 52-54)
  std::optional<Ipv4> server_ip;       // the subnet's dhcp_server, else ServerConfig::ip
};

inline constexpr uint32_t kInfiniteLease = 0xffffffff;

// module.dhcpserver: serveraddress, servermac, leasetime (None: infinite), t1, t2.
struct ServerConfig {
  Ipv4 ip = 0xa9fea9fe;                            // 169.254.169.254
  Mac mac = {0x1a, 0x23, 0x67, 0x59, 0x63, 0x33};  // 1a:23:67:59:63:33
  std::optional<uint32_t> lease_time;              // unset: infinite
  std::optional<uint32_t> t1, t2;                  // unset (or >= lease): 1/2 and 7/8 of the lease
  uint16_t max_message_size = 1500;                // cap on the client's option 57 (IP datagram)
};

// clang-format off
// X(enum, counter): what became of a frame handed to the server.
#define VLCP_DHCP_OUTCOMES(X)                                                                   \
  X(kOffer, offers)              /* DISCOVER answered */                                        \
  X(kAck, acks)                  /* REQUEST answered with the lease */                          \
  X(kNak, naks)                  /* REQUEST for another address (or another chaddr) */          \
  X(kInform, informs)            /* INFORM answered with options only */                        \
  X(kRelease, releases)          /* no answer: the address stays the port's */                  \
  X(kDecline, declines)          /* no answer: someone else has the model's address */          \
  X(kIgnored, ignored)           /* REQUEST to another server, chaddr not the port's, ... */    \
  X(kUnknownType, unknown_type)  /* message type not one a client sends */                      \
  X(kNoLease, no_lease)          /* the port has no address from the model */                   \
  X(kMalformed, malformed)       /* refused by the decoder: Counters::malformed_by says why */
// clang-format on

enum class Outcome : uint8_t {
#define VLCP_DHCP_OUTCOME_ENUM(e, counter) e,
  VLCP_DHCP_OUTCOMES(VLCP_DHCP_OUTCOME_ENUM)
#undef VLCP_DHCP_OUTCOME_ENUM
};
std::string_view outcome_name(Outcome o);  // the counter's name

struct Counters {
#define VLCP_DHCP_COUNTER_FIELD(e, counter) uint64_t counter = 0;
  VLCP_DHCP_OUTCOMES(VLCP_DHCP_COUNTER_FIELD)
#undef VLCP_DHCP_COUNTER_FIELD
  uint64_t malformed_by[kMalformedCount + 1] = {};  // indexed by Malformed
  uint64_t bad_packet_in = 0;    // not a PACKET_IN with an in_port (counted apart from DHCP)
  uint64_t options_dropped = 0;  // options left out of a reply for the client's size limit

  void count(Outcome o);
  Counters& operator+=(const Counters& other);
  // fn(name, value) for every counter: outcomes, "malformed.<reason>", bad_packet_in, options_dropped.
  void for_each(const std::function<void(std::string_view, uint64_t)>& fn) const;
};

struct Decision {
  Outcome outcome = Outcome::kIgnored;
  uint8_t reply_type = 0;  // 2 OFFER, 5 ACK, 6 NAK; 0: no reply
};

// RFC 2131 §4.3 for a decoded request and the port's lease.
Decision decide(const ServerConfig& config, const Lease& lease, const Request& request);

// Appends the reply frame for a decision with a reply. Returns how many options were left out to
// respect the client's maximum message size (the required ones always fit).
size_t encode_reply(const ServerConfig& config, const Lease& lease, const Request& request,
                    const Decision& decision, Buffer& frame);

// Option 121's value (RFC 3442): per route, the prefix length, its significant octets, the router.
void encode_classless_routes(std::span<const Route> routes, Buffer& out);

// Decode, decide, encode: appends the reply frame (if any) and counts the outcome. `lease` null:
// the port has none (counted kNoLease, after a malformed frame is counted as such).
Outcome serve_frame(const ServerConfig& config, const Lease* lease, ByteSpan frame, Buffer& reply,
                    Counters& counters);

// A PACKET_OUT (xid 0, no buffer, in_port CONTROLLER) sending `frame` out of `port`.
void encode_reply_packet_out(Buffer& answers, uint32_t port, ByteSpan frame);

// The worker handler's body: a PACKET_IN in, a PACKET_OUT with the reply out of the in_port
// appended to `answers`. `lookup(dpid, in_port)` gives the port's lease or null. Returns whether
// something was appended.
using LeaseLookup = std::function<const Lease*(uint64_t dpid, uint32_t in_port)>;
bool serve_packet_in(const ServerConfig& config, const LeaseLookup& lookup, uint64_t dpid, ByteSpan packet_in,
                     Buffer& answers, Counters& counters);

}  // namespace vlcp::dhcp
