// The containers' model transactions (model/containers.h) on the embedded store: IPAM pools and
// reservations in the subnets' address index, Docker networks mapped to logical networks (created
// or attached from a second server), endpoints' port + info + consumed reservation in one commit,
// and the indices and cascades the new kinds declare.
#include "model/containers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "base/clock.h"
#include "db/embedded.h"
#include "model/common.h"
#include "store_fixture.h"

namespace vlcp::model {
namespace {

using namespace std::chrono_literals;
using schema::Kind;

PoolRequest pr(std::string cidr, std::string range = "10.0.0.0/8", std::string subpool = "",
               int64_t timeout_us = 60'000'000) {
  PoolRequest r;
  r.cidr = std::move(cidr);
  r.range = std::move(range);
  r.subpool = std::move(subpool);
  r.systemid = "node1";
  r.timeout_us = timeout_us;
  return r;
}

class ContainersTest : public testing::StoreTest {
 protected:
  ContainersTest() : StoreTest("containers") {}
  void SetUp() override {
    StoreTest::SetUp();
    a_ = std::make_unique<Containers>(*db_);
    b_ = std::make_unique<Containers>(*db2_);
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    StoreTest::TearDown();
  }
  Result<Json> vf(std::function<void(ViperFlow&, Done)> fn) {
    ViperFlow v(*db_);
    return wait<Json>([&](Done d) { fn(v, std::move(d)); });
  }
  Result<PoolGrant> pool(Containers& c, PoolRequest req) {
    return wait<PoolGrant>([&](auto d) { c.request_pool(req, d); });
  }
  Result<AddressGrant> address(Containers& c, const std::string& pool, const std::string& ip,
                               bool gateway = false, const std::string& systemid = "node1",
                               int64_t timeout_us = 60'000'000) {
    AddressRequest req{pool, ip, gateway, systemid, timeout_us};
    return wait<AddressGrant>([&](auto d) { c.request_address(req, d); });
  }
  Result<Json> release(Containers& c, const std::string& pool, const std::string& ip) {
    return wait<Json>([&](Done d) { c.release_address(pool, ip, d); });
  }
  Result<Json> network(Containers& c, NetworkRequest req) {
    return wait<Json>([&](Done d) { c.create_network(req, d); });
  }
  Result<Json> endpoint(Containers& c, EndpointRequest req) {
    return wait<Json>([&](Done d) { c.create_endpoint(req, d); });
  }
  EndpointRequest docker_endpoint(const std::string& nid, const std::string& eid, const std::string& ip) {
    EndpointRequest e;
    e.port_id = docker_port_id(eid);
    e.docker_network = nid;
    e.ip = ip;
    e.systemid = "node1";
    e.info = Json{{"endpoint", eid}, {"network", nid}, {"docker_port", "vlcp0123456789"}};
    return e;
  }
  // The value at a key, or null.
  Json get(const std::string& key) {
    auto r = wait<std::map<std::string, db::Record>>([&](auto d) { db_->get({key}, d); });
    if (!r.ok() || !r->count(key) || !r->at(key).value) return Json();
    return *r->at(key).value;
  }
  std::vector<std::string> keys(const std::string& prefix) {
    auto r = wait<std::vector<std::string>>([&](auto d) { db_->list(prefix, d); });
    return r.ok() ? *r : std::vector<std::string>{};
  }
  std::string ip_index(const std::string& subnet_id, const std::string& ip) {
    return detail::address_index(subnet_key(subnet_id), *detail::parse_ip(ip));
  }

  // Physical network pn (VLAN 10-20), and a Docker network `nid` on pool `cidr` with gateway .1 on
  // server `c`, as Docker creates it (RequestPool, the gateway's RequestAddress, CreateNetwork).
  void physical() {
    ASSERT_TRUE(vf([](ViperFlow& v, Done d) {
                  v.create_physical_networks(Json::parse(R"([{"id": "pn", "vlanrange": [[10, 20]]}])"),
                                             std::move(d));
                }).ok());
  }
  std::string docker_network(Containers& c, const std::string& nid, const std::string& cidr,
                             std::string attach = "", const std::string& subpool = "") {
    auto p = pool(c, pr(cidr, "10.0.0.0/8", subpool));
    EXPECT_TRUE(p.ok()) << p.status().to_string();
    if (!p.ok()) return "";
    auto gw = address(c, p->pool_id, "", true);
    EXPECT_TRUE(gw.ok()) << gw.status().to_string();
    NetworkRequest req;
    req.network_id = nid;
    req.pool_id = p->pool_id;
    req.systemid = "node1";
    req.gateway = gw.ok() ? gw->ip : "";
    if (attach.empty())
      req.network = Json{{"physicalnetwork", "pn"}, {"mtu", 1450}};
    else
      req.attach_lognet = attach;
    auto n = network(c, req);
    EXPECT_TRUE(n.ok()) << n.status().to_string();
    return p->pool_id;
  }

