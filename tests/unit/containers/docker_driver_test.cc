// The Docker driver (src/containers/docker_driver, design §2.3) run as dockerd runs it: the
// probe's request bodies (§2.2) through handle(), on the embedded store with the real model
// adapter (ModelEndpoints) and the real plug machine, over fake links and OVSDB ports that keep
// what they made — so "nothing left" is checked on state. A "restart" is a new driver (and a new
// model::Containers) on the same store.
#include "containers/docker_driver.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "base/clock.h"
#include "containers/adapters.h"
#include "containers/docker_module.h"
#include "db/embedded.h"
#include "fakes.h"
#include "model/viperflow.h"

namespace vlcp::containers {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::string kNid = "0ee0000000000000000000000000000000000000000000000000000000000001";
const std::string kNid2 = "0ee0000000000000000000000000000000000000000000000000000000000002";
const std::string kEid = "d897000000000000000000000000000000000000000000000000000000000001";
const std::string kEid2 = "a1b2000000000000000000000000000000000000000000000000000000000002";
const std::string kEid3 = "c3d4000000000000000000000000000000000000000000000000000000000003";

using fakes::FakeLinks;
using fakes::FakePorts;

class DockerDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vlcp-docker-driver-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = db::EmbeddedStore::open(loop_, db::EmbeddedOptions{(dir_ / "db").string(), 64, true});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    db_ = std::make_unique<db::ObjectDb>(loop_, *store_);
    model::declare_indices(*db_);
    restart();
    // The physical network the probe's networks name.
    model::ViperFlow v(*db_);
    std::optional<Result<Json>> r;
    v.create_physical_networks(Json::parse(R"([{"id": "pn", "vlanrange": [[10, 20]]}])"),
                               [&](Result<Json> x) { r = std::move(x); });
    spin([&] { return r.has_value(); });
    ASSERT_TRUE(r->ok()) << r->status().to_string();
  }
  void TearDown() override {
    driver_.reset();
    plugger_.reset();
    endpoints_.reset();
    containers_.reset();
    db_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // vlcpd restarted: a new driver, plug machine and model view on the same store and host.
  void restart() {
    driver_.reset();
    plugger_.reset();
    endpoints_.reset();
    containers_ = std::make_unique<model::Containers>(*db_);
    endpoints_ = std::make_unique<ModelEndpoints>(*containers_);
    PlugSettings ps;
    ps.undo.delay = 1ms;
    plugger_ = std::make_unique<Plugger>(loop_, *endpoints_, links_, ports_, ps);
    DockerDriverSettings ds;
    ds.systemid = "node1";
    ds.bridge = "dockerbr0";
    driver_ = std::make_unique<DockerDriver>(loop_, *db_, *containers_, *plugger_, ds);
  }
  void spin(const std::function<bool()>& until) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!until() && std::chrono::steady_clock::now() < deadline)
      if (!loop_.run_pending()) std::this_thread::sleep_for(100us);
    ASSERT_TRUE(until()) << "no answer";
  }
  // One request as dockerd sends it: (status, body as JSON).
  std::pair<int, Json> call(const std::string& method, const std::string& body) {
    std::optional<docker::Reply> reply;
    driver_->handle("/" + method, body, [&](docker::Reply r) { reply = std::move(r); });
    spin([&] { return reply.has_value(); });
    if (!reply) return {0, Json()};
    return {reply->status, Json::parse(reply->body, nullptr, false)};
  }
  Json ok(const std::string& method, const std::string& body) {
    auto [status, j] = call(method, body);
    EXPECT_EQ(status, 200) << method << " " << body << " -> " << j.dump();
    return j;
  }
  std::string pool(const std::string& cidr) {
    Json p = ok("IpamDriver.RequestPool", R"({"AddressSpace":"VLCPLocalAddressSpace","Pool":")" + cidr +
                                              R"(","SubPool":"","Options":{},"V6":false})");
    EXPECT_EQ(p["Pool"], cidr);
    return p.value("PoolID", "");
  }
  std::pair<int, Json> address(const std::string& pool_id, const std::string& ip, bool gateway = false) {
    std::string options =
        gateway ? R"({"RequestAddressType":"com.docker.network.gateway"})" : std::string("null");
    return call("IpamDriver.RequestAddress",
                R"({"PoolID":")" + pool_id + R"(","Address":")" + ip + R"(","Options":)" + options + "}");
  }
  std::pair<int, Json> network(const std::string& nid, const std::string& cidr, const std::string& gateway,
                               const std::string& generic) {
    return call("NetworkDriver.CreateNetwork",
                R"({"NetworkID":")" + nid +
                    R"(","Options":{"com.docker.network.enable_ipv6":false,"com.docker.network.generic":)" +
                    generic + R"(},"IPv4Data":[{"AddressSpace":"VLCPLocalAddressSpace","Gateway":")" +
                    gateway + R"(","Pool":")" + cidr + R"("}],"IPv6Data":[]})");
  }
  std::pair<int, Json> endpoint(const std::string& nid, const std::string& eid,
                                const std::string& cidr_address, const std::string& mac = "") {
    return call(
        "NetworkDriver.CreateEndpoint",
        R"({"NetworkID":")" + nid + R"(","EndpointID":")" + eid + R"(","Interface":{"Address":")" +
            cidr_address + R"(","AddressIPv6":"","MacAddress":")" + mac +
            R"("},"Options":{"com.docker.network.endpoint.exposedports":[],"com.docker.network.portmap":[]}})");
  }
  std::string ids(const std::string& nid, const std::string& eid) {
    return R"({"NetworkID":")" + nid + R"(","EndpointID":")" + eid + R"("})";
  }
  // The probe's network: pool, gateway, CreateNetwork; returns the pool id.
  std::string probe_network(const std::string& nid, const std::string& cidr, const std::string& gw) {
    std::string p = pool(cidr);
    EXPECT_EQ(address(p, gw, true).second["Address"], gw + cidr.substr(cidr.find('/')));
    auto [status, j] =
        network(nid, cidr, gw + cidr.substr(cidr.find('/')),
                R"({"mtu":"1450","physicalnetwork":"pn","subnet:allocated_start":"10.1.0.5"})");
    EXPECT_EQ(status, 200) << j.dump();
    return p;
  }
  Json get(const std::string& key) {
    std::optional<Result<std::map<std::string, db::Record>>> r;
    db_->get({key}, [&](auto x) { r = std::move(x); });
    spin([&] { return r.has_value(); });
    if (!r->ok() || !(*r)->count(key) || !(*r)->at(key).value) return Json();
    return *(*r)->at(key).value;
  }
  std::vector<std::string> keys(const std::string& prefix) {
    std::optional<Result<std::vector<std::string>>> r;
    db_->list(prefix, [&](auto x) { r = std::move(x); });
    spin([&] { return r.has_value(); });
    return r->ok() ? **r : std::vector<std::string>{};
  }
  uint64_t count(const std::string& method, int status) {
    auto it = driver_->counters().requests.find({method, status});
    return it == driver_->counters().requests.end() ? 0 : it->second;
  }

  std::filesystem::path dir_;
  RealClock clock_;
  io::ControlLoop loop_{clock_};
  std::unique_ptr<db::EmbeddedStore> store_;
  std::unique_ptr<db::ObjectDb> db_;
  FakeLinks links_{loop_};
  FakePorts ports_{loop_};
  std::unique_ptr<model::Containers> containers_;
  std::unique_ptr<ModelEndpoints> endpoints_;
  std::unique_ptr<Plugger> plugger_;
  std::unique_ptr<DockerDriver> driver_;
};

