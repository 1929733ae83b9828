#include "trace/hop.h"

#include "apps/explain.h"
#include "model/address.h"
#include "model/viperflow.h"

namespace vlcp::trace {

namespace {

using Json = nlohmann::json;

std::optional<uint64_t> number(std::string_view s) {
  return apps::parse_number(s);
}

std::string field(const std::map<std::string, std::string>& f, const char* name) {
  auto it = f.find(name);
  return it == f.end() ? "" : it->second;
}

// The physical network (key) whose physical port rule names interface `name` on this bridge.
std::string physnet_of(const apps::ModelView& model, const std::string& system_id, const std::string& bridge,
                       const std::string& name) {
  for (const auto& cand : model::physical_port_candidates("", system_id, bridge, name))
    if (auto pp = model.physical_ports().find(cand); pp != model.physical_ports().end())
      return pp->second.physnet;
  return "";
}

std::string physnet_id(const apps::ModelView& model, const std::string& key) {
  auto it = model.physical_networks().find(key);
  return it == model.physical_networks().end() ? key : apps::object_id(key, it->second.value);
}

// What interface `name` on this server is, when it is not the arrival's tunnel or uplink.
std::string what_iface(const apps::ModelView& model, const std::map<uint64_t, apps::SwitchView>& views,
                       const std::string& system_id, const Arrival& arrival, const std::string& name) {
  bool vxlan = arrival.via == "vxlan";
  std::string want = std::string(vxlan ? "the VXLAN tunnel" : "an uplink") + " of physical network " +
                     arrival.physicalnetwork;
  for (const auto& [dpid, view] : views)
    for (const auto& p : view.ports) {
      if (p.name != name) continue;
      std::string it = name + " on " + system_id + " (" + view.bridge + ")";
      if (p.ofport <= 0 || p.ofport >= 0xff00) return it + " has no OpenFlow port number: it is not " + want;
      if (!p.iface_id.empty()) return it + " is the interface of iface-id " + p.iface_id + ", not " + want;
      std::string key = physnet_of(model, system_id, view.bridge, name);
      std::string kind = p.type == "vxlan" ? "a VXLAN tunnel"
                                           : (p.type.empty() ? "an interface" : "a " + p.type + " interface");
      if (key.empty()) return it + " is " + kind + " that no physical port names, not " + want;
      std::string net = physnet_id(model, key);
      if (net != arrival.physicalnetwork || (p.type == "vxlan") != vxlan)
        return it + " is " + kind + " of physical network " + net + ", not " + want;
      return it + " has local_ip " + p.local_ip + ", not the tunnel destination " +
             format_ipv4(arrival.tun_dst);
    }
  return system_id + " has no interface " + name;
}

}  // namespace

Json arrival_to_json(const Arrival& a) {
  Json j = {{"via", a.via}, {"physicalnetwork", a.physicalnetwork}};
  if (a.via == "vxlan") {
    j["vni"] = a.vni;
    j["tun_src"] = format_ipv4(a.tun_src);
    j["tun_dst"] = format_ipv4(a.tun_dst);
  }
  if (a.vlan) j["vlan"] = *a.vlan;
  return j;
}

Result<Arrival> arrival_from_json(const Json& j) {
  auto bad = [](const std::string& what) { return make_error(Errc::kMalformed, "arrival: " + what); };
  if (!j.is_object()) return bad("not an object");
  Arrival a;
  if (!j.contains("via") || !j["via"].is_string()) return bad("no via");
  a.via = j["via"].get<std::string>();
  if (a.via != "vxlan" && a.via != "vlan" && a.via != "native")
    return bad("via '" + a.via + "' is not vxlan, vlan or native");
  if (!j.contains("physicalnetwork") || !j["physicalnetwork"].is_string() ||
      j["physicalnetwork"].get<std::string>().empty())
    return bad("no physicalnetwork");
  a.physicalnetwork = j["physicalnetwork"].get<std::string>();
  if (a.via == "vxlan") {
    if (!j.contains("vni") || !j["vni"].is_number_unsigned() || j["vni"].get<uint64_t>() > 0xffffff)
      return bad("vni is not a number from 0 to 16777215");
    a.vni = j["vni"].get<uint32_t>();
    for (auto [name, out] : {std::pair{"tun_src", &a.tun_src}, std::pair{"tun_dst", &a.tun_dst}}) {
      auto ip = j.contains(name) && j[name].is_string() ? model::detail::parse_ip(j[name].get<std::string>())
                                                        : std::nullopt;
      if (!ip) return bad(std::string(name) + " is not an IPv4 address");
      *out = *ip;
    }
  }
  if (a.via == "vlan") {
    if (!j.contains("vlan") || !j["vlan"].is_number_unsigned() || j["vlan"].get<uint64_t>() > 4095)
      return bad("vlan is not a number from 0 to 4095");
    a.vlan = j["vlan"].get<uint16_t>();
  }
  return a;
}

std::optional<Arrival> arrival_of(const apps::ModelView& model, const apps::SwitchView& view,
                                  const std::string& system_id, const Output& output) {
  if (output.kind != OutputKind::kPort) return std::nullopt;
  for (const auto& p : view.ports) {
    if (p.ofport <= 0 || static_cast<uint32_t>(p.ofport) != output.ofport || !p.iface_id.empty()) continue;
    std::string key = physnet_of(model, system_id, view.bridge, p.name);
    auto pn = model.physical_networks().find(key);
    if (pn == model.physical_networks().end()) return std::nullopt;
    const auto& f = output.packet.fields;
    Arrival a;
    a.physicalnetwork = physnet_id(model, key);
    if (pn->second.type == "vxlan") {
      a.via = "vxlan";
      a.vni = static_cast<uint32_t>(number(field(f, "tun_id")).value_or(0));
      a.tun_dst = model::detail::parse_ip(field(f, "tun_dst")).value_or(0);
      a.tun_src = model::detail::parse_ip(p.local_ip)
                      .value_or(model::detail::parse_ip(field(f, "tun_src")).value_or(0));
    } else {
      std::optional<uint64_t> vid = number(field(f, "dl_vlan"));
      if (!vid)
        if (auto tci = number(field(f, "vlan_tci")); tci && (*tci & 0x1000)) vid = *tci & 0xfff;
      a.via = vid ? "vlan" : "native";
      if (vid) a.vlan = static_cast<uint16_t>(*vid);
    }
    return a;
  }
  return std::nullopt;
}

Result<Entry> find_entry(const apps::ModelView& model, const std::map<uint64_t, apps::SwitchView>& views,
                         const std::string& system_id, const Arrival& arrival, const std::string& iface) {
  bool vxlan = arrival.via == "vxlan";
  for (const auto& [dpid, view] : views)
    for (const auto& p : view.ports) {
      if (!iface.empty() && p.name != iface) continue;
      if (p.ofport <= 0 || p.ofport >= 0xff00 || !p.iface_id.empty() || (p.type == "vxlan") != vxlan)
        continue;
      std::string key = physnet_of(model, system_id, view.bridge, p.name);
      if (key.empty() || physnet_id(model, key) != arrival.physicalnetwork) continue;
      if (vxlan && !p.local_ip.empty() && model::detail::parse_ip(p.local_ip) != arrival.tun_dst) continue;
      return Entry{dpid, view.bridge, p.name, static_cast<uint32_t>(p.ofport)};
    }
  if (!iface.empty())
    return make_error(Errc::kInvalidArgument,
                      "not-entry: " + what_iface(model, views, system_id, arrival, iface));
  return make_error(Errc::kNotFound, std::string(vxlan ? "no-tunnel" : "no-uplink") + ": " + system_id +
                                         " has no " + (vxlan ? "tunnel" : "uplink") +
                                         " for physical network " + arrival.physicalnetwork);
}

Result<PacketSpec> next_packet(const PacketState& state, Proto proto, const Arrival& arrival,
                               uint32_t in_port) {
  const auto& f = state.fields;
  PacketSpec s;
  s.proto = proto;
  auto mac = [&](const char* name, Mac& out) -> Status {
    auto m = model::detail::parse_mac(field(f, name));
    if (!m) return make_error(Errc::kMalformed, std::string("the packet at the output has no ") + name);
    out = *m;
    return {};
  };
  VLCP_RETURN_IF_ERROR(mac("dl_src", s.eth_src));
  VLCP_RETURN_IF_ERROR(mac("dl_dst", s.eth_dst));
  bool arp = proto == Proto::kArp;
  auto ip = [&](const char* name) { return model::detail::parse_ip(field(f, name)).value_or(0); };
  s.ip_src = ip(arp ? "arp_spa" : "nw_src");
  s.ip_dst = ip(arp ? "arp_tpa" : "nw_dst");
  if (auto ttl = number(field(f, "nw_ttl"))) s.ttl = static_cast<uint8_t>(*ttl);
  if (auto tos = number(field(f, "nw_tos"))) s.dscp = static_cast<uint8_t>(*tos >> 2);
  if (arp) s.arp_op = static_cast<uint16_t>(number(field(f, "arp_op")).value_or(1));
  if (proto == Proto::kIcmp) {
    s.icmp_type = static_cast<uint8_t>(number(field(f, "icmp_type")).value_or(8));
    s.icmp_code = static_cast<uint8_t>(number(field(f, "icmp_code")).value_or(0));
  }
  if (proto == Proto::kTcp || proto == Proto::kUdp || proto == Proto::kDhcp) {
    s.tp_src = static_cast<uint16_t>(number(field(f, "tp_src")).value_or(0));
    s.tp_dst = static_cast<uint16_t>(number(field(f, "tp_dst")).value_or(0));
  }
  s.in_port = in_port;
  if (arrival.via == "vxlan") {
    s.tun_id = arrival.vni;
    s.tun_src = arrival.tun_src;
    s.tun_dst = arrival.tun_dst;
  }
  s.vlan = arrival.vlan;
  return s;
}

}  // namespace vlcp::trace