  std::unique_ptr<Containers> a_, b_;  // two servers' views (two ObjectDb clients)
};

TEST(ContainerIds, AreVlcps) {
  EXPECT_EQ(docker_lognet_id("0ee0"), "docker-0ee0-lognet");
  EXPECT_EQ(docker_subnet_id("0ee0"), "docker-0ee0-subnet");
  EXPECT_EQ(docker_port_id("d897"), "docker-d897");
  EXPECT_EQ(cni_port_id("c1", "eth0"), "k8s-c1");
  EXPECT_EQ(cni_port_id("c1", "net1"), "k8s-c1-net1");
  EXPECT_EQ(new_pool_id().rfind("vlcp-", 0), 0u);
  EXPECT_NE(new_pool_id(), new_pool_id());
  EXPECT_EQ(docker_pool_key("vlcp-1"), "viperflow.dockerplugin.ipampool.vlcp-1");
  EXPECT_EQ(docker_reservation_key("vlcp-1", "10.1.0.7/24"),
            "viperflow.dockerplugin.ipamreserve.vlcp-1.10++1++0++7");
  EXPECT_EQ(docker_network_key("0ee0"), "viperflow.dockerplugin.network.0ee0");
  EXPECT_EQ(docker_info_key("docker-d897"), "viperflow.dockerplugin.portinfo.docker-d897");
  EXPECT_EQ(cni_info_key("k8s-c1"), "viperflow.cniplugin.portinfo.k8s-c1");
  EXPECT_EQ(schema::kind_of_key(docker_info_key("p")), Kind::kDockerInfo);
  EXPECT_EQ(schema::kind_of_key(cni_info_key("p")), Kind::kCniInfo);
  EXPECT_EQ(schema::kind_of_key(docker_reservation_key("x", "10.0.0.1")), Kind::kDockerReservation);
  // The node-written kinds are in no WebAPI module.
  for (Kind k :
       {Kind::kDockerPool, Kind::kDockerReservation, Kind::kDockerNetwork, Kind::kDockerInfo, Kind::kCniInfo})
    EXPECT_FALSE(schema::kind(k).in_api());
  // VLCP's MAC: the template XOR hash(subnet) << 8 XOR the address: stable, per address and
  // subnet, unicast and with the template's first octet.
  auto m1 = docker_mac("02:00:00:00:00:00", "docker-n-subnet", "10.1.0.7");
  ASSERT_TRUE(m1);
  EXPECT_EQ(m1, docker_mac("02:00:00:00:00:00", "docker-n-subnet", "10.1.0.7/24"));
  EXPECT_NE(m1, docker_mac("02:00:00:00:00:00", "docker-n-subnet", "10.1.0.8"));
  EXPECT_NE(m1, docker_mac("02:00:00:00:00:00", "docker-m-subnet", "10.1.0.7"));
  EXPECT_EQ(m1->substr(0, 3), "02:");
  EXPECT_EQ(random_mac("02:77:00:00:00:00", 0xabcdef), "02:77:00:ab:cd:ef");
  EXPECT_EQ(random_mac("03:77:00:00:00:00", 1), "02:77:00:00:00:01");  // never multicast
  EXPECT_FALSE(docker_mac("nope", "s", "10.0.0.1"));
}

TEST_F(ContainersTest, PoolsTakeTheirCidrOrTheFirstFreeSlash24) {
  auto p1 = pool(*a_, pr("10.1.0.0/24"));
  ASSERT_TRUE(p1.ok()) << p1.status().to_string();
  EXPECT_EQ(p1->cidr, "10.1.0.0/24");
  // The same CIDR again: a second pool (every network its own address space), nothing waits.
  auto p2 = pool(*a_, pr("10.1.0.0/24"));
  ASSERT_TRUE(p2.ok());
  EXPECT_NE(p1->pool_id, p2->pool_id);
  // Refused input.
  EXPECT_EQ(pool(*a_, pr("10.1.0.1/24")).status().code(), Errc::kInvalidArgument);  // host bits
  EXPECT_EQ(pool(*a_, pr("fd00::/64")).status().code(), Errc::kInvalidArgument);
  PoolRequest v6;
  v6.v6 = true;
  EXPECT_EQ(pool(*a_, v6).status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(pool(*a_, pr("10.1.0.0/24", "10.0.0.0/8", "10.2.0.0/28")).status().code(),
            Errc::kInvalidArgument);  // a subpool outside its pool
  // Without a CIDR: the first /24 of the range no pool uses, until there is none.
  auto r1 = pool(*a_, pr("", "10.9.0.0/23"));
  auto r2 = pool(*b_, pr("", "10.9.0.0/23"));
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(r1->cidr, "10.9.0.0/24");
  EXPECT_EQ(r2->cidr, "10.9.1.0/24");
  EXPECT_EQ(pool(*a_, pr("", "10.9.0.0/23")).status().code(), Errc::kConflict);
  // Released while unbound: gone at once.
  auto rel = wait<Json>([&](Done d) { a_->release_pool(r1->pool_id, d); });
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ((*rel)["deleted"], true);
  EXPECT_TRUE(get(docker_pool_key(r1->pool_id)).is_null());
  EXPECT_EQ(pool(*a_, pr("", "10.9.0.0/23"))->cidr, "10.9.0.0/24");
}

TEST_F(ContainersTest, AnUnboundPoolGivesOnlyItsGateway) {
  auto p = pool(*a_, pr("10.1.0.0/24"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(address(*a_, p->pool_id, "10.1.0.5").status().code(), Errc::kInvalidArgument);
  auto gw = address(*a_, p->pool_id, "", true);
  ASSERT_TRUE(gw.ok());
  EXPECT_EQ(gw->cidr(), "10.1.0.1/24");  // the first host when Docker names none
  auto gw2 = address(*a_, p->pool_id, "10.1.0.254/24", true);
  ASSERT_TRUE(gw2.ok());
  EXPECT_EQ(gw2->ip, "10.1.0.254");
  EXPECT_EQ(get(docker_pool_key(p->pool_id))["gateway"], "10.1.0.254");
  EXPECT_EQ(address(*a_, "vlcp-nope", "", true).status().code(), Errc::kNotFound);
}

TEST_F(ContainersTest, CreateNetworkMakesVlcpsObjectsAndBindsThePool) {
  physical();
  std::string p = docker_network(*a_, "n1", "10.1.0.0/24", "", "10.1.0.128/25");
  auto m = wait<Json>([&](Done d) { a_->get_network("n1", d); });
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)["lognet_id"], "docker-n1-lognet");
  EXPECT_EQ((*m)["subnet_id"], "docker-n1-subnet");
  EXPECT_EQ((*m)["pool"], p);
  EXPECT_EQ((*m)["state"], "ready");
  EXPECT_EQ((*m)["created_lognet"], true);
  Json net = get(logical_network_key("docker-n1-lognet"));
  EXPECT_EQ(net["mtu"], 1450);
  Json subnet = get(subnet_key("docker-n1-subnet"));
  EXPECT_EQ(subnet["cidr"], "10.1.0.0/24");
  EXPECT_EQ(subnet["gateway"], "10.1.0.1");
  EXPECT_EQ(subnet["docker_ipam_poolid"], p);
  EXPECT_EQ(subnet["allocated_start"], "10.1.0.129");  // the subpool is the allocation range
  EXPECT_EQ(get(docker_pool_key(p))["network"], "n1");
  // A second CreateNetwork of the same id, and a pool already bound, are conflicts.
  NetworkRequest again;
  again.network_id = "n1";
  again.pool_id = p;
  again.network = Json{{"physicalnetwork", "pn"}};
  EXPECT_EQ(network(*a_, again).status().code(), Errc::kAlreadyExists);
  again.network_id = "n9";
  EXPECT_EQ(network(*a_, again).status().code(), Errc::kConflict);
  // An unknown physical network is refused input, and leaves nothing: no record, the pool unbound.
  auto p2 = pool(*a_, pr("10.2.0.0/24"));
  NetworkRequest bad;
  bad.network_id = "n2";
  bad.pool_id = p2->pool_id;
  bad.network = Json{{"physicalnetwork", "nope"}};
  EXPECT_EQ(network(*a_, bad).status().code(), Errc::kInvalidArgument);
  EXPECT_TRUE(get(docker_network_key("n2")).is_null());
  EXPECT_TRUE(get(logical_network_key("docker-n2-lognet")).is_null());
  EXPECT_TRUE(get(docker_pool_key(p2->pool_id))["network"].is_null());
  // A bad subnet option: the logical network made for it is removed again.
  bad.network = Json{{"physicalnetwork", "pn"}};
  bad.subnet = Json{{"allocated_start", "10.9.9.9"}};
  EXPECT_EQ(network(*a_, bad).status().code(), Errc::kInvalidArgument);
  EXPECT_TRUE(get(docker_network_key("n2")).is_null());
  EXPECT_TRUE(get(logical_network_key("docker-n2-lognet")).is_null());
  EXPECT_TRUE(get(docker_pool_key(p2->pool_id))["network"].is_null());
}

TEST_F(ContainersTest, RequestAddressHonoursAPreferredAddressOrRefusesIt) {
  physical();
  std::string p = docker_network(*a_, "n1", "10.1.0.0/24");
  auto got = address(*a_, p, "10.1.0.7");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->cidr(), "10.1.0.7/24");
  // Taken: by the reservation, on any server.
  auto again = address(*b_, p, "10.1.0.7");
  EXPECT_EQ(again.status().code(), Errc::kConflict);
  EXPECT_NE(again.status().message().find("in use by viperflow.dockerplugin.ipamreserve."), std::string::npos)
      << again.status().message();
  // Refused: outside the subnet, its gateway, not an address.
  EXPECT_EQ(address(*a_, p, "10.2.0.7").status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(address(*a_, p, "10.1.0.1").status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(address(*a_, p, "10.1.0.255").status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(address(*a_, p, "ten").status().code(), Errc::kInvalidArgument);
  // A reserved address is taken for the WebAPI's ports too (one address index).
  auto port = vf([](ViperFlow& v, Done d) {
    v.create_logical_ports(Json::parse(R"([{"id": "p", "logicalnetwork": "docker-n1-lognet",
                                            "subnet": "docker-n1-subnet", "ip_address": "10.1.0.7"}])"),
                           std::move(d));
  });
  EXPECT_EQ(port.status().code(), Errc::kConflict);
  // And a port's address for the IPAM.
  ASSERT_TRUE(vf([](ViperFlow& v, Done d) {
                v.create_logical_ports(Json::parse(R"([{"id": "p", "logicalnetwork": "docker-n1-lognet",
                                                        "subnet": "docker-n1-subnet", "ip_address": "10.1.0.8"}])"),
                                       std::move(d));
              }).ok());
  EXPECT_EQ(address(*a_, p, "10.1.0.8").status().code(), Errc::kConflict);
  // Without an address: free ones, never the gateway or a held one.
  std::set<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    auto any = address(*a_, p, "");
    ASSERT_TRUE(any.ok()) << any.status().to_string();
    EXPECT_TRUE(seen.insert(any->ip).second);
    EXPECT_NE(any->ip, "10.1.0.1");
    EXPECT_NE(any->ip, "10.1.0.7");
    EXPECT_NE(any->ip, "10.1.0.8");
  }
  // The gateway request on a bound pool is the subnet's gateway.
  EXPECT_EQ(address(*a_, p, "", true)->ip, "10.1.0.1");
}

