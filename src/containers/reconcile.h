// The reconcile of the container plugins (docs/CONTAINERS_DESIGN.md §4), as pure planning over
// snapshots: Docker's view (containers/docker_engine.h), this node's model records, the veths of
// vlcpd's namespace and the OVSDB interfaces of the plugin's bridge go in; typed lists of what to
// remove and what to re-plug, each with its reason, come out. The module executes them with the
// unplug/plug steps (containers/plug.h) and model/containers; nothing here does I/O.
//
// The rules (§4's table): nothing is removed or repaired while Docker is unreachable; an artifact
// is a candidate only when older than now - grace and not in flight; DockerInfo + port that
// Docker knows: kept, a missing veth or OVSDB row re-plugged; that Docker does not know: unplugged
// (OVSDB row, veth, port + info); a veth or OVSDB row with our owner mark and no DockerInfo that
// Docker does not know: removed; a mapping whose NetworkID Docker does not list: removed with its
// pool (and reservations), its logical network and subnet when it created them and no other
// mapping uses them; unbound pools and reservations past their expiry: removed.
//
// Snapshot order the planner relies on: now is taken first, then the link dump and the OVSDB
// replica, then the model, then Docker. The model record is written before any artifact and
// removed after them (§3), so an artifact seen in the earlier dump without its record in the
// later model is an orphan, or one being unplugged (in flight, or already gone: removing it again
// is harmless) — that is why an artifact of unknown age may be a candidate.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "containers/docker_engine.h"

