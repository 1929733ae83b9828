#include "apps/dhcp/dhcp.h"

#include <limits>

#include "apps/l2/l2.h"
#include "model/address.h"
#include "model/common.h"
#include "ofp/actions.h"
#include "ofp/match.h"

namespace vlcp::apps {

using Json = nlohmann::json;
using model::detail::ip_text;

namespace {

constexpr std::nullptr_t None = nullptr;  // VLCP's spelling of the times' default
struct DhcpKeys {
  VLCP_DHCP_KEYS(VLCP_KEYS_FIELD)
};

// A time key: None (unset), or whole seconds in [1, 2^32 - 1].
Result<std::optional<uint32_t>> seconds_key(const Config& config, const char* key, const Json& v) {
  if (v.is_null()) return std::optional<uint32_t>();
  if (v.is_number_unsigned() || v.is_number_integer()) {
    int64_t s = v.get<int64_t>();
    if (s >= 1 && s <= int64_t{0xffffffff}) return std::optional<uint32_t>(static_cast<uint32_t>(s));
  }
  return config.error_at(key, "must be None or whole seconds from 1 to 4294967295, not " + v.dump());
}

std::optional<uint32_t> ip_of(const Json& v) {
  return v.is_string() ? model::detail::parse_ip(v.get<std::string>()) : std::nullopt;
}

}  // namespace

Result<dhcp::ServerConfig> read_dhcp_settings(const Config& config) {
  DhcpKeys keys;
  VLCP_DHCP_KEYS(VLCP_KEYS_READ)
  dhcp::ServerConfig c;
  auto ip = model::detail::parse_ip(keys.serveraddress);
  if (!ip || *ip == 0 || *ip == 0xffffffff)
    return config.error_at("module.dhcpserver.serveraddress",
                           "'" + keys.serveraddress + "' is not a host address");
  c.ip = *ip;
  auto mac = model::detail::parse_mac(keys.servermac);
  if (!mac || ((*mac)[0] & 1) || *mac == dhcp::Mac{})
    return config.error_at("module.dhcpserver.servermac",
                           "'" + keys.servermac + "' is not a unicast MAC address");
  c.mac = *mac;
  VLCP_ASSIGN_OR_RETURN(c.lease_time, seconds_key(config, "module.dhcpserver.leasetime", keys.leasetime));
  VLCP_ASSIGN_OR_RETURN(c.t1, seconds_key(config, "module.dhcpserver.t1", keys.t1));
  VLCP_ASSIGN_OR_RETURN(c.t2, seconds_key(config, "module.dhcpserver.t2", keys.t2));
  return c;
}

bool dhcp_enabled(const Json& object) {
  if (!object.is_object()) return true;
  auto it = object.find("dhcp_enabled");
  if (it == object.end()) return true;
  const Json& v = *it;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return v != "false" && v != "False" && v != "0";
  return true;
}

std::optional<std::vector<uint8_t>> encode_dhcp_option(uint8_t code, const Json& v) {
  std::vector<uint8_t> out;
  auto put32 = [&](uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(x >> s));
  };
  auto integer = [&](int64_t lo, int64_t hi) -> std::optional<int64_t> {
    auto i = model::detail::as_int(v);
    if (!i || *i < lo || *i > hi) return std::nullopt;
    return i;
  };
  auto text = [&]() -> bool {
    if (!v.is_string() || v.get<std::string>().empty()) return false;
    const std::string& s = v.get_ref<const std::string&>();
    out.assign(s.begin(), s.end());
    return true;
  };
  switch (code) {
    case 1:
    case 28:
    case 50:
    case 54: {  // one address
      auto ip = ip_of(v);
      if (!ip) return std::nullopt;
      put32(*ip);
      return out;
    }
    case 2:
    case 51:
    case 58:
    case 59: {  // times (2, the time offset, is signed)
      if (v == "infinite" || v == "infinity") {
        put32(dhcp::kInfiniteLease);
        return out;
      }
      auto i = code == 2 ? integer(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max())
                         : integer(0, 0xffffffff);
      if (!i) return std::nullopt;
      put32(static_cast<uint32_t>(*i));
      return out;
    }
    case 12:
    case 15:
    case 56:
    case 61:
      if (!text()) return std::nullopt;
      return out;
    case 26:
    case 57: {
      auto i = integer(0, 0xffff);
      if (!i) return std::nullopt;
      out = {static_cast<uint8_t>(*i >> 8), static_cast<uint8_t>(*i)};
      return out;
    }
    case 55:
      if (!v.is_array() || v.empty()) return std::nullopt;
      for (const auto& c : v) {
        auto i = model::detail::as_int(c);
        if (!i || *i < 1 || *i > 254) return std::nullopt;
        out.push_back(static_cast<uint8_t>(*i));
      }
      return out;
    case 121: {
      if (!v.is_array() || v.empty()) return std::nullopt;
      std::vector<dhcp::Route> routes;
      for (const auto& r : v) {
        if (!r.is_array() || r.size() != 2 || !r[0].is_string()) return std::nullopt;
        auto prefix = model::detail::parse_route_prefix(r[0].get<std::string>());
        auto gw = ip_of(r[1]);
        if (!prefix.ok() || !gw) return std::nullopt;
        routes.push_back({prefix->network, static_cast<uint8_t>(prefix->prefix), *gw});
      }
      InlineBuffer<256> b;
      dhcp::encode_classless_routes(routes, b);
      out.assign(b.span().begin(), b.span().end());
      return out;
    }
    default:
      break;
  }
  if (code >= 3 && code <= 11) code = 42;  // server lists
  if (code == 42) {
    if (auto ip = ip_of(v)) {
      put32(*ip);
      return out;
    }
    if (!v.is_array() || v.empty()) return std::nullopt;
    for (const auto& a : v) {
      auto ip = ip_of(a);
      if (!ip) return std::nullopt;
      put32(*ip);
    }
    return out;
  }
  // Any other code: text as it is, or the bytes listed.
  if (v.is_string()) return text() ? std::optional(out) : std::nullopt;
  if (!v.is_array() || v.empty()) return std::nullopt;
  for (const auto& b : v) {
    auto i = model::detail::as_int(b);
    if (!i || *i < 0 || *i > 255) return std::nullopt;
    out.push_back(static_cast<uint8_t>(*i));
  }
  return out;
}

