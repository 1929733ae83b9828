// Docker's libnetwork remote plugin protocol (NetworkDriver + IpamDriver), sans I/O: the method
// table declared once, typed requests decoded from the JSON bodies dockerd sends, answers encoded
// in the shapes dockerd reads, VLCP's ids and veth names, and the status table of
// docs/CONTAINERS_DESIGN.md §2.6. The unix-socket HTTP server hands (path, body) to dispatch();
// the Docker module (Plugger, model/containers) runs the Calls it returns and encodes their
// answers here. Every decoder is total: any bytes give a value or a typed error, never an
// exception or a crash (tests/fuzz/docker_request_fuzz.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace vlcp::containers::docker {

using Json = nlohmann::json;

// Bodies dockerd sends are a few hundred bytes; past these a body is refused (400) unread.
inline constexpr size_t kMaxBodyBytes = 256 * 1024;
inline constexpr int kMaxJsonDepth = 32;

// VLCP's address space names (GetDefaultAddressSpaces) and the gateway request type.
inline constexpr std::string_view kLocalAddressSpace = "VLCPLocalAddressSpace";
inline constexpr std::string_view kGlobalAddressSpace = "VLCPGlobalAddressSpace";
inline constexpr std::string_view kGatewayRequestType = "com.docker.network.gateway";

// --- requests ---------------------------------------------------------------------------------

// Activate, both GetCapabilities, GetDefaultAddressSpaces, Discover*, Allocate/FreeNetwork,
// Program/RevokeExternalConnectivity: nothing of the body is needed (it must still be JSON or
// empty).
struct EmptyRequest {
  friend bool operator==(const EmptyRequest&, const EmptyRequest&) = default;
};

struct RequestPoolRequest {
  std::string address_space;  // one of VLCP's two names
  std::string pool;           // "" : any free /24 of cidrrange; else an IPv4 CIDR (form checked)
  std::string sub_pool;       // "" or an IPv4 CIDR
  Json options = Json::object();
  friend bool operator==(const RequestPoolRequest&, const RequestPoolRequest&) = default;
};

struct ReleasePoolRequest {
  std::string pool_id;
  friend bool operator==(const ReleasePoolRequest&, const ReleasePoolRequest&) = default;
};

struct RequestAddressRequest {
  std::string pool_id;
  std::string address;   // "" : the next free one; else dotted IPv4 (no mask)
  bool gateway = false;  // Options.RequestAddressType == com.docker.network.gateway
  friend bool operator==(const RequestAddressRequest&, const RequestAddressRequest&) = default;
};

struct ReleaseAddressRequest {
  std::string pool_id;
  std::string address;  // dotted IPv4
  friend bool operator==(const ReleaseAddressRequest&, const ReleaseAddressRequest&) = default;
};

// CreateNetwork's Options["com.docker.network.generic"] (the -o options), checked as VLCP read
// them: physicalnetwork (required unless logicalnetwork), mtu 68-65535, vlanid 1-4094, vni
// 1-16777215 (decimal or a back-quoted literal), subnet:<key> -> the subnet's <key>, any other
// key an attribute of the logical network; a back-quoted value is a Python literal.
struct NetworkOptions {
  // createlogicalnetwork's parameters (no id): physicalnetwork, mtu, vlanid, vni, other keys.
  Json network = Json::object();
  // createsubnet's parameters (no id, cidr, gateway, logicalnetwork): the subnet:* keys.
  Json subnet = Json::object();
  // subnet:disablegateway=true: the subnet gets no gateway (Join then answers none).
  bool disable_gateway = false;
  // -o logicalnetwork=<id> [-o subnet=<id>]: attach to an existing logical network instead;
  // then network and subnet are empty (their options are refused).
  std::string attach_lognet, attach_subnet;
  friend bool operator==(const NetworkOptions&, const NetworkOptions&) = default;
};

struct CreateNetworkRequest {
  std::string network_id;
  NetworkOptions options;
  // IPv4Data[0] (exactly one IPv4 pool; IPv6 is refused).
  std::string address_space;
  std::string pool;     // "10.1.0.0/24"
  std::string gateway;  // "10.1.0.1" (the mask dropped), "" when Docker gave none
  friend bool operator==(const CreateNetworkRequest&, const CreateNetworkRequest&) = default;
};

