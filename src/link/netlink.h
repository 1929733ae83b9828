// The rtnetlink codec, sans I/O: the few messages vlcpd needs to plug containers (veth pairs,
// links, IPv4 addresses and routes, link dumps, acks and errors). Attributes are declared once in
// the tables below; encode and decode derive from them. Decoding takes an untrusted span: every
// netlink and attribute length is checked in one place (split, for_each_attr) before any field is
// read. The link thread (executor.h) does the I/O.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"

namespace vlcp::link {

// The kernel's values this header needs (the tables' IFLA_*/IFA_*/RTA_* names are read only in
// netlink.cc, which includes <linux/rtnetlink.h>: this header stays free of kernel headers, which
// clash with Open vSwitch's copies in targets that see both).
inline constexpr uint16_t kNlaTypeMask = 0x3fff;  // NLA_TYPE_MASK
inline constexpr uint8_t kRtTableMain = 254;      // RT_TABLE_MAIN
inline constexpr uint8_t kRtProtBoot = 3;         // RTPROT_BOOT
inline constexpr uint8_t kRtScopeUniverse = 0;    // RT_SCOPE_UNIVERSE
inline constexpr uint8_t kRtnUnicast = 1;         // RTN_UNICAST

using Mac = std::array<uint8_t, 6>;
using Ipv4 = std::array<uint8_t, 4>;  // network order, as on the wire

// How an attribute's payload is laid out. Integers are in host order (netlink's rule).
enum class AttrKind : uint8_t {
  kU8,
  kU32,
  kString,  // NUL-terminated on the wire (decode stops at the first NUL)
  kText,    // a string sent without its NUL (iproute2's way for aliases); decoded as kString
  kMac,     // 6 bytes
  kIpv4,    // 4 bytes
};

// X(field, attribute type, kind). Encode writes the present fields in this order: it is
// iproute2's order for the same command line when that names the interface last, so the goldens
// are ip's own bytes. Decode fills what it finds and skips attributes it does not know.
#define VLCP_NL_LINK_ATTRS(X)              \
  X(address, IFLA_ADDRESS, kMac)           \
  X(mtu, IFLA_MTU, kU32)                   \
  X(link, IFLA_LINK, kU32)                 \
  X(master, IFLA_MASTER, kU32)             \
  X(operstate, IFLA_OPERSTATE, kU8)        \
  X(alias, IFLA_IFALIAS, kText)            \
  X(net_ns_fd, IFLA_NET_NS_FD, kU32)       \
  X(link_netnsid, IFLA_LINK_NETNSID, kU32) \
  X(ext_mask, IFLA_EXT_MASK, kU32)         \
  X(group, IFLA_GROUP, kU32)               \
  X(ifname, IFLA_IFNAME, kString)

#define VLCP_NL_ADDR_ATTRS(X)    \
  X(local, IFA_LOCAL, kIpv4)     \
  X(address, IFA_ADDRESS, kIpv4) \
  X(label, IFA_LABEL, kString)

#define VLCP_NL_ROUTE_ATTRS(X)    \
  X(dst, RTA_DST, kIpv4)          \
  X(gateway, RTA_GATEWAY, kIpv4)  \
  X(oif, RTA_OIF, kU32)           \
  X(priority, RTA_PRIORITY, kU32) \
  X(table, RTA_TABLE, kU32)

template <AttrKind K>
struct AttrValue;
template <>
struct AttrValue<AttrKind::kU8> {
  using type = uint8_t;
};
template <>
struct AttrValue<AttrKind::kU32> {
  using type = uint32_t;
};
template <>
struct AttrValue<AttrKind::kString> {
  using type = std::string;
};
template <>
struct AttrValue<AttrKind::kText> {
  using type = std::string;
};
template <>
struct AttrValue<AttrKind::kMac> {
  using type = Mac;
};
template <>
struct AttrValue<AttrKind::kIpv4> {
  using type = Ipv4;
};

#define VLCP_NL_ATTR_FIELD(field, attr, kind) std::optional<AttrValue<AttrKind::kind>::type> field;

// nlmsghdr without its length (computed by encode, checked by split).
struct NlHeader {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  uint32_t pid = 0;
  bool operator==(const NlHeader&) const = default;
};

// struct ifinfomsg
struct IfInfo {
  uint8_t family = AF_UNSPEC;
  uint16_t type = 0;
  int32_t index = 0;
  uint32_t flags = 0;
  uint32_t change = 0;
  bool operator==(const IfInfo&) const = default;
};

struct LinkBody;
struct LinkAttrs {
  VLCP_NL_LINK_ATTRS(VLCP_NL_ATTR_FIELD)
  // IFLA_LINKINFO: IFLA_INFO_KIND, and for a veth IFLA_INFO_DATA { VETH_INFO_PEER: the peer }.
  std::optional<std::string> kind;
  std::vector<LinkBody> peer;  // none or one
  bool operator==(const LinkAttrs&) const;
};
struct LinkBody {
  IfInfo info;
  LinkAttrs attrs;
  bool operator==(const LinkBody&) const = default;
};
struct LinkMessage {
  NlHeader header;
  LinkBody body;
  bool operator==(const LinkMessage&) const = default;
};

// struct ifaddrmsg
struct IfAddr {
  uint8_t family = AF_INET;
  uint8_t prefixlen = 0;
  uint8_t flags = 0;
  uint8_t scope = kRtScopeUniverse;
  uint32_t index = 0;
  bool operator==(const IfAddr&) const = default;
};
struct AddrAttrs {
  VLCP_NL_ADDR_ATTRS(VLCP_NL_ATTR_FIELD)
  bool operator==(const AddrAttrs&) const = default;
};
struct AddrMessage {
  NlHeader header;
  IfAddr ifa;
  AddrAttrs attrs;
  bool operator==(const AddrMessage&) const = default;
};

// struct rtmsg
struct RtMsg {
  uint8_t family = AF_INET;
  uint8_t dst_len = 0;
  uint8_t src_len = 0;
  uint8_t tos = 0;
  uint8_t table = kRtTableMain;
  uint8_t protocol = kRtProtBoot;
  uint8_t scope = kRtScopeUniverse;
  uint8_t type = kRtnUnicast;
  uint32_t flags = 0;
  bool operator==(const RtMsg&) const = default;
};
struct RouteAttrs {
  VLCP_NL_ROUTE_ATTRS(VLCP_NL_ATTR_FIELD)
  bool operator==(const RouteAttrs&) const = default;
};
struct RouteMessage {
  NlHeader header;
  RtMsg rtm;
  RouteAttrs attrs;
  bool operator==(const RouteMessage&) const = default;
};

#undef VLCP_NL_ATTR_FIELD

// ---- encode: appends one whole netlink message (nlmsg_len filled in) -----------------------------
void encode(Buffer& out, const LinkMessage& m);
void encode(Buffer& out, const AddrMessage& m);
void encode(Buffer& out, const RouteMessage& m);

// ---- decode -------------------------------------------------------------------------------------
// One message of a datagram: its header and payload (a view into the datagram).
struct NlFrame {
  NlHeader header;
  ByteSpan payload;
};
// Splits a datagram into messages. Every nlmsg_len is checked (>= 16, within the datagram);
// a bad one fails the whole datagram (nothing after it can be trusted).
Result<std::vector<NlFrame>> split(ByteSpan datagram);
// Walks attributes: fn(type without NLA_F_* flags, payload). False when a length is bad.
template <typename Fn>
bool for_each_attr(ByteSpan bytes, Fn&& fn);

Result<LinkMessage> decode_link(const NlFrame& frame);    // RTM_NEWLINK/DELLINK/GETLINK/SETLINK
Result<AddrMessage> decode_addr(const NlFrame& frame);    // RTM_NEWADDR/DELADDR
Result<RouteMessage> decode_route(const NlFrame& frame);  // RTM_NEWROUTE/DELROUTE

// NLMSG_ERROR: error 0 is an ACK. `message` is the kernel's extended ack text (NETLINK_EXT_ACK),
// if any; `request` the header of the request it answers.
struct NlError {
  int error = 0;  // 0 or a negative errno
  NlHeader request;
  std::string message;
};
Result<NlError> decode_error(const NlFrame& frame);
// NLMSG_DONE's payload: the dump's final status (0, or a negative errno).
Result<int> decode_done(const NlFrame& frame);

// An errno as a Status: EEXIST -> kAlreadyExists (a caller's 409), ENOENT/ENODEV -> kNotFound,
// EPERM/EACCES -> kPermissionDenied, ... The message is "<what>: <strerror>[ (<kernel text>)]".
// `err` may be negative (as netlink carries it).
Status errno_status(int err, std::string_view what, std::string_view kernel_text = {});
// An NlError as a Status: ok for an ACK.
Status to_status(const NlError& e, std::string_view what);

// ---- names and requests ------------------------------------------------------------------------
// The kernel's rules for an interface name (dev_valid_name): 1..15 bytes, not "." or "..", no
// '/', ':' or whitespace.
Status check_ifname(std::string_view name);
// IFLA_IFALIAS: at most 255 bytes, no NUL.
Status check_alias(std::string_view alias);

// What a veth RTM_NEWLINK carries.
struct VethParams {
  std::string host_name;
  std::string peer_name;  // its final name (in peer_netns_fd's namespace when that is set)
  uint32_t mtu = 0;       // both ends; 0: none sent
  std::optional<Mac> peer_mac;
  bool host_up = true;
  bool peer_up = false;
  std::optional<uint32_t> peer_netns_fd;  // create the peer directly in this namespace
};
LinkMessage veth_request(const VethParams& p, uint32_t seq);
// RTM_SETLINK by index (or by name when index is 0; then `attrs.ifname` must not rename).
// `up` sets or clears IFF_UP; absent leaves it.
LinkMessage set_link_request(int32_t index, LinkAttrs attrs, std::optional<bool> up, uint32_t seq);
// RTM_DELLINK by name.
LinkMessage del_link_request(std::string_view name, uint32_t seq);
// RTM_DELLINK of every link in device group `group` (one kernel batch: one RCU wait for all).
LinkMessage del_group_request(uint32_t group, uint32_t seq);
// RTM_GETLINK of one link by name, and the dump of all links (without statistics).
LinkMessage get_link_request(std::string_view name, uint32_t seq);
LinkMessage dump_links_request(uint32_t seq);
// RTM_NEWADDR: address/prefix on interface `index` (IFA_LOCAL and IFA_ADDRESS, as ip does).
AddrMessage add_addr_request(int32_t index, Ipv4 address, uint8_t prefix, uint32_t seq);
// RTM_NEWROUTE in the main table: dst/len via `gateway`, or on-link out of `oif` without one.
RouteMessage add_route_request(Ipv4 dst, uint8_t len, std::optional<Ipv4> gateway,
                               std::optional<uint32_t> oif, uint32_t seq);

// A link as the reconcile sees it (from a dump's RTM_NEWLINK).
struct LinkInfo {
  int32_t index = 0;
  std::string name;
  std::string alias;
  std::string kind;  // "veth", "" when the kernel reports none
  uint32_t mtu = 0;
  std::optional<Mac> mac;
  bool up = false;
  int32_t peer_index = 0;  // IFLA_LINK (a veth's peer, maybe in another namespace)
  bool operator==(const LinkInfo&) const = default;
};
LinkInfo link_info(const LinkMessage& m);

// ---- template definitions ----------------------------------------------------------------------
template <typename Fn>
bool for_each_attr(ByteSpan bytes, Fn&& fn) {
  ByteReader r(bytes);
  while (r.remaining() > 0) {
    if (r.remaining() < 4) return false;
    ByteSpan hdr;
    (void)r.take(4, &hdr);
    uint16_t len = static_cast<uint16_t>(hdr[0] | (hdr[1] << 8));
    uint16_t type = static_cast<uint16_t>(hdr[2] | (hdr[3] << 8));
    if (len < 4) return false;
    ByteSpan payload;
    if (!r.take(len - 4u, &payload)) return false;
    fn(static_cast<uint16_t>(type & kNlaTypeMask), payload);
    size_t pad = (4 - len % 4) % 4;
    if (!r.skip(std::min(pad, r.remaining()))) return false;
  }
  return true;
}

}  // namespace vlcp::link