TEST_F(ContainersTest, OverlappingCidrsOnTwoNetworksStayIndependent) {
  physical();
  std::string p1 = docker_network(*a_, "n1", "10.1.0.0/24");
  std::string p2 = docker_network(*a_, "n2", "10.1.0.0/24");
  ASSERT_TRUE(address(*a_, p1, "10.1.0.7").ok());
  ASSERT_TRUE(address(*a_, p2, "10.1.0.7").ok());
  auto e1 = endpoint(*a_, docker_endpoint("n1", "e1", "10.1.0.7"));
  auto e2 = endpoint(*a_, docker_endpoint("n2", "e2", "10.1.0.7"));
  ASSERT_TRUE(e1.ok()) << e1.status().to_string();
  ASSERT_TRUE(e2.ok()) << e2.status().to_string();
  EXPECT_EQ((*e1)["port"]["network"]["id"], "docker-n1-lognet");
  EXPECT_EQ((*e2)["port"]["network"]["id"], "docker-n2-lognet");
  // Releasing one network's address leaves the other's.
  ASSERT_TRUE(wait<Json>([&](Done d) { a_->delete_endpoint("docker-e1", d); }).ok());
  EXPECT_TRUE(get(ip_index("docker-n1-subnet", "10.1.0.7")).is_null());
  EXPECT_EQ(get(ip_index("docker-n2-subnet", "10.1.0.7")), logical_port_key("docker-e2"));
}