// DeleteNetwork.
struct NetworkRequest {
  std::string network_id;
  friend bool operator==(const NetworkRequest&, const NetworkRequest&) = default;
};

struct CreateEndpointRequest {
  std::string network_id, endpoint_id;
  std::string address;      // "10.1.0.7/24" or "" (Interface.Address)
  std::string mac_address;  // "" : VLCP chooses (and answers it); else as Docker gave it
  friend bool operator==(const CreateEndpointRequest&, const CreateEndpointRequest&) = default;
};

// DeleteEndpoint, EndpointOperInfo, Leave.
struct EndpointRequest {
  std::string network_id, endpoint_id;
  friend bool operator==(const EndpointRequest&, const EndpointRequest&) = default;
};

struct JoinRequest {
  std::string network_id, endpoint_id;
  std::string sandbox_key;  // the container's netns path
  friend bool operator==(const JoinRequest&, const JoinRequest&) = default;
};

// --- answers ----------------------------------------------------------------------------------

struct EmptyAnswer {};  // {}
struct ActivateAnswer {};
struct NetworkCapabilitiesAnswer {
  std::string scope = "local";  // module.dockerplugin.scope (ConnectivityScope the same)
};
struct IpamCapabilitiesAnswer {};
struct AddressSpacesAnswer {};
struct RequestPoolAnswer {
  std::string pool_id, pool;  // "vlcp-…", "10.1.0.0/24"
};
struct RequestAddressAnswer {
  std::string address;  // "10.1.0.7/24"
};
// Only what Docker did not give (remote.md: Docker rolls back when it gave a value and gets one
// back): {} or {"Interface":{"Address":…,"MacAddress":…}} with the non-empty ones.
struct CreateEndpointAnswer {
  std::string address;      // "10.1.0.7/24" when Docker sent no Interface.Address
  std::string mac_address;  // when Docker sent no Interface.MacAddress
};
struct StaticRoute {
  std::string destination;  // "10.2.0.0/16"
  std::string next_hop;     // "" or "0.0.0.0": on-link (RouteType 1); else RouteType 0
};
struct JoinAnswer {
  std::string src_name;    // the container end of the veth
  std::string dst_prefix;  // module.dockerplugin.dstprefix ("eth")
  std::string gateway;     // "" : no Gateway key (disablegateway)
  std::vector<StaticRoute> static_routes;
};
struct OperInfoAnswer {
  Json value = Json::object();  // {"port", "veth", "bridge", "ofport"}
};

// --- the method table -------------------------------------------------------------------------

// What a method does to state: kConstant methods are answered by dispatch() itself; kRead ones
// read the module's state (no store write); kWrite ones change the model, links or OVSDB (the
// module serialises them per endpoint/network).
enum class Effect { kConstant, kRead, kWrite };