TEST_F(DockerDriverTest, AContainersWholeLife) {
  // The handshake (constant answers).
  EXPECT_EQ(ok("Plugin.Activate", "{}")["Implements"], Json::parse(R"(["NetworkDriver","IpamDriver"])"));
  EXPECT_EQ(ok("NetworkDriver.GetCapabilities", "{}")["Scope"], "local");
  EXPECT_EQ(ok("IpamDriver.GetDefaultAddressSpaces", "{}")["LocalDefaultAddressSpace"],
            "VLCPLocalAddressSpace");
  // docker network create: RequestPool, the gateway, then (after a vlcpd restart) CreateNetwork.
  std::string p = pool("10.1.0.0/24");
  ASSERT_EQ(p.rfind("vlcp-", 0), 0u);
  EXPECT_EQ(address(p, "10.1.0.1", true).second["Address"], "10.1.0.1/24");
  restart();
  auto [created, cj] =
      network(kNid, "10.1.0.0/24", "10.1.0.1/24",
              R"({"mtu":"1450","physicalnetwork":"pn","subnet:allocated_start":"10.1.0.5"})");
  ASSERT_EQ(created, 200) << cj.dump();
  EXPECT_EQ(cj, Json::object());
  Json lognet = get(model::logical_network_key("docker-" + kNid + "-lognet"));
  EXPECT_EQ(lognet["mtu"], 1450);
  Json subnet = get(model::subnet_key("docker-" + kNid + "-subnet"));
  EXPECT_EQ(subnet["cidr"], "10.1.0.0/24");
  EXPECT_EQ(subnet["gateway"], "10.1.0.1");
  EXPECT_EQ(subnet["allocated_start"], "10.1.0.5");

  // docker run --ip 10.1.0.7: the address, then --ip 10.1.0.7 again is refused.
  EXPECT_EQ(address(p, "10.1.0.7").second["Address"], "10.1.0.7/24");
  auto [taken, tj] = address(p, "10.1.0.7");
  EXPECT_EQ(taken, 409) << tj.dump();
  EXPECT_TRUE(tj.contains("Err"));
  EXPECT_EQ(count("IpamDriver.RequestAddress", 409), 1u);
  auto [made, ej] = endpoint(kNid, kEid, "10.1.0.7/24");
  ASSERT_EQ(made, 200) << ej.dump();
  // Docker gave no MAC: the answer has one (VLCP's template MAC), and no Address (Docker gave it).
  std::string mac = ej["Interface"]["MacAddress"];
  EXPECT_EQ(mac.substr(0, 3), "02:");
  EXPECT_FALSE(ej["Interface"].contains("Address"));
  auto names = docker::veth_names("vlcp", kEid);
  ASSERT_TRUE(names);
  ASSERT_TRUE(links_.veths.count(names->host));
  EXPECT_EQ(links_.veths[names->host].peer, names->container);
  EXPECT_EQ(links_.veths[names->host].mtu, 1450u);
  EXPECT_EQ(links_.veths[names->host].alias, "vlcp:docker:" + kEid);
  ASSERT_TRUE(ports_.ports.count(names->host));
  EXPECT_EQ(ports_.ports[names->host].external_ids["iface-id"], "docker-" + kEid);
  EXPECT_EQ(ports_.ports[names->host].external_ids["attached-mac"], mac);
  Json port = get(model::logical_port_key("docker-" + kEid));
  EXPECT_EQ(port["ip_address"], "10.1.0.7");
  EXPECT_EQ(port["mac_address"], mac);
  Json info = get(model::docker_info_key("docker-" + kEid));
  EXPECT_EQ(info["endpoint"], kEid);
  EXPECT_EQ(info["docker_port"], names->host);
  EXPECT_EQ(info["systemid"], "node1");

  // Join: the container end, eth, the gateway; the same after a restart (read from the model).
  Json join_body = Json::parse(ids(kNid, kEid));
  join_body["SandboxKey"] = "/var/run/docker/netns/356aa4183b2e";
  join_body["Options"] = Json::object();
  Json joined = ok("NetworkDriver.Join", join_body.dump());
  EXPECT_EQ(joined["InterfaceName"]["SrcName"], names->container);
  EXPECT_EQ(joined["InterfaceName"]["DstPrefix"], "eth");
  EXPECT_EQ(joined["Gateway"], "10.1.0.1");
  EXPECT_FALSE(joined.contains("StaticRoutes"));
  EXPECT_EQ(ok("NetworkDriver.EndpointOperInfo", ids(kNid, kEid))["Value"]["port"], "docker-" + kEid);
  restart();
  EXPECT_EQ(ok("NetworkDriver.Join", join_body.dump()), joined);
  EXPECT_EQ(ok("NetworkDriver.EndpointOperInfo", ids(kNid, kEid))["Value"]["veth"], names->host);
  EXPECT_EQ(ok("NetworkDriver.ProgramExternalConnectivity", ids(kNid, kEid)), Json::object());

  // docker rm -f: Revoke, Leave, DeleteEndpoint (twice: idempotent), ReleaseAddress.
  EXPECT_EQ(ok("NetworkDriver.RevokeExternalConnectivity", ids(kNid, kEid)), Json::object());
  EXPECT_EQ(ok("NetworkDriver.Leave", ids(kNid, kEid)), Json::object());
  EXPECT_EQ(ok("NetworkDriver.DeleteEndpoint", ids(kNid, kEid)), Json::object());
  EXPECT_EQ(ok("NetworkDriver.DeleteEndpoint", ids(kNid, kEid)), Json::object());
  EXPECT_EQ(ok("IpamDriver.ReleaseAddress", R"({"PoolID":")" + p + R"(","Address":"10.1.0.7"})"),
            Json::object());
  EXPECT_TRUE(links_.veths.empty());
  EXPECT_TRUE(ports_.ports.empty());
  EXPECT_TRUE(get(model::logical_port_key("docker-" + kEid)).is_null());
  EXPECT_TRUE(get(model::docker_info_key("docker-" + kEid)).is_null());
  // The address is free again.
  EXPECT_EQ(address(p, "10.1.0.7").second["Address"], "10.1.0.7/24");
  EXPECT_EQ(ok("IpamDriver.ReleaseAddress", R"({"PoolID":")" + p + R"(","Address":"10.1.0.7"})"),
            Json::object());

  // docker network rm: the gateway, the pool, then DeleteNetwork; the model is clean.
  EXPECT_EQ(ok("IpamDriver.ReleaseAddress", R"({"PoolID":")" + p + R"(","Address":"10.1.0.1"})"),
            Json::object());
  EXPECT_EQ(ok("IpamDriver.ReleasePool", R"({"PoolID":")" + p + R"("})"), Json::object());
  EXPECT_EQ(ok("NetworkDriver.DeleteNetwork", R"({"NetworkID":")" + kNid + R"("})"), Json::object());
  EXPECT_TRUE(get(model::logical_network_key("docker-" + kNid + "-lognet")).is_null());
  EXPECT_TRUE(get(model::subnet_key("docker-" + kNid + "-subnet")).is_null());
  EXPECT_TRUE(keys("viperflow.dockerplugin.").empty())
      << ::testing::PrintToString(keys("viperflow.dockerplugin."));
  // Deleting it again is fine.
  EXPECT_EQ(ok("NetworkDriver.DeleteNetwork", R"({"NetworkID":")" + kNid + R"("})"), Json::object());
  // Counted by method and status.
  EXPECT_EQ(count("IpamDriver.ReleaseAddress", 200), 3u);  // (since the last restart)
  EXPECT_EQ(count("NetworkDriver.DeleteNetwork", 200), 2u);
  EXPECT_EQ(driver_->counters().in_flight, 0u);
}

