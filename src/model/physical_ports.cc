// Physical ports (VLCP's viperflow): a port name on some servers' bridges that carries a
// physical network. vhost, systemid and bridge may be '%' (any); the key holds all four, so a
// port is found by exact lookup, and the most specific one is chosen where ports are bound.
#include <map>
#include <optional>

#include "model/common.h"
#include "model/viperflow.h"

namespace vlcp::model {
namespace {

using namespace detail;

using schema::Kind;
constexpr const char* kPhysicalPortType = type_of(Kind::kPhysicalPort);
constexpr const char* kPhysicalNetworkType = type_of(Kind::kPhysicalNetwork);

// name, vhost ('' by default), systemid and bridge ('%' by default): VLCP's defaults.
struct Where {
  std::string name, vhost, systemid, bridge;
};
Result<Where> where_of(const Json& spec) {
  auto name = id_param(spec, "name", true);
  if (!name.ok()) return name.error();
  Where w{*name, spec.contains("vhost") ? text(spec["vhost"]) : "",
          spec.contains("systemid") ? text(spec["systemid"]) : "%",
          spec.contains("bridge") ? text(spec["bridge"]) : "%"};
  return w;
}

std::string port_key_of(const Where& w) {
  return physical_port_key(w.vhost, w.systemid, w.bridge, w.name);
}
// A physical port is named by all four parts (with VLCP's defaults).
const BatchOf kPhysicalPorts = batch_of(Kind::kPhysicalPort, [](const Json& spec) {
  auto w = where_of(spec);
  return w.ok() ? port_key_of(*w) : std::string();
});

// The keys of the ports a batch names, after `fixed`.
Result<std::vector<std::string>> port_keys(const Json& specs, std::vector<std::string> fixed);

}  // namespace

std::string physical_port_key(const std::string& vhost, const std::string& systemid,
                              const std::string& bridge, const std::string& name) {
  return key_of(Kind::kPhysicalPort, vhost) + "." + db::escape_key_part(systemid) + "." +
         db::escape_key_part(bridge) + "." + db::escape_key_part(name);
}

std::vector<std::string> physical_port_candidates(const std::string& vhost, const std::string& systemid,
                                                  const std::string& bridge, const std::string& name) {
  return {physical_port_key(vhost, systemid, bridge, name), physical_port_key(vhost, systemid, "%", name),
          physical_port_key(vhost, "%", bridge, name), physical_port_key(vhost, "%", "%", name)};
}

void ViperFlow::find_physical_port(const std::string& vhost, const std::string& systemid,
                                   const std::string& bridge, const std::string& name, Done done) {
  auto keys = physical_port_candidates(vhost, systemid, bridge, name);
  db_.get(keys, [keys, done = std::move(done)](Result<std::map<std::string, db::Record>> r) {
    if (!r.ok()) return done(r.error());
    for (const auto& k : keys)
      if (auto it = r->find(k); it != r->end() && it->second.value)
        return done(dump(k, kPhysicalPortType, *it->second.value));
    done(Json());
  });
}

namespace {
Result<std::vector<std::string>> port_keys(const Json& specs, std::vector<std::string> fixed) {
  auto checked = checked_specs(specs, kPhysicalPorts);
  if (!checked.ok()) return checked.error();
  for (const auto& spec : specs) {
    auto w = where_of(spec);
    if (!w.ok()) return w.error();
    fixed.push_back(physical_port_key(w->vhost, w->systemid, w->bridge, w->name));
  }
  return fixed;
}
}  // namespace

void ViperFlow::create_physical_ports(Json specs, Done done) {
  auto checked = checked_specs(specs, kPhysicalPorts);
  if (!checked.ok()) return done(checked.error());
  std::vector<std::string> keys{kPhysicalPortSet};
  for (auto& spec : specs) {
    auto w = where_of(spec);
    if (!w.ok()) return done(w.error());
    auto net = id_param(spec, "physicalnetwork", true);
    if (!net.ok()) return done(net.error());
    spec["name"] = w->name;
    spec["vhost"] = w->vhost;
    spec["systemid"] = w->systemid;
    spec["bridge"] = w->bridge;
    std::string key = physical_port_key(w->vhost, w->systemid, w->bridge, w->name);
    if (Status s = db::check_key(key); !s.ok()) return done(s);
    keys.insert(keys.end(), {key, physical_network_key(*net), physical_network_map_key(*net)});
  }
  run(
      db_, keys,
      [specs](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kPhysicalPortSet);
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        std::map<std::string, Json> maps;
        out = Json::array();
        for (const auto& spec : specs) {
          std::string key = physical_port_key(text(spec["vhost"]), text(spec["systemid"]),
                                              text(spec["bridge"]), text(spec["name"]));
          std::string net_id = text(spec["physicalnetwork"]);
          std::string net_key = physical_network_key(net_id), map_key = physical_network_map_key(net_id);
          const Json* existing = r.get(key);
          const Json* net = r.get(net_key);
          const Json* map = r.get(map_key);
          if (r.pending) return {};
          if (existing) return make_error(Errc::kAlreadyExists, "physical port " + key + " exists");
          if (!net) return make_error(Errc::kNotFound, "no physical network " + net_id);
          if (net->value("type", "") == "local")
            return bad("a local physical network has no physical ports (" + net_id + ")");
          if (!maps.count(map_key))
            maps[map_key] = map ? *map : Json{{"network", net_key}, {"ports", Json::array()}};
          maps[map_key]["ports"].push_back(key);
          Json value = spec;
          value["physicalnetwork"] = net_key;
          r.ctx.write(key, value);
          next_set = set_with(&next_set, key, true);
          Json d = dump(key, kPhysicalPortType, value);
          d["physicalnetwork"] = dump(net_key, kPhysicalNetworkType, *net);
          out.push_back(d);
        }
        write_batch(r, maps, kPhysicalPortSet, next_set);
        return {};
      },
      std::move(done));
}

