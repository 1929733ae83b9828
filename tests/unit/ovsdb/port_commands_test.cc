// The OVSDB client's port commands (CONTAINERS_DESIGN §3.2): the batching rule of the group
// commit, how an ofport wait ends, owner marks visible in the replica, and the client's answers
// when no OVSDB is there. Against a real OVS: tests/system/ovsdb_plug_burst.sh.
#include <gtest/gtest.h>

#include <optional>

#include "base/clock.h"
#include "io/control_loop.h"
#include "ovsdb/client.h"
#include "ovsdb/replica.h"

namespace vlcp::ovsdb {
namespace {

TEST(PortBatch, TakesEveryQueuedCommandWhenTheNamesDiffer) {
  std::deque<std::string> q{"a", "b", "c", "d"};
  EXPECT_EQ(port_batch_prefix(q, 512), 4u);
  EXPECT_EQ(port_batch_prefix(q, 3), 3u);  // at most `max`
  EXPECT_EQ(port_batch_prefix({}, 512), 0u);
}

TEST(PortBatch, ASecondCommandForOneNameWaitsForTheNextTransaction) {
  // plug a, plug b, unplug a: the unplug must see the plug committed (order kept per name).
  std::deque<std::string> q{"a", "b", "a", "c"};
  EXPECT_EQ(port_batch_prefix(q, 512), 2u);
  q.pop_front();
  q.pop_front();
  EXPECT_EQ(port_batch_prefix(q, 512), 2u);
}

Replica with_interface(int64_t ofport, const std::string& error) {
  Replica r;
  Interface i;
  i.name = "vlcp3fa2c91d07";
  i.ofport = ofport;
  i.error = error;
  r.interfaces[i.name] = i;
  return r;
}

TEST(OfportWait, EndsOnAPositiveOfportOrAnError) {
  int64_t ofport = 0;
  std::string error;
  EXPECT_EQ(ofport_state(Replica{}, "vlcp3fa2c91d07", &ofport, &error),
            OfportState::kPending);  // not there yet
  EXPECT_EQ(ofport_state(with_interface(-1, ""), "vlcp3fa2c91d07", &ofport, &error), OfportState::kPending);
  EXPECT_EQ(ofport_state(with_interface(0, ""), "vlcp3fa2c91d07", &ofport, &error), OfportState::kPending);
  EXPECT_EQ(ofport_state(with_interface(7, ""), "vlcp3fa2c91d07", &ofport, &error), OfportState::kReady);
  EXPECT_EQ(ofport, 7);
  EXPECT_EQ(ofport_state(with_interface(-1, "could not open network device vlcp3fa2c91d07 (No such device)"),
                         "vlcp3fa2c91d07", &ofport, &error),
            OfportState::kFailed);
  EXPECT_NE(error.find("No such device"), std::string::npos);
}

TEST(OwnerMarks, InterfaceExternalIdsReachTheReplica) {
  auto r = replica_from_json(nlohmann::json::parse(R"({
    "bridges": [{"name": "br-int", "ports": ["vlcp3fa2c91d07"]}],
    "ports": [{"name": "vlcp3fa2c91d07", "interfaces": ["vlcp3fa2c91d07"],
               "external_ids": {"vlcp-owner": "docker:3fa2"}}],
    "interfaces": [{"name": "vlcp3fa2c91d07", "type": "", "ofport": 5,
                    "external_ids": {"iface-id": "docker-3fa2", "vlcp-owner": "docker:3fa2",
                                     "attached-mac": "02:00:00:00:00:01"}}]})"));
  ASSERT_TRUE(r.ok());
  const Interface& i = r->interfaces.at("vlcp3fa2c91d07");
  EXPECT_EQ(i.external_ids.at("vlcp-owner"), "docker:3fa2");
  EXPECT_EQ(i.iface_id(), "docker-3fa2");
  EXPECT_EQ(r->ports.at("vlcp3fa2c91d07").external_ids.at("vlcp-owner"), "docker:3fa2");
}

TEST(PortCommands, WithoutAnOvsdbServerConfiguredEveryCommandFailsUnavailable) {
  ManualClock clock;
  io::ControlLoop loop(clock);
  OvsdbClient client(loop, OvsdbSettings{});  // remote '': disabled
  ASSERT_TRUE(client.start().ok());
  std::optional<Status> plugged, unplugged;
  std::optional<Result<int64_t>> ofport;
  client.plug_port("br-int", PortSpec{"p1", "internal", "test:1", {}, 0}, [&](Status s) { plugged = s; });
  client.unplug_port("br-int", "p1", [&](Status s) { unplugged = s; });
  client.wait_ofport("p1", std::chrono::seconds(2), [&](Result<int64_t> r) { ofport = std::move(r); });
  ASSERT_TRUE(plugged && unplugged && ofport);
  EXPECT_EQ(plugged->code(), Errc::kUnavailable);
  EXPECT_EQ(unplugged->code(), Errc::kUnavailable);
  EXPECT_EQ(ofport->error().code(), Errc::kUnavailable);
}

TEST(PortCommands, AnOfportWaitEndsAtItsDeadline) {
  ManualClock clock;
  io::ControlLoop loop(clock);
  OvsdbSettings settings;
  settings.remote = "unix:/nonexistent/vlcp-test/db.sock";  // never connects
  OvsdbClient client(loop, settings);
  ASSERT_TRUE(client.start().ok());
  std::optional<Result<int64_t>> ofport;
  client.wait_ofport("p1", std::chrono::seconds(2), [&](Result<int64_t> r) { ofport = std::move(r); });
  loop.run_pending();
  EXPECT_FALSE(ofport.has_value());
  EXPECT_EQ(client.ofport_waits(), 1u);
  clock.advance(std::chrono::milliseconds(1999));
  loop.run_pending();
  EXPECT_FALSE(ofport.has_value());
  clock.advance(std::chrono::milliseconds(1));
  loop.run_pending();
  ASSERT_TRUE(ofport.has_value());
  EXPECT_EQ(ofport->error().code(), Errc::kTimeout);
  EXPECT_EQ(client.ofport_waits(), 0u);
}

}  // namespace
}  // namespace vlcp::ovsdb
