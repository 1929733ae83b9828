#include "api/manager_api.h"

namespace vlcp::api {

namespace {

using Json = nlohmann::json;

Json modules_json(const io::ModuleManager& m) {
  Json a = Json::array();
  for (auto& info : m.modules()) {
    Json j = {{"name", info.name},
              {"dependencies", info.dependencies},
              {"state", std::string(io::module_state_name(info.state))}};
    if (!info.error.empty()) j["error"] = info.error;
    a.push_back(j);
  }
  return a;
}

// A module named as VLCP's manager names them (a class path) or by its name: its name.
std::string module_name(const io::ModuleManager& m, std::string path) {
  if (path.rfind("vlcpd.", 0) == 0) path = path.substr(6);
  for (const auto& info : m.modules())
    if (info.name == path) return path;
  return "";
}

}  // namespace

void add_manager(WebApi& api, io::ModuleManager& modules, std::string protected_module) {
  io::ModuleManager* m = &modules;
  auto named = [m, protected_module](const Json& params) -> Result<std::string> {
    auto it = params.find("path");
    if (it == params.end()) it = params.find("module");
    if (it == params.end() || !it->is_string())
      return make_error(Errc::kInvalidArgument, "missing parameter path=MODULE");
    std::string name = module_name(*m, it->get<std::string>());
    if (name.empty())
      return make_error(Errc::kNotFound, "no module " + it->get<std::string>() + " (see manager/modules)");
    if (name == protected_module)
      return make_error(Errc::kConflict, "the WebAPI cannot unload or load itself");
    return name;
  };
  api.add("manager", "activemodules", "the running modules: name -> module path",
          [m](const Json&, ApiDone done) {
            Json out = Json::object();
            for (const auto& info : m->modules())
              if (info.state == io::ModuleState::kRunning) out[info.name] = "vlcpd." + info.name;
            done(out);
          });
  api.add("manager", "modules", "every module: name, dependencies, state (and error)",
          [m](const Json&, ApiDone done) { done(modules_json(*m)); });
  api.add("manager", "unloadmodule", "path=MODULE: stops it and the modules that depend on it",
          [m, named](const Json& params, ApiDone done) {
            auto name = named(params);
            if (!name.ok()) return done(name.error());
            auto stopped = m->unload(*name);
            if (!stopped.ok()) {
              if (stopped.error().code() == Errc::kNotFound) return done(stopped.error());
              return done(make_error(Errc::kConflict, stopped.error().message()));
            }
            done(Json{{"unloaded", *stopped}, {"modules", modules_json(*m)}});
          });
  api.add("manager", "loadmodule", "path=MODULE: starts it (with what it depends on)",
          [m, named](const Json& params, ApiDone done) {
            auto name = named(params);
            if (!name.ok()) return done(name.error());
            if (Status st = m->load(*name); !st.ok()) return done(st);
            done(Json{{"loaded", *name}, {"modules", modules_json(*m)}});
          });
}

}  // namespace vlcp::api
