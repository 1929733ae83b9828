// vlcpd's CNI server (src/containers/cni_server, docs/CONTAINERS_DESIGN.md §5) over the real plug
// machine, with fakes of its seams that keep state — the model's ports and infos, links per
// namespace, OVSDB ports — so that every test checks what exists afterwards, not which calls
// were made. Requests go in as vlcp-cni sends them (path, X-CNI-* headers, the config as body);
// answers are checked as vlcp-cni reads them (status, result JSON in the asked version, the CNI
// error code).
#include "containers/cni_server.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "io/control_loop.h"
#include "schema/container_ids.h"

namespace vlcp::containers {
namespace {

using json = nlohmann::json;

const std::string kPod1 = "/var/run/netns/pod1";
const std::string kPod2 = "/var/run/netns/pod2";
const std::string kCid1 = "c0ffee0001";
const std::string kCid2 = "c0ffee0002";

std::string mac_of(const link::Mac& m) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

// ---- the fakes' shared world ------------------------------------------------------------------

struct Port {
  std::string ip, mac, lognet, subnet;
  json info;
};

struct World {
  std::map<std::string, Port> ports;  // port id -> port
  // Links by "<netns>|<name>"; a veth's two ends name each other.
  std::map<std::string, link::LinkInfo> links;
  std::map<std::string, std::string> peer_of;
  std::set<std::string> netns = {kPod1, kPod2};
  std::map<std::string, OvsPortSpec> ovsdb;
  std::map<std::string, int64_t> ofports;
  std::map<std::string, std::vector<std::string>> networks = {{"blue", {"blue-s"}},
                                                              {"two", {"two-a", "two-b"}}};
  Status ready;
  bool ovsdb_connected = true;
  int64_t now_us = 1'000'000'000;  // the infos' "created" (the model's clock)
  int next_ip = 7, next_ofport = 1;

  void remove_link(const std::string& key) {
    links.erase(key);
    if (auto p = peer_of.find(key); p != peer_of.end()) {
      std::string other = p->second;
      peer_of.erase(p);
      links.erase(other);
      peer_of.erase(other);
    }
  }
  // `ip netns del`: the namespace's links go, and a veth's other end with them.
  void delete_netns(const std::string& ns) {
    netns.erase(ns);
    std::vector<std::string> gone;
    for (const auto& [k, l] : links)
      if (k.rfind(ns + "|", 0) == 0) gone.push_back(k);
    for (const auto& k : gone) remove_link(k);
  }
  size_t leaks() const { return ports.size() + links.size() + ovsdb.size(); }
};

class FakeStore final : public EndpointStore {
 public:
  explicit FakeStore(World& w) : w_(w) {}
  void create_endpoint(const PlugRequest& request, const EndpointNames& names,
                       std::function<void(Result<EndpointRecord>)> done) override {
    const json& m = request.model;
    std::string ip = m.value("ip", "");
    if (ip.empty()) ip = "10.1.0." + std::to_string(w_.next_ip++);
    ip = ip.substr(0, ip.find('/'));
    for (const auto& [id, p] : w_.ports)
      if (id != names.port_id && p.ip == ip)
        return done(make_error(Errc::kConflict, "address " + ip + " is in use by " + id));
    std::string mac = m.value("mac", "02:77:00:00:00:07");
    Port p{ip, mac, m.value("lognet", ""), m.value("subnet", ""), m.value("info", json::object())};
    p.info["systemid"] = m.value("systemid", "");
    p.info["created"] = w_.now_us;
    w_.ports[names.port_id] = p;
    EndpointRecord r;
    int a = 0, b = 0, c = 0, d = 0;
    std::sscanf(ip.c_str(), "%d.%d.%d.%d", &a, &b, &c, &d);
    r.address = link::Ipv4Prefix{{uint8_t(a), uint8_t(b), uint8_t(c), uint8_t(d)}, 24};
    unsigned mb[6];
    std::sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &mb[0], &mb[1], &mb[2], &mb[3], &mb[4], &mb[5]);
    for (int i = 0; i < 6; ++i) r.mac[i] = static_cast<uint8_t>(mb[i]);
    r.gateway = link::Ipv4{10, 1, 0, 1};
    r.routes = {link::Route{link::Ipv4Prefix{{10, 2, 0, 0}, 16}, link::Ipv4{10, 1, 0, 254}}};
    r.mtu = 1450;
    r.port = {{"id", names.port_id}, {"ip_address", ip}, {"mac_address", mac}};
    done(r);
  }
  void delete_endpoint(const std::string& port_id, std::function<void(Status)> done) override {
    w_.ports.erase(port_id);
    done(Status{});
  }

