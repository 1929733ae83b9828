// The DHCP server app (apps/dhcp/): its settings, the lease a port gets from a real ObjectDB model
// (network, subnet and port options merged in VLCP's order), its punt flows on a switch, and its
// worker handler answering a DISCOVER built here byte by byte for a bound port — with exactly the
// model's address — and not answering for an unknown port, a subnet or port with DHCP disabled or
// a port without a MAC. (Incremental versus full recompute: platform_test.cc, for every app.)
#include "apps/dhcp/dhcp_app.h"

#include "apps/host.h"
#include "apps/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "app_node_fixture.h"
#include "ofp/actions.h"
#include "ofp/message.h"
#include "ofp/print.h"

namespace vlcp::apps {
namespace {

using Json = nlohmann::json;
using Bytes = std::vector<uint8_t>;
using flows::Desired;

constexpr uint32_t ip(int a, int b, int c, int d) {
  return uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | uint32_t(d);
}

// --- settings -------------------------------------------------------------------------------------

Result<dhcp::ServerConfig> settings(const std::string& text) {
  auto c = Config::parse(text, "t.conf");
  if (!c.ok()) return c.error();
  return read_dhcp_settings(*c);
}

TEST(DhcpSettings, VlcpsDefaultsAndNoneForInfinite) {
  auto d = settings("");
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->ip, ip(169, 254, 169, 254));
  EXPECT_EQ(d->mac, (dhcp::Mac{0x1a, 0x23, 0x67, 0x59, 0x63, 0x33}));
  EXPECT_FALSE(d->lease_time);  // None: infinite
  EXPECT_FALSE(d->t1);
  EXPECT_FALSE(d->t2);
  auto s = settings(
      "module.dhcpserver.serveraddress = '10.9.9.9'\nmodule.dhcpserver.servermac = '02:00:00:00:00:99'\n"
      "module.dhcpserver.leasetime = 3600\nmodule.dhcpserver.t1 = 1000\nmodule.dhcpserver.t2 = None\n");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->ip, ip(10, 9, 9, 9));
  EXPECT_EQ(s->lease_time, 3600u);
  EXPECT_EQ(s->t1, 1000u);
  EXPECT_FALSE(s->t2);
  for (const char* bad : {"module.dhcpserver.leasetime = 0", "module.dhcpserver.leasetime = 'forever'",
                          "module.dhcpserver.t2 = -5", "module.dhcpserver.serveraddress = '10.1'",
                          "module.dhcpserver.servermac = '01:00:00:00:00:01'"}) {
    auto r = settings(std::string(bad) + "\n");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().to_string().find("t.conf:1"), std::string::npos) << r.status().to_string();
  }
}

// VLCP skipped the ports of subnets with dhcp_enabled=True (its check was inverted); here DHCP is
// on unless dhcp_enabled says false.
TEST(DhcpSettings, DhcpEnabledIsOnUnlessFalse) {
  EXPECT_TRUE(dhcp_enabled(Json::object()));
  EXPECT_TRUE(dhcp_enabled(Json{{"dhcp_enabled", true}}));
  EXPECT_TRUE(dhcp_enabled(Json{{"dhcp_enabled", nullptr}}));
  EXPECT_FALSE(dhcp_enabled(Json{{"dhcp_enabled", false}}));
  EXPECT_FALSE(dhcp_enabled(Json{{"dhcp_enabled", "False"}}));
  EXPECT_FALSE(dhcp_enabled(Json{{"dhcp_enabled", 0}}));
}

