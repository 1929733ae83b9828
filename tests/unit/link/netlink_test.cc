// The rtnetlink codec against iproute2's own bytes (captured with
// `strace -e trace=sendmsg -e write=all ip ...` from iproute2 6.1 on this machine, 2026-12-07),
// round trips, hostile input, errno typing, and the kernel itself: a real dump decoded, real
// errors typed, namespace paths refused, and the link thread answering on the control loop.
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>

#include "base/clock.h"
#include "io/control_loop.h"
#include "link/executor.h"
#include "link/netlink.h"
#include "link/rtnl.h"

namespace vlcp::link {
namespace {

std::vector<uint8_t> hex(std::string_view text) {
  Buffer b;
  EXPECT_TRUE(from_hex(text, b)) << text;
  return {b.data(), b.data() + b.size()};
}

template <typename M>
std::string encoded_hex(const M& m) {
  Buffer b;
  encode(b, m);
  return to_hex(b.span());
}

std::string canonical(std::string_view text) {
  return to_hex(hex(text));
}

NlFrame only_frame(const std::vector<uint8_t>& bytes) {
  auto frames = split(ByteSpan(bytes));
  EXPECT_TRUE(frames.ok()) << frames.status().to_string();
  EXPECT_EQ(frames->size(), 1u);
  return frames->front();
}

constexpr uint32_t kSeq = 0x6b1679ff;
constexpr Mac kMac9{2, 0, 0, 0, 0, 9};

// ip link add name vlcpa0 mtu 1450 up type veth peer name vlcpa0c address 02:00:00:00:00:09 mtu 1450
constexpr std::string_view kVethGolden =
    "78000000 10000506 ff79166b 00000000 00000000 00000000 01000000 01000000"
    "08000400 aa050000 0b000300 766c6370 61300000 44001200 08000100 76657468"
    "38000200 34000100 00000000 00000000 00000000 00000000 0a000100 02000000"
    "00090000 08000400 aa050000 0c000300 766c6370 61306300";
// ip link add name vlcpb0 mtu 1450 up type veth peer address 02:00:00:00:00:0a mtu 1450 netns P name eth0
// (P was fd 4 in ip)
constexpr std::string_view kVethNetnsGolden =
    "80000000 10000506 ff79166b 00000000 00000000 00000000 01000000 01000000"
    "08000400 aa050000 0b000300 766c6370 62300000 4c001200 08000100 76657468"
    "40000200 3c000100 00000000 00000000 00000000 00000000 0a000100 02000000"
    "000a0000 08000400 aa050000 08001c00 04000000 09000300 65746830 00000000";
// ip link set dev vlcpa0 alias vlcp:docker:abc (ip sends RTM_NEWLINK by index 3)
constexpr std::string_view kAliasGolden =
    "34000000 10000500 ff79166b 00000000 00000000 03000000 00000000 00000000"
    "13001400 766c6370 3a646f63 6b65723a 61626300";
// ip link set dev vlcpa0c address 02:00:00:00:00:0b mtu 1400 up (index 2)
constexpr std::string_view kSetGolden =
    "34000000 10000500 0b7a166b 00000000 00000000 02000000 01000000 01000000"
    "0a000100 02000000 000b0000 08000400 78050000";
// ip link set dev vlcpa0c netns P name eth1 (index 2, P fd 4)
constexpr std::string_view kMoveGolden =
    "34000000 10000500 ff79166b 00000000 00000000 02000000 00000000 00000000"
    "08001c00 04000000 09000300 65746831 00000000";
// ip link del vlcpa0 (by index 3)
constexpr std::string_view kDelGolden =
    "20000000 11000500 ff79166b 00000000 00000000 03000000 00000000 00000000";
// ip's own lookup before `ip link set dev vlcpa0 ...`
constexpr std::string_view kGetGolden =
    "34000000 12000100 ff79166b 00000000 00000000 00000000 00000000 00000000"
    "08001d00 09000000 0b000300 766c6370 61300000";
// ip addr add 10.1.0.5/24 dev eth0 (index 2)
constexpr std::string_view kAddrGolden =
    "28000000 14000506 007a166b 00000000 02180000 02000000 08000200 0a010005 08000100 0a010005";
// ip route add default via 10.1.0.1
constexpr std::string_view kDefaultRouteGolden =
    "24000000 18000506 007a166b 00000000 02000000 fe030001 00000000 08000500 0a010001";
// ip route add 10.9.0.0/16 via 10.1.0.1
constexpr std::string_view kNetRouteGolden =
    "2c000000 18000506 007a166b 00000000 02100000 fe030001 00000000 08000100 0a090000 08000500 0a010001";
// ip route add 10.8.0.0/16 dev eth0 (index 2)
constexpr std::string_view kDevRouteGolden =
    "2c000000 18000506 007a166b 00000000 02100000 fe03fd01 00000000 08000100 0a080000 08000400 02000000";

// ---- encode: ip's bytes ------------------------------------------------------------------------

TEST(NetlinkEncode, VethPairIsIpsBytes) {
  VethParams p;
  p.host_name = "vlcpa0";
  p.peer_name = "vlcpa0c";
  p.mtu = 1450;
  p.peer_mac = kMac9;
  EXPECT_EQ(encoded_hex(veth_request(p, kSeq)), canonical(kVethGolden));
}

TEST(NetlinkEncode, VethPeerCreatedInANamespaceUnderItsFinalName) {
  VethParams p;
  p.host_name = "vlcpb0";
  p.peer_name = "eth0";
  p.mtu = 1450;
  p.peer_mac = Mac{2, 0, 0, 0, 0, 0x0a};
  p.peer_netns_fd = 4;
  EXPECT_EQ(encoded_hex(veth_request(p, kSeq)), canonical(kVethNetnsGolden));
}

// ip changes links with RTM_NEWLINK; ours are RTM_SETLINK, the same bytes otherwise.
LinkMessage as_ip_sends(LinkMessage m) {
  m.header.type = RTM_NEWLINK;
  return m;
}

TEST(NetlinkEncode, SetLinkAliasMtuMacUpAndMoveAreIpsBytes) {
  LinkAttrs alias;
  alias.alias = "vlcp:docker:abc";
  EXPECT_EQ(encoded_hex(as_ip_sends(set_link_request(3, alias, std::nullopt, kSeq))),
            canonical(kAliasGolden));

  LinkAttrs set;
  set.address = Mac{2, 0, 0, 0, 0, 0x0b};
  set.mtu = 1400;
  EXPECT_EQ(encoded_hex(as_ip_sends(set_link_request(2, set, true, 0x6b167a0b))), canonical(kSetGolden));

  LinkAttrs move;
  move.net_ns_fd = 4;
  move.ifname = "eth1";
  EXPECT_EQ(encoded_hex(as_ip_sends(set_link_request(2, move, std::nullopt, kSeq))), canonical(kMoveGolden));
  EXPECT_EQ(set_link_request(2, move, std::nullopt, kSeq).header.type, RTM_SETLINK);
}

TEST(NetlinkEncode, DeleteAndLookup) {
  LinkMessage del;
  del.header = {RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, kSeq, 0};
  del.body.info.index = 3;
  EXPECT_EQ(encoded_hex(del), canonical(kDelGolden));
  // Ours deletes by name: the same message with IFLA_IFNAME instead of the index.
  EXPECT_EQ(encoded_hex(del_link_request("vlcpa0", kSeq)),
            canonical("2c000000 11000500 ff79166b 00000000 00000000 00000000 00000000 00000000"
                      "0b000300 766c6370 61300000"));
  EXPECT_EQ(encoded_hex(get_link_request("vlcpa0", kSeq)), canonical(kGetGolden));
  // ip link del group 1986815856 (the batch delete's second step)
  EXPECT_EQ(
      encoded_hex(del_group_request(0x766c6770, 0x6b168449)),
      canonical("28000000 11000500 4984166b 00000000 00000000 00000000 00000000 00000000 08001b00 70676c76"));
}

TEST(NetlinkEncode, AddressAndRoutesAreIpsBytes) {
  Ipv4 addr{10, 1, 0, 5}, gw{10, 1, 0, 1};
  EXPECT_EQ(encoded_hex(add_addr_request(2, addr, 24, 0x6b167a00)), canonical(kAddrGolden));
  EXPECT_EQ(encoded_hex(add_route_request({}, 0, gw, std::nullopt, 0x6b167a00)),
            canonical(kDefaultRouteGolden));
  EXPECT_EQ(encoded_hex(add_route_request({10, 9, 0, 0}, 16, gw, std::nullopt, 0x6b167a00)),
            canonical(kNetRouteGolden));
  EXPECT_EQ(encoded_hex(add_route_request({10, 8, 0, 0}, 16, std::nullopt, 2u, 0x6b167a00)),
            canonical(kDevRouteGolden));
}

// ---- decode: round trips -----------------------------------------------------------------------

TEST(NetlinkDecode, GoldensDecodeToTheMessagesThatMadeThem) {
  VethParams p;
  p.host_name = "vlcpb0";
  p.peer_name = "eth0";
  p.mtu = 1450;
  p.peer_mac = Mac{2, 0, 0, 0, 0, 0x0a};
  p.peer_netns_fd = 4;
  auto veth = decode_link(only_frame(hex(kVethNetnsGolden)));
  ASSERT_TRUE(veth.ok()) << veth.status().to_string();
  EXPECT_EQ(*veth, veth_request(p, kSeq));
  ASSERT_EQ(veth->body.attrs.peer.size(), 1u);
  EXPECT_EQ(veth->body.attrs.peer[0].attrs.ifname, "eth0");
  EXPECT_EQ(veth->body.attrs.kind, "veth");

  auto alias = decode_link(only_frame(hex(kAliasGolden)));
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias->body.attrs.alias, "vlcp:docker:abc");
  EXPECT_EQ(alias->body.info.index, 3);