 private:
  World& w_;
};

class FakeLinks final : public link::LinkOps {
 public:
  explicit FakeLinks(World& w) : w_(w) {}
  void create_veth(link::VethRequest r, Done done) override {
    if (!r.netns.empty() && !w_.netns.count(r.netns)) return done(make_error(Errc::kNotFound, "no netns"));
    std::string host = "|" + r.host_name, peer = r.netns + "|" + r.peer_name;
    if (w_.links.count(host) || w_.links.count(peer)) return done(make_error(Errc::kAlreadyExists, "exists"));
    link::LinkInfo h;
    h.name = r.host_name;
    h.alias = r.alias;
    h.kind = "veth";
    h.mtu = r.mtu;
    h.up = true;
    link::LinkInfo p = h;
    p.name = r.peer_name;
    p.mac = r.peer_mac;
    p.up = r.peer_up;
    w_.links[host] = h;
    w_.links[peer] = p;
    w_.peer_of[host] = peer;
    w_.peer_of[peer] = host;
    done(Status{});
  }
  void delete_link(std::string name, std::string netns, Done done) override {
    std::string key = netns + "|" + name;
    if (!w_.links.count(key)) return done(make_error(Errc::kNotFound, "no link " + name));
    w_.remove_link(key);
    done(Status{});
  }
  void set_link(link::LinkChange, Done done) override { done(Status{}); }
  void setup_netns(link::NetnsSetup s, Done done) override {
    auto it = w_.links.find(s.netns + "|" + s.ifname);
    if (it == w_.links.end()) return done(make_error(Errc::kNotFound, "no link " + s.ifname));
    it->second.up = true;
    if (s.mtu) it->second.mtu = s.mtu;
    done(Status{});
  }
  void list_links(std::string netns, std::function<void(Result<std::vector<link::LinkInfo>>)> done) override {
    if (!netns.empty() && !w_.netns.count(netns))
      return done(make_error(Errc::kNotFound, netns + ": no such file"));
    std::vector<link::LinkInfo> out;
    for (const auto& [k, l] : w_.links)
      if (k.substr(0, k.find('|')) == netns) out.push_back(l);
    done(out);
  }

 private:
  World& w_;
};

class FakePorts final : public PortOps {
 public:
  explicit FakePorts(World& w) : w_(w) {}
  void plug_port(const std::string&, OvsPortSpec spec, std::function<void(Status)> done) override {
    w_.ofports[spec.name] = w_.next_ofport++;
    w_.ovsdb[spec.name] = spec;
    done(Status{});
  }
  void unplug_port(const std::string&, const std::string& name, const std::string&,
                   std::function<void(Status)> done) override {
    w_.ovsdb.erase(name);
    w_.ofports.erase(name);
    done(Status{});
  }
  void wait_ofport(const std::string& iface, std::chrono::nanoseconds,
                   std::function<void(Result<int64_t>)> done) override {
    auto it = w_.ofports.find(iface);
    if (it == w_.ofports.end()) return done(make_error(Errc::kUnavailable, "no interface"));
    done(it->second);
  }

