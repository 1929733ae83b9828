// Containers on VLCP networks, the model side (docs/CONTAINERS_DESIGN.md §2.3, §2.5, §3 step 1,
// §5.2): the Docker plugin's IPAM pools and reserved addresses, Docker networks mapped to logical
// networks, and both plugins' endpoints (a logical port with its DockerInfo or CNI info). Every
// call is ObjectDB transactions on the model's own rules — the subnet's address index shared with
// ports and router interfaces (a reservation holds its address there), the MAC index, the
// subnet's pool (range, gateway), fences — through model/common.h, never a second copy of them.
//
// Errors are the model's codes, for the plugins to map (§2.6): kInvalidArgument refused input
// (422), kAlreadyExists / kConflict a conflict (409), kNotFound an unknown pool or network (409
// for Docker: it knows them, we lost them), kUnavailable the store unreachable (503). Deletes and
// releases of what is not there succeed.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "db/objectdb.h"
#include "model/viperflow.h"
#include "schema/kinds.h"

namespace vlcp::model {

// VLCP's ids: docker-<NetworkID>-lognet, docker-<NetworkID>-subnet, docker-<EndpointID>,
// k8s-<containerid> (k8s-<containerid>-<ifname> for an interface other than eth0), and our pool
// ids vlcp-<uuid> (a new one per RequestPool).
std::string docker_lognet_id(const std::string& network_id);
std::string docker_subnet_id(const std::string& network_id);
std::string docker_port_id(const std::string& endpoint_id);
std::string cni_port_id(const std::string& container_id, const std::string& ifname);
std::string new_pool_id();

// The objects' keys (schema/kinds.h's prefixes and the escaped ids).
std::string docker_pool_key(const std::string& pool_id);
std::string docker_reservation_key(const std::string& pool_id, const std::string& ip);
std::string docker_network_key(const std::string& network_id);
std::string docker_info_key(const std::string& port_id);
std::string cni_info_key(const std::string& port_id);

// MAC addresses as VLCP's plugins made them: the template XOR hash(subnet id) << 8 XOR the
// address (Docker), or the template XOR 24 random low bits (on a MAC conflict; CNI). nullopt
// when the template or the address is not one.
std::optional<std::string> docker_mac(const std::string& mac_template, const std::string& subnet_id,
                                      const std::string& ip);
std::optional<std::string> random_mac(const std::string& mac_template, uint32_t random24);

struct PoolRequest {
  std::string cidr;                  // "" : the first /24 of `range` no pool record uses
  std::string range = "10.0.0.0/8";  // module.dockerplugin.cidrrange
  std::string subpool;               // "" or a CIDR inside the pool: the subnet's allocation range
  bool v6 = false;                   // refused (kInvalidArgument)
  std::string systemid;
  int64_t timeout_us = 60'000'000;  // pooltimeout: unbound past this, reap() removes it
};
struct PoolGrant {
  std::string pool_id, cidr;
};

struct AddressRequest {
  std::string pool_id;
  std::string ip;        // "" : the next free one (this node's cursor); "a.b.c.d" or "a.b.c.d/nn"
  bool gateway = false;  // RequestAddressType com.docker.network.gateway
  std::string systemid;
  int64_t timeout_us = 60'000'000;  // iptimeout: unconsumed past this, reap() removes it
};
struct AddressGrant {
  std::string ip;  // "10.1.0.7"
  int prefix = 0;  // 24
  std::string cidr() const { return ip + "/" + std::to_string(prefix); }
};

struct NetworkRequest {
  std::string network_id;  // Docker's NetworkID
  std::string pool_id;     // the IPv4 pool (RequestPool's)
  std::string systemid;
  std::string gateway;  // IPv4Data's, without the mask ("" : the pool's gateway note, if any)
  // Creating: docker-<NID>-lognet with `network` (createlogicalnetwork's parameters:
  // physicalnetwork, mtu, vlanid, vni, any other attribute) and docker-<NID>-subnet with `subnet`
  // (createsubnet's: allocated_start, host_routes, ...; cidr and gateway come from the pool).
  Json network = Json::object();
  Json subnet = Json::object();
  // Attaching instead (-o logicalnetwork=<id>, -o subnet=<id>: else the network's only subnet):
  // the pool's CIDR and gateway must be the subnet's.
  std::string attach_lognet, attach_subnet;
};

struct EndpointRequest {
  std::string port_id;         // docker_port_id(EID) / cni_port_id(...)
  std::string docker_network;  // a Docker NetworkID: network, subnet and pool from its mapping
  std::string lognet, subnet;  // else given (CNI); subnet "" : a port without an address
  std::string pool_id;         // (without docker_network) the pool whose reservation of `ip` it consumes
  std::string ip;              // "" : allocated from the subnet (this node's cursor)
  std::string mac;             // "" : the first of mac_candidates free in the network
  std::vector<std::string> mac_candidates;
  schema::Kind info_kind = schema::Kind::kDockerInfo;  // or kCniInfo
  Json info = Json::object();  // the info's fields; systemid, created (µs) and port are added
  Json port = Json::object();  // the port's other attributes (hostname, k8s_*, ...)
  std::string systemid;
  // autoremoveports: a port of this id whose info names this node (a crashed run's) is replaced
  // in the same commit instead of answering kAlreadyExists.
  bool replace_stale = false;
};

// One per node and database (it keeps the node's address cursor and what it learnt of pools and
// networks); it and the database outlive the calls made on it.
class Containers {
 public:
  explicit Containers(db::ObjectDb& db);

