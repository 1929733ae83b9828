// Subnets and logical ports (VLCP's viperflow): IPv4 pools, addresses allocated from them,
// MAC and IP unique per logical network (ObjectDB unique indices, kept in the same commit).
#include <algorithm>
#include <map>

#include "model/common.h"
#include "model/viperflow.h"

namespace vlcp::model {
namespace {

using namespace detail;

constexpr const char* kSubnetType = "vlcp.utils.networkmodel.SubNet";
constexpr const char* kLogicalPortType = "vlcp.utils.networkmodel.LogicalPort";
constexpr const char* kLogicalNetworkType = "vlcp.utils.networkmodel.LogicalNetwork";

Result<uint32_t> ip_in(const Json& v, const Cidr& c, const char* what) {
  auto ip = v.is_string() ? parse_ip(v.get<std::string>()) : std::nullopt;
  if (!ip) return bad(std::string(what) + " " + text(v) + " is not an IPv4 address");
  if (!c.contains(*ip)) return bad(std::string(what) + " " + text(v) + " is outside the subnet");
  return *ip;
}

// A subnet's pool: [start, end] without the gateway.
struct Pool {
  uint32_t start, end;
  std::optional<uint32_t> gateway;
};

Result<Pool> pool_of(const Json& subnet) {
  auto cidr = parse_cidr(text(subnet.value("cidr", Json(""))));
  if (!cidr.ok()) return cidr.error();
  Pool p{cidr->first_host(), cidr->last_host(), std::nullopt};
  if (subnet.contains("allocated_start")) p.start = *parse_ip(text(subnet["allocated_start"]));
  if (subnet.contains("allocated_end")) p.end = *parse_ip(text(subnet["allocated_end"]));
  if (subnet.contains("gateway") && !subnet["gateway"].is_null())
    p.gateway = parse_ip(text(subnet["gateway"]));
  return p;
}

// Validates and normalises a subnet's addresses: cidr, gateway, allocation range, host routes.
Status check_subnet(Json& value) {
  if (!value.contains("cidr")) return bad("missing parameter cidr");
  auto cidr = parse_cidr(text(value["cidr"]));
  if (!cidr.ok()) return cidr.error();
  value["cidr"] = ip_text(cidr->network) + "/" + std::to_string(cidr->prefix);
  std::optional<uint32_t> gateway;
  if (value.contains("gateway") && !value["gateway"].is_null()) {
    auto g = ip_in(value["gateway"], *cidr, "gateway");
    if (!g.ok()) return g.error();
    gateway = *g;
  }
  uint32_t start = cidr->first_host(), end = cidr->last_host();
  for (auto [field, into] : {std::pair{"allocated_start", &start}, std::pair{"allocated_end", &end}})
    if (value.contains(field)) {
      auto ip = ip_in(value[field], *cidr, field);
      if (!ip.ok()) return ip.error();
      *into = *ip;
    }
  if (start > end) return bad("allocated_start is after allocated_end");
  value["allocated_start"] = ip_text(start);
  value["allocated_end"] = ip_text(end);
  if (value.contains("host_routes")) {
    const Json& routes = value["host_routes"];
    if (!routes.is_array()) return bad("host_routes must be a list of [cidr, nexthop]");
    for (const auto& r : routes) {
      if (!r.is_array() || r.size() != 2 || !r[0].is_string() || !r[1].is_string())
        return bad("host_routes must be a list of [cidr, nexthop]");
      if (auto c = parse_cidr(r[0].get<std::string>()); !c.ok()) return c.error();
      if (!parse_ip(r[1].get<std::string>()))
        return bad("host route nexthop " + r[1].dump() + " is not an address");
    }
  }
  if (value.contains("isexternal") && !value["isexternal"].is_boolean())
    return bad("isexternal must be a boolean");
  return {};
}

Status check_mac(const Json& v) {
  if (!v.is_string()) return bad("mac_address must be a string");
  const std::string& s = v.get_ref<const std::string&>();
  bool ok = s.size() == 17;
  for (size_t i = 0; ok && i < s.size(); ++i)
    ok = (i % 3 == 2) ? s[i] == ':' : std::isxdigit(static_cast<unsigned char>(s[i])) != 0;
  if (!ok) return bad("mac_address '" + s + "' is not xx:xx:xx:xx:xx:xx");
  return {};
}

}  // namespace

std::string subnet_key(const std::string& id) {
  return "viperflow.subnet." + db::escape_key_part(id);
}
std::string subnet_map_key(const std::string& id) {
  return "viperflow.subnetmap." + db::escape_key_part(id);
}
std::string logical_port_key(const std::string& id) {
  return "viperflow.logicalport." + db::escape_key_part(id);
}

void declare_indices(db::ObjectDb& db) {
  db.add_index(db::IndexRule{"viperflow.logicalport", "mac", {"network", "mac_address"}, true});
  db.add_index(db::IndexRule{"viperflow.logicalport", "ip", {"network", "ip_address"}, true});
  db.add_cascade(db::CascadeRule{"viperflow.logicalport", [](const std::string& key) {
                                   return std::vector<std::string>{
                                       "viperflow.logicalportvxlaninfo." +
                                       key.substr(std::string("viperflow.logicalport.").size())};
                                 }});
}

// ---- subnets -----------------------------------------------------------------------------------------

void ViperFlow::create_subnets(Json specs, Done done) {
  auto checked = checked_specs(specs, "subnets");
  if (!checked.ok()) return done(checked.error());
  std::vector<std::string> keys{kSubnetSet};
  for (auto& spec : specs) {
    auto id = id_param(spec, "id", false);
    if (!id.ok()) return done(id.error());
    spec["id"] = *id;
    auto net = id_param(spec, "logicalnetwork", true);
    if (!net.ok()) return done(net.error());
    if (spec.contains("router")) return done(bad("router is set by adding the subnet to a router"));
    if (Status s = check_subnet(spec); !s.ok()) return done(s);
    keys.insert(keys.end(), {subnet_key(*id), logical_network_key(*net), logical_network_map_key(*net)});
  }
  run(
      db_, keys,
      [specs](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kSubnetSet);
        for (const auto& spec : specs) {
          r.get(subnet_key(text(spec["id"])));
          r.get(logical_network_key(text(spec["logicalnetwork"])));
          r.get(logical_network_map_key(text(spec["logicalnetwork"])));
        }
        if (r.pending) return {};
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        std::map<std::string, Json> maps;
        out = Json::array();
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]), net_id = text(spec["logicalnetwork"]);
          std::string key = subnet_key(id), net_key = logical_network_key(net_id);
          if (r.get(key)) return make_error(Errc::kAlreadyExists, "subnet " + id + " exists");
          const Json* net = r.get(net_key);
          if (!net) return make_error(Errc::kNotFound, "no logical network " + net_id);
          std::string map_key = logical_network_map_key(net_id);
          if (!maps.count(map_key)) {
            const Json* m = r.get(map_key);
            maps[map_key] =
                m ? *m : Json{{"network", net_key}, {"ports", Json::array()}, {"subnets", Json::array()}};
          }
          maps[map_key]["subnets"].push_back(key);
          Json value = spec;
          value.erase("logicalnetwork");
          value["network"] = net_key;
          r.ctx.write(key, value);
          r.ctx.write(subnet_map_key(id), Json{{"subnet", key},
                                               {"allocated_ips", Json::object()},
                                               {"routers", Json::array()},
                                               {"routerports", Json::object()}});
          next_set = set_with(&next_set, key, true);
          Json d = dump(key, kSubnetType, value);
          d["network"] = dump(net_key, kLogicalNetworkType, *net);
          out.push_back(d);
        }
        write_batch(r, maps, kSubnetSet, next_set);
        return {};
      },
      std::move(done));
}

