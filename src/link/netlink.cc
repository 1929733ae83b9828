// The rtnetlink codec (see netlink.h): the attribute tables drive both directions.
#include "link/netlink.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>

namespace vlcp::link {

static_assert(kNlaTypeMask == (NLA_TYPE_MASK & 0xffff) && kRtTableMain == RT_TABLE_MAIN &&
              kRtProtBoot == RTPROT_BOOT && kRtScopeUniverse == RT_SCOPE_UNIVERSE &&
              kRtnUnicast == RTN_UNICAST);

namespace {

constexpr size_t kNlHeaderSize = 16;  // struct nlmsghdr
constexpr size_t kIfInfoSize = 16;    // struct ifinfomsg
constexpr size_t kIfAddrSize = 8;     // struct ifaddrmsg
constexpr size_t kRtMsgSize = 12;     // struct rtmsg

// Netlink integers are in host order.
void put_ne16(Buffer& b, uint16_t v) {
  std::memcpy(b.extend(2), &v, 2);
}
void put_ne32(Buffer& b, uint32_t v) {
  std::memcpy(b.extend(4), &v, 4);
}
uint16_t load_ne16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t load_ne32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// An attribute is opened, filled and closed: its length is patched in and it is padded to 4.
size_t open_attr(Buffer& b, uint16_t type) {
  size_t at = b.size();
  put_ne16(b, 0);
  put_ne16(b, type);
  return at;
}
void close_attr(Buffer& b, size_t at) {
  uint16_t len = static_cast<uint16_t>(b.size() - at);
  std::memcpy(b.data() + at, &len, 2);
  b.put_zeros((4 - len % 4) % 4);
}

// ---- one attribute value per kind --------------------------------------------------------------
template <AttrKind K>
void put_value(Buffer& b, const typename AttrValue<K>::type& v) {
  if constexpr (K == AttrKind::kU8) {
    b.put_u8(v);
  } else if constexpr (K == AttrKind::kU32) {
    put_ne32(b, v);
  } else if constexpr (K == AttrKind::kString) {
    b.append(std::string_view(v));
    b.put_u8(0);
  } else if constexpr (K == AttrKind::kText) {
    b.append(std::string_view(v));
  } else {  // kMac, kIpv4: bytes as they are
    b.append(ByteSpan(v.data(), v.size()));
  }
}

// False when the payload cannot be this kind (the message is malformed). An Ethernet address of
// another length (a tunnel's IFLA_ADDRESS) is not an error: the field stays absent.
template <AttrKind K>
bool get_value(ByteSpan p, std::optional<typename AttrValue<K>::type>* out) {
  if constexpr (K == AttrKind::kU8) {
    if (p.size() < 1) return false;
    *out = p[0];
  } else if constexpr (K == AttrKind::kU32) {
    if (p.size() < 4) return false;
    *out = load_ne32(p.data());
  } else if constexpr (K == AttrKind::kString || K == AttrKind::kText) {
    size_t n = 0;
    while (n < p.size() && p[n] != 0) ++n;
    *out = std::string(reinterpret_cast<const char*>(p.data()), n);
  } else if constexpr (K == AttrKind::kMac) {
    if (p.size() != 6) return true;
    Mac m;
    std::memcpy(m.data(), p.data(), 6);
    *out = m;
  } else {
    if (p.size() != 4) return false;
    Ipv4 a;
    std::memcpy(a.data(), p.data(), 4);
    *out = a;
  }
  return true;
}

#define VLCP_NL_ENCODE_ATTR(field, attr, kind) \
  if (a.field) {                               \
    size_t at = open_attr(b, attr);            \
    put_value<AttrKind::kind>(b, *a.field);    \
    close_attr(b, at);                         \
  }
#define VLCP_NL_DECODE_ATTR(field, attr, kind)                        \
  case attr:                                                          \
    if (!get_value<AttrKind::kind>(payload, &out->field)) ok = false; \
    break;

// A whole message: header, body(b), then the length patched in.
template <typename Body>
void encode_message(Buffer& b, const NlHeader& h, Body body) {
  size_t start = b.size();
  put_ne32(b, 0);
  put_ne16(b, h.type);
  put_ne16(b, h.flags);
  put_ne32(b, h.seq);
  put_ne32(b, h.pid);
  body();
  uint32_t len = static_cast<uint32_t>(b.size() - start);
  std::memcpy(b.data() + start, &len, 4);
}

void encode_link_body(Buffer& b, const LinkBody& body) {
  const IfInfo& i = body.info;
  b.put_u8(i.family);
  b.put_u8(0);
  put_ne16(b, i.type);
  put_ne32(b, static_cast<uint32_t>(i.index));
  put_ne32(b, i.flags);
  put_ne32(b, i.change);
  const LinkAttrs& a = body.attrs;
  VLCP_NL_LINK_ATTRS(VLCP_NL_ENCODE_ATTR)
  if (a.kind) {
    size_t info = open_attr(b, IFLA_LINKINFO);
    size_t kind = open_attr(b, IFLA_INFO_KIND);
    b.append(std::string_view(*a.kind));  // without a NUL, as iproute2 sends it
    close_attr(b, kind);
    if (!a.peer.empty()) {
      size_t data = open_attr(b, IFLA_INFO_DATA);
      size_t peer = open_attr(b, VETH_INFO_PEER);
      encode_link_body(b, a.peer.front());
      close_attr(b, peer);
      close_attr(b, data);
    }
    close_attr(b, info);
  }
}

// ifinfomsg + attributes; `depth` 0 for a message, 1 inside VETH_INFO_PEER (whose own peer, if
// any, is ignored: the kernel never nests deeper).
Status decode_link_body(ByteSpan bytes, LinkBody* body, int depth) {
  ByteReader r(bytes);
  ByteSpan fixed;
  if (!r.take(kIfInfoSize, &fixed)) return make_error(Errc::kMalformed, "ifinfomsg truncated");
  IfInfo& i = body->info;
  i.family = fixed[0];
  i.type = load_ne16(fixed.data() + 2);
  i.index = static_cast<int32_t>(load_ne32(fixed.data() + 4));
  i.flags = load_ne32(fixed.data() + 8);
  i.change = load_ne32(fixed.data() + 12);
  LinkAttrs* out = &body->attrs;
  bool ok = true;
  ByteSpan linkinfo;
  bool has_linkinfo = false;
  bool attrs_ok = for_each_attr(r.rest(), [&](uint16_t type, ByteSpan payload) {
    switch (type) {
      VLCP_NL_LINK_ATTRS(VLCP_NL_DECODE_ATTR)
      case IFLA_LINKINFO:
        linkinfo = payload;
        has_linkinfo = true;
        break;
      default:
        break;
    }
  });
  if (!attrs_ok || !ok) return make_error(Errc::kMalformed, "bad link attribute");
  if (!has_linkinfo) return {};
  ByteSpan data;
  bool has_data = false;
  bool info_ok = for_each_attr(linkinfo, [&](uint16_t type, ByteSpan payload) {
    if (type == IFLA_INFO_KIND) {
      std::optional<std::string> kind;
      (void)get_value<AttrKind::kString>(payload, &kind);
      out->kind = std::move(kind);
    } else if (type == IFLA_INFO_DATA) {
      data = payload;
      has_data = true;
    }
  });
  if (!info_ok) return make_error(Errc::kMalformed, "bad IFLA_LINKINFO");
  if (!has_data || out->kind != "veth" || depth > 0) return {};
  Status peer_status;
  bool data_ok = for_each_attr(data, [&](uint16_t type, ByteSpan payload) {
    if (type != VETH_INFO_PEER || !out->peer.empty() || !peer_status.ok()) return;
    LinkBody peer;
    peer_status = decode_link_body(payload, &peer, depth + 1);
    if (peer_status.ok()) out->peer.push_back(std::move(peer));
  });
  if (!data_ok) return make_error(Errc::kMalformed, "bad IFLA_INFO_DATA");
  return peer_status.ok() ? Status{} : peer_status.with_context("veth peer");
}

// errno -> Errc, declared once.
#define VLCP_LINK_ERRNOS(X)          \
  X(EEXIST, kAlreadyExists)          \
  X(ENOTEMPTY, kAlreadyExists)       \
  X(ENOENT, kNotFound)               \
  X(ENODEV, kNotFound)               \
  X(ESRCH, kNotFound)                \
  X(ENXIO, kNotFound)                \
  X(EPERM, kPermissionDenied)        \
  X(EACCES, kPermissionDenied)       \
  X(EINVAL, kInvalidArgument)        \
  X(ERANGE, kInvalidArgument)        \
  X(EADDRNOTAVAIL, kInvalidArgument) \
  X(ENETUNREACH, kInvalidArgument)   \
  X(EBADF, kInvalidArgument)         \
  X(EBUSY, kConflict)                \
  X(EOPNOTSUPP, kUnsupported)        \
  X(EAFNOSUPPORT, kUnsupported)      \
  X(ENOMEM, kResourceExhausted)      \
  X(ENOBUFS, kResourceExhausted)     \
  X(ENOSPC, kResourceExhausted)      \
  X(EAGAIN, kUnavailable)            \
  X(ETIMEDOUT, kTimeout)

// The kernel's errors are -errno, never below -MAX_ERRNO (include/linux/err.h).
constexpr int kMaxErrno = 4095;

Errc errc_of(int err) {
  switch (err) {
#define VLCP_LINK_ERRNO_CASE(e, code) \
  case e:                             \
    return Errc::code;
    VLCP_LINK_ERRNOS(VLCP_LINK_ERRNO_CASE)
#undef VLCP_LINK_ERRNO_CASE
    default:
      return Errc::kIo;
  }
}

}  // namespace

bool LinkAttrs::operator==(const LinkAttrs& o) const {
#define VLCP_NL_EQ(field, attr, kind) field == o.field&&
  return VLCP_NL_LINK_ATTRS(VLCP_NL_EQ) kind == o.kind && peer == o.peer;
#undef VLCP_NL_EQ
}

// ---- encode --------------------------------------------------------------------------------------

void encode(Buffer& b, const LinkMessage& m) {
  encode_message(b, m.header, [&] { encode_link_body(b, m.body); });
}

void encode(Buffer& b, const AddrMessage& m) {
  encode_message(b, m.header, [&] {
    b.put_u8(m.ifa.family);
    b.put_u8(m.ifa.prefixlen);
    b.put_u8(m.ifa.flags);
    b.put_u8(m.ifa.scope);
    put_ne32(b, m.ifa.index);
    const AddrAttrs& a = m.attrs;
    VLCP_NL_ADDR_ATTRS(VLCP_NL_ENCODE_ATTR)
  });
}

void encode(Buffer& b, const RouteMessage& m) {
  encode_message(b, m.header, [&] {
    const RtMsg& r = m.rtm;
    for (uint8_t v : {r.family, r.dst_len, r.src_len, r.tos, r.table, r.protocol, r.scope, r.type})
      b.put_u8(v);
    put_ne32(b, r.flags);
    const RouteAttrs& a = m.attrs;
    VLCP_NL_ROUTE_ATTRS(VLCP_NL_ENCODE_ATTR)
  });
}

// ---- decode --------------------------------------------------------------------------------------

Result<std::vector<NlFrame>> split(ByteSpan datagram) {
  std::vector<NlFrame> frames;
  ByteReader r(datagram);
  while (r.remaining() > 0) {
    ByteSpan hdr;
    if (!r.take(kNlHeaderSize, &hdr))
      return make_error(Errc::kMalformed, "netlink header truncated at byte " + std::to_string(r.position()));
    uint32_t len = load_ne32(hdr.data());
    NlFrame f;
    f.header.type = load_ne16(hdr.data() + 4);
    f.header.flags = load_ne16(hdr.data() + 6);
    f.header.seq = load_ne32(hdr.data() + 8);
    f.header.pid = load_ne32(hdr.data() + 12);
    if (len < kNlHeaderSize || !r.take(len - kNlHeaderSize, &f.payload))
      return make_error(Errc::kMalformed, "netlink message length " + std::to_string(len) + " out of bounds");
    frames.push_back(f);
    size_t pad = (4 - len % 4) % 4;
    (void)r.skip(std::min(pad, r.remaining()));
  }
  return frames;
}

Result<LinkMessage> decode_link(const NlFrame& frame) {
  LinkMessage m;
  m.header = frame.header;
  VLCP_RETURN_IF_ERROR(decode_link_body(frame.payload, &m.body, 0));
  return m;
}

Result<AddrMessage> decode_addr(const NlFrame& frame) {
  ByteReader r(frame.payload);
  ByteSpan fixed;
  if (!r.take(kIfAddrSize, &fixed)) return make_error(Errc::kMalformed, "ifaddrmsg truncated");
  AddrMessage m;
  m.header = frame.header;
  m.ifa = IfAddr{fixed[0], fixed[1], fixed[2], fixed[3], load_ne32(fixed.data() + 4)};
  AddrAttrs* out = &m.attrs;
  bool ok = true;
  bool attrs_ok = for_each_attr(r.rest(), [&](uint16_t type, ByteSpan payload) {
    switch (type) {
      VLCP_NL_ADDR_ATTRS(VLCP_NL_DECODE_ATTR)
      default:
        break;
    }
  });
  if (!attrs_ok || !ok) return make_error(Errc::kMalformed, "bad address attribute");
  return m;
}

Result<RouteMessage> decode_route(const NlFrame& frame) {
  ByteReader r(frame.payload);
  ByteSpan f;
  if (!r.take(kRtMsgSize, &f)) return make_error(Errc::kMalformed, "rtmsg truncated");
  RouteMessage m;
  m.header = frame.header;
  m.rtm = RtMsg{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], load_ne32(f.data() + 8)};
  RouteAttrs* out = &m.attrs;
  bool ok = true;
  bool attrs_ok = for_each_attr(r.rest(), [&](uint16_t type, ByteSpan payload) {
    switch (type) {
      VLCP_NL_ROUTE_ATTRS(VLCP_NL_DECODE_ATTR)
      default:
        break;
    }
  });
  if (!attrs_ok || !ok) return make_error(Errc::kMalformed, "bad route attribute");
  return m;
}