  // RequestPool: a pool record {id, cidr, subpool, gateway, systemid, expires, network, subnet}.
  void request_pool(PoolRequest req, std::function<void(Result<PoolGrant>)> done);
  // ReleasePool: an unbound pool goes now; a bound one is marked released (it goes with its
  // network). {"deleted": bool}.
  void release_pool(const std::string& pool_id, Done done);
  // RequestAddress. On an unbound pool only the gateway (the given address or the first host),
  // noted in the pool. On a bound pool an explicit address is checked against the subnet's pool
  // (422) and its address index (409), or the next free one is taken; either becomes a
  // reservation in the index. A gateway request on a bound pool answers the subnet's gateway.
  void request_address(AddressRequest req, std::function<void(Result<AddressGrant>)> done);
  // ReleaseAddress: drops the reservation (or the pool's gateway note) if there is one.
  void release_address(const std::string& pool_id, const std::string& ip, Done done);
  // Removes reservations unconsumed past their expiry (this node's, or anyone's past expiry +
  // grace_us) and unbound pools likewise (released ones at once). {"reservations": n, "pools": m}.
  void reap(const std::string& systemid, int64_t grace_us, Done done);

  // CreateNetwork: creates docker-<NID>-lognet and -subnet through the model's own calls (after
  // writing the mapping record, so a crash leaves a record the reconcile finds; undone on failure),
  // or attaches to an existing logical network; binds the pool. Answers the mapping record
  // {id, lognet, subnet (keys), lognet_id, subnet_id, pool, systemid, created_lognet, state}.
  void create_network(NetworkRequest req, Done done);
  // The mapping record of a Docker network, or null.
  void get_network(const std::string& network_id, Done done);
  // The Docker networks (NetworkIDs) mapped to a logical network (every server that attached it).
  void networks_of(const std::string& lognet_id, std::function<void(Result<std::vector<std::string>>)> done);
  // DeleteNetwork: removes the mapping, its pool and the pool's reservations; the logical network
  // and subnet too when this mapping created them, no other mapping uses them and they have no
  // ports (else kept: {"deleted": true, "kept": "why"}). {"deleted": false} when unknown.
  void delete_network(const std::string& network_id, Done done);

  // The endpoint's port and info in one commit (§3 step 1), consuming its reservation. Answers
  // {"port": the port dumped, "info": the info dumped}; nothing is written on any error.
  void create_endpoint(EndpointRequest req, Done done);
  // The port and (cascade) its info in one commit. {"deleted": bool}.
  void delete_endpoint(const std::string& port_id, Done done);

  // Every object of a node-written kind at one snapshot, {key: value} (the reconcile's and leak
  // checks' view).
  void list(schema::Kind kind, Done done);

 private:
  void request_bound(AddressRequest req, std::string subnet_key,
                     std::function<void(Result<AddressGrant>)> done);
  void create_logical(NetworkRequest req, Json mapping, Done done);
  db::ObjectDb& db_;
  ViperFlow vf_;
  std::shared_ptr<AddressHints> hints_;
  std::shared_ptr<std::map<std::string, std::string>> pool_subnets_;  // bound pool -> subnet key
  // Docker network -> {logical network, subnet, pool} ids, as its mapping last said (to read an
  // endpoint's keys in the transaction's first round; the transaction checks the mapping).
  std::shared_ptr<std::map<std::string, std::array<std::string, 3>>> networks_;
};

}  // namespace vlcp::model
