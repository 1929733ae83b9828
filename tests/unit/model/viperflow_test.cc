// The viperflow model on the embedded store: VLCP's results and errors for physical and
// logical networks, allocation from ranges (also by two clients at once), and the WebAPI's
// parameter conventions.
#include "model/viperflow.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "api/webapi.h"
#include "base/clock.h"
#include "db/embedded.h"
#include "store_fixture.h"

namespace vlcp::model {
namespace {

using namespace std::chrono_literals;

class ViperFlowTest : public testing::StoreTest {
 protected:
  ViperFlowTest() : StoreTest("viperflow") {}
  // Runs one call to completion.
  Result<Json> call(std::function<void(ViperFlow&, Done)> fn, db::ObjectDb* db = nullptr) {
    ViperFlow vf(db ? *db : *db_);
    return wait<Json>([&](Done d) { fn(vf, std::move(d)); }, std::chrono::seconds(20));
  }
  Result<Json> create_phys(Json spec) {
    return call(
        [spec](ViperFlow& v, Done d) { v.create_physical_networks(Json::array({spec}), std::move(d)); });
  }
  Result<Json> create_log(Json spec) {
    return call(
        [spec](ViperFlow& v, Done d) { v.create_logical_networks(Json::array({spec}), std::move(d)); });
  }

  // Physical network pn (VLAN), logical network ln, and its subnet s.
  void network_with_subnet(const std::string& cidr, const std::string& gateway) {
    ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
    ASSERT_TRUE(create_log(Json{{"id", "ln"}, {"physicalnetwork", "pn"}}).ok());
    Json spec{{"id", "s"}, {"logicalnetwork", "ln"}, {"cidr", cidr}, {"gateway", gateway}};
    ASSERT_TRUE(
        call([spec](ViperFlow& v, Done d) { v.create_subnets(Json::array({spec}), std::move(d)); }).ok());
  }
};

TEST_F(ViperFlowTest, PhysicalNetworksAreValidatedAndDumpedAsVlcpDoes) {
  auto r = create_phys(Json{{"id", "pn1"},
                            {"type", "vlan"},
                            {"vlanrange", Json::parse("[[100,200],[300,400]]")},
                            {"name", "datacenter"}});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0]["_key"], "viperflow.physicalnetwork.pn1");
  EXPECT_EQ((*r)[0]["_type"], "vlcp.utils.networkmodel.PhysicalNetwork");
  EXPECT_EQ((*r)[0]["name"], "datacenter");  // unknown parameters are attributes
  EXPECT_EQ(create_phys(Json{{"id", "pn1"}, {"vlanrange", Json::parse("[[1,2]]")}}).status().code(),
            Errc::kAlreadyExists);
  for (const char* bad : {"[[0,10]]", "[[10,5000]]", "[[10,5]]", "[[10,20],[15,30]]", "[[30,40],[10,20]]",
                          "[]", "[[1]]", "\"100-200\""}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(create_phys(Json{{"id", "bad"}, {"vlanrange", Json::parse(bad)}}).status().code(),
              Errc::kInvalidArgument);
  }
  EXPECT_EQ(create_phys(Json{{"id", "x"}, {"type", "gre"}}).status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(create_phys(Json{{"id", "x"}, {"type", "vxlan"}}).status().code(), Errc::kInvalidArgument);
  EXPECT_TRUE(
      create_phys(Json{{"id", "vx"}, {"type", "vxlan"}, {"vnirange", Json::parse("[[1,16777215]]")}}).ok());
  EXPECT_TRUE(create_phys(Json{{"id", "nat"}, {"type", "native"}}).ok());
  auto listed = call([](ViperFlow& v, Done d) {
    v.list_physical_networks(Json{{"type", "vxlan"}}, std::move(d));
  });
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]["id"], "vx");
}

TEST_F(ViperFlowTest, LogicalNetworksAllocateFromTheRangesAndFreeOnDelete) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[100,101],[200,200]]")}}).ok());
  auto a = create_log(Json{{"id", "a"}, {"physicalnetwork", "pn"}});
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ((*a)[0]["vlanid"], 100);
  EXPECT_EQ((*a)[0]["physicalnetwork"]["_key"],
            "viperflow.physicalnetwork.pn");  // a strong reference, nested
  auto explicit_one =
      create_log(Json{{"id", "b"}, {"physicalnetwork", "pn"}, {"vlanid", "200"}, {"mtu", "1450"}});
  ASSERT_TRUE(explicit_one.ok()) << explicit_one.status().to_string();
  EXPECT_EQ((*explicit_one)[0]["vlanid"], 200);
  EXPECT_EQ((*explicit_one)[0]["mtu"], 1450);
  EXPECT_EQ(create_log(Json{{"id", "c"}, {"physicalnetwork", "pn"}, {"vlanid", 200}}).status().code(),
            Errc::kConflict);
  EXPECT_EQ(create_log(Json{{"id", "c"}, {"physicalnetwork", "pn"}, {"vlanid", 150}}).status().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ((*create_log(Json{{"id", "c"}, {"physicalnetwork", "pn"}}))[0]["vlanid"], 101);
  auto full = create_log(Json{{"id", "d"}, {"physicalnetwork", "pn"}});
  EXPECT_EQ(full.status().code(), Errc::kConflict) << "the client's problem: a 409, not a 500";
  EXPECT_NE(full.status().message().find("has no free vlanid"), std::string::npos) << full.status().message();
  EXPECT_EQ(create_log(Json{{"id", "e"}, {"physicalnetwork", "nope"}}).status().code(), Errc::kNotFound);
  // The physical network cannot go while it has logical networks, nor shrink below them.
  auto del_phys = [&] {
    return call([](ViperFlow& v, Done d) {
      v.delete_physical_networks(Json::array({Json{{"id", "pn"}}}), std::move(d));
    });
  };
  EXPECT_EQ(del_phys().status().code(), Errc::kConflict);
  auto shrink = call([](ViperFlow& v, Done d) {
    v.update_physical_networks(Json::array({Json{{"id", "pn"}, {"vlanrange", Json::parse("[[100,101]]")}}}),
                               std::move(d));
  });
  EXPECT_EQ(shrink.status().code(), Errc::kConflict);
  // Deleting frees the id for the next one.
  auto del = call([](ViperFlow& v, Done d) {
    v.delete_logical_networks(Json::array({Json{{"id", "a"}}}), std::move(d));
  });
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(*del, (Json{{"status", "OK"}}));
  EXPECT_EQ((*create_log(Json{{"id", "f"}, {"physicalnetwork", "pn"}}))[0]["vlanid"], 100);
  for (const char* id : {"b", "c", "f"}) {
    auto r = call([id](ViperFlow& v, Done d) {
      v.delete_logical_networks(Json::array({Json{{"id", id}}}), std::move(d));
    });
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }
  EXPECT_TRUE(del_phys().ok());
  auto empty = call([](ViperFlow& v, Done d) { v.list_logical_networks(Json::object(), std::move(d)); });
  EXPECT_EQ(*empty, Json::array());
}

TEST_F(ViperFlowTest, ABatchIsOneTransaction) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  // The second network is bad: neither is created.
  auto r = call([](ViperFlow& v, Done d) {
    v.create_logical_networks(Json::parse(R"([{"id": "x", "physicalnetwork": "pn"},
                                              {"id": "y", "physicalnetwork": "pn", "vlanid": 99}])"),
                              std::move(d));
  });
  EXPECT_EQ(r.status().code(), Errc::kInvalidArgument);
  auto listed = call([](ViperFlow& v, Done d) { v.list_logical_networks(Json::object(), std::move(d)); });
  EXPECT_EQ(*listed, Json::array());
  // Explicit ids are allocated first: the automatic one does not take 10 from the explicit one.
  auto ok = call([](ViperFlow& v, Done d) {
    v.create_logical_networks(Json::parse(R"([{"id": "auto", "physicalnetwork": "pn"},
                                              {"id": "ten", "physicalnetwork": "pn", "vlanid": 10}])"),
                              std::move(d));
  });
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  std::map<std::string, int> got;
  for (const auto& n : *ok) got[n["id"]] = n["vlanid"];
  EXPECT_EQ(got["ten"], 10);
  EXPECT_EQ(got["auto"], 11);
}