 private:
  World& w_;
};

class FakeLookups final : public CniLookups {
 public:
  explicit FakeLookups(World& w) : w_(w) {}
  void resolve_subnet(const std::string& lognet, const std::string& subnet,
                      std::function<void(Result<CniSubnet>)> done) override {
    auto it = w_.networks.find(lognet);
    if (it == w_.networks.end())
      return done(make_error(Errc::kNotFound, "no logical network '" + lognet + "'"));
    CniSubnet s;
    s.lognet_id = lognet;
    if (!subnet.empty()) {
      if (std::find(it->second.begin(), it->second.end(), subnet) == it->second.end())
        return done(make_error(Errc::kNotFound, "no subnet " + subnet));
      s.subnet_id = subnet;
    } else if (it->second.size() > 1) {
      return done(make_error(Errc::kInvalidArgument, "several subnets"));
    } else if (!it->second.empty()) {
      s.subnet_id = it->second.front();
    }
    s.subnet = {{"id", s.subnet_id}, {"dns_nameservers", {"10.1.0.2"}}, {"domain_name", "pods.local"}};
    done(s);
  }
  void get_port(const std::string& port_id, std::function<void(Result<std::optional<json>>)> done) override {
    auto it = w_.ports.find(port_id);
    if (it == w_.ports.end()) return done(std::optional<json>());
    done(std::optional<json>(
        json{{"id", port_id}, {"ip_address", it->second.ip}, {"mac_address", it->second.mac}}));
  }
  static CniAttachment attachment_of(const std::string& id, const Port& p) {
    return {id,
            p.info.value("container_id", ""),
            p.info.value("ifname", ""),
            p.info.value("network", ""),
            p.info.value("netns", ""),
            p.info.value("cni_network", ""),
            p.info.value("created", int64_t{0})};
  }
  void attachments(const std::string& lognet,
                   std::function<void(Result<std::vector<CniAttachment>>)> done) override {
    std::vector<CniAttachment> out;
    for (const auto& [id, p] : w_.ports) {
      if (!lognet.empty() && p.info.value("network", "") != lognet) continue;
      if (p.info.value("systemid", "") != "node-1") continue;
      out.push_back(attachment_of(id, p));
    }
    done(out);
  }
  void attachment(const std::string& port_id,
                  std::function<void(Result<std::optional<CniAttachment>>)> done) override {
    auto it = w_.ports.find(port_id);
    if (it == w_.ports.end()) return done(std::optional<CniAttachment>());
    done(std::optional<CniAttachment>(attachment_of(it->first, it->second)));
  }
  std::optional<OvsdbView> ovsdb_view(const std::string&) override {
    if (!w_.ovsdb_connected) return std::nullopt;
    OvsdbView v;
    for (const auto& [name, spec] : w_.ovsdb) v.interfaces.push_back({name, spec.owner, std::nullopt});
    return v;
  }
  bool netns_exists(const std::string& path) override { return w_.netns.count(path) != 0; }
  std::optional<CniOvsInterface> ovs_interface(const std::string&, const std::string& name) override {
    auto it = w_.ovsdb.find(name);
    if (it == w_.ovsdb.end()) return std::nullopt;
    CniOvsInterface i;
    i.external_ids = it->second.external_ids;
    i.ofport = w_.ofports[name];
    return i;
  }
  Status ready(const std::string&) override { return w_.ready; }
  std::string systemid() const override { return "node-1"; }

 private:
  World& w_;
};

// ---- the harness ---------------------------------------------------------------------------------

struct Answer {
  int status = 0;
  json body;
  int code() const { return body.is_object() ? body.value("code", 0) : 0; }
};

class CniServerTest : public ::testing::Test {
 protected:
  CniServerTest() : loop(clock), store(w), links(w), ports(w), lookups(w) { restart(); }
  // vlcpd killed and started again: a new plug machine and server over the same world (what the
  // model, the kernel and OVSDB keep).
  void restart() {
    server.reset();
    plugger.reset();
    plugger = std::make_unique<Plugger>(loop, store, links, ports, PlugSettings{});
    server = std::make_unique<CniServer>(loop, *plugger, links, lookups, CniServerSettings{});
  }
  json clean_up(int64_t grace_us = 0) {
    std::optional<json> got;
    server->clean_up_at_start(w.now_us + 1, grace_us, [&got](const json& j) { got = j; });
    loop.run_pending();
    EXPECT_TRUE(got.has_value()) << "the clean-up did not finish";
    return got.value_or(json());
  }

