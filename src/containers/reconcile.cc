// The reconcile's planner (reconcile.h): pure functions over snapshots.
#include "containers/reconcile.h"

#include <algorithm>
#include <cstdint>

#include "containers/docker_protocol.h"
#include "schema/container_ids.h"

namespace vlcp::containers {

std::string_view reconcile_what_label(ReconcileWhat what) {
  switch (what) {
#define VLCP_RECONCILE_WHAT_CASE(name, label) \
  case ReconcileWhat::name:                   \
    return label;
    VLCP_RECONCILE_WHATS(VLCP_RECONCILE_WHAT_CASE)
#undef VLCP_RECONCILE_WHAT_CASE
  }
  return "?";
}

std::string_view reconcile_reason_label(ReconcileReason reason) {
  switch (reason) {
#define VLCP_RECONCILE_REASON_CASE(name, label, text) \
  case ReconcileReason::name:                         \
    return label;
    VLCP_RECONCILE_REASONS(VLCP_RECONCILE_REASON_CASE)
#undef VLCP_RECONCILE_REASON_CASE
  }
  return "?";
}

std::string_view reconcile_reason_text(ReconcileReason reason) {
  switch (reason) {
#define VLCP_RECONCILE_REASON_CASE(name, label, text) \
  case ReconcileReason::name:                         \
    return text;
    VLCP_RECONCILE_REASONS(VLCP_RECONCILE_REASON_CASE)
#undef VLCP_RECONCILE_REASON_CASE
  }
  return "?";
}

namespace {

using Counts = std::array<uint64_t, kReconcileWhatCount>;

void bump(Counts& c, ReconcileWhat w, uint64_t n = 1) {
  c[static_cast<size_t>(w)] += n;
}
void add(Counts& to, const Counts& from) {
  for (size_t i = 0; i < to.size(); ++i) to[i] += from[i];
}

// The EndpointID after a mark's prefix, the prefix derived from the function that writes the
// mark (no second spelling of it).
std::optional<std::string> endpoint_after(std::string_view mark, const std::string& prefix) {
  if (mark.size() <= prefix.size() || mark.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view id = mark.substr(prefix.size());
  if (!docker::is_docker_id(id)) return std::nullopt;
  return std::string(id);
}

// A record is a candidate only when older than the reconcile's start minus the grace period;
// one of unknown age (a link: netlink does not say) is, by the snapshot order (reconcile.h).
bool old_enough(std::optional<int64_t> created_us, const ReconcileTimes& t) {
  return !created_us || *created_us < t.now_us - t.grace_us;
}

// model::Containers::reap's rule: this node's records at their expiry, another's past it plus
// the foreign grace.
bool expired(const std::string& systemid, int64_t expires_us, const ModelView& model,
             const ReconcileTimes& t) {
  return systemid == model.systemid ? expires_us <= t.now_us : expires_us + t.foreign_grace_us <= t.now_us;
}

template <typename Record>
using MarkIndex = std::map<std::string, std::vector<const Record*>>;

std::string text_of(const nlohmann::json& v, const char* key) {
  auto it = v.find(key);
  return it != v.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t int_of(const nlohmann::json& v, const char* key) {
  auto it = v.find(key);
  if (it == v.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_unsigned())
    return static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX));
  return 0;
}
bool bool_of(const nlohmann::json& v, const char* key) {
  auto it = v.find(key);
  return it != v.end() && it->is_boolean() && it->get<bool>();
}
template <typename Fn>
void each_record(const nlohmann::json& list, Fn&& fn) {
  if (!list.is_object()) return;
  for (const auto& [key, v] : list.items())
    if (v.is_object()) fn(v);
}

}  // namespace

ModelView model_view_from_lists(std::string systemid, const nlohmann::json& infos,
                                const nlohmann::json& mappings, const nlohmann::json& pools,
                                const nlohmann::json& reservations) {
  ModelView m;
  m.systemid = std::move(systemid);
  each_record(infos, [&](const nlohmann::json& v) {
    std::string eid = text_of(v, "endpoint");
    m.infos.push_back({schema::docker_port_id(eid), eid, text_of(v, "network"), text_of(v, "systemid"),
                       int_of(v, "created")});
  });
  each_record(mappings, [&](const nlohmann::json& v) {
    m.mappings.push_back({text_of(v, "id"), text_of(v, "lognet_id"), text_of(v, "subnet_id"),
                          text_of(v, "pool"), text_of(v, "systemid"), bool_of(v, "created_lognet"),
                          int_of(v, "created")});
  });
  each_record(pools, [&](const nlohmann::json& v) {
    m.pools.push_back({text_of(v, "id"), text_of(v, "network"), text_of(v, "systemid"),
                       bool_of(v, "released"), int_of(v, "expires")});
  });
  each_record(reservations, [&](const nlohmann::json& v) {
    m.reservations.push_back(
        {text_of(v, "pool"), text_of(v, "ip_address"), text_of(v, "systemid"), int_of(v, "expires")});
  });
  return m;
}

std::optional<std::string> endpoint_of_alias(std::string_view alias) {
  static const std::string prefix = docker::veth_alias("");
  return endpoint_after(alias, prefix);
}

std::optional<std::string> endpoint_of_owner(std::string_view owner) {
  static const std::string prefix = docker::owner_mark("");
  return endpoint_after(owner, prefix);
}

Counts removed_counts(const EndpointAction& a) {
  Counts c{};
  bump(c, ReconcileWhat::kPort);
  if (!a.veth.empty()) bump(c, ReconcileWhat::kVeth);
  if (!a.ovsdb.empty()) bump(c, ReconcileWhat::kOvsdb);
  return c;
}

Counts removed_counts(const ArtifactAction& a) {
  Counts c{};
  bump(c, a.what);
  return c;
}

Counts removed_counts(const MappingAction& a) {
  Counts c{};
  bump(c, ReconcileWhat::kMapping);
  if (a.pool_found) bump(c, ReconcileWhat::kPool);
  bump(c, ReconcileWhat::kReservation, a.reservations);
  return c;
}

Counts repaired_counts(const EndpointAction& a) {
  Counts c{};
  if (a.veth_missing) bump(c, ReconcileWhat::kVeth);
  if (a.ovsdb_missing) bump(c, ReconcileWhat::kOvsdb);
  return c;
}

ReconcilePlan plan_reconcile(const docker::DockerView& docker, const ModelView& model, const LinkView& links,
                             const OvsdbView& ovsdb, const ReconcileTimes& times, const InFlight& in_flight) {
  ReconcilePlan plan;
  plan.docker_reachable = docker.reachable;
  if (!docker.reachable) {
    plan.notes.push_back({"docker", "Docker's view is unknown: nothing removed or repaired"});
    return plan;
  }

  // Our owner-marked artifacts, by EndpointID.
  MarkIndex<LinkRecord> veths;
  for (const auto& l : links.links)
    if (auto eid = endpoint_of_alias(l.alias)) veths[*eid].push_back(&l);
  MarkIndex<OvsdbRecord> rows;
  for (const auto& i : ovsdb.interfaces)
    if (auto eid = endpoint_of_owner(i.owner)) rows[*eid].push_back(&i);

  // This node's infos, by EndpointID.
  std::map<std::string, const DockerInfoRecord*> infos;
  for (const auto& info : model.infos) {
    if (info.systemid != model.systemid) continue;
    if (!docker::is_docker_id(info.endpoint_id)) {
      plan.notes.push_back({info.port_id, "DockerInfo without a valid endpoint id: left alone"});
      continue;
    }
    infos[info.endpoint_id] = &info;
  }

  // 1. Endpoints with their info: keep and repair, or unplug.
  for (const auto& [eid, info] : infos) {
    if (in_flight.endpoints.count(eid) || !old_enough(info->created_us, times)) continue;
    EndpointAction a;
    a.endpoint_id = eid;
    a.port_id = schema::docker_port_id(eid);
    a.network_id = info->network_id;
    auto v = veths.find(eid);
    auto r = rows.find(eid);
    if (v != veths.end()) a.veth = v->second.front()->name;
    if (r != rows.end()) a.ovsdb = r->second.front()->name;
    if (docker.knows_endpoint(eid)) {
      a.veth_missing = a.veth.empty();
      a.ovsdb_missing = a.ovsdb.empty();
      if (!a.veth_missing && !a.ovsdb_missing) continue;
      a.reason = ReconcileReason::kMissing;
      add(plan.repaired, repaired_counts(a));
      plan.repair.push_back(std::move(a));
      continue;
    }
    // Docker does not list it: certain only when the info's network is listed with its
    // endpoints known, or not listed at all (its endpoints went with it).
    bool certain = info->network_id.empty()
                       ? docker.complete()
                       : docker.network_known(info->network_id) || !docker.lists_network(info->network_id);
    if (!certain) {
      plan.notes.push_back({eid, "its network's endpoints are unknown (Docker's answer failed): kept"});
      continue;
    }
    a.reason = ReconcileReason::kEndpointGone;
    add(plan.removed, removed_counts(a));
    plan.unplug.push_back(std::move(a));
  }

  // 2. Owner-marked artifacts without an info.
  std::set<std::string> noted;
  auto orphan = [&](const std::string& eid, ReconcileWhat what, const std::string& name,
                    const std::string& owner, std::optional<int64_t> created_us) {
    if (infos.count(eid) || in_flight.endpoints.count(eid) || !old_enough(created_us, times)) return;
    if (docker.knows_endpoint(eid)) {
      if (noted.insert(eid).second)
        plan.notes.push_back({eid, "Docker knows the endpoint but the model has no DockerInfo: kept"});
      return;
    }
    if (!docker.complete()) {
      if (noted.insert(eid).second)
        plan.notes.push_back({eid, "no DockerInfo, but some network's endpoints are unknown: kept"});
      return;
    }
    ArtifactAction a{what, eid, name, owner, ReconcileReason::kNoInfo};
    add(plan.removed, removed_counts(a));
    plan.orphans.push_back(std::move(a));
  };
  for (const auto& [eid, list] : rows)
    for (const OvsdbRecord* i : list) orphan(eid, ReconcileWhat::kOvsdb, i->name, i->owner, i->created_us);
  for (const auto& [eid, list] : veths)
    for (const LinkRecord* l : list) orphan(eid, ReconcileWhat::kVeth, l->name, l->alias, l->created_us);

  // 3. Mappings of networks Docker no longer lists.
  std::set<std::string> removed_networks, removed_pools;
  std::vector<MappingAction> mappings;
  for (const auto& m : model.mappings) {
    if (m.systemid != model.systemid || docker.lists_network(m.network_id)) continue;
    if (in_flight.networks.count(m.network_id) || in_flight.pools.count(m.pool_id)) continue;
    if (!old_enough(m.created_us, times)) continue;
    MappingAction a;
    a.mapping = m;
    a.pool_found = std::any_of(model.pools.begin(), model.pools.end(),
                               [&](const PoolRecord& p) { return p.pool_id == m.pool_id; });
    a.reservations = static_cast<size_t>(
        std::count_if(model.reservations.begin(), model.reservations.end(),
                      [&](const ReservationRecord& r) { return r.pool_id == m.pool_id; }));
    removed_networks.insert(m.network_id);
    if (!m.pool_id.empty()) removed_pools.insert(m.pool_id);
    mappings.push_back(std::move(a));
  }
  for (auto& a : mappings) {
    if (!a.mapping.created_lognet) continue;
    // Every other mapping naming the logical network (any node's), the removed ones executing
    // before this one (attachments first).
    a.remove_lognet = std::none_of(model.mappings.begin(), model.mappings.end(), [&](const MappingRecord& m) {
      return m.lognet_id == a.mapping.lognet_id && m.network_id != a.mapping.network_id &&
             !(removed_networks.count(m.network_id) && m.systemid == model.systemid && !m.created_lognet);
    });
    if (!a.remove_lognet)
      plan.notes.push_back({a.mapping.network_id, "logical network " + a.mapping.lognet_id +
                                                      " is still used by another mapping: kept"});
  }
  std::stable_partition(mappings.begin(), mappings.end(),
                        [](const MappingAction& a) { return !a.mapping.created_lognet; });
  for (auto& a : mappings) {
    add(plan.removed, removed_counts(a));
    plan.mappings.push_back(std::move(a));
  }

  // 4. Pools and reservations past their time (the ones of a removed mapping go with it).
  for (const auto& p : model.pools) {
    if (in_flight.pools.count(p.pool_id) || removed_pools.count(p.pool_id)) continue;
    if (!p.network_id.empty()) continue;  // bound: it goes with its network's mapping
    ReconcileReason why;
    if (p.released)
      why = ReconcileReason::kPoolReleased;
    else if (expired(p.systemid, p.expires_us, model, times))
      why = ReconcileReason::kPoolExpired;
    else
      continue;
    plan.pools.push_back({p.pool_id, why});
    bump(plan.removed, ReconcileWhat::kPool);
  }
  for (const auto& r : model.reservations) {
    if (in_flight.pools.count(r.pool_id) || removed_pools.count(r.pool_id)) continue;
    if (!expired(r.systemid, r.expires_us, model, times)) continue;
    plan.reservations.push_back({r.pool_id, r.ip, ReconcileReason::kReservationExpired});
    bump(plan.removed, ReconcileWhat::kReservation);
  }
  return plan;
}

CniPlan plan_cni_startup(const std::vector<CniStartupAttachment>& attachments, const LinkView& links,
                         const OvsdbView& ovsdb, const std::map<std::string, bool>& netns_exists,
                         const ReconcileTimes& times, const std::set<std::string>& in_flight_ports) {
  CniPlan plan;
  for (const auto& att : attachments) {
    if (in_flight_ports.count(att.port_id) || !old_enough(att.created_us, times)) continue;
    CniAction a;
    a.attachment = att;
    auto l = std::find_if(links.links.begin(), links.links.end(),
                          [&](const LinkRecord& r) { return !att.alias.empty() && r.alias == att.alias; });
    if (l != links.links.end()) a.veth = l->name;
    auto i = std::find_if(ovsdb.interfaces.begin(), ovsdb.interfaces.end(),
                          [&](const OvsdbRecord& r) { return !att.owner.empty() && r.owner == att.owner; });
    if (i != ovsdb.interfaces.end()) a.ovsdb = i->name;
    auto ns = netns_exists.find(att.netns);
    if (!att.netns.empty() && ns != netns_exists.end() && !ns->second)
      a.reason = ReconcileReason::kNetnsGone;
    else if (a.veth.empty())
      a.reason = ReconcileReason::kNoVeth;
    else
      continue;
    bump(plan.removed, ReconcileWhat::kPort);
    if (!a.veth.empty()) bump(plan.removed, ReconcileWhat::kVeth);
    if (!a.ovsdb.empty()) bump(plan.removed, ReconcileWhat::kOvsdb);
    plan.unplug.push_back(std::move(a));
  }
  return plan;
}

}  // namespace vlcp::containers
