// The typed replica (see replica.h).
#include "ovsdb/replica.h"

namespace vlcp::ovsdb {

const Bridge* Replica::bridge_of_port(const std::string& port) const {
  for (auto& [name, b] : bridges)
    for (auto& p : b.ports)
      if (p == port) return &b;
  return nullptr;
}

sched::DatapathCpus Replica::datapath_cpus() const {
  sched::DatapathCpus d;
  d.dpdk_initialized = dpdk_initialized;
  if (auto it = other_config.find("pmd-cpu-mask"); it != other_config.end()) {
    auto set = sched::parse_cpu_mask(it->second);
    if (set.ok()) d.pmd_cpus = *set;
  }
  if (auto it = other_config.find("dpdk-lcore-mask"); it != other_config.end()) {
    auto set = sched::parse_cpu_mask(it->second);
    if (set.ok()) d.lcore_cpus = *set;
  }
  return d;
}

namespace {
StringMap string_map(const nlohmann::json& j) {
  StringMap m;
  if (j.is_object())
    for (auto& [k, v] : j.items())
      if (v.is_string()) m[k] = v.get<std::string>();
  return m;
}
std::vector<std::string> strings(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}
std::string text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
}  // namespace

Result<Replica> replica_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error(Errc::kMalformed, "OVSDB snapshot is not an object");
  Replica r;
  r.system_id = text(j, "system_id");
  r.ovs_version = text(j, "ovs_version");
  r.dpdk_version = text(j, "dpdk_version");
  r.dpdk_initialized = j.value("dpdk_initialized", false);
  r.other_config = string_map(j.value("other_config", nlohmann::json::object()));
  for (auto& b : j.value("bridges", nlohmann::json::array())) {
    Bridge br;
    br.name = text(b, "name");
    std::string dpid = text(b, "datapath_id");
    if (dpid.size() == 16 && dpid.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos)
      br.datapath_id = std::stoull(dpid, nullptr, 16);
    br.datapath_type = text(b, "datapath_type");
    br.fail_mode = text(b, "fail_mode");
    br.protocols = strings(b.value("protocols", nlohmann::json::array()));
    br.ports = strings(b.value("ports", nlohmann::json::array()));
    for (auto& c : b.value("controllers", nlohmann::json::array()))
      br.controllers.push_back({text(c, "target"), c.value("is_connected", false), text(c, "role")});
    r.bridges[br.name] = std::move(br);
  }
  for (auto& p : j.value("ports", nlohmann::json::array())) {
    Port port;
    port.name = text(p, "name");
    port.interfaces = strings(p.value("interfaces", nlohmann::json::array()));
    port.external_ids = string_map(p.value("external_ids", nlohmann::json::object()));
    port.tag = p.value("tag", int64_t{-1});
    r.ports[port.name] = std::move(port);
  }
  for (auto& i : j.value("interfaces", nlohmann::json::array())) {
    Interface iface;
    iface.name = text(i, "name");
    iface.type = text(i, "type");
    iface.ofport = i.value("ofport", int64_t{-1});
    iface.external_ids = string_map(i.value("external_ids", nlohmann::json::object()));
    iface.options = string_map(i.value("options", nlohmann::json::object()));
    iface.admin_state = text(i, "admin_state");
    iface.link_state = text(i, "link_state");
    iface.error = text(i, "error");
    iface.mac_in_use = text(i, "mac_in_use");
    r.interfaces[iface.name] = std::move(iface);
  }
  return r;
}

nlohmann::json replica_to_json(const Replica& r) {
  nlohmann::json bridges = nlohmann::json::array();
  for (auto& [name, b] : r.bridges) {
    nlohmann::json ports = nlohmann::json::array();
    for (auto& pname : b.ports) {
      auto p = r.ports.find(pname);
      nlohmann::json ifaces = nlohmann::json::array();
      if (p != r.ports.end()) {
        for (auto& iname : p->second.interfaces) {
          auto it = r.interfaces.find(iname);
          if (it == r.interfaces.end()) continue;
          const Interface& i = it->second;
          nlohmann::json ij = {{"name", i.name},
                               {"type", i.type.empty() ? "system" : i.type},
                               {"ofport", i.ofport},
                               {"iface_id", i.iface_id()},
                               {"link_state", i.link_state},
                               {"external_ids", i.external_ids}};
          if (i.is_tunnel()) ij["options"] = i.options;
          if (!i.error.empty()) ij["error"] = i.error;
          ifaces.push_back(ij);
        }
      }
      ports.push_back({{"name", pname}, {"interfaces", ifaces}});
    }
    nlohmann::json controllers = nlohmann::json::array();
    for (auto& c : b.controllers)
      controllers.push_back({{"target", c.target}, {"is_connected", c.is_connected}, {"role", c.role}});
    char dpid[20] = "";
    if (b.datapath_id)
      std::snprintf(dpid, sizeof dpid, "%016llx", static_cast<unsigned long long>(*b.datapath_id));
    bridges.push_back({{"name", name},
                       {"datapath_id", dpid},
                       {"datapath_type", b.datapath_type},
                       {"fail_mode", b.fail_mode},
                       {"controllers", controllers},
                       {"ports", ports}});
  }
  nlohmann::json dpdk = {{"initialized", r.dpdk_initialized}, {"version", r.dpdk_version}};
  for (const char* k : {"pmd-cpu-mask", "dpdk-lcore-mask", "dpdk-init", "dpdk-extra", "dpdk-socket-mem"})
    if (auto it = r.other_config.find(k); it != r.other_config.end()) dpdk[k] = it->second;
  return {{"system_id", r.system_id}, {"ovs_version", r.ovs_version}, {"dpdk", dpdk}, {"bridges", bridges}};
}

}  // namespace vlcp::ovsdb
