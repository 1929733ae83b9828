// Docker's remote plugin protocol: decoding, dispatch, answers, the status table, VLCP's names.
// Untrusted bodies: every access checks its type first and nlohmann parses without exceptions;
// a catch-all at the two entries turns anything unforeseen into a 500 instead of a crash.
#include "containers/docker_protocol.h"
#include "schema/container_ids.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>

#include "base/literal.h"
#include "base/text.h"

namespace vlcp::containers::docker {

namespace {

using OJson = nlohmann::ordered_json;

struct MethodInfo {
  std::string_view path;
  Effect effect;
};

constexpr std::array<MethodInfo, kMethodCount> kMethods = {{
#define VLCP_DOCKER_METHOD_INFO(name, path, req, effect, answer) {path, effect},
    VLCP_DOCKER_METHODS(VLCP_DOCKER_METHOD_INFO)
#undef VLCP_DOCKER_METHOD_INFO
}};

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}
std::string dump(const OJson& j) {
  return j.dump(-1, ' ', false, OJson::error_handler_t::replace);
}

// A piece of untrusted text quoted in an error: at most 64 bytes, JSON-escaped.
std::string quote(std::string_view s) {
  std::string cut(s.substr(0, 64));
  std::string q = dump(Json(cut));
  if (s.size() > 64) q.insert(q.size() - 1, "...");
  return q;
}

// "CreateEndpoint": the part of the method name after the dot.
std::string_view short_name(Method m) {
  std::string_view n = method_name(m);
  size_t dot = n.find('.');
  return dot == std::string_view::npos ? n : n.substr(dot + 1);
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

bool is_ipv4(const std::string& s) {
  unsigned char buf[4];
  return inet_pton(AF_INET, s.c_str(), buf) == 1;
}

// "a.b.c.d/nn", nn 0-32.
bool is_ipv4_cidr(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash + 1 >= s.size() || s.size() - slash > 3) return false;
  int prefix = 0;
  for (size_t i = slash + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    prefix = prefix * 10 + (s[i] - '0');
  }
  return prefix <= 32 && is_ipv4(s.substr(0, slash));
}

bool is_mac(std::string_view s) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i % 3 == 2) {
      if (c != ':' && c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// Builds the method's errors with its name in front.
class Fields {
 public:
  Fields(Method m, const Json& obj) : m_(m), obj_(obj) {}

  Status malformed(std::string what) const {
    return make_error(Errc::kMalformed, std::string(short_name(m_)) + ": " + std::move(what));
  }
  Status refused(std::string what) const {
    return make_error(Errc::kInvalidArgument, std::string(short_name(m_)) + ": " + std::move(what));
  }

  // The member, or nullptr when absent or null.
  const Json* get(const char* key) const {
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }

  // A string member; absent/null is "" unless required.
  Result<std::string> text(const char* key, bool required = false) const {
    const Json* v = get(key);
    if (!v) {
      if (required) return malformed(std::string("\"") + key + "\" missing");
      return std::string();
    }
    if (!v->is_string()) return malformed(std::string("\"") + key + "\" is not a string");
    return v->get<std::string>();
  }

  Result<std::string> docker_id(const char* key) const {
    VLCP_ASSIGN_OR_RETURN(std::string id, text(key, true));
    if (!is_docker_id(id))
      return malformed(std::string("\"") + key + "\" " + quote(id) + " is not a 64-hex-digit id");
    return id;
  }

  Result<std::string> pool_id() const {
    VLCP_ASSIGN_OR_RETURN(std::string id, text("PoolID", true));
    if (!is_pool_id(id)) return malformed("\"PoolID\" " + quote(id) + " is not a pool id");
    return id;
  }

  Result<bool> boolean(const char* key) const {
    const Json* v = get(key);
    if (!v) return false;
    if (!v->is_boolean()) return malformed(std::string("\"") + key + "\" is not a boolean");
    return v->get<bool>();
  }

  // An object member (absent/null: an empty object).
  Result<Json> object(const char* key) const {
    const Json* v = get(key);
    if (!v) return Json::object();
    if (!v->is_object()) return malformed(std::string("\"") + key + "\" is not an object");
    return *v;
  }

  // An IPv4 address member ("" allowed unless required); an IPv6 one is refused (422).
  Result<std::string> address(const char* key, bool required) const {
    VLCP_ASSIGN_OR_RETURN(std::string a, text(key, required));
    if (a.empty()) {
      if (required) return malformed(std::string("\"") + key + "\" missing");
      return a;
    }
    if (a.find(':') != std::string::npos) return refused("IPv6 address " + quote(a) + ": VLCP is IPv4 only");
    if (!is_ipv4(a)) return malformed(std::string("\"") + key + "\" " + quote(a) + " is not an IPv4 address");
    return a;
  }

  // An IPv4 CIDR member ("" allowed); IPv6 refused (422).
  Result<std::string> cidr(const char* key) const {
    VLCP_ASSIGN_OR_RETURN(std::string a, text(key));
    if (a.empty()) return a;
    if (a.find(':') != std::string::npos) return refused("IPv6 pool " + quote(a) + ": VLCP is IPv4 only");
    if (!is_ipv4_cidr(a))
      return malformed(std::string("\"") + key + "\" " + quote(a) + " is not an IPv4 CIDR");
    return a;
  }

 private:
  Method m_;
  const Json& obj_;
};

// --- CreateNetwork's options --------------------------------------------------------------------

// Attribute names an option may set: VLCP stored any key; we keep that, for names the model can
// hold as an attribute.
bool is_attribute_name(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  if (!(std::isalpha(static_cast<unsigned char>(k[0])) || k[0] == '_')) return false;
  return std::all_of(k.begin(), k.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool back_quoted(const std::string& v) {
  return v.size() >= 2 && v.front() == '`' && v.back() == '`';
}

// An option's value: a back-quoted Python literal (VLCP's ast.literal_eval), else the text. A
// literal that does not parse is refused (VLCP kept the text, hiding the typo).
Result<Json> option_value(const Fields& f, const std::string& key, const Json& v) {
  if (!v.is_string()) return v;  // through the Engine API a value may already be typed
  const std::string& s = v.get_ref<const std::string&>();
  if (!back_quoted(s)) return v;
  auto lit = parse_python_literal(std::string_view(s).substr(1, s.size() - 2));
  if (!lit)
    return f.refused("option " + key + ": " + quote(s) + " is not a literal: " + lit.error().message());
  return *lit;
}

// An option's value as an error shows it.
std::string shown(const Json& v) {
  return v.is_string() ? quote(v.get_ref<const std::string&>()) : quote(dump(v));
}

// mtu / vlanid / vni: decimal text, a back-quoted integer literal, or a JSON integer, in [lo, hi].
Result<int64_t> option_int(const Fields& f, const std::string& key, const Json& v, int64_t lo, int64_t hi) {
  auto not_integer = [&] { return f.refused("option " + key + ": " + shown(v) + " is not an integer"); };
  int64_t n = 0;
  if (v.is_string() && !back_quoted(v.get_ref<const std::string&>())) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 12 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return not_integer();
    n = std::stoll(s);
  } else {
    VLCP_ASSIGN_OR_RETURN(Json x, option_value(f, key, v));
    if (!x.is_number_integer()) return not_integer();
    if (x.is_number_unsigned() && x.get<uint64_t>() > uint64_t{INT64_MAX}) return not_integer();
    n = x.get<int64_t>();
  }
  if (n < lo || n > hi)
    return f.refused("option " + key + ": " + std::to_string(n) + " is outside " + std::to_string(lo) + "-" +
                     std::to_string(hi));
  return n;
}

Result<bool> option_bool(const Fields& f, const std::string& key, const Json& v) {
  VLCP_ASSIGN_OR_RETURN(Json x, option_value(f, key, v));
  if (x.is_boolean()) return x.get<bool>();
  if (x.is_string()) {
    std::string s = x.get<std::string>();
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  }
  return f.refused("option " + key + ": " + shown(v) + " is not a boolean");
}

Result<std::string> option_text(const Fields& f, const std::string& key, const Json& v) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty())
    return f.refused("option " + key + ": " + shown(v) + " is not a non-empty string");
  return v.get<std::string>();
}

// Keys the plugin itself sets on the logical network / subnet: an option may not override them.
constexpr std::string_view kReservedNetworkKeys[] = {"id"};
constexpr std::string_view kReservedSubnetKeys[] = {"id", "logicalnetwork", "cidr", "gateway"};

bool reserved(std::string_view key, const auto& list) {
  return std::find(std::begin(list), std::end(list), key) != std::end(list);
}

Result<NetworkOptions> decode_network_options(const Fields& f, const Json& generic) {
  NetworkOptions o;
  std::string first_local;  // the first option that only a created network may have
  std::string physicalnetwork;
  for (const auto& [key, v] : generic.items()) {
    if (key == "logicalnetwork") {
      VLCP_ASSIGN_OR_RETURN(o.attach_lognet, option_text(f, key, v));
      continue;
    }
    if (key == "subnet") {
      VLCP_ASSIGN_OR_RETURN(o.attach_subnet, option_text(f, key, v));
      continue;
    }
    if (first_local.empty()) first_local = key;
    if (key.rfind("subnet:", 0) == 0) {
      std::string sk = key.substr(7);
      if (sk == "disablegateway") {
        VLCP_ASSIGN_OR_RETURN(o.disable_gateway, option_bool(f, key, v));
        continue;
      }
      if (!is_attribute_name(sk)) return f.refused("option " + quote(key) + ": not a subnet attribute name");
      if (reserved(sk, kReservedSubnetKeys))
        return f.refused("option " + key + ": set by Docker (--subnet, --gateway), not by an option");
      VLCP_ASSIGN_OR_RETURN(o.subnet[sk], option_value(f, key, v));
    } else if (key == "mtu") {
      VLCP_ASSIGN_OR_RETURN(int64_t n, option_int(f, key, v, 68, 65535));
      o.network[key] = n;
    } else if (key == "vlanid") {
      VLCP_ASSIGN_OR_RETURN(int64_t n, option_int(f, key, v, 1, 4094));
      o.network[key] = n;
    } else if (key == "vni") {
      VLCP_ASSIGN_OR_RETURN(int64_t n, option_int(f, key, v, 1, 16777215));
      o.network[key] = n;
    } else if (key == "physicalnetwork") {
      VLCP_ASSIGN_OR_RETURN(physicalnetwork, option_text(f, key, v));
      o.network[key] = physicalnetwork;
    } else {
      if (!is_attribute_name(key))
        return f.refused("option " + quote(key) + ": not an option or attribute name");
      if (reserved(key, kReservedNetworkKeys)) return f.refused("option " + key + ": the plugin sets it");
      VLCP_ASSIGN_OR_RETURN(o.network[key], option_value(f, key, v));
    }
  }
  if (!o.attach_lognet.empty()) {
    if (!first_local.empty())
      return f.refused("option " + quote(first_local) +
                       ": not with logicalnetwork (the network has its own)");
    if (o.disable_gateway) return f.refused("option subnet:disablegateway: not with logicalnetwork");
  } else {
    if (!o.attach_subnet.empty()) return f.refused("option subnet: only with logicalnetwork=<id>");
    if (physicalnetwork.empty())
      return f.refused("option physicalnetwork is required (or logicalnetwork=<id> to attach)");
  }
  return o;
}

// --- one decoder per request type ----------------------------------------------------------------

template <typename T>
Result<T> decode_as(const Fields& f);

template <>
Result<RequestPoolRequest> decode_as<RequestPoolRequest>(const Fields& f) {
  RequestPoolRequest r;
  VLCP_ASSIGN_OR_RETURN(r.address_space, f.text("AddressSpace"));
  VLCP_ASSIGN_OR_RETURN(bool v6, f.boolean("V6"));
  if (v6) return f.refused("IPv6 pools: VLCP is IPv4 only");
  VLCP_ASSIGN_OR_RETURN(r.pool, f.cidr("Pool"));
  VLCP_ASSIGN_OR_RETURN(r.sub_pool, f.cidr("SubPool"));
  VLCP_ASSIGN_OR_RETURN(r.options, f.object("Options"));
  if (!r.address_space.empty() && r.address_space != kLocalAddressSpace &&
      r.address_space != kGlobalAddressSpace)
    return f.refused("address space " + quote(r.address_space) + " is not VLCP's");
  return r;
}

template <>
Result<ReleasePoolRequest> decode_as<ReleasePoolRequest>(const Fields& f) {
  ReleasePoolRequest r;
  VLCP_ASSIGN_OR_RETURN(r.pool_id, f.pool_id());
  return r;
}

template <>
Result<RequestAddressRequest> decode_as<RequestAddressRequest>(const Fields& f) {
  RequestAddressRequest r;
  VLCP_ASSIGN_OR_RETURN(r.pool_id, f.pool_id());
  VLCP_ASSIGN_OR_RETURN(r.address, f.address("Address", false));
  VLCP_ASSIGN_OR_RETURN(Json options, f.object("Options"));
  Fields of(Method::kRequestAddress, options);
  VLCP_ASSIGN_OR_RETURN(std::string type, of.text("RequestAddressType"));
  r.gateway = type == kGatewayRequestType;
  return r;
}

template <>
Result<ReleaseAddressRequest> decode_as<ReleaseAddressRequest>(const Fields& f) {
  ReleaseAddressRequest r;
  VLCP_ASSIGN_OR_RETURN(r.pool_id, f.pool_id());
  VLCP_ASSIGN_OR_RETURN(r.address, f.address("Address", true));
  return r;
}

template <>
Result<CreateNetworkRequest> decode_as<CreateNetworkRequest>(const Fields& f) {
  CreateNetworkRequest r;
  VLCP_ASSIGN_OR_RETURN(r.network_id, f.docker_id("NetworkID"));
  VLCP_ASSIGN_OR_RETURN(Json options, f.object("Options"));
  Fields of(Method::kCreateNetwork, options);
  VLCP_ASSIGN_OR_RETURN(bool v6, of.boolean("com.docker.network.enable_ipv6"));
  if (v6) return f.refused("--ipv6: VLCP is IPv4 only");
  VLCP_ASSIGN_OR_RETURN(Json generic, of.object("com.docker.network.generic"));
  const Json* v4 = f.get("IPv4Data");
  if (v4 && !v4->is_array()) return f.malformed("\"IPv4Data\" is not a list");
  const Json* v6data = f.get("IPv6Data");
  if (v6data && !v6data->is_array()) return f.malformed("\"IPv6Data\" is not a list");
  if (v6data && !v6data->empty()) return f.refused("IPv6 subnets: VLCP is IPv4 only");
  if (!v4 || v4->empty()) return f.refused("no IPv4 subnet (IPv4Data is empty)");
  if (v4->size() > 1)
    return f.refused("one IPv4 subnet per network (IPv4Data has " + std::to_string(v4->size()) + ")");
  const Json& data = (*v4)[0];
  if (!data.is_object()) return f.malformed("\"IPv4Data\"[0] is not an object");
  Fields df(Method::kCreateNetwork, data);
  VLCP_ASSIGN_OR_RETURN(r.address_space, df.text("AddressSpace"));
  VLCP_ASSIGN_OR_RETURN(r.pool, df.cidr("Pool"));
  if (r.pool.empty()) return f.malformed("\"IPv4Data\"[0].\"Pool\" missing");
  VLCP_ASSIGN_OR_RETURN(std::string gw, df.cidr("Gateway"));
  r.gateway = gw.substr(0, gw.find('/'));
  VLCP_ASSIGN_OR_RETURN(r.options, decode_network_options(f, generic));
  return r;
}

template <>
Result<NetworkRequest> decode_as<NetworkRequest>(const Fields& f) {
  NetworkRequest r;
  VLCP_ASSIGN_OR_RETURN(r.network_id, f.docker_id("NetworkID"));
  return r;
}

template <>
Result<CreateEndpointRequest> decode_as<CreateEndpointRequest>(const Fields& f) {
  CreateEndpointRequest r;
  VLCP_ASSIGN_OR_RETURN(r.network_id, f.docker_id("NetworkID"));
  VLCP_ASSIGN_OR_RETURN(r.endpoint_id, f.docker_id("EndpointID"));
  VLCP_ASSIGN_OR_RETURN(Json iface, f.object("Interface"));
  Fields inf(Method::kCreateEndpoint, iface);
  VLCP_ASSIGN_OR_RETURN(r.address, inf.cidr("Address"));
  VLCP_ASSIGN_OR_RETURN(std::string v6, inf.text("AddressIPv6"));
  if (!v6.empty()) return f.refused("IPv6 address " + quote(v6) + ": VLCP is IPv4 only");
  VLCP_ASSIGN_OR_RETURN(r.mac_address, inf.text("MacAddress"));
  if (!r.mac_address.empty() && !is_mac(r.mac_address))
    return f.malformed("\"MacAddress\" " + quote(r.mac_address) + " is not a MAC address");
  VLCP_ASSIGN_OR_RETURN(Json options, f.object("Options"));
  (void)options;
  return r;
}

template <>
Result<EndpointRequest> decode_as<EndpointRequest>(const Fields& f) {
  EndpointRequest r;
  VLCP_ASSIGN_OR_RETURN(r.network_id, f.docker_id("NetworkID"));
  VLCP_ASSIGN_OR_RETURN(r.endpoint_id, f.docker_id("EndpointID"));
  return r;
}

template <>
Result<JoinRequest> decode_as<JoinRequest>(const Fields& f) {
  JoinRequest r;
  VLCP_ASSIGN_OR_RETURN(r.network_id, f.docker_id("NetworkID"));
  VLCP_ASSIGN_OR_RETURN(r.endpoint_id, f.docker_id("EndpointID"));
  VLCP_ASSIGN_OR_RETURN(r.sandbox_key, f.text("SandboxKey"));
  return r;
}

template <typename T>
Result<Call> decode_into(Method m, const Json& body) {
  if constexpr (std::is_same_v<T, EmptyRequest>) {
    return Call{m, EmptyRequest{}};  // any JSON (or none): nothing is read
  } else {
    Fields f(m, body);
    if (!body.is_object()) return f.malformed("body is not a JSON object");
    VLCP_ASSIGN_OR_RETURN(T r, decode_as<T>(f));
    return Call{m, std::move(r)};
  }
}

Result<Call> decode_unguarded(Method m, std::string_view text) {
  auto malformed = [m](std::string what) {
    return make_error(Errc::kMalformed, std::string(short_name(m)) + ": " + std::move(what));
  };
  if (text.size() > kMaxBodyBytes)
    return malformed("body of " + std::to_string(text.size()) + " bytes (limit " +
                     std::to_string(kMaxBodyBytes) + ")");
  Json body;  // null for an empty body (Activate and GetCapabilities come without one)
  if (!is_blank(text)) {
    if (!json_depth_within(text, kMaxJsonDepth))
      return malformed("body nested deeper than " + std::to_string(kMaxJsonDepth));
    body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return malformed("body is not JSON");
  }
  switch (m) {
#define VLCP_DOCKER_METHOD_DECODE(name, path, req, effect, answer) \
  case Method::name:                                               \
    return decode_into<req>(m, body);
    VLCP_DOCKER_METHODS(VLCP_DOCKER_METHOD_DECODE)
#undef VLCP_DOCKER_METHOD_DECODE
  }
  return make_error(Errc::kInternal, "unknown method enumerator");
}

Reply constant_answer(Method m, const PluginIdentity& id) {
  switch (m) {
    case Method::kActivate:
      return ok_reply(ActivateAnswer{});
    case Method::kGetCapabilities:
      return ok_reply(NetworkCapabilitiesAnswer{id.scope});
    case Method::kIpamGetCapabilities:
      return ok_reply(IpamCapabilitiesAnswer{});
    case Method::kGetDefaultAddressSpaces:
      return ok_reply(AddressSpacesAnswer{});
    default:
      return ok_reply(EmptyAnswer{});
  }
}

constexpr std::string_view kHex = "0123456789abcdef";

}  // namespace