TEST_F(ContainersTest, EndpointCreateConsumesTheReservation) {
  physical();
  std::string p = docker_network(*a_, "n1", "10.1.0.0/24");
  ASSERT_TRUE(address(*a_, p, "10.1.0.7").ok());
  std::string rkey = docker_reservation_key(p, "10.1.0.7");
  EXPECT_EQ(get(ip_index("docker-n1-subnet", "10.1.0.7")), rkey);
  EndpointRequest e = docker_endpoint("n1", "e1", "10.1.0.7/24");
  e.mac_candidates = {*docker_mac("02:00:00:00:00:00", "docker-n1-subnet", "10.1.0.7")};
  auto r = endpoint(*a_, e);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)["port"]["ip_address"], "10.1.0.7");
  EXPECT_EQ((*r)["port"]["mac_address"], e.mac_candidates[0]);
  EXPECT_TRUE(get(rkey).is_null());
  EXPECT_EQ(get(ip_index("docker-n1-subnet", "10.1.0.7")), logical_port_key("docker-e1"));
  Json info = get(docker_info_key("docker-e1"));
  EXPECT_EQ(info["systemid"], "node1");
  EXPECT_TRUE(info["created"].is_number_integer());
  EXPECT_EQ(info["endpoint"], "e1");
  EXPECT_EQ(info["docker_port"], "vlcp0123456789");
  EXPECT_EQ(info["port"], logical_port_key("docker-e1"));
  EXPECT_EQ((*r)["info"]["_type"], "vlcp_docker.dockerplugin.DockerInfo");
  // Docker's ReleaseAddress after DeleteEndpoint: nothing left to release, and fine.
  auto rel = release(*a_, p, "10.1.0.7");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ((*rel)["released"], false);
  EXPECT_EQ(get(ip_index("docker-n1-subnet", "10.1.0.7")), logical_port_key("docker-e1"));
  // An address the IPAM did not hand out (--ipam-driver default) is taken in the index directly.
  auto direct = endpoint(*a_, docker_endpoint("n1", "e2", "10.1.0.9"));
  ASSERT_TRUE(direct.ok()) << direct.status().to_string();
  EXPECT_EQ(endpoint(*a_, docker_endpoint("n1", "e3", "10.1.0.9")).status().code(), Errc::kConflict);
  // An unknown Docker network: Docker knows it, we do not.
  EXPECT_EQ(endpoint(*a_, docker_endpoint("n9", "e4", "10.1.0.10")).status().code(), Errc::kNotFound);
}

