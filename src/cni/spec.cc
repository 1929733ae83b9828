// The CNI specification's data and pure functions (see spec.h).
#include "cni/spec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace vlcp::cni {

namespace {

using json = nlohmann::json;

struct VersionRow {
  Version v;
  std::string_view text;
};
constexpr VersionRow kVersions[] = {
#define VLCP_CNI_VERSION_ROW(name, text) {Version::name, text},
    VLCP_CNI_VERSIONS(VLCP_CNI_VERSION_ROW)
#undef VLCP_CNI_VERSION_ROW
};

struct CommandRow {
  Command c;
  std::string_view text;
  std::string_view path;
  Version since;
  bool container;
};
constexpr CommandRow kCommands[] = {
#define VLCP_CNI_COMMAND_ROW(name, text, path, since, container) \
  {Command::name, text, path, since, container},
    VLCP_CNI_COMMANDS(VLCP_CNI_COMMAND_ROW)
#undef VLCP_CNI_COMMAND_ROW
};

const CommandRow& row(Command c) {
  return kCommands[static_cast<int>(c)];
}

Error config_error(std::string details) {
  return make_error(ErrorCode::kInvalidConfig, std::move(details));
}
Error decode_error(std::string details) {
  return make_error(ErrorCode::kDecodeFailed, std::move(details));
}

// The text of a JSON value for error details (bounded: untrusted input).
std::string shown(const json& j) {
  std::string s = json_text(j);
  if (s.size() > 64) s = s.substr(0, 61) + "...";
  return s;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto u = static_cast<unsigned char>(ch);
    return u < 0x20 || u == 0x7f;
  });
}

bool valid_container_id(std::string_view id) {
  if (id.empty() || !std::isalnum(static_cast<unsigned char>(id[0]))) return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 0 && std::isalnum(static_cast<unsigned char>(ch))) || ch == '_' || ch == '.' || ch == '-';
  });
}

bool valid_ifname(std::string_view n) {
  if (n.empty() || n.size() > 15 || n == "." || n == "..") return false;
  return std::none_of(n.begin(), n.end(), [](char ch) {
    return ch == '/' || ch == ':' || std::isspace(static_cast<unsigned char>(ch));
  });
}

// Field readers: absent is fine (returns true and leaves `out`), a wrong type is not.
bool read_string(const json& obj, const char* key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = it->get_ref<const std::string&>();
  return true;
}
bool read_int(const json& obj, const char* key, std::optional<int>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (it->is_number_integer()) {
    if (it->is_number_unsigned()) {
      auto u = it->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return false;
      out = static_cast<int>(u);
      return true;
    }
    auto i = it->get<std::int64_t>();
    if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) return false;
    out = static_cast<int>(i);
    return true;
  }
  return false;
}
bool read_strings(const json& obj, const char* key, std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_array()) return false;
  std::vector<std::string> v;
  for (const auto& e : *it) {
    if (!e.is_string()) return false;
    v.push_back(e.get<std::string>());
  }
  out = std::move(v);
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// "addr/prefix" split; false when there is no '/' or the prefix is not 0..max.
bool split_cidr(std::string_view text, std::string& addr, int& prefix, int& family) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  addr = std::string(text.substr(0, slash));
  std::string_view p = text.substr(slash + 1);
  if (p.empty() || p.size() > 3 ||
      !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  prefix = std::stoi(std::string(p));
  unsigned char buf[16];
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    family = 4;
    return prefix <= 32;
  }
  if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    family = 6;
    return prefix <= 128;
  }
  return false;
}

}  // namespace

// --- errors --------------------------------------------------------------------------------------

std::optional<ErrorCode> error_code_from_int(int code) {
  switch (code) {
#define VLCP_CNI_ERROR_CASE(name, num, msg, http) \
  case num:                                       \
    return ErrorCode::name;
    VLCP_CNI_ERRORS(VLCP_CNI_ERROR_CASE)
#undef VLCP_CNI_ERROR_CASE
  }
  return std::nullopt;
}

std::string_view error_msg(ErrorCode code) {
  switch (code) {
#define VLCP_CNI_ERROR_MSG(name, num, msg, http) \
  case ErrorCode::name:                          \
    return msg;
    VLCP_CNI_ERRORS(VLCP_CNI_ERROR_MSG)
#undef VLCP_CNI_ERROR_MSG
  }
  return "unknown error";
}