void ViperFlow::delete_subnets(Json specs, Done done) {
  auto keys = batch_keys(specs, {kSubnetSet}, subnet_key, subnet_map_key);
  if (!keys.ok()) return done(keys.error());
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kSubnetSet);
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        std::map<std::string, Json> maps;
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]), key = subnet_key(id);
          const Json* subnet = r.get(key);
          const Json* map = r.get(subnet_map_key(id));
          if (r.pending) return {};
          if (!subnet) return make_error(Errc::kNotFound, "no subnet " + id);
          if (subnet->contains("router") && !(*subnet)["router"].is_null())
            return make_error(Errc::kConflict, "subnet " + id + " is attached to a router");
          if (map && !map->value("allocated_ips", Json::object()).empty())
            return make_error(Errc::kConflict, "subnet " + id + " still has ports with addresses");
          std::string net_key = subnet->value("network", "");
          std::string map_key = map_key_of(net_key);
          const Json* lmap = r.get(map_key);
          if (r.pending) return {};
          if (lmap) {
            if (!maps.count(map_key)) maps[map_key] = *lmap;
            Json kept = Json::array();
            for (const auto& s : maps[map_key]["subnets"])
              if (s != Json(key)) kept.push_back(s);
            maps[map_key]["subnets"] = kept;
          }
          r.ctx.write(key, std::nullopt);
          r.ctx.write(subnet_map_key(id), std::nullopt);
          next_set = set_with(&next_set, key, false);
        }
        write_batch(r, maps, kSubnetSet, next_set);
        out = Json{{"status", "OK"}};
        return {};
      },
      std::move(done));
}