// X(enumerator, path, request struct, effect, answer struct). Declared once: the enum, the path
// lookup (and so the 404), decoding, dispatch and the metric labels derive from it.
#define VLCP_DOCKER_METHODS(X)                                                                            \
  X(kActivate, "/Plugin.Activate", EmptyRequest, Effect::kConstant, ActivateAnswer)                       \
  X(kGetCapabilities, "/NetworkDriver.GetCapabilities", EmptyRequest, Effect::kConstant,                  \
    NetworkCapabilitiesAnswer)                                                                            \
  X(kCreateNetwork, "/NetworkDriver.CreateNetwork", CreateNetworkRequest, Effect::kWrite, EmptyAnswer)    \
  X(kDeleteNetwork, "/NetworkDriver.DeleteNetwork", NetworkRequest, Effect::kWrite, EmptyAnswer)          \
  X(kAllocateNetwork, "/NetworkDriver.AllocateNetwork", EmptyRequest, Effect::kConstant, EmptyAnswer)     \
  X(kFreeNetwork, "/NetworkDriver.FreeNetwork", EmptyRequest, Effect::kConstant, EmptyAnswer)             \
  X(kCreateEndpoint, "/NetworkDriver.CreateEndpoint", CreateEndpointRequest, Effect::kWrite,              \
    CreateEndpointAnswer)                                                                                 \
  X(kDeleteEndpoint, "/NetworkDriver.DeleteEndpoint", EndpointRequest, Effect::kWrite, EmptyAnswer)       \
  X(kEndpointOperInfo, "/NetworkDriver.EndpointOperInfo", EndpointRequest, Effect::kRead, OperInfoAnswer) \
  X(kJoin, "/NetworkDriver.Join", JoinRequest, Effect::kRead, JoinAnswer)                                 \
  X(kLeave, "/NetworkDriver.Leave", EndpointRequest, Effect::kRead, EmptyAnswer)                          \
  X(kProgramExternalConnectivity, "/NetworkDriver.ProgramExternalConnectivity", EmptyRequest,             \
    Effect::kConstant, EmptyAnswer)                                                                       \
  X(kRevokeExternalConnectivity, "/NetworkDriver.RevokeExternalConnectivity", EmptyRequest,               \
    Effect::kConstant, EmptyAnswer)                                                                       \
  X(kDiscoverNew, "/NetworkDriver.DiscoverNew", EmptyRequest, Effect::kConstant, EmptyAnswer)             \
  X(kDiscoverDelete, "/NetworkDriver.DiscoverDelete", EmptyRequest, Effect::kConstant, EmptyAnswer)       \
  X(kIpamGetCapabilities, "/IpamDriver.GetCapabilities", EmptyRequest, Effect::kConstant,                 \
    IpamCapabilitiesAnswer)                                                                               \
  X(kGetDefaultAddressSpaces, "/IpamDriver.GetDefaultAddressSpaces", EmptyRequest, Effect::kConstant,     \
    AddressSpacesAnswer)                                                                                  \
  X(kRequestPool, "/IpamDriver.RequestPool", RequestPoolRequest, Effect::kWrite, RequestPoolAnswer)       \
  X(kReleasePool, "/IpamDriver.ReleasePool", ReleasePoolRequest, Effect::kWrite, EmptyAnswer)             \
  X(kRequestAddress, "/IpamDriver.RequestAddress", RequestAddressRequest, Effect::kWrite,                 \
    RequestAddressAnswer)                                                                                 \
  X(kReleaseAddress, "/IpamDriver.ReleaseAddress", ReleaseAddressRequest, Effect::kWrite, EmptyAnswer)

enum class Method : uint8_t {
#define VLCP_DOCKER_METHOD_ENUM(name, path, req, effect, answer) name,
  VLCP_DOCKER_METHODS(VLCP_DOCKER_METHOD_ENUM)
#undef VLCP_DOCKER_METHOD_ENUM
};
inline constexpr size_t kMethodCount = 0
#define VLCP_DOCKER_METHOD_COUNT(name, path, req, effect, answer) +1
    VLCP_DOCKER_METHODS(VLCP_DOCKER_METHOD_COUNT)
#undef VLCP_DOCKER_METHOD_COUNT
    ;

// The request types, one alternative each (several methods share one).
using RequestBody = std::variant<EmptyRequest, RequestPoolRequest, ReleasePoolRequest, RequestAddressRequest,
                                 ReleaseAddressRequest, CreateNetworkRequest, NetworkRequest,
                                 CreateEndpointRequest, EndpointRequest, JoinRequest>;

// The request path ("/NetworkDriver.Join"), exactly as Docker sends it; nullopt: unknown (404).
std::optional<Method> method_from_path(std::string_view path);
std::string_view method_path(Method m);
// "NetworkDriver.Join": the path without its slash (metric label, Err prefix).
std::string_view method_name(Method m);
Effect method_effect(Method m);

// --- decoding and dispatch --------------------------------------------------------------------

// A decoded call for the module to run; `body` holds the method's request struct.
struct Call {
  Method method;
  RequestBody body;
};

// An HTTP answer: status and a JSON body (an object; {"Err": "..."} unless 200).
struct Reply {
  int status = 200;
  std::string body;
  friend bool operator==(const Reply&, const Reply&) = default;
};

// Decodes `body` as `m`'s request. Errors are kMalformed (400: not JSON, too large or deep, a
// field of the wrong type, a missing or badly formed id) or kInvalidArgument (422: refused input
// — an IPv6 pool or address, an option value, an unknown address space), their messages
// prefixed with the method ("CreateEndpoint: \"EndpointID\" missing").
Result<Call> decode_request(Method m, std::string_view body);

// What the constant answers depend on (module.dockerplugin.*).
struct PluginIdentity {
  std::string scope = "local";
};

