// The reconcile run (src/containers/docker_reconciler, design §4): endpoints made through the
// real Docker driver, plug machine and model on the embedded store, over fake links and OVSDB
// ports that keep what they made (the replica is built from them); a fake Docker engine says
// what Docker knows. Each test breaks something as a crash would and checks the state after a
// run, not the plan's text.
#include "containers/docker_reconciler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "api/http.h"
#include "base/clock.h"
#include "containers/adapters.h"
#include "containers/docker_driver.h"
#include "db/embedded.h"
#include "fakes.h"
#include "model/viperflow.h"
#include "schema/kinds.h"

namespace vlcp::containers {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::string kNid = "0ee0000000000000000000000000000000000000000000000000000000000001";
const std::string kEid = "d897000000000000000000000000000000000000000000000000000000000001";
const std::string kEid3 = "c3d4000000000000000000000000000000000000000000000000000000000003";

using fakes::FakeLinks;
using fakes::FakePorts;

// Docker's view as the test sets it: unreachable, or the network with these endpoints.
class FakeEngine final : public DockerEngine {
 public:
  explicit FakeEngine(io::ControlLoop& loop) : loop_(loop) {}
  bool reachable = true;
  std::map<std::string, std::set<std::string>> networks;  // NetworkID -> EndpointIDs
  int fetches = 0;
  void fetch_view(std::function<void(docker::DockerView, std::vector<std::string>)> done) override {
    ++fetches;
    docker::DockerView v;
    std::vector<std::string> log;
    if (reachable) {
      v.reachable = true;
      for (const auto& [nid, eids] : networks) {
        docker::EngineNetwork n;
        n.id = nid;
        n.driver = "vlcp";
        n.inspected = true;
        for (const auto& e : eids) n.endpoints["ep-" + e] = e;
        v.networks[nid] = n;
      }
    } else {
      log.push_back("docker: unavailable: connect: No such file or directory");
    }
    loop_.after(0ns, [done, v, log] { done(v, log); });
  }

