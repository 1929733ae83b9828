// The reconcile's planner (src/containers/reconcile, docs/CONTAINERS_DESIGN.md §4) over tables of
// (Docker's view × the model × links × OVSDB × age): endpoints in every phase of their life,
// Docker unreachable or answering in part, mappings of networks Docker no longer lists, pools and
// reservations past their time, and CNI attachments at start-up. Each row asserts what the plan
// does to its objects (kept, repaired, unplugged, removed) and the counts the metrics get.
#include "containers/reconcile.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "containers/plug.h"
#include "schema/container_ids.h"

namespace vlcp::containers {
namespace {

constexpr int64_t kS = 1'000'000;  // µs per second
constexpr int64_t kNow = 10'000 * kS;
const ReconcileTimes kTimes{kNow, 30 * kS, 60 * kS};
const std::string kNode = "node-1";
const std::string kOther = "node-2";

std::string id64(char c) {
  return std::string(64, c);
}
const std::string kNet = id64('a');  // the Docker network the endpoints are on
const std::string kEid = id64('e');

docker::EngineNetwork network(const std::string& id, std::vector<std::string> endpoints,
                              bool inspected = true) {
  docker::EngineNetwork n;
  n.id = id;
  n.name = "n-" + id.substr(0, 4);
  n.driver = "vlcp";
  n.inspected = inspected;
  for (const auto& e : endpoints) n.endpoints["c" + e.substr(0, 12)] = e;
  return n;
}

docker::DockerView reachable(std::vector<docker::EngineNetwork> nets) {
  docker::DockerView v;
  v.reachable = true;
  for (auto& n : nets) v.networks[n.id] = n;
  return v;
}

// The marks as the design writes them (§3: the veth's alias, the OVSDB interface's vlcp-owner).
std::string alias_of(const std::string& eid) {
  return "vlcp:docker:" + eid;
}
std::string owner_of(const std::string& eid) {
  return "docker:" + eid;
}
std::string veth_of(const std::string& eid) {
  return "vlcp" + eid.substr(0, 10);
}

std::optional<int64_t> age(std::optional<int64_t> seconds) {
  if (!seconds) return std::nullopt;
  return kNow - *seconds * kS;
}

// ---- endpoints in every phase ------------------------------------------------------------------

enum class Docker { kKnows, kNotListed, kNetworkGone, kNetworkUninspected, kOtherUninspected };
enum class Outcome { kNothing, kRepair, kUnplug, kOrphan };

struct EndpointRow {
  const char* phase;
  // The model: the info (none: no info), its age in seconds and node.
  std::optional<int64_t> info_age;
  std::string info_node;
  // Links and OVSDB: present or not, and their age when known (nullopt: unknown).
  bool veth, ovsdb;
  std::optional<int64_t> artifact_age;
  Docker docker;
  bool in_flight;
  // Expected.
  Outcome outcome;
  bool veth_missing = false, ovsdb_missing = false;  // repair
  bool noted = false;                                // a note names the endpoint
};

const EndpointRow kEndpointRows[] = {
    // phase                                      info   node    veth   ovsdb  a.age  docker flight outcome
    {"being created: model done, in flight", 0, kNode, true, false, 0, Docker::kNotListed, true,
     Outcome::kNothing},
    {"being created for long, still in flight",
     600,
     kNode,
     true,
     true,
     {},
     Docker::kNotListed,
     true,
     Outcome::kNothing},
    {"just created, within grace", 10, kNode, true, true, {}, Docker::kNotListed, false, Outcome::kNothing},
    {"created at the grace boundary",
     30,
     kNode,
     true,
     true,
     {},
     Docker::kNotListed,
     false,
     Outcome::kNothing},
    {"joined and listed", 600, kNode, true, true, {}, Docker::kKnows, false, Outcome::kNothing},
    {"deleted in Docker, left here", 600, kNode, true, true, {}, Docker::kNotListed, false, Outcome::kUnplug},
    {"deleted in Docker, only the model left",
     600,
     kNode,
     false,
     false,
     {},
     Docker::kNotListed,
     false,
     Outcome::kUnplug},
    {"deleted in Docker, veth left",
     600,
     kNode,
     true,
     false,
     {},
     Docker::kNotListed,
     false,
     Outcome::kUnplug},
    {"its network gone from Docker",
     600,
     kNode,
     true,
     true,
     {},
     Docker::kNetworkGone,
     false,
     Outcome::kUnplug},
    {"its network's answer failed",
     600,
     kNode,
     true,
     true,
     {},
     Docker::kNetworkUninspected,
     false,
     Outcome::kNothing,
     false,
     false,
     true},
    {"another network's answer failed",
     600,
     kNode,
     true,
     true,
     {},
     Docker::kOtherUninspected,
     false,
     Outcome::kUnplug},
    {"another node's info", 600, kOther, false, false, {}, Docker::kNotListed, false, Outcome::kNothing},
    {"veth without info", {}, "", true, false, {}, Docker::kNotListed, false, Outcome::kOrphan},
    {"OVSDB row without info", {}, "", false, true, {}, Docker::kNotListed, false, Outcome::kOrphan},
    {"veth and row without info", {}, "", true, true, 600, Docker::kNotListed, false, Outcome::kOrphan},
    {"veth without info, young", {}, "", true, true, 5, Docker::kNotListed, false, Outcome::kNothing},
    {"veth without info, in flight (unplug)",
     {},
     "",
     true,
     true,
     {},
     Docker::kNotListed,
     true,
     Outcome::kNothing},
    {"veth without info, Docker knows it",
     {},
     "",
     true,
     true,
     {},
     Docker::kKnows,
     false,
     Outcome::kNothing,
     false,
     false,
     true},
    {"veth without info, Docker's view partial",
     {},
     "",
     true,
     true,
     {},
     Docker::kOtherUninspected,
     false,
     Outcome::kNothing,
     false,
     false,
     true},
    {"veth of another node's endpoint",
     600,
     kOther,
     true,
     false,
     {},
     Docker::kNotListed,
     false,
     Outcome::kOrphan},
    {"missing veth, Docker knows it",
     600,
     kNode,
     false,
     true,
     {},
     Docker::kKnows,
     false,
     Outcome::kRepair,
     true,
     false},
    {"missing OVSDB row, Docker knows it",
     600,
     kNode,
     true,
     false,
     {},
     Docker::kKnows,
     false,
     Outcome::kRepair,
     false,
     true},
    {"missing both, Docker knows it",
     600,
     kNode,
     false,
     false,
     {},
     Docker::kKnows,
     false,
     Outcome::kRepair,
     true,
     true},
    {"missing veth, within grace", 10, kNode, false, true, {}, Docker::kKnows, false, Outcome::kNothing},
    {"missing veth, in flight", 600, kNode, false, true, {}, Docker::kKnows, true, Outcome::kNothing},
};

void PrintTo(const EndpointRow& row, std::ostream* os) {
  *os << row.phase;
}

class EndpointPhases : public ::testing::TestWithParam<EndpointRow> {};

TEST_P(EndpointPhases, PlansWhatTheTableSays) {
  const EndpointRow& row = GetParam();
  SCOPED_TRACE(row.phase);
  const std::string other_net = id64('b');
  docker::DockerView dv;
  switch (row.docker) {
    case Docker::kKnows:
      dv = reachable({network(kNet, {kEid})});
      break;
    case Docker::kNotListed:
      dv = reachable({network(kNet, {id64('1')})});
      break;
    case Docker::kNetworkGone:
      dv = reachable({network(other_net, {})});
      break;
    case Docker::kNetworkUninspected:
      dv = reachable({network(kNet, {}, false)});
      break;
    case Docker::kOtherUninspected:
      dv = reachable({network(kNet, {}), network(other_net, {}, false)});
      break;
  }
  ModelView model;
  model.systemid = kNode;
  if (row.info_age)
    model.infos.push_back(
        {schema::docker_port_id(kEid), kEid, kNet, row.info_node, kNow - *row.info_age * kS});
  LinkView links;
  links.links.push_back({"eth0", "", std::nullopt});
  links.links.push_back(
      {"vlcp0123456789", alias_of(id64('9')).substr(0, 20), std::nullopt});  // not a full mark
  if (row.veth) links.links.push_back({veth_of(kEid), alias_of(kEid), age(row.artifact_age)});
  OvsdbView ovsdb;
  ovsdb.interfaces.push_back({"vxlan0", "", std::nullopt});
  ovsdb.interfaces.push_back({"vlcpc0ffee0123", "cni:c0ffee:eth0", std::nullopt});
  if (row.ovsdb) ovsdb.interfaces.push_back({veth_of(kEid), owner_of(kEid), age(row.artifact_age)});
  InFlight flight;
  if (row.in_flight) flight.endpoints.insert(kEid);

  ReconcilePlan plan = plan_reconcile(dv, model, links, ovsdb, kTimes, flight);

  EXPECT_TRUE(plan.docker_reachable);
  EXPECT_TRUE(plan.mappings.empty() && plan.pools.empty() && plan.reservations.empty());
  switch (row.outcome) {
    case Outcome::kNothing:
      EXPECT_TRUE(plan.empty());
      break;
    case Outcome::kRepair: {
      ASSERT_EQ(plan.repair.size(), 1u);
      EXPECT_TRUE(plan.unplug.empty() && plan.orphans.empty());
      const EndpointAction& a = plan.repair[0];
      EXPECT_EQ(a.endpoint_id, kEid);
      EXPECT_EQ(a.port_id, "docker-" + kEid);
      EXPECT_EQ(a.network_id, kNet);
      EXPECT_EQ(a.veth_missing, row.veth_missing);
      EXPECT_EQ(a.ovsdb_missing, row.ovsdb_missing);
      EXPECT_EQ(a.reason, ReconcileReason::kMissing);
      EXPECT_EQ(plan.repaired_of(ReconcileWhat::kVeth), row.veth_missing ? 1u : 0u);
      EXPECT_EQ(plan.repaired_of(ReconcileWhat::kOvsdb), row.ovsdb_missing ? 1u : 0u);
      EXPECT_EQ(plan.removed, (std::array<uint64_t, kReconcileWhatCount>{}));
      break;
    }
    case Outcome::kUnplug: {
      ASSERT_EQ(plan.unplug.size(), 1u);
      EXPECT_TRUE(plan.repair.empty() && plan.orphans.empty());
      const EndpointAction& a = plan.unplug[0];
      EXPECT_EQ(a.endpoint_id, kEid);
      EXPECT_EQ(a.port_id, "docker-" + kEid);
      EXPECT_EQ(a.veth, row.veth ? veth_of(kEid) : "");
      EXPECT_EQ(a.ovsdb, row.ovsdb ? veth_of(kEid) : "");
      EXPECT_EQ(a.reason, ReconcileReason::kEndpointGone);
      EXPECT_EQ(plan.removed_of(ReconcileWhat::kPort), 1u);
      EXPECT_EQ(plan.removed_of(ReconcileWhat::kVeth), row.veth ? 1u : 0u);
      EXPECT_EQ(plan.removed_of(ReconcileWhat::kOvsdb), row.ovsdb ? 1u : 0u);
      EXPECT_EQ(plan.removed, removed_counts(a));
      break;
    }
    case Outcome::kOrphan: {
      EXPECT_TRUE(plan.unplug.empty() && plan.repair.empty());
      ASSERT_EQ(plan.orphans.size(), (row.veth ? 1u : 0u) + (row.ovsdb ? 1u : 0u));
      for (const ArtifactAction& a : plan.orphans) {
        EXPECT_EQ(a.endpoint_id, kEid);
        EXPECT_EQ(a.name, veth_of(kEid));
        EXPECT_EQ(a.owner, a.what == ReconcileWhat::kVeth ? alias_of(kEid) : owner_of(kEid));
        EXPECT_EQ(a.reason, ReconcileReason::kNoInfo);
      }
      EXPECT_EQ(plan.removed_of(ReconcileWhat::kVeth), row.veth ? 1u : 0u);
      EXPECT_EQ(plan.removed_of(ReconcileWhat::kOvsdb), row.ovsdb ? 1u : 0u);
      EXPECT_EQ(plan.removed_of(ReconcileWhat::kPort), 0u);
      break;
    }
  }
  bool noted = std::any_of(plan.notes.begin(), plan.notes.end(),
                           [](const ReconcileNote& n) { return n.subject == kEid; });
  EXPECT_EQ(noted, row.noted);
}

INSTANTIATE_TEST_SUITE_P(Table, EndpointPhases, ::testing::ValuesIn(kEndpointRows),
                         [](const ::testing::TestParamInfo<EndpointRow>& info) {
                           std::string name;
                           for (const char* p = info.param.phase; *p; ++p)
                             name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
                           return std::to_string(info.index) + "_" + name;
                         });

// ---- Docker unreachable --------------------------------------------------------------------------

// Everything that would go with a reachable Docker: an endpoint Docker dropped, an orphan veth, a
// repair, a mapping of an unlisted network, an expired pool and reservation.
struct World {
  ModelView model;
  LinkView links;
  OvsdbView ovsdb;
};

World busy_world() {
  World w;
  w.model.systemid = kNode;
  const std::string gone = id64('1'), orphan = id64('2'), broken = id64('3');
  w.model.infos.push_back({schema::docker_port_id(gone), gone, kNet, kNode, kNow - 600 * kS});
  w.model.infos.push_back({schema::docker_port_id(broken), broken, kNet, kNode, kNow - 600 * kS});
  w.links.links.push_back({veth_of(gone), alias_of(gone), std::nullopt});
  w.links.links.push_back({veth_of(orphan), alias_of(orphan), std::nullopt});
  w.ovsdb.interfaces.push_back({veth_of(gone), owner_of(gone), std::nullopt});
  w.model.mappings.push_back(
      {id64('c'), "docker-c-lognet", "docker-c-subnet", "vlcp-p1", kNode, true, kNow - 600 * kS});
  w.model.pools.push_back({"vlcp-p1", id64('c'), kNode, false, kNow - 500 * kS});
  w.model.pools.push_back({"vlcp-p2", "", kNode, false, kNow - 1 * kS});
  w.model.reservations.push_back({"vlcp-p3", "10.1.0.9", kNode, kNow - 1 * kS});
  return w;
}

TEST(Reconcile, DockerUnreachablePlansNothing) {
  World w = busy_world();
  ReconcilePlan plan = plan_reconcile(docker::DockerView{}, w.model, w.links, w.ovsdb, kTimes, {});
  EXPECT_FALSE(plan.docker_reachable);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.removed, (std::array<uint64_t, kReconcileWhatCount>{}));
  EXPECT_EQ(plan.repaired, (std::array<uint64_t, kReconcileWhatCount>{}));
  ASSERT_EQ(plan.notes.size(), 1u);
}

TEST(Reconcile, TheSameWorldWithDockerReachable) {
  World w = busy_world();
  ReconcilePlan plan =
      plan_reconcile(reachable({network(kNet, {id64('3')})}), w.model, w.links, w.ovsdb, kTimes, {});
  ASSERT_EQ(plan.unplug.size(), 1u);
  EXPECT_EQ(plan.unplug[0].endpoint_id, id64('1'));
  ASSERT_EQ(plan.orphans.size(), 1u);
  EXPECT_EQ(plan.orphans[0].endpoint_id, id64('2'));
  ASSERT_EQ(plan.repair.size(), 1u);
  EXPECT_EQ(plan.repair[0].endpoint_id, id64('3'));
  ASSERT_EQ(plan.mappings.size(), 1u);
  ASSERT_EQ(plan.pools.size(), 1u);
  EXPECT_EQ(plan.pools[0].pool_id, "vlcp-p2");
  ASSERT_EQ(plan.reservations.size(), 1u);
  // port 1; veth: the unplugged one's and the orphan; ovsdb 1; mapping 1; pools: the mapping's
  // and p2; reservation 1.
  EXPECT_EQ(plan.removed, (std::array<uint64_t, kReconcileWhatCount>{1, 2, 1, 1, 2, 1}));
  EXPECT_EQ(plan.repaired, (std::array<uint64_t, kReconcileWhatCount>{0, 1, 1, 0, 0, 0}));
  for (size_t i = 0; i < kReconcileWhatCount; ++i) {
    uint64_t sum = 0;
    for (const auto& a : plan.unplug) sum += removed_counts(a)[i];
    for (const auto& a : plan.orphans) sum += removed_counts(a)[i];
    for (const auto& a : plan.mappings) sum += removed_counts(a)[i];
    if (i == static_cast<size_t>(ReconcileWhat::kPool)) sum += plan.pools.size();
    if (i == static_cast<size_t>(ReconcileWhat::kReservation)) sum += plan.reservations.size();
    EXPECT_EQ(sum, plan.removed[i]) << reconcile_what_label(static_cast<ReconcileWhat>(i));
  }
}

// ---- mappings ------------------------------------------------------------------------------------

struct MappingRow {
  const char* what;
  std::vector<MappingRecord> mappings;  // the first is the one the row is about
  bool listed = false;                  // Docker lists the first's network
  bool in_flight = false;
  bool removed = false, remove_lognet = false;
};

MappingRecord mapping(char nid, const std::string& lognet, bool created, std::string node = kNode,
                      int64_t age_s = 600) {
  return {id64(nid), lognet,  lognet + "-subnet", std::string("vlcp-pool-") + nid,
          node,      created, kNow - age_s * kS};
}

const MappingRow kMappingRows[] = {
    {"created its network, Docker dropped it", {mapping('1', "L1", true)}, false, false, true, true},
    {"attached to another's network", {mapping('1', "L1", false)}, false, false, true, false},
    {"created, lognet still used by another node",
     {mapping('1', "L1", true), mapping('2', "L1", false, kOther)},
     false,
     false,
     true,
     false},
    {"created, lognet still used by a listed network here",
     {mapping('1', "L1", true), mapping('2', "L1", false)},
     false,
     false,
     true,
     false},
    {"listed by Docker", {mapping('1', "L1", true)}, true, false, false, false},
    {"within grace", {mapping('1', "L1", true, kNode, 5)}, false, false, false, false},
    {"in flight", {mapping('1', "L1", true)}, false, true, false, false},
    {"another node's", {mapping('1', "L1", true, kOther)}, false, false, false, false},
};

void PrintTo(const MappingRow& row, std::ostream* os) {
  *os << row.what;
}

class Mappings : public ::testing::TestWithParam<MappingRow> {};

TEST_P(Mappings, PlansWhatTheTableSays) {
  const MappingRow& row = GetParam();
  SCOPED_TRACE(row.what);
  const MappingRecord& m = row.mappings[0];
  std::vector<docker::EngineNetwork> listed;
  for (size_t i = 1; i < row.mappings.size(); ++i) listed.push_back(network(row.mappings[i].network_id, {}));
  if (row.listed) listed.push_back(network(m.network_id, {}));
  ModelView model;
  model.systemid = kNode;
  model.mappings = row.mappings;
  model.pools.push_back({m.pool_id, m.network_id, m.systemid, false, kNow - 500 * kS});
  model.reservations.push_back(
      {m.pool_id, "10.1.0.7", m.systemid, kNow - 100 * kS});  // expired, but goes with it
  model.reservations.push_back({m.pool_id, "10.1.0.8", m.systemid, kNow + 100 * kS});
  InFlight flight;
  if (row.in_flight) flight.networks.insert(m.network_id);

  ReconcilePlan plan = plan_reconcile(reachable(listed), model, {}, {}, kTimes, flight);

  EXPECT_TRUE(plan.unplug.empty() && plan.orphans.empty() && plan.repair.empty() && plan.pools.empty());
  if (!row.removed) {
    EXPECT_TRUE(plan.mappings.empty());
    // A kept mapping's pool is bound: neither it nor its reservations go on their own, except a
    // reservation past its time.
    EXPECT_EQ(plan.removed_of(ReconcileWhat::kPool), 0u);
    return;
  }
  ASSERT_EQ(plan.mappings.size(), 1u);
  const MappingAction& a = plan.mappings[0];
  EXPECT_EQ(a.mapping, m);
  EXPECT_EQ(a.remove_lognet, row.remove_lognet);
  EXPECT_TRUE(a.pool_found);
  EXPECT_EQ(a.reservations, 2u);
  EXPECT_EQ(a.reason, ReconcileReason::kNetworkGone);
  EXPECT_TRUE(plan.reservations.empty());  // they go with the mapping's pool
  EXPECT_EQ(plan.removed, (std::array<uint64_t, kReconcileWhatCount>{0, 0, 0, 1, 1, 2}));
}

INSTANTIATE_TEST_SUITE_P(Table, Mappings, ::testing::ValuesIn(kMappingRows));

TEST(Reconcile, AttachmentAndCreatorGoneTogetherAttachmentFirst) {
  ModelView model;
  model.systemid = kNode;
  model.mappings = {mapping('1', "L1", true), mapping('2', "L1", false), mapping('3', "L9", false)};
  ReconcilePlan plan = plan_reconcile(reachable({}), model, {}, {}, kTimes, {});
  ASSERT_EQ(plan.mappings.size(), 3u);
  EXPECT_EQ(plan.mappings[0].mapping.network_id, id64('2'));
  EXPECT_EQ(plan.mappings[1].mapping.network_id, id64('3'));
  EXPECT_EQ(plan.mappings[2].mapping.network_id, id64('1'));
  EXPECT_TRUE(plan.mappings[2].remove_lognet);  // its other user goes before it
  EXPECT_FALSE(plan.mappings[2].pool_found);
  EXPECT_EQ(plan.removed_of(ReconcileWhat::kMapping), 3u);
  EXPECT_EQ(plan.removed_of(ReconcileWhat::kPool), 0u);
}

TEST(Reconcile, EndpointsOfAGoneNetworkGoBeforeItsMapping) {
  ModelView model;
  model.systemid = kNode;
  model.mappings = {mapping('1', "L1", true)};
  model.infos.push_back({schema::docker_port_id(kEid), kEid, id64('1'), kNode, kNow - 600 * kS});
  ReconcilePlan plan = plan_reconcile(reachable({}), model, {}, {}, kTimes, {});
  ASSERT_EQ(plan.unplug.size(), 1u);
  ASSERT_EQ(plan.mappings.size(), 1u);
  EXPECT_EQ(plan.unplug[0].network_id, plan.mappings[0].mapping.network_id);
}

// ---- pools and reservations ----------------------------------------------------------------------

struct ExpiryRow {
  const char* what;
  std::string node;
  int64_t expires_in_s;  // negative: past
  std::string network;   // a pool's binding ("" unbound)
  bool released = false;
  bool in_flight = false;
  std::optional<ReconcileReason> pool, reservation;  // expected: removed with this reason
};

const ExpiryRow kExpiryRows[] = {
    {"ours, unbound, past its time", kNode, -1, "", false, false, ReconcileReason::kPoolExpired,
     ReconcileReason::kReservationExpired},
    {"ours, at its time", kNode, 0, "", false, false, ReconcileReason::kPoolExpired,
     ReconcileReason::kReservationExpired},
    {"ours, not yet", kNode, 5, "", false, false, std::nullopt, std::nullopt},
    {"ours, released, not yet past", kNode, 5, "", true, false, ReconcileReason::kPoolReleased, std::nullopt},
    {"ours, bound, its network listed", kNode, -500, id64('a'), false, false, std::nullopt,
     ReconcileReason::kReservationExpired},
    {"ours, released but bound", kNode, -500, id64('a'), true, false, std::nullopt,
     ReconcileReason::kReservationExpired},
    {"another node's, within its grace", kOther, -30, "", false, false, std::nullopt, std::nullopt},
    {"another node's, past its grace", kOther, -61, "", false, false, ReconcileReason::kPoolExpired,
     ReconcileReason::kReservationExpired},
    {"ours, past its time, in flight", kNode, -100, "", false, true, std::nullopt, std::nullopt},
};

void PrintTo(const ExpiryRow& row, std::ostream* os) {
  *os << row.what;
}

class Expiry : public ::testing::TestWithParam<ExpiryRow> {};

TEST_P(Expiry, PlansWhatTheTableSays) {
  const ExpiryRow& row = GetParam();
  SCOPED_TRACE(row.what);
  ModelView model;
  model.systemid = kNode;
  int64_t expires = kNow + row.expires_in_s * kS;
  model.pools.push_back({"vlcp-p", row.network, row.node, row.released, expires});
  model.reservations.push_back({"vlcp-p", "10.1.0.7", row.node, expires});
  if (!row.network.empty())
    model.mappings.push_back({row.network, "L", "S", "vlcp-p", kNode, true, kNow - 600 * kS});
  InFlight flight;
  if (row.in_flight) flight.pools.insert("vlcp-p");
  ReconcilePlan plan = plan_reconcile(reachable({network(id64('a'), {})}), model, {}, {}, kTimes, flight);
  EXPECT_TRUE(plan.mappings.empty());
  if (row.pool) {
    ASSERT_EQ(plan.pools.size(), 1u);
    EXPECT_EQ(plan.pools[0], (PoolAction{"vlcp-p", *row.pool}));
  } else {
    EXPECT_TRUE(plan.pools.empty());
  }
  if (row.reservation) {
    ASSERT_EQ(plan.reservations.size(), 1u);
    EXPECT_EQ(plan.reservations[0], (ReservationAction{"vlcp-p", "10.1.0.7", *row.reservation}));
  } else {
    EXPECT_TRUE(plan.reservations.empty());
  }
  EXPECT_EQ(plan.removed_of(ReconcileWhat::kPool), row.pool ? 1u : 0u);
  EXPECT_EQ(plan.removed_of(ReconcileWhat::kReservation), row.reservation ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(Table, Expiry, ::testing::ValuesIn(kExpiryRows));

// ---- the model's records as model::Containers::list() gives them ---------------------------------

TEST(Reconcile, ModelViewFromTheStoresRecords) {
  using nlohmann::json;
  const std::string nid = id64('a'), pool = "vlcp-1b2c";
  json infos{{"viperflow.dockerplugin.portinfo.docker-" + kEid,
              {{"endpoint", kEid},
               {"network", nid},
               {"systemid", kNode},
               {"bridge", "br-int"},
               {"docker_port", veth_of(kEid)},
               {"created", kNow - 600 * kS},
               {"port", "viperflow.logicalport.docker-" + kEid}}},
             {"viperflow.dockerplugin.portinfo.broken", "not an object"}};
  json mappings{{"viperflow.dockerplugin.network." + nid,
                 {{"id", nid},
                  {"lognet", "viperflow.logicalnetwork.docker-" + nid + "-lognet"},
                  {"subnet", "viperflow.subnet.docker-" + nid + "-subnet"},
                  {"lognet_id", "docker-" + nid + "-lognet"},
                  {"subnet_id", "docker-" + nid + "-subnet"},
                  {"pool", pool},
                  {"gateway", "10.1.0.1"},
                  {"systemid", kNode},
                  {"created_lognet", true},
                  {"created", kNow - 700 * kS},
                  {"state", "ready"}}}};
  json pools{{"viperflow.dockerplugin.ipampool." + pool,
              {{"id", pool},
               {"cidr", "10.1.0.0/24"},
               {"subpool", nullptr},
               {"gateway", "10.1.0.1"},
               {"systemid", kNode},
               {"expires", kNow - 640 * kS},
               {"network", nid},
               {"subnet", "viperflow.subnet.docker-" + nid + "-subnet"}}},
             {"viperflow.dockerplugin.ipampool.vlcp-2",
              {{"id", "vlcp-2"},
               {"systemid", kOther},
               {"expires", kNow},
               {"network", nullptr},
               {"released", true}}}};
  json reservations{{"viperflow.dockerplugin.ipamreserve." + pool + ".10.1.0.7",
                     {{"pool", pool},
                      {"subnet", "viperflow.subnet.docker-" + nid + "-subnet"},
                      {"ip_address", "10.1.0.7"},
                      {"systemid", kNode},
                      {"expires", kNow - 5 * kS}}}};
  ModelView m = model_view_from_lists(kNode, infos, mappings, pools, reservations);
  EXPECT_EQ(m.systemid, kNode);
  ASSERT_EQ(m.infos.size(), 1u);
  EXPECT_EQ(m.infos[0], (DockerInfoRecord{"docker-" + kEid, kEid, nid, kNode, kNow - 600 * kS}));
  ASSERT_EQ(m.mappings.size(), 1u);
  EXPECT_EQ(m.mappings[0], (MappingRecord{nid, "docker-" + nid + "-lognet", "docker-" + nid + "-subnet", pool,
                                          kNode, true, kNow - 700 * kS}));
  ASSERT_EQ(m.pools.size(), 2u);
  EXPECT_EQ(m.pools[0], (PoolRecord{pool, nid, kNode, false, kNow - 640 * kS}));
  EXPECT_EQ(m.pools[1], (PoolRecord{"vlcp-2", "", kOther, true, kNow}));
  ASSERT_EQ(m.reservations.size(), 1u);
  EXPECT_EQ(m.reservations[0], (ReservationRecord{pool, "10.1.0.7", kNode, kNow - 5 * kS}));

  // Docker dropped the network and the container: the endpoint, then the mapping with its pool
  // and reservation; the released pool of another node too.
  ReconcilePlan plan = plan_reconcile(reachable({}), m, {}, {}, kTimes, {});
  ASSERT_EQ(plan.unplug.size(), 1u);
  ASSERT_EQ(plan.mappings.size(), 1u);
  EXPECT_TRUE(plan.mappings[0].remove_lognet);
  ASSERT_EQ(plan.pools.size(), 1u);
  EXPECT_EQ(plan.pools[0], (PoolAction{"vlcp-2", ReconcileReason::kPoolReleased}));
  EXPECT_TRUE(plan.reservations.empty());
  EXPECT_EQ(plan.removed, (std::array<uint64_t, kReconcileWhatCount>{1, 0, 0, 1, 2, 1}));

  // Not objects at all: an empty view.
  ModelView none = model_view_from_lists(kNode, json::array(), nullptr, 5, "x");
  EXPECT_TRUE(none.infos.empty() && none.mappings.empty() && none.pools.empty() && none.reservations.empty());
}

// ---- marks -----------------------------------------------------------------------------------------

TEST(Reconcile, MarksAreThePlugMachines) {
  auto names = endpoint_names({EndpointKind::kDocker, kEid, ""}, "vlcp");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(endpoint_of_alias(names->alias), kEid);
  EXPECT_EQ(endpoint_of_owner(names->owner), kEid);
  EXPECT_EQ(schema::docker_port_id(kEid), names->port_id);
  EXPECT_EQ(endpoint_of_alias(names->owner), std::nullopt);
  EXPECT_EQ(endpoint_of_owner(names->alias), std::nullopt);
  auto cni = endpoint_names({EndpointKind::kCni, "c0ffee0123", "eth0"}, "vlcp");
  ASSERT_TRUE(cni.ok());
  EXPECT_EQ(endpoint_of_alias(cni->alias), std::nullopt);
  EXPECT_EQ(endpoint_of_owner(cni->owner), std::nullopt);
  EXPECT_EQ(endpoint_of_alias("vlcp:docker:" + kEid.substr(1)), std::nullopt);  // 63 digits
  EXPECT_EQ(endpoint_of_alias("vlcp:docker:" + kEid + "0"), std::nullopt);
  EXPECT_EQ(endpoint_of_alias("vlcp:docker:" + std::string(64, 'E')), std::nullopt);
  EXPECT_EQ(endpoint_of_alias(""), std::nullopt);
  EXPECT_EQ(endpoint_of_alias("vlcp:docker:"), std::nullopt);
}

TEST(Reconcile, LabelsAreDeclaredOnce) {
  EXPECT_EQ(reconcile_what_label(ReconcileWhat::kPort), "port");
  EXPECT_EQ(reconcile_what_label(ReconcileWhat::kReservation), "reservation");
  EXPECT_EQ(kReconcileWhatCount, 6u);
  EXPECT_EQ(reconcile_reason_label(ReconcileReason::kEndpointGone), "endpoint_gone");
  EXPECT_FALSE(reconcile_reason_text(ReconcileReason::kNoVeth).empty());
}

// ---- CNI at start-up -------------------------------------------------------------------------------

struct CniRow {
  const char* what;
  int64_t age_s;
  std::optional<bool> netns_exists;  // nullopt: not in the table
  bool veth, ovsdb;
  bool in_flight;
  std::optional<ReconcileReason> removed;
};

const CniRow kCniRows[] = {
    {"netns gone", 600, false, true, true, false, ReconcileReason::kNetnsGone},
    {"netns gone, nothing local", 600, false, false, false, false, ReconcileReason::kNetnsGone},
    {"netns there, veth there", 600, true, true, true, false, std::nullopt},
    {"netns there, no veth (step 2 never finished)", 600, true, false, false, false,
     ReconcileReason::kNoVeth},
    {"netns not checked, veth there", 600, std::nullopt, true, false, false, std::nullopt},
    {"netns gone, within grace", 10, false, true, true, false, std::nullopt},
    {"no veth, within grace", 10, true, false, false, false, std::nullopt},
    {"netns gone, in flight", 600, false, true, true, true, std::nullopt},
};

void PrintTo(const CniRow& row, std::ostream* os) {
  *os << row.what;
}

class CniStartup : public ::testing::TestWithParam<CniRow> {};

TEST_P(CniStartup, PlansWhatTheTableSays) {
  const CniRow& row = GetParam();
  SCOPED_TRACE(row.what);
  auto names = endpoint_names({EndpointKind::kCni, "c0ffee0123", "eth0"}, "vlcp");
  ASSERT_TRUE(names.ok());
  const std::string netns = "/var/run/netns/pod1";
  CniStartupAttachment att{names->port_id, names->alias, names->owner, netns, kNow - row.age_s * kS};
  // Another attachment, healthy, beside it.
  auto other = endpoint_names({EndpointKind::kCni, "beef01", "eth0"}, "vlcp");
  CniStartupAttachment ok{other->port_id, other->alias, other->owner, "/var/run/netns/pod2", kNow - 600 * kS};
  LinkView links;
  links.links.push_back({other->host_veth, other->alias, std::nullopt});
  if (row.veth) links.links.push_back({names->host_veth, names->alias, std::nullopt});
  OvsdbView ovsdb;
  if (row.ovsdb) ovsdb.interfaces.push_back({names->host_veth, names->owner, std::nullopt});
  std::map<std::string, bool> exists{{"/var/run/netns/pod2", true}};
  if (row.netns_exists) exists[netns] = *row.netns_exists;
  std::set<std::string> flight;
  if (row.in_flight) flight.insert(names->port_id);

  CniPlan plan = plan_cni_startup({att, ok}, links, ovsdb, exists, kTimes, flight);

  if (!row.removed) {
    EXPECT_TRUE(plan.unplug.empty());
    EXPECT_EQ(plan.removed, (std::array<uint64_t, kReconcileWhatCount>{}));
    return;
  }
  ASSERT_EQ(plan.unplug.size(), 1u);
  const CniAction& a = plan.unplug[0];
  EXPECT_EQ(a.attachment, att);
  EXPECT_EQ(a.reason, *row.removed);
  EXPECT_EQ(a.veth, row.veth ? names->host_veth : "");
  EXPECT_EQ(a.ovsdb, row.ovsdb ? names->host_veth : "");
  EXPECT_EQ(plan.removed_of(ReconcileWhat::kPort), 1u);
  EXPECT_EQ(plan.removed_of(ReconcileWhat::kVeth), row.veth ? 1u : 0u);
  EXPECT_EQ(plan.removed_of(ReconcileWhat::kOvsdb), row.ovsdb ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(Table, CniStartup, ::testing::ValuesIn(kCniRows));

}  // namespace
}  // namespace vlcp::containers
