#include "apps/explain.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "db/store.h"
#include "model/address.h"
#include "model/viperflow.h"

namespace vlcp::apps {

namespace {

using model::detail::ip_text;
using model::detail::Mac;
using model::detail::mac_text;

std::optional<uint64_t> number(std::string_view s) {
  return parse_number(s);
}

// A value without its mask ("0x1/0xffff" -> "0x1"), and whether it had one.
std::string_view unmasked(std::string_view v, bool* masked = nullptr) {
  size_t slash = v.find('/');
  if (masked) *masked = slash != std::string_view::npos;
  return v.substr(0, slash);
}

class Resolver {
 public:
  Resolver(const ModelView& m, const SwitchContext& sw, const std::vector<const FlowApp*>& apps)
      : m_(m), sw_(sw), apps_(apps) {}

  // Once per object (the first role that named it stays).
  void add(ObjectRef r) {
    for (const auto& o : refs)
      if (o.kind == r.kind && o.id == r.id) return;
    refs.push_back(std::move(r));
  }

  void network_key(const std::string& key, const std::string& role) {
    auto it = m_.logical_networks().find(key);
    if (it == m_.logical_networks().end()) return;
    networks.insert(key);
    add({"logicalnetwork", object_id(key, it->second.value), role});
  }
  void netid(uint64_t v, const std::string& role) {
    if (v == 0 || v > 0xffffffffu) return;
    std::string key = network_of_netid(m_, static_cast<uint32_t>(v));
    if (!key.empty()) network_key(key, role);
  }

  // The partition's network: "l2/<network key>", "l3/net/<network key>", "arp/<network key>".
  void partition(const std::string& p) {
    size_t slash = p.find('/');
    if (slash == std::string::npos) return;
    std::string rest = p.substr(slash + 1);
    for (int i = 0; i < 3 && !rest.empty(); ++i) {
      if (m_.logical_networks().count(rest)) return network_key(rest, "partition");
      size_t next = rest.find('/');
      if (next == std::string::npos) return;
      rest = rest.substr(next + 1);
    }
  }

  // The interface with this ofport on the switch: its logical port, or the physical port rule
  // naming it, or the interface itself (no model object).
  void ofport(uint64_t v, const std::string& role) {
    if (!sw_.view || v == 0) return;
    for (const auto& p : sw_.view->ports) {
      if (p.ofport < 0 || static_cast<uint64_t>(p.ofport) != v) continue;
      if (!p.iface_id.empty())
        if (auto it = m_.logical_ports().find(db::escape_key_part(p.iface_id));
            it != m_.logical_ports().end()) {
          network_key(it->second.network, "");
          add({"logicalport", it->second.id, role, p.name});
          return;
        }
      // The physical port rule naming it on this node's bridge (the most specific rule first).
      std::string system_id = sw_.system_id ? *sw_.system_id : "";
      for (const auto& cand : model::physical_port_candidates("", system_id, sw_.view->bridge, p.name)) {
        auto pp = m_.physical_ports().find(cand);
        if (pp == m_.physical_ports().end()) continue;
        add({"physicalport", p.name, role, p.type.empty() ? "uplink" : p.type});
        if (auto pn = m_.physical_networks().find(pp->second.physnet); pn != m_.physical_networks().end())
          add({"physicalnetwork", object_id(pn->first, pn->second.value), role});
        return;
      }
      add({"interface", p.name, role, p.iface_id.empty() ? "unbound" : "iface-id " + p.iface_id, false});
      return;
    }
  }

  // The logical networks on a segment (VNI or VLAN) of a physical network of this type.
  void segment(uint64_t v, const std::string& type, const std::string& role) {
    for (const auto& [k, n] : m_.logical_networks()) {
      if (n.segment != v) continue;
      auto pn = m_.physical_networks().find(n.physnet);
      if (pn != m_.physical_networks().end() && pn->second.type == type) network_key(k, role);
    }
  }

  void mac(std::string_view text, const std::string& role) {
    auto mac = model::detail::parse_mac(unmasked(text));
    if (!mac) return;
    for (const auto& [k, p] : m_.logical_ports())
      if (p.mac == mac && (networks.empty() || networks.count(p.network))) {
        add({"logicalport", p.id, role, mac_text(*mac)});
        return;
      }
    for (const FlowApp* app : apps_) {
      if (!app) continue;
      std::set<std::string> nets = networks;
      if (nets.empty())
        for (const auto& [k, n] : m_.logical_networks()) nets.insert(k);
      for (const auto& net : nets)
        if (auto g = app->gateway_mac(m_, net); g && *g == *mac) {
          std::string router = router_of_network(m_, net);
          if (!router.empty())
            return add({"router", object_id(router, m_.routers().at(router).value), role, "router MAC"});
          add({"logicalnetwork", object_id(net, m_.logical_networks().at(net).value), role, "router MAC"});
          return;
        }
    }
  }