  Answer call(const std::string& path, const std::string& cid, const std::string& netns,
              const std::string& body, const std::string& args = "", const std::string& ifname = "eth0") {
    std::map<std::string, std::string> h = {{"x-cni-containerid", cid},
                                            {"x-cni-netns", netns},
                                            {"x-cni-ifname", ifname},
                                            {"x-cni-args", args},
                                            {"x-cni-path", "/opt/cni/bin"}};
    cni::HeaderLookup lookup = [&h](std::string_view name) -> std::optional<std::string> {
      std::string n(name);
      for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto it = h.find(n);
      if (it == h.end()) return std::nullopt;
      return it->second;
    };
    std::optional<cni::Answer> got;
    server->handle("POST", path, lookup, body, [&got](cni::Answer a) { got = std::move(a); });
    loop.run_pending();
    EXPECT_TRUE(got.has_value()) << path << " was not answered";
    Answer a;
    if (!got) return a;
    a.status = got->status;
    a.body = got->body.empty() ? json() : json::parse(got->body);
    return a;
  }
  static std::string conf(const std::string& version, json extra = json::object()) {
    json c = {{"cniVersion", version}, {"name", "blue"}, {"type", "vlcp-cni"}};
    for (auto& [k, v] : extra.items()) c[k] = v;
    return c.dump();
  }
  Answer add(const std::string& cid, const std::string& netns, const std::string& version = "1.1.0",
             const std::string& args = "") {
    return call("/add", cid, netns, conf(version), args);
  }
  std::string host_veth(const std::string& cid) {
    return endpoint_names({EndpointKind::kCni, cid, "eth0"}, "vlcp")->host_veth;
  }

  World w;
  ManualClock clock;
  io::ControlLoop loop;
  FakeStore store;
  FakeLinks links;
  FakePorts ports;
  FakeLookups lookups;
  std::unique_ptr<Plugger> plugger;
  std::unique_ptr<CniServer> server;
};

// ---- ADD -----------------------------------------------------------------------------------------

TEST_F(CniServerTest, AddAnswersTheResultInEachVersionsShape) {
  const std::string host = host_veth(kCid1);
  // Goldens: the 1.x shape (1.1.0 with the interface MTU), and 0.x's "version": "4" per address.
  const std::map<std::string, std::string> goldens = {
      {"1.1.0",
       R"({"cniVersion":"1.1.0","interfaces":[{"name":"HOST"},{"name":"eth0","mac":"02:77:00:00:00:07",
          "sandbox":"/var/run/netns/pod1","mtu":1450}],
          "ips":[{"address":"10.1.0.7/24","gateway":"10.1.0.1","interface":1}],
          "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"},{"dst":"10.2.0.0/16","gw":"10.1.0.254"}],
          "dns":{"nameservers":["10.1.0.2"],"domain":"pods.local"}})"},
      {"1.0.0",
       R"({"cniVersion":"1.0.0","interfaces":[{"name":"HOST"},{"name":"eth0","mac":"02:77:00:00:00:07",
          "sandbox":"/var/run/netns/pod1"}],
          "ips":[{"address":"10.1.0.7/24","gateway":"10.1.0.1","interface":1}],
          "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"},{"dst":"10.2.0.0/16","gw":"10.1.0.254"}],
          "dns":{"nameservers":["10.1.0.2"],"domain":"pods.local"}})"},
      {"0.4.0",
       R"({"cniVersion":"0.4.0","interfaces":[{"name":"HOST"},{"name":"eth0","mac":"02:77:00:00:00:07",
          "sandbox":"/var/run/netns/pod1"}],
          "ips":[{"version":"4","address":"10.1.0.7/24","gateway":"10.1.0.1","interface":1}],
          "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"},{"dst":"10.2.0.0/16","gw":"10.1.0.254"}],
          "dns":{"nameservers":["10.1.0.2"],"domain":"pods.local"}})"},
      {"0.3.1",
       R"({"cniVersion":"0.3.1","interfaces":[{"name":"HOST"},{"name":"eth0","mac":"02:77:00:00:00:07",
          "sandbox":"/var/run/netns/pod1"}],
          "ips":[{"version":"4","address":"10.1.0.7/24","gateway":"10.1.0.1","interface":1}],
          "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"},{"dst":"10.2.0.0/16","gw":"10.1.0.254"}],
          "dns":{"nameservers":["10.1.0.2"],"domain":"pods.local"}})"},
  };
  for (const auto& [version, text] : goldens) {
    SCOPED_TRACE(version);
    std::string g = text;
    g.replace(g.find("HOST"), 4, host);
    Answer a = add(kCid1, kPod1, version);
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, json::parse(g));
    // What the result says exists: the port, the pod's interface up with the MAC and MTU, the
    // OVSDB port with the iface-id.
    ASSERT_TRUE(w.ports.count("k8s-" + kCid1));
    ASSERT_TRUE(w.links.count(kPod1 + "|eth0"));
    EXPECT_TRUE(w.links[kPod1 + "|eth0"].up);
    EXPECT_EQ(w.links[kPod1 + "|eth0"].mtu, 1450u);
    EXPECT_EQ(mac_of(*w.links[kPod1 + "|eth0"].mac), "02:77:00:00:00:07");
    ASSERT_TRUE(w.ovsdb.count(host));
    EXPECT_EQ(w.ovsdb[host].external_ids["iface-id"], "k8s-" + kCid1);
    EXPECT_EQ(w.ovsdb[host].owner, "cni:" + kCid1 + ":eth0");
    EXPECT_EQ(call("/del", kCid1, kPod1, conf(version)).status, 200);
    EXPECT_EQ(w.leaks(), 0u);
    w.next_ip = 7;
  }
}

