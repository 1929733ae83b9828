// The network model's object kinds, declared once: VLCP's key prefixes and `_type` names, what
// each kind belongs to, its ObjectDB indices, its WebAPI methods and its vlcpctl noun and
// columns. src/model, src/api (the viperflow and vrouterapi modules), src/cli (vlcpctl) and the
// apps derive from this table; no other file spells a "viperflow." key (tests/unit/schema checks).
// Data only, header only: every layer that knows the model may include it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vlcp::schema {

enum class Kind : uint8_t {
  kPhysicalNetwork,
  kLogicalNetwork,
  kPhysicalPort,
  kSubnet,
  kLogicalPort,
  kRouter,
  kRouterInterface,
  kLocation,  // where a logical port is (VXLAN): written by the node that hosts it
  // What forwarding nodes (module.l3router.enable_router_forward) publish about themselves:
  // VLCP's DVRouterForwardInfo (per pair of physical networks: the nodes that carry routed
  // traffic from one to the other, and their router MAC on the first) and its single
  // DVRouterExternalAddressInfo (the address each took from an external subnet).
  kForwardInfo,
  kExternalAddressInfo,
  // Containers (docs/CONTAINERS_DESIGN.md §2.5; written by the nodes' Docker and CNI plugins,
  // never by users): VLCP's Docker plugin objects, one per IPAM pool, per reserved address, per
  // Docker network mapped to a logical network, per container port; and the CNI plugin's
  // per-port info. The two infos are deleted with their port.
  kDockerPool,
  kDockerReservation,
  kDockerNetwork,
  kDockerInfo,
  kCniInfo,
  kCount
};

// The WebAPI methods of a kind: <verb><singular> (one object: the parameters are its spec) and
// <verb><plural> (the batch form: `batch`=[{...}], one transaction); list<plural> takes filters.
struct Api {
  std::string_view module = {};  // "": not in the WebAPI (written by the nodes, not by users)
  std::string_view singular = {}, plural = {}, batch = {};
  std::string_view create = "create", update = "update", remove = "delete", list = "list";  // "": none
  std::string_view params = {};  // what a create takes, for discover's help
};

// vlcpctl's verbs for a kind: `vlcpctl NOUN ACTION [ID] [--PARAM VALUE ...]`, results as a table
// of `columns` (space-separated). A kind without a noun of its own is reached through its
// parent's noun, with its own action words (a router's interfaces: router add-interface ...).
struct Cli {
  std::string_view noun = {};
  std::string_view create = "create", update = "update", remove = "delete", list = "list";  // "": none
  std::string_view network = {};  // the parameter --network stands for
  std::string_view columns = {};
};

struct KindInfo {
  Kind kind = Kind::kCount;
  std::string_view display = {};  // in messages: "logical port"
  std::string_view type = {};     // VLCP's "_type" in dumps
  // A key is the prefix and the escaped id (a physical port: vhost.systemid.bridge.name).
  std::string_view key_prefix = {};
  std::string_view map_prefix = {};    // the map object beside each object (same id), if any
  std::string_view set_key = {};       // VLCP's set object listing them, if any
  std::string_view id_field = "id";    // the parameter that names one object
  std::optional<Kind> parent = {};     // what it belongs to
  std::string_view parent_field = {};  // where it keeps its parent's key
  std::string_view parent_param = {};  // the parameter (and list filter) naming the parent by id
  bool deleted_with_parent = false;    // an ObjectDB cascade: the parent's delete deletes it
  Api api = {};
  Cli cli = {};

  // ObjectDB's class prefix (VLCP's `_prefix`): the key prefix without its final dot.
  constexpr std::string_view class_prefix() const { return key_prefix.substr(0, key_prefix.size() - 1); }
  constexpr bool in_api() const { return !api.module.empty(); }
};

// ObjectDB's indices of the model (VLCP's _unique_keys and multi keys): by `fields` of `owner`'s
// objects; `space` shares one index between kinds (addresses of ports and router interfaces).
struct IndexInfo {
  Kind owner;
  std::string_view name;
  std::array<std::string_view, 2> fields;  // "" after the last one
  bool unique;
  std::optional<Kind> space = {};
};