void ViperFlow::update_physical_ports(Json specs, Done done) {
  auto named = port_keys(specs, {});
  if (!named.ok()) return done(named.error());
  std::vector<std::string> keys = *named;
  run(
      db_, keys,
      [specs, keys](Reader& r, Json& out) -> Status {
        out = Json::array();
        for (size_t i = 0; i < specs.size(); ++i) {
          const Json* port = r.get(keys[i]);
          if (r.pending) return {};
          if (!port) return make_error(Errc::kNotFound, "no physical port " + keys[i]);
          if (specs[i].contains("physicalnetwork") &&
              physical_network_key(text(specs[i]["physicalnetwork"])) != port->value("physicalnetwork", ""))
            return bad("the physical network of physical port " + keys[i] + " cannot change");
          Json value = *port;
          for (const auto& [k, v] : specs[i].items())
            if (k != "physicalnetwork") value[k] = v;
          r.ctx.write(keys[i], value);
          out.push_back(dump(keys[i], kPhysicalPortType, value));
        }
        return {};
      },
      std::move(done));
}

void ViperFlow::delete_physical_ports(Json specs, Done done) {
  auto named = port_keys(specs, {kPhysicalPortSet});
  if (!named.ok()) return done(named.error());
  std::vector<std::string> keys = *named;
  run(
      db_, keys,
      [keys](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kPhysicalPortSet);
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        std::map<std::string, Json> maps;
        for (size_t i = 1; i < keys.size(); ++i) {
          const Json* port = r.get(keys[i]);
          if (r.pending) return {};
          if (!port) return make_error(Errc::kNotFound, "no physical port " + keys[i]);
          std::string map_key = map_key_of(port->value("physicalnetwork", ""));
          const Json* map = r.get(map_key);
          if (r.pending) return {};
          if (map) {
            if (!maps.count(map_key)) maps[map_key] = *map;
            maps[map_key]["ports"] = list_without(maps[map_key]["ports"], keys[i]);
          }
          r.ctx.write(keys[i], std::nullopt);
          next_set = set_with(&next_set, keys[i], false);
        }
        write_batch(r, maps, kPhysicalPortSet, next_set);
        out = Json{{"status", "OK"}};
        return {};
      },
      std::move(done));
}

void ViperFlow::list_physical_ports(Json filters, Done done) {
  // By name: an exact lookup, with VLCP's defaults for vhost, systemid and bridge.
  std::optional<std::string> only;
  if (filters.is_object() && filters.contains("name")) {
    auto w = where_of(filters);
    if (!w.ok()) return done(w.error());
    only = physical_port_key(w->vhost, w->systemid, w->bridge, w->name);
    for (const char* f : {"name", "vhost", "systemid", "bridge"}) filters.erase(f);
  }
  list_set(Kind::kPhysicalPort, std::move(filters), std::move(done), only);
}

}  // namespace vlcp::model