void ViperFlow::update_subnets(Json specs, Done done) {
  auto keys = batch_keys(specs, {}, subnet_key, subnet_map_key);
  if (!keys.ok()) return done(keys.error());
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        out = Json::array();
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]), key = subnet_key(id);
          const Json* subnet = r.get(key);
          const Json* map = r.get(subnet_map_key(id));
          if (r.pending) return {};
          if (!subnet) return make_error(Errc::kNotFound, "no subnet " + id);
          for (const char* fixed : {"logicalnetwork", "network", "isexternal", "router"})
            if (spec.contains(fixed) && (!subnet->contains(fixed) || (*subnet)[fixed] != spec[fixed]))
              return bad(std::string(fixed) + " of subnet " + id + " cannot change here");
          Json value = *subnet;
          for (const auto& [k, v] : spec.items())
            if (k != "id") value[k] = v;
          // A new cidr or range recomputes the defaults, then must keep every allocated address.
          if (spec.contains("cidr") && !spec.contains("allocated_start")) value.erase("allocated_start");
          if (spec.contains("cidr") && !spec.contains("allocated_end")) value.erase("allocated_end");
          if (Status st = check_subnet(value); !st.ok()) return st;
          auto pool = pool_of(value);
          if (!pool.ok()) return pool.error();
          Json allocated = map ? map->value("allocated_ips", Json::object()) : Json::object();
          for (const auto& [ip, owner] : allocated.items()) {
            uint32_t a = static_cast<uint32_t>(std::stoull(ip));
            if (a < pool->start || a > pool->end || (pool->gateway && a == *pool->gateway))
              return make_error(Errc::kConflict, ip_text(a) + " is allocated to " + text(owner) +
                                                     ": the new pool must keep it");
          }
          r.ctx.write(key, value);
          out.push_back(dump(key, kSubnetType, value));
        }
        return {};
      },
      std::move(done));
}

// ---- logical ports -----------------------------------------------------------------------------------