Result<NlError> decode_error(const NlFrame& frame) {
  if (frame.header.type != NLMSG_ERROR) return make_error(Errc::kMalformed, "not an NLMSG_ERROR");
  ByteReader r(frame.payload);
  ByteSpan fixed;
  if (!r.take(4 + kNlHeaderSize, &fixed)) return make_error(Errc::kMalformed, "NLMSG_ERROR truncated");
  NlError e;
  e.error = static_cast<int32_t>(load_ne32(fixed.data()));
  uint32_t request_len = load_ne32(fixed.data() + 4);
  e.request.type = load_ne16(fixed.data() + 8);
  e.request.flags = load_ne16(fixed.data() + 10);
  e.request.seq = load_ne32(fixed.data() + 12);
  e.request.pid = load_ne32(fixed.data() + 16);
  if (e.error > 0 || e.error < -kMaxErrno)
    return make_error(Errc::kMalformed, "NLMSG_ERROR's error is not a negated errno");
  // Without NLM_F_CAPPED the request's payload follows; then, with NLM_F_ACK_TLVS, attributes.
  if (!(frame.header.flags & NLM_F_CAPPED)) {
    if (request_len < kNlHeaderSize || !r.skip(request_len - kNlHeaderSize))
      return make_error(Errc::kMalformed, "NLMSG_ERROR's echoed request out of bounds");
    (void)r.skip(std::min<size_t>((4 - request_len % 4) % 4, r.remaining()));
  }
  if (frame.header.flags & NLM_F_ACK_TLVS) {
    bool ok = for_each_attr(r.rest(), [&](uint16_t type, ByteSpan payload) {
      if (type != NLMSGERR_ATTR_MSG) return;
      std::optional<std::string> text;
      (void)get_value<AttrKind::kString>(payload, &text);
      e.message = text.value_or("");
    });
    if (!ok) return make_error(Errc::kMalformed, "bad NLMSG_ERROR attribute");
  }
  return e;
}