// --- the method table ------------------------------------------------------------------------------

std::optional<Method> method_from_path(std::string_view path) {
  for (size_t i = 0; i < kMethodCount; ++i)
    if (kMethods[i].path == path) return static_cast<Method>(i);
  return std::nullopt;
}

std::string_view method_path(Method m) {
  return kMethods[static_cast<size_t>(m)].path;
}
std::string_view method_name(Method m) {
  return method_path(m).substr(1);
}
Effect method_effect(Method m) {
  return kMethods[static_cast<size_t>(m)].effect;
}

// --- decoding and dispatch -------------------------------------------------------------------------

Result<Call> decode_request(Method m, std::string_view body) {
  try {
    return decode_unguarded(m, body);
  } catch (const std::exception& e) {
    return make_error(Errc::kInternal, std::string(short_name(m)) + ": " + e.what());
  }
}

Reply unknown_method_reply(std::string_view path) {
  OJson j;
  j["Err"] = "unknown method " + std::string(path.substr(0, 128));
  return Reply{404, dump(j)};
}

std::variant<Reply, Call> dispatch(std::string_view path, std::string_view body,
                                   const PluginIdentity& identity) {
  auto m = method_from_path(path);
  if (!m) return unknown_method_reply(path);
  auto call = decode_request(*m, body);
  if (!call) return error_reply(call.error());
  if (method_effect(*m) == Effect::kConstant) return constant_answer(*m, identity);
  return std::move(call).value();
}