void ViperFlow::create_logical_ports(Json specs, Done done) {
  auto checked = checked_specs(specs, "ports");
  if (!checked.ok()) return done(checked.error());
  // Ports with explicit addresses first, so the automatic ones do not take them.
  std::vector<Json> ordered;
  for (const auto& s : specs)
    if (s.contains("ip_address")) ordered.push_back(s);
  for (const auto& s : specs)
    if (!s.contains("ip_address")) ordered.push_back(s);
  std::vector<std::string> keys{kLogicalPortSet};
  for (auto& spec : ordered) {
    auto id = id_param(spec, "id", false);
    if (!id.ok()) return done(id.error());
    spec["id"] = *id;
    auto net = id_param(spec, "logicalnetwork", true);
    if (!net.ok()) return done(net.error());
    if (spec.contains("mac_address"))
      if (Status s = check_mac(spec["mac_address"]); !s.ok()) return done(s);
    if (spec.contains("ip_address") && !spec.contains("subnet")) return done(bad("ip_address needs subnet"));
    keys.insert(keys.end(),
                {logical_port_key(*id), logical_network_key(*net), logical_network_map_key(*net)});
    if (spec.contains("subnet")) {
      keys.push_back(subnet_key(text(spec["subnet"])));
      keys.push_back(subnet_map_key(text(spec["subnet"])));
    }
  }
  run(
      db_, keys,
      [ordered](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kLogicalPortSet);
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        std::map<std::string, Json> maps;  // network maps and subnet maps as the batch changes them
        auto map_of = [&](const std::string& k) -> Json& {
          if (!maps.count(k)) {
            const Json* v = r.get(k);
            maps[k] = v ? *v : Json::object();
          }
          return maps[k];
        };
        out = Json::array();
        for (const auto& spec : ordered) {
          std::string id = text(spec["id"]), net_id = text(spec["logicalnetwork"]);
          std::string key = logical_port_key(id), net_key = logical_network_key(net_id);
          const Json* existing = r.get(key);
          const Json* net = r.get(net_key);
          const Json* lmap = r.get(logical_network_map_key(net_id));
          const Json* subnet = spec.contains("subnet") ? r.get(subnet_key(text(spec["subnet"]))) : nullptr;
          if (spec.contains("subnet")) r.get(subnet_map_key(text(spec["subnet"])));
          if (r.pending) return {};
          if (existing) return make_error(Errc::kAlreadyExists, "logical port " + id + " exists");
          if (!net || !lmap) return make_error(Errc::kNotFound, "no logical network " + net_id);
          Json value = spec;
          value.erase("logicalnetwork");
          value["network"] = net_key;
          if (spec.contains("subnet")) {
            std::string sid = text(spec["subnet"]);
            if (!subnet) return make_error(Errc::kNotFound, "no subnet " + sid);
            if (subnet->value("network", "") != net_key)
              return bad("subnet " + sid + " is not in logical network " + net_id);
            value["subnet"] = subnet_key(sid);
            auto pool = pool_of(*subnet);
            if (!pool.ok()) return pool.error();
            Json& allocated = map_of(subnet_map_key(sid))["allocated_ips"];
            uint32_t ip = 0;
            if (spec.contains("ip_address")) {
              auto want = spec["ip_address"].is_string() ? parse_ip(spec["ip_address"].get<std::string>())
                                                         : std::nullopt;
              if (!want) return bad("ip_address " + text(spec["ip_address"]) + " is not an IPv4 address");
              if (*want < pool->start || *want > pool->end)
                return bad("ip_address " + ip_text(*want) + " is outside subnet " + sid +
                           "'s allocation range");
              if (pool->gateway && *want == *pool->gateway)
                return bad("ip_address " + ip_text(*want) + " is the gateway of subnet " + sid);
              if (allocated.contains(std::to_string(*want)))
                return make_error(Errc::kConflict,
                                  "ip_address " + ip_text(*want) + " is taken in subnet " + sid);
              ip = *want;
            } else {
              bool found = false;
              for (uint64_t x = pool->start; x <= pool->end && !found; ++x)
                if ((!pool->gateway || x != *pool->gateway) && !allocated.contains(std::to_string(x))) {
                  ip = static_cast<uint32_t>(x);
                  found = true;
                }
              if (!found)
                return make_error(Errc::kResourceExhausted, "subnet " + sid + " has no free address");
            }
            allocated[std::to_string(ip)] = key;
            value["ip_address"] = ip_text(ip);
          }
          map_of(logical_network_map_key(net_id))["ports"].push_back(key);
          r.ctx.write(key, value);
          next_set = set_with(&next_set, key, true);
          Json d = dump(key, kLogicalPortType, value);
          d["network"] = dump(net_key, kLogicalNetworkType, *net);
          if (subnet) d["subnet"] = dump(value["subnet"], kSubnetType, *subnet);
          out.push_back(d);
        }
        write_batch(r, maps, kLogicalPortSet, next_set);
        return {};
      },
      std::move(done));
}