Result<int> decode_done(const NlFrame& frame) {
  if (frame.header.type != NLMSG_DONE) return make_error(Errc::kMalformed, "not an NLMSG_DONE");
  if (frame.payload.size() < 4) return make_error(Errc::kMalformed, "NLMSG_DONE truncated");
  int err = static_cast<int32_t>(load_ne32(frame.payload.data()));
  if (err > 0 || err < -kMaxErrno)
    return make_error(Errc::kMalformed, "NLMSG_DONE's status is not a negated errno");
  return err;
}

Status errno_status(int err, std::string_view what, std::string_view kernel_text) {
  if (err < -kMaxErrno || err > kMaxErrno) err = EIO;  // not an errno: never negate INT_MIN
  if (err < 0) err = -err;
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  if (!kernel_text.empty()) {
    msg += " (";
    msg += kernel_text;
    msg += ")";
  }
  return make_error(errc_of(err), std::move(msg));
}

Status to_status(const NlError& e, std::string_view what) {
  if (e.error == 0) return {};
  return errno_status(e.error, what, e.message);
}

// ---- names and requests ------------------------------------------------------------------------

Status check_ifname(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return make_error(Errc::kInvalidArgument, "interface name '" + std::string(name) + "' must be 1 to " +
                                                  std::to_string(IFNAMSIZ - 1) + " bytes");
  if (name == "." || name == "..")
    return make_error(Errc::kInvalidArgument, "interface name '" + std::string(name) + "' is reserved");
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || u <= ' ' || u == 0x7f)
      return make_error(Errc::kInvalidArgument, "interface name '" + std::string(name) +
                                                    "' has a '/', ':', space or control character");
  }
  return {};
}

