#include "model/viperflow.h"

#include "model/common.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>

namespace vlcp::model {
namespace {

using namespace detail;

using schema::Kind;
constexpr const char* kPhysicalNetworkType = type_of(Kind::kPhysicalNetwork);
constexpr const char* kLogicalNetworkType = type_of(Kind::kLogicalNetwork);
constexpr int64_t kMaxVlan = 4095, kMaxVni = (1 << 24) - 1;

struct Range {
  int64_t lo, hi;
};

// [[lo, hi], ...]: inclusive, within [min, max], ordered, not overlapping.
Result<std::vector<Range>> parse_ranges(const Json& v, const std::string& name, int64_t min, int64_t max) {
  if (!v.is_array() || v.empty()) return bad(name + " must be a list of [start, end] pairs");
  std::vector<Range> out;
  for (const auto& r : v) {
    if (!r.is_array() || r.size() != 2) return bad(name + " must be a list of [start, end] pairs");
    auto lo = as_int(r[0]), hi = as_int(r[1]);
    if (!lo || !hi) return bad(name + ": " + r.dump() + " is not a pair of integers");
    if (*lo < min || *hi > max || *lo > *hi)
      return bad(name + ": " + r.dump() + " is not within " + std::to_string(min) + ".." +
                 std::to_string(max));
    if (!out.empty() && *lo <= out.back().hi)
      return bad(name + " ranges must be ordered and must not overlap");
    out.push_back(Range{*lo, *hi});
  }
  return out;
}

Json ranges_json(const std::vector<Range>& ranges) {
  Json out = Json::array();
  for (const auto& r : ranges) out.push_back(Json::array({r.lo, r.hi}));
  return out;
}

bool in_ranges(const std::vector<Range>& ranges, int64_t x) {
  for (const auto& r : ranges)
    if (x >= r.lo && x <= r.hi) return true;
  return false;
}

// The allocation field a physical network type uses for its logical networks.
const char* id_field(const std::string& type) {
  return type == "vlan" ? "vlanid" : type == "vxlan" ? "vni" : nullptr;
}
const char* range_field(const std::string& type) {
  return type == "vlan" ? "vlanrange" : type == "vxlan" ? "vnirange" : nullptr;
}
int64_t range_max(const std::string& type) {
  return type == "vlan" ? kMaxVlan : kMaxVni;
}

// A type's fields belong to that type alone: vlanrange and vlanid to vlan, vnirange and vni to
// vxlan. Given on another type they would be stored as meaningless attributes.
Status check_type_fields(const Json& spec, const std::string& type, const std::string& what,
                         std::initializer_list<const char*> fields, const char* (*own)(const std::string&)) {
  for (const char* f : fields) {
    const char* mine = own(type);
    if (spec.contains(f) && !(mine && std::string(mine) == f))
      return bad(std::string(f) + " is for " + (std::string(f).rfind("vlan", 0) == 0 ? "vlan" : "vxlan") +
                 " networks: " + what + " is " + type);
  }
  return {};
}

const BatchOf kPhysicalNetworks = batch_of(Kind::kPhysicalNetwork);
const BatchOf kLogicalNetworks = batch_of(Kind::kLogicalNetwork);

}  // namespace

std::string key_of(Kind kind, const std::string& id) {
  return std::string(schema::kind(kind).key_prefix) + db::escape_key_part(id);
}
std::string map_key(Kind kind, const std::string& id) {
  return std::string(schema::kind(kind).map_prefix) + db::escape_key_part(id);
}
std::string physical_network_key(const std::string& id) {
  return key_of(Kind::kPhysicalNetwork, id);
}
std::string physical_network_map_key(const std::string& id) {
  return map_key(Kind::kPhysicalNetwork, id);
}
std::string logical_network_key(const std::string& id) {
  return key_of(Kind::kLogicalNetwork, id);
}
std::string logical_network_map_key(const std::string& id) {
  return map_key(Kind::kLogicalNetwork, id);
}

ViperFlow::Calls ViperFlow::calls(Kind kind) {
  using V = ViperFlow;
  switch (kind) {  // (no default: a new kind is a compile error here until it is bound)
    case Kind::kPhysicalNetwork:
      return {&V::create_physical_networks, &V::update_physical_networks, &V::delete_physical_networks,
              &V::list_physical_networks};
    case Kind::kLogicalNetwork:
      return {&V::create_logical_networks, &V::update_logical_networks, &V::delete_logical_networks,
              &V::list_logical_networks};
    case Kind::kPhysicalPort:
      return {&V::create_physical_ports, &V::update_physical_ports, &V::delete_physical_ports,
              &V::list_physical_ports};
    case Kind::kSubnet:
      return {&V::create_subnets, &V::update_subnets, &V::delete_subnets, &V::list_subnets};
    case Kind::kLogicalPort:
      return {&V::create_logical_ports, &V::update_logical_ports, &V::delete_logical_ports,
              &V::list_logical_ports};
    case Kind::kRouter:
      return {&V::create_routers, &V::update_routers, &V::delete_routers, &V::list_routers};
    case Kind::kRouterInterface:
      return {&V::add_router_interfaces, nullptr, &V::remove_router_interfaces, &V::list_router_interfaces};
    case Kind::kLocation:     // written by the node hosting the port, not through the API
    case Kind::kForwardInfo:  // written by the forwarding nodes
    case Kind::kExternalAddressInfo:
    case Kind::kDockerPool:  // written by the nodes' container plugins (model/containers.h)
    case Kind::kDockerReservation:
    case Kind::kDockerNetwork:
    case Kind::kDockerInfo:
    case Kind::kCniInfo:
    case Kind::kCount:
      return {};
  }
  return {};
}

std::string new_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & ~0xf000ull) | 0x4000ull;                         // version 4
  b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;  // variant
  char s[40];
  std::snprintf(s, sizeof s, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(a >> 32),
                static_cast<unsigned long long>((a >> 16) & 0xffff),
                static_cast<unsigned long long>(a & 0xffff), static_cast<unsigned long long>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return s;
}