TEST_F(DockerDriverTest, TwoNetworksMayOverlap) {
  std::string p1 = probe_network(kNid, "10.1.0.0/24", "10.1.0.1");
  std::string p2 = probe_network(kNid2, "10.1.0.0/24", "10.1.0.1");
  ASSERT_NE(p1, p2);
  EXPECT_EQ(address(p1, "10.1.0.7").first, 200);
  EXPECT_EQ(address(p2, "10.1.0.7").first, 200);
  EXPECT_EQ(endpoint(kNid, kEid, "10.1.0.7/24").first, 200);
  EXPECT_EQ(endpoint(kNid2, kEid2, "10.1.0.7/24").first, 200);
  EXPECT_EQ(get(model::logical_port_key("docker-" + kEid))["network"],
            model::logical_network_key("docker-" + kNid + "-lognet"));
  EXPECT_EQ(get(model::logical_port_key("docker-" + kEid2))["network"],
            model::logical_network_key("docker-" + kNid2 + "-lognet"));
  // Without an address from Docker the subnet gives one (and the answer says which).
  auto [s, j] = endpoint(kNid, kEid3, "");
  ASSERT_EQ(s, 200) << j.dump();
  EXPECT_EQ(j["Interface"]["Address"].get<std::string>().rfind("10.1.0.", 0), 0u);
  EXPECT_EQ(links_.veths.size(), 3u);
}