// Keys that are no kind's: every model key starts with kNamespace; a fence guards an object
// while its members are listed (model/common.h).
inline constexpr std::string_view kNamespace = "viperflow.";
inline constexpr std::string_view kFencePrefix = "viperflow.fence.";
// The ports whose location names a node, by node (<prefix><escaped systemid>.<escaped port id>,
// {"bridge"}): written in the location's own transaction by the L2 app of that node, so that a
// node following only part of the model (ARCHITECTURE §16) finds, after a restart, the locations
// it published for ports that were unbound or moved while it was down.
inline constexpr std::string_view kHostedPrefix = "viperflow.hostedport.";
// vlcpctl trace across servers (docs/TRACE_DESIGN.md §7): a node record per live vlcpd
// (<prefix><systemid>), and the trace mailbox's bounded slots: requests
// (<prefix><requester>.<slot>) and answers (<prefix><requester>.<slot>.<answerer>).
inline constexpr std::string_view kNodePrefix = "viperflow.vlcpnode.";
inline constexpr std::string_view kTraceRequestPrefix = "viperflow.tracerequest.";
inline constexpr std::string_view kTraceAnswerPrefix = "viperflow.traceanswer.";

inline constexpr KindInfo kKinds[] = {
    {.kind = Kind::kPhysicalNetwork,
     .display = "physical network",
     .type = "vlcp.utils.networkmodel.PhysicalNetwork",
     .key_prefix = "viperflow.physicalnetwork.",
     .map_prefix = "viperflow.physicalnetworkmap.",
     .set_key = "viperflow.physicalnetworkset",
     .api = {.module = "viperflow",
             .singular = "physicalnetwork",
             .plural = "physicalnetworks",
             .batch = "networks",
             .params = "id?, type=vlan|vxlan|native|local, vlanrange|vnirange=[[start, end]]"},
     .cli = {.noun = "physicalnetwork", .columns = "id type vlanrange vnirange"}},
    {.kind = Kind::kLogicalNetwork,
     .display = "logical network",
     .type = "vlcp.utils.networkmodel.LogicalNetwork",
     .key_prefix = "viperflow.logicnetwork.",
     .map_prefix = "viperflow.logicnetworkmap.",
     .set_key = "viperflow.logicalnetworkset",
     .parent = Kind::kPhysicalNetwork,
     .parent_field = "physicalnetwork",
     .parent_param = "physicalnetwork",
     .api = {.module = "viperflow",
             .singular = "logicalnetwork",
             .plural = "logicalnetworks",
             .batch = "networks",
             .params = "id?, physicalnetwork, vlanid|vni?"},
     .cli = {.noun = "logicalnetwork",
             .network = "physicalnetwork",
             .columns = "id physicalnetwork vlanid vni mtu"}},
    {.kind = Kind::kPhysicalPort,
     .display = "physical port",
     .type = "vlcp.utils.networkmodel.PhysicalPort",
     .key_prefix = "viperflow.physicalport.",
     .set_key = "viperflow.physicalportset",
     .id_field = "name",
     .parent = Kind::kPhysicalNetwork,
     .parent_field = "physicalnetwork",
     .parent_param = "physicalnetwork",
     .api = {.module = "viperflow",
             .singular = "physicalport",
             .plural = "physicalports",
             .batch = "ports",
             .params = "name, physicalnetwork, vhost?, systemid?, bridge?"},
     .cli = {.noun = "physicalport",
             .network = "physicalnetwork",
             .columns = "name physicalnetwork vhost systemid bridge"}},
    {.kind = Kind::kSubnet,
     .display = "subnet",
     .type = "vlcp.utils.networkmodel.SubNet",
     .key_prefix = "viperflow.subnet.",
     .map_prefix = "viperflow.subnetmap.",
     .set_key = "viperflow.subnetset",
     .parent = Kind::kLogicalNetwork,
     .parent_field = "network",
     .parent_param = "logicalnetwork",
     .api = {.module = "viperflow",
             .singular = "subnet",
             .plural = "subnets",
             .batch = "subnets",
             .params = "id?, logicalnetwork, cidr, gateway?, allocated_start?, allocated_end?"},
     .cli = {.noun = "subnet",
             .network = "logicalnetwork",
             .columns = "id network cidr gateway allocated_start allocated_end"}},
    {.kind = Kind::kLogicalPort,
     .display = "logical port",
     .type = "vlcp.utils.networkmodel.LogicalPort",
     .key_prefix = "viperflow.logicalport.",
     .parent = Kind::kLogicalNetwork,
     .parent_field = "network",
     .parent_param = "logicalnetwork",
     .api = {.module = "viperflow",
             .singular = "logicalport",
             .plural = "logicalports",
             .batch = "ports",
             .params = "id?, logicalnetwork, subnet?, mac_address?, ip_address?"},
     .cli = {.noun = "logicalport",
             .network = "logicalnetwork",
             .columns = "id network subnet mac_address ip_address"}},
    {.kind = Kind::kRouter,
     .display = "router",
     .type = "vlcp.utils.networkmodel.VRouter",
     .key_prefix = "viperflow.vrouter.",
     .set_key = "viperflow.vrouterset",
     .api = {.module = "vrouterapi",
             .singular = "virtualrouter",
             .plural = "virtualrouters",
             .batch = "routers",
             .params = "id?, routes=[[prefix, nexthop]]"},
     .cli = {.noun = "router", .columns = "id routes interfaces"}},
    {.kind = Kind::kRouterInterface,
     .display = "router interface",
     .type = "vlcp.utils.networkmodel.RouterPort",
     .key_prefix = "viperflow.routerport.",
     .parent = Kind::kRouter,
     .parent_field = "router",
     .parent_param = "router",
     .api = {.module = "vrouterapi",
             .singular = "routerinterface",
             .plural = "routerinterfaces",
             .batch = "interfaces",
             .create = "add",
             .update = "",
             .remove = "remove",
             .params = "router, subnet, id?, ip_address? (default: the gateway)"},
     .cli = {.create = "add-interface",
             .update = "",
             .remove = "remove-interface",
             .list = "interfaces",
             .columns = "id router subnet ip_address"}},
    {.kind = Kind::kLocation,
     .display = "logical port location",
     .type = "vlcp.utils.networkmodel.LogicalPortVXLANInfo",
     .key_prefix = "viperflow.logicalportvxlaninfo.",
     .parent = Kind::kLogicalPort,
     .deleted_with_parent = true},
    {.kind = Kind::kForwardInfo,
     .display = "router forwarding info",
     .type = "vlcp.utils.networkmodel.DVRouterForwardInfo",
     .key_prefix = "viperflow.dvrouterforwardinfo."},
    // One object (the key is the whole prefix): {"info": [[systemid, bridge, vhost, subnet id,
    // external ip, expire_us]]}.
    {.kind = Kind::kExternalAddressInfo,
     .display = "router external address info",
     .type = "vlcp.utils.networkmodel.DVRouterExternalAddressInfo",
     .key_prefix = "viperflow.dvrouterexternaladdressinfo"},
    // {id, cidr, subpool, gateway, systemid, expires, network, subnet, released}: an IPAM pool
    // (RequestPool; a new id each time, so two networks may use one CIDR); bound to a Docker
    // network (and its subnet) by CreateNetwork.
    {.kind = Kind::kDockerPool,
     .display = "Docker IPAM pool",
     .type = "vlcp_docker.dockerplugin.IPAMPoolReserve",
     .key_prefix = "viperflow.dockerplugin.ipampool."},
    // {pool, subnet, ip_address, systemid, expires}: an address RequestAddress reserved, keyed by
    // pool and address, held in its subnet's address index (shared with ports and router
    // interfaces) until CreateEndpoint consumes it, ReleaseAddress drops it or it expires.
    {.kind = Kind::kDockerReservation,
     .display = "Docker IPAM reservation",
     .type = "vlcp_docker.dockerplugin.IPAMReserve",
     .key_prefix = "viperflow.dockerplugin.ipamreserve.",
     .parent = Kind::kSubnet,
     .parent_field = "subnet"},
    // {id (the NetworkID), lognet, subnet, pool, systemid, created_lognet, state}: a Docker
    // network and the logical network it is (created by it, or attached with -o logicalnetwork).
    {.kind = Kind::kDockerNetwork,
     .display = "Docker network",
     .type = "vlcp_docker.dockerplugin.DockerNetwork",
     .key_prefix = "viperflow.dockerplugin.network.",
     .parent = Kind::kLogicalNetwork,
     .parent_field = "lognet"},
    // A Docker endpoint's port: {endpoint, network, systemid, created, docker_port (the host veth),
    // ...}; the port's id is docker-<EndpointID>.
    {.kind = Kind::kDockerInfo,
     .display = "Docker port info",
     .type = "vlcp_docker.dockerplugin.DockerInfo",
     .key_prefix = "viperflow.dockerplugin.portinfo.",
     .parent = Kind::kLogicalPort,
     .deleted_with_parent = true},
    // A CNI attachment's port: {containerid, ifname, netns, systemid, created, ...}; the port's id
    // is k8s-<containerid> (k8s-<containerid>-<ifname> for another interface than eth0).
    {.kind = Kind::kCniInfo,
     .display = "CNI port info",
     .type = "vlcp_k8s.cniserver.CNIInfo",
     .key_prefix = "viperflow.cniplugin.portinfo.",
     .parent = Kind::kLogicalPort,
     .deleted_with_parent = true},
};