// ---- physical networks -----------------------------------------------------------------------

void ViperFlow::create_physical_networks(Json specs, Done done) {
  auto checked = checked_specs(specs, kPhysicalNetworks);
  if (!checked.ok()) return done(checked.error());
  std::vector<std::pair<std::string, Json>> nets;  // key, value
  std::vector<std::string> keys{kPhysicalNetworkSet};
  for (const auto& spec : specs) {
    auto id = id_param(spec, "id", false);
    if (!id.ok()) return done(id.error());
    Json value = spec;
    value["id"] = *id;
    std::string type = spec.contains("type") ? text(spec["type"]) : "vlan";
    if (type != "vlan" && type != "vxlan" && type != "native" && type != "local")
      return done(bad("type must be vlan, vxlan, native or local, not '" + type + "'"));
    value["type"] = type;
    if (Status s =
            check_type_fields(spec, type, "physical network " + *id, {"vlanrange", "vnirange"}, range_field);
        !s.ok())
      return done(s);
    if (const char* field = range_field(type)) {
      if (!spec.contains(field))
        return done(bad(std::string("a ") + type + " physical network needs " + field));
      auto ranges = parse_ranges(spec[field], field, 1, range_max(type));
      if (!ranges.ok()) return done(ranges.error());
      value[field] = ranges_json(*ranges);
    }
    std::string key = physical_network_key(*id);
    if (Status s = db::check_key(key); !s.ok()) return done(s);
    keys.push_back(key);
    keys.push_back(physical_network_map_key(*id));
    nets.emplace_back(key, value);
  }
  run(
      db_, keys,
      [nets](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kPhysicalNetworkSet);
        for (const auto& [key, value] : nets) r.get(key);
        if (r.pending) return {};
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        out = Json::array();
        for (const auto& [key, value] : nets) {
          if (r.get(key))
            return make_error(Errc::kAlreadyExists, "physical network " + text(value["id"]) + " exists");
          std::string id = value["id"].get<std::string>();
          r.ctx.write(key, value);
          r.ctx.write(physical_network_map_key(id), Json{{"network", key},
                                                         {"logicnetworks", Json::array()},
                                                         {"ports", Json::array()},
                                                         {"network_allocation", Json::object()}});
          next_set = set_with(&next_set, key, true);
          out.push_back(dump(key, kPhysicalNetworkType, value));
        }
        r.ctx.write(kPhysicalNetworkSet, next_set);
        return {};
      },
      std::move(done));
}

