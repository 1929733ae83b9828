// VLCP's network model (viperflow) in ObjectDB, with VLCP's keys and semantics: physical
// networks (vlan, vxlan, native, local) with their id ranges and allocations, and logical
// networks allocated from them. Every call is one transaction (batch forms included), takes
// JSON parameters as the WebAPI passes them and answers as VLCP does: created and updated
// objects dumped ({"_type", "_key", fields; references nested}), {"status": "OK"} for deletes.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "db/objectdb.h"

namespace vlcp::model {

using Json = nlohmann::json;
using Done = std::function<void(Result<Json>)>;

// VLCP's keys.
std::string physical_network_key(const std::string& id);
std::string physical_network_map_key(const std::string& id);
inline constexpr const char* kPhysicalNetworkSet = "viperflow.physicalnetworkset";
std::string logical_network_key(const std::string& id);
std::string logical_network_map_key(const std::string& id);
inline constexpr const char* kLogicalNetworkSet = "viperflow.logicalnetworkset";

// A random id in uuid form (VLCP's default ids).
std::string new_id();

class ViperFlow {
 public:
  explicit ViperFlow(db::ObjectDb& db) : db_(db) {}

  // specs: a JSON array of parameter objects (the batch form); the single forms pass one.
  void create_physical_networks(Json specs, Done done);
  void update_physical_networks(Json specs, Done done);
  void delete_physical_networks(Json specs, Done done);
  void list_physical_networks(Json filters, Done done);

  void create_logical_networks(Json specs, Done done);
  void update_logical_networks(Json specs, Done done);
  void delete_logical_networks(Json specs, Done done);
  void list_logical_networks(Json filters, Done done);

 private:
  void list(const char* set_key, const char* type, Json filters, Done done);
  db::ObjectDb& db_;
};

}  // namespace vlcp::model
