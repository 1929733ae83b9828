// Virtual routers (VLCP's vrouterapi): routers with static routes and interfaces on subnets.
// An interface takes the subnet's gateway address, or an explicit one reserved in the subnet's
// pool; a normal subnet joins one router at most, an external subnet several.
#include <map>

#include "model/common.h"
#include "model/viperflow.h"

namespace vlcp::model {
namespace {

using namespace detail;

using schema::Kind;
constexpr const char* kRouterType = type_of(Kind::kRouter);
constexpr const char* kRouterPortType = type_of(Kind::kRouterInterface);

const BatchOf kRouters = batch_of(Kind::kRouter);
// An interface is named by its router and subnet (a subnet joins a router once); an explicit
// interface id is checked apart.
const BatchOf kInterfaces = batch_of(Kind::kRouterInterface, [](const Json& spec) {
  return spec.contains("router") && spec.contains("subnet")
             ? text(spec["router"]) + " on subnet " + text(spec["subnet"])
             : std::string();
});
// (the same batch, by interface id: "router port X is named twice")
const BatchOf kRouterPorts{"router port", schema::kind(Kind::kRouterInterface).api.batch.data()};

}  // namespace

std::string router_key(const std::string& id) {
  return key_of(Kind::kRouter, id);
}
std::string router_port_key(const std::string& id) {
  return key_of(Kind::kRouterInterface, id);
}

void ViperFlow::create_routers(Json specs, Done done) {
  auto checked = checked_specs(specs, kRouters);
  if (!checked.ok()) return done(checked.error());
  std::vector<std::string> keys{kRouterSet};
  for (auto& spec : specs) {
    auto id = id_param(spec, "id", false);
    if (!id.ok()) return done(id.error());
    spec["id"] = *id;
    if (!spec.contains("routes")) spec["routes"] = Json::array();
    if (Status s = check_routes(spec["routes"], "routes"); !s.ok()) return done(s);
    if (spec.contains("interfaces")) return done(bad("interfaces are added with addrouterinterface"));
    keys.push_back(router_key(*id));
  }
  run(
      db_, keys,
      [specs](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kRouterSet);
        for (const auto& spec : specs) r.get(router_key(text(spec["id"])));
        if (r.pending) return {};
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        out = Json::array();
        for (const auto& spec : specs) {
          std::string key = router_key(text(spec["id"]));
          if (r.get(key)) return make_error(Errc::kAlreadyExists, "router " + text(spec["id"]) + " exists");
          Json value = spec;
          value["interfaces"] = Json::array();
          r.ctx.write(key, value);
          next_set = set_with(&next_set, key, true);
          out.push_back(dump(key, kRouterType, value));
        }
        write_batch(r, {}, kRouterSet, next_set);
        return {};
      },
      std::move(done));
}

void ViperFlow::update_routers(Json specs, Done done) {
  auto keys = batch_keys(specs, kRouters, {}, router_key, nullptr);
  if (!keys.ok()) return done(keys.error());
  for (auto& spec : specs)
    if (spec.contains("routes"))
      if (Status s = check_routes(spec["routes"], "routes"); !s.ok()) return done(s);
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        out = Json::array();
        for (const auto& spec : specs) {
          std::string key = router_key(text(spec["id"]));
          const Json* router = r.get(key);
          if (r.pending) return {};
          if (!router) return make_error(Errc::kNotFound, "no router " + text(spec["id"]));
          if (spec.contains("interfaces")) return bad("interfaces change with add/removerouterinterface");
          Json value = *router;
          for (const auto& [k, v] : spec.items()) value[k] = v;  // routes are replaced whole
          r.ctx.write(key, value);
          out.push_back(dump(key, kRouterType, value));
        }
        return {};
      },
      std::move(done));
}

