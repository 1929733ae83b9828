// VLCP's network model (viperflow) in ObjectDB, with VLCP's keys and semantics: physical
// networks (vlan, vxlan, native, local) with their id ranges and allocations, logical networks
// allocated from them, subnets (IPv4 pools) and logical ports (addresses from the pools, MAC
// and IP unique per network). Every call is one transaction (batch forms included), takes
// JSON parameters as the WebAPI passes them and answers as VLCP does: created and updated
// objects dumped ({"_type", "_key", fields; references nested}), {"status": "OK"} for deletes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "db/objectdb.h"
#include "schema/kinds.h"

namespace vlcp::model {

using Json = nlohmann::json;
using Done = std::function<void(Result<Json>)>;

// VLCP's keys, from the declaration of the kinds (schema/kinds.h): a kind's key prefix and the
// escaped id; the map object beside it (physical and logical networks, subnets).
std::string key_of(schema::Kind kind, const std::string& id);
std::string map_key(schema::Kind kind, const std::string& id);
// A kind's `_type` and set object, as C strings.
constexpr const char* type_of(schema::Kind kind) {
  return schema::kind(kind).type.data();
}
constexpr const char* set_key_of(schema::Kind kind) {
  return schema::kind(kind).set_key.data();
}
std::string physical_network_key(const std::string& id);
std::string physical_network_map_key(const std::string& id);
inline constexpr const char* kPhysicalNetworkSet = set_key_of(schema::Kind::kPhysicalNetwork);
std::string logical_network_key(const std::string& id);
std::string logical_network_map_key(const std::string& id);
inline constexpr const char* kLogicalNetworkSet = set_key_of(schema::Kind::kLogicalNetwork);
// A logical network's number in flows (registers, group ids), kept in its map as "netid":
// allocated from the set object's "next_netid" counter, unique in the cluster, never reused.
inline constexpr int64_t kMaxNetId = 0xffffff;
std::string physical_port_key(const std::string& vhost, const std::string& systemid,
                              const std::string& bridge, const std::string& name);
inline constexpr const char* kPhysicalPortSet = set_key_of(schema::Kind::kPhysicalPort);
// Where a server's port named `name` on `bridge` may be declared, most specific first: the
// exact server and bridge, any bridge of the server, the bridge on any server, anywhere.
std::vector<std::string> physical_port_candidates(const std::string& vhost, const std::string& systemid,
                                                  const std::string& bridge, const std::string& name);
std::string subnet_key(const std::string& id);
std::string subnet_map_key(const std::string& id);
inline constexpr const char* kSubnetSet = set_key_of(schema::Kind::kSubnet);
std::string logical_port_key(const std::string& id);
std::string router_key(const std::string& id);
std::string router_port_key(const std::string& id);
inline constexpr const char* kRouterSet = set_key_of(schema::Kind::kRouter);

// The indices and cascades the model needs (schema::kIndices, and each kind deleted with its
// parent), declared on a database before it is used: a logical port's MAC and its IP are unique
// within its logical network; deleting a port deletes its VXLAN location record.
void declare_indices(db::ObjectDb& db);

// A random id in uuid form (VLCP's default ids).
std::string new_id();

struct AddressHints;  // where this node looks for free addresses first (ports.cc)

// Calls may outlive the object (their callbacks hold what they need), but a node should keep
// one per database: it carries the node's address hints.
class ViperFlow {
 public:
  explicit ViperFlow(db::ObjectDb& db);

  // specs: a JSON array of parameter objects (the batch form); the single forms pass one.
  void create_physical_networks(Json specs, Done done);
  void update_physical_networks(Json specs, Done done);
  void delete_physical_networks(Json specs, Done done);
  void list_physical_networks(Json filters, Done done);

  void create_logical_networks(Json specs, Done done);
  void update_logical_networks(Json specs, Done done);
  void delete_logical_networks(Json specs, Done done);
  void list_logical_networks(Json filters, Done done);

  void create_physical_ports(Json specs, Done done);
  void update_physical_ports(Json specs, Done done);
  void delete_physical_ports(Json specs, Done done);
  void list_physical_ports(Json filters, Done done);
  // The most specific physical port that applies to port `name` of `bridge` on server
  // `systemid` (null when none does), at one snapshot.
  void find_physical_port(const std::string& vhost, const std::string& systemid, const std::string& bridge,
                          const std::string& name, Done done);

  void create_subnets(Json specs, Done done);
  void update_subnets(Json specs, Done done);
  void delete_subnets(Json specs, Done done);
  void list_subnets(Json filters, Done done);

  void create_logical_ports(Json specs, Done done);
  void update_logical_ports(Json specs, Done done);
  void delete_logical_ports(Json specs, Done done);
  void list_logical_ports(Json filters, Done done);

  // vrouterapi
  void create_routers(Json specs, Done done);
  void update_routers(Json specs, Done done);
  void delete_routers(Json specs, Done done);
  void list_routers(Json filters, Done done);
  void add_router_interfaces(Json specs, Done done);     // [{router, subnet, id?, ip_address?}]
  void remove_router_interfaces(Json specs, Done done);  // [{router, subnet}]
  void list_router_interfaces(Json filters, Done done);  // {id: router id, filters...}

  // The calls behind each kind's WebAPI methods (schema::Api: create, update, remove, list; null
  // where the kind has no such verb). The WebAPI derives its routes from schema::kKinds and these.
  using Call = void (ViperFlow::*)(Json, Done);
  struct Calls {
    Call create = nullptr, update = nullptr, remove = nullptr, list = nullptr;
  };
  static Calls calls(schema::Kind kind);

 private:
  // The objects of a kind (or the one named by `only`) matching the filters, dumped.
  void list_set(schema::Kind kind, Json filters, Done done, std::optional<std::string> only = std::nullopt);
  static void walk_members(db::ObjectDb& db, schema::Kind kind, Json filters, std::vector<std::string> keys,
                           bool is_set, Done done);
  static void load_hints(db::ObjectDb& db, std::shared_ptr<AddressHints> hints,
                         std::vector<std::string> subnets, std::function<void()> then);
  db::ObjectDb& db_;
  std::shared_ptr<AddressHints> hints_;
};

}  // namespace vlcp::model