Status check_alias(std::string_view alias) {
  if (alias.size() >= 256) return make_error(Errc::kInvalidArgument, "interface alias longer than 255 bytes");
  if (alias.find('\0') != std::string_view::npos)
    return make_error(Errc::kInvalidArgument, "interface alias contains a NUL");
  return {};
}

namespace {
constexpr uint16_t kCreate = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;
constexpr uint16_t kChange = NLM_F_REQUEST | NLM_F_ACK;
}  // namespace

LinkMessage veth_request(const VethParams& p, uint32_t seq) {
  LinkMessage m;
  m.header = {RTM_NEWLINK, kCreate, seq, 0};
  m.body.info.flags = p.host_up ? IFF_UP : 0;
  m.body.info.change = p.host_up ? IFF_UP : 0;
  if (p.mtu) m.body.attrs.mtu = p.mtu;
  m.body.attrs.ifname = p.host_name;
  m.body.attrs.kind = "veth";
  LinkBody peer;
  peer.info.flags = p.peer_up ? IFF_UP : 0;
  peer.info.change = p.peer_up ? IFF_UP : 0;
  peer.attrs.address = p.peer_mac;
  if (p.mtu) peer.attrs.mtu = p.mtu;
  peer.attrs.net_ns_fd = p.peer_netns_fd;
  peer.attrs.ifname = p.peer_name;
  m.body.attrs.peer.push_back(std::move(peer));
  return m;
}