void ViperFlow::delete_routers(Json specs, Done done) {
  auto keys = batch_keys(specs, kRouters, {kRouterSet}, router_key, nullptr);
  if (!keys.ok()) return done(keys.error());
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kRouterSet);
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        for (const auto& spec : specs) {
          std::string key = router_key(text(spec["id"]));
          const Json* router = r.get(key);
          if (r.pending) return {};
          if (!router) return make_error(Errc::kNotFound, "no router " + text(spec["id"]));
          if (!router->value("interfaces", Json::array()).empty())
            return make_error(Errc::kConflict, "router " + text(spec["id"]) + " still has interfaces");
          r.ctx.write(key, std::nullopt);
          next_set = set_with(&next_set, key, false);
        }
        write_batch(r, {}, kRouterSet, next_set);
        out = Json{{"status", "OK"}};
        return {};
      },
      std::move(done));
}

void ViperFlow::list_routers(Json filters, Done done) {
  list_set(Kind::kRouter, std::move(filters), std::move(done));
}

void ViperFlow::add_router_interfaces(Json specs, Done done) {
  for (const BatchOf& of : {kInterfaces, kRouterPorts})
    if (auto checked = checked_specs(specs, of); !checked.ok()) return done(checked.error());
  std::vector<std::string> keys;
  for (auto& spec : specs) {
    auto router = id_param(spec, "router", true);
    auto subnet = id_param(spec, "subnet", true);
    auto id = id_param(spec, "id", false);
    if (!router.ok() || !subnet.ok() || !id.ok())
      return done(!router.ok() ? router.error() : !subnet.ok() ? subnet.error() : id.error());
    spec["id"] = *id;
    keys.insert(keys.end(),
                {router_key(*router), subnet_key(*subnet), subnet_map_key(*subnet), router_port_key(*id)});
  }
  run(
      db_, keys,
      [specs](Reader& r, Json& out) -> Status {
        for (const auto& spec : specs) {
          r.get(router_key(text(spec["router"])));
          r.get(subnet_key(text(spec["subnet"])));
          r.get(subnet_map_key(text(spec["subnet"])));
          r.get(router_port_key(text(spec["id"])));
        }
        if (r.pending) return {};
        std::map<std::string, Json> objects;  // routers, subnets and subnet maps as the batch changes them
        auto obj = [&](const std::string& k) -> Json& {
          if (!objects.count(k)) objects[k] = *r.get(k);
          return objects[k];
        };
        out = Json::array();
        for (const auto& spec : specs) {
          std::string rid = text(spec["router"]), sid = text(spec["subnet"]), pid = text(spec["id"]);
          std::string rkey = router_key(rid), skey = subnet_key(sid), mkey = subnet_map_key(sid);
          std::string pkey = router_port_key(pid);
          if (!r.get(rkey)) return make_error(Errc::kNotFound, "no router " + rid);
          if (!r.get(skey) || !r.get(mkey)) return make_error(Errc::kNotFound, "no subnet " + sid);
          if (r.get(pkey)) return make_error(Errc::kAlreadyExists, "router port " + pid + " exists");
          if (Status f = check_fence(r, skey, "subnet"); !f.ok() || r.pending) return f;
          Json& subnet = obj(skey);
          Json& map = obj(mkey);
          Json& router = obj(rkey);
          bool external = subnet.value("isexternal", false);
          if (map["routerports"].contains(rid))
            return make_error(Errc::kConflict, "subnet " + sid + " is already an interface of router " + rid);
          if (!external && subnet.contains("router") && !subnet["router"].is_null())
            return make_error(Errc::kConflict, "subnet " + sid + " is already in a router");
          auto cidr = parse_cidr(subnet.value("cidr", ""));
          if (!cidr.ok()) return cidr.error();
          if (Status st = check_router_overlap(r, skey, sid, *cidr, rid, router["interfaces"]);
              !st.ok() || r.pending)
            return st;
          Json port{{"id", pid}, {"router", rkey}, {"subnet", skey}};
          if (spec.contains("ip_address")) {
            if (external) return bad("an interface on external subnet " + sid + " takes no explicit address");
            auto ip = spec["ip_address"].is_string() ? parse_ip(spec["ip_address"].get<std::string>())
                                                     : std::nullopt;
            if (!ip) return bad("ip_address " + text(spec["ip_address"]) + " is not an IPv4 address");
            if (!cidr->contains(*ip))
              return bad("ip_address " + text(spec["ip_address"]) + " is outside subnet " + sid);
            if (!cidr->is_host(*ip))
              return bad("ip_address " + ip_text(*ip) + " is the network or broadcast address of subnet " +
                         sid);
            const Json* owner = r.get(address_index(skey, *ip));
            if (r.pending) return {};
            if (owner)
              return make_error(Errc::kConflict,
                                "ip_address " + text(spec["ip_address"]) + " is taken by " + text(*owner));
            port["ip_address"] = ip_text(*ip);  // the address index reserves it
          } else if (!subnet.contains("gateway") || subnet["gateway"].is_null()) {
            return bad("subnet " + sid + " has no gateway: give the interface an ip_address");
          }
          if (!external) subnet["router"] = pkey;
          map["routers"].push_back(rkey);
          map["routerports"][rid] = pkey;
          router["interfaces"].push_back(pkey);
          r.ctx.write(pkey, port);
          out.push_back(dump(pkey, kRouterPortType, port));
        }
        for (const auto& [k, v] : objects) r.ctx.write(k, v);
        return {};
      },
      std::move(done));
}