void ViperFlow::update_logical_ports(Json specs, Done done) {
  auto keys = batch_keys(specs, {}, logical_port_key, nullptr);
  if (!keys.ok()) return done(keys.error());
  for (const auto& spec : specs)
    if (spec.contains("mac_address"))
      if (Status s = check_mac(spec["mac_address"]); !s.ok()) return done(s);
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        out = Json::array();
        std::map<std::string, Json> maps;
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]), key = logical_port_key(id);
          const Json* port = r.get(key);
          if (r.pending) return {};
          if (!port) return make_error(Errc::kNotFound, "no logical port " + id);
          for (const char* fixed : {"logicalnetwork", "network", "subnet"})
            if (spec.contains(fixed))
              return bad(std::string(fixed) + " of logical port " + id + " cannot change");
          Json value = *port;
          for (const auto& [k, v] : spec.items())
            if (k != "id") value[k] = v;
          if (spec.contains("ip_address") &&
              (!port->contains("ip_address") || (*port)["ip_address"] != spec["ip_address"])) {
            if (!port->contains("subnet"))
              return bad("logical port " + id + " has no subnet to take an address from");
            std::string skey = text((*port)["subnet"]);
            std::string smap = map_key_of(skey);
            const Json* subnet = r.get(skey);
            const Json* sm = r.get(smap);
            if (r.pending) return {};
            if (!subnet || !sm) return make_error(Errc::kInternal, "logical port " + id + " lost its subnet");
            if (!maps.count(smap)) maps[smap] = *sm;
            auto pool = pool_of(*subnet);
            if (!pool.ok()) return pool.error();
            auto want = spec["ip_address"].is_string() ? parse_ip(spec["ip_address"].get<std::string>())
                                                       : std::nullopt;
            if (!want) return bad("ip_address " + text(spec["ip_address"]) + " is not an IPv4 address");
            if (*want < pool->start || *want > pool->end || (pool->gateway && *want == *pool->gateway))
              return bad("ip_address " + ip_text(*want) + " is not in the subnet's allocation range");
            Json& allocated = maps[smap]["allocated_ips"];
            if (allocated.contains(std::to_string(*want)))
              return make_error(Errc::kConflict, "ip_address " + ip_text(*want) + " is taken");
            if (port->contains("ip_address"))
              if (auto old = parse_ip(text((*port)["ip_address"]))) allocated.erase(std::to_string(*old));
            allocated[std::to_string(*want)] = key;
            value["ip_address"] = ip_text(*want);
          }
          r.ctx.write(key, value);
          out.push_back(dump(key, kLogicalPortType, value));
        }
        for (const auto& [k, m] : maps) r.ctx.write(k, m);
        return {};
      },
      std::move(done));
}