TEST_F(DockerDriverTest, DockersMacIsKeptAndNotAnswered) {
  probe_network(kNid, "10.1.0.0/24", "10.1.0.1");
  auto [s, j] = endpoint(kNid, kEid, "10.1.0.8/24", "02:42:0a:01:00:08");
  ASSERT_EQ(s, 200) << j.dump();
  EXPECT_EQ(j, Json::object());
  EXPECT_EQ(get(model::logical_port_key("docker-" + kEid))["mac_address"], "02:42:0a:01:00:08");
}

TEST_F(DockerDriverTest, RefusedInputAnd404) {
  std::string p = pool("10.2.0.0/24");
  // A bad option value, an unknown physical network: 422, and nothing created.
  auto [bad, bj] = network(kNid, "10.2.0.0/24", "", R"({"mtu":"abc","physicalnetwork":"pn"})");
  EXPECT_EQ(bad, 422) << bj.dump();
  EXPECT_NE(bj["Err"].get<std::string>().find("mtu"), std::string::npos);
  auto [unknown, uj] = network(kNid, "10.2.0.0/24", "", R"({"physicalnetwork":"nope"})");
  EXPECT_EQ(unknown, 422) << uj.dump();
  EXPECT_TRUE(get(model::logical_network_key("docker-" + kNid + "-lognet")).is_null());
  // IPv6: 422.
  EXPECT_EQ(call("IpamDriver.RequestPool",
                 R"({"AddressSpace":"VLCPLocalAddressSpace","Pool":"fd00::/64","V6":true})")
                .first,
            422);
  // Unknown method: 404 (Docker reads "not implemented"); malformed: 400.
  auto [nf, nj] = call("NetworkDriver.Foo", "{}");
  EXPECT_EQ(nf, 404);
  EXPECT_TRUE(nj.contains("Err"));
  EXPECT_EQ(call("NetworkDriver.CreateEndpoint", "{not json").first, 400);
  // A network Docker knows and VLCP does not: 409.
  EXPECT_EQ(endpoint(kNid2, kEid, "10.2.0.7/24").first, 409);
  // An address outside the pool: 422 (on a bound pool).
  ASSERT_EQ(network(kNid, "10.2.0.0/24", "", R"({"physicalnetwork":"pn"})").first, 200);
  EXPECT_EQ(address(p, "10.3.0.7").first, 422);
  EXPECT_EQ(count("NetworkDriver.Foo", 404), 0u);
  EXPECT_EQ(count("unknown", 404), 1u);
  Json st = driver_->status();
  EXPECT_FALSE(st["requests"].empty());
}