 private:
  io::ControlLoop& loop_;
};

class DockerReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vlcp-docker-reconciler-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = db::EmbeddedStore::open(loop_, db::EmbeddedOptions{(dir_ / "db").string(), 64, true});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    db_ = std::make_unique<db::ObjectDb>(loop_, *store_);
    model::declare_indices(*db_);
    containers_ = std::make_unique<model::Containers>(*db_);
    endpoints_ = std::make_unique<ModelEndpoints>(*containers_);
    PlugSettings ps;
    ps.undo.delay = 1ms;
    plugger_ = std::make_unique<Plugger>(loop_, *endpoints_, links_, ports_, ps);
    DockerDriverSettings ds;
    ds.systemid = "node1";
    ds.bridge = "dockerbr0";
    driver_ = std::make_unique<DockerDriver>(loop_, *db_, *containers_, *plugger_, ds);
    model::ViperFlow v(*db_);
    std::optional<Result<Json>> r;
    v.create_physical_networks(Json::parse(R"([{"id": "pn", "vlanrange": [[10, 20]]}])"),
                               [&](Result<Json> x) { r = std::move(x); });
    spin([&] { return r.has_value(); });
    ASSERT_TRUE(r->ok()) << r->status().to_string();
  }
  void TearDown() override {
    reconciler_.reset();
    driver_.reset();
    plugger_.reset();
    endpoints_.reset();
    containers_.reset();
    db_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // backoff: the first retry of a run that did not succeed (by default none inside a test).
  void make_reconciler(std::chrono::seconds interval = 0s, std::chrono::milliseconds backoff = 3600s) {
    ReconcilerSettings rs;
    rs.systemid = "node1";
    rs.bridge = "dockerbr0";
    rs.interval = interval;
    rs.grace = 30s;
    rs.backoff_first = backoff;
    rs.backoff_max = std::max<std::chrono::milliseconds>(backoff * 4, 3600s);
    ReconcilerParts parts{loop_, *db_, *containers_, *plugger_, ports_, links_, engine_,
                          [this] { return ports_.replica("dockerbr0"); }, [this] { return in_flight_; },
                          // Past the grace of everything the test made.
                          [] {
                            return std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count() +
                                   60'000'000;
                          }};
    reconciler_ = std::make_unique<DockerReconciler>(parts, rs);
  }
  Json reconcile() {
    std::optional<Json> out;
    reconciler_->run_now([&](const Json& j) { out = j; });
    spin([&] { return out.has_value(); });
    return out.value_or(Json());
  }
  void spin(const std::function<bool()>& until) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!until() && std::chrono::steady_clock::now() < deadline)
      if (!loop_.run_pending()) std::this_thread::sleep_for(100us);
    ASSERT_TRUE(until()) << "no answer";
  }
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
  // docker network create + docker run: the network kNid (10.1.0.0/24) and the endpoint `eid`.
  void container(const std::string& eid, const std::string& ip) {
    if (pool_.empty()) {
      Json p = ok(
          "IpamDriver.RequestPool",
          R"({"AddressSpace":"VLCPLocalAddressSpace","Pool":"10.1.0.0/24","SubPool":"","Options":{},"V6":false})");
      pool_ = p.value("PoolID", "");
      ok("IpamDriver.RequestAddress",
         R"({"PoolID":")" + pool_ +
             R"(","Address":"10.1.0.1","Options":{"RequestAddressType":"com.docker.network.gateway"}})");
      ok("NetworkDriver.CreateNetwork",
         R"({"NetworkID":")" + kNid +
             R"(","Options":{"com.docker.network.enable_ipv6":false,"com.docker.network.generic":{"physicalnetwork":"pn"}},"IPv4Data":[{"AddressSpace":"VLCPLocalAddressSpace","Gateway":"10.1.0.1/24","Pool":"10.1.0.0/24"}],"IPv6Data":[]})");
    }
    ok("IpamDriver.RequestAddress",
       R"({"PoolID":")" + pool_ + R"(","Address":")" + ip + R"(","Options":null})");
    ok("NetworkDriver.CreateEndpoint", R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + eid +
                                           R"(","Interface":{"Address":")" + ip +
                                           R"(/24","AddressIPv6":"","MacAddress":""},"Options":{}})");
  }
  Json get(const std::string& key) {
    std::optional<Result<std::map<std::string, db::Record>>> r;
    db_->get({key}, [&](auto x) { r = std::move(x); });
    spin([&] { return r.has_value(); });
    if (!r->ok() || !(*r)->count(key) || !(*r)->at(key).value) return Json();
    return *(*r)->at(key).value;
  }
  std::string host_veth(const std::string& eid) {
    auto n = endpoint_names({EndpointKind::kDocker, eid, ""}, "vlcp");
    return n.ok() ? n->host_veth : "";
  }
  uint64_t removed(ReconcileWhat w) { return reconciler_->counters().removed_of(w); }
  uint64_t repaired(ReconcileWhat w) { return reconciler_->counters().repaired_of(w); }

  std::filesystem::path dir_;
  RealClock clock_;
  io::ControlLoop loop_{clock_};
  std::unique_ptr<db::EmbeddedStore> store_;
  std::unique_ptr<db::ObjectDb> db_;
  FakeLinks links_{loop_};
  FakePorts ports_{loop_};
  FakeEngine engine_{loop_};
  InFlight in_flight_;
  std::unique_ptr<model::Containers> containers_;
  std::unique_ptr<ModelEndpoints> endpoints_;
  std::unique_ptr<Plugger> plugger_;
  std::unique_ptr<DockerDriver> driver_;
  std::unique_ptr<DockerReconciler> reconciler_;
  std::string pool_;
};

