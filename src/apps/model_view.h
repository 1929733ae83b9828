// The network model as the apps on this node see it: ONE set of ObjectDB prefix watches shared
// by every app (the kinds they read, from schema/kinds.h), typed objects, loaded once at one
// snapshot before any switch is reconciled (a partial view would delete flows that traffic
// uses), then updated by version; every change is reported, by kind, to every subscriber.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/objectdb.h"
#include "model/common.h"
#include "schema/kinds.h"

namespace vlcp::apps {

// A string field of a stored value: "" when it is absent or not a string (what the store holds is
// untrusted: a wrong type is never thrown on).
std::string text_field(const nlohmann::json& value, const char* field);

struct PhysicalNetworkObj {
  std::string key, type;  // vlan, vxlan, native, local
  nlohmann::json value;
};
struct LogicalNetworkObj {
  std::string key, physnet;       // its physical network's key
  std::optional<uint32_t> netid;  // from its map (allocated cluster-wide at creation)
  uint32_t segment = 0;           // VLAN id or VNI
  nlohmann::json value;
};
struct LogicalPortObj {
  std::string id, network;  // id as given; network: the logical network's key
  std::optional<model::detail::Mac> mac;
  nlohmann::json value;
  std::string subnet;          // its subnet's key ("" none)
  std::optional<uint32_t> ip;  // its address (host order)
};
struct SubnetObj {
  std::string key, network;                 // network: its logical network's key
  std::optional<model::detail::Cidr> cidr;  // none: not a valid "ADDRESS/PREFIX"
  std::optional<uint32_t> gateway;
  bool external = false;  // isexternal
  std::string router;     // the router interface attached to it ("" none; never external)
  nlohmann::json value;
};
struct RouterObj {
  std::string key;
  std::vector<std::string> interfaces;                           // router interface keys
  std::vector<std::pair<model::detail::Cidr, uint32_t>> routes;  // [prefix, nexthop] (malformed ones skipped)
  nlohmann::json value;
};
struct RouterInterfaceObj {
  std::string key, router, subnet;  // keys
  std::optional<uint32_t> ip;       // its own address; none: the subnet's gateway
  nlohmann::json value;
};
struct PhysicalPortObj {
  std::string key, physnet;
};

// What changed: an object of `kind` (`map`: its map object), by key (logical ports and
// locations: the port's key part, the id as stored in keys). `parents`: the logical networks
// the object was and is in (a logical port moved between networks names both; a subnet, its
// network; a router interface, its subnet's network; a router, its interfaces' networks).
struct ModelChange {
  schema::Kind kind;
  bool map = false;
  std::string key;
  std::set<std::string> parents;
};

class ModelView {
 public:
  using After = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  ModelView(db::ObjectDb& db, After after, std::set<schema::Kind> kinds = {});
  ~ModelView();
  ModelView(const ModelView&) = delete;
  ModelView& operator=(const ModelView&) = delete;

  // Watches these kinds too (before start: the host adds every app's reads()).
  void watch(const std::set<schema::Kind>& kinds);
  void start();         // opens the watches and loads the model (retrying while unreachable)
  bool loaded() const;  // every watched prefix listed and read once
  const std::set<schema::Kind>& kinds() const { return kinds_; }
  // Changes in commit order per key, after the load; `on_loaded` once the first load is done.
  using Listener = std::function<void(const ModelChange&)>;
  void subscribe(Listener listener) { listeners_.push_back(std::move(listener)); }
  std::vector<std::function<void()>> on_loaded;

  const std::map<std::string, PhysicalNetworkObj>& physical_networks() const { return physnets_; }
  const std::map<std::string, LogicalNetworkObj>& logical_networks() const { return lognets_; }
  const std::map<std::string, LogicalPortObj>& logical_ports() const { return ports_; }  // by key part
  const std::map<std::string, PhysicalPortObj>& physical_ports() const { return physports_; }
  const std::map<std::string, nlohmann::json>& locations() const { return locations_; }  // by port key part
  // The logical ports (key parts) of a logical network.
  const std::set<std::string>& ports_of(const std::string& network) const;
  const std::map<std::string, SubnetObj>& subnets() const { return subnets_; }  // by key
  const std::map<std::string, RouterObj>& routers() const { return routers_; }  // by key
  const std::map<std::string, RouterInterfaceObj>& router_interfaces() const { return interfaces_; }
  // The subnets (keys) of a logical network.
  const std::set<std::string>& subnets_of(const std::string& network) const;
  // The logical network a subnet is in ("" unknown).
  std::string network_of_subnet(const std::string& subnet) const;
  // `networks` and every logical network that shares a router with one of them (what a change
  // of their ports touches for the apps that route: a network is routed on a server because
  // another network of its router has a port there).
  std::set<std::string> with_router_neighbours(const std::set<std::string>& networks) const;
  // Objects of the kinds watched but not typed above (maps, ...), by key.
  const std::map<std::string, nlohmann::json>& others() const { return others_; }
  size_t versions_kept() const { return versions_.size(); }

 private:
  void load();
  void on_update(const db::KeyUpdate& u);
  void report(const ModelChange& c);

  db::ObjectDb& db_;
  After after_;
  std::set<schema::Kind> kinds_;
  std::vector<std::string> prefixes_;
  db::WatchId watch_ = 0;
  bool loaded_ = false;
  std::vector<Listener> listeners_;
  std::map<std::string, PhysicalNetworkObj> physnets_;
  std::map<std::string, LogicalNetworkObj> lognets_;
  std::map<std::string, uint32_t> netids_;  // logical network key -> netid (its map may come first)
  std::map<std::string, LogicalPortObj> ports_;
  std::map<std::string, std::set<std::string>> by_net_;
  std::map<std::string, PhysicalPortObj> physports_;
  std::map<std::string, nlohmann::json> locations_;
  std::map<std::string, SubnetObj> subnets_;
  std::map<std::string, std::set<std::string>> subnets_by_net_;
  std::map<std::string, RouterObj> routers_;
  std::map<std::string, RouterInterfaceObj> interfaces_;
  std::map<std::string, nlohmann::json> others_;
  std::map<std::string, uint64_t> versions_;  // key -> version applied
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::apps