void ViperFlow::update_physical_networks(Json specs, Done done) {
  auto keys = batch_keys(specs, kPhysicalNetworks, {}, physical_network_key, physical_network_map_key);
  if (!keys.ok()) return done(keys.error());
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        out = Json::array();
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]);
          std::string key = physical_network_key(id);
          const Json* net = r.get(key);
          const Json* map = r.get(physical_network_map_key(id));
          if (r.pending) return {};
          if (!net) return make_error(Errc::kNotFound, "no physical network " + id);
          Json value = *net;
          std::string type = value.value("type", "vlan");
          if (spec.contains("type") && text(spec["type"]) != type)
            return bad("the type of physical network " + id + " cannot change");
          if (Status st = check_type_fields(spec, type, "physical network " + id, {"vlanrange", "vnirange"},
                                            range_field);
              !st.ok())
            return st;
          for (const auto& [k, v] : spec.items())
            if (k != "id" && k != "type") value[k] = v;
          if (const char* field = range_field(type); field && spec.contains(field)) {
            auto ranges = parse_ranges(spec[field], field, 1, range_max(type));
            if (!ranges.ok()) return ranges.error();
            value[field] = ranges_json(*ranges);
            if (map && map->contains("network_allocation"))
              for (const auto& [allocated, lognet] : (*map)["network_allocation"].items())
                if (!in_ranges(*ranges, std::stoll(allocated)))
                  return make_error(Errc::kConflict, std::string(id_field(type)) + " " + allocated +
                                                         " is allocated to " + text(lognet) +
                                                         ": the new ranges must keep it");
          }
          r.ctx.write(key, value);
          out.push_back(dump(key, kPhysicalNetworkType, value));
        }
        return {};
      },
      std::move(done));
}

void ViperFlow::delete_physical_networks(Json specs, Done done) {
  auto keys = batch_keys(specs, kPhysicalNetworks, {kPhysicalNetworkSet}, physical_network_key,
                         physical_network_map_key);
  if (!keys.ok()) return done(keys.error());
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kPhysicalNetworkSet);
        for (const auto& spec : specs) {
          r.get(physical_network_key(text(spec["id"])));
          r.get(physical_network_map_key(text(spec["id"])));
        }
        if (r.pending) return {};
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]);
          std::string key = physical_network_key(id);
          if (!r.get(key)) return make_error(Errc::kNotFound, "no physical network " + id);
          const Json* map = r.get(physical_network_map_key(id));
          if (map && !map->value("logicnetworks", Json::array()).empty())
            return make_error(Errc::kConflict, "physical network " + id + " still has logical networks");
          if (map && !map->value("ports", Json::array()).empty())
            return make_error(Errc::kConflict, "physical network " + id + " still has physical ports");
          r.ctx.write(key, std::nullopt);
          r.ctx.write(physical_network_map_key(id), std::nullopt);
          next_set = set_with(&next_set, key, false);
        }
        r.ctx.write(kPhysicalNetworkSet, next_set);
        out = Json{{"status", "OK"}};
        return {};
      },
      std::move(done));
}

void ViperFlow::list_physical_networks(Json filters, Done done) {
  list_set(Kind::kPhysicalNetwork, std::move(filters), std::move(done));
}

// ---- logical networks ---------------------------------------------------------------------------