// Two clients allocating from one physical network at once never get the same VLAN.
TEST_F(ViperFlowTest, ConcurrentAllocationsNeverCollide) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[1,100]]")}}).ok());
  int done = 0;
  std::vector<int> vlans;
  std::vector<std::unique_ptr<ViperFlow>> vfs;
  vfs.push_back(std::make_unique<ViperFlow>(*db_));
  vfs.push_back(std::make_unique<ViperFlow>(*db2_));
  for (int i = 0; i < 40; ++i)
    vfs[i % 2]->create_logical_networks(Json::array({Json{{"physicalnetwork", "pn"}}}), [&](Result<Json> r) {
      ++done;
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      vlans.push_back((*r)[0]["vlanid"]);
    });
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (done < 40 && std::chrono::steady_clock::now() < deadline)
    if (!loop_.run_pending()) std::this_thread::sleep_for(100us);
  ASSERT_EQ(done, 40);
  std::sort(vlans.begin(), vlans.end());
  EXPECT_EQ(std::adjacent_find(vlans.begin(), vlans.end()), vlans.end()) << "a VLAN was allocated twice";
  EXPECT_EQ(vlans.back(), 40);
}

TEST_F(ViperFlowTest, SubnetsValidateTheirAddresses) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "ln"}, {"physicalnetwork", "pn"}}).ok());
  auto sub = [&](Json spec) {
    if (!spec.contains("logicalnetwork")) spec["logicalnetwork"] = "ln";
    return call([spec](ViperFlow& v, Done d) { v.create_subnets(Json::array({spec}), std::move(d)); });
  };
  for (Json bad :
       {Json{{"cidr", "10.0.0.0/33"}}, Json{{"cidr", "10.0.0.1/24"}}, Json{{"cidr", "nope"}},
        Json{{"cidr", "10.0.0.0/24"}, {"gateway", "10.0.1.1"}},
        Json{{"cidr", "10.0.0.0/24"}, {"allocated_start", "10.0.0.200"}, {"allocated_end", "10.0.0.100"}},
        Json{{"cidr", "10.0.0.0/24"}, {"host_routes", Json::parse(R"([["10.1.0.0/16"]])")}},
        Json::object()}) {
    SCOPED_TRACE(bad.dump());
    EXPECT_EQ(sub(bad).status().code(), Errc::kInvalidArgument);
  }
  auto ok = sub(Json{{"id", "s1"}, {"cidr", "10.0.0.0/24"}, {"gateway", "10.0.0.1"}});
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)[0]["allocated_start"], "10.0.0.1");
  EXPECT_EQ((*ok)[0]["allocated_end"], "10.0.0.254");
  EXPECT_EQ((*ok)[0]["network"]["_key"], "viperflow.logicnetwork.ln");
  EXPECT_EQ(sub(Json{{"id", "s2"}, {"logicalnetwork", "nope"}, {"cidr", "10.0.0.0/24"}}).status().code(),
            Errc::kNotFound);
  // The logical network cannot go while it has the subnet.
  auto del = call([](ViperFlow& v, Done d) {
    v.delete_logical_networks(Json::array({Json{{"id", "ln"}}}), std::move(d));
  });
  EXPECT_EQ(del.status().code(), Errc::kConflict);
}

TEST_F(ViperFlowTest, LogicalPortsTakeAddressesAndKeepMacAndIpUniquePerNetwork) {
  network_with_subnet("192.168.1.0/29", "192.168.1.1");
  auto port = [&](Json spec) {
    spec["logicalnetwork"] = "ln";
    return call([spec](ViperFlow& v, Done d) { v.create_logical_ports(Json::array({spec}), std::move(d)); });
  };
  auto p1 = port(Json{{"id", "p1"}, {"subnet", "s"}, {"mac_address", "02:00:00:00:00:01"}});
  ASSERT_TRUE(p1.ok()) << p1.status().to_string();
  EXPECT_EQ((*p1)[0]["ip_address"], "192.168.1.2");  // the gateway is skipped
  EXPECT_EQ((*p1)[0]["network"]["_key"], "viperflow.logicnetwork.ln");
  EXPECT_EQ(port(Json{{"id", "p2"}, {"subnet", "s"}, {"mac_address", "02:00:00:00:00:01"}}).status().code(),
            Errc::kAlreadyExists);  // the same MAC in the same network
  EXPECT_EQ(port(Json{{"id", "p2"}, {"subnet", "s"}, {"ip_address", "192.168.1.2"}}).status().code(),
            Errc::kConflict);
  EXPECT_EQ(port(Json{{"id", "p2"}, {"subnet", "s"}, {"ip_address", "192.168.1.1"}}).status().code(),
            Errc::kInvalidArgument);  // the gateway
  EXPECT_EQ(port(Json{{"id", "p2"}, {"subnet", "s"}, {"ip_address", "192.168.2.3"}}).status().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(port(Json{{"id", "p2"}, {"mac_address", "02:00:00:00:00"}}).status().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ((*port(Json{{"id", "p2"}, {"subnet", "s"}, {"ip_address", "192.168.1.6"}}))[0]["ip_address"],
            "192.168.1.6");
  for (const char* id : {"p3", "p4", "p5"}) ASSERT_TRUE(port(Json{{"id", id}, {"subnet", "s"}}).ok()) << id;
  auto no_address = port(Json{{"id", "p6"}, {"subnet", "s"}});
  EXPECT_EQ(no_address.status().code(), Errc::kConflict) << "the client's problem: a 409, not a 500";
  EXPECT_NE(no_address.status().message().find("has no free address"), std::string::npos);
  auto subnet_del = call([](ViperFlow& v, Done d) {
    v.delete_subnets(Json::array({Json{{"id", "s"}}}), std::move(d));
  });
  EXPECT_EQ(subnet_del.status().code(), Errc::kConflict);
  // Deleting a port frees its address and its MAC.
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.delete_logical_ports(Json::array({Json{{"id", "p1"}}}), std::move(d));
              }).ok());
  auto again = port(Json{{"id", "p7"}, {"subnet", "s"}, {"mac_address", "02:00:00:00:00:01"}});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)[0]["ip_address"], "192.168.1.2");
  auto listed = call([](ViperFlow& v, Done d) {
    v.list_logical_ports(Json{{"logicalnetwork", "ln"}}, std::move(d));
  });
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 5u);
  auto twice = call([](ViperFlow& v, Done d) {
    v.create_logical_ports(
        Json::parse(R"([{"id": "t", "logicalnetwork": "ln"}, {"id": "t", "logicalnetwork": "ln"}])"),
        std::move(d));
  });
  EXPECT_EQ(twice.status().code(), Errc::kInvalidArgument) << "one id twice in a batch";
  auto by_subnet = call([](ViperFlow& v, Done d) {
    v.list_logical_ports(Json{{"subnet", "s"}}, std::move(d));
  });
  ASSERT_TRUE(by_subnet.ok());
  EXPECT_EQ(by_subnet->size(), 5u) << "a reference filters by the referenced id too";
}

// Two clients taking addresses from one subnet at once never get the same one.
// The store's read rounds, counted in front of the embedded store (on ZooKeeper each is a round
// trip).
class CountingStore : public db::Store {
 public:
  explicit CountingStore(db::Store& s) : s_(s) {}
  void read(std::vector<std::string> keys, bool with_time,
            std::function<void(Result<db::Snapshot>)> done) override {
    ++reads;
    s_.read(std::move(keys), with_time, std::move(done));
  }
  void commit(db::Commit c, std::function<void(Result<db::Committed>)> done) override {
    s_.commit(std::move(c), std::move(done));
  }
  void list(std::string prefix, std::function<void(Result<std::vector<std::string>>)> done) override {
    s_.list(std::move(prefix), std::move(done));
  }
  uint64_t watch(std::function<void(const db::Change&)> on_change) override {
    return s_.watch(std::move(on_change));
  }
  void unwatch(uint64_t id) override { s_.unwatch(id); }
  bool connected() const override { return s_.connected(); }
  std::string describe() const override { return s_.describe(); }
  int reads = 0;

