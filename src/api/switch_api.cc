#include "api/switch_api.h"

namespace vlcp::api {

using Json = nlohmann::json;

void add_ovsdbmanager(WebApi& api, std::function<const ovsdb::OvsdbClient*()> client) {
  auto replica = [client](std::function<Json(const ovsdb::Replica&)> fn) {
    return [client, fn](const Json&, ApiDone done) {
      const ovsdb::OvsdbClient* c = client();
      if (!c) return done(make_error(Errc::kUnavailable, "module ovsdbmanager is not loaded"));
      if (!c->connected()) return done(make_error(Errc::kUnavailable, "OVSDB is not connected"));
      done(fn(c->replica()));
    };
  };
  api.add("ovsdbmanager", "getsystemids", "the system-id of the Open vSwitch this node manages",
          replica([](const ovsdb::Replica& rep) { return Json::array({rep.system_id}); }));
  api.add("ovsdbmanager", "getallbridges", "the bridges: name, datapath id, datapath type",
          replica([](const ovsdb::Replica& rep) {
            Json out = Json::array();
            for (const auto& [name, b] : rep.bridges)
              out.push_back({{"name", name},
                             {"datapath_id", b.datapath_id ? Json(*b.datapath_id) : Json()},
                             {"datapath_type", b.datapath_type}});
            return out;
          }));
}

void add_openflowmanager(WebApi& api, Json tables) {
  api.add("openflowmanager", "lastacquiredtables",
          "vhost?: the flow tables, [[[name, id], ...], {path: [[name, id], ...]}]",
          [tables = std::move(tables)](const Json& params, ApiDone done) {
            std::string vhost = params.contains("vhost") && params["vhost"].is_string()
                                    ? params["vhost"].get<std::string>()
                                    : "";
            if (!vhost.empty())
              return done(make_error(Errc::kNotFound, "no vhost '" + vhost + "' (only '')"));
            done(tables);
          });
}

void add_ioprocessing(WebApi& api, std::function<std::optional<Json>()> status) {
  api.add("ioprocessing", "status",
          "the L2 apps on each switch: bound ports, networks, installed flows, reconcile figures",
          [status](const Json&, ApiDone done) {
            auto s = status();
            if (!s) return done(make_error(Errc::kUnavailable, "module ioprocessing is not loaded"));
            done(std::move(*s));
          });
}

}  // namespace vlcp::api
