// The typed OVSDB replica: built from the IDL glue's snapshot, shown in introspection, and the
// source of OVS-DPDK's CPU masks for placement.
#include "ovsdb/replica.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "io/control_loop.h"
#include "ovsdb/client.h"

namespace vlcp::ovsdb {
namespace {

const char* kSnapshot = R"({
  "system_id": "hv1", "ovs_version": "3.1.0", "dpdk_initialized": true, "dpdk_version": "DPDK 22.11",
  "other_config": {"pmd-cpu-mask": "0x6", "dpdk-lcore-mask": "0x1", "dpdk-init": "true"},
  "bridges": [{"name": "br0", "datapath_id": "00000000000000ab", "datapath_type": "netdev",
               "fail_mode": "secure", "protocols": ["OpenFlow13"], "ports": ["br0", "vm1", "vx"],
               "controllers": [{"target": "tcp:127.0.0.1:6653", "is_connected": true, "role": "master"}]}],
  "ports": [{"name": "br0", "interfaces": ["br0"], "external_ids": {}, "tag": -1},
            {"name": "vm1", "interfaces": ["vm1"], "external_ids": {}, "tag": 10},
            {"name": "vx", "interfaces": ["vx"], "external_ids": {}, "tag": -1}],
  "interfaces": [{"name": "br0", "type": "internal", "ofport": 65534, "external_ids": {}, "options": {}},
                 {"name": "vm1", "type": "", "ofport": 3, "external_ids": {"iface-id": "lp-1"}, "options": {},
                  "link_state": "up"},
                 {"name": "vx", "type": "vxlan", "ofport": 9, "external_ids": {},
                  "options": {"local_ip": "192.168.1.1", "remote_ip": "flow", "key": "flow"}}]
})";

TEST(Replica, FromTheGlueSnapshot) {
  auto r = replica_from_json(nlohmann::json::parse(kSnapshot));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->system_id, "hv1");
  EXPECT_TRUE(r->dpdk_initialized);
  ASSERT_EQ(r->bridges.count("br0"), 1u);
  const Bridge& br = r->bridges.at("br0");
  EXPECT_EQ(br.datapath_id, 0xabu);
  EXPECT_EQ(br.controllers.at(0).target, "tcp:127.0.0.1:6653");
  EXPECT_EQ(r->interfaces.at("vm1").iface_id(), "lp-1");
  EXPECT_EQ(r->interfaces.at("vm1").ofport, 3);
  EXPECT_EQ(r->ports.at("vm1").tag, 10);
  EXPECT_TRUE(r->interfaces.at("vx").is_tunnel());
  EXPECT_EQ(r->interfaces.at("vx").options.at("local_ip"), "192.168.1.1");
  EXPECT_EQ(r->bridge_of_port("vx"), &br);
  EXPECT_EQ(r->bridge_of_port("nope"), nullptr);
}

TEST(Replica, DatapathCpusForPlacement) {
  auto r = replica_from_json(nlohmann::json::parse(kSnapshot));
  ASSERT_TRUE(r.ok());
  sched::DatapathCpus d = r->datapath_cpus();
  EXPECT_TRUE(d.dpdk_initialized);
  EXPECT_EQ(d.pmd_cpus, (sched::CpuSet{1, 2}));
  EXPECT_EQ(d.lcore_cpus, (sched::CpuSet{0}));
}

TEST(Replica, IntrospectionShowsIfaceIdsAndTunnelOptions) {
  auto r = replica_from_json(nlohmann::json::parse(kSnapshot));
  ASSERT_TRUE(r.ok());
  nlohmann::json j = replica_to_json(*r);
  EXPECT_EQ(j["system_id"], "hv1");
  EXPECT_EQ(j["dpdk"]["pmd-cpu-mask"], "0x6");
  auto& br = j["bridges"][0];
  EXPECT_EQ(br["datapath_id"], "00000000000000ab");
  EXPECT_EQ(br["ports"][1]["interfaces"][0]["iface_id"], "lp-1");
  EXPECT_EQ(br["ports"][2]["interfaces"][0]["options"]["local_ip"], "192.168.1.1");
}

TEST(Replica, MalformedSnapshotsAreErrorsNotPartialReplicas) {
  EXPECT_FALSE(replica_from_json(nlohmann::json::array()).ok());
  auto r = replica_from_json(nlohmann::json::parse(R"({"bridges": [{"name": "b", "datapath_id": "zz"}]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->bridges.at("b").datapath_id.has_value());  // an unreported dpid is absent
}

TEST(OvsdbSettings, UrlsInVlcpSyntaxBecomeOvsRemotes) {
  Config c;
  auto s = read_ovsdb_settings(c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->remote, "unix:/var/run/openvswitch/db.sock");
  c.set("module.ovsdbmanager.url", "tcp://127.0.0.1");
  EXPECT_EQ(read_ovsdb_settings(c)->remote, "tcp:127.0.0.1:6640");
  c.set("module.ovsdbmanager.url", "");
  EXPECT_EQ(read_ovsdb_settings(c)->remote, "");
  c.set("module.ovsdbmanager.url", "http://x");
  auto bad = read_ovsdb_settings(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("module.ovsdbmanager.url"), std::string::npos);
}

TEST(OvsdbClient, WithoutAServerTransactionsFailCleanly) {
  ManualClock clock;
  io::ControlLoop loop(clock);
  OvsdbClient client(loop, OvsdbSettings{});  // remote '' : disabled
  ASSERT_TRUE(client.start().ok());
  std::optional<Status> result;
  client.set_controller("br0", "tcp:127.0.0.1:6653", true, [&](Status s) { result = s; });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), Errc::kUnavailable);
  EXPECT_FALSE(client.connected());
}

}  // namespace
}  // namespace vlcp::ovsdb

namespace vlcp::ovsdb {
namespace {

// Before the first snapshot (not started, or connected but nothing read yet) the client's
// replica is an empty one, never null: introspection and the plugins read it at start-up.
TEST(Replica, EmptyBeforeTheFirstSnapshot) {
  RealClock clock;
  io::ControlLoop loop(clock);
  OvsdbClient client(loop, OvsdbSettings{});
  ASSERT_NE(client.replica_ptr(), nullptr);
  EXPECT_TRUE(client.replica().bridges.empty());
  EXPECT_TRUE(replica_to_json(client.replica()).is_object());
}

}  // namespace
}  // namespace vlcp::ovsdb