 private:
  db::Store& s_;
};

TEST_F(ViperFlowTest, APortCreateReadsTheStoreOnce) {
  network_with_subnet("192.168.1.0/24", "192.168.1.1");
  CountingStore counting(*store_);
  db::ObjectDb db(loop_, counting);
  declare_indices(db);
  ViperFlow vf(db);  // one instance, as vlcpd keeps one: its address hints persist
  auto port = [&](Json spec) {
    spec["logicalnetwork"] = "ln";
    counting.reads = 0;
    std::optional<Result<Json>> r;
    vf.create_logical_ports(Json::array({spec}), [&](Result<Json> x) { r = std::move(x); });
    for (auto deadline = std::chrono::steady_clock::now() + 20s;
         !r && std::chrono::steady_clock::now() < deadline;)
      if (!loop_.run_pending()) std::this_thread::sleep_for(100us);
    EXPECT_TRUE(r && r->ok()) << (r ? r->status().to_string() : "no answer");
    return counting.reads;
  };
  // An explicit address (as an orchestrator gives it) and, once the node knows the subnet's
  // addresses, an automatic one: one read round each, then the commit.
  EXPECT_EQ(port(Json{{"id", "p1"},
                      {"subnet", "s"},
                      {"ip_address", "192.168.1.9"},
                      {"mac_address", "02:00:00:00:00:01"}}),
            1);
  port(Json{{"id", "p2"}, {"subnet", "s"}});
  EXPECT_EQ(port(Json{{"id", "p3"}, {"subnet", "s"}, {"mac_address", "02:00:00:00:00:03"}}), 1);
}

TEST_F(ViperFlowTest, ConcurrentAddressAllocationsNeverCollide) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "ln"}, {"physicalnetwork", "pn"}}).ok());
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.create_subnets(
                    Json::parse(R"([{"id": "s", "logicalnetwork": "ln", "cidr": "10.1.0.0/24"}])"),
                    std::move(d));
              }).ok());
  int done = 0;
  std::vector<std::string> ips;
  ViperFlow a(*db_), b(*db2_);
  for (int i = 0; i < 40; ++i)
    (i % 2 ? a : b)
        .create_logical_ports(Json::array({Json{{"logicalnetwork", "ln"}, {"subnet", "s"}}}),
                              [&](Result<Json> r) {
                                ++done;
                                ASSERT_TRUE(r.ok()) << r.status().to_string();
                                ips.push_back((*r)[0]["ip_address"]);
                              });
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (done < 40 && std::chrono::steady_clock::now() < deadline)
    if (!loop_.run_pending()) std::this_thread::sleep_for(100us);
  ASSERT_EQ(done, 40);
  std::sort(ips.begin(), ips.end());
  EXPECT_EQ(std::adjacent_find(ips.begin(), ips.end()), ips.end()) << "an address was allocated twice";
}

// One node's creates run concurrently without conflicting (each gets its own candidate
// address), wrap around a full pool to the addresses freed meanwhile, and report exhaustion.
TEST_F(ViperFlowTest, OneNodesConcurrentCreatesTakeDistinctAddressesAndWrapAround) {
  network_with_subnet("10.3.0.0/27", "10.3.0.1");
  ViperFlow node(*db_);
  auto create_all = [&](int n) {
    std::vector<Result<Json>> results;
    for (int i = 0; i < n; ++i)
      node.create_logical_ports(Json::array({Json{{"logicalnetwork", "ln"}, {"subnet", "s"}}}),
                                [&](Result<Json> r) { results.push_back(std::move(r)); });
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (static_cast<int>(results.size()) < n && std::chrono::steady_clock::now() < deadline)
      if (!loop_.run_pending()) std::this_thread::sleep_for(100us);
    return results;
  };
  uint64_t conflicts_before = db_->stats().conflicts;
  auto first = create_all(29);  // the pool: .2 - .30
  std::set<std::string> ips;
  for (auto& r : first) {
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ips.insert((*r)[0]["ip_address"].get<std::string>());
  }
  EXPECT_EQ(ips.size(), 29u);
  EXPECT_EQ(db_->stats().conflicts, conflicts_before) << "one node's creates never conflict";
  auto full = create_all(1);
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].status().code(), Errc::kConflict) << full[0].status().to_string();
  // Two ports go; the node's next creates find exactly their addresses.
  std::set<std::string> freed;
  for (int i : {4, 17}) {
    freed.insert((*first[i])[0]["ip_address"].get<std::string>());
    std::string id = (*first[i])[0]["id"];
    ASSERT_TRUE(call([id](ViperFlow& v, Done d) {
                  v.delete_logical_ports(Json::array({Json{{"id", id}}}), std::move(d));
                }).ok());
  }
  std::set<std::string> again;
  for (auto& r : create_all(2)) {
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    again.insert((*r)[0]["ip_address"].get<std::string>());
  }
  EXPECT_EQ(again, freed);
}

// Deleting a subnet while ports are being created in it: either the delete is refused or no
// port is left pointing at the deleted subnet (the fence closes the race).
TEST_F(ViperFlowTest, SubnetDeleteRacingPortCreatesLeavesNoOrphans) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "ln"}, {"physicalnetwork", "pn"}}).ok());
  for (int round = 0; round < 6; ++round) {
    std::string sid = "s" + std::to_string(round);
    ASSERT_TRUE(call([sid](ViperFlow& v, Done d) {
                  v.create_subnets(Json::array({Json{{"id", sid},
                                                     {"logicalnetwork", "ln"},
                                                     {"cidr", "10.9." + sid.substr(1) + ".0/24"}}}),
                                   std::move(d));
                }).ok());
    ViperFlow a(*db_), b(*db2_);
    int issued = 0, done = 0;
    std::optional<Result<Json>> deleted;
    auto create = [&] {
      ++issued;
      a.create_logical_ports(Json::array({Json{{"logicalnetwork", "ln"}, {"subnet", sid}}}),
                             [&](Result<Json>) { ++done; });
    };
    for (int i = 0; i < round; ++i) create();
    b.delete_subnets(Json::array({Json{{"id", sid}}}), [&](Result<Json> r) { deleted = r; });
    // Creates keep arriving, one per turn of the loop, while the delete is under way.
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while ((done < issued || !deleted) && std::chrono::steady_clock::now() < deadline) {
      if (!deleted) create();
      if (!loop_.run_pending()) std::this_thread::sleep_for(50us);
    }
    ASSERT_TRUE(deleted.has_value());
    auto listed = call([](ViperFlow& v, Done d) { v.list_logical_ports(Json::object(), std::move(d)); });
    ASSERT_TRUE(listed.ok());
    auto subnet = call([sid](ViperFlow& v, Done d) { v.list_subnets(Json{{"id", sid}}, std::move(d)); });
    if (deleted->ok()) {
      EXPECT_TRUE(subnet->empty());
      for (const auto& p : *listed)
        EXPECT_NE(p["subnet"], Json("viperflow.subnet." + sid)) << "a port outlived its subnet";
    } else {
      EXPECT_EQ(deleted->status().code(), Errc::kConflict) << deleted->status().to_string();
      EXPECT_EQ(subnet->size(), 1u);
    }
  }
}

TEST_F(ViperFlowTest, SubnetsOfOneNetworkDoNotOverlap) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "ln"}, {"physicalnetwork", "pn"}}).ok());
  auto subnet = [&](std::string id, std::string cidr) {
    return call([id, cidr](ViperFlow& v, Done d) {
      v.create_subnets(Json::array({Json{{"id", id}, {"logicalnetwork", "ln"}, {"cidr", cidr}}}),
                       std::move(d));
    });
  };
  ASSERT_TRUE(subnet("a", "10.5.0.0/16").ok());
  EXPECT_EQ(subnet("b", "10.5.3.0/24").status().code(), Errc::kConflict);
  EXPECT_EQ(subnet("c", "10.0.0.0/8").status().code(), Errc::kConflict);
  EXPECT_TRUE(subnet("d", "10.6.0.0/16").ok());
}