void ViperFlow::remove_router_interfaces(Json specs, Done done) {
  auto checked = checked_specs(specs, kInterfaces);
  if (!checked.ok()) return done(checked.error());
  std::vector<std::string> keys;
  for (const auto& spec : specs) {
    auto router = id_param(spec, "router", true);
    auto subnet = id_param(spec, "subnet", true);
    if (!router.ok() || !subnet.ok()) return done(!router.ok() ? router.error() : subnet.error());
    keys.insert(keys.end(), {router_key(*router), subnet_key(*subnet), subnet_map_key(*subnet)});
  }
  run(
      db_, keys,
      [specs](Reader& r, Json& out) -> Status {
        std::map<std::string, Json> objects;
        auto obj = [&](const std::string& k) -> Json& {
          if (!objects.count(k)) objects[k] = *r.get(k);
          return objects[k];
        };
        for (const auto& spec : specs) {
          std::string rid = text(spec["router"]), sid = text(spec["subnet"]);
          std::string rkey = router_key(rid), skey = subnet_key(sid), mkey = subnet_map_key(sid);
          const Json* router = r.get(rkey);
          const Json* subnet = r.get(skey);
          const Json* map = r.get(mkey);
          if (r.pending) return {};
          if (!router) return make_error(Errc::kNotFound, "no router " + rid);
          if (!subnet || !map) return make_error(Errc::kNotFound, "no subnet " + sid);
          Json& m = obj(mkey);
          if (!m["routerports"].contains(rid))
            return make_error(Errc::kNotFound, "subnet " + sid + " is not an interface of router " + rid);
          std::string pkey = text(m["routerports"][rid]);
          m["routerports"].erase(rid);
          m["routers"] = list_without(m["routers"], rkey);
          Json& s = obj(skey);
          if (s.contains("router") && s["router"] == Json(pkey)) s.erase("router");
          Json& rt = obj(rkey);
          rt["interfaces"] = list_without(rt["interfaces"], pkey);
          r.ctx.write(pkey, std::nullopt);
        }
        for (const auto& [k, v] : objects) r.ctx.write(k, v);
        out = Json{{"status", "OK"}};  // VLCP's single form answered null here
        return {};
      },
      std::move(done));
}

void ViperFlow::list_router_interfaces(Json filters, Done done) {
  auto id = id_param(filters, "id", true);
  if (!id.ok()) return done(id.error());
  std::string rkey = router_key(*id);
  filters.erase("id");
  auto result = std::make_shared<Json>();
  db_.walk(
      {rkey},
      [rkey, filters, result](db::WalkContext& ctx) {
        db::Lookup router = ctx.get(rkey);
        if (!router.fetched) return;
        *result = Json::array();
        if (!router.value()) return;
        for (const auto& p : router.value()->value("interfaces", Json::array())) {
          db::Lookup port = ctx.get(text(p));
          if (!port.fetched || !port.value()) continue;
          Json d = dump(text(p), kRouterPortType, *port.value());
          if (matches(d, filters, {})) result->push_back(std::move(d));
        }
      },
      [done = std::move(done), result](Result<db::WalkResult> r) {
        if (!r.ok()) return done(r.error());
        done(*result);
      });
}

}  // namespace vlcp::model
