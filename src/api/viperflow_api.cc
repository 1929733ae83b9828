#include "api/viperflow_api.h"

#include "model/viperflow.h"

namespace vlcp::api {

using nlohmann::json;

void add_viperflow(WebApi& api, std::function<std::shared_ptr<db::ObjectDb>()> db) {
  using Call = void (model::ViperFlow::*)(json, model::Done);
  // One ViperFlow per database: it carries this node's address hints.
  struct Flows {
    std::weak_ptr<db::ObjectDb> db;
    std::shared_ptr<model::ViperFlow> flow;
  };
  auto flows = std::make_shared<Flows>();
  auto flow = [flows](const std::shared_ptr<db::ObjectDb>& d) {
    if (flows->db.lock() != d) *flows = Flows{d, std::make_shared<model::ViperFlow>(*d)};
    return flows->flow;
  };
  // X(object, plural parameter, create, update, delete, list)
  struct Kind {
    const char* singular;
    const char* plural;
    const char* batch;  // the batch form's parameter
    Call create, update, remove, list;
  };
  const Kind kinds[] = {
      {"physicalnetwork", "physicalnetworks", "networks", &model::ViperFlow::create_physical_networks,
       &model::ViperFlow::update_physical_networks, &model::ViperFlow::delete_physical_networks,
       &model::ViperFlow::list_physical_networks},
      {"logicalnetwork", "logicalnetworks", "networks", &model::ViperFlow::create_logical_networks,
       &model::ViperFlow::update_logical_networks, &model::ViperFlow::delete_logical_networks,
       &model::ViperFlow::list_logical_networks},
      {"physicalport", "physicalports", "ports", &model::ViperFlow::create_physical_ports,
       &model::ViperFlow::update_physical_ports, &model::ViperFlow::delete_physical_ports,
       &model::ViperFlow::list_physical_ports},
      {"subnet", "subnets", "subnets", &model::ViperFlow::create_subnets, &model::ViperFlow::update_subnets,
       &model::ViperFlow::delete_subnets, &model::ViperFlow::list_subnets},
      {"logicalport", "logicalports", "ports", &model::ViperFlow::create_logical_ports,
       &model::ViperFlow::update_logical_ports, &model::ViperFlow::delete_logical_ports,
       &model::ViperFlow::list_logical_ports},
  };
  for (const Kind& k : kinds) {
    auto bind = [db, flow, field = std::string(k.batch)](Call fn, bool batch) {
      return [db, flow, fn, batch, field](const json& params, ApiDone done) {
        auto d = db();
        if (!d) return done(make_error(Errc::kUnavailable, "module objectdb is not loaded"));
        json arg;
        if (batch) {
          if (!params.contains(field))
            return done(make_error(Errc::kInvalidArgument, "missing parameter " + field + "=[{...}, ...]"));
          arg = params[field];
        } else {
          arg = json::array({params});
        }
        ((*flow(d)).*fn)(arg, std::move(done));
      };
    };
    std::string s = k.singular, p = k.plural;
    api.add("viperflow", "create" + s, "create one " + s + " (returns a list of one)", bind(k.create, false));
    api.add("viperflow", "create" + p, "create several in one transaction: networks=[{...}]",
            bind(k.create, true));
    if (k.update) {
      api.add("viperflow", "update" + s, "update one " + s + " by id", bind(k.update, false));
      api.add("viperflow", "update" + p, "update several in one transaction", bind(k.update, true));
    }
    api.add("viperflow", "delete" + s, "delete one " + s + " by id", bind(k.remove, false));
    api.add("viperflow", "delete" + p, "delete several in one transaction", bind(k.remove, true));
    api.add("viperflow", "list" + p, "list, filtered by any attribute (id=, ...)",
            [db, flow, fn = k.list](const json& params, ApiDone done) {
              auto d = db();
              if (!d) return done(make_error(Errc::kUnavailable, "module objectdb is not loaded"));
              ((*flow(d)).*fn)(params, std::move(done));
            });
  }
  // vrouterapi: routers, and their interfaces on subnets.
  auto call = [db, flow](Call fn, const char* batch_field) {
    return [db, flow, fn, field = std::string(batch_field ? batch_field : "")](const json& params,
                                                                               ApiDone done) {
      auto d = db();
      if (!d) return done(make_error(Errc::kUnavailable, "module objectdb is not loaded"));
      json arg = params;
      if (!field.empty()) {
        if (!params.contains(field))
          return done(make_error(Errc::kInvalidArgument, "missing parameter " + field + "=[{...}, ...]"));
        arg = params[field];
      }
      ((*flow(d)).*fn)(arg, std::move(done));
    };
  };
  auto single = [call](Call fn) {
    return [inner = call(fn, nullptr)](const json& params, ApiDone done) {
      inner(json::array({params}), std::move(done));
    };
  };
  using V = model::ViperFlow;
  api.add("vrouterapi", "createvirtualrouter", "create a router: id?, routes=[[prefix, nexthop]]",
          single(&V::create_routers));
  api.add("vrouterapi", "createvirtualrouters", "routers=[{...}] in one transaction",
          call(&V::create_routers, "routers"));
  api.add("vrouterapi", "updatevirtualrouter", "id, attributes (routes replaced)",
          single(&V::update_routers));
  api.add("vrouterapi", "updatevirtualrouters", "routers=[{...}]", call(&V::update_routers, "routers"));
  api.add("vrouterapi", "deletevirtualrouter", "id (refused while it has interfaces)",
          single(&V::delete_routers));
  api.add("vrouterapi", "deletevirtualrouters", "routers=[{id}]", call(&V::delete_routers, "routers"));
  api.add("vrouterapi", "listvirtualrouters", "id?, filters", call(&V::list_routers, nullptr));
  api.add("vrouterapi", "addrouterinterface", "router, subnet, id?, ip_address? (default: the gateway)",
          single(&V::add_router_interfaces));
  api.add("vrouterapi", "addrouterinterfaces", "interfaces=[{router, subnet, ...}]",
          call(&V::add_router_interfaces, "interfaces"));
  api.add("vrouterapi", "removerouterinterface", "router, subnet", single(&V::remove_router_interfaces));
  api.add("vrouterapi", "removerouterinterfaces", "interfaces=[{router, subnet}]",
          call(&V::remove_router_interfaces, "interfaces"));
  api.add("vrouterapi", "listrouterinterfaces", "id (the router), filters",
          call(&V::list_router_interfaces, nullptr));
}

}  // namespace vlcp::api