TEST(DhcpOptions, ExtraOptionsAreTypedByCode) {
  auto enc = [](int code, Json v) { return encode_dhcp_option(uint8_t(code), v); };
  EXPECT_EQ(enc(6, Json::array({"10.0.0.1", "10.0.0.2"})), (Bytes{10, 0, 0, 1, 10, 0, 0, 2}));
  EXPECT_EQ(enc(6, "10.0.0.1"), (Bytes{10, 0, 0, 1}));
  EXPECT_EQ(enc(51, 3600), (Bytes{0, 0, 0x0e, 0x10}));
  EXPECT_EQ(enc(51, "infinite"), (Bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(enc(26, 1400), (Bytes{0x05, 0x78}));
  EXPECT_EQ(enc(15, "a.example"), (Bytes{'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'}));
  EXPECT_EQ(enc(121, Json::parse(R"([["10.9.0.0/16", "10.1.0.254"]])")), (Bytes{16, 10, 9, 10, 1, 0, 254}));
  EXPECT_EQ(enc(66, "tftp"), (Bytes{'t', 'f', 't', 'p'}));            // not typed: text as its bytes
  EXPECT_EQ(enc(150, Json::array({1, 2, 255})), (Bytes{1, 2, 255}));  // or the bytes listed
  // Values that do not fit their code: refused (the option is left out, never sent garbled).
  EXPECT_FALSE(enc(6, "not an address"));
  EXPECT_FALSE(enc(26, 70000));
  EXPECT_FALSE(enc(150, Json::array({256})));
  EXPECT_FALSE(enc(150, Json::object()));
  EXPECT_FALSE(enc(121, Json::array({"10.0.0.0/8"})));
}

// --- a DISCOVER, by hand ------------------------------------------------------------------------

uint16_t checksum(const Bytes& b, size_t at, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i < n; i += 2) sum += uint32_t(b[at + i]) << 8 | (i + 1 < n ? b[at + i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// Ethernet broadcast / IPv4 0.0.0.0 -> 255.255.255.255 / UDP 68 -> 67 (no checksum) / BOOTREQUEST
// with option 53 = `type` (and 50 = `requested` when set) and option 55 asking for 1, 3, 26, 121.
Bytes dhcp_frame(const dhcp::Mac& chaddr, uint8_t type = 1, uint32_t requested = 0, uint32_t server = 0) {
  Bytes bootp{1, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef};  // op, htype, hlen, hops, xid
  bootp.resize(28);                                 // secs, flags, ciaddr, yiaddr, siaddr, giaddr
  bootp.insert(bootp.end(), chaddr.begin(), chaddr.end());
  bootp.resize(236);
  bootp.insert(bootp.end(), {0x63, 0x82, 0x53, 0x63, 53, 1, type, 55, 4, 1, 3, 26, 121});
  auto put_ip = [&](uint8_t code, uint32_t a) {
    bootp.insert(bootp.end(), {code, 4, uint8_t(a >> 24), uint8_t(a >> 16), uint8_t(a >> 8), uint8_t(a)});
  };
  if (requested) put_ip(50, requested);
  if (server) put_ip(54, server);
  bootp.push_back(255);
  bootp.resize(300);
  Bytes f(6, 0xff);
  f.insert(f.end(), chaddr.begin(), chaddr.end());
  f.insert(f.end(), {0x08, 0x00});
  size_t ip_at = f.size(), total = 20 + 8 + bootp.size();
  f.insert(f.end(),
           {0x45, 0,  uint8_t(total >> 8), uint8_t(total), 0, 1, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255,
            255,  255});
  uint16_t c = checksum(f, ip_at, 20);
  f[ip_at + 10] = uint8_t(c >> 8), f[ip_at + 11] = uint8_t(c);
  size_t udp_len = 8 + bootp.size();
  f.insert(f.end(), {0, 68, 0, 67, uint8_t(udp_len >> 8), uint8_t(udp_len), 0, 0});
  f.insert(f.end(), bootp.begin(), bootp.end());
  return f;
}

Bytes packet_in(const Bytes& frame, uint32_t in_port) {
  ofp::Match m;
  m.add(ofp::Field::kInPort, in_port);
  ofp::PacketInView p;
  p.total_len = uint16_t(frame.size());
  p.cookie = flows::cookie(kDhcpAppId, 1) | flows::kCookieToWorkers;
  p.data = ByteSpan(frame.data(), frame.size());
  InlineBuffer<2048> b;
  ofp::encode_packet_in(b, 0, p, m.oxms());
  return Bytes(b.data(), b.data() + b.size());
}

// A reply as a client reads it: where it goes out, its header and its options by code.
struct Reply {
  uint32_t out_port = 0;
  dhcp::Request r;
  std::map<uint8_t, Bytes> opts;
};
std::optional<Reply> read_reply(const Buffer& answers) {
  if (answers.size() == 0) return std::nullopt;
  auto frame = ofp::decode_frame(answers.span());
  if (!frame.ok() || frame->header.type != ofp::MsgType::kPacketOut) return std::nullopt;
  auto po = ofp::decode_packet_out(*frame);
  if (!po.ok()) return std::nullopt;
  Reply out;
  po->actions.for_each([&](const ofp::ActionView& a) {
    if (load_be16(a.bytes.data()) == 0) out.out_port = load_be32(a.bytes.data() + 4);
  });
  if (dhcp::decode_reply(po->data, out.r) != dhcp::Malformed::kNone) return std::nullopt;
  ByteSpan o = out.r.options;
  for (size_t i = 0; i < o.size() && o[i] != 255;) {
    if (o[i] == 0) {
      ++i;
      continue;
    }
    out.opts[o[i]].insert(out.opts[o[i]].end(), o.begin() + i + 2, o.begin() + i + 2 + o[i + 1]);
    i += 2 + o[i + 1];
  }
  return out;
}
Bytes be32(uint32_t v) {
  return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}

// --- the app on a real ObjectDB -----------------------------------------------------------------

class DhcpAppTest : public apps::testing::AppNodeFixture {
 protected:
  void SetUp() override {
    AppNodeFixture::SetUp();
    configure_app(
        DhcpApp::kAppName,
        "module.openflowmanager.apps = ['ioprocessing','l2switch','vxlancast','arpresponder','dhcpserver',"
        "'icmpresponder','l3router']\nmodule.dhcpserver.leasetime = 7200\n");
  }
  DhcpApp& dhcp() { return static_cast<DhcpApp&>(*app_); }
  void ok(std::function<void(model::ViperFlow&, model::Done)> fn) {
    auto r = call(std::move(fn));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }
  // The model: n1 (options on the network, subnet s1 with DHCP, s3 without), n2 (subnet s2 with
  // DHCP disabled), ports bound on the switch p1 (s1, ofport 10), p2 (s2, 11), p3 (s1, no MAC, 12),
  // p4 (s1, DHCP off on the port, 13), p6 (s3: DHCP off on its subnet, same network, 14);
  // p5 (s1) is not bound here.
  void build_model() {
    ok([](auto& v, auto d) {
      v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]}])"), d);
    });
    ok([](auto& v, auto d) {
      v.create_logical_networks(Json::parse(R"([
        {"id":"n1","physicalnetwork":"vx","dns_nameservers":["8.8.8.8"],"domain_name":"net.example",
         "mtu":1500,"ntp_servers":["10.0.0.5"],"lease_time":3600,
         "extra_dhcp_options":{"66":"tftp.example","42":["10.0.0.6"]}},
        {"id":"n2","physicalnetwork":"vx"}])"),
                                d);
    });
    ok([](auto& v, auto d) {
      v.create_subnets(Json::parse(R"([
        {"id":"s1","logicalnetwork":"n1","cidr":"10.1.0.0/24","gateway":"10.1.0.1",
         "dns_nameservers":["10.1.0.53"],"mtu":1400,"host_routes":[["192.168.50.0/24","10.1.0.254"]],
         "extra_dhcp_options":{"66":"tftp2.example"}},
        {"id":"s3","logicalnetwork":"n1","cidr":"10.3.0.0/24","gateway":"10.3.0.1","dhcp_enabled":false},
        {"id":"s2","logicalnetwork":"n2","cidr":"10.2.0.0/24","gateway":"10.2.0.1","dhcp_enabled":false}])"),
                       d);
    });
    ok([](auto& v, auto d) {
      v.create_logical_ports(Json::parse(R"([
        {"id":"p1","logicalnetwork":"n1","subnet":"s1","mac_address":"02:00:00:00:00:01","ip_address":"10.1.0.10",
         "hostname":"h1","extra_dhcp_options":{"15":"port.example"}},
        {"id":"p2","logicalnetwork":"n2","subnet":"s2","mac_address":"02:00:00:00:00:02","ip_address":"10.2.0.10"},
        {"id":"p3","logicalnetwork":"n1","subnet":"s1","ip_address":"10.1.0.30"},
        {"id":"p4","logicalnetwork":"n1","subnet":"s1","mac_address":"02:00:00:00:00:04","ip_address":"10.1.0.40",
         "dhcp_enabled":false},
        {"id":"p5","logicalnetwork":"n1","subnet":"s1","mac_address":"02:00:00:00:00:05","ip_address":"10.1.0.50"},
        {"id":"p6","logicalnetwork":"n1","subnet":"s3","mac_address":"02:00:00:00:00:06","ip_address":"10.3.0.10"}
      ])"),
                             d);
    });
    start_node();
    SwitchView view{"br-int",
                    {{"tap1", "", "p1", "", 10},
                     {"tap2", "", "p2", "", 11},
                     {"tap3", "", "p3", "", 12},
                     {"tap4", "", "p4", "", 13},
                     {"tap6", "", "p6", "", 14},
                     {"vxlan0", "vxlan", "", "192.168.0.1", 1}}};
    host_->update_switch(1, view);
    host_->attach(1, &sw_);
    ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
    settle();
  }
  // The worker handler, as the daemon runs it: the spec's packet-in declaration for app id 7.
  std::optional<Reply> ask(uint32_t in_port, const Bytes& frame) {
    auto decls = spec_->packet_ins();
    EXPECT_EQ(decls.size(), 1u);
    EXPECT_EQ(decls[0].app_id, kDhcpAppId);
    EXPECT_TRUE(decls[0].on_workers);
    InlineBuffer<2048> answers;
    decls[0].worker(1, ByteSpan(packet_in(frame, in_port)), answers);
    return read_reply(answers);
  }
  double metric(const std::string& name, const std::string& label = "") {
    for (const auto& m : app_->metrics())
      if (m.name == name && (label.empty() || (!m.labels.empty() && m.labels[0].second == label)))
        return m.value;
    return -1;
  }
  std::string netkey(const char* id) {
    return std::string(schema::kind(schema::Kind::kLogicalNetwork).key_prefix) + id;
  }
  uint32_t netid(const char* id) { return *model_->logical_networks().at(netkey(id)).netid; }
};