int error_http_status(ErrorCode code) {
  switch (code) {
#define VLCP_CNI_ERROR_HTTP(name, num, msg, http) \
  case ErrorCode::name:                           \
    return http;
    VLCP_CNI_ERRORS(VLCP_CNI_ERROR_HTTP)
#undef VLCP_CNI_ERROR_HTTP
  }
  return 500;
}

Error make_error(ErrorCode code, std::string details) {
  return Error{static_cast<int>(code), std::string(error_msg(code)), std::move(details)};
}

json render_error(const Error& e, std::string_view cni_version) {
  json j = {{"cniVersion", std::string(cni_version)}, {"code", e.code}, {"msg", e.msg}};
  if (!e.details.empty()) j["details"] = e.details;
  return j;
}

std::optional<Error> parse_error(const json& j) {
  if (!j.is_object()) return std::nullopt;
  auto code = j.find("code");
  if (code == j.end() || !code->is_number_integer()) return std::nullopt;
  std::optional<int> c;
  if (!read_int(j, "code", c) || !c || *c <= 0) return std::nullopt;
  Error e;
  e.code = *c;
  if (!read_string(j, "msg", e.msg) || !read_string(j, "details", e.details)) return std::nullopt;
  if (e.msg.empty()) {
    auto known = error_code_from_int(e.code);
    e.msg = known ? std::string(error_msg(*known)) : "error " + std::to_string(e.code);
  }
  return e;
}

// --- versions and commands -----------------------------------------------------------------------

std::optional<Version> parse_version(std::string_view text) {
  for (const auto& r : kVersions)
    if (r.text == text) return r.v;
  return std::nullopt;
}

std::string_view version_text(Version v) {
  return kVersions[static_cast<int>(v)].text;
}

std::vector<std::string_view> supported_versions() {
  std::vector<std::string_view> out;
  for (const auto& r : kVersions) out.push_back(r.text);
  return out;
}

std::optional<Command> parse_command(std::string_view cni_command) {
  for (const auto& r : kCommands)
    if (r.text == cni_command) return r.c;
  return std::nullopt;
}
std::string_view command_text(Command c) {
  return row(c).text;
}
std::string_view command_path(Command c) {
  return row(c).path;
}
std::optional<Command> command_from_path(std::string_view path) {
  for (const auto& r : kCommands)
    if (!r.path.empty() && r.path == path) return r.c;
  return std::nullopt;
}
Version command_since(Command c) {
  return row(c).since;
}
bool command_needs_container(Command c) {
  return row(c).container;
}

// --- environment ---------------------------------------------------------------------------------

Expected<Command> validate_environment(const Environment& env) {
  auto bad = [](std::string details) {
    return make_error(ErrorCode::kInvalidEnvironment, std::move(details));
  };
  if (env.command.empty()) return bad("CNI_COMMAND is not set");
  auto c = parse_command(env.command);
  if (!c) return bad("CNI_COMMAND: unknown command " + shown(json(env.command)));
  const std::pair<const char*, const std::string*> vars[] = {{"CNI_CONTAINERID", &env.container_id},
                                                             {"CNI_NETNS", &env.netns},
                                                             {"CNI_IFNAME", &env.ifname},
                                                             {"CNI_ARGS", &env.args},
                                                             {"CNI_PATH", &env.path}};
  for (const auto& [name, value] : vars)
    if (has_control(*value)) return bad(std::string(name) + " holds a control character");
  if (!command_needs_container(*c)) return *c;
  if (env.container_id.empty()) return bad("CNI_CONTAINERID is not set");
  if (!valid_container_id(env.container_id))
    return bad("CNI_CONTAINERID " + shown(json(env.container_id)) +
               " must be letters, digits, '_', '.' and '-', starting with a letter or digit");
  if (env.ifname.empty()) return bad("CNI_IFNAME is not set");
  if (!valid_ifname(env.ifname))
    return bad("CNI_IFNAME " + shown(json(env.ifname)) +
               " is not an interface name (1-15 bytes, no '/', ':' or white space, not '.' or '..')");
  if ((*c == Command::kAdd || *c == Command::kCheck) && env.netns.empty())
    return bad("CNI_NETNS is not set (" + std::string(command_text(*c)) +
               " needs the container's namespace)");
  return *c;
}

// --- CNI_ARGS ------------------------------------------------------------------------------------