inline constexpr IndexInfo kIndices[] = {
    // A logical port's MAC is unique in its network.
    {Kind::kLogicalPort, "mac", {"network", "mac_address"}, true},
    // Addresses are unique per subnet (subnets of one network do not overlap) across logical
    // ports and router interfaces: one index space for both.
    {Kind::kLogicalPort, "ip", {"subnet", "ip_address"}, true, Kind::kSubnet},
    {Kind::kRouterInterface, "ip", {"subnet", "ip_address"}, true, Kind::kSubnet},
    // A network's and a subnet's ports.
    {Kind::kLogicalPort, "network", {"network"}, false},
    {Kind::kLogicalPort, "subnet", {"subnet"}, false},
    // A Docker IPAM reservation holds its address in the same index space: a reserved address is
    // taken for ports and router interfaces, and a port consumes it in the commit that creates it.
    {Kind::kDockerReservation, "ip", {"subnet", "ip_address"}, true, Kind::kSubnet},
    // The Docker networks mapped to a logical network (one per server that attached it).
    {Kind::kDockerNetwork, "lognet", {"lognet"}, false},
};

inline constexpr size_t kKindCount = static_cast<size_t>(Kind::kCount);
static_assert(std::size(kKinds) == kKindCount, "one entry in kKinds per Kind");
constexpr bool kinds_in_order() {
  for (size_t i = 0; i < std::size(kKinds); ++i)
    if (static_cast<size_t>(kKinds[i].kind) != i) return false;
  return true;
}
static_assert(kinds_in_order(), "kKinds is in the order of enum Kind");

constexpr const KindInfo& kind(Kind k) {
  return kKinds[static_cast<size_t>(k)];
}

// The kind whose keys `key` is under (the longest prefix wins: logicalportvxlaninfo over
// logicalport), if any.
constexpr std::optional<Kind> kind_of_key(std::string_view key) {
  std::optional<Kind> best;
  size_t best_size = 0;
  for (const auto& k : kKinds)
    if (key.substr(0, k.key_prefix.size()) == k.key_prefix && k.key_prefix.size() > best_size) {
      best = k.kind;
      best_size = k.key_prefix.size();
    }
  return best;
}

// The kind's multi index by its parent (the one listing a parent's members), if it has one.
constexpr const IndexInfo* parent_index(Kind k) {
  for (const auto& i : kIndices)
    if (i.owner == k && !i.unique && i.fields[1].empty() && i.fields[0] == kind(k).parent_field) return &i;
  return nullptr;
}

}  // namespace vlcp::schema