std::vector<std::string> printed(const Desired& d) {
  std::vector<std::string> out;
  for (const auto& [k, b] : d.flows) {
    std::string text = "table=" + std::to_string(k.table) + ",priority=" + std::to_string(k.priority) +
                       ",cookie=" + std::to_string(b.cookie) + " ";
    ofp::format_match(text, ByteSpan(reinterpret_cast<const uint8_t*>(k.match.data()), k.match.size()));
    text += " -> ";
    ofp::format_instructions(
        text, ByteSpan(reinterpret_cast<const uint8_t*>(b.instructions.data()), b.instructions.size()));
    out.push_back(text);
  }
  return out;
}

TEST_F(DhcpAppTest, PuntFlowsOnlyForServedPortsOfThisSwitch) {
  ASSERT_NO_FATAL_FAILURE(build_model());
  auto parts = app_->compute(*model_, *host_->context(1));
  // n1 has p1 served here (p3: no MAC, p4: DHCP off on the port, p6: on a subnet with DHCP off);
  // n2's only port is on a subnet with DHCP off: no partition at all.
  ASSERT_EQ(parts.size(), 1u);
  ASSERT_EQ(parts.count(netkey("n1")), 1u);
  auto flows = printed(parts.at(netkey("n1")));
  ASSERT_EQ(flows.size(), 2u) << ::testing::PrintToString(flows);
  uint8_t l3input = *pipeline_.tables.id("l3input");
  uint64_t cookie = flows::cookie(kDhcpAppId, netid("n1")) | flows::kCookieToWorkers;
  std::string head = "table=" + std::to_string(l3input) + ",priority=32770,cookie=" + std::to_string(cookie);
  for (const auto& f : flows) {
    EXPECT_EQ(f.rfind(head, 0), 0u) << f;
    EXPECT_NE(f.find("in_port=10"), std::string::npos) << f;
    char reg4[32];
    std::snprintf(reg4, sizeof reg4, "reg4=%#x,", netid("n1"));
    EXPECT_NE(f.find(reg4), std::string::npos) << f;
    EXPECT_NE(f.find("reg7=0x4000/0x4000"), std::string::npos) << f;
    EXPECT_NE(f.find("tp_dst=67"), std::string::npos) << f;
    EXPECT_NE(f.find("-> CONTROLLER:65535"), std::string::npos) << f;
  }
  auto count = [&](const std::string& part) {
    return std::count_if(flows.begin(), flows.end(),
                         [&](const auto& f) { return f.find(part) != std::string::npos; });
  };
  EXPECT_EQ(count("dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"), 1);  // broadcast: new clients
  EXPECT_EQ(count("nw_dst=169.254.169.254"), 1);                      // unicast: renewals
  // The switch holds exactly them, attributed to the app.
  EXPECT_EQ(sw_.flows.size(), 2u);
  EXPECT_EQ(host_->flow_owner(1)->stats().apps.at("dhcp").installed_flows, 2u);

  // DHCP turned off on s1: p1's flows go; on again: back.
  ok([](auto& v, auto d) { v.update_subnets(Json::parse(R"([{"id":"s1","dhcp_enabled":false}])"), d); });
  settle();
  EXPECT_TRUE(sw_.flows.empty());
  ok([](auto& v, auto d) { v.update_subnets(Json::parse(R"([{"id":"s1","dhcp_enabled":true}])"), d); });
  settle();
  EXPECT_EQ(sw_.flows.size(), 2u);
}