TEST_F(DockerDriverTest, AFailedStepLeavesNothing) {
  std::string p = probe_network(kNid, "10.1.0.0/24", "10.1.0.1");
  ASSERT_EQ(address(p, "10.1.0.7").first, 200);
  ports_.fail_plug = make_error(Errc::kConflict, "port vlcp... has another owner");
  auto [s, j] = endpoint(kNid, kEid, "10.1.0.7/24");
  EXPECT_EQ(s, 409) << j.dump();
  EXPECT_TRUE(links_.veths.empty());
  EXPECT_TRUE(ports_.ports.empty());
  EXPECT_TRUE(get(model::logical_port_key("docker-" + kEid)).is_null());
  EXPECT_TRUE(get(model::docker_info_key("docker-" + kEid)).is_null());
  // Docker's ReleaseAddress follows; then the address can be had again.
  EXPECT_EQ(ok("IpamDriver.ReleaseAddress", R"({"PoolID":")" + p + R"(","Address":"10.1.0.7"})"),
            Json::object());
  ports_.fail_plug = Status();
  ASSERT_EQ(address(p, "10.1.0.7").first, 200);
  EXPECT_EQ(endpoint(kNid, kEid, "10.1.0.7/24").first, 200);
  // A veth step failing (the host refused): 503, nothing left either.
  links_.fail_create = make_error(Errc::kIo, "netlink said no");
  ASSERT_EQ(address(p, "10.1.0.9").first, 200);
  EXPECT_EQ(endpoint(kNid, kEid2, "10.1.0.9/24").first, 503);
  EXPECT_TRUE(get(model::logical_port_key("docker-" + kEid2)).is_null());
  EXPECT_EQ(links_.veths.size(), 1u);
  EXPECT_EQ(ports_.ports.size(), 1u);
}

