// The CNI specification as data and pure functions (SPEC.md 0.3.0 through 1.1.0): versions and
// their negotiation, commands, the environment a runtime gives a plugin, CNI_ARGS, the network
// configuration (single plugin or conflist) with VLCP's own keys, results rendered and parsed in
// each version's shape, the VERSION answer and the error object. Used by vlcp-cni
// (src/cni/vlcp_cni.cc) and by vlcpd's CNI server; no I/O here. Every parser is total: any
// input gives a value or a spec error, never an exception or a crash.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/errors.h"

namespace vlcp::cni {

// --- versions ----------------------------------------------------------------------------------

// X(enumerator, text), oldest first. 0.1.0/0.2.0 (the ip4/ip6 result shape) are not spoken.
#define VLCP_CNI_VERSIONS(X) \
  X(k0_3_0, "0.3.0")         \
  X(k0_3_1, "0.3.1")         \
  X(k0_4_0, "0.4.0")         \
  X(k1_0_0, "1.0.0")         \
  X(k1_1_0, "1.1.0")

enum class Version {
#define VLCP_CNI_VERSION_ENUM(name, text) name,
  VLCP_CNI_VERSIONS(VLCP_CNI_VERSION_ENUM)
#undef VLCP_CNI_VERSION_ENUM
};
inline constexpr Version kNewestVersion = Version::k1_1_0;

std::optional<Version> parse_version(std::string_view text);
std::string_view version_text(Version v);
// Every version spoken, oldest first (VERSION's supportedVersions).
std::vector<std::string_view> supported_versions();

// --- commands ----------------------------------------------------------------------------------

// X(enumerator, CNI_COMMAND, path on vlcpd's socket, the oldest version that has it, needs a
// container: CNI_CONTAINERID and CNI_IFNAME).
#define VLCP_CNI_COMMANDS(X)                              \
  X(kAdd, "ADD", "/add", Version::k0_3_0, true)           \
  X(kDel, "DEL", "/del", Version::k0_3_0, true)           \
  X(kCheck, "CHECK", "/check", Version::k0_4_0, true)     \
  X(kStatus, "STATUS", "/status", Version::k1_1_0, false) \
  X(kGc, "GC", "/gc", Version::k1_1_0, false)             \
  X(kVersion, "VERSION", "", Version::k0_3_0, false)

enum class Command {
#define VLCP_CNI_COMMAND_ENUM(name, text, path, since, container) name,
  VLCP_CNI_COMMANDS(VLCP_CNI_COMMAND_ENUM)
#undef VLCP_CNI_COMMAND_ENUM
};

std::optional<Command> parse_command(std::string_view cni_command);
std::string_view command_text(Command c);  // "ADD"
std::string_view command_path(Command c);  // "/add"; "" for VERSION (answered by the binary)
std::optional<Command> command_from_path(std::string_view path);
Version command_since(Command c);
bool command_needs_container(Command c);

// --- the runtime's environment -------------------------------------------------------------------

// The CNI_* variables, as given (an absent variable is empty).
struct Environment {
  std::string command;       // CNI_COMMAND
  std::string container_id;  // CNI_CONTAINERID
  std::string netns;         // CNI_NETNS
  std::string ifname;        // CNI_IFNAME
  std::string args;          // CNI_ARGS
  std::string path;          // CNI_PATH
};

// The command, once every variable it needs is present and well formed (code 4 naming the
// variable otherwise): CNI_CONTAINERID [A-Za-z0-9][A-Za-z0-9_.-]*; CNI_IFNAME at most 15 bytes,
// not "." or "..", without '/', ':' or white space; CNI_NETNS for ADD and CHECK (DEL may have
// none: the namespace may be gone). No value may hold a control character (they travel in HTTP
// headers to vlcpd).
Expected<Command> validate_environment(const Environment& env);

// --- CNI_ARGS ----------------------------------------------------------------------------------

// CNI_ARGS "K=V;K=V". Known keys: IP (or VLCP's ip) an IPv4 address, MAC, network, subnet,
// hostname, K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID and
// IgnoreUnknown. Another key is an error (code 4) unless IgnoreUnknown=1|true (as libcni's
// plugins do); such keys are kept in `unknown`.
struct Args {
  std::string ip;   // an IPv4 address, optionally with its /prefix (as static IPAM writes it)
  std::string mac;  // lower case aa:bb:cc:dd:ee:ff
  std::string network;
  std::string subnet;
  std::string hostname;
  std::string k8s_pod_namespace;
  std::string k8s_pod_name;
  std::string k8s_pod_infra_container_id;
  std::string k8s_pod_uid;
  bool ignore_unknown = false;
  std::vector<std::pair<std::string, std::string>> unknown;