// The server's one entry: an unknown path -> 404; a bad body -> 400/422; a kConstant method ->
// its answer (200); else the Call for the module to run (its answer encoded by encode() below,
// or its error by error_reply()).
std::variant<Reply, Call> dispatch(std::string_view path, std::string_view body,
                                   const PluginIdentity& identity = {});

// The 404 dispatch() gives an unknown path: {"Err": "unknown method <path>"}.
Reply unknown_method_reply(std::string_view path);

// Answers, in the JSON shapes of §2.1/§2.2 (keys in the documented order).
std::string encode(const EmptyAnswer&);
std::string encode(const ActivateAnswer&);
std::string encode(const NetworkCapabilitiesAnswer&);
std::string encode(const IpamCapabilitiesAnswer&);
std::string encode(const AddressSpacesAnswer&);
std::string encode(const RequestPoolAnswer&);
std::string encode(const RequestAddressAnswer&);
std::string encode(const CreateEndpointAnswer&);
std::string encode(const JoinAnswer&);
std::string encode(const OperInfoAnswer&);
template <typename Answer>
Reply ok_reply(const Answer& a) {
  return Reply{200, encode(a)};
}

// --- errors (§2.6) ----------------------------------------------------------------------------

// X(Errc, HTTP status): every code of VLCP_ERRC_LIST, once. 404 is not here: it is the unknown
// method's alone (dispatch), because Docker reads a 404 as "not implemented".
#define VLCP_DOCKER_STATUS_TABLE(X)                                                 \
  X(kOk, 200)                                                                       \
  X(kMalformed, 400)         /* body not JSON, wrong type, missing or bad id */     \
  X(kInvalidArgument, 422)   /* refused input: option value, address outside, v6 */ \
  X(kOutOfRange, 422)        /* a value past its range */                           \
  X(kUnsupported, 422)       /* a feature VLCP does not offer (IPv6, swarm) */      \
  X(kAlreadyExists, 409)     /* address, MAC, VLAN/VNI, name held */                \
  X(kConflict, 409)          /* CIDR differs from the attached subnet, ... */       \
  X(kNotFound, 409)          /* network or pool Docker knows and VLCP lost */       \
  X(kUnavailable, 503)       /* not ready, OVSDB disconnected, store unreachable */ \
  X(kResourceExhausted, 503) /* no free /24 or address left, queue full */          \
  X(kIo, 503)                /* the host refused (netlink, socket) */               \
  X(kPermissionDenied, 503)  /* vlcpd lacks a capability: not ready here */         \
  X(kTimeout, 504)           /* a step past stepdeadline */                         \
  X(kInternal, 500)          /* broken invariant, escaped exception */

// The HTTP status of a code (every Errc has one; never 404).
int docker_http_status(Errc code);
// The error answer: docker_http_status(status.code()) and {"Err": message} (the code's text when
// the message is empty). An ok status here is a caller's bug: 500.
Reply error_reply(const Status& status);

// --- VLCP's ids and names ---------------------------------------------------------------------

// Docker's NetworkID / EndpointID: 64 lower-case hex digits.
bool is_docker_id(std::string_view id);
// Our pool ids (vlcp-<uuid>) and any Docker echoes back: 1-64 of [A-Za-z0-9_-].
bool is_pool_id(std::string_view id);

std::string lognet_id(std::string_view network_id);  // docker-<NetworkID>-lognet
std::string subnet_id(std::string_view network_id);  // docker-<NetworkID>-subnet
std::string port_id(std::string_view endpoint_id);   // docker-<EndpointID>
// The owner mark on the veth (IFLA_IFALIAS "vlcp:docker:<EID>") and on the OVSDB interface
// (external_ids:vlcp-owner "docker:<EID>").
std::string owner_mark(std::string_view endpoint_id);
std::string veth_alias(std::string_view endpoint_id);

// module.dockerplugin.vethprefix: 1-4 of [a-z0-9], so both names fit IFNAMSIZ (15).
bool valid_veth_prefix(std::string_view prefix);
struct VethNames {
  std::string host;       // <prefix><first 10 hex of the id>: into the bridge
  std::string container;  // host + "c": Join's SrcName, moved into the container
  friend bool operator==(const VethNames&, const VethNames&) = default;
};
// nullopt when the prefix is not valid or the id is not a Docker id.
std::optional<VethNames> veth_names(std::string_view prefix, std::string_view endpoint_id);

}  // namespace vlcp::containers::docker