TEST_F(DockerReconcilerTest, ACrashedEndpointIsRemovedWhole) {
  container(kEid, "10.1.0.7");
  const std::string veth = host_veth(kEid);
  ASSERT_TRUE(links_.veths.count(veth));
  ASSERT_TRUE(ports_.ports.count(veth));
  ASSERT_FALSE(get(model::docker_info_key("docker-" + kEid)).is_null());
  // Docker lists the network but not the endpoint (its container died with dockerd).
  engine_.networks[kNid] = {};
  make_reconciler();
  Json summary = reconcile();
  EXPECT_EQ(summary["result"], "ok") << summary.dump();
  EXPECT_FALSE(links_.veths.count(veth));
  EXPECT_FALSE(ports_.ports.count(veth));
  EXPECT_TRUE(get(model::logical_port_key("docker-" + kEid)).is_null());
  EXPECT_TRUE(get(model::docker_info_key("docker-" + kEid)).is_null());
  EXPECT_EQ(removed(ReconcileWhat::kPort), 1u);
  EXPECT_EQ(removed(ReconcileWhat::kVeth), 1u);
  EXPECT_EQ(removed(ReconcileWhat::kOvsdb), 1u);
  EXPECT_EQ(reconciler_->counters().run_of(ReconcileResult::kOk), 1u);
  // The network Docker lists stays.
  EXPECT_FALSE(get(model::docker_network_key(kNid)).is_null());
  // A second run finds nothing more.
  summary = reconcile();
  EXPECT_EQ(summary["plan"]["unplug"].size(), 0u) << summary.dump();
  EXPECT_EQ(removed(ReconcileWhat::kPort), 1u);
  EXPECT_EQ(reconciler_->counters().run_of(ReconcileResult::kOk), 2u);
}

TEST_F(DockerReconcilerTest, DockerUnreachableRemovesNothing) {
  container(kEid, "10.1.0.7");
  const std::string veth = host_veth(kEid);
  engine_.reachable = false;
  make_reconciler();
  Json summary = reconcile();
  EXPECT_EQ(summary["result"], "docker_unreachable") << summary.dump();
  EXPECT_TRUE(links_.veths.count(veth));
  EXPECT_TRUE(ports_.ports.count(veth));
  EXPECT_FALSE(get(model::docker_info_key("docker-" + kEid)).is_null());
  EXPECT_FALSE(get(model::docker_network_key(kNid)).is_null());
  EXPECT_EQ(reconciler_->counters().run_of(ReconcileResult::kDockerUnreachable), 1u);
  for (size_t i = 0; i < kReconcileWhatCount; ++i) EXPECT_EQ(reconciler_->counters().removed[i], 0u);
  EXPECT_EQ(reconciler_->status()["runs"]["docker_unreachable"], 1);
}

TEST_F(DockerReconcilerTest, AMissingOvsdbRowIsRepaired) {
  container(kEid, "10.1.0.7");
  const std::string veth = host_veth(kEid);
  ASSERT_TRUE(ports_.ports.count(veth));
  OvsPortSpec before = ports_.ports[veth];
  ports_.ports.erase(veth);  // ovs-vsctl del-port, or OVS's database lost
  engine_.networks[kNid] = {kEid};
  make_reconciler();
  Json summary = reconcile();
  EXPECT_EQ(summary["result"], "ok") << summary.dump();
  ASSERT_TRUE(ports_.ports.count(veth));
  EXPECT_EQ(ports_.ports[veth].owner, before.owner);
  EXPECT_EQ(ports_.ports[veth].external_ids["iface-id"], "docker-" + kEid);
  EXPECT_EQ(ports_.ports[veth].external_ids["attached-mac"],
            get(model::logical_port_key("docker-" + kEid))["mac_address"]);
  EXPECT_EQ(repaired(ReconcileWhat::kOvsdb), 1u);
  EXPECT_EQ(repaired(ReconcileWhat::kVeth), 0u);
  // Nothing of the endpoint removed.
  EXPECT_TRUE(links_.veths.count(veth));
  EXPECT_FALSE(get(model::docker_info_key("docker-" + kEid)).is_null());
}