TEST_F(ViperFlowTest, UpdatesKeepPoolsAndAddressesConsistent) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "ln"}, {"physicalnetwork", "pn"}}).ok());
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.create_subnets(
                    Json::parse(R"([{"id": "s", "logicalnetwork": "ln", "cidr": "10.2.0.0/24"}])"),
                    std::move(d));
              }).ok());
  auto p = call([](ViperFlow& v, Done d) {
    v.create_logical_ports(Json::parse(R"([{"id": "p", "logicalnetwork": "ln", "subnet": "s",
                                            "ip_address": "10.2.0.50"}])"),
                           std::move(d));
  });
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  auto update_subnet = [&](Json spec) {
    spec["id"] = "s";
    return call([spec](ViperFlow& v, Done d) { v.update_subnets(Json::array({spec}), std::move(d)); });
  };
  EXPECT_EQ(update_subnet(Json{{"allocated_end", "10.2.0.40"}}).status().code(),
            Errc::kConflict);  // .50 is used
  EXPECT_EQ(update_subnet(Json{{"gateway", "10.2.0.50"}}).status().code(), Errc::kConflict);
  EXPECT_EQ(update_subnet(Json{{"isexternal", true}}).status().code(), Errc::kInvalidArgument);
  auto ok = update_subnet(Json{{"gateway", "10.2.0.1"}, {"dns_nameservers", Json::array({"10.2.0.2"})}});
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)[0]["gateway"], "10.2.0.1");
  // A pool change fenced the subnet (and lifted the fence); a DNS-only change does not fence.
  auto fence_version = [&] {
    std::optional<Result<std::map<std::string, db::Record>>> r;
    std::string key = "viperflow.fence." + db::escape_key_part("viperflow.subnet.s");
    db_->get({key}, [&](auto x) { r = std::move(x); });
    while (!r) loop_.run_pending();
    return (**r)[key].exists() ? ~uint64_t{0} : (**r)[key].version;
  };
  uint64_t after_pool_change = fence_version();
  EXPECT_GT(after_pool_change, 0u);
  ASSERT_TRUE(update_subnet(Json{{"dns_nameservers", Json::array({"10.2.0.3"})}}).ok());
  EXPECT_EQ(fence_version(), after_pool_change);
  auto update_port = [&](Json spec) {
    spec["id"] = "p";
    return call([spec](ViperFlow& v, Done d) { v.update_logical_ports(Json::array({spec}), std::move(d)); });
  };
  EXPECT_EQ(update_port(Json{{"ip_address", "10.2.0.1"}}).status().code(),
            Errc::kInvalidArgument);  // the gateway
  auto moved = update_port(Json{{"ip_address", "10.2.0.60"}, {"hostname", "web1"}});
  ASSERT_TRUE(moved.ok()) << moved.status().to_string();
  EXPECT_EQ((*moved)[0]["hostname"], "web1");
  // The old address is free again, the new one taken.
  auto q = call([](ViperFlow& v, Done d) {
    v.create_logical_ports(
        Json::parse(R"([{"id": "q", "logicalnetwork": "ln", "subnet": "s", "ip_address": "10.2.0.50"}])"),
        std::move(d));
  });
  EXPECT_TRUE(q.ok()) << q.status().to_string();
  EXPECT_EQ(update_port(Json{{"subnet", "other"}}).status().code(), Errc::kInvalidArgument);
}

TEST_F(ViperFlowTest, PhysicalPortsNameServersAndBridgesWithWildcards) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(create_phys(Json{{"id", "loc"}, {"type", "local"}}).ok());
  auto port = [&](Json spec) {
    return call([spec](ViperFlow& v, Done d) { v.create_physical_ports(Json::array({spec}), std::move(d)); });
  };
  auto any = port(Json{{"name", "eth1"}, {"physicalnetwork", "pn"}});
  ASSERT_TRUE(any.ok()) << any.status().to_string();
  EXPECT_EQ((*any)[0]["_key"], "viperflow.physicalport..%.%.eth1");  // vhost '', any server, any bridge
  EXPECT_EQ((*any)[0]["physicalnetwork"]["_key"], "viperflow.physicalnetwork.pn");
  EXPECT_TRUE(
      port(Json{{"name", "eth1"}, {"systemid", "host-a"}, {"bridge", "br0"}, {"physicalnetwork", "pn"}})
          .ok());
  EXPECT_EQ(port(Json{{"name", "eth1"}, {"physicalnetwork", "pn"}}).status().code(), Errc::kAlreadyExists);
  EXPECT_EQ(port(Json{{"name", "eth2"}, {"physicalnetwork", "loc"}}).status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(port(Json{{"name", "eth2"}, {"physicalnetwork", "nope"}}).status().code(), Errc::kNotFound);
  auto by_name = call([](ViperFlow& v, Done d) {
    v.list_physical_ports(Json{{"name", "eth1"}}, std::move(d));
  });
  ASSERT_TRUE(by_name.ok());
  ASSERT_EQ(by_name->size(), 1u);  // the exact one: systemid '%', bridge '%'
  auto in_net = call([](ViperFlow& v, Done d) {
    v.list_physical_ports(Json{{"physicalnetwork", "pn"}}, std::move(d));
  });
  EXPECT_EQ(in_net->size(), 2u);
  // Binding picks the most specific declaration: host-a's br0 has its own, others the default.
  auto find = [&](const char* systemid, const char* bridge) {
    return call(
        [=](ViperFlow& v, Done d) { v.find_physical_port("", systemid, bridge, "eth1", std::move(d)); });
  };
  EXPECT_EQ((*find("host-a", "br0"))["_key"], "viperflow.physicalport..host-a.br0.eth1");
  EXPECT_EQ((*find("host-a", "br1"))["_key"], "viperflow.physicalport..%.%.eth1");
  EXPECT_EQ((*find("host-b", "br0"))["_key"], "viperflow.physicalport..%.%.eth1");
  EXPECT_TRUE(call([](ViperFlow& v, Done d) {
                v.find_physical_port("", "h", "b", "eth9", std::move(d));
              })->is_null());
  // The physical network cannot go while it has ports.
  auto del_net = [&] {
    return call([](ViperFlow& v, Done d) {
      v.delete_physical_networks(Json::array({Json{{"id", "pn"}}}), std::move(d));
    });
  };
  EXPECT_EQ(del_net().status().code(), Errc::kConflict);
  for (Json w : {Json{{"name", "eth1"}}, Json{{"name", "eth1"}, {"systemid", "host-a"}, {"bridge", "br0"}}})
    ASSERT_TRUE(
        call([w](ViperFlow& v, Done d) { v.delete_physical_ports(Json::array({w}), std::move(d)); }).ok());
  EXPECT_TRUE(del_net().ok());
}

