#include "api/viperflow_api.h"

#include "model/viperflow.h"
#include "schema/kinds.h"

namespace vlcp::api {

using nlohmann::json;

namespace {

// A method's help in discover, from the kind's declaration.
std::string help(const schema::KindInfo& k, std::string_view verb, bool batch) {
  std::string what(k.display), by(k.id_field), out;
  if (batch) return std::string(k.api.batch) + "=[{...}]: several in one transaction";
  if (verb == k.api.create) {
    out = std::string(verb) + " one " + what;
    if (!k.api.params.empty()) out += ": " + std::string(k.api.params);
    return out + " (returns a list of one)";
  }
  if (verb == k.api.list) {
    if (!k.cli.noun.empty()) return "list, filtered by any attribute (" + by + "=, ...)";
    return "id (the " + std::string(schema::kind(*k.parent).display) + "), filters";
  }
  if (k.cli.noun.empty())
    return std::string(verb) + " one " + what + ": " + std::string(k.parent_param) + ", ...";
  return std::string(verb) + " one " + what + " by " + by;
}

}  // namespace

// Every kind the declaration puts in the WebAPI gets <verb><singular> (one spec) and
// <verb><plural> (its batch parameter) for create, update and delete, and list<plural>.
void add_viperflow(WebApi& api, std::function<std::shared_ptr<db::ObjectDb>()> db) {
  using Call = model::ViperFlow::Call;
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
  // How a method passes its parameters: one spec as a list of one, the batch parameter's list,
  // or the parameters as they are (list filters).
  enum class Pass { kOne, kBatch, kAsIs };
  auto bind = [db, flow](Call fn, Pass pass, std::string field) {
    return [db, flow, fn, pass, field](const json& params, ApiDone done) {
      auto d = db();
      if (!d) return done(make_error(Errc::kUnavailable, "module objectdb is not loaded"));
      json arg = params;
      if (pass == Pass::kOne) {
        arg = json::array({params});
      } else if (pass == Pass::kBatch) {
        if (!params.contains(field))
          return done(make_error(Errc::kInvalidArgument, "missing parameter " + field + "=[{...}, ...]"));
        arg = params[field];
      }
      ((*flow(d)).*fn)(arg, std::move(done));
    };
  };
  for (const schema::KindInfo& k : schema::kKinds) {
    if (!k.in_api()) continue;
    model::ViperFlow::Calls calls = model::ViperFlow::calls(k.kind);
    std::string module(k.api.module), s(k.api.singular), p(k.api.plural), batch(k.api.batch);
    for (auto [verb, fn] : {std::pair{k.api.create, calls.create}, std::pair{k.api.update, calls.update},
                            std::pair{k.api.remove, calls.remove}}) {
      if (verb.empty() || !fn) continue;
      api.add(module, std::string(verb) + s, help(k, verb, false), bind(fn, Pass::kOne, batch));
      api.add(module, std::string(verb) + p, help(k, verb, true), bind(fn, Pass::kBatch, batch));
    }
    if (!k.api.list.empty() && calls.list)
      api.add(module, std::string(k.api.list) + p, help(k, k.api.list, false),
              bind(calls.list, Pass::kAsIs, ""));
  }
}

}  // namespace vlcp::api