  auto addr = decode_addr(only_frame(hex(kAddrGolden)));
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, add_addr_request(2, {10, 1, 0, 5}, 24, 0x6b167a00));

  for (auto golden : {kDefaultRouteGolden, kNetRouteGolden, kDevRouteGolden}) {
    auto route = decode_route(only_frame(hex(golden)));
    ASSERT_TRUE(route.ok());
    EXPECT_EQ(encoded_hex(*route), canonical(golden));
  }
}

TEST(NetlinkDecode, SeveralMessagesInOneDatagram) {
  auto bytes = hex(kDelGolden);
  auto more = hex(kAddrGolden);
  bytes.insert(bytes.end(), more.begin(), more.end());
  auto frames = split(ByteSpan(bytes));
  ASSERT_TRUE(frames.ok());
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ((*frames)[0].header.type, RTM_DELLINK);
  EXPECT_EQ((*frames)[1].header.type, RTM_NEWADDR);
}

// A dump the kernel (6.18) sent for `ip link add name vlcpa0 mtu 1450 up type veth peer name
// vlcpa0c address 02:00:00:00:00:09; ip link set vlcpa0 alias vlcp:docker:abc` in a fresh
// namespace (RTM_GETLINK, NLM_F_DUMP, RTEXT_FILTER_SKIP_STATS), also a fuzz seed.
std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(NetlinkDecode, AKernelDumpOfAVethPairWithItsAlias) {
  auto bytes = read_file(std::string(VLCP_SOURCE_DIR) + "/tests/fuzz/corpus/netlink/dump0");
  ASSERT_FALSE(bytes.empty());
  auto frames = split(ByteSpan(bytes));
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  std::map<std::string, LinkInfo> links;
  for (const NlFrame& f : *frames) {
    ASSERT_EQ(f.header.type, RTM_NEWLINK);
    EXPECT_TRUE(f.header.flags & NLM_F_MULTI);
    auto m = decode_link(f);
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    LinkInfo i = link_info(*m);
    links[i.name] = i;
  }
  ASSERT_EQ(links.size(), 3u);
  const LinkInfo& host = links["vlcpa0"];
  const LinkInfo& peer = links["vlcpa0c"];
  EXPECT_EQ(host.alias, "vlcp:docker:abc");
  EXPECT_EQ(host.kind, "veth");
  EXPECT_EQ(host.mtu, 1450u);
  EXPECT_TRUE(host.up);
  EXPECT_EQ(host.peer_index, peer.index);
  EXPECT_EQ(peer.peer_index, host.index);
  EXPECT_EQ(peer.mac, kMac9);
  EXPECT_EQ(peer.alias, "");
  EXPECT_FALSE(peer.up);
  EXPECT_EQ(links["lo"].kind, "");
  EXPECT_EQ(links["lo"].mtu, 65536u);
  auto done = split(ByteSpan(read_file(std::string(VLCP_SOURCE_DIR) + "/tests/fuzz/corpus/netlink/dump1")));
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ(decode_done(done->front()).value_or(-1), 0);
}