TEST_F(ContainersTest, ReleaseFreesTheAddressForReuse) {
  physical();
  std::string p = docker_network(*a_, "n1", "10.1.0.0/24");
  ASSERT_TRUE(address(*a_, p, "10.1.0.7").ok());
  auto rel = release(*a_, p, "10.1.0.7");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ((*rel)["released"], true);
  EXPECT_TRUE(get(ip_index("docker-n1-subnet", "10.1.0.7")).is_null());
  ASSERT_TRUE(address(*b_, p, "10.1.0.7").ok());  // another server takes it
  // A removed container's address: free again after DeleteEndpoint.
  ASSERT_TRUE(endpoint(*b_, docker_endpoint("n1", "e1", "10.1.0.7")).ok());
  EXPECT_EQ(address(*a_, p, "10.1.0.7").status().code(), Errc::kConflict);
  ASSERT_TRUE(wait<Json>([&](Done d) { b_->delete_endpoint("docker-e1", d); }).ok());
  ASSERT_TRUE(address(*a_, p, "10.1.0.7").ok());
  // Releasing twice, or what never was: fine.
  EXPECT_TRUE(release(*a_, p, "10.1.0.7").ok());
  EXPECT_EQ((*release(*a_, p, "10.1.0.7"))["released"], false);
  EXPECT_TRUE(release(*a_, "vlcp-nope", "10.1.0.7").ok());
}

TEST_F(ContainersTest, UnconsumedReservationsAreReaped) {
  physical();
  std::string p = docker_network(*a_, "n1", "10.1.0.0/24");
  ASSERT_TRUE(address(*a_, p, "10.1.0.7", false, "node1", 0).ok());  // this node's, expired
  ASSERT_TRUE(address(*a_, p, "10.1.0.8", false, "node2", 0).ok());  // another node's, expired
  ASSERT_TRUE(address(*a_, p, "10.1.0.9", false, "node1").ok());     // this node's, for a minute
  auto unbound = pool(*a_, pr("10.5.0.0/24", "10.0.0.0/8", "", 0));
  ASSERT_TRUE(unbound.ok());
  auto reap = [&](int64_t grace_us) { return wait<Json>([&](Done d) { a_->reap("node1", grace_us, d); }); };
  for (int i = 0; i < 40; ++i)  // more than one reaping transaction's worth
    ASSERT_TRUE(address(*a_, p, "", false, "node1", 0).ok());
  auto r1 = reap(60'000'000);
  ASSERT_TRUE(r1.ok()) << r1.status().to_string();
  EXPECT_EQ((*r1)["reservations"], 41);  // its own, at expiry
  EXPECT_EQ((*r1)["pools"], 1);          // the unbound one past pooltimeout; the bound one stays
  EXPECT_TRUE(get(docker_reservation_key(p, "10.1.0.7")).is_null());
  EXPECT_FALSE(get(docker_reservation_key(p, "10.1.0.8")).is_null());
  EXPECT_FALSE(get(docker_pool_key(p)).is_null());
  auto r2 = reap(0);  // another node's, after the grace
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ((*r2)["reservations"], 1);
  EXPECT_TRUE(get(docker_reservation_key(p, "10.1.0.8")).is_null());
  EXPECT_FALSE(get(docker_reservation_key(p, "10.1.0.9")).is_null());
  // The reaped addresses are free; the live one is not.
  EXPECT_TRUE(address(*a_, p, "10.1.0.7").ok());
  EXPECT_TRUE(address(*a_, p, "10.1.0.8").ok());
  EXPECT_EQ(address(*a_, p, "10.1.0.9").status().code(), Errc::kConflict);
}