// --- answers ---------------------------------------------------------------------------------------

std::string encode(const EmptyAnswer&) {
  return "{}";
}

std::string encode(const ActivateAnswer&) {
  OJson j;
  j["Implements"] = {"NetworkDriver", "IpamDriver"};
  return dump(j);
}

std::string encode(const NetworkCapabilitiesAnswer& a) {
  OJson j;
  j["Scope"] = a.scope;
  j["ConnectivityScope"] = a.scope;
  return dump(j);
}

std::string encode(const IpamCapabilitiesAnswer&) {
  OJson j;
  j["RequiresMACAddress"] = false;
  j["RequiresRequestReplay"] = false;
  return dump(j);
}

std::string encode(const AddressSpacesAnswer&) {
  OJson j;
  j["LocalDefaultAddressSpace"] = kLocalAddressSpace;
  j["GlobalDefaultAddressSpace"] = kGlobalAddressSpace;
  return dump(j);
}

std::string encode(const RequestPoolAnswer& a) {
  OJson j;
  j["PoolID"] = a.pool_id;
  j["Pool"] = a.pool;
  j["Data"] = OJson::object();
  return dump(j);
}

std::string encode(const RequestAddressAnswer& a) {
  OJson j;
  j["Address"] = a.address;
  j["Data"] = OJson::object();
  return dump(j);
}

