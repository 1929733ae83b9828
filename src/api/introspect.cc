// Introspection JSON (see introspect.h).
#include "api/introspect.h"

#include <cstdio>

namespace vlcp::api {

namespace {
std::string hex(uint64_t v, int width) {
  char b[24];
  std::snprintf(b, sizeof b, "%0*llx", width, static_cast<unsigned long long>(v));
  return b;
}
std::string mac(const std::array<uint8_t, 6>& a) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
  return b;
}
std::string role_name(ofp::Role r) {
  switch (r) {
    case ofp::Role::kEqual:
      return "equal";
    case ofp::Role::kMaster:
      return "master";
    case ofp::Role::kSlave:
      return "slave";
    default:
      return "nochange";
  }
}
HttpResponse json(int status, const nlohmann::json& j) {
  return {status, json_text(j, 2) + "\n", "application/json"};  // (port names come from switches)
}
}  // namespace

nlohmann::json switch_json(const sw::SwitchInfo& s) {
  nlohmann::json ports = nlohmann::json::array();
  for (auto& [no, p] : s.ports) {
    ports.push_back({{"port_no", no},
                     {"name", p.name},
                     {"hw_addr", mac(p.hw_addr)},
                     {"config", p.config},
                     {"state", p.state},
                     {"link_down", (p.state & 1) != 0},
                     {"curr_speed_kbps", p.curr_speed}});
  }
  nlohmann::json j = {{"dpid", hex(s.dpid, 16)},
                      {"connected", s.connected},
                      {"peer", s.peer},
                      {"openflow_version", s.version},
                      {"n_tables", s.features.n_tables},
                      {"n_buffers", s.features.n_buffers},
                      {"capabilities", s.features.capabilities},
                      {"connections", s.connections},
                      {"ports", ports}};
  if (s.role) j["role"] = role_name(*s.role);
  if (!s.connected) j["last_down_reason"] = s.last_down_reason;
  return j;
}

nlohmann::json placement_json(const sched::Placement& p) {
  return {{"worker_cpus", p.worker_cpus},
          {"control_cpus", sched::format_cpu_list(p.control_cpus)},
          {"pmd_cpus_avoided", sched::format_cpu_list(p.pmd_cpus)},
          {"notes", p.notes}};
}

HttpResponse introspect(const IntrospectSources& src, const HttpRequest& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path != "/introspect" && path.rfind("/introspect/", 0) != 0)
    return json(404, {{"error", "no such resource: " + path}});
  if (req.method != "GET") return json(405, {{"error", "introspection is read-only: use GET"}});
  auto switches = [&] {
    nlohmann::json a = nlohmann::json::array();
    if (src.switches)
      for (auto& [dpid, s] : src.switches->switches()) a.push_back(switch_json(s));
    return a;
  };
  auto placement = [&] { return src.placement ? placement_json(src.placement()) : nlohmann::json(nullptr); };
  auto ovsdb = [&] { return src.ovsdb ? src.ovsdb() : nlohmann::json(nullptr); };
  if (path == "/introspect/switches") return json(200, switches());
  if (path == "/introspect/placement") return json(200, placement());
  if (path == "/introspect/ovsdb") return json(200, ovsdb());
  if (path == "/introspect")
    return json(200, {{"switches", switches()}, {"placement", placement()}, {"ovsdb", ovsdb()}});
  return json(404, {{"error", "no such resource: " + path}});
}

}  // namespace vlcp::api