std::optional<ServedPort> served_port(const ModelView& model, const LogicalPortObj& port) {
  if (!port.mac || !port.ip || port.subnet.empty()) return std::nullopt;
  auto sn = model.subnets().find(port.subnet);
  if (sn == model.subnets().end() || !sn->second.cidr || sn->second.network != port.network ||
      !sn->second.cidr->contains(*port.ip))
    return std::nullopt;
  auto net = model.logical_networks().find(port.network);
  if (net == model.logical_networks().end()) return std::nullopt;
  if (!dhcp_enabled(sn->second.value) || !dhcp_enabled(port.value)) return std::nullopt;
  return ServedPort{&port, &sn->second, &net->second};
}

namespace {
std::optional<uint32_t> subnet_server(const SubnetObj& sn) {
  if (!sn.value.is_object()) return std::nullopt;
  auto it = sn.value.find("dhcp_server");
  return it == sn.value.end() ? std::nullopt : ip_of(*it);
}
}  // namespace

uint32_t server_address(const ServedPort& s, const dhcp::ServerConfig& config) {
  return subnet_server(*s.subnet).value_or(config.ip);
}

namespace {

// The options as the levels set them: typed fields in the lease, and the extra options by code;
// a later level's field replaces an earlier extra option of its code.
class Merge {
 public:
  Merge(dhcp::Lease& lease, LeaseStats* stats) : l_(lease), stats_(stats) {}

  void set(uint8_t code) { extra_.erase(code); }
  // network and subnet levels' shared fields
  void common(const Json& o) {
    if (!o.is_object()) return;
    if (auto ips = ips_field(o, "dns_nameservers")) {
      l_.dns = *ips;
      set(6);
    }
    if (auto s = text_of(o, "domain_name")) {
      l_.domain_name = *s;
      set(15);
    }
    if (auto it = o.find("mtu"); it != o.end() && !it->is_null()) {
      auto m = model::detail::as_int(*it);
      if (m && *m >= 68 && *m <= 65535) {
        l_.mtu = static_cast<uint16_t>(*m);
        set(26);
      } else {
        refused();
      }
    }
    if (auto ips = ips_field(o, "ntp_servers")) {
      l_.ntp = *ips;
      set(42);
    }
    if (auto it = o.find("lease_time"); it != o.end() && !it->is_null()) {
      auto t = *it == "infinite" ? std::optional<int64_t>(dhcp::kInfiniteLease) : model::detail::as_int(*it);
      if (t && *t >= 1 && *t <= int64_t{0xffffffff}) {
        l_.lease_time = static_cast<uint32_t>(*t);
        set(51);
      } else {
        refused();
      }
    }
  }
  void subnet(const SubnetObj& sn) {
    set(1);
    set(28);
    if (sn.gateway) {
      l_.router = sn.gateway;
      set(3);
    }
    common(sn.value);
    if (!sn.value.is_object()) return;
    if (auto it = sn.value.find("host_routes"); it != sn.value.end() && it->is_array()) {
      l_.routes.clear();
      for (const auto& r : *it) {
        if (!r.is_array() || r.size() != 2 || !r[0].is_string()) {
          refused();
          continue;
        }
        auto prefix = model::detail::parse_route_prefix(r[0].get<std::string>());
        auto gw = ip_of(r[1]);
        if (!prefix.ok() || !gw) {
          refused();
          continue;
        }
        l_.routes.push_back({prefix->network, static_cast<uint8_t>(prefix->prefix), *gw});
      }
      set(121);
    }
  }
  void port(const LogicalPortObj& p) {
    if (auto s = text_of(p.value, "hostname")) {
      l_.hostname = *s;
      set(12);
    }
  }
  // A level's extra_dhcp_options: {code: value} (the model's form) or [[code, value], ...].
  void extra(const Json& o) {
    if (!o.is_object()) return;
    auto it = o.find("extra_dhcp_options");
    if (it == o.end()) return;
    auto add = [&](const Json& code, const Json& value) {
      auto c = model::detail::as_int(code);
      if (!c || *c < 1 || *c > 254) return refused();
      auto bytes = encode_dhcp_option(static_cast<uint8_t>(*c), value);
      if (!bytes) return refused();
      extra_[static_cast<uint8_t>(*c)] = std::move(*bytes);
    };
    if (it->is_object()) {
      for (const auto& [k, v] : it->items()) add(Json(k), v);
    } else if (it->is_array()) {
      for (const auto& pair : *it)
        if (pair.is_array() && pair.size() == 2)
          add(pair[0], pair[1]);
        else
          refused();
    }
  }
  void finish() {
    l_.extra.clear();
    for (auto& [code, bytes] : extra_) l_.extra.push_back({code, std::move(bytes)});
  }

