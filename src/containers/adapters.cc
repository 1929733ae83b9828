// The plug machine's seams over the OVSDB client and the model (see adapters.h).
#include "containers/adapters.h"

#include <utility>

#include "model/address.h"

namespace vlcp::containers {

namespace {

using Json = nlohmann::json;

Status unavailable() {
  return make_error(Errc::kUnavailable, "OVSDB client not running");
}

Status bad(const std::string& m) {
  return make_error(Errc::kInvalidArgument, "endpoint parameters: " + m);
}

// A string key of `j`: absent or null is "", another type an error.
Result<std::string> str_key(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return bad(std::string(key) + " must be a string");
  return it->get<std::string>();
}

link::Ipv4 to_wire(uint32_t host_order) {
  return {static_cast<uint8_t>(host_order >> 24), static_cast<uint8_t>(host_order >> 16),
          static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)};
}

// "10.1.0.0/24" -> 24; nullopt when not a CIDR.
std::optional<uint8_t> prefix_length(const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos || slash + 1 >= cidr.size() || cidr.size() - slash > 3) return std::nullopt;
  int n = 0;
  for (size_t i = slash + 1; i < cidr.size(); ++i) {
    if (cidr[i] < '0' || cidr[i] > '9') return std::nullopt;
    n = n * 10 + (cidr[i] - '0');
  }
  if (n > 32) return std::nullopt;
  return static_cast<uint8_t>(n);
}

std::optional<link::Ipv4Prefix> parse_prefix(const std::string& cidr) {
  auto len = prefix_length(cidr);
  auto ip = model::detail::parse_ip(cidr.substr(0, cidr.find('/')));
  if (!len || !ip) return std::nullopt;
  return link::Ipv4Prefix{to_wire(*ip), *len};
}

uint32_t mtu_of(const Json& obj) {
  if (!obj.is_object()) return 0;
  auto it = obj.find("mtu");
  if (it == obj.end()) return 0;
  if (it->is_number_unsigned() || it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    return v > 0 && v <= 65535 ? static_cast<uint32_t>(v) : 0;
  }
  return 0;
}

}  // namespace

// ---- OVSDB ---------------------------------------------------------------------------------------

ovsdb::PortSpec to_ovsdb_spec(const OvsPortSpec& spec) {
  ovsdb::PortSpec out;
  out.name = spec.name;
  out.type = "";
  out.owner = spec.owner;
  for (const auto& [k, v] : spec.external_ids) out.external_ids[k] = v;
  out.mtu_request = spec.mtu_request;
  return out;
}

void OvsdbPorts::plug_port(const std::string& bridge, OvsPortSpec spec, std::function<void(Status)> done) {
  ovsdb::OvsdbClient* c = client_ ? client_() : nullptr;
  if (!c || !c->connected()) return done(unavailable());
  c->plug_port(bridge, to_ovsdb_spec(spec), std::move(done));
}

void OvsdbPorts::unplug_port(const std::string& bridge, const std::string& name, const std::string& owner,
                             std::function<void(Status)> done) {
  ovsdb::OvsdbClient* c = client_ ? client_() : nullptr;
  if (!c || !c->connected()) return done(unavailable());
  c->unplug_port(bridge, name, std::move(done), owner);
}

void OvsdbPorts::wait_ofport(const std::string& iface, std::chrono::nanoseconds timeout,
                             std::function<void(Result<int64_t>)> done) {
  ovsdb::OvsdbClient* c = client_ ? client_() : nullptr;
  if (!c) return done(unavailable());
  c->wait_ofport(iface, timeout, std::move(done));
}

// ---- the model -----------------------------------------------------------------------------------