TEST_F(ViperFlowTest, RoutersJoinSubnetsThroughInterfaces) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "ln"}, {"physicalnetwork", "pn"}}).ok());
  ASSERT_TRUE(
      call([](ViperFlow& v, Done d) {
        v.create_subnets(
            Json::parse(
                R"([{"id": "gw", "logicalnetwork": "ln", "cidr": "10.3.0.0/24", "gateway": "10.3.0.1"},
                                                 {"id": "nogw", "logicalnetwork": "ln", "cidr": "10.4.0.0/24"}])"),
            std::move(d));
      }).ok());
  auto routers = [&](std::function<void(ViperFlow&, Done)> fn) { return call(std::move(fn)); };
  EXPECT_EQ(routers([](ViperFlow& v, Done d) {
              v.create_routers(Json::parse(R"([{"id": "r", "routes": [["10.9.0.0/16"]]}])"), std::move(d));
            })
                .status()
                .code(),
            Errc::kInvalidArgument);
  ASSERT_TRUE(routers([](ViperFlow& v, Done d) {
                v.create_routers(
                    Json::parse(R"([{"id": "r1", "routes": [["10.9.0.0/16", "10.3.0.254"]]}, {"id": "r2"}])"),
                    std::move(d));
              }).ok());
  auto add = [&](Json spec) {
    return call([spec](ViperFlow& v, Done d) { v.add_router_interfaces(Json::array({spec}), std::move(d)); });
  };
  auto a = add(Json{{"router", "r1"}, {"subnet", "gw"}});
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(add(Json{{"router", "r2"}, {"subnet", "gw"}}).status().code(),
            Errc::kConflict);  // one router per subnet
  EXPECT_EQ(add(Json{{"router", "r2"}, {"subnet", "nogw"}}).status().code(),
            Errc::kInvalidArgument);  // no gateway
  auto b = add(Json{{"router", "r2"}, {"subnet", "nogw"}, {"ip_address", "10.4.0.9"}});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  // The router's address is taken from the pool: a port cannot have it.
  auto port = call([](ViperFlow& v, Done d) {
    v.create_logical_ports(
        Json::parse(R"([{"logicalnetwork": "ln", "subnet": "nogw", "ip_address": "10.4.0.9"}])"),
        std::move(d));
  });
  EXPECT_EQ(port.status().code(), Errc::kConflict);
  auto listed = call([](ViperFlow& v, Done d) {
    v.list_router_interfaces(Json{{"id", "r2"}}, std::move(d));
  });
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]["ip_address"], "10.4.0.9");
  EXPECT_EQ(
      routers([](ViperFlow& v, Done d) { v.delete_routers(Json::parse(R"([{"id": "r1"}])"), std::move(d)); })
          .status()
          .code(),
      Errc::kConflict);  // it still has an interface
  auto subnet_del =
      call([](ViperFlow& v, Done d) { v.delete_subnets(Json::parse(R"([{"id": "gw"}])"), std::move(d)); });
  EXPECT_EQ(subnet_del.status().code(), Errc::kConflict);  // attached to a router
  for (Json i : {Json{{"router", "r1"}, {"subnet", "gw"}}, Json{{"router", "r2"}, {"subnet", "nogw"}}})
    ASSERT_TRUE(
        call([i](ViperFlow& v, Done d) { v.remove_router_interfaces(Json::array({i}), std::move(d)); }).ok());
  EXPECT_TRUE(routers([](ViperFlow& v, Done d) {
                v.delete_routers(Json::parse(R"([{"id": "r1"}, {"id": "r2"}])"), std::move(d));
              }).ok());
  EXPECT_TRUE(call([](ViperFlow& v, Done d) {
                v.delete_subnets(Json::parse(R"([{"id": "gw"}, {"id": "nogw"}])"), std::move(d));
              }).ok());
}

// DHCP and DNS options, and an external subnet's per-host configuration, are checked where
// they enter: a bad one is a 400 that names it; good ones come back normalised.
TEST_F(ViperFlowTest, DhcpDnsOptionsAndPreHostConfigAreValidated) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  auto net = create_log(Json{{"id", "ln"},
                             {"physicalnetwork", "pn"},
                             {"mtu", "1450"},
                             {"dns_nameservers", Json::array({"10.0.0.2", "10.0.0.3"})},
                             {"domain_name", "cluster.example.com"},
                             {"lease_time", "infinite"},
                             {"extra_dhcp_options", Json::parse(R"([[42, "10.0.0.9"], ["15", "corp"]])")}});
  ASSERT_TRUE(net.ok()) << net.status().to_string();
  EXPECT_EQ((*net)[0]["mtu"], 1450);
  EXPECT_EQ((*net)[0]["extra_dhcp_options"], Json::parse(R"({"42": "10.0.0.9", "15": "corp"})"));
  struct Bad {
    Json spec;
    const char* names;
  };
  for (const auto& [spec, names] : std::vector<Bad>{
           {{{"mtu", 40}}, "mtu"},
           {{{"mtu", "big"}}, "mtu"},
           {{{"lease_time", 5}}, "lease_time"},
           {{{"dns_nameservers", "10.0.0.2"}}, "dns_nameservers"},
           {{{"ntp_servers", Json::array({"ntp.example.com"})}}, "ntp_servers"},
           {{{"domain_name", "bad_name.example"}}, "domain_name"},
           {{{"domain_name", "-x.example"}}, "domain_name"},
           {{{"extra_dhcp_options", Json::parse(R"({"300": "x"})")}}, "extra_dhcp_options"},
           {{{"extra_dhcp_options", Json::parse(R"([[1]])")}}, "extra_dhcp_options"},
           {{{"extra_dhcp_options", Json::parse(R"({"3": {"a": 1}})")}}, "extra_dhcp_options"},
       }) {
    Json s = spec;
    s["physicalnetwork"] = "pn";
    auto r = create_log(s);
    EXPECT_EQ(r.status().code(), Errc::kInvalidArgument) << spec.dump();
    EXPECT_NE(r.status().message().find(names), std::string::npos) << r.status().message();
  }
  auto subnet = [&](Json spec) {
    spec["logicalnetwork"] = "ln";
    return call([spec](ViperFlow& v, Done d) { v.create_subnets(Json::array({spec}), std::move(d)); });
  };
  Json ext{{"id", "ext"},
           {"cidr", "203.0.113.0/24"},
           {"isexternal", true},
           {"pre_host_config", Json::parse(R"([{"systemid": "hv1", "bridge": "br0", "vhost": "",
                                              "local_address": "203.0.113.10", "gateway": "203.0.113.1"}])")}};
  auto ok = subnet(ext);
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  for (const char* bad :
       {R"([{"local_address": "198.51.100.7"}])", R"([{"gateway": "x"}])", R"([{"colour": "red"}])",
        R"({"systemid": "hv1"})", R"([{"cidr": "198.51.100.0/33"}])"}) {
    Json s = ext;
    s["id"] = "ext2";
    s["cidr"] = "203.0.114.0/24";
    s["pre_host_config"] = Json::parse(bad);
    EXPECT_EQ(subnet(s).status().code(), Errc::kInvalidArgument) << bad;
  }
  auto port = call([](ViperFlow& v, Done d) {
    v.create_logical_ports(Json::parse(R"([{"logicalnetwork": "ln", "hostname": "web 1"}])"), std::move(d));
  });
  EXPECT_EQ(port.status().code(), Errc::kInvalidArgument);
}

// MACs are stored in one spelling, so the (network, MAC) unique index sees letter case as the
// same address; a port cannot have a broadcast, multicast or all-zero MAC.
TEST_F(ViperFlowTest, MacsAreNormalisedAndMustBeUnicast) {
  network_with_subnet("10.7.0.0/24", "10.7.0.1");
  auto port = [&](Json spec) {
    spec["logicalnetwork"] = "ln";
    return call([spec](ViperFlow& v, Done d) { v.create_logical_ports(Json::array({spec}), std::move(d)); });
  };
  auto upper = port(Json{{"id", "up"}, {"mac_address", "02:00:00:00:00:0A"}});
  ASSERT_TRUE(upper.ok()) << upper.status().to_string();
  EXPECT_EQ((*upper)[0]["mac_address"], "02:00:00:00:00:0a");
  EXPECT_EQ(port(Json{{"id", "low"}, {"mac_address", "02:00:00:00:00:0a"}}).status().code(),
            Errc::kAlreadyExists);
  EXPECT_EQ(port(Json{{"id", "dash"}, {"mac_address", "02-00-00-00-00-0a"}}).status().code(),
            Errc::kAlreadyExists);
  auto batch = call([](ViperFlow& v, Done d) {
    v.create_logical_ports(
        Json::parse(R"([{"id": "b1", "logicalnetwork": "ln", "mac_address": "02:00:00:00:00:BB"},
                                          {"id": "b2", "logicalnetwork": "ln", "mac_address": "02:00:00:00:00:bb"}])"),
        std::move(d));
  });
  EXPECT_EQ(batch.status().code(), Errc::kAlreadyExists) << "one MAC twice in a batch, by case";
  for (const char* bad : {"ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "33:33:00:00:00:01", "00:00:00:00:00:00",
                          "02:00:00:00:00:0g", "02:00:00:00:00:0a:", "02:00-00:00:00:01"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(port(Json{{"id", "bad"}, {"mac_address", bad}}).status().code(), Errc::kInvalidArgument);
  }
  // Updates too: normalised, unicast, unique by any spelling.
  ASSERT_TRUE(port(Json{{"id", "other"}, {"mac_address", "02:00:00:00:00:0c"}}).ok());
  auto update = [&](Json spec) {
    return call([spec](ViperFlow& v, Done d) { v.update_logical_ports(Json::array({spec}), std::move(d)); });
  };
  EXPECT_EQ(update(Json{{"id", "other"}, {"mac_address", "02:00:00:00:00:0A"}}).status().code(),
            Errc::kAlreadyExists);
  EXPECT_EQ(update(Json{{"id", "other"}, {"mac_address", "FF:FF:FF:FF:FF:FF"}}).status().code(),
            Errc::kInvalidArgument);
  auto same = update(Json{{"id", "other"}, {"mac_address", "02:00:00:00:00:0C"}});
  ASSERT_TRUE(same.ok()) << same.status().to_string();
  EXPECT_EQ((*same)[0]["mac_address"], "02:00:00:00:00:0c");
  auto found = call([](ViperFlow& v, Done d) {
    v.list_logical_ports(Json{{"mac_address", "02:00:00:00:00:0A"}}, std::move(d));
  });
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u) << "a filter in any spelling";
  EXPECT_EQ((*found)[0]["id"], "up");
  // Addresses come back in their canonical spelling.
  auto s2 = call([](ViperFlow& v, Done d) {
    v.create_subnets(Json::parse(R"([{"id": "s2", "logicalnetwork": "ln", "cidr": "10.8.0.0/24",
                                      "host_routes": [["10.9.1.7/16", "10.8.0.254"]],
                                      "dns_nameservers": ["10.8.0.2"]}])"),
                     std::move(d));
  });
  ASSERT_TRUE(s2.ok()) << s2.status().to_string();
  EXPECT_EQ((*s2)[0]["host_routes"], Json::parse(R"([["10.9.0.0/16", "10.8.0.254"]])"));
}