TEST_F(ContainersTest, EndpointCreateIsAtomic) {
  physical();
  std::string p = docker_network(*a_, "n1", "10.1.0.0/24");
  ASSERT_TRUE(address(*a_, p, "10.1.0.7").ok());
  // A MAC held by another port of the network: the endpoint fails, and leaves nothing — the
  // reservation not consumed, no port, no info, no index entry.
  ASSERT_TRUE(vf([](ViperFlow& v, Done d) {
                v.create_logical_ports(Json::parse(R"([{"id": "other", "logicalnetwork": "docker-n1-lognet",
                                                        "mac_address": "02:00:00:00:00:99"}])"),
                                       std::move(d));
              }).ok());
  EndpointRequest e = docker_endpoint("n1", "e1", "10.1.0.7");
  e.mac = "02:00:00:00:00:99";
  auto r = endpoint(*a_, e);
  EXPECT_EQ(r.status().code(), Errc::kAlreadyExists) << r.status().to_string();
  std::string rkey = docker_reservation_key(p, "10.1.0.7");
  EXPECT_FALSE(get(rkey).is_null());
  EXPECT_EQ(get(ip_index("docker-n1-subnet", "10.1.0.7")), rkey);
  EXPECT_TRUE(get(logical_port_key("docker-e1")).is_null());
  EXPECT_TRUE(get(docker_info_key("docker-e1")).is_null());
  // MAC candidates: a held one is skipped for the next.
  e.mac = "";
  e.mac_candidates = {"02:00:00:00:00:99", "02:00:00:00:00:98"};
  auto ok = endpoint(*a_, e);
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)["port"]["mac_address"], "02:00:00:00:00:98");
  // The same endpoint again: a conflict, and the first stays as it was.
  auto twice = endpoint(*a_, docker_endpoint("n1", "e1", "10.1.0.8"));
  EXPECT_EQ(twice.status().code(), Errc::kAlreadyExists);
  EXPECT_EQ(get(logical_port_key("docker-e1"))["ip_address"], "10.1.0.7");
  EXPECT_TRUE(get(ip_index("docker-n1-subnet", "10.1.0.8")).is_null());
  // A refused address leaves nothing either.
  EXPECT_EQ(endpoint(*a_, docker_endpoint("n1", "e5", "10.1.0.1")).status().code(), Errc::kInvalidArgument);
  EXPECT_TRUE(get(logical_port_key("docker-e5")).is_null());
  EXPECT_TRUE(get(docker_info_key("docker-e5")).is_null());
}

TEST_F(ContainersTest, AStalePortOfThisNodeIsReplacedInOneCommit) {
  physical();
  docker_network(*a_, "n1", "10.1.0.0/24");
  ASSERT_TRUE(endpoint(*a_, docker_endpoint("n1", "e1", "10.1.0.7")).ok());
  EndpointRequest e = docker_endpoint("n1", "e1", "10.1.0.8");
  e.replace_stale = true;
  e.systemid = "node2";  // not its node's: a conflict
  EXPECT_EQ(endpoint(*a_, e).status().code(), Errc::kAlreadyExists);
  e.systemid = "node1";
  auto r = endpoint(*a_, e);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(get(logical_port_key("docker-e1"))["ip_address"], "10.1.0.8");
  EXPECT_TRUE(get(ip_index("docker-n1-subnet", "10.1.0.7")).is_null());  // the old address freed
  EXPECT_EQ(get(ip_index("docker-n1-subnet", "10.1.0.8")), logical_port_key("docker-e1"));
  // Replaced with its own address: fine too.
  EXPECT_TRUE(endpoint(*a_, e).ok());
}

TEST_F(ContainersTest, DeleteCascadesTheInfo) {
  physical();
  docker_network(*a_, "n1", "10.1.0.0/24");
  ASSERT_TRUE(endpoint(*a_, docker_endpoint("n1", "e1", "10.1.0.7")).ok());
  auto d = wait<Json>([&](Done dn) { a_->delete_endpoint("docker-e1", dn); });
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["deleted"], true);
  EXPECT_TRUE(get(logical_port_key("docker-e1")).is_null());
  EXPECT_TRUE(get(docker_info_key("docker-e1")).is_null());
  EXPECT_TRUE(get(ip_index("docker-n1-subnet", "10.1.0.7")).is_null());
  EXPECT_EQ((*wait<Json>([&](Done dn) { a_->delete_endpoint("docker-e1", dn); }))["deleted"], false);
  // The declared cascade: the WebAPI's port delete takes the Docker or CNI info with it.
  ASSERT_TRUE(endpoint(*a_, docker_endpoint("n1", "e2", "10.1.0.8")).ok());
  EndpointRequest cni;
  cni.port_id = cni_port_id("c1", "eth0");
  cni.lognet = "docker-n1-lognet";
  cni.subnet = "docker-n1-subnet";
  cni.info_kind = Kind::kCniInfo;
  cni.info = Json{{"containerid", "c1"}, {"ifname", "eth0"}, {"netns", "/var/run/netns/c1"}};
  cni.port = Json{{"k8s_hostname", "pod1"}};
  cni.mac_candidates = {*random_mac("02:77:00:00:00:00", 0x123456)};
  cni.systemid = "node1";
  auto c = endpoint(*a_, cni);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ((*c)["info"]["_type"], "vlcp_k8s.cniserver.CNIInfo");
  EXPECT_EQ((*c)["port"]["k8s_hostname"], "pod1");
  EXPECT_EQ((*c)["port"]["mac_address"], "02:77:00:12:34:56");
  EXPECT_FALSE(get(cni_info_key("k8s-c1")).is_null());
  ASSERT_TRUE(vf([](ViperFlow& v, Done dn) {
                v.delete_logical_ports(Json::parse(R"([{"id": "docker-e2"}, {"id": "k8s-c1"}])"),
                                       std::move(dn));
              }).ok());
  EXPECT_TRUE(get(docker_info_key("docker-e2")).is_null());
  EXPECT_TRUE(get(cni_info_key("k8s-c1")).is_null());
}

