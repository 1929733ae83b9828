// Docker's Engine API as the reconcile reads it (docs/CONTAINERS_DESIGN.md §4), sans I/O: the two
// request paths — the networks of our driver, then each network's endpoints — and total decoders
// of dockerd's answers into a DockerView. The module's HTTP client (api/http_client) sends the
// GETs to module.dockerplugin.dockerurl and hands the (status, body) pairs here; the planner
// (containers/reconcile.h) compares the view with the model. Any bytes give a value or a typed
// error, never an exception (tests/fuzz/docker_engine_fuzz.cc).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace vlcp::containers::docker {

// The API version the paths name: Docker 20.10's (the oldest dockerd the design supports; later
// daemons still answer it).
inline constexpr std::string_view kEngineApiVersion = "v1.41";
// Answers past this are refused unread (a network with a few thousand containers is a few MB).
inline constexpr size_t kMaxEngineBodyBytes = 16 * 1024 * 1024;
inline constexpr int kMaxEngineJsonDepth = 32;

// One Docker network as the Engine API shows it.
struct EngineNetwork {
  std::string id;      // "Id": 64 hex
  std::string name;    // "Name" (informative)
  std::string driver;  // "Driver": our plugin's name ("vlcp", the socket's base name)
  // "Containers" of GET /networks/<id>: key (a container id, or "ep-<EID>" for an endpoint
  // without a sandbox) -> its EndpointID. The list answer has none (inspected == false).
  std::map<std::string, std::string> endpoints;
  // True once the endpoints come from the network's own GET /networks/<id>.
  bool inspected = false;
  friend bool operator==(const EngineNetwork&, const EngineNetwork&) = default;
};

// What Docker knows, at one moment.
struct DockerView {
  // False when dockerd could not be asked (no connection, the list answer not 200 or not
  // decodable): the planner then removes nothing.
  bool reachable = false;
  std::map<std::string, EngineNetwork> networks;  // by NetworkID; only our driver's

  bool lists_network(std::string_view network_id) const;
  // Some listed network's endpoints are unknown (its GET failed otherwise than 404): the planner
  // removes no endpoint artifact it cannot tie to a fully known network.
  bool complete() const;
  // Whether `network_id` is listed with its endpoints known.
  bool network_known(std::string_view network_id) const;
  // Whether any listed network has the endpoint.
  bool knows_endpoint(std::string_view endpoint_id) const;
  friend bool operator==(const DockerView&, const DockerView&) = default;
};

// GET /v1.41/networks?filters={"driver":["<driver>"]}, the filter URL-encoded.
std::string networks_path(std::string_view driver = "vlcp");
// GET /v1.41/networks/<id>; kInvalidArgument unless `network_id` is a 64-hex Docker id.
Result<std::string> network_path(std::string_view network_id);

// The list answer (a JSON array of networks): the networks whose Driver is `driver` (the
// filter checked again: an older daemon may ignore it). kMalformed for a body that is not such
// an array: not JSON, too large or deep, an element that is not an object, an Id that is not a
// Docker id, a Name/Driver that is not a string. Unknown fields are ignored.
Result<std::vector<EngineNetwork>> decode_networks(std::string_view body, std::string_view driver = "vlcp");
// One network's answer (an object): Id, Name, Driver and Containers (an object or null; each
// value an object whose EndpointID is a Docker id). kMalformed otherwise; inspected is true.
Result<EngineNetwork> decode_network(std::string_view body);

// The view from the list's answer: reachable with every listed network of our driver, their
// endpoints not yet known. An HTTP status other than 200 is kUnavailable, a bad body kMalformed
// (the module then plans with DockerView{}: unreachable).
Result<DockerView> view_from_networks(int http_status, std::string_view body,
                                      std::string_view driver = "vlcp");
// Folds one network's GET /networks/<id> answer into the view: 200 with a body naming that
// network gives its endpoints; 404 means the network went meanwhile (dropped from the view);
// anything else (another status, a body that does not decode or names another network) leaves
// the network uninspected, its endpoints unknown. Returns what happened (ok, or why the network
// stays unknown) for the module's log.
Status fold_network(DockerView& view, std::string_view network_id, int http_status, std::string_view body);

}  // namespace vlcp::containers::docker
