// A DHCP request as the server reads it: a strict, allocation-free decoder from a whole Ethernet
// frame (one optional 802.1Q tag / IPv4 / UDP to port 67 / BOOTP + DHCP options) to the fields
// RFC 2131 §4.3 decides on. Every refused frame names its reason (the VLCP_DHCP_MALFORMED table),
// so the caller counts drops by reason. Headers come from ofp/packet.h's declared layouts; the
// server that answers is in dhcp/server.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/buffer.h"
#include "ofp/packet.h"

namespace vlcp::dhcp {

using Mac = ofp::pkt::Mac;
using Ipv4 = ofp::pkt::Ipv4;  // host order

// clang-format off
// X(enum, name): why a frame is not a DHCP request the server reads.
#define VLCP_DHCP_MALFORMED(X)                                                                    \
  X(kShortEthernet, "short_ethernet")     /* fewer than 14 bytes (18 with a VLAN tag) */         \
  X(kNotIpv4, "not_ipv4")                 /* ethertype after at most one 802.1Q tag */           \
  X(kShortIp, "short_ip")                 /* header or total length past the frame */            \
  X(kBadIpHeader, "bad_ip_header")        /* version not 4, IHL < 5, total length < IHL */       \
  X(kIpChecksum, "ip_checksum")                                                                  \
  X(kIpFragment, "ip_fragment")           /* MF set or an offset: DHCP is never fragmented */    \
  X(kNotUdp, "not_udp")                                                                          \
  X(kUdpLength, "udp_length")             /* UDP length not the IP payload's length */           \
  X(kUdpChecksum, "udp_checksum")         /* non-zero and wrong */                               \
  X(kNotServerPort, "not_server_port")    /* UDP destination port not 67 */                      \
  X(kShortBootp, "short_bootp")           /* fewer than 240 bytes (236 fixed + magic cookie) */  \
  X(kNotBootRequest, "not_boot_request")  /* op != 1 */                                          \
  X(kNotEthernetHw, "not_ethernet_hw")    /* htype != 1 or hlen != 6 */                          \
  X(kBadMagic, "bad_magic")                                                                      \
  X(kRelayed, "relayed")                  /* giaddr set: the server answers its own ports only */ \
  X(kOptionOverrun, "option_overrun")     /* an option's length past its area */                 \
  X(kNoEndOption, "no_end_option")        /* an option area without its end option */            \
  X(kBadOverload, "bad_overload")         /* option 52 not one byte of 1..3, or inside sname/file */ \
  X(kDuplicateOption, "duplicate_option") /* a read option twice (RFC 3396 splitting refused) */ \
  X(kBadOptionLength, "bad_option_length") /* 53/50/54/57 of the wrong length, empty 61/12/55 */ \
  X(kNoMessageType, "no_message_type")
// clang-format on

enum class Malformed : uint8_t {
  kNone = 0,
#define VLCP_DHCP_MALFORMED_ENUM(e, name) e,
  VLCP_DHCP_MALFORMED(VLCP_DHCP_MALFORMED_ENUM)
#undef VLCP_DHCP_MALFORMED_ENUM
};
inline constexpr size_t kMalformedCount = 0
#define VLCP_DHCP_MALFORMED_COUNT(e, name) +1
    VLCP_DHCP_MALFORMED(VLCP_DHCP_MALFORMED_COUNT)
#undef VLCP_DHCP_MALFORMED_COUNT
    ;
std::string_view malformed_name(Malformed m);  // "ok" for kNone

inline constexpr uint16_t kBroadcastFlag = 0x8000;

// Views into the decoded frame (valid while it is).
struct Request {
  // Frame
  Mac eth_src{}, eth_dst{};
  std::optional<uint16_t> vlan_tci;  // the request's 802.1Q tag, kept on the reply
  Ipv4 ip_src = 0, ip_dst = 0;
  uint16_t udp_src = 0;
  // BOOTP
  uint32_t xid = 0;
  uint16_t secs = 0, flags = 0;
  Ipv4 ciaddr = 0, yiaddr = 0;
  Mac chaddr{};
  ByteSpan options;  // the options field (after the magic cookie), validated
  // DHCP options (RFC 2132 numbers)
  uint8_t message_type = 0;          // 53, required
  std::optional<Ipv4> requested_ip;  // 50
  std::optional<Ipv4> server_id;     // 54
  ByteSpan client_id;                // 61
  ByteSpan parameter_list;           // 55, in the client's order
  ByteSpan hostname;                 // 12
  std::optional<uint16_t> max_size;  // 57, raised to 576 (some clients send 548)
  uint8_t overload = 0;              // 52: 1 file, 2 sname, 3 both carried options

  bool broadcast() const { return (flags & kBroadcastFlag) != 0; }
};

// Decodes `frame` into `out`; kNone on success, else why it was refused (`out` then partly set).
Malformed decode_request(ByteSpan frame, Request& out);
// The same checks for a server's reply, as a client reads it (op 2, UDP to port 68, giaddr not
// checked; kNotBootRequest / kNotServerPort name the mismatches): the tests and test tools.
Malformed decode_reply(ByteSpan frame, Request& out);

}  // namespace vlcp::dhcp