TEST_F(ContainersTest, TwoConcurrentCreatesForTheLastFreeAddressOneWins) {
  physical();
  // Explicit: two servers, one address.
  docker_network(*a_, "n1", "10.1.0.0/24");
  std::vector<Result<Json>> got;
  a_->create_endpoint(docker_endpoint("n1", "e1", "10.1.0.7"), [&](Result<Json> r) { got.push_back(r); });
  b_->create_endpoint(docker_endpoint("n1", "e2", "10.1.0.7"), [&](Result<Json> r) { got.push_back(r); });
  ASSERT_TRUE(spin([&] { return got.size() == 2; })) << "no answer";
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].ok(), got[1].ok());
  for (auto& r : got)
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Errc::kConflict) << r.status().to_string();
    }
  // Allocated: a /30 whose only free host is the last one (the gateway holds the other).
  ASSERT_TRUE(vf([](ViperFlow& v, Done d) {
                v.create_logical_networks(Json::parse(R"([{"id": "ln", "physicalnetwork": "pn"}])"),
                                          std::move(d));
              }).ok());
  ASSERT_TRUE(vf([](ViperFlow& v, Done d) {
                v.create_subnets(Json::parse(R"([{"id": "s", "logicalnetwork": "ln", "cidr": "10.3.0.0/30",
                                                  "gateway": "10.3.0.1"}])"),
                                 std::move(d));
              }).ok());
  got.clear();
  for (int i = 0; i < 2; ++i) {
    EndpointRequest e;
    e.port_id = cni_port_id("c" + std::to_string(i), "eth0");
    e.lognet = "ln";
    e.subnet = "s";
    e.info_kind = Kind::kCniInfo;
    e.systemid = "node" + std::to_string(i);
    (i ? *b_ : *a_).create_endpoint(e, [&](Result<Json> r) { got.push_back(r); });
  }
  ASSERT_TRUE(spin([&] { return got.size() == 2; })) << "no answer";
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].ok(), got[1].ok());
  for (auto& r : got) {
    if (r.ok())
      EXPECT_EQ((*r)["port"]["ip_address"], "10.3.0.2");
    else
      EXPECT_EQ(r.status().code(), Errc::kConflict) << r.status().to_string();
  }
  // The loser left no info behind.
  EXPECT_EQ(keys(std::string(schema::kind(Kind::kCniInfo).key_prefix)).size(), 1u);
}

TEST_F(ContainersTest, ASecondServerAttachesToTheLogicalNetwork) {
  physical();
  std::string p1 = docker_network(*a_, "n1", "10.1.0.0/24");
  std::string p2 = docker_network(*b_, "n2", "10.1.0.0/24", "docker-n1-lognet");
  auto m2 = wait<Json>([&](Done d) { b_->get_network("n2", d); });
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ((*m2)["lognet_id"], "docker-n1-lognet");
  EXPECT_EQ((*m2)["subnet_id"], "docker-n1-subnet");
  EXPECT_EQ((*m2)["created_lognet"], false);
  auto users = wait<std::vector<std::string>>([&](auto d) { a_->networks_of("docker-n1-lognet", d); });
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(*users, (std::vector<std::string>{"n1", "n2"}));
  // One address space across the servers: an address reserved through either pool is taken.
  ASSERT_TRUE(address(*b_, p2, "10.1.0.20").ok());
  EXPECT_EQ(address(*a_, p1, "10.1.0.20").status().code(), Errc::kConflict);
  ASSERT_TRUE(endpoint(*b_, docker_endpoint("n2", "e1", "10.1.0.20")).ok());
  EXPECT_TRUE(get(docker_reservation_key(p2, "10.1.0.20")).is_null());
  EXPECT_EQ(endpoint(*a_, docker_endpoint("n1", "e2", "10.1.0.20")).status().code(), Errc::kConflict);
  // Attaching with another CIDR or gateway is a conflict; to an unknown network, not found.
  auto p3 = pool(*b_, pr("10.1.1.0/24"));
  NetworkRequest req;
  req.network_id = "n3";
  req.pool_id = p3->pool_id;
  req.attach_lognet = "docker-n1-lognet";
  EXPECT_EQ(network(*b_, req).status().code(), Errc::kConflict);
  auto p4 = pool(*b_, pr("10.1.0.0/24"));
  req.pool_id = p4->pool_id;
  req.gateway = "10.1.0.254";
  EXPECT_EQ(network(*b_, req).status().code(), Errc::kConflict);
  req.gateway = "";
  req.attach_lognet = "nope";
  EXPECT_EQ(network(*b_, req).status().code(), Errc::kNotFound);
  EXPECT_TRUE(get(docker_network_key("n3")).is_null());
}