// ---- decode: hostile input ---------------------------------------------------------------------

TEST(NetlinkDecode, EveryTruncationFailsCleanly) {
  auto bytes = hex(kVethNetnsGolden);
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    auto frames = split(ByteSpan(cut));
    if (n == 0) {
      EXPECT_TRUE(frames.ok() && frames->empty());
      continue;
    }
    EXPECT_FALSE(frames.ok()) << n;  // nlmsg_len says 128
    EXPECT_EQ(frames.status().code(), Errc::kMalformed);
    // With nlmsg_len patched to the cut length, the body is what is short.
    if (n >= 16) {
      uint32_t len = static_cast<uint32_t>(n);
      std::memcpy(cut.data(), &len, 4);
      auto again = split(ByteSpan(cut));
      ASSERT_TRUE(again.ok());
      auto m = decode_link(again->front());
      if (m.ok()) {
        EXPECT_LE(encoded_hex(*m).size(), 2 * n + 8);  // nothing invented
      } else {
        EXPECT_EQ(m.status().code(), Errc::kMalformed);
      }
    }
  }
}

TEST(NetlinkDecode, BadLengthsAreMalformed) {
  // nlmsg_len below the header's size.
  auto bytes = hex(kDelGolden);
  bytes[0] = 8;
  EXPECT_EQ(split(ByteSpan(bytes)).status().code(), Errc::kMalformed);
  // An attribute shorter than its own header, and one running past the message.
  auto alias = hex(kAliasGolden);
  alias[32] = 2;
  EXPECT_EQ(decode_link(only_frame(alias)).status().code(), Errc::kMalformed);
  alias[32] = 0x40;
  EXPECT_EQ(decode_link(only_frame(alias)).status().code(), Errc::kMalformed);
  // An IPv4 attribute of 3 bytes.
  auto addr = hex(kAddrGolden);
  addr[24] = 7;
  EXPECT_EQ(decode_addr(only_frame(addr)).status().code(), Errc::kMalformed);
  // A 4-byte IFLA_ADDRESS (a tunnel's) is not an error: the MAC is just absent.
  auto set = hex(kSetGolden);
  set[32] = 8;  // "0a00 0100 02000000" -> 4 bytes of address, then 2 bytes of padding eaten
  set.erase(set.begin() + 40, set.begin() + 44);
  set[0] = static_cast<uint8_t>(set.size());
  auto m = decode_link(only_frame(set));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_FALSE(m->body.attrs.address);
  EXPECT_EQ(m->body.attrs.mtu, 1400u);
}