bool is_ip_address(std::string_view text) {
  if (text.size() > 64) return false;
  std::string s(text);
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_cidr(std::string_view text) {
  std::string addr;
  int prefix = 0, family = 0;
  return text.size() <= 64 && split_cidr(text, addr, prefix, family);
}

bool is_ipv6_cidr(std::string_view text) {
  std::string addr;
  int prefix = 0, family = 0;
  return text.size() <= 64 && split_cidr(text, addr, prefix, family) && family == 6;
}

bool is_mac(std::string_view text) {
  if (text.size() != 17) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i % 3 == 2) {
      if (text[i] != ':') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

Expected<Args> parse_args(std::string_view cni_args) {
  auto bad = [](std::string details) {
    return make_error(ErrorCode::kInvalidEnvironment, "CNI_ARGS: " + std::move(details));
  };
  Args a;
  std::vector<std::pair<std::string, std::string>> unknown;
  size_t pos = 0;
  while (pos <= cni_args.size()) {
    size_t end = cni_args.find(';', pos);
    if (end == std::string_view::npos) end = cni_args.size();
    std::string_view pair = cni_args.substr(pos, end - pos);
    pos = end + 1;
    if (pair.empty()) continue;  // "A=1;" and an empty CNI_ARGS
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return bad(shown(json(std::string(pair))) + " is not KEY=VALUE");
    std::string key(pair.substr(0, eq));
    std::string value(pair.substr(eq + 1));
    if (key == "IP" || key == "ip") {
      unsigned char buf[4];
      std::string addr = value.substr(0, value.find('/'));
      if (inet_pton(AF_INET, addr.c_str(), buf) != 1 || (addr != value && !is_cidr(value)))
        return bad(key + "=" + shown(json(value)) + " is not an IPv4 address");
      a.ip = value;
    } else if (key == "MAC" || key == "mac") {
      if (!is_mac(value))
        return bad(key + "=" + shown(json(value)) + " is not a MAC address (aa:bb:cc:dd:ee:ff)");
      a.mac = lower(value);
    } else if (key == "network") {
      a.network = value;
    } else if (key == "subnet") {
      a.subnet = value;
    } else if (key == "hostname") {
      a.hostname = value;
    } else if (key == "K8S_POD_NAMESPACE") {
      a.k8s_pod_namespace = value;
    } else if (key == "K8S_POD_NAME") {
      a.k8s_pod_name = value;
    } else if (key == "K8S_POD_INFRA_CONTAINER_ID") {
      a.k8s_pod_infra_container_id = value;
    } else if (key == "K8S_POD_UID") {
      a.k8s_pod_uid = value;
    } else if (key == "IgnoreUnknown") {
      std::string v = lower(value);
      if (v == "1" || v == "true") {
        a.ignore_unknown = true;
      } else if (v == "0" || v == "false") {
        a.ignore_unknown = false;
      } else {
        return bad("IgnoreUnknown=" + shown(json(value)) + " is not 1, 0, true or false");
      }
    } else {
      unknown.emplace_back(std::move(key), std::move(value));
    }
  }
  if (!unknown.empty() && !a.ignore_unknown)
    return bad("unknown key " + shown(json(unknown.front().first)) + " (IgnoreUnknown=1 allows it)");
  a.unknown = std::move(unknown);
  return a;
}

// --- results -------------------------------------------------------------------------------------

json render_result(const AddResult& r, Version v) {
  const bool v11 = v >= Version::k1_1_0;
  const bool legacy = v < Version::k1_0_0;  // 0.3.x, 0.4.0: "version" in each ip
  json j = json::object();
  j["cniVersion"] = std::string(version_text(v));
  if (!r.interfaces.empty()) {
    json list = json::array();
    for (const auto& i : r.interfaces) {
      json e = {{"name", i.name}};
      if (!i.mac.empty()) e["mac"] = i.mac;
      if (!i.sandbox.empty()) e["sandbox"] = i.sandbox;
      if (v11 && i.mtu) e["mtu"] = *i.mtu;
      if (v11 && !i.socket_path.empty()) e["socketPath"] = i.socket_path;
      if (v11 && !i.pci_id.empty()) e["pciID"] = i.pci_id;
      list.push_back(std::move(e));
    }
    j["interfaces"] = std::move(list);
  }
  if (!r.ips.empty()) {
    json list = json::array();
    for (const auto& ip : r.ips) {
      json e = json::object();
      if (legacy) e["version"] = is_ipv6_cidr(ip.address) ? "6" : "4";
      e["address"] = ip.address;
      if (!ip.gateway.empty()) e["gateway"] = ip.gateway;
      if (ip.interface) e["interface"] = *ip.interface;
      list.push_back(std::move(e));
    }
    j["ips"] = std::move(list);
  }
  if (!r.routes.empty()) {
    json list = json::array();
    for (const auto& rt : r.routes) {
      json e = {{"dst", rt.dst}};
      if (!rt.gw.empty()) e["gw"] = rt.gw;
      if (v11) {
        if (rt.mtu) e["mtu"] = *rt.mtu;
        if (rt.advmss) e["advmss"] = *rt.advmss;
        if (rt.priority) e["priority"] = *rt.priority;
        if (rt.table) e["table"] = *rt.table;
        if (rt.scope) e["scope"] = *rt.scope;
      }
      list.push_back(std::move(e));
    }
    j["routes"] = std::move(list);
  }
  if (!r.dns.empty()) {
    json d = json::object();
    if (!r.dns.nameservers.empty()) d["nameservers"] = r.dns.nameservers;
    if (!r.dns.domain.empty()) d["domain"] = r.dns.domain;
    if (!r.dns.search.empty()) d["search"] = r.dns.search;
    if (!r.dns.options.empty()) d["options"] = r.dns.options;
    j["dns"] = std::move(d);
  }
  return j;
}

Expected<AddResult> parse_result(const json& j) {
  if (!j.is_object()) return decode_error("a result must be a JSON object");
  AddResult r;
  auto list = [&](const char* key, const json*& out) -> bool {
    out = nullptr;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_array()) return false;
    out = &*it;
    return true;
  };
  const json* interfaces = nullptr;
  if (!list("interfaces", interfaces)) return decode_error("result: \"interfaces\" is not a list");
  if (interfaces) {
    for (const auto& e : *interfaces) {
      Interface i;
      if (!e.is_object() || !read_string(e, "name", i.name) || !read_string(e, "mac", i.mac) ||
          !read_string(e, "sandbox", i.sandbox) || !read_int(e, "mtu", i.mtu) ||
          !read_string(e, "socketPath", i.socket_path) || !read_string(e, "pciID", i.pci_id))
        return decode_error("result: interface " + shown(e) + " has a field of the wrong type");
      if (i.name.empty()) return decode_error("result: an interface has no name");
      r.interfaces.push_back(std::move(i));
    }
  }
  const json* ips = nullptr;
  if (!list("ips", ips)) return decode_error("result: \"ips\" is not a list");
  if (ips) {
    for (const auto& e : *ips) {
      IpConfig ip;
      std::string version;
      if (!e.is_object() || !read_string(e, "address", ip.address) ||
          !read_string(e, "gateway", ip.gateway) || !read_int(e, "interface", ip.interface) ||
          !read_string(e, "version", version))
        return decode_error("result: ip " + shown(e) + " has a field of the wrong type");
      if (!is_cidr(ip.address))
        return decode_error("result: ip address " + shown(json(ip.address)) + " is not CIDR");
      if (!ip.gateway.empty() && !is_ip_address(ip.gateway))
        return decode_error("result: gateway " + shown(json(ip.gateway)) + " is not an address");
      if (!version.empty() && version != (is_ipv6_cidr(ip.address) ? "6" : "4"))
        return decode_error("result: ip " + ip.address + " is not version " + shown(json(version)));
      if (ip.interface && (*ip.interface < 0 || static_cast<size_t>(*ip.interface) >= r.interfaces.size()))
        return decode_error("result: ip " + ip.address + " names interface " + std::to_string(*ip.interface) +
                            " of " + std::to_string(r.interfaces.size()));
      r.ips.push_back(std::move(ip));
    }
  }
  const json* routes = nullptr;
  if (!list("routes", routes)) return decode_error("result: \"routes\" is not a list");
  if (routes) {
    for (const auto& e : *routes) {
      Route rt;
      if (!e.is_object() || !read_string(e, "dst", rt.dst) || !read_string(e, "gw", rt.gw) ||
          !read_int(e, "mtu", rt.mtu) || !read_int(e, "advmss", rt.advmss) ||
          !read_int(e, "priority", rt.priority) || !read_int(e, "table", rt.table) ||
          !read_int(e, "scope", rt.scope))
        return decode_error("result: route " + shown(e) + " has a field of the wrong type");
      if (!is_cidr(rt.dst)) return decode_error("result: route dst " + shown(json(rt.dst)) + " is not CIDR");
      if (!rt.gw.empty() && !is_ip_address(rt.gw))
        return decode_error("result: route gw " + shown(json(rt.gw)) + " is not an address");
      r.routes.push_back(std::move(rt));
    }
  }
  auto dns = j.find("dns");
  if (dns != j.end() && !dns->is_null()) {
    if (!dns->is_object() || !read_strings(*dns, "nameservers", r.dns.nameservers) ||
        !read_string(*dns, "domain", r.dns.domain) || !read_strings(*dns, "search", r.dns.search) ||
        !read_strings(*dns, "options", r.dns.options))
      return decode_error("result: \"dns\" has a field of the wrong type");
  }
  return r;
}

json render_version_result(std::string_view asked) {
  json versions = json::array();
  for (auto v : supported_versions()) versions.push_back(std::string(v));
  return {{"cniVersion", asked.empty() ? std::string(version_text(kNewestVersion)) : std::string(asked)},
          {"supportedVersions", std::move(versions)}};
}

Expected<std::string> parse_version_request(std::string_view stdin_text) {
  if (std::all_of(stdin_text.begin(), stdin_text.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
    return std::string(version_text(kNewestVersion));
  auto j = parse_json(stdin_text);
  if (!j || !j->is_object()) return decode_error("VERSION: stdin is not a JSON object");
  std::string asked;
  if (!read_string(*j, "cniVersion", asked) || has_control(asked) || asked.size() > 32)
    return decode_error("VERSION: \"cniVersion\" is not a version string");
  if (asked.empty()) asked = std::string(version_text(kNewestVersion));
  return asked;
}

// --- configuration -------------------------------------------------------------------------------

namespace {

std::string spoken_list() {
  std::string out;
  for (auto v : supported_versions()) out += (out.empty() ? "" : ", ") + std::string(v);
  return out;
}

// "cniVersion", or 1.1's "cniVersions" (the newest spoken one).
Expected<Version> negotiate(const json& conf) {
  auto list = conf.find("cniVersions");
  if (list != conf.end() && !list->is_null()) {
    if (!list->is_array()) return config_error("\"cniVersions\" is not a list of versions");
    std::optional<Version> best;
    for (const auto& e : *list) {
      if (!e.is_string()) return config_error("\"cniVersions\" holds " + shown(e) + ", not a version string");
      auto v = parse_version(e.get_ref<const std::string&>());
      if (v && (!best || *v > *best)) best = v;
    }
    if (best) return *best;
    if (conf.find("cniVersion") == conf.end())
      return make_error(ErrorCode::kIncompatibleVersion,
                        "none of \"cniVersions\" " + shown(*list) + " is spoken (" + spoken_list() + ")");
  }
  auto it = conf.find("cniVersion");
  if (it == conf.end() || it->is_null()) return config_error("\"cniVersion\" is missing");
  if (!it->is_string()) return config_error("\"cniVersion\" " + shown(*it) + " is not a string");
  auto v = parse_version(it->get_ref<const std::string&>());
  if (!v)
    return make_error(ErrorCode::kIncompatibleVersion,
                      "cniVersion " + shown(*it) + " is not spoken (" + spoken_list() + ")");
  return *v;
}

bool is_our_type(const json& plugin) {
  auto t = plugin.find("type");
  if (t == plugin.end() || !t->is_string()) return false;
  return std::find(kPluginTypes.begin(), kPluginTypes.end(), t->get_ref<const std::string&>()) !=
         kPluginTypes.end();
}

}  // namespace

Expected<NetConf> parse_config(std::string_view stdin_text, Command c) {
  if (stdin_text.size() > kMaxJsonBytes)
    return decode_error("the configuration is larger than " + std::to_string(kMaxJsonBytes) + " bytes");
  auto parsed = parse_json(stdin_text);
  if (!parsed)
    return decode_error("the configuration is not JSON (or nests deeper than 64, or is not UTF-8)");
  if (!parsed->is_object()) return decode_error("the configuration is not a JSON object");
  const json& top = *parsed;
  NetConf n;
  auto version = negotiate(top);
  if (!version) return version.error();
  n.version = *version;
  n.cni_version = std::string(version_text(n.version));
  if (c != Command::kVersion && n.version < command_since(c))
    return make_error(ErrorCode::kIncompatibleVersion, std::string(command_text(c)) + " needs cniVersion " +
                                                           std::string(version_text(command_since(c))) +
                                                           " or newer, the configuration says " +
                                                           n.cni_version);
  if (!read_string(top, "name", n.name)) return config_error("\"name\" is not a string");
  if (n.name.empty()) return config_error("\"name\" is missing");

  // A conflist: the plugin of ours in it, with the list's name and version.
  const json* plugin = &top;
  auto plugins = top.find("plugins");
  if (plugins != top.end() && !plugins->is_null()) {
    if (!plugins->is_array()) return config_error("\"plugins\" is not a list");
    plugin = nullptr;
    for (const auto& p : *plugins) {
      if (!p.is_object()) return config_error("\"plugins\" holds " + shown(p) + ", not an object");
      if (!plugin && is_our_type(p)) plugin = &p;
    }
    if (!plugin) return config_error("\"plugins\" has no plugin of type vlcp-cni");
  }
  const json& p = *plugin;
  if (!read_string(p, "type", n.type)) return config_error("\"type\" is not a string");
  if (!read_string(p, "socket", n.socket)) return config_error("\"socket\" is not a string");
  if (n.socket.empty() || n.socket[0] != '/' || n.socket.size() > 107 || has_control(n.socket))
    return config_error("\"socket\" " + shown(json(n.socket)) +
                        " is not an absolute path of at most 107 bytes");
  auto timeout = p.find("timeout");
  if (timeout != p.end() && !timeout->is_null()) {
    if (!timeout->is_number())
      return config_error("\"timeout\" " + shown(*timeout) + " is not a number of seconds");
    double t = timeout->get<double>();
    if (!std::isfinite(t) || t <= 0 || t > 3600)
      return config_error("\"timeout\" " + shown(*timeout) + " is not within (0, 3600] seconds");
    n.timeout_seconds = t;
  }
  if (!read_string(p, "logicalnetwork", n.logical_network))
    return config_error("\"logicalnetwork\" is not a string");
  if (!read_string(p, "subnet", n.subnet)) return config_error("\"subnet\" is not a string");
  if (!read_int(p, "mtu", n.mtu) || (n.mtu && (*n.mtu < 68 || *n.mtu > 65535))) {
    auto it = p.find("mtu");
    return config_error("\"mtu\" " + shown(*it) + " is not an integer in 68..65535");
  }

  auto rc = p.find("runtimeConfig");
  if (rc != p.end() && !rc->is_null()) {
    if (!rc->is_object()) return config_error("\"runtimeConfig\" is not an object");
    if (!read_strings(*rc, "ips", n.runtime_ips))
      return config_error("runtimeConfig \"ips\" is not a list of strings");
    for (const auto& ip : n.runtime_ips)
      if (!is_cidr(ip) && !is_ip_address(ip))
        return config_error("runtimeConfig \"ips\": " + shown(json(ip)) + " is not an address");
    if (!read_string(*rc, "mac", n.runtime_mac) || (!n.runtime_mac.empty() && !is_mac(n.runtime_mac)))
      return config_error("runtimeConfig \"mac\" is not a MAC address");
    n.runtime_mac = lower(n.runtime_mac);
  }

  auto prev = p.find("prevResult");
  if (prev != p.end() && !prev->is_null()) {
    auto r = parse_result(*prev);
    if (!r) return config_error("\"prevResult\": " + r.error().details);
    n.prev_result = std::move(r).value();
  }
  if (c == Command::kCheck && !n.prev_result) return config_error("CHECK needs \"prevResult\"");

  if (c == Command::kGc) {
    // 1.1.0's key, and the one libcni also sends.
    for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
      auto it = p.find(key);
      if (it == p.end() || it->is_null()) continue;
      if (!it->is_array()) return config_error(std::string("\"") + key + "\" is not a list");
      std::vector<Attachment> list;
      for (const auto& e : *it) {
        Attachment a;
        if (!e.is_object() || !read_string(e, "containerID", a.container_id) ||
            !read_string(e, "ifname", a.ifname) || a.container_id.empty() || a.ifname.empty())
          return config_error(std::string("\"") + key + "\": " + shown(e) + " is not {containerID, ifname}");
        list.push_back(std::move(a));
      }
      n.valid_attachments = std::move(list);
      break;
    }
  }
  return n;
}

// --- JSON ----------------------------------------------------------------------------------------

std::string json_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<json> parse_json(std::string_view text) {
  if (text.size() > kMaxJsonBytes) return std::nullopt;
  bool too_deep = false;
  // The callback sees every value's depth; a deep one is dropped at once, never built.
  json j = json::parse(
      text,
      [&too_deep](int depth, json::parse_event_t, json&) {
        if (depth >= kMaxJsonDepth) too_deep = true;
        return !too_deep;
      },
      false);
  if (too_deep || j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace vlcp::cni