Result<model::EndpointRequest> endpoint_request(const PlugRequest& request, const EndpointNames& names) {
  const Json& m = request.model;
  if (!m.is_object()) return bad("the model parameters must be an object");
  model::EndpointRequest e;
  e.port_id = names.port_id;
  VLCP_ASSIGN_OR_RETURN(e.docker_network, str_key(m, "docker_network"));
  VLCP_ASSIGN_OR_RETURN(e.lognet, str_key(m, "lognet"));
  VLCP_ASSIGN_OR_RETURN(e.subnet, str_key(m, "subnet"));
  VLCP_ASSIGN_OR_RETURN(e.pool_id, str_key(m, "pool"));
  VLCP_ASSIGN_OR_RETURN(e.ip, str_key(m, "ip"));
  VLCP_ASSIGN_OR_RETURN(e.mac, str_key(m, "mac"));
  VLCP_ASSIGN_OR_RETURN(e.systemid, str_key(m, "systemid"));
  if (auto it = m.find("mac_candidates"); it != m.end() && !it->is_null()) {
    if (!it->is_array()) return bad("mac_candidates must be a list of strings");
    for (const auto& c : *it) {
      if (!c.is_string()) return bad("mac_candidates must be a list of strings");
      e.mac_candidates.push_back(c.get<std::string>());
    }
  }
  VLCP_ASSIGN_OR_RETURN(std::string kind, str_key(m, "info_kind"));
  if (kind.empty())
    e.info_kind =
        request.endpoint.kind == EndpointKind::kCni ? schema::Kind::kCniInfo : schema::Kind::kDockerInfo;
  else if (kind == "docker")
    e.info_kind = schema::Kind::kDockerInfo;
  else if (kind == "cni")
    e.info_kind = schema::Kind::kCniInfo;
  else
    return bad("info_kind must be \"docker\" or \"cni\", not \"" + kind + "\"");
  for (const char* obj : {"info", "port"}) {
    auto it = m.find(obj);
    if (it == m.end() || it->is_null()) continue;
    if (!it->is_object()) return bad(std::string(obj) + " must be an object");
    (std::string_view(obj) == "info" ? e.info : e.port) = *it;
  }
  if (auto it = m.find("replace_stale"); it != m.end() && !it->is_null()) {
    if (!it->is_boolean()) return bad("replace_stale must be a boolean");
    e.replace_stale = it->get<bool>();
  }
  if (e.docker_network.empty() && e.lognet.empty()) return bad("docker_network or lognet is required");
  return e;
}

Result<EndpointRecord> endpoint_record(const Json& answer) {
  if (!answer.is_object() || !answer.contains("port") || !answer["port"].is_object())
    return make_error(Errc::kInternal, "the model answered an endpoint without its port");
  const Json& port = answer["port"];
  EndpointRecord r;
  r.port = answer;
  std::string mac = port.value("mac_address", "");
  auto parsed = model::detail::parse_mac(mac);
  if (!parsed) return make_error(Errc::kInternal, "the model gave port " + port.value("id", "?") + " no MAC");
  r.mac = *parsed;
  const Json subnet = port.contains("subnet") && port["subnet"].is_object() ? port["subnet"] : Json::object();
  const Json network =
      port.contains("network") && port["network"].is_object() ? port["network"] : Json::object();
  if (auto ip = port.find("ip_address"); ip != port.end() && ip->is_string()) {
    auto host = model::detail::parse_ip(ip->get<std::string>());
    auto len = prefix_length(subnet.value("cidr", ""));
    if (host) r.address = link::Ipv4Prefix{to_wire(*host), len.value_or(32)};
  }
  bool no_gateway = subnet.value("disablegateway", false) == true;
  if (auto gw = subnet.find("gateway"); !no_gateway && gw != subnet.end() && gw->is_string())
    if (auto g = model::detail::parse_ip(gw->get<std::string>())) r.gateway = to_wire(*g);
  if (auto routes = subnet.find("host_routes"); routes != subnet.end() && routes->is_array())
    for (const auto& route : *routes) {
      if (!route.is_array() || route.size() != 2 || !route[0].is_string() || !route[1].is_string()) continue;
      auto dst = parse_prefix(route[0].get<std::string>());
      auto hop = model::detail::parse_ip(route[1].get<std::string>());
      if (!dst || !hop) continue;
      link::Route lr{*dst, std::nullopt};
      if (*hop != 0) lr.gateway = to_wire(*hop);
      r.routes.push_back(lr);
    }
  r.mtu = mtu_of(subnet);
  if (!r.mtu) r.mtu = mtu_of(network);
  return r;
}

void ModelEndpoints::create_endpoint(const PlugRequest& request, const EndpointNames& names,
                                     std::function<void(Result<EndpointRecord>)> done) {
  auto req = endpoint_request(request, names);
  if (!req.ok()) return done(req.error());
  containers_.create_endpoint(std::move(*req), [done = std::move(done)](Result<Json> r) {
    if (!r.ok()) return done(r.error());
    done(endpoint_record(*r));
  });
}

void ModelEndpoints::delete_endpoint(const std::string& port_id, std::function<void(Status)> done) {
  containers_.delete_endpoint(port_id, [done = std::move(done)](Result<Json> r) {
    if (!r.ok()) return done(r.error());
    done(Status());
  });
}

}  // namespace vlcp::containers