LinkMessage set_link_request(int32_t index, LinkAttrs attrs, std::optional<bool> up, uint32_t seq) {
  LinkMessage m;
  m.header = {RTM_SETLINK, kChange, seq, 0};
  m.body.info.index = index;
  if (up) {
    m.body.info.flags = *up ? IFF_UP : 0;
    m.body.info.change = IFF_UP;
  }
  m.body.attrs = std::move(attrs);
  return m;
}

LinkMessage del_link_request(std::string_view name, uint32_t seq) {
  LinkMessage m;
  m.header = {RTM_DELLINK, kChange, seq, 0};
  m.body.attrs.ifname = std::string(name);
  return m;
}

LinkMessage del_group_request(uint32_t group, uint32_t seq) {
  LinkMessage m;
  m.header = {RTM_DELLINK, kChange, seq, 0};
  m.body.attrs.group = group;
  return m;
}

LinkMessage get_link_request(std::string_view name, uint32_t seq) {
  LinkMessage m;
  m.header = {RTM_GETLINK, NLM_F_REQUEST, seq, 0};
  m.body.attrs.ext_mask = RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS;
  m.body.attrs.ifname = std::string(name);
  return m;
}

LinkMessage dump_links_request(uint32_t seq) {
  LinkMessage m;
  m.header = {RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, 0};
  m.body.attrs.ext_mask = RTEXT_FILTER_SKIP_STATS;
  return m;
}

AddrMessage add_addr_request(int32_t index, Ipv4 address, uint8_t prefix, uint32_t seq) {
  AddrMessage m;
  m.header = {RTM_NEWADDR, kCreate, seq, 0};
  m.ifa.prefixlen = prefix;
  m.ifa.index = static_cast<uint32_t>(index);
  m.attrs.local = address;
  m.attrs.address = address;
  return m;
}

RouteMessage add_route_request(Ipv4 dst, uint8_t len, std::optional<Ipv4> gateway,
                               std::optional<uint32_t> oif, uint32_t seq) {
  RouteMessage m;
  m.header = {RTM_NEWROUTE, kCreate, seq, 0};
  m.rtm.dst_len = len;
  m.rtm.scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  if (len) m.attrs.dst = dst;
  m.attrs.gateway = gateway;
  m.attrs.oif = oif;
  return m;
}

LinkInfo link_info(const LinkMessage& m) {
  LinkInfo i;
  const LinkAttrs& a = m.body.attrs;
  i.index = m.body.info.index;
  i.name = a.ifname.value_or("");
  i.alias = a.alias.value_or("");
  i.kind = a.kind.value_or("");
  i.mtu = a.mtu.value_or(0);
  i.mac = a.address;
  i.up = (m.body.info.flags & IFF_UP) != 0;
  i.peer_index = static_cast<int32_t>(a.link.value_or(0));
  return i;
}

}  // namespace vlcp::link