void ViperFlow::create_logical_networks(Json specs, Done done) {
  auto checked = checked_specs(specs, kLogicalNetworks);
  if (!checked.ok()) return done(checked.error());
  // Explicit ids are allocated before automatic ones, as VLCP does.
  std::vector<Json> ordered;
  for (const auto& s : specs)
    if (s.contains("vlanid") || s.contains("vni")) ordered.push_back(s);
  for (const auto& s : specs)
    if (!s.contains("vlanid") && !s.contains("vni")) ordered.push_back(s);
  std::vector<std::string> keys{kLogicalNetworkSet};
  for (auto& spec : ordered) {
    auto id = id_param(spec, "id", false);
    if (!id.ok()) return done(id.error());
    spec["id"] = *id;
    auto phys = id_param(spec, "physicalnetwork", true);
    if (!phys.ok()) return done(phys.error());
    std::string key = logical_network_key(*id);
    if (Status s = db::check_key(key); !s.ok()) return done(s);
    if (Status s = check_dhcp_options(spec); !s.ok()) return done(s);
    keys.push_back(key);
    keys.push_back(logical_network_map_key(*id));
    keys.push_back(physical_network_key(*phys));
    keys.push_back(physical_network_map_key(*phys));
  }
  run(
      db_, keys,
      [ordered](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kLogicalNetworkSet);
        for (const auto& spec : ordered) {
          r.get(logical_network_key(text(spec["id"])));
          r.get(physical_network_key(text(spec["physicalnetwork"])));
          r.get(physical_network_map_key(text(spec["physicalnetwork"])));
        }
        if (r.pending) return {};
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        std::map<std::string, Json> maps;  // physical network maps as this batch changes them
        out = Json::array();
        for (const auto& spec : ordered) {
          std::string id = text(spec["id"]), phys_id = text(spec["physicalnetwork"]);
          std::string key = logical_network_key(id), phys_key = physical_network_key(phys_id);
          std::string map_key = physical_network_map_key(phys_id);
          if (r.get(key)) return make_error(Errc::kAlreadyExists, "logical network " + id + " exists");
          const Json* phys = r.get(phys_key);
          if (!phys) return make_error(Errc::kNotFound, "no physical network " + phys_id);
          if (!maps.count(map_key)) {
            const Json* m = r.get(map_key);
            maps[map_key] = m ? *m
                              : Json{{"network", phys_key},
                                     {"logicnetworks", Json::array()},
                                     {"ports", Json::array()},
                                     {"network_allocation", Json::object()}};
          }
          Json& map = maps[map_key];
          std::string type = phys->value("type", "vlan");
          if (Status st =
                  check_type_fields(spec, type, "physical network " + phys_id, {"vlanid", "vni"}, id_field);
              !st.ok())
            return st;
          Json value = spec;
          value["physicalnetwork"] = phys_key;
          if (type == "native" && !map["logicnetworks"].empty())
            return make_error(Errc::kConflict,
                              "native physical network " + phys_id + " has a logical network already");
          if (const char* field = id_field(type)) {
            auto ranges = parse_ranges((*phys)[range_field(type)], range_field(type), 1, range_max(type));
            if (!ranges.ok()) return ranges.error();
            Json& alloc = map["network_allocation"];
            int64_t chosen = -1;
            if (spec.contains(field) && !spec[field].is_null()) {
              auto want = as_int(spec[field]);
              if (!want) return bad(std::string(field) + " must be an integer");
              if (!in_ranges(*ranges, *want))
                return bad(std::string(field) + " " + std::to_string(*want) +
                           " is outside physical network " + phys_id + "'s ranges");
              if (alloc.contains(std::to_string(*want)))
                return make_error(Errc::kConflict, std::string(field) + " " + std::to_string(*want) +
                                                       " is taken by " + text(alloc[std::to_string(*want)]));
              chosen = *want;
            } else {
              for (const auto& range : *ranges) {
                for (int64_t x = range.lo; x <= range.hi && chosen < 0; ++x)
                  if (!alloc.contains(std::to_string(x))) chosen = x;
                if (chosen >= 0) break;
              }
              if (chosen < 0)
                return make_error(Errc::kConflict, "physical network " + phys_id + " has no free " + field);
            }
            value[field] = chosen;
            alloc[std::to_string(chosen)] = key;
          }
          map["logicnetworks"].push_back(key);
          // The network's number in flows (registers, group ids): unique in the cluster, never
          // reused, so every switch names a network alike and a restart recomputes the same flows.
          int64_t netid = next_set.value("next_netid", int64_t{1});
          if (netid > kMaxNetId)
            return make_error(Errc::kConflict, "no network numbers left (2^24 - 1 were used)");
          next_set["next_netid"] = netid + 1;
          r.ctx.write(key, value);
          r.ctx.write(logical_network_map_key(id),
                      Json{{"network", key}, {"subnets", Json::array()}, {"netid", netid}});
          next_set = set_with(&next_set, key, true);
          Json d = dump(key, kLogicalNetworkType, value);
          d["physicalnetwork"] = dump(phys_key, kPhysicalNetworkType, *phys);
          out.push_back(d);
        }
        write_batch(r, maps, kLogicalNetworkSet, next_set);
        return {};
      },
      std::move(done));
}