void ViperFlow::delete_logical_ports(Json specs, Done done) {
  auto keys = batch_keys(specs, {kLogicalPortSet}, logical_port_key, nullptr);
  if (!keys.ok()) return done(keys.error());
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kLogicalPortSet);
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        std::map<std::string, Json> maps;
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]), key = logical_port_key(id);
          const Json* port = r.get(key);
          if (r.pending) return {};
          if (!port) return make_error(Errc::kNotFound, "no logical port " + id);
          std::string net_key = port->value("network", "");
          std::string lmap_key = map_key_of(net_key);
          std::string smap_key;
          if (port->contains("subnet")) smap_key = map_key_of(text((*port)["subnet"]));
          const Json* lmap = r.get(lmap_key);
          const Json* smap = smap_key.empty() ? nullptr : r.get(smap_key);
          if (r.pending) return {};
          if (lmap) {
            if (!maps.count(lmap_key)) maps[lmap_key] = *lmap;
            Json kept = Json::array();
            for (const auto& p : maps[lmap_key]["ports"])
              if (p != Json(key)) kept.push_back(p);
            maps[lmap_key]["ports"] = kept;
          }
          if (smap && port->contains("ip_address")) {
            if (!maps.count(smap_key)) maps[smap_key] = *smap;
            auto ip = parse_ip(text((*port)["ip_address"]));
            if (ip) maps[smap_key]["allocated_ips"].erase(std::to_string(*ip));
          }
          r.ctx.write(key, std::nullopt);
          next_set = set_with(&next_set, key, false);
        }
        write_batch(r, maps, kLogicalPortSet, next_set);
        out = Json{{"status", "OK"}};
        return {};
      },
      std::move(done));
}

void ViperFlow::list_subnets(Json filters, Done done) {
  list_set(ListOf{kSubnetSet, kSubnetType, subnet_key, "logicalnetwork", "network", logical_network_key,
                  kLogicalNetworkType},
           std::move(filters), std::move(done));
}
void ViperFlow::list_logical_ports(Json filters, Done done) {
  list_set(ListOf{kLogicalPortSet, kLogicalPortType, logical_port_key, "logicalnetwork", "network",
                  logical_network_key, kLogicalNetworkType},
           std::move(filters), std::move(done));
}

// A set's members (or the one named by id) that match the filters, dumped; the parent
// reference (if any) filtered by the parent's id and nested, as VLCP nests strong references.
void ViperFlow::list_set(const ListOf& of, Json filters, Done done, std::optional<std::string> only) {
  if (!filters.is_object()) return done(bad("filters must be an object"));
  if (!only && of.key_of && filters.contains("id")) only = of.key_of(text(filters["id"]));
  if (of.parent_param && filters.contains(of.parent_param)) {
    Json parent = of.parent_key(text(filters[of.parent_param]));
    filters.erase(of.parent_param);
    filters[of.parent_field] = parent;
  }
  std::string set = of.set_key;
  auto result = std::make_shared<Json>();
  db_.walk(
      {only ? *only : set},
      [set, only, filters, of, result](db::WalkContext& ctx) {
        std::vector<std::string> members;
        if (only) {
          members.push_back(*only);
        } else {
          db::Lookup s = ctx.get(set);
          if (!s.fetched) return;
          if (s.value())
            for (const auto& m : s.value()->value("set", Json::array())) members.push_back(text(m));
        }
        *result = Json::array();
        for (const auto& key : members) {
          db::Lookup l = ctx.get(key);
          if (!l.fetched || !l.value() || !matches(*l.value(), filters, {"id"})) continue;
          Json d = dump(key, of.type, *l.value());
          if (of.parent_field && l.value()->contains(of.parent_field)) {
            std::string parent = text((*l.value())[of.parent_field]);
            db::Lookup p = ctx.get(parent);
            if (!p.fetched) continue;
            d[of.parent_field] =
                p.value() ? dump(parent, of.parent_type, *p.value()) : Json{{"_ref", parent}};
          }
          result->push_back(d);
        }
      },
      [done = std::move(done), result](Result<db::WalkResult> r) {
        if (!r.ok()) return done(r.error());
        done(*result);
      });
}

}  // namespace vlcp::model