TEST_F(DockerDriverTest, NoGatewayAndHostRoutes) {
  std::string p = pool("10.4.0.0/24");
  ASSERT_EQ(address(p, "10.4.0.1", true).first, 200);
  auto [s, j] = network(
      kNid, "10.4.0.0/24", "10.4.0.1/24",
      R"({"physicalnetwork":"pn","subnet:disablegateway":"true",)"
      R"("subnet:host_routes":"`[[\"10.9.0.0/16\", \"10.4.0.254\"], [\"10.8.0.0/16\", \"0.0.0.0\"]]`"})");
  ASSERT_EQ(s, 200) << j.dump();
  ASSERT_EQ(address(p, "10.4.0.7").first, 200);
  ASSERT_EQ(endpoint(kNid, kEid, "10.4.0.7/24").first, 200);
  Json body = Json::parse(ids(kNid, kEid));
  body["SandboxKey"] = "/x";
  Json joined = ok("NetworkDriver.Join", body.dump());
  EXPECT_FALSE(joined.contains("Gateway")) << joined.dump();
  ASSERT_EQ(joined["StaticRoutes"].size(), 2u) << joined.dump();
  EXPECT_EQ(joined["StaticRoutes"][0]["Destination"], "10.9.0.0/16");
  EXPECT_EQ(joined["StaticRoutes"][0]["NextHop"], "10.4.0.254");
  EXPECT_EQ(joined["StaticRoutes"][0]["RouteType"], 0);
  EXPECT_EQ(joined["StaticRoutes"][1]["RouteType"], 1);
}

// An endpoint the reconcile unplugs (through the plug machine, not DeleteEndpoint) leaves the
// driver's view too: status() and EndpointOperInfo no longer show it.
TEST_F(DockerDriverTest, AnEndpointUnpluggedByTheReconcileLeavesTheStatus) {
  std::string p = probe_network(kNid, "10.1.0.0/24", "10.1.0.1");
  ASSERT_EQ(address(p, "10.1.0.7").first, 200);
  ASSERT_EQ(address(p, "10.1.0.8").first, 200);
  ASSERT_EQ(endpoint(kNid, kEid, "10.1.0.7/24").first, 200);
  ASSERT_EQ(endpoint(kNid, kEid2, "10.1.0.8/24").first, 200);
  ASSERT_TRUE(driver_->endpoint(kEid));
  EXPECT_EQ(driver_->status()["endpoints"].size(), 2u);
  std::optional<Status> unplugged;
  plugger_->unplug(UnplugRequest{{EndpointKind::kDocker, kEid, ""}, "dockerbr0", ""},
                   [&](Status s) { unplugged = s; });
  spin([&] { return unplugged.has_value(); });
  ASSERT_TRUE(unplugged->ok()) << unplugged->to_string();
  EXPECT_FALSE(driver_->endpoint(kEid));
  EXPECT_TRUE(driver_->endpoint(kEid2));
  EXPECT_EQ(driver_->status()["endpoints"].size(), 1u);
  EXPECT_EQ(driver_->endpoints(), 1u);
  // A CNI attachment of the same id is not the Docker endpoint's.
  unplugged.reset();
  plugger_->unplug(UnplugRequest{{EndpointKind::kCni, kEid2, "eth0"}, "dockerbr0", ""},
                   [&](Status s) { unplugged = s; });
  spin([&] { return unplugged.has_value(); });
  EXPECT_TRUE(driver_->endpoint(kEid2));
  // A driver gone stops watching: the plug machine runs on without it.
  driver_.reset();
  unplugged.reset();
  plugger_->unplug(UnplugRequest{{EndpointKind::kDocker, kEid2, ""}, "dockerbr0", ""},
                   [&](Status s) { unplugged = s; });
  spin([&] { return unplugged.has_value(); });
  EXPECT_TRUE(unplugged->ok());
}

// The adapter's translations alone: PlugRequest::model's keys (the CNI server's too) and the
// record from a dumped port.
TEST(ModelEndpointsAdapter, ReadsTheDocumentedKeys) {
  PlugRequest p;
  p.endpoint = {EndpointKind::kCni, "c0ffee", "eth0"};
  p.model = Json{{"lognet", "n1"},
                 {"subnet", "s1"},
                 {"ip", "10.3.0.2/24"},
                 {"mac_candidates", {"02:77:00:00:00:01"}},
                 {"info", {{"k8s_pod", "p"}}},
                 {"port", {{"k8s_hostname", "pod1"}}},
                 {"systemid", "node1"},
                 {"replace_stale", true}};
  EndpointNames names;
  names.port_id = "k8s-c0ffee";
  auto r = endpoint_request(p, names);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->port_id, "k8s-c0ffee");
  EXPECT_EQ(r->lognet, "n1");
  EXPECT_EQ(r->subnet, "s1");
  EXPECT_EQ(r->ip, "10.3.0.2/24");
  EXPECT_EQ(r->info_kind, schema::Kind::kCniInfo);  // by the endpoint's kind
  EXPECT_EQ(r->mac_candidates, std::vector<std::string>{"02:77:00:00:00:01"});
  EXPECT_EQ(r->port["k8s_hostname"], "pod1");
  EXPECT_TRUE(r->replace_stale);
  p.model["info_kind"] = "docker";
  EXPECT_EQ(endpoint_request(p, names)->info_kind, schema::Kind::kDockerInfo);
  for (auto [key, bad] :
       {std::pair{"ip", Json(7)}, std::pair{"info_kind", Json("k8s")}, std::pair{"info", Json(1)},
        std::pair{"mac_candidates", Json("02:00:00:00:00:01")}, std::pair{"replace_stale", Json("yes")}}) {
    PlugRequest q = p;
    q.model[key] = bad;
    EXPECT_EQ(endpoint_request(q, names).status().code(), Errc::kInvalidArgument) << key;
  }
  PlugRequest none = p;
  none.model.erase("lognet");
  EXPECT_EQ(endpoint_request(none, names).status().code(), Errc::kInvalidArgument);
}