// ---- errors ------------------------------------------------------------------------------------

// An NLMSG_ERROR as the kernel sends it with NETLINK_CAP_ACK and NETLINK_EXT_ACK on.
std::vector<uint8_t> error_message(int err, std::string_view text) {
  Buffer b;
  size_t start = b.size();
  auto ne32 = [&](uint32_t v) { std::memcpy(b.extend(4), &v, 4); };
  auto ne16 = [&](uint16_t v) { std::memcpy(b.extend(2), &v, 2); };
  ne32(0);
  ne16(NLMSG_ERROR);
  ne16(NLM_F_CAPPED | (text.empty() ? 0 : NLM_F_ACK_TLVS));
  ne32(7);
  ne32(1234);
  ne32(static_cast<uint32_t>(err));
  ne32(52);  // the request's header
  ne16(RTM_NEWLINK);
  ne16(NLM_F_REQUEST | NLM_F_ACK);
  ne32(7);
  ne32(0);
  if (!text.empty()) {
    ne16(static_cast<uint16_t>(4 + text.size() + 1));
    ne16(NLMSGERR_ATTR_MSG);
    b.append(text);
    b.put_u8(0);
    b.put_zeros((4 - b.size() % 4) % 4);
  }
  uint32_t len = static_cast<uint32_t>(b.size() - start);
  std::memcpy(b.data(), &len, 4);
  return {b.data(), b.data() + b.size()};
}