void ViperFlow::update_logical_networks(Json specs, Done done) {
  auto keys = batch_keys(specs, kLogicalNetworks, {}, logical_network_key, nullptr);
  if (!keys.ok()) return done(keys.error());
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        out = Json::array();
        std::map<std::string, Json> maps;
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]);
          std::string key = logical_network_key(id);
          const Json* net = r.get(key);
          if (r.pending) return {};
          if (!net) return make_error(Errc::kNotFound, "no logical network " + id);
          std::string phys_key = net->value("physicalnetwork", "");
          const Json* phys = r.get(phys_key);
          std::string map_key = map_key_of(phys_key);
          const Json* map = r.get(map_key);
          if (r.pending) return {};
          if (!phys || !map)
            return make_error(Errc::kInternal, "logical network " + id + " lost its physical network");
          if (spec.contains("physicalnetwork") &&
              physical_network_key(text(spec["physicalnetwork"])) != phys_key)
            return bad("the physical network of logical network " + id + " cannot change");
          if (!maps.count(map_key)) maps[map_key] = *map;
          Json value = *net;
          for (const auto& [k, v] : spec.items())
            if (k != "id" && k != "physicalnetwork") value[k] = v;
          if (Status st = check_dhcp_options(value); !st.ok()) return st;
          std::string type = phys->value("type", "vlan");
          if (Status st =
                  check_type_fields(spec, type, "physical network " + text(phys->value("id", Json(phys_key))),
                                    {"vlanid", "vni"}, id_field);
              !st.ok())
            return st;
          if (const char* field = id_field(type); field && spec.contains(field)) {
            auto want = as_int(spec[field]);
            if (!want) return bad(std::string(field) + " must be an integer");
            auto ranges = parse_ranges((*phys)[range_field(type)], range_field(type), 1, range_max(type));
            if (!ranges.ok()) return ranges.error();
            Json& alloc = maps[map_key]["network_allocation"];
            std::string old = net->contains(field) ? text((*net)[field]) : "";
            if (std::to_string(*want) != old) {
              if (!in_ranges(*ranges, *want))
                return bad(std::string(field) + " " + std::to_string(*want) + " is outside the ranges");
              if (alloc.contains(std::to_string(*want)))
                return make_error(Errc::kConflict,
                                  std::string(field) + " " + std::to_string(*want) + " is taken");
              if (!old.empty()) alloc.erase(old);
              alloc[std::to_string(*want)] = key;
            }
            value[field] = *want;
          }
          r.ctx.write(key, value);
          Json d = dump(key, kLogicalNetworkType, value);
          d["physicalnetwork"] = dump(phys_key, kPhysicalNetworkType, *phys);
          out.push_back(d);
        }
        for (auto& [k, m] : maps) r.ctx.write(k, m);
        return {};
      },
      std::move(done));
}

void ViperFlow::delete_logical_networks(Json specs, Done done) {
  auto keys =
      batch_keys(specs, kLogicalNetworks, {kLogicalNetworkSet}, logical_network_key, logical_network_map_key);
  if (!keys.ok()) return done(keys.error());
  run_fenced(
      db_, specs, logical_network_key, network_ports_index, *keys,
      [specs](Reader& r, const std::vector<std::vector<std::string>>& ports, Json& out) -> Status {
        const Json* set = r.get(kLogicalNetworkSet);
        std::map<std::string, Json> maps;
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        for (size_t i = 0; i < specs.size(); ++i) {
          const Json& spec = specs[i];
          std::string id = text(spec["id"]);
          std::string key = logical_network_key(id);
          const Json* net = r.get(key);
          const Json* lmap = r.get(logical_network_map_key(id));
          if (r.pending) return {};
          if (!net) return make_error(Errc::kNotFound, "no logical network " + id);
          if (lmap && !lmap->value("subnets", Json::array()).empty())
            return make_error(Errc::kConflict, "logical network " + id + " still has subnets");
          if (!ports[i].empty())
            return make_error(Errc::kConflict, "logical network " + id + " still has " +
                                                   std::to_string(ports[i].size()) + " logical ports (" +
                                                   ports[i][0] + ", ...)");
          std::string phys_key = net->value("physicalnetwork", "");
          std::string map_key = map_key_of(phys_key);
          const Json* map = r.get(map_key);
          if (r.pending) return {};
          if (map) {
            if (!maps.count(map_key)) maps[map_key] = *map;
            Json& m = maps[map_key];
            m["logicnetworks"] = list_without(m["logicnetworks"], key);
            for (const char* f : {"vlanid", "vni"})
              if (net->contains(f)) m["network_allocation"].erase(text((*net)[f]));
          }
          r.ctx.write(key, std::nullopt);
          r.ctx.write(logical_network_map_key(id), std::nullopt);
          next_set = set_with(&next_set, key, false);
        }
        write_batch(r, maps, kLogicalNetworkSet, next_set);
        out = Json{{"status", "OK"}};
        return {};
      },
      std::move(done));
}

void ViperFlow::list_logical_networks(Json filters, Done done) {
  list_set(Kind::kLogicalNetwork, std::move(filters), std::move(done));
}

}  // namespace vlcp::model