TEST(ModelEndpointsAdapter, RecordFromTheDumpedPort) {
  Json answer =
      Json::parse(R"({"port": {"id": "k8s-c", "ip_address": "10.3.0.2", "mac_address": "02:77:00:00:00:01",
    "network": {"id": "n1", "mtu": 1450},
    "subnet": {"id": "s1", "cidr": "10.3.0.0/24", "gateway": "10.3.0.1",
               "host_routes": [["10.9.0.0/16", "10.3.0.254"], ["10.8.0.0/16", "0.0.0.0"]]}}, "info": {}})");
  auto r = endpoint_record(answer);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->mac, (link::Mac{0x02, 0x77, 0, 0, 0, 1}));
  ASSERT_TRUE(r->address);
  EXPECT_EQ(r->address->address, (link::Ipv4{10, 3, 0, 2}));
  EXPECT_EQ(r->address->length, 24);
  EXPECT_EQ(r->gateway, (link::Ipv4{10, 3, 0, 1}));
  ASSERT_EQ(r->routes.size(), 2u);
  EXPECT_EQ(r->routes[0].destination.length, 16);
  EXPECT_EQ(r->routes[0].gateway, (link::Ipv4{10, 3, 0, 254}));
  EXPECT_FALSE(r->routes[1].gateway);
  EXPECT_EQ(r->mtu, 1450u);  // the network's (the subnet has none)
  answer["port"]["subnet"]["mtu"] = 1400;
  answer["port"]["subnet"]["disablegateway"] = true;
  EXPECT_EQ(endpoint_record(answer)->mtu, 1400u);
  EXPECT_FALSE(endpoint_record(answer)->gateway);
  EXPECT_EQ(endpoint_record(Json::object()).status().code(), Errc::kInternal);
}

// Security by default: the plugin socket is never open to every user (whoever connects plugs
// and unplugs ports); the reconcile's driver name is kept as given.
TEST(DockerPluginSettings, AWorldWritableSocketIsRefused) {
  auto ok = Config::parse(
      "module.dockerplugin.url = 'unix:///run/x/vlcp.sock'\n"
      "module.dockerplugin.socketmode = '0660'\n"
      "module.dockerplugin.drivername = 'vlcp'\n",
      "t.conf");
  ASSERT_TRUE(ok.ok());
  auto s = read_dockerplugin_settings(*ok);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->socket_mode, 0660u);
  EXPECT_EQ(s->driver_name, "vlcp");
  for (const char* line :
       {"module.dockerplugin.reconcileinterval = 1e30", "module.dockerplugin.reconcilegrace = -1"}) {
    auto bad = Config::parse(std::string(line) + "\n", "t.conf");
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(read_dockerplugin_settings(*bad).ok()) << line;
  }
  auto half = Config::parse("module.dockerplugin.reconcileinterval = 0.5\n", "t.conf");
  ASSERT_TRUE(half.ok());
  ASSERT_TRUE(read_dockerplugin_settings(*half).ok());
  EXPECT_EQ(read_dockerplugin_settings(*half)->reconcile.interval, std::chrono::seconds(1));
  for (const char* mode : {"0666", "0662", "0777", "0661"}) {
    auto bad = Config::parse(std::string("module.dockerplugin.socketmode = '") + mode + "'\n", "t.conf");
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(read_dockerplugin_settings(*bad).ok()) << mode;
  }
}

}  // namespace
}  // namespace vlcp::containers
