// The plug machine's seams (containers/plug.h) over the daemon's real parts, for both container
// servers (the Docker plugin and the CNI server):
//   OvsdbPorts     : PortOps        over ovsdb::OvsdbClient (plug_port, unplug_port, wait_ofport)
//   ModelEndpoints : EndpointStore  over model::Containers (create_endpoint, delete_endpoint)
// Both are thin: they translate, the work and its rules live in ovsdb/ and model/.
//
// PlugRequest::model, the JSON object ModelEndpoints reads (every key optional unless said):
//   "docker_network"  string  Docker's NetworkID: the logical network, subnet and pool come from
//                             its mapping record (Docker). Else:
//   "lognet"          string  the logical network's id (CNI; required without docker_network)
//   "subnet"          string  the subnet's id ("" or absent: a port without an address)
//   "pool"            string  the IPAM pool whose reservation of "ip" the commit consumes
//   "ip"              string  "a.b.c.d" or "a.b.c.d/nn"; "" or absent: allocated from the subnet
//   "mac"             string  the port's MAC; "" or absent: the first free of mac_candidates
//   "mac_candidates"  [string] MACs to try in order (VLCP's template MAC, then random ones)
//   "info_kind"       string  "docker" (viperflow.dockerplugin.portinfo) or "cni"
//                             (viperflow.cniplugin.portinfo); absent: by the endpoint's kind
//   "info"            object  the info's fields (systemid, created and port are added)
//   "port"            object  the logical port's other attributes (hostname, k8s_*, ...)
//   "systemid"        string  this node (the info's owner)
//   "replace_stale"   bool    autoremoveports: this node's stale port of the id is replaced
// The port id is the machine's (EndpointNames::port_id). A key of the wrong type is
// kInvalidArgument and nothing is written.
//
// The EndpointRecord it answers comes from the committed port as the model dumps it (its
// network and subnet included): mac_address, ip_address with the subnet's prefix length, the
// subnet's gateway (none with disablegateway), its host_routes, and the MTU (subnet, else
// network; 0 when neither has one).
//
// Threads: the control thread (the model's and the OVSDB client's callbacks arrive there).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "containers/plug.h"
#include "model/containers.h"
#include "ovsdb/client.h"

namespace vlcp::containers {

// PortOps over the OVSDB client. `client` is asked at every call (the ovsdbmanager module can be
// unloaded and loaded again); null: kUnavailable ("OVSDB client not running").
class OvsdbPorts final : public PortOps {
 public:
  explicit OvsdbPorts(std::function<ovsdb::OvsdbClient*()> client) : client_(std::move(client)) {}
  void plug_port(const std::string& bridge, OvsPortSpec spec, std::function<void(Status)> done) override;
  void unplug_port(const std::string& bridge, const std::string& name, const std::string& owner,
                   std::function<void(Status)> done) override;
  void wait_ofport(const std::string& iface, std::chrono::nanoseconds timeout,
                   std::function<void(Result<int64_t>)> done) override;

 private:
  std::function<ovsdb::OvsdbClient*()> client_;
};

// OvsPortSpec -> ovsdb::PortSpec (type "": the veth's host end is a system device).
ovsdb::PortSpec to_ovsdb_spec(const OvsPortSpec& spec);

// EndpointStore over the model's endpoint transactions. `containers` outlives it.
class ModelEndpoints final : public EndpointStore {
 public:
  explicit ModelEndpoints(model::Containers& containers) : containers_(containers) {}
  void create_endpoint(const PlugRequest& request, const EndpointNames& names,
                       std::function<void(Result<EndpointRecord>)> done) override;
  void delete_endpoint(const std::string& port_id, std::function<void(Status)> done) override;

 private:
  model::Containers& containers_;
};

// The translations, on their own for tests: PlugRequest::model (the keys above) to the model's
// request, and the model's answer ({"port": dumped port, "info": ...}) to the record.
Result<model::EndpointRequest> endpoint_request(const PlugRequest& request, const EndpointNames& names);
Result<EndpointRecord> endpoint_record(const nlohmann::json& answer);

}  // namespace vlcp::containers