TEST_F(DockerReconcilerTest, AnOrphanVethIsRemoved) {
  container(kEid, "10.1.0.7");
  // A veth of ours without a DockerInfo (a crash between step 2 and the undo of step 1), and a
  // link that is not ours.
  const std::string orphan = host_veth(kEid3);
  links_.veths[orphan] = {orphan + "c", "vlcp:docker:" + kEid3};
  links_.veths["eth9"] = {"", "uplink"};
  engine_.networks[kNid] = {kEid};
  make_reconciler();
  Json summary = reconcile();
  EXPECT_EQ(summary["result"], "ok") << summary.dump();
  EXPECT_FALSE(links_.veths.count(orphan));
  EXPECT_TRUE(links_.veths.count("eth9"));
  EXPECT_TRUE(links_.veths.count(host_veth(kEid)));
  EXPECT_EQ(removed(ReconcileWhat::kVeth), 1u);
  EXPECT_EQ(removed(ReconcileWhat::kPort), 0u);
}

TEST_F(DockerReconcilerTest, InFlightEndpointsAreLeftAlone) {
  container(kEid, "10.1.0.7");
  const std::string veth = host_veth(kEid);
  links_.veths[host_veth(kEid3)] = {"x", "vlcp:docker:" + kEid3};
  engine_.networks[kNid] = {};
  in_flight_.endpoints = {kEid, kEid3};
  make_reconciler();
  Json summary = reconcile();
  EXPECT_EQ(summary["result"], "ok") << summary.dump();
  EXPECT_TRUE(links_.veths.count(veth));
  EXPECT_TRUE(links_.veths.count(host_veth(kEid3)));
  EXPECT_TRUE(ports_.ports.count(veth));
  EXPECT_FALSE(get(model::docker_info_key("docker-" + kEid)).is_null());
  for (size_t i = 0; i < kReconcileWhatCount; ++i) EXPECT_EQ(reconciler_->counters().removed[i], 0u);
}

TEST_F(DockerReconcilerTest, ANetworkDockerNoLongerListsGoesWithItsPool) {
  container(kEid, "10.1.0.7");
  // Docker lists nothing: the endpoint, then the network's mapping and its pool go.
  make_reconciler();
  Json summary = reconcile();
  EXPECT_EQ(summary["result"], "ok") << summary.dump();
  EXPECT_TRUE(links_.veths.empty());
  EXPECT_TRUE(ports_.ports.empty());
  EXPECT_TRUE(get(model::docker_network_key(kNid)).is_null());
  EXPECT_TRUE(get(model::docker_pool_key(pool_)).is_null());
  EXPECT_EQ(removed(ReconcileWhat::kMapping), 1u);
}

TEST_F(DockerReconcilerTest, TheSnapshotFailingPlansNothing) {
  container(kEid, "10.1.0.7");
  links_.fail_list = make_error(Errc::kUnavailable, "netlink down");
  make_reconciler();
  Json summary = reconcile();
  EXPECT_EQ(summary["result"], "failed");
  EXPECT_NE(summary["error"].get<std::string>().find("netlink down"), std::string::npos) << summary.dump();
  EXPECT_EQ(engine_.fetches, 0);
  EXPECT_TRUE(links_.veths.count(host_veth(kEid)));
  EXPECT_EQ(reconciler_->counters().run_of(ReconcileResult::kFailed), 1u);
}

TEST_F(DockerReconcilerTest, StartRunsOnceThenEveryInterval) {
  engine_.networks[kNid] = {};
  make_reconciler(1s);
  reconciler_->start();
  reconciler_->start();  // idempotent
  spin([&] { return reconciler_->counters().run_of(ReconcileResult::kOk) == 1; });
  EXPECT_EQ(engine_.fetches, 1);
  spin([&] { return reconciler_->counters().run_of(ReconcileResult::kOk) == 2; });
  EXPECT_EQ(engine_.fetches, 2);
  bool has_runs = false;
  for (const auto& [name, value] : reconciler_->metrics())
    if (name == "vlcp_container_reconcile_runs_total{result=\"ok\"}") has_runs = value == 2;
  EXPECT_TRUE(has_runs);
}