TEST_F(ContainersTest, DeleteNetworkRemovesWhatItCreatedWhenNothingUsesIt) {
  physical();
  std::string p1 = docker_network(*a_, "n1", "10.1.0.0/24");
  std::string p2 = docker_network(*b_, "n2", "10.1.0.0/24", "docker-n1-lognet");
  ASSERT_TRUE(address(*b_, p2, "10.1.0.30").ok());  // a reservation never consumed
  auto del = [&](Containers& c, const std::string& nid) {
    return wait<Json>([&](Done d) { c.delete_network(nid, d); });
  };
  // n1 made the logical network but n2 still uses it: kept.
  auto d1 = del(*a_, "n1");
  ASSERT_TRUE(d1.ok()) << d1.status().to_string();
  EXPECT_EQ((*d1)["deleted"], true);
  EXPECT_NE((*d1)["kept"].get<std::string>().find("n2"), std::string::npos);
  EXPECT_FALSE(get(logical_network_key("docker-n1-lognet")).is_null());
  EXPECT_TRUE(get(docker_network_key("n1")).is_null());
  EXPECT_TRUE(get(docker_pool_key(p1)).is_null());
  // n2 attached: its record, pool and reservations go; the network is not its to remove.
  ASSERT_TRUE(del(*b_, "n2").ok());
  EXPECT_TRUE(get(docker_pool_key(p2)).is_null());
  EXPECT_TRUE(get(docker_reservation_key(p2, "10.1.0.30")).is_null());
  EXPECT_TRUE(get(ip_index("docker-n1-subnet", "10.1.0.30")).is_null());
  EXPECT_FALSE(get(logical_network_key("docker-n1-lognet")).is_null());
  EXPECT_EQ((*del(*b_, "n2"))["deleted"], false);  // twice: fine
  // A created network with a port stays (with the reason); without, it goes.
  docker_network(*a_, "n3", "10.3.0.0/24");
  ASSERT_TRUE(endpoint(*a_, docker_endpoint("n3", "e1", "10.3.0.7")).ok());
  auto d3 = del(*a_, "n3");
  ASSERT_TRUE(d3.ok());
  EXPECT_TRUE((*d3).contains("kept"));
  EXPECT_FALSE(get(subnet_key("docker-n3-subnet")).is_null());
  docker_network(*a_, "n4", "10.4.0.0/24");
  auto d4 = del(*a_, "n4");
  ASSERT_TRUE(d4.ok());
  EXPECT_FALSE((*d4).contains("kept"));
  EXPECT_TRUE(get(subnet_key("docker-n4-subnet")).is_null());
  EXPECT_TRUE(get(logical_network_key("docker-n4-lognet")).is_null());
}

// The indices and cascades the new kinds declare, as ObjectDB keeps them: the reservation in the
// subnets' address index (VLCP's key), the mappings' multi index by logical network, the infos
// deleted with their port, and the listing of a kind.
TEST_F(ContainersTest, TheNewIndicesAreDeclaredOnce) {
  physical();
  std::string p = docker_network(*a_, "n1", "10.1.0.0/24");
  ASSERT_TRUE(address(*a_, p, "10.1.0.7").ok());
  EXPECT_EQ(keys("indices.viperflow.subnet.ip.").size(), 1u);
  EXPECT_EQ(get("indices.viperflow.subnet.ip.viperflow++subnet++docker-n1-subnet.10++1++0++7"),
            docker_reservation_key(p, "10.1.0.7"));
  auto lognet_members = keys("indices.viperflow.dockerplugin.network.lognet.");
  ASSERT_EQ(lognet_members.size(), 1u);
  EXPECT_EQ(get(lognet_members[0]), docker_network_key("n1"));
  // (each declared index has an owner kind that the model knows by name)
  for (const auto& i : schema::kIndices) {
    auto rule = detail::index_rule(i.owner, i.name);
    EXPECT_EQ(rule.prefix, schema::kind(i.owner).class_prefix());
  }
  auto listed = wait<Json>([&](Done d) { a_->list(Kind::kDockerReservation, d); });
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->contains(docker_reservation_key(p, "10.1.0.7")));
}

}  // namespace
}  // namespace vlcp::model