TEST_F(CniServerTest, AddStoresTheK8sAttributesAndTheAddressAsked) {
  Answer a =
      add(kCid1, kPod1, "1.0.0", "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-0;IP=10.1.0.77");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body["ips"][0]["address"], "10.1.0.77/24");
  const Port& p = w.ports.at("k8s-" + kCid1);
  EXPECT_EQ(p.ip, "10.1.0.77");
  EXPECT_EQ(p.lognet, "blue");
  EXPECT_EQ(p.subnet, "blue-s");
  EXPECT_EQ(p.info["container_id"], kCid1);
  EXPECT_EQ(p.info["netns"], kPod1);
  // runtimeConfig.ips and .mac (capabilities) when CNI_ARGS has none.
  Answer b =
      call("/add", kCid2, kPod2,
           conf("1.0.0", {{"runtimeConfig", {{"ips", {"10.1.0.88/24"}}, {"mac", "02:77:AA:BB:CC:DD"}}}}));
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(b.body["ips"][0]["address"], "10.1.0.88/24");
  EXPECT_EQ(b.body["interfaces"][1]["mac"], "02:77:aa:bb:cc:dd");
}

TEST_F(CniServerTest, AddAgainWithTheSameParametersAnswersTheSameResultElse100) {
  Answer first = add(kCid1, kPod1);
  ASSERT_EQ(first.status, 200);
  Answer again = add(kCid1, kPod1);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(w.ports.size(), 1u);
  // The same in another version's shape: the same attachment, rendered for it.
  Answer older = add(kCid1, kPod1, "0.4.0");
  EXPECT_EQ(older.status, 200);
  EXPECT_EQ(older.body["ips"][0]["address"], first.body["ips"][0]["address"]);
  Answer other = add(kCid1, kPod1, "1.1.0", "IP=10.1.0.99");
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(other.code(), 100);
  EXPECT_EQ(w.ports.at("k8s-" + kCid1).ip, "10.1.0.7");  // untouched
}

TEST_F(CniServerTest, AddRefusals) {
  // Unknown network, several subnets and none named: invalid configuration (7).
  Answer a = call("/add", kCid1, kPod1, conf("1.0.0", {{"logicalnetwork", "nowhere"}}));
  EXPECT_EQ(a.code(), 7);
  Answer b = call("/add", kCid1, kPod1, conf("1.0.0", {{"logicalnetwork", "two"}}));
  EXPECT_EQ(b.code(), 7);
  // ... but naming one works (CNI_ARGS).
  Answer c = call("/add", kCid1, kPod1, conf("1.0.0"), "network=two;subnet=two-b");
  EXPECT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(w.ports.at("k8s-" + kCid1).subnet, "two-b");
  // An address in use: 101, and nothing of the second pod is left.
  Answer d = add(kCid2, kPod2, "1.0.0", "IP=10.1.0.7");
  EXPECT_EQ(d.code(), 101) << d.body;
  EXPECT_EQ(w.ports.size(), 1u);
  EXPECT_FALSE(w.links.count(kPod2 + "|eth0"));
}

// ---- DEL -----------------------------------------------------------------------------------------