namespace vlcp::containers {

// ---- what and why ------------------------------------------------------------------------------

// X(enumerator, metric label): the `what` of vlcp_container_reconcile_removed_total and
// repaired_total.
#define VLCP_RECONCILE_WHATS(X) \
  X(kPort, "port")              \
  X(kVeth, "veth")              \
  X(kOvsdb, "ovsdb")            \
  X(kMapping, "mapping")        \
  X(kPool, "pool")              \
  X(kReservation, "reservation")

enum class ReconcileWhat : uint8_t {
#define VLCP_RECONCILE_WHAT_ENUM(name, label) name,
  VLCP_RECONCILE_WHATS(VLCP_RECONCILE_WHAT_ENUM)
#undef VLCP_RECONCILE_WHAT_ENUM
};
inline constexpr size_t kReconcileWhatCount = 0
#define VLCP_RECONCILE_WHAT_COUNT(name, label) +1
    VLCP_RECONCILE_WHATS(VLCP_RECONCILE_WHAT_COUNT)
#undef VLCP_RECONCILE_WHAT_COUNT
    ;
std::string_view reconcile_what_label(ReconcileWhat what);

// X(enumerator, label, text): why an action is planned (status pages and logs).
#define VLCP_RECONCILE_REASONS(X)                                                                  \
  X(kEndpointGone, "endpoint_gone", "Docker does not know the endpoint")                           \
  X(kNoInfo, "no_info", "our owner mark, no DockerInfo, and Docker does not know the endpoint")    \
  X(kMissing, "missing", "Docker knows the endpoint and its info exists, the artifact is missing") \
  X(kNetworkGone, "network_gone", "Docker does not list the network")                              \
  X(kPoolExpired, "pool_expired", "unbound past pooltimeout")                                      \
  X(kPoolReleased, "pool_released", "released by Docker and bound to no network")                  \
  X(kReservationExpired, "reservation_expired", "unconsumed past iptimeout")                       \
  X(kNetnsGone, "netns_gone", "the pod's network namespace no longer exists")                      \
  X(kNoVeth, "no_veth", "no veth carries the attachment's owner mark (step 2 never finished)")

enum class ReconcileReason : uint8_t {
#define VLCP_RECONCILE_REASON_ENUM(name, label, text) name,
  VLCP_RECONCILE_REASONS(VLCP_RECONCILE_REASON_ENUM)
#undef VLCP_RECONCILE_REASON_ENUM
};
std::string_view reconcile_reason_label(ReconcileReason reason);
std::string_view reconcile_reason_text(ReconcileReason reason);

// ---- the snapshots -----------------------------------------------------------------------------

// Times are microseconds on the model's clock (ObjectDB's timestamp_us: the `created` and
// `expires` fields of the records).

// viperflow.dockerplugin.portinfo.<port id>.
struct DockerInfoRecord {
  std::string port_id;      // "port" field's id: docker-<EID>
  std::string endpoint_id;  // "endpoint"
  std::string network_id;   // "network" (Docker's NetworkID)
  std::string systemid;
  int64_t created_us = 0;  // "created"
  friend bool operator==(const DockerInfoRecord&, const DockerInfoRecord&) = default;
};

// viperflow.dockerplugin.network.<NID>.
struct MappingRecord {
  std::string network_id;  // "id"
  std::string lognet_id;   // "lognet_id"
  std::string subnet_id;   // "subnet_id"
  std::string pool_id;     // "pool"
  std::string systemid;
  bool created_lognet = false;
  int64_t created_us = 0;  // "created"
  friend bool operator==(const MappingRecord&, const MappingRecord&) = default;
};

// viperflow.dockerplugin.ipampool.<pool id>.
struct PoolRecord {
  std::string pool_id;     // "id"
  std::string network_id;  // "network": "" (null) while unbound
  std::string systemid;
  bool released = false;
  int64_t expires_us = 0;
  friend bool operator==(const PoolRecord&, const PoolRecord&) = default;
};

// viperflow.dockerplugin.ipamreserve.<pool id>.<ip>.
struct ReservationRecord {
  std::string pool_id;  // "pool"
  std::string ip;       // "ip_address"
  std::string systemid;
  int64_t expires_us = 0;
  friend bool operator==(const ReservationRecord&, const ReservationRecord&) = default;
};

struct ModelView {
  std::string systemid;  // this node's: only its records are candidates
  std::vector<DockerInfoRecord> infos;
  // Every node's mappings (another server's attachment to a logical network keeps it in use);
  // only this node's are candidates.
  std::vector<MappingRecord> mappings;
  std::vector<PoolRecord> pools;
  std::vector<ReservationRecord> reservations;
};

// The view from model::Containers::list() of the four Docker kinds ({key: record}, as dumped:
// kDockerInfo, kDockerNetwork, kDockerPool, kDockerReservation). Lenient by design (the records
// are ours): a record that is not an object is skipped, a missing or mistyped field reads as empty
// or 0. Every node's records are kept; the planner tells them apart by systemid.
ModelView model_view_from_lists(std::string systemid, const nlohmann::json& infos,
                                const nlohmann::json& mappings, const nlohmann::json& pools,
                                const nlohmann::json& reservations);

// A link of vlcpd's namespace (link::LinkInfo of a dump): its name and alias. Links without one
// of our marks are ignored. created_us when the module knows it (the netlink dump does not say).
struct LinkRecord {
  std::string name;
  std::string alias;
  std::optional<int64_t> created_us;
  friend bool operator==(const LinkRecord&, const LinkRecord&) = default;
};
struct LinkView {
  std::vector<LinkRecord> links;
};

// An interface on the plugin's bridge (ovsdb::Replica: the bridge's ports' interfaces): its name
// (= the port's, the host end of the veth) and external_ids:vlcp-owner ("" none).
struct OvsdbRecord {
  std::string name;
  std::string owner;
  std::optional<int64_t> created_us;
  friend bool operator==(const OvsdbRecord&, const OvsdbRecord&) = default;
};
struct OvsdbView {
  std::vector<OvsdbRecord> interfaces;
};

// Requests running or queued when the snapshots were taken: their objects are left alone.
struct InFlight {
  std::set<std::string> endpoints;  // Docker EndpointIDs (CreateEndpoint .. DeleteEndpoint)
  std::set<std::string> networks;   // NetworkIDs (CreateNetwork, DeleteNetwork)
  std::set<std::string> pools;      // pool ids (RequestPool .. CreateNetwork, ReleasePool)
};

struct ReconcileTimes {
  int64_t now_us = 0;    // the reconcile's start, before any snapshot
  int64_t grace_us = 0;  // reconcilegrace (30 s)
  // Another node's pool or reservation is removed only this long past its expiry (its own node
  // reaps it first): iptimeout, as model::Containers::reap's grace.
  int64_t foreign_grace_us = 60'000'000;
};

// ---- the plan ----------------------------------------------------------------------------------

// An endpoint to unplug (OVSDB row, veth, port + info; the plug machine's unplug), or to re-plug
// (repair: the missing pieces).
struct EndpointAction {
  std::string endpoint_id;
  std::string port_id;     // docker-<EID> (schema::docker_port_id)
  std::string network_id;  // the info's Docker network
  std::string veth;        // the veth found with its mark ("" none); to repair: missing
  std::string ovsdb;       // the OVSDB interface found with its mark ("" none); to repair: missing
  bool veth_missing = false, ovsdb_missing = false;  // repair: what to re-plug
  ReconcileReason reason = ReconcileReason::kEndpointGone;
  friend bool operator==(const EndpointAction&, const EndpointAction&) = default;
};

// A veth (kVeth) or OVSDB interface (kOvsdb) with our owner mark and no DockerInfo.
struct ArtifactAction {
  ReconcileWhat what = ReconcileWhat::kVeth;
  std::string endpoint_id;
  std::string name;   // the link's or the interface's name as found
  std::string owner;  // its mark as found: veth alias / vlcp-owner (the removal checks it)
  ReconcileReason reason = ReconcileReason::kNoInfo;
  friend bool operator==(const ArtifactAction&, const ArtifactAction&) = default;
};

// A mapping to remove (model::Containers::delete_network(network_id): the record, its pool and
// the pool's reservations in one commit; the logical network and subnet when remove_lognet — the
// model checks again that nothing uses them and that they have no ports).
struct MappingAction {
  MappingRecord mapping;
  bool remove_lognet = false;  // created_lognet and no other remaining mapping names the lognet
  size_t reservations = 0;     // the pool's reservations that go with it
  bool pool_found = false;     // the pool record exists (it goes with it)
  ReconcileReason reason = ReconcileReason::kNetworkGone;
  friend bool operator==(const MappingAction&, const MappingAction&) = default;
};

struct PoolAction {
  std::string pool_id;
  ReconcileReason reason = ReconcileReason::kPoolExpired;
  friend bool operator==(const PoolAction&, const PoolAction&) = default;
};

struct ReservationAction {
  std::string pool_id, ip;
  ReconcileReason reason = ReconcileReason::kReservationExpired;
  friend bool operator==(const ReservationAction&, const ReservationAction&) = default;
};

// Something the planner saw and deliberately left (for the status page and a log line).
struct ReconcileNote {
  std::string subject;  // an EndpointID, a NetworkID, an artifact's name
  std::string why;
  friend bool operator==(const ReconcileNote&, const ReconcileNote&) = default;
};

struct ReconcilePlan {
  bool docker_reachable = false;
  // In the order to execute: endpoints first (their ports go before their network's mapping),
  // then orphan artifacts, mappings (attachments before the mappings that created a logical
  // network), pools, reservations; repairs last.
  std::vector<EndpointAction> unplug;
  std::vector<ArtifactAction> orphans;
  std::vector<MappingAction> mappings;
  std::vector<PoolAction> pools;
  std::vector<ReservationAction> reservations;
  std::vector<EndpointAction> repair;
  std::vector<ReconcileNote> notes;
  // Planned counts by `what`, for vlcp_container_reconcile_removed_total{what} and
  // repaired_total{what} (the module adds those of the actions that succeeded; see
  // removed_counts()).
  std::array<uint64_t, kReconcileWhatCount> removed{};
  std::array<uint64_t, kReconcileWhatCount> repaired{};