TEST_F(DhcpAppTest, LeasesMergeNetworkSubnetAndPortAsVlcp) {
  ASSERT_NO_FATAL_FAILURE(build_model());
  auto table = dhcp().published();
  ASSERT_TRUE(table);
  EXPECT_EQ(table->leases.size(), 1u);  // p1 only: the others are not served, p5 is not bound here
  const dhcp::Lease* l = table->find(1, 10);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->mac, (dhcp::Mac{2, 0, 0, 0, 0, 1}));
  EXPECT_EQ(l->ip, ip(10, 1, 0, 10));
  EXPECT_EQ(l->prefix, 24);
  EXPECT_EQ(l->router, ip(10, 1, 0, 1));
  EXPECT_EQ(l->dns, std::vector<uint32_t>{ip(10, 1, 0, 53)});  // the subnet's replace the network's
  EXPECT_EQ(l->mtu, 1400);
  EXPECT_EQ(l->ntp, std::vector<uint32_t>{ip(10, 0, 0, 5)});  // the network's
  EXPECT_EQ(l->lease_time, 3600u);                            // the network's, over the setting's
  EXPECT_EQ(l->domain_name, "net.example");
  EXPECT_EQ(l->hostname, "h1");
  ASSERT_EQ(l->routes.size(), 1u);
  EXPECT_EQ(l->routes[0].dest, ip(192, 168, 50, 0));
  EXPECT_EQ(l->routes[0].prefix, 24);
  EXPECT_EQ(l->routes[0].gateway, ip(10, 1, 0, 254));
  EXPECT_FALSE(l->server_ip);
  std::map<uint8_t, Bytes> extra;
  for (const auto& e : l->extra) extra[e.code] = e.value;
  // 66: the subnet's replaces the network's; 42: the network's extra replaces the network's
  // ntp_servers (same level); 15: the port's replaces the network's domain_name.
  EXPECT_EQ(extra.size(), 3u);
  EXPECT_EQ(extra[66], (Bytes{'t', 'f', 't', 'p', '2', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'}));
  EXPECT_EQ(extra[42], (Bytes{10, 0, 0, 6}));
  EXPECT_EQ(extra[15], (Bytes{'p', 'o', 'r', 't', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'}));
  // A later level's field replaces an earlier level's extra option: the subnet's ntp_servers
  // take option 42 back from the network's extra; its dhcp_server becomes the server address.
  ok([](auto& v, auto d) {
    v.update_subnets(Json::parse(R"([{"id":"s1","ntp_servers":["10.1.0.123"],"dhcp_server":"10.1.0.2"}])"),
                     d);
  });
  settle();
  l = dhcp().published()->find(1, 10);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->ntp, std::vector<uint32_t>{ip(10, 1, 0, 123)});
  for (const auto& e : l->extra) EXPECT_NE(e.code, 42);
  EXPECT_EQ(l->server_ip, ip(10, 1, 0, 2));
  // The unicast punt flow follows the server address.
  bool unicast = false;
  for (const auto& f : printed(app_->compute(*model_, *host_->context(1)).at(netkey("n1"))))
    unicast |= f.find("nw_dst=10.1.0.2") != std::string::npos;
  EXPECT_TRUE(unicast);
  // The port unbound: its lease goes.
  host_->update_switch(1, SwitchView{"br-int", {{"vxlan0", "vxlan", "", "192.168.0.1", 1}}});
  settle();
  EXPECT_EQ(dhcp().published()->leases.size(), 0u);
  EXPECT_EQ(app_->status(*model_)["dhcp"]["leases"], 0);
}

TEST_F(DhcpAppTest, TheWorkerAnswersABoundPortWithExactlyItsModelAddress) {
  ASSERT_NO_FATAL_FAILURE(build_model());
  EXPECT_EQ(app_->status(*model_)["dhcp"]["leases"], 1);
  const dhcp::Mac p1{2, 0, 0, 0, 0, 1};
  auto offer = ask(10, dhcp_frame(p1, 1));
  ASSERT_TRUE(offer) << "no OFFER for p1";
  EXPECT_EQ(offer->out_port, 10u);
  EXPECT_EQ(offer->r.message_type, 2);
  EXPECT_EQ(offer->r.yiaddr, ip(10, 1, 0, 10));
  EXPECT_EQ(offer->r.xid, 0xdeadbeef);
  EXPECT_EQ(offer->opts[54], be32(ip(169, 254, 169, 254)));
  EXPECT_EQ(offer->opts[1], be32(0xffffff00));
  EXPECT_EQ(offer->opts[3], be32(ip(10, 1, 0, 1)));
  EXPECT_EQ(offer->opts[26], (Bytes{0x05, 0x78}));
  EXPECT_EQ(offer->opts[51], be32(3600));
  EXPECT_EQ(offer->opts[12], (Bytes{'h', '1'}));
  // Option 121: the host route, then the default route through the gateway.
  EXPECT_EQ(offer->opts[121], (Bytes{24, 192, 168, 50, 10, 1, 0, 254, 0, 10, 1, 0, 1}));
  // The REQUEST for that address is acknowledged; for another address, refused.
  auto ack = ask(10, dhcp_frame(p1, 3, ip(10, 1, 0, 10), ip(169, 254, 169, 254)));
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->r.message_type, 5);
  EXPECT_EQ(ack->r.yiaddr, ip(10, 1, 0, 10));
  auto nak = ask(10, dhcp_frame(p1, 3, ip(10, 1, 0, 99), ip(169, 254, 169, 254)));
  ASSERT_TRUE(nak);
  EXPECT_EQ(nak->r.message_type, 6);

  // No answer: an unknown port, a port on a subnet with DHCP off (its own network, or p1's),
  // a port with DHCP off, a port with no MAC; nor a DISCOVER from another MAC on p1's port.
  EXPECT_FALSE(ask(99, dhcp_frame(p1)));
  EXPECT_FALSE(ask(11, dhcp_frame(dhcp::Mac{2, 0, 0, 0, 0, 2})));
  EXPECT_FALSE(ask(14, dhcp_frame(dhcp::Mac{2, 0, 0, 0, 0, 6})));
  EXPECT_FALSE(ask(13, dhcp_frame(dhcp::Mac{2, 0, 0, 0, 0, 4})));
  EXPECT_FALSE(ask(12, dhcp_frame(dhcp::Mac{2, 0, 0, 0, 0, 3})));
  EXPECT_FALSE(ask(10, dhcp_frame(dhcp::Mac{2, 0, 0, 0, 0, 9})));
  // Malformed: dropped and counted, never answered.
  Bytes cut = dhcp_frame(p1);
  cut.resize(100);
  EXPECT_FALSE(ask(10, cut));

  // The counters, summed for /metrics.
  EXPECT_EQ(metric("vlcp_dhcp_replies_total", "offer"), 1);
  EXPECT_EQ(metric("vlcp_dhcp_replies_total", "ack"), 1);
  EXPECT_EQ(metric("vlcp_dhcp_replies_total", "nak"), 1);
  EXPECT_EQ(metric("vlcp_dhcp_dropped_total", "no_lease"), 5);
  EXPECT_EQ(metric("vlcp_dhcp_dropped_total", "ignored"), 1);
  EXPECT_EQ(metric("vlcp_dhcp_dropped_total", "malformed"), 1);
  EXPECT_EQ(metric("vlcp_dhcp_malformed_total", "short_ip"), 1);
  EXPECT_EQ(metric("vlcp_dhcp_leases"), 1);

  // The port's address changed in the model: the next OFFER carries the new one.
  ok([](auto& v, auto d) {
    v.update_logical_ports(Json::parse(R"([{"id":"p1","ip_address":"10.1.0.11"}])"), d);
  });
  settle();
  offer = ask(10, dhcp_frame(p1, 1));
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->r.yiaddr, ip(10, 1, 0, 11));
}

}  // namespace
}  // namespace vlcp::apps
