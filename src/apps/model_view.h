// The network model as the apps on this node see it: ONE set of ObjectDB watches shared by every
// app (the kinds they read, from schema/kinds.h), typed objects, loaded before any switch is
// reconciled (a partial view would delete flows that traffic uses), then updated by version;
// every change is reported, by kind, to every subscriber. Either the whole model (ModelSync::kAll)
// or what this node's bound ports need (kInterest, docs/SCALE_DESIGN.md §2): the physical kinds
// whole, logical networks with their members, subnets and routers by interest, a network's ports
// published only once all of it (and its router neighbours) has been read.
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

#include "base/config.h"
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

// How much of the model a node follows: all of it, or what its bound ports need.
enum class ModelSync { kAll, kInterest };

// X(field, key, C++ type, default, help): how much of the model the node's view follows.
#define VLCP_MODEL_VIEW_KEYS(X)                                                                            \
  X(modelsync, "module.ioprocessing.modelsync", std::string, "interest",                                   \
    "how much of the network model this node follows: interest (the networks of its bound ports and "      \
    "their router neighbours) or all (every object; a forwarding node, "                                   \
    "module.l3router.enable_router_forward, follows all)")                                                 \
  X(interestlinger, "module.ioprocessing.interestlinger", double, 10.0,                                    \
    "seconds a network no longer wanted (no bound port, not a router neighbour) is kept before it is let " \
    "go")
struct ModelViewSettings {
  ModelSync sync = ModelSync::kInterest;
  std::chrono::milliseconds linger{10000};
};
Result<ModelViewSettings> read_model_view_settings(const Config& config);

// What the interest model holds (ModelView::interest_stats, ioprocessing/status).
struct InterestStats {
  size_t ports_bound = 0;         // iface-ids wanted (want_ports, every source)
  size_t networks_wanted = 0;     // primary and neighbour networks
  size_t networks_lingering = 0;  // no longer wanted, not dropped yet
  size_t networks_ready = 0;      // read once whole
  size_t networks_published = 0;  // their ports visible to the apps
  size_t ports_published = 0;     // logical_ports()
  size_t keys_watched = 0;        // by name (ports, locations, networks, subnets, routers, ...)
  size_t prefixes_watched = 0;    // the global kinds' and one member index per network
};

class ModelView {
 public:
  using After = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  ModelView(db::ObjectDb& db, After after, std::set<schema::Kind> kinds = {},
            ModelSync sync = ModelSync::kAll);
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

  // ---- the interest model (ModelSync::kInterest; with kAll these ask nothing and hold nothing)
  ModelSync sync() const { return sync_; }
  // How long a network no longer wanted stays (a port that flaps does not reload its network).
  void set_linger(std::chrono::milliseconds linger) { linger_ = linger; }
  // The logical ports (OVSDB iface-ids) bound on this node, per source (the host: "switches");
  // replaces what `source` wanted before. Their networks and router neighbours are followed.
  void want_ports(const std::string& source, std::set<std::string> iface_ids);
  // Every id's logical port is known absent, or published with its network (kAll: the model is
  // loaded). A switch is reconciled only then: flows of a network still loading are not deleted.
  bool ready_for(const std::set<std::string>& iface_ids) const;
  // After ready_for may have become true for more ids (a network published, bound ports read).
  std::vector<std::function<void()>> on_ready;
  InterestStats interest_stats() const;

 private:
  // A logical network followed by interest: one ObjectDB watch holds its member index prefix and
  // every key its closure names (closed together when it is dropped).
  struct Interest {
    db::WatchId watch = 0;
    std::set<std::string> keys;                  // watched by name
    std::set<std::string> unread;                // watched, first read not back yet
    std::map<std::string, std::string> members;  // member index entry key -> port key part
    std::set<std::string> gone;                  // entries deleted before the listing came
    bool listed = false, published = false;
    uint64_t linger = 0;  // not wanted since the timer of this generation (0: wanted)
    bool ready() const { return listed && unread.empty(); }
  };
  bool interest() const { return sync_ == ModelSync::kInterest; }
  void load();
  void on_update(const db::KeyUpdate& u);
  bool apply(const db::KeyUpdate& u);  // false: older than what was applied
  void report(const ModelChange& c);
  // Interest: the visible port (and location) follow the one read and its network's publication.
  bool published(const std::string& network) const;
  // `updated`: the object read changed (reported even when its visibility did not); `later`:
  // the changes are collected there instead of reported.
  void show_port(const std::string& pid, bool updated, std::vector<ModelChange>* later = nullptr);
  void show_location(const std::string& pid, bool updated, std::vector<ModelChange>* later = nullptr);
  void on_net_update(const std::string& net, const db::KeyUpdate& u);
  void list_members(const std::string& net);
  void read_keys(std::vector<std::string> keys, const std::string& net);  // net "": bound ports
  bool unread(const std::string& key, const std::string& net) const;
  void schedule_reconcile();
  void reconcile();  // wanted networks, each one's closure, publication
  void expand(const std::string& net, Interest& in);
  void publish();
  void drop(const std::string& net);
  void release(const std::string& key, const std::string& holder);
  void forget(const std::string& key);  // a key no longer held: its object goes (reported)

  ModelSync sync_;

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
  // Interest: what was read (the maps above hold what is published), what is followed.
  std::map<std::string, LogicalPortObj> raw_ports_;
  std::map<std::string, nlohmann::json> raw_locations_;
  std::map<std::string, std::vector<std::string>> net_subnets_;  // network -> its map's subnets
  std::map<std::string, std::set<std::string>> want_by_source_;
  std::set<std::string> bound_, bound_unread_;  // port key parts wanted; not read yet
  std::map<std::string, Interest> nets_;
  std::set<std::string> primary_;                         // networks of bound ports
  std::map<std::string, std::set<std::string>> holders_;  // key -> networks holding it ("": bound)
  std::chrono::milliseconds linger_{10000};
  uint64_t next_linger_ = 0;
  bool reconcile_scheduled_ = false, readiness_changed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::apps