// Routes are IPv4 prefixes (0-32); a router's subnets do not overlap; a gateway or a router's
// address is a host address of its subnet (not the network or broadcast address, except in a
// /31 or /32, where every address is a host).
TEST_F(ViperFlowTest, RoutersAndGatewaysAreValidated) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "ln"}, {"physicalnetwork", "pn"}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "ln2"}, {"physicalnetwork", "pn"}}).ok());
  auto router = [&](const char* routes) {
    return call([routes](ViperFlow& v, Done d) {
      v.create_routers(Json::array({Json{{"routes", Json::parse(routes)}}}), std::move(d));
    });
  };
  for (const char* bad : {R"([["10.0.0.0/33", "10.0.0.1"]])", R"([["10.0.0.0/-1", "10.0.0.1"]])",
                          R"([["10.0.0.0", "10.0.0.1"]])", R"([["10.0.0.0/8", "10.0.0"]])",
                          R"([["10.0.0.0/x", "10.0.0.1"]])"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(router(bad).status().code(), Errc::kInvalidArgument);
  }
  auto ok =
      router(R"([["0.0.0.0/0", "10.0.0.1"], ["10.1.2.3/16", "10.0.0.2"], ["10.2.0.9/32", "10.0.0.3"]])");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)[0]["routes"],
            Json::parse(
                R"([["0.0.0.0/0", "10.0.0.1"], ["10.1.0.0/16", "10.0.0.2"], ["10.2.0.9/32", "10.0.0.3"]])"));
  auto update = call([](ViperFlow& v, Done d) {
    v.update_routers(
        Json::array({Json{{"id", "x"}, {"routes", Json::parse(R"([["10.0.0.0/33", "10.0.0.1"]])")}}}),
        std::move(d));
  });
  EXPECT_EQ(update.status().code(), Errc::kInvalidArgument);

  auto subnet = [&](Json spec) {
    return call([spec](ViperFlow& v, Done d) { v.create_subnets(Json::array({spec}), std::move(d)); });
  };
  for (const char* gw : {"10.0.0.0", "10.0.0.255"}) {
    SCOPED_TRACE(gw);
    auto r = subnet(Json{{"id", "bad"}, {"logicalnetwork", "ln"}, {"cidr", "10.0.0.0/24"}, {"gateway", gw}});
    EXPECT_EQ(r.status().code(), Errc::kInvalidArgument);
  }
  EXPECT_EQ(subnet(Json{{"id", "bad"},
                        {"logicalnetwork", "ln"},
                        {"cidr", "10.0.0.0/24"},
                        {"allocated_end", "10.0.0.255"}})
                .status()
                .code(),
            Errc::kInvalidArgument);
  EXPECT_TRUE(
      subnet(Json{{"id", "p2p"}, {"logicalnetwork", "ln"}, {"cidr", "10.5.0.0/31"}, {"gateway", "10.5.0.0"}})
          .ok())
      << "a /31 has no network or broadcast address (RFC 3021)";
  ASSERT_TRUE(
      subnet(Json{{"id", "big"}, {"logicalnetwork", "ln"}, {"cidr", "10.0.0.0/24"}, {"gateway", "10.0.0.1"}})
          .ok());
  // In another network (subnets of one network cannot overlap anyway).
  ASSERT_TRUE(subnet(Json{{"id", "small"},
                          {"logicalnetwork", "ln2"},
                          {"cidr", "10.0.0.0/25"},
                          {"gateway", "10.0.0.126"}})
                  .ok());
  ASSERT_TRUE(subnet(Json{{"id", "apart"}, {"logicalnetwork", "ln2"}, {"cidr", "10.6.0.0/24"}}).ok());
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.create_routers(Json::parse(R"([{"id": "r"}])"), std::move(d));
              }).ok());
  auto add = [&](Json specs) {
    return call([specs](ViperFlow& v, Done d) { v.add_router_interfaces(specs, std::move(d)); });
  };
  ASSERT_TRUE(add(Json::parse(R"([{"router": "r", "subnet": "big"}])")).ok());
  auto overlap = add(Json::parse(R"([{"router": "r", "subnet": "small"}])"));
  EXPECT_EQ(overlap.status().code(), Errc::kConflict);
  EXPECT_NE(overlap.status().message().find("overlaps subnet big"), std::string::npos)
      << overlap.status().message();
  EXPECT_EQ(
      add(Json::parse(R"([{"router": "r", "subnet": "apart", "ip_address": "10.6.0.255"}])")).status().code(),
      Errc::kInvalidArgument)
      << "the broadcast address as the router's";
  EXPECT_EQ(
      add(Json::parse(R"([{"router": "r", "subnet": "apart", "ip_address": "10.6.0.0"}])")).status().code(),
      Errc::kInvalidArgument)
      << "the network address as the router's";
  // Within one batch too.
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.create_routers(Json::parse(R"([{"id": "r2"}])"), std::move(d));
              }).ok());
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.remove_router_interfaces(Json::parse(R"([{"router": "r", "subnet": "big"}])"),
                                           std::move(d));
              }).ok());
  auto both = add(Json::parse(R"([{"router": "r2", "subnet": "big"}, {"router": "r2", "subnet": "small"}])"));
  EXPECT_EQ(both.status().code(), Errc::kConflict) << both.status().to_string();
  EXPECT_TRUE(
      add(Json::parse(
              R"([{"router": "r2", "subnet": "big"}, {"router": "r2", "subnet": "apart", "ip_address": "10.6.0.1"}])"))
          .ok());
}