TEST_F(CniServerTest, DelTwiceAndDelOfNothingSucceed) {
  ASSERT_EQ(add(kCid1, kPod1).status, 200);
  EXPECT_EQ(call("/del", kCid1, kPod1, conf("1.1.0")).status, 200);
  EXPECT_EQ(w.leaks(), 0u);
  EXPECT_EQ(call("/del", kCid1, kPod1, conf("1.1.0")).status, 200);
  EXPECT_EQ(call("/del", "neverseen", "", conf("1.1.0")).status, 200);
  // After DEL, ADD again makes it anew.
  EXPECT_EQ(add(kCid1, kPod1).status, 200);
  EXPECT_EQ(w.ports.size(), 1u);
}

TEST_F(CniServerTest, DelAfterTheNetnsIsGoneSucceedsAndLeavesNothing) {
  ASSERT_EQ(add(kCid1, kPod1).status, 200);
  w.delete_netns(kPod1);  // takes the veth (both ends) with it
  EXPECT_EQ(call("/del", kCid1, kPod1, conf("1.1.0")).status, 200);
  EXPECT_EQ(w.leaks(), 0u);
  EXPECT_EQ(call("/del", kCid1, "", conf("1.1.0")).status, 200);  // no CNI_NETNS at all
}

// A DEL naming another network than the attachment's leaves it alone — after a restart too, when
// only the model says which network it is on.
TEST_F(CniServerTest, DelOnAnotherNetworkLeavesTheAttachmentAfterARestartToo) {
  ASSERT_EQ(add(kCid1, kPod1).status, 200);  // on blue
  const std::string other = conf("1.1.0", {{"logicalnetwork", "two"}});
  auto intact = [&] {
    return w.ports.count("k8s-" + kCid1) && w.ovsdb.count(host_veth(kCid1)) && w.links.count(kPod1 + "|eth0");
  };
  EXPECT_EQ(call("/del", kCid1, kPod1, other).status, 200);
  EXPECT_TRUE(intact());
  restart();
  EXPECT_EQ(call("/del", kCid1, kPod1, other).status, 200);
  EXPECT_TRUE(intact());
  EXPECT_EQ(call("/del", kCid1, kPod1, conf("1.1.0")).status, 200);  // its own network's DEL
  EXPECT_EQ(w.leaks(), 0u);
  EXPECT_EQ(call("/del", kCid1, kPod1, other).status, 200);  // and nothing there: still fine
}

// ---- the start-up clean-up -----------------------------------------------------------------------

TEST_F(CniServerTest, TheStartUpCleanUpRemovesAttachmentsWhoseNetnsIsGone) {
  ASSERT_EQ(add(kCid1, kPod1).status, 200);
  ASSERT_EQ(add(kCid2, kPod2).status, 200);
  restart();
  w.delete_netns(kPod1);  // the pod went while vlcpd was down: its veth with it
  json summary = clean_up();
  EXPECT_EQ(summary["result"], "ok") << summary;
  EXPECT_EQ(summary["attachments"], 2);
  ASSERT_EQ(summary["plan"].size(), 1u) << summary;
  EXPECT_EQ(summary["plan"][0]["port"], "k8s-" + kCid1);
  EXPECT_EQ(summary["plan"][0]["reason"], "netns_gone");
  EXPECT_EQ(summary["removed"]["port"], 1);
  EXPECT_EQ(summary["removed"]["ovsdb"], 1);
  EXPECT_FALSE(w.ports.count("k8s-" + kCid1));
  EXPECT_FALSE(w.ovsdb.count(host_veth(kCid1)));
  // The pod still there is untouched.
  EXPECT_TRUE(w.ports.count("k8s-" + kCid2));
  EXPECT_TRUE(w.ovsdb.count(host_veth(kCid2)));
  EXPECT_TRUE(w.links.count(kPod2 + "|eth0"));
  EXPECT_EQ(server->last_cleanup(), summary);
}

TEST_F(CniServerTest, TheStartUpCleanUpRemovesAnAttachmentNoVethCarries) {
  ASSERT_EQ(add(kCid1, kPod1).status, 200);
  restart();
  w.remove_link("|" + host_veth(kCid1));  // (ip link del: both ends)
  json summary = clean_up();
  ASSERT_EQ(summary["plan"].size(), 1u) << summary;
  EXPECT_EQ(summary["plan"][0]["reason"], "no_veth");
  EXPECT_EQ(w.leaks(), 0u);
}