// reconcileinterval 0 is "at start only": a first run that failed (the link dump) is retried with
// backoff until one succeeds, and then there is none.
TEST_F(DockerReconcilerTest, AFailedFirstRunIsRetriedUntilOneSucceeds) {
  container(kEid, "10.1.0.7");
  engine_.networks[kNid] = {kEid};
  links_.fail_list = make_error(Errc::kUnavailable, "netlink down");
  make_reconciler(0s, 20ms);
  reconciler_->start();
  auto runs = [&](ReconcileResult r) { return reconciler_->counters().run_of(r); };
  spin([&] { return runs(ReconcileResult::kFailed) >= 2; });
  EXPECT_EQ(runs(ReconcileResult::kOk), 0u);
  links_.fail_list = Status();
  spin([&] { return runs(ReconcileResult::kOk) == 1; });
  uint64_t failed = runs(ReconcileResult::kFailed);
  auto until = std::chrono::steady_clock::now() + 500ms;
  spin([&] { return std::chrono::steady_clock::now() >= until; });
  EXPECT_EQ(runs(ReconcileResult::kOk), 1u);  // interval 0: no run after the one that succeeded
  EXPECT_EQ(runs(ReconcileResult::kFailed), failed);
  EXPECT_TRUE(links_.veths.count(host_veth(kEid)));  // Docker knows it: kept
}

// HttpDockerEngine against a fake dockerd on a unix socket: the list (with the driver filter),
// one network inspected, one gone meanwhile (404: dropped), one failing (500: uninspected).
TEST_F(DockerReconcilerTest, TheHttpEngineReadsDockersView) {
  const std::string kNid2 = "0ee0000000000000000000000000000000000000000000000000000000000002";
  const std::string kNid3 = "0ee0000000000000000000000000000000000000000000000000000000000003";
  std::filesystem::create_directories(dir_);
  std::string sock = (dir_ / "docker.sock").string();
  std::vector<std::string> targets;
  api::HttpSettings hs;
  hs.unix_path = sock;
  auto server =
      api::HttpServer::start(loop_.context(), hs, [&](const api::HttpRequest& r, api::HttpResponder respond) {
        targets.push_back(r.target);
        if (r.target.rfind("/v1.41/networks?", 0) == 0)
          return respond(api::HttpResponse{200,
                                           R"([{"Name":"a","Id":")" + kNid +
                                               R"(","Driver":"vlcp"},{"Name":"b","Id":")" + kNid2 +
                                               R"(","Driver":"vlcp"},{"Name":"c","Id":")" + kNid3 +
                                               R"(","Driver":"vlcp"},{"Name":"bridge","Id":")" +
                                               std::string(64, 'f') + R"(","Driver":"bridge"}])",
                                           "application/json"});
        if (r.target == "/v1.41/networks/" + kNid)
          return respond(api::HttpResponse{200,
                                           R"({"Name":"a","Id":")" + kNid +
                                               R"(","Driver":"vlcp","Containers":{"ab12":{"EndpointID":")" +
                                               kEid + R"("}}})",
                                           "application/json"});
        if (r.target == "/v1.41/networks/" + kNid2)
          return respond(api::HttpResponse{404, R"({"message":"network not found"})", "application/json"});
        respond(api::HttpResponse{500, R"({"message":"boom"})", "application/json"});
      });
  ASSERT_TRUE(server.ok()) << server.error().to_string();
  auto engine = HttpDockerEngine::make(loop_, "unix://" + sock);
  ASSERT_TRUE(engine.ok()) << engine.error().to_string();
  std::optional<std::pair<docker::DockerView, std::vector<std::string>>> got;
  (*engine)->fetch_view([&](docker::DockerView v, std::vector<std::string> log) { got.emplace(v, log); });
  spin([&] { return got.has_value(); });
  ASSERT_TRUE(got);
  const auto& v = got->first;
  EXPECT_TRUE(v.reachable);
  EXPECT_TRUE(v.knows_endpoint(kEid));
  EXPECT_TRUE(v.network_known(kNid));
  EXPECT_FALSE(v.lists_network(kNid2));  // 404: gone meanwhile
  EXPECT_TRUE(v.lists_network(kNid3));
  EXPECT_FALSE(v.network_known(kNid3));  // 500: its endpoints unknown
  EXPECT_FALSE(v.complete());
  EXPECT_EQ(v.networks.size(), 2u);
  EXPECT_EQ(got->second.size(), 1u);  // the 500 logged
  EXPECT_EQ(targets.size(), 4u);

  // Nobody on the socket: unreachable, with why.
  server->reset();
  got.reset();
  (*engine)->fetch_view([&](docker::DockerView v, std::vector<std::string> log) { got.emplace(v, log); });
  spin([&] { return got.has_value(); });
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->first.reachable);
  ASSERT_EQ(got->second.size(), 1u);
  EXPECT_FALSE(HttpDockerEngine::make(loop_, "docker.example:2375").ok());
}