// A router's subnets stay apart when a subnet's cidr changes too (not only when an interface is
// added): one check serves both, and a batch is judged by how its subnets end up.
TEST_F(ViperFlowTest, RouterSubnetsStayApartWhenTheirCidrChanges) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  // Two networks, so that only the router relates the subnets.
  ASSERT_TRUE(create_log(Json{{"id", "l1"}, {"physicalnetwork", "pn"}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "l2"}, {"physicalnetwork", "pn"}}).ok());
  auto subnets = [&](const char* verb, Json specs) {
    return call([verb, specs](ViperFlow& v, Done d) {
      if (std::string(verb) == "create")
        v.create_subnets(specs, std::move(d));
      else
        v.update_subnets(specs, std::move(d));
    });
  };
  ASSERT_TRUE(subnets("create", Json::parse(R"([
      {"id": "a", "logicalnetwork": "l1", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1"},
      {"id": "b", "logicalnetwork": "l2", "cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}])"))
                  .ok());
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.create_routers(Json::parse(R"([{"id": "r"}])"), std::move(d));
              }).ok());
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.add_router_interfaces(
                    Json::parse(R"([{"router": "r", "subnet": "a"}, {"router": "r", "subnet": "b"}])"),
                    std::move(d));
              }).ok());
  auto cidr_of = [&](const char* id) {
    auto l = call([id](ViperFlow& v, Done d) { v.list_subnets(Json{{"id", id}}, std::move(d)); });
    return l.ok() && l->size() == 1 ? (*l)[0].value("cidr", "") : std::string("?");
  };

  // a grows over b: refused, naming b, and a is unchanged.
  auto grown = subnets("update", Json::parse(R"([{"id": "a", "cidr": "10.0.0.0/23"}])"));
  EXPECT_EQ(grown.status().code(), Errc::kConflict) << grown.status().to_string();
  EXPECT_NE(grown.status().message().find("overlaps subnet b"), std::string::npos)
      << grown.status().message();
  EXPECT_EQ(cidr_of("a"), "10.0.0.0/24");
  // Both moved in one batch onto each other: refused.
  auto onto = subnets("update", Json::parse(R"([
      {"id": "a", "cidr": "10.0.2.0/24", "gateway": "10.0.2.1"},
      {"id": "b", "cidr": "10.0.2.128/25", "gateway": "10.0.2.129"}])"));
  EXPECT_EQ(onto.status().code(), Errc::kConflict) << onto.status().to_string();
  EXPECT_EQ(cidr_of("a"), "10.0.0.0/24");
  EXPECT_EQ(cidr_of("b"), "10.0.1.0/24");
  // A swap ends apart: accepted (each is compared with the other's new cidr).
  auto swap = subnets("update", Json::parse(R"([
      {"id": "a", "cidr": "10.0.1.0/24", "gateway": "10.0.1.1"},
      {"id": "b", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1"}])"));
  ASSERT_TRUE(swap.ok()) << swap.status().to_string();
  EXPECT_EQ(cidr_of("a"), "10.0.1.0/24");
  EXPECT_EQ(cidr_of("b"), "10.0.0.0/24");
  // Apart from the router's other subnets: accepted.
  EXPECT_TRUE(
      subnets("update", Json::parse(R"([{"id": "a", "cidr": "10.0.4.0/22", "gateway": "10.0.4.1"}])")).ok());
  // Once b is no longer the router's, a may take its addresses (they are in another network).
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.remove_router_interfaces(Json::parse(R"([{"router": "r", "subnet": "b"}])"), std::move(d));
              }).ok());
  EXPECT_TRUE(
      subnets("update", Json::parse(R"([{"id": "a", "cidr": "10.0.0.0/16", "gateway": "10.0.4.1"}])")).ok());
}

