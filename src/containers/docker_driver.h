// Docker's libnetwork remote driver and IPAM driver, run (docs/CONTAINERS_DESIGN.md §2.3): the
// Calls docker_protocol's dispatch() returns, carried out on the model (model::Containers: pools,
// reservations, network mappings, endpoints) and the plug machine (Plugger: port, veth, OVSDB
// port, ofport). What a call needs is read from the model, not only from memory, so a vlcpd
// restart between any two of Docker's calls changes nothing (RequestPool then CreateNetwork, a
// CreateEndpoint then its Join). Errors are answered through the §2.6 status table
// (docker_protocol's error_reply); each answer is counted by method and status, and timed.
//
// Threads: the control thread (every callback of the model and the plug machine arrives there).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "containers/docker_protocol.h"
#include "containers/plug.h"
#include "db/objectdb.h"
#include "io/control_loop.h"
#include "model/containers.h"

namespace vlcp::containers {

struct DockerDriverSettings {
  std::string bridge = "dockerbr0";  // ovsbridge
  std::string veth_prefix = "vlcp";  // vethprefix (the Plugger's; Join's SrcName derives from it)
  std::string dst_prefix = "eth";    // dstprefix (Join's DstPrefix)
  std::string mac_template = "02:00:00:00:00:00";
  uint32_t mtu = 1500;             // the veth's MTU when neither subnet nor network has one
  bool auto_remove_ports = false;  // autoremoveports: a stale port of this node is replaced
  int64_t pool_timeout_us = 60'000'000;
  int64_t ip_timeout_us = 60'000'000;
  std::string cidr_range = "10.0.0.0/8";
  std::string systemid;  // this node (the OVS system-id, else the host name)
  docker::PluginIdentity identity;
};

// What the driver counts (the status WebAPI and /metrics read it).
struct DockerDriverCounters {
  // (method name, HTTP status) -> answers; method name -> seconds spent answering, the longest
  // answer. The method name is docker::method_name() ("NetworkDriver.Join"), "unknown" for 404s.
  std::map<std::pair<std::string, int>, uint64_t> requests;
  std::map<std::string, double> seconds, max_seconds;
  uint64_t in_flight = 0;
};

class DockerDriver {
 public:
  // `db` is the database `containers` works on (Join reads an endpoint's port after a restart).
  // All of them outlive the driver.
  DockerDriver(io::ControlLoop& loop, db::ObjectDb& db, model::Containers& containers, Plugger& plugger,
               DockerDriverSettings settings);
  ~DockerDriver();
  DockerDriver(const DockerDriver&) = delete;
  DockerDriver& operator=(const DockerDriver&) = delete;

  // The HTTP server's entry: a request's path and body to its answer (status, JSON body),
  // answered once, on the control thread, now or later.
  void handle(std::string_view path, std::string_view body, std::function<void(docker::Reply)> done);
  // A decoded call (handle() after dispatch; tests may call it directly).
  void run(docker::Call call, std::function<void(docker::Reply)> done);

  // dockerplugin/status: settings, endpoints in memory, requests by method and status.
  nlohmann::json status() const;
  const DockerDriverCounters& counters() const { return counters_; }
  // One endpoint's runtime view (EndpointOperInfo's Value), or nullopt when not in memory.
  std::optional<nlohmann::json> endpoint(const std::string& endpoint_id) const;
  size_t endpoints() const { return endpoints_.size(); }
  const DockerDriverSettings& settings() const { return settings_; }

 private:
  struct Endpoint {
    std::string network_id;
    EndpointNames names;
    std::string address;  // "10.1.0.7/24"
    std::string gateway;  // "" : none
    std::vector<docker::StaticRoute> routes;
    int64_t ofport = 0;
    std::string sandbox;  // Join's SandboxKey (memory only)
  };
  using Answer = std::function<void(docker::Reply)>;
  void request_pool(const docker::RequestPoolRequest& r, Answer done);
  void release_pool(const docker::ReleasePoolRequest& r, Answer done);
  void request_address(const docker::RequestAddressRequest& r, Answer done);
  void release_address(const docker::ReleaseAddressRequest& r, Answer done);
  void create_network(const docker::CreateNetworkRequest& r, Answer done);
  void delete_network(const docker::NetworkRequest& r, Answer done);
  void create_endpoint(const docker::CreateEndpointRequest& r, Answer done);
  void delete_endpoint(const docker::EndpointRequest& r, Answer done);
  void join(const docker::JoinRequest& r, Answer done);
  void oper_info(const docker::EndpointRequest& r, Answer done);
  // The endpoint as the model has it (after a restart: not in memory), into endpoints_.
  void load_endpoint(const std::string& network_id, const std::string& endpoint_id,
                     std::function<void(Result<Endpoint*>)> done);
  // The Docker network's mapping record (cached).
  void mapping(const std::string& network_id, std::function<void(Result<nlohmann::json>)> done);

  io::ControlLoop& loop_;
  db::ObjectDb& db_;
  model::Containers& containers_;
  Plugger& plugger_;
  DockerDriverSettings settings_;
  DockerDriverCounters counters_;
  std::map<std::string, Endpoint> endpoints_;       // by EndpointID (dropped by any unplug)
  std::map<std::string, nlohmann::json> mappings_;  // by NetworkID
  uint64_t unplug_watch_ = 0;                       // plugger_.watch_unplugs
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::containers