  void subnet(const std::string& key, const std::string& role) {
    const SubnetObj& s = m_.subnets().at(key);
    add({"subnet", object_id(key, s.value), role, s.cidr ? s.cidr->text() : ""});
    if (s.router.empty()) return;
    if (auto ri = m_.router_interfaces().find(s.router); ri != m_.router_interfaces().end()) {
      if (auto r = m_.routers().find(ri->second.router); r != m_.routers().end())
        add({"router", object_id(r->first, r->second.value), role});
    }
  }

  void ip(std::string_view text, const std::string& role) {
    bool masked = false;
    std::string addr(unmasked(text, &masked));
    auto ip = model::detail::parse_ip(addr);
    if (!ip) return;
    if (masked) {
      auto cidr = model::detail::parse_route_prefix(std::string(text));
      if (!cidr.ok()) return;
      for (const auto& [k, s] : m_.subnets())
        if (s.cidr && s.cidr->network == cidr->network && s.cidr->prefix == cidr->prefix) subnet(k, role);
      for (const auto& [k, r] : m_.routers())
        for (const auto& [prefix, nexthop] : r.routes)
          if (prefix.network == cidr->network && prefix.prefix == cidr->prefix)
            add({"router", object_id(k, r.value), role,
                 "route " + prefix.text() + " via " + ip_text(nexthop)});
      return;
    }
    for (const auto& [k, p] : m_.logical_ports())
      if (p.ip == ip && (networks.empty() || networks.count(p.network))) {
        add({"logicalport", p.id, role, addr});
        return;
      }
    if (const RouterInterfaceObj* ri = interface_at(m_, *ip)) {
      if (auto r = m_.routers().find(ri->router); r != m_.routers().end())
        add({"router", object_id(r->first, r->second.value), role, addr});
      if (m_.subnets().count(ri->subnet)) subnet(ri->subnet, role);
    }
  }

  // A tunnel destination: the node whose location endpoints have that tunnel address.
  void tunnel_dst(uint32_t ip) {
    std::string addr = ip_text(ip);
    for (const auto& [pid, loc] : m_.locations()) {
      if (!loc.contains("endpoints") || !loc["endpoints"].is_array()) continue;
      for (const auto& e : loc["endpoints"])
        if (e.is_object() && text_field(e, "tunnel_src") == addr) {
          add({"node", text_field(e, "systemid"), "tun_dst", addr});
          return;
        }
    }
  }

  void nexthop(uint32_t ip) {
    for (const auto& [k, r] : m_.routers())
      for (const auto& [prefix, nh] : r.routes)
        if (nh == ip) {
          add({"router", object_id(k, r.value), "nexthop", "route " + prefix.text() + " via " + ip_text(nh)});
          return;
        }
  }

  std::vector<ObjectRef> refs;
  std::set<std::string> networks;  // keys

