// Docker's Engine API view for the reconcile: paths and total decoders (docker_engine.h).
#include "containers/docker_engine.h"

#include <nlohmann/json.hpp>

#include "base/text.h"
#include "containers/docker_protocol.h"

namespace vlcp::containers::docker {

namespace {

Status malformed(std::string message) {
  return make_error(Errc::kMalformed, "Docker Engine API: " + std::move(message));
}

Result<Json> parse(std::string_view body) {
  if (body.size() > kMaxEngineBodyBytes)
    return malformed("answer larger than " + std::to_string(kMaxEngineBodyBytes) + " bytes");
  if (!json_depth_within(body, kMaxEngineJsonDepth))
    return malformed("answer nested deeper than " + std::to_string(kMaxEngineJsonDepth));
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return malformed("answer is not JSON");
  return j;
}

// A string field: "" when absent or null; kMalformed when of another type.
Result<std::string> text_field(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return malformed(std::string("\"") + key + "\" is not a string");
  return it->get<std::string>();
}

std::string shown(std::string_view s) {
  constexpr size_t kShown = 80;
  std::string out =
      Json(std::string(s.substr(0, kShown))).dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > kShown) out += "...";
  return out;
}

// The fields every network answer shares (Id, Name, Driver).
Result<EngineNetwork> network_header(const Json& n) {
  if (!n.is_object()) return malformed("a network is not an object");
  EngineNetwork out;
  VLCP_ASSIGN_OR_RETURN(out.id, text_field(n, "Id"));
  if (!is_docker_id(out.id))
    return malformed("network \"Id\" " + shown(out.id) + " is not a 64-hex-digit id");
  VLCP_ASSIGN_OR_RETURN(out.name, text_field(n, "Name"));
  VLCP_ASSIGN_OR_RETURN(out.driver, text_field(n, "Driver"));
  return out;
}

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

std::string url_encode(std::string_view s) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (unreserved(c)) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHexDigits[b >> 4];
      out += kHexDigits[b & 0xf];
    }
  }
  return out;
}

}  // namespace

// ---- the view ----------------------------------------------------------------------------------

bool DockerView::lists_network(std::string_view network_id) const {
  return networks.find(std::string(network_id)) != networks.end();
}

bool DockerView::complete() const {
  for (const auto& [id, n] : networks)
    if (!n.inspected) return false;
  return true;
}

bool DockerView::network_known(std::string_view network_id) const {
  auto it = networks.find(std::string(network_id));
  return it != networks.end() && it->second.inspected;
}

bool DockerView::knows_endpoint(std::string_view endpoint_id) const {
  for (const auto& [id, n] : networks)
    for (const auto& [key, eid] : n.endpoints)
      if (eid == endpoint_id) return true;
  return false;
}

// ---- paths -------------------------------------------------------------------------------------

std::string networks_path(std::string_view driver) {
  Json filter{{"driver", Json::array({std::string(driver)})}};
  return "/" + std::string(kEngineApiVersion) +
         "/networks?filters=" + url_encode(filter.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Result<std::string> network_path(std::string_view network_id) {
  if (!is_docker_id(network_id))
    return make_error(Errc::kInvalidArgument,
                      "network id " + shown(network_id) + " is not a 64-hex-digit id");
  return "/" + std::string(kEngineApiVersion) + "/networks/" + std::string(network_id);
}

// ---- decoders ----------------------------------------------------------------------------------

Result<std::vector<EngineNetwork>> decode_networks(std::string_view body, std::string_view driver) {
  VLCP_ASSIGN_OR_RETURN(Json j, parse(body));
  if (!j.is_array()) return malformed("the network list is not an array");
  std::vector<EngineNetwork> out;
  for (const Json& n : j) {
    if (!n.is_object()) return malformed("a network is not an object");
    VLCP_ASSIGN_OR_RETURN(std::string d, text_field(n, "Driver"));
    if (d != driver) continue;  // another driver's: nothing of it is read
    VLCP_ASSIGN_OR_RETURN(EngineNetwork net, network_header(n));
    out.push_back(std::move(net));
  }
  return out;
}

Result<EngineNetwork> decode_network(std::string_view body) {
  VLCP_ASSIGN_OR_RETURN(Json j, parse(body));
  VLCP_ASSIGN_OR_RETURN(EngineNetwork net, network_header(j));
  auto it = j.find("Containers");
  if (it != j.end() && !it->is_null()) {
    if (!it->is_object()) return malformed("\"Containers\" is not an object");
    for (const auto& [key, c] : it->items()) {
      if (!c.is_object()) return malformed("container " + shown(key) + " is not an object");
      VLCP_ASSIGN_OR_RETURN(std::string eid, text_field(c, "EndpointID"));
      if (!is_docker_id(eid))
        return malformed("container " + shown(key) + ": \"EndpointID\" " + shown(eid) +
                         " is not a 64-hex-digit id");
      net.endpoints.emplace(key, std::move(eid));
    }
  }
  net.inspected = true;
  return net;
}

Result<DockerView> view_from_networks(int http_status, std::string_view body, std::string_view driver) {
  if (http_status != 200)
    return make_error(Errc::kUnavailable,
                      "Docker Engine API: the network list answered HTTP " + std::to_string(http_status));
  VLCP_ASSIGN_OR_RETURN(std::vector<EngineNetwork> list, decode_networks(body, driver));
  DockerView view;
  view.reachable = true;
  for (auto& n : list) {
    std::string id = n.id;
    view.networks[id] = std::move(n);
  }
  return view;
}

Status fold_network(DockerView& view, std::string_view network_id, int http_status, std::string_view body) {
  auto it = view.networks.find(std::string(network_id));
  if (it == view.networks.end())
    return make_error(Errc::kNotFound, "network " + shown(network_id) + " is not in the view");
  if (http_status == 404) {
    view.networks.erase(it);  // removed after the list: Docker no longer has it
    return {};
  }
  if (http_status != 200)
    return make_error(Errc::kUnavailable, "Docker Engine API: network " + it->first + " answered HTTP " +
                                              std::to_string(http_status));
  auto net = decode_network(body);
  if (!net.ok()) return net.error().with_context("network " + it->first);
  if (net->id != it->first) return malformed("GET /networks/" + it->first + " answered network " + net->id);
  std::string driver = it->second.driver;
  it->second = std::move(net).value();
  if (it->second.driver.empty()) it->second.driver = driver;
  return {};
}

}  // namespace vlcp::containers::docker