// The subnets of one logical network stay apart too when a cidr changes (create already checked).
TEST_F(ViperFlowTest, SubnetsOfANetworkStayApartWhenTheirCidrChanges) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "l1"}, {"physicalnetwork", "pn"}}).ok());
  auto subnets = [&](bool create, Json specs) {
    return call([create, specs](ViperFlow& v, Done d) {
      create ? v.create_subnets(specs, std::move(d)) : v.update_subnets(specs, std::move(d));
    });
  };
  ASSERT_TRUE(subnets(true, Json::parse(R"([
      {"id": "a", "logicalnetwork": "l1", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1"},
      {"id": "b", "logicalnetwork": "l1", "cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}])"))
                  .ok());
  auto over = subnets(true, Json::parse(R"([{"id": "c", "logicalnetwork": "l1", "cidr": "10.0.1.128/25"}])"));
  EXPECT_EQ(over.status().code(), Errc::kConflict) << over.status().to_string();
  auto grown = subnets(false, Json::parse(R"([{"id": "a", "cidr": "10.0.0.0/23"}])"));
  EXPECT_EQ(grown.status().code(), Errc::kConflict) << grown.status().to_string();
  EXPECT_NE(grown.status().message().find("overlaps subnet b (10.0.1.0/24) of logical network l1"),
            std::string::npos)
      << grown.status().message();
  auto swap = subnets(false, Json::parse(R"([
      {"id": "a", "cidr": "10.0.1.0/24", "gateway": "10.0.1.1"},
      {"id": "b", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1"}])"));
  EXPECT_TRUE(swap.ok()) << swap.status().to_string();
  EXPECT_TRUE(
      subnets(false, Json::parse(R"([{"id": "a", "cidr": "10.0.4.0/22", "gateway": "10.0.4.1"}])")).ok());
}

// Names starting with '_' are VLCP's own ("_key", "_type"): a client cannot set them, and a
// filter on them sees the real ones. A type's fields (vlanid, vni, their ranges) are refused on
// another type instead of being stored as meaningless attributes.
TEST_F(ViperFlowTest, ReservedAndTypeSpecificAttributes) {
  ASSERT_TRUE(create_phys(Json{{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}).ok());
  ASSERT_TRUE(
      create_phys(Json{{"id", "vx"}, {"type", "vxlan"}, {"vnirange", Json::parse("[[100,200]]")}}).ok());
  ASSERT_TRUE(create_phys(Json{{"id", "nat"}, {"type", "native"}}).ok());
  for (const char* reserved : {"_key", "_type", "_anything"}) {
    SCOPED_TRACE(reserved);
    EXPECT_EQ(create_log(Json{{"id", "x"}, {"physicalnetwork", "pn"}, {reserved, "viperflow.logicnetwork.y"}})
                  .status()
                  .code(),
              Errc::kInvalidArgument);
  }
  ASSERT_TRUE(create_log(Json{{"id", "a"}, {"physicalnetwork", "pn"}}).ok());
  ASSERT_TRUE(create_log(Json{{"id", "b"}, {"physicalnetwork", "pn"}}).ok());
  // Every create and update verb refuses them (the check is the batch's).
  std::vector<std::pair<const char*, std::function<void(ViperFlow&, Json, Done)>>> verbs = {
      {"update_logical_networks", [](ViperFlow& v, Json s, Done d) { v.update_logical_networks(s, d); }},
      {"update_physical_networks", [](ViperFlow& v, Json s, Done d) { v.update_physical_networks(s, d); }},
      {"create_subnets", [](ViperFlow& v, Json s, Done d) { v.create_subnets(s, d); }},
      {"create_logical_ports", [](ViperFlow& v, Json s, Done d) { v.create_logical_ports(s, d); }},
      {"create_routers", [](ViperFlow& v, Json s, Done d) { v.create_routers(s, d); }},
      {"create_physical_ports", [](ViperFlow& v, Json s, Done d) { v.create_physical_ports(s, d); }},
  };
  for (auto& [name, fn] : verbs) {
    SCOPED_TRACE(name);
    Json spec{{"id", "a"}, {"_key", "viperflow.logicnetwork.b"}};
    auto r = call([&](ViperFlow& v, Done d) { fn(v, Json::array({spec}), std::move(d)); });
    EXPECT_EQ(r.status().code(), Errc::kInvalidArgument) << r.status().to_string();
  }
  auto by_key = call([](ViperFlow& v, Done d) {
    v.list_logical_networks(Json{{"_key", "viperflow.logicnetwork.b"}}, std::move(d));
  });
  ASSERT_TRUE(by_key.ok());
  ASSERT_EQ(by_key->size(), 1u);
  EXPECT_EQ((*by_key)[0]["id"], "b") << "a filter on _key finds the object with that key";
  // vni on a VLAN network, vlanid on a VXLAN or native one; ranges likewise.
  EXPECT_EQ(create_log(Json{{"id", "c"}, {"physicalnetwork", "pn"}, {"vni", 150}}).status().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(create_log(Json{{"id", "c"}, {"physicalnetwork", "vx"}, {"vlanid", 15}}).status().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(create_log(Json{{"id", "c"}, {"physicalnetwork", "nat"}, {"vlanid", 15}}).status().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(create_log(Json{{"id", "c"}, {"physicalnetwork", "vx"}, {"vni", "abc"}}).status().code(),
            Errc::kInvalidArgument);
  auto typed = create_log(Json{{"id", "c"}, {"physicalnetwork", "vx"}, {"vni", "150"}});
  ASSERT_TRUE(typed.ok()) << typed.status().to_string();
  EXPECT_EQ((*typed)[0]["vni"], 150) << "stored as an integer";
  auto upd = call([](ViperFlow& v, Done d) {
    v.update_logical_networks(Json::parse(R"([{"id": "c", "vlanid": 12}])"), std::move(d));
  });
  EXPECT_EQ(upd.status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(
      create_phys(
          Json{{"id", "p2"}, {"vlanrange", Json::parse("[[1,2]]")}, {"vnirange", Json::parse("[[1,2]]")}})
          .status()
          .code(),
      Errc::kInvalidArgument);
  EXPECT_EQ(create_phys(Json{{"id", "p3"}, {"type", "native"}, {"vlanrange", Json::parse("[[1,2]]")}})
                .status()
                .code(),
            Errc::kInvalidArgument);
  auto upd_phys = call([](ViperFlow& v, Done d) {
    v.update_physical_networks(Json::parse(R"([{"id": "vx", "vlanrange": [[1, 2]]}])"), std::move(d));
  });
  EXPECT_EQ(upd_phys.status().code(), Errc::kInvalidArgument);
}

// Every batch verb of every kind: a batch naming one object twice is a 400 that says so (not
// "no logical port X" after deleting it once, nor "exists" after creating it once).
TEST_F(ViperFlowTest, EveryBatchVerbRefusesAnObjectNamedTwice) {
  network_with_subnet("10.4.0.0/24", "10.4.0.1");
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.create_logical_ports(Json::parse(R"([{"id": "gx", "logicalnetwork": "ln"}])"),
                                       std::move(d));
              }).ok());
  ASSERT_TRUE(call([](ViperFlow& v, Done d) {
                v.create_routers(Json::parse(R"([{"id": "r"}])"), std::move(d));
              }).ok());
  using Verb = void (ViperFlow::*)(Json, Done);
  struct Case {
    const char* name;
    Verb verb;
    Json spec;
  };
  std::vector<Case> cases = {
      {"create_physical_networks", &ViperFlow::create_physical_networks,
       Json{{"id", "pn2"}, {"vlanrange", Json::parse("[[30,40]]")}}},
      {"update_physical_networks", &ViperFlow::update_physical_networks, Json{{"id", "pn"}}},
      {"delete_physical_networks", &ViperFlow::delete_physical_networks, Json{{"id", "pn"}}},
      {"create_logical_networks", &ViperFlow::create_logical_networks,
       Json{{"id", "ln2"}, {"physicalnetwork", "pn"}}},
      {"update_logical_networks", &ViperFlow::update_logical_networks, Json{{"id", "ln"}}},
      {"delete_logical_networks", &ViperFlow::delete_logical_networks, Json{{"id", "ln"}}},
      {"create_subnets", &ViperFlow::create_subnets,
       Json{{"id", "s2"}, {"logicalnetwork", "ln"}, {"cidr", "10.5.0.0/24"}}},
      {"update_subnets", &ViperFlow::update_subnets, Json{{"id", "s"}}},
      {"delete_subnets", &ViperFlow::delete_subnets, Json{{"id", "s"}}},
      {"create_logical_ports", &ViperFlow::create_logical_ports, Json{{"id", "p"}, {"logicalnetwork", "ln"}}},
      {"update_logical_ports", &ViperFlow::update_logical_ports, Json{{"id", "gx"}}},
      {"delete_logical_ports", &ViperFlow::delete_logical_ports, Json{{"id", "gx"}}},
      {"create_physical_ports", &ViperFlow::create_physical_ports,
       Json{{"name", "eth9"}, {"physicalnetwork", "pn"}}},
      {"update_physical_ports", &ViperFlow::update_physical_ports, Json{{"name", "eth9"}}},
      {"delete_physical_ports", &ViperFlow::delete_physical_ports, Json{{"name", "eth9"}}},
      {"create_routers", &ViperFlow::create_routers, Json{{"id", "r2"}}},
      {"update_routers", &ViperFlow::update_routers, Json{{"id", "r"}}},
      {"delete_routers", &ViperFlow::delete_routers, Json{{"id", "r"}}},
      {"add_router_interfaces", &ViperFlow::add_router_interfaces, Json{{"router", "r"}, {"subnet", "s"}}},
      {"remove_router_interfaces", &ViperFlow::remove_router_interfaces,
       Json{{"router", "r"}, {"subnet", "s"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json batch = Json::array({c.spec, c.spec});
    auto r = call([&](ViperFlow& v, Done d) { (v.*c.verb)(batch, std::move(d)); });
    EXPECT_EQ(r.status().code(), Errc::kInvalidArgument) << r.status().to_string();
    EXPECT_NE(r.status().message().find("named twice in the batch"), std::string::npos)
        << r.status().message();
  }
  // Two spellings of one physical port (the defaults written out) are one port.
  auto spelled = call([](ViperFlow& v, Done d) {
    v.create_physical_ports(Json::parse(R"([{"name": "eth8", "physicalnetwork": "pn"},
                                            {"name": "eth8", "systemid": "%", "bridge": "%", "physicalnetwork": "pn"}])"),
                            std::move(d));
  });
  EXPECT_EQ(spelled.status().code(), Errc::kInvalidArgument);
  // An interface id given twice.
  auto ids = call([](ViperFlow& v, Done d) {
    v.add_router_interfaces(
        Json::parse(
            R"([{"router": "r", "subnet": "s", "id": "i"}, {"router": "r2", "subnet": "s", "id": "i"}])"),
        std::move(d));
  });
  EXPECT_EQ(ids.status().code(), Errc::kInvalidArgument);
  // Nothing was changed by the refused batches.
  auto port = call([](ViperFlow& v, Done d) { v.list_logical_ports(Json{{"id", "gx"}}, std::move(d)); });
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(port->size(), 1u);
}

TEST(WebApiParams, BackQuotedLiteralsFormsAndJsonBodies) {
  auto lit = api::parse_literal("[[100, 200], (1, 2)]");
  ASSERT_TRUE(lit.ok());
  EXPECT_EQ(*lit, Json::parse("[[100,200],[1,2]]"));
  EXPECT_EQ(*api::parse_literal("{'a': True, 'b': None, 'c': 'it\\'s'}"),
            (Json{{"a", true}, {"b", nullptr}, {"c", "it's"}}));
  EXPECT_FALSE(api::parse_literal("os.system('x')").ok());
  EXPECT_FALSE(api::parse_literal("[1,").ok());

  api::HttpRequest get{
      "GET", "/viperflow/createphysicalnetwork?id=pn%201&vlanrange=`[[1,2]]`&isexternal=`False`", ""};
  auto p = api::parse_params(get);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)["id"], "pn 1");
  EXPECT_EQ((*p)["vlanrange"], Json::parse("[[1,2]]"));
  EXPECT_EQ((*p)["isexternal"], false);
  api::HttpRequest form{"POST", "/viperflow/x", "id=a&mtu=1500"};
  EXPECT_EQ((*api::parse_params(form))["mtu"], "1500");
  api::HttpRequest body{"POST", "/viperflow/x", R"({"networks": [{"id": "a"}]})"};
  EXPECT_EQ((*api::parse_params(body))["networks"][0]["id"], "a");
  api::HttpRequest broken{"POST", "/viperflow/x", "{\"id\": "};
  EXPECT_EQ(api::parse_params(broken).status().code(), Errc::kInvalidArgument);
  api::HttpRequest bad_literal{"GET", "/viperflow/x?vlanrange=`[[1,2]`", ""};
  EXPECT_FALSE(api::parse_params(bad_literal).ok());
}

}  // namespace
}  // namespace vlcp::model