std::string encode(const CreateEndpointAnswer& a) {
  if (a.address.empty() && a.mac_address.empty()) return "{}";
  OJson iface = OJson::object();
  if (!a.address.empty()) iface["Address"] = a.address;
  if (!a.mac_address.empty()) iface["MacAddress"] = a.mac_address;
  OJson j;
  j["Interface"] = std::move(iface);
  return dump(j);
}

std::string encode(const JoinAnswer& a) {
  OJson j;
  j["InterfaceName"]["SrcName"] = a.src_name;
  j["InterfaceName"]["DstPrefix"] = a.dst_prefix;
  if (!a.gateway.empty()) j["Gateway"] = a.gateway;
  if (!a.static_routes.empty()) {
    OJson routes = OJson::array();
    for (const auto& r : a.static_routes) {
      OJson route;
      route["Destination"] = r.destination;
      if (r.next_hop.empty() || r.next_hop == "0.0.0.0") {
        route["RouteType"] = 1;  // connected: on the link
      } else {
        route["RouteType"] = 0;
        route["NextHop"] = r.next_hop;
      }
      routes.push_back(std::move(route));
    }
    j["StaticRoutes"] = std::move(routes);
  }
  return dump(j);
}

std::string encode(const OperInfoAnswer& a) {
  Json j;
  j["Value"] = a.value.is_object() ? a.value : Json::object();
  return dump(j);
}

