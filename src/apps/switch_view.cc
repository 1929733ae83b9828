#include "apps/switch_view.h"

#include <algorithm>
#include <string_view>

namespace vlcp::apps {

SwitchChange changed_ports(const SwitchView& old, const SwitchView& now) {
  SwitchChange c;
  c.bridge = old.bridge != now.bridge;
  std::map<std::string_view, const SwitchPortInfo*> before;
  for (const auto& p : old.ports) before.emplace(p.name, &p);
  for (const auto& p : now.ports) {
    auto it = before.find(p.name);
    if (it == before.end()) {
      c.ports.push_back({std::nullopt, p});
      continue;
    }
    if (!(*it->second == p)) c.ports.push_back({*it->second, p});
    before.erase(it);
  }
  for (const auto& [name, p] : before) c.ports.push_back({*p, std::nullopt});
  return c;
}

std::map<uint64_t, SwitchView> switch_views(const ovsdb::Replica& r) {
  std::map<uint64_t, SwitchView> out;
  for (const auto& [name, b] : r.bridges) {
    if (!b.datapath_id) continue;
    SwitchView view;
    view.bridge = name;
    for (const auto& pname : b.ports) {
      auto p = r.ports.find(pname);
      if (p == r.ports.end()) continue;
      for (const auto& iname : p->second.interfaces) {
        auto i = r.interfaces.find(iname);
        if (i == r.interfaces.end()) continue;
        SwitchPortInfo info;
        info.name = i->second.name;
        info.type = i->second.type;
        info.iface_id = i->second.iface_id();
        info.ofport = i->second.ofport;
        info.mac = i->second.mac_in_use;
        if (auto ip = i->second.options.find("local_ip"); ip != i->second.options.end())
          info.local_ip = ip->second;
        view.ports.push_back(std::move(info));
      }
    }
    std::sort(view.ports.begin(), view.ports.end(),
              [](const SwitchPortInfo& a, const SwitchPortInfo& b) { return a.name < b.name; });
    out[*b.datapath_id] = std::move(view);
  }
  return out;
}

}  // namespace vlcp::apps