TEST_F(CniServerTest, TheStartUpCleanUpSparesTheYoungTheLiveAndWaitsForOvsdb) {
  ASSERT_EQ(add(kCid1, kPod1).status, 200);
  ASSERT_EQ(add(kCid2, kPod2).status, 200);
  restart();
  w.delete_netns(kPod1);
  // Younger than the grace: left.
  EXPECT_EQ(clean_up(60'000'000)["plan"].size(), 0u);
  EXPECT_TRUE(w.ports.count("k8s-" + kCid1));
  // OVSDB away: fails, removes nothing (the module tries again).
  w.ovsdb_connected = false;
  json failed = clean_up();
  EXPECT_EQ(failed["result"], "failed");
  EXPECT_EQ(failed["error"], "OVSDB is not connected");
  EXPECT_TRUE(w.ports.count("k8s-" + kCid1));
  w.ovsdb_connected = true;
  // Made again by this process since the restart (an ADD): not the clean-up's.
  w.netns.insert(kPod1);
  ASSERT_EQ(add(kCid1, kPod1).status, 200);
  w.delete_netns(kPod1);
  EXPECT_EQ(clean_up()["plan"].size(), 0u);
  EXPECT_TRUE(w.ports.count("k8s-" + kCid1));
}

// ---- CHECK ---------------------------------------------------------------------------------------

TEST_F(CniServerTest, CheckCodes) {
  Answer a = add(kCid1, kPod1, "1.0.0");
  ASSERT_EQ(a.status, 200);
  std::string check = conf("1.0.0", {{"prevResult", a.body}});
  EXPECT_EQ(call("/check", kCid1, kPod1, check).status, 200);
  // Without prevResult: 7.
  EXPECT_EQ(call("/check", kCid1, kPod1, conf("1.0.0")).code(), 7);
  // The model's port differs from prevResult: 105.
  w.ports.at("k8s-" + kCid1).mac = "02:77:00:00:00:08";
  EXPECT_EQ(call("/check", kCid1, kPod1, check).code(), 105);
  w.ports.at("k8s-" + kCid1).mac = "02:77:00:00:00:07";
  // The OVSDB port gone: 104.
  const std::string host = host_veth(kCid1);
  OvsPortSpec saved = w.ovsdb.at(host);
  w.ovsdb.erase(host);
  EXPECT_EQ(call("/check", kCid1, kPod1, check).code(), 104);
  w.ovsdb[host] = saved;
  EXPECT_EQ(call("/check", kCid1, kPod1, check).status, 200);
  // The pod's interface gone (ip -n pod link del eth0): 103, naming it.
  w.remove_link(kPod1 + "|eth0");
  Answer gone = call("/check", kCid1, kPod1, check);
  EXPECT_EQ(gone.code(), 103);
  EXPECT_NE(gone.body.value("details", "").find("eth0 not found in " + kPod1), std::string::npos)
      << gone.body;
}

// ---- STATUS, GC ----------------------------------------------------------------------------------

TEST_F(CniServerTest, StatusIsOkOr50) {
  EXPECT_EQ(call("/status", "", "", conf("1.1.0")).status, 200);
  w.ready = make_error(Errc::kUnavailable, "OVSDB is not connected");
  Answer a = call("/status", "", "", conf("1.1.0"));
  EXPECT_EQ(a.code(), 50);
  EXPECT_EQ(a.body.value("details", ""), "OVSDB is not connected");
}

TEST_F(CniServerTest, GcRemovesTheAttachmentsNotListed) {
  ASSERT_EQ(add(kCid1, kPod1).status, 200);
  ASSERT_EQ(add(kCid2, kPod2).status, 200);
  // Another configuration on the same logical network: its (empty) list is not about blue's pods.
  json green = {{"name", "green"}, {"logicalnetwork", "blue"}, {"cni.dev/valid-attachments", json::array()}};
  EXPECT_EQ(call("/gc", "", "", conf("1.1.0", green)).status, 200);
  EXPECT_TRUE(w.ports.count("k8s-" + kCid1));
  EXPECT_TRUE(w.ports.count("k8s-" + kCid2));
  json valid = {{"cni.dev/valid-attachments", {{{"containerID", kCid1}, {"ifname", "eth0"}}}}};
  EXPECT_EQ(call("/gc", "", "", conf("1.1.0", valid)).status, 200);
  EXPECT_TRUE(w.ports.count("k8s-" + kCid1));
  EXPECT_FALSE(w.ports.count("k8s-" + kCid2));
  EXPECT_FALSE(w.links.count(kPod2 + "|eth0"));
  EXPECT_FALSE(w.ovsdb.count(host_veth(kCid2)));
  EXPECT_TRUE(w.ovsdb.count(host_veth(kCid1)));
  // An empty list removes the rest.
  EXPECT_EQ(server->last_gc()["removed"], 1);
  EXPECT_EQ(server->last_gc()["network"], "blue");
  EXPECT_EQ(call("/gc", "", "", conf("1.1.0", {{"cni.dev/valid-attachments", json::array()}})).status, 200);
  EXPECT_EQ(w.leaks(), 0u);
}