// --- errors ----------------------------------------------------------------------------------------

int docker_http_status(Errc code) {
  switch (code) {
#define VLCP_DOCKER_STATUS_CASE(errc, http) \
  case Errc::errc:                          \
    return http;
    VLCP_DOCKER_STATUS_TABLE(VLCP_DOCKER_STATUS_CASE)
#undef VLCP_DOCKER_STATUS_CASE
  }
  return 500;  // -Wswitch makes a code missing from the table a build error; this is unreachable
}

Reply error_reply(const Status& status) {
  int http = status.ok() ? 500 : docker_http_status(status.code());
  std::string text = status.ok()                ? "error reply for a success (plugin bug)"
                     : status.message().empty() ? std::string(errc_text(status.code()))
                                                : status.message();
  OJson j;
  j["Err"] = std::move(text);
  return Reply{http, dump(j)};
}

// --- VLCP's ids and names --------------------------------------------------------------------------

bool is_docker_id(std::string_view id) {
  return id.size() == 64 &&
         std::all_of(id.begin(), id.end(), [](char c) { return kHex.find(c) != std::string_view::npos; });
}

bool is_pool_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string lognet_id(std::string_view network_id) {
  return schema::docker_lognet_id(network_id);
}
std::string subnet_id(std::string_view network_id) {
  return schema::docker_subnet_id(network_id);
}
std::string port_id(std::string_view endpoint_id) {
  return schema::docker_port_id(endpoint_id);
}
std::string owner_mark(std::string_view endpoint_id) {
  return "docker:" + std::string(endpoint_id);
}
std::string veth_alias(std::string_view endpoint_id) {
  return "vlcp:" + owner_mark(endpoint_id);
}

bool valid_veth_prefix(std::string_view prefix) {
  return !prefix.empty() && prefix.size() <= 4 && std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

std::optional<VethNames> veth_names(std::string_view prefix, std::string_view endpoint_id) {
  if (!valid_veth_prefix(prefix) || !is_docker_id(endpoint_id)) return std::nullopt;
  VethNames n;
  n.host = std::string(prefix) + std::string(endpoint_id.substr(0, 10));
  n.container = n.host + "c";
  return n;
}

}  // namespace vlcp::containers::docker