  bool empty() const {
    return unplug.empty() && orphans.empty() && mappings.empty() && pools.empty() && reservations.empty() &&
           repair.empty();
  }
  uint64_t removed_of(ReconcileWhat w) const { return removed[static_cast<size_t>(w)]; }
  uint64_t repaired_of(ReconcileWhat w) const { return repaired[static_cast<size_t>(w)]; }
};

// What each action removes or repairs, by `what` (to count an action once it succeeded).
std::array<uint64_t, kReconcileWhatCount> removed_counts(const EndpointAction& unplug);
std::array<uint64_t, kReconcileWhatCount> removed_counts(const ArtifactAction& orphan);
std::array<uint64_t, kReconcileWhatCount> removed_counts(const MappingAction& mapping);
std::array<uint64_t, kReconcileWhatCount> repaired_counts(const EndpointAction& repair);

// The Docker plugin's reconcile (§4).
ReconcilePlan plan_reconcile(const docker::DockerView& docker, const ModelView& model, const LinkView& links,
                             const OvsdbView& ovsdb, const ReconcileTimes& times, const InFlight& in_flight);

// The EndpointID a Docker owner mark names: a veth alias "vlcp:docker:<EID>" / an OVSDB
// vlcp-owner "docker:<EID>" (docker::veth_alias / owner_mark); nullopt for any other text.
std::optional<std::string> endpoint_of_alias(std::string_view alias);
std::optional<std::string> endpoint_of_owner(std::string_view owner);

// ---- CNI at start-up (§4's last paragraph) -----------------------------------------------------

// A CNI attachment of this node (its port and viperflow.cniplugin.portinfo).
struct CniStartupAttachment {
  std::string port_id;  // k8s-<containerid>[-<ifname>]
  std::string alias;    // endpoint_names({kCni, containerid, ifname}, prefix).alias
  std::string owner;    // endpoint_names(...).owner (the OVSDB mark)
  std::string netns;    // the CNI_NETNS it was made in ("" unknown)
  int64_t created_us = 0;
  friend bool operator==(const CniStartupAttachment&, const CniStartupAttachment&) = default;
};

struct CniAction {
  CniStartupAttachment attachment;
  std::string veth;   // found with its mark ("" none)
  std::string ovsdb;  // found with its mark ("" none)
  ReconcileReason reason = ReconcileReason::kNetnsGone;
  friend bool operator==(const CniAction&, const CniAction&) = default;
};

struct CniPlan {
  std::vector<CniAction> unplug;
  std::array<uint64_t, kReconcileWhatCount> removed{};
  uint64_t removed_of(ReconcileWhat w) const { return removed[static_cast<size_t>(w)]; }
};

// CNI has no runtime view: an attachment older than grace and not in flight (by port id) is
// unplugged when its netns path no longer exists (netns_exists[path] == false; a path missing
// from the table counts as existing) or no veth carries its mark.
CniPlan plan_cni_startup(const std::vector<CniStartupAttachment>& attachments, const LinkView& links,
                         const OvsdbView& ovsdb, const std::map<std::string, bool>& netns_exists,
                         const ReconcileTimes& times, const std::set<std::string>& in_flight_ports);

}  // namespace vlcp::containers