  friend bool operator==(const Args&, const Args&) = default;
};
Expected<Args> parse_args(std::string_view cni_args);

// --- results -----------------------------------------------------------------------------------

struct Interface {
  std::string name;
  std::string mac;
  std::string sandbox;      // CNI_NETNS for the container's end, empty on the host
  std::optional<int> mtu;   // 1.1.0
  std::string socket_path;  // 1.1.0
  std::string pci_id;       // 1.1.0
  friend bool operator==(const Interface&, const Interface&) = default;
};
struct IpConfig {
  std::string address;           // CIDR, "10.1.0.5/24"
  std::string gateway;           // may be empty
  std::optional<int> interface;  // index into interfaces
  friend bool operator==(const IpConfig&, const IpConfig&) = default;
};
struct Route {
  std::string dst;                                         // CIDR
  std::string gw;                                          // may be empty
  std::optional<int> mtu, advmss, priority, table, scope;  // 1.1.0
  friend bool operator==(const Route&, const Route&) = default;
};
struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
  bool empty() const { return nameservers.empty() && domain.empty() && search.empty() && options.empty(); }
  friend bool operator==(const Dns&, const Dns&) = default;
};
// An ADD's success result (and a CHECK's or DEL's prevResult).
struct AddResult {
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;
  friend bool operator==(const AddResult&, const AddResult&) = default;
};

// The result in version v's shape: cniVersion; 0.3.x/0.4.0 put "version": "4"|"6" in each ip;
// the 1.1.0-only fields (interface mtu/socketPath/pciID, route mtu/advmss/priority/table/scope)
// appear only in 1.1.0; empty strings, lists and dns are left out.
nlohmann::json render_result(const AddResult& r, Version v);
// A result of any spoken version (a prevResult, or vlcpd's answer): code 6 when a field has
// the wrong type, an address is not CIDR, an ip's version disagrees with its address, or an
// interface index points outside `interfaces`.
Expected<AddResult> parse_result(const nlohmann::json& j);

// VERSION's answer: {"cniVersion": asked (or the newest), "supportedVersions": [...]}.
nlohmann::json render_version_result(std::string_view asked);
// The version asked for on VERSION's stdin ({"cniVersion": ...}; empty stdin: the newest).
Expected<std::string> parse_version_request(std::string_view stdin_text);

// The error object: {"cniVersion", "code", "msg", "details"} (details left out when empty).
nlohmann::json render_error(const Error& e, std::string_view cni_version);
// An error object as vlcpd sends it (code a positive integer, msg a string); nullopt otherwise.
std::optional<Error> parse_error(const nlohmann::json& j);

// --- network configuration -----------------------------------------------------------------------

// Where vlcpd serves CNI by default (VLCP's vlcp-k8s-cni socket).
inline constexpr std::string_view kDefaultSocket = "/var/run/vlcp-k8s-cni/vlcp-k8s-cni.sock";
inline constexpr double kDefaultTimeoutSeconds = 60;
// Plugin types taken from a conflist's "plugins" (the first one of these).
inline constexpr std::array<std::string_view, 2> kPluginTypes = {"vlcp-cni", "vlcp"};

struct Attachment {  // GC's cni.dev/valid-attachments entry
  std::string container_id;
  std::string ifname;
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

struct NetConf {
  Version version = kNewestVersion;  // negotiated: decides the result's shape
  std::string cni_version;           // version_text(version)
  std::string name;                  // the network's name (the last default for the network)
  std::string type;
  // VLCP's keys (docs/CONTAINERS_DESIGN.md §5.4).
  std::string socket{kDefaultSocket};
  double timeout_seconds = kDefaultTimeoutSeconds;
  std::string logical_network;  // "logicalnetwork"
  std::string subnet;           // "subnet"
  std::optional<int> mtu;       // "mtu", 68..65535
  // runtimeConfig (capabilities "ips", "mac").
  std::vector<std::string> runtime_ips;  // CIDR or bare addresses, as given
  std::string runtime_mac;
  std::optional<AddResult> prev_result;
  std::vector<Attachment> valid_attachments;  // GC
};

// The configuration on a plugin's stdin for command c: a single plugin's configuration, or a
// conflist (its first plugin of a kPluginTypes type, with the list's name and version). Version:
// "cniVersion", or 1.1's "cniVersions" (the newest spoken one); unknown → code 1; a command newer
// than the version (CHECK < 0.4.0, STATUS/GC < 1.1.0) → code 1; not JSON → code 6; a key of ours
// with a wrong type or value, no name, CHECK without prevResult → code 7.
Expected<NetConf> parse_config(std::string_view stdin_text, Command c);

// JSON text for output: invalid UTF-8 replaced, never an exception.
std::string json_text(const nlohmann::json& j);
// Parses JSON of at most kMaxJsonBytes bytes nested at most kMaxJsonDepth deep; nullopt otherwise.
inline constexpr size_t kMaxJsonBytes = 1 << 20;
inline constexpr int kMaxJsonDepth = 64;
std::optional<nlohmann::json> parse_json(std::string_view text);

// Address helpers shared with vlcpd's server: an IPv4 or IPv6 address; CIDR "addr/prefix".
bool is_ip_address(std::string_view text);
bool is_cidr(std::string_view text);
bool is_ipv6_cidr(std::string_view text);
bool is_mac(std::string_view text);

}  // namespace vlcp::cni