TEST(DockerReconcilerViews, OvsdbViewIsTheBridgesInterfacesWithTheirOwner) {
  ovsdb::Replica r;
  r.bridges["br0"].ports = {"p1", "p2"};
  r.bridges["other"].ports = {"p3"};
  r.ports["p1"] = ovsdb::Port{"p1", {"p1"}, {}, -1};
  r.ports["p2"] = ovsdb::Port{"p2", {"p2"}, {}, -1};
  r.ports["p3"] = ovsdb::Port{"p3", {"p3"}, {}, -1};
  r.interfaces["p1"].external_ids["vlcp-owner"] = "docker:x";
  r.interfaces["p2"];
  r.interfaces["p3"].external_ids["vlcp-owner"] = "docker:y";
  OvsdbView v = ovsdb_view_of(r, "br0");
  ASSERT_EQ(v.interfaces.size(), 2u);
  EXPECT_EQ(v.interfaces[0].name, "p1");
  EXPECT_EQ(v.interfaces[0].owner, "docker:x");
  EXPECT_EQ(v.interfaces[1].owner, "");
  EXPECT_TRUE(ovsdb_view_of(r, "nope").interfaces.empty());
}

TEST(DockerReconcilerViews, TheTrackerHoldsARequestsIdsUntilItsAnswer) {
  InFlightTracker t;
  int answered = 0;
  auto a = t.track("/NetworkDriver.CreateEndpoint",
                   R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid +
                       R"(","Interface":{"Address":"","AddressIPv6":"","MacAddress":""},"Options":{}})",
                   [&](docker::Reply) { ++answered; });
  auto b = t.track("/NetworkDriver.DeleteNetwork", R"({"NetworkID":")" + kNid + R"("})",
                   [&](docker::Reply) { ++answered; });
  auto c = t.track("/Plugin.Activate", "{}", [&](docker::Reply) { ++answered; });  // names nothing
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.snapshot().endpoints, std::set<std::string>{kEid});
  EXPECT_EQ(t.snapshot().networks, std::set<std::string>{kNid});
  a(docker::Reply{});
  a(docker::Reply{});  // answered twice: released once
  EXPECT_TRUE(t.snapshot().endpoints.empty());
  EXPECT_EQ(t.snapshot().networks, std::set<std::string>{kNid});
  b(docker::Reply{});
  c(docker::Reply{});
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.snapshot().networks.empty());
  EXPECT_EQ(answered, 4);
}

}  // namespace
}  // namespace vlcp::containers