 private:
  const ModelView& m_;
  const SwitchContext& sw_;
  const std::vector<const FlowApp*>& apps_;
};

}  // namespace

std::vector<RegisterWriteValue> register_writes(std::string_view t, std::map<std::string, uint32_t>& regs) {
  std::vector<RegisterWriteValue> out;
  size_t at = 0;
  while (at < t.size()) {
    size_t sf = t.find("set_field:", at), ld = t.find("load:", at);
    size_t start = std::min(sf, ld);
    if (start == std::string_view::npos) break;
    bool is_set = start == sf;
    size_t vstart = start + (is_set ? 10 : 5);
    size_t arrow = t.find("->", vstart);
    if (arrow == std::string_view::npos) break;
    at = arrow + 2;
    // The destination: up to the next ',' or ')' (a bit range's brackets included).
    size_t end = t.find_first_of(",)", at);
    std::string_view dst = t.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    std::optional<uint64_t> v = number(t.substr(vstart, arrow - vstart));
    std::string ovs;
    int lo = 0, hi = 31;
    if (is_set) {
      ovs = std::string(dst);
    } else {
      if (dst.substr(0, 10) != "NXM_NX_REG") continue;
      size_t lb = dst.find('[');
      ovs = "reg" +
            std::string(dst.substr(10, lb == std::string_view::npos ? std::string_view::npos : lb - 10));
      if (lb != std::string_view::npos) {
        size_t rb = dst.find(']', lb);
        std::string_view range = dst.substr(lb + 1, rb == std::string_view::npos ? 0 : rb - lb - 1);
        if (!range.empty()) {
          size_t dots = range.find("..");
          auto a = number(range.substr(0, dots));
          auto b = dots == std::string_view::npos ? a : number(range.substr(dots + 2));
          if (!a || !b || *a > *b || *b > 31) continue;
          lo = static_cast<int>(*a);
          hi = static_cast<int>(*b);
        }
      }
    }
    const pipeline::RegisterDecl* r = pipeline::find_register_by_ovs_name(ovs);
    if (!r || !v) continue;
    uint32_t width_mask = hi - lo == 31 ? 0xffffffffu : ((1u << (hi - lo + 1)) - 1);
    uint32_t mask = width_mask << lo;
    uint32_t value = (regs[ovs] & ~mask) | ((static_cast<uint32_t>(*v) << lo) & mask);
    regs[ovs] = value;
    out.push_back({r, ovs, value});
  }
  return out;
}

std::optional<uint64_t> parse_number(std::string_view s) {
  int base = 10;
  if (s.substr(0, 2) == "0x") {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::pair<std::string, std::string>> match_fields(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t comma = text.find(',', at);
    std::string_view part =
        text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    at = comma == std::string_view::npos ? text.size() : comma + 1;
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      out.emplace_back(std::string(part), "");
    else
      out.emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
  }
  return out;
}

const RouterInterfaceObj* interface_at(const ModelView& model, uint32_t ip) {
  for (const auto& [k, ri] : model.router_interfaces()) {
    std::optional<uint32_t> own = ri.ip;
    if (!own)
      if (auto s = model.subnets().find(ri.subnet); s != model.subnets().end()) own = s->second.gateway;
    if (own == ip) return &ri;
  }
  return nullptr;
}

std::string router_of_network(const ModelView& model, const std::string& network) {
  for (const auto& sid : model.subnets_of(network)) {
    const SubnetObj& s = model.subnets().at(sid);
    if (s.router.empty()) continue;
    auto ri = model.router_interfaces().find(s.router);
    if (ri != model.router_interfaces().end() && model.routers().count(ri->second.router))
      return ri->second.router;
  }
  return "";
}

std::string network_of_netid(const ModelView& model, uint32_t netid) {
  for (const auto& [k, n] : model.logical_networks())
    if (n.netid == netid) return k;
  return "";
}

std::string object_id(const std::string& key, const nlohmann::json& value) {
  std::string id = text_field(value, "id");
  if (!id.empty()) return id;
  size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::vector<ObjectRef> explain_flow(const ModelView& model, const SwitchContext& sw, const FlowFacts& f,
                                    const FlowApp* owner, const std::vector<const FlowApp*>& apps) {
  Resolver r(model, sw, apps);
  r.partition(f.partition);
  r.netid(f.own_bits, "cookie");
  std::optional<uint64_t> in_port;
  for (const auto& [k, v] : f.match) {
    if (k == "reg4" || k == "reg5") {
      if (auto n = number(unmasked(v))) r.netid(*n, k == "reg4" ? "in_network" : "out_network");
    } else if (k == "in_port") {
      if ((in_port = number(v))) r.ofport(*in_port, "in_port");
    } else if (k == "reg6") {
      if (auto n = number(unmasked(v))) r.ofport(*n, "out_port");
    }
  }
  for (const auto& [ovs, value] : f.writes) {
    if (ovs == "reg4") r.netid(value, "in_network");
    if (ovs == "reg5") r.netid(value, "out_network");
    if (ovs == "reg6") r.ofport(value, "out_port");
    if (ovs == "reg3" && value) r.nexthop(value);
  }
  for (const auto& [k, v] : f.match) {
    if (k == "tun_id") {
      if (auto n = number(unmasked(v))) r.segment(*n, "vxlan", "tun_id");
    } else if (k == "dl_vlan") {
      if (auto n = number(v)) r.segment(*n, "vlan", "dl_vlan");
    } else if (k == "dl_dst" || k == "dl_src" || k == "arp_sha" || k == "arp_tha") {
      r.mac(v, k);
    } else if (k == "nw_dst" || k == "nw_src" || k == "arp_tpa" || k == "arp_spa") {
      r.ip(v, k);
    } else if (k == "reg3") {
      if (auto n = number(unmasked(v)); n && *n) r.nexthop(static_cast<uint32_t>(*n));
    } else if (k == "tun_dst") {
      if (auto ip = model::detail::parse_ip(std::string(unmasked(v)))) r.tunnel_dst(*ip);
    }
  }
  for (size_t at = f.actions.find("->tun_dst"); at != std::string::npos;
       at = f.actions.find("->tun_dst", at + 1)) {
    size_t colon = f.actions.rfind(':', at);
    if (colon == std::string::npos) continue;
    if (auto ip = model::detail::parse_ip(f.actions.substr(colon + 1, at - colon - 1))) r.tunnel_dst(*ip);
  }
  if (owner)
    for (auto& o : owner->explain(model, sw, f)) r.add(std::move(o));
  return r.refs;
}

std::string explain_text(const std::string& app, const std::vector<ObjectRef>& refs) {
  static const std::map<std::string, std::string> kDisplay = {{"logicalnetwork", "network"},
                                                              {"logicalport", "port"},
                                                              {"physicalport", "physical port"},
                                                              {"physicalnetwork", "physical network"},
                                                              {"routerinterface", "router interface"}};
  std::string out = app.empty() ? "?" : app;
  for (const auto& r : refs) {
    auto d = kDisplay.find(r.kind);
    out += " / " + (d == kDisplay.end() ? r.kind : d->second) + " " + r.id;
    if (!r.detail.empty()) out += " (" + r.detail + ")";
  }
  return out;
}

}  // namespace vlcp::apps