TEST(NetlinkErrors, AnAckIsOk) {
  auto e = decode_error(only_frame(error_message(0, "")));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->error, 0);
  EXPECT_EQ(e->request.type, RTM_NEWLINK);
  EXPECT_TRUE(to_status(*e, "x").ok());
}

TEST(NetlinkErrors, ExistsIsTypedWithTheKernelsText) {
  auto e = decode_error(only_frame(error_message(-EEXIST, "Interface already exists")));
  ASSERT_TRUE(e.ok());
  Status s = to_status(*e, "creating veth a/b");
  EXPECT_EQ(s.code(), Errc::kAlreadyExists);
  EXPECT_EQ(s.message(),
            std::string("creating veth a/b: ") + std::strerror(EEXIST) + " (Interface already exists)");
}

TEST(NetlinkErrors, ErrnosMapToTypedCodes) {
  EXPECT_EQ(errno_status(-ENOENT, "x").code(), Errc::kNotFound);
  EXPECT_EQ(errno_status(ENODEV, "x").code(), Errc::kNotFound);
  EXPECT_EQ(errno_status(-EPERM, "x").code(), Errc::kPermissionDenied);
  EXPECT_EQ(errno_status(-EINVAL, "x").code(), Errc::kInvalidArgument);
  EXPECT_EQ(errno_status(-EBUSY, "x").code(), Errc::kConflict);
  EXPECT_EQ(errno_status(-EIO, "x").code(), Errc::kIo);
}

// Found by netlink_parse_fuzz: an error of INT_MIN was negated (undefined behaviour).
TEST(NetlinkErrors, AnErrorThatIsNoErrnoIsMalformed) {
  for (int err : {std::numeric_limits<int>::min(), -4096, 1}) {
    EXPECT_EQ(decode_error(only_frame(error_message(err, ""))).status().code(), Errc::kMalformed) << err;
  }
  EXPECT_TRUE(decode_error(only_frame(error_message(-4095, ""))).ok());
  EXPECT_EQ(errno_status(std::numeric_limits<int>::min(), "x").code(), Errc::kIo);
}

TEST(NetlinkErrors, ATruncatedErrorIsMalformed) {
  auto bytes = error_message(-EEXIST, "Interface already exists");
  for (size_t n = 16; n < 36; ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    uint32_t len = static_cast<uint32_t>(n);
    std::memcpy(cut.data(), &len, 4);
    EXPECT_EQ(decode_error(only_frame(cut)).status().code(), Errc::kMalformed) << n;
  }
}

TEST(NetlinkNames, TheKernelsRules) {
  EXPECT_TRUE(check_ifname("vlcp3fa2c91d07c").ok());
  EXPECT_EQ(check_ifname("vlcp3fa2c91d07cc").code(), Errc::kInvalidArgument);  // 16 bytes
  for (const char* bad : {"", ".", "..", "a/b", "a:b", "a b", "a\tb"})
    EXPECT_EQ(check_ifname(bad).code(), Errc::kInvalidArgument) << bad;
  EXPECT_TRUE(check_alias(std::string(255, 'a')).ok());
  EXPECT_FALSE(check_alias(std::string(256, 'a')).ok());
}

// ---- the kernel (this process's own namespace: nothing is created) -----------------------------

TEST(NetlinkKernel, ARealDumpDecodes) {
  auto s = RtnlSocket::open();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto links = s->dump_links();
  ASSERT_TRUE(links.ok()) << links.status().to_string();
  bool lo = false;
  for (const auto& m : *links) {
    LinkInfo i = link_info(m);
    EXPECT_EQ(i.index, static_cast<int32_t>(if_nametoindex(i.name.c_str()))) << i.name;
    EXPECT_GT(i.mtu, 0u) << i.name;
    if (i.name == "lo") lo = true;
  }
  EXPECT_TRUE(lo);
  auto one = s->get_link("lo");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(link_info(*one).index, static_cast<int32_t>(if_nametoindex("lo")));
}

TEST(NetlinkKernel, RealErrorsAreTyped) {
  auto s = RtnlSocket::open();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->get_link("vlcpnosuch0").status().code(), Errc::kNotFound);
  Status del = s->call(del_link_request("vlcpnosuch0", 0), "deleting vlcpnosuch0");
  EXPECT_TRUE(del.code() == Errc::kNotFound || del.code() == Errc::kPermissionDenied) << del.to_string();
}