// ---- versions and malformed input ----------------------------------------------------------------

TEST_F(CniServerTest, VersionErrorsAreCode1) {
  EXPECT_EQ(add(kCid1, kPod1, "9.9.9").code(), 1);
  EXPECT_EQ(call("/check", kCid1, kPod1, conf("0.3.1", {{"prevResult", json::object()}})).code(), 1);
  EXPECT_EQ(call("/status", "", "", conf("1.0.0")).code(), 1);
  EXPECT_EQ(call("/gc", "", "", conf("0.4.0")).code(), 1);
  EXPECT_EQ(w.leaks(), 0u);
}

TEST_F(CniServerTest, BadConfigurationsAre6Or7AndBadEnvironment4) {
  Answer a = call("/add", kCid1, kPod1, "{not json");
  EXPECT_EQ(a.code(), 6);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(call("/add", kCid1, kPod1, R"({"cniVersion":"1.0.0","type":"vlcp-cni"})").code(), 7);  // no name
  EXPECT_EQ(call("/add", kCid1, kPod1, conf("1.0.0", {{"mtu", "big"}})).code(), 7);
  EXPECT_EQ(call("/add", "", kPod1, conf("1.0.0")).code(), 4);  // no container id
  EXPECT_EQ(add(kCid1, kPod1, "1.0.0", "Bogus=1").code(), 4);   // unknown CNI_ARGS key
  EXPECT_EQ(call("/nothing", kCid1, kPod1, conf("1.0.0")).status, 404);
  EXPECT_EQ(w.leaks(), 0u);
}

TEST_F(CniServerTest, CountsRequestsByCommandAndCode) {
  ASSERT_EQ(add(kCid1, kPod1).status, 200);
  add(kCid1, kPod1, "1.1.0", "IP=10.1.0.99");
  call("/del", kCid1, kPod1, conf("1.1.0"));
  const auto& c = server->counters();
  EXPECT_EQ(c.requests.at({"ADD", 0}), 1u);
  EXPECT_EQ(c.requests.at({"ADD", 100}), 1u);
  EXPECT_EQ(c.requests.at({"DEL", 0}), 1u);
  EXPECT_EQ(c.in_flight, 0u);
  EXPECT_EQ(c.seconds.count("ADD"), 1u);
}

TEST(CniCodes, StepErrorsMapToTheSpecsCodes) {
  EXPECT_EQ(cni_code_of(make_error(Errc::kConflict, "address 10.1.0.7 is in use by k8s-x")),
            cni::ErrorCode::kAddressInUse);
  EXPECT_EQ(
      cni_code_of(make_error(Errc::kAlreadyExists, "every MAC candidate is in use in logical network n")),
      cni::ErrorCode::kMacInUse);
  EXPECT_EQ(cni_code_of(make_error(Errc::kAlreadyExists, "interface eth0 exists in /var/run/netns/p")),
            cni::ErrorCode::kAlreadyAttached);
  EXPECT_EQ(cni_code_of(make_error(Errc::kUnavailable, "ObjectDB unreachable")),
            cni::ErrorCode::kTryAgainLater);
  EXPECT_EQ(cni_code_of(make_error(Errc::kTimeout, "ofport")), cni::ErrorCode::kStepDeadline);
  EXPECT_EQ(cni_code_of(make_error(Errc::kInvalidArgument, "bad")), cni::ErrorCode::kInvalidConfig);
  EXPECT_EQ(cni_code_of(make_error(Errc::kInternal, "bug")), cni::ErrorCode::kInternal);
}

}  // namespace
}  // namespace vlcp::containers