 private:
  void refused() {
    if (stats_) ++stats_->options_refused;
  }
  std::optional<std::vector<uint32_t>> ips_field(const Json& o, const char* f) {
    auto it = o.find(f);
    if (it == o.end() || it->is_null()) return std::nullopt;
    if (!it->is_array()) {
      refused();
      return std::nullopt;
    }
    std::vector<uint32_t> out;
    for (const auto& a : *it)
      if (auto ip = ip_of(a))
        out.push_back(*ip);
      else
        refused();
    return out;
  }
  std::optional<std::string> text_of(const Json& o, const char* f) {
    if (!o.is_object()) return std::nullopt;
    auto it = o.find(f);
    if (it == o.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) {
      refused();
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  dhcp::Lease& l_;
  LeaseStats* stats_;
  std::map<uint8_t, std::vector<uint8_t>> extra_;
};

}  // namespace

dhcp::Lease lease_of(const ServedPort& s, LeaseStats* stats) {
  dhcp::Lease l;
  l.mac = *s.port->mac;
  l.ip = *s.port->ip;
  l.prefix = static_cast<uint8_t>(s.subnet->cidr->prefix);
  l.server_ip = subnet_server(*s.subnet);
  Merge m(l, stats);
  m.common(s.network->value);
  m.extra(s.network->value);
  m.subnet(*s.subnet);
  m.extra(s.subnet->value);
  m.port(*s.port);
  m.extra(s.port->value);
  m.finish();
  return l;
}

flows::Desired dhcp_punt_flows(const pipeline::TableMap& tables, const std::vector<PuntPort>& ports) {
  flows::Desired d;
  auto l3input = tables.id("l3input");
  if (!l3input) return d;
  static const uint8_t kMulticast[6] = {1, 0, 0, 0, 0, 0};
  constexpr uint16_t kPriority = 0x8000 + 2;  // above the router's ip,dl_dst=$RMAC (P)
  for (const PuntPort& p : ports) {
    auto base = [&] {
      ofp::Match m;
      m.add(ofp::Field::kInPort, p.ofport)
          .add(kRegInNet, p.netid)
          .add_masked(kRegFlags, kFlagFromLogical, kFlagFromLogical)
          .add(ofp::Field::kEthType, 0x0800)
          .add(ofp::Field::kIpProto, 17);
      return m;
    };
    ofp::FlowMod f;
    f.table_id = *l3input;
    f.priority = kPriority;
    f.cookie = flows::cookie(kDhcpAppId, p.netid) | flows::kCookieToWorkers;
    f.instructions.apply_actions(ofp::ActionList().controller(ofp::kNoBuffer16));
    // Broadcast (and multicast) to the server port: DISCOVER, REQUEST, INFORM from a new client.
    f.match = base()
                  .add_bytes(ofp::Field::kEthDst, ByteSpan(kMulticast, 6), ByteSpan(kMulticast, 6))
                  .add(ofp::Field::kUdpDst, 67);
    pipeline::put_flow(d.flows, f);
    // Unicast to the server address: renewals (whatever MAC the client sent it to).
    f.match = base().add(ofp::Field::kIpv4Dst, p.server).add(ofp::Field::kUdpDst, 67);
    pipeline::put_flow(d.flows, f);
  }
  return d;
}

}  // namespace vlcp::apps