TEST(NetlinkKernel, OnlyNetworkNamespacesAreEntered) {
  EXPECT_TRUE(open_netns("/proc/self/ns/net").ok());
  auto uts = open_netns("/proc/self/ns/uts");
  EXPECT_EQ(uts.status().code(), Errc::kInvalidArgument);
  EXPECT_NE(uts.status().message().find("not a network namespace"), std::string::npos);
  auto file = open_netns("/proc/self/status");
  EXPECT_EQ(file.status().code(), Errc::kInvalidArgument);
  EXPECT_NE(file.status().message().find("is not a namespace"), std::string::npos);
  EXPECT_EQ(open_netns("/run/netns/vlcp-no-such-namespace").status().code(), Errc::kNotFound);
}

TEST(LinkExecutor, AnswersOnTheControlLoop) {
  io::ControlLoop loop(RealClock::instance());
  auto e = LinkExecutor::start(loop);
  ASSERT_TRUE(e.ok());
  std::thread::id control = std::this_thread::get_id();
  int answered = 0;
  (*e)->list_links("", [&](Result<std::vector<LinkInfo>> links) {
    EXPECT_EQ(std::this_thread::get_id(), control);
    ASSERT_TRUE(links.ok());
    bool lo = false;
    for (const auto& l : *links) lo = lo || l.name == "lo";
    EXPECT_TRUE(lo);
    ++answered;
  });
  // A path that is not a network namespace is refused, as is a bad name, before anything is made.
  (*e)->setup_netns(NetnsSetup{"/proc/self/ns/uts", "eth0", 0, {}, {}, true}, [&](Status s) {
    EXPECT_EQ(s.code(), Errc::kInvalidArgument);
    ++answered;
  });
  VethRequest bad;
  bad.host_name = "has space";
  bad.peer_name = "p";
  (*e)->create_veth(bad, [&](Status s) {
    EXPECT_EQ(s.code(), Errc::kInvalidArgument);
    ++answered;
    loop.stop();
  });
  loop.run();
  EXPECT_EQ(answered, 3);
  EXPECT_EQ((*e)->requests(), 3u);
  EXPECT_EQ((*e)->failures(), 2u);
}

// Last in this file: it moves the test process into a network namespace of its own (root only),
// where links may be made; the link thread started afterwards lives there too.
TEST(LinkExecutorPrivateNetns, DeletesBatchAndKeepTheirOrderAgainstCreates) {
  if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
    GTEST_SKIP() << "needs root (a private network namespace)";
  io::ControlLoop loop(RealClock::instance());
  auto e = LinkExecutor::start(loop);
  ASSERT_TRUE(e.ok());
  LinkOps& ops = **e;
  std::vector<std::string> log;
  auto step = [&](std::string what) {
    return [&, what](Status s) { log.push_back(what + ":" + std::string(errc_text(s.code()))); };
  };
  for (int i = 0; i < 3; ++i) {
    VethRequest r;
    r.host_name = "t" + std::to_string(i);
    r.peer_name = "t" + std::to_string(i) + "p";
    r.alias = "vlcp:test:" + std::to_string(i);
    ops.create_veth(r, step("create t" + std::to_string(i)));
  }
  // Posted together: three deletes (one of a missing link), then t0 again: the create must see
  // the delete done (no "exists"), the missing one answers alone.
  ops.delete_link("t0", "", step("delete t0"));
  ops.delete_link("t1", "", step("delete t1"));
  ops.delete_link("nosuch", "", step("delete nosuch"));
  VethRequest again;
  again.host_name = "t0";
  again.peer_name = "t0p";
  ops.create_veth(again, step("create t0 again"));
  ops.list_links("", [&](Result<std::vector<LinkInfo>> links) {
    ASSERT_TRUE(links.ok());
    std::vector<std::string> names;
    for (const auto& l : *links) names.push_back(l.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"lo", "t0", "t0p", "t2", "t2p"}));
    loop.stop();
  });
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"create t0:ok", "create t1:ok", "create t2:ok", "delete t0:ok",
                                           "delete t1:ok", "delete nosuch:not found", "create t0 again:ok"}));
}

}  // namespace
}  // namespace vlcp::link
