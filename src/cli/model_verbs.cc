#include "cli/model_verbs.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/api_client.h"
#include "schema/kinds.h"

namespace vlcp::cli {
namespace {

using nlohmann::json;

// The model's objects come from their declaration (schema/kinds.h): a noun per kind, its API
// names and columns; a kind without a noun of its own (a router's interfaces) adds its actions
// to its parent's noun.
using schema::KindInfo;

// Short flags for common parameters.
const std::map<std::string, std::string> kAliases = {{"mac", "mac_address"}, {"ip", "ip_address"}};
const char* const kOtherVerbs[] = {"call", "methods", "module", "ovsdb", "tables"};
const char* const kOtherModules[] = {"manager", "ovsdbmanager", "openflowmanager", "objectdb"};

const KindInfo* kind_of(const std::string& word) {
  for (const auto& k : schema::kKinds)
    if (!k.cli.noun.empty() && word == k.cli.noun) return &k;
  return nullptr;
}

// The kinds a noun's actions reach: its own, then those without a noun of their own under it.
std::vector<const KindInfo*> reached_by(const KindInfo& noun) {
  std::vector<const KindInfo*> out{&noun};
  for (const auto& k : schema::kKinds)
    if (k.in_api() && k.cli.noun.empty() && k.parent == noun.kind) out.push_back(&k);
  return out;
}

// A noun's actions, each with the API verb it calls and on which kind.
struct Action {
  std::string word;
  const KindInfo* kind;
  std::string_view verb;  // the API verb: create, update, delete, list, add, remove
  bool batch;
};
std::vector<Action> actions_of(const KindInfo& noun) {
  std::vector<Action> out;
  for (const KindInfo* k : reached_by(noun)) {
    std::pair<std::string_view, std::string_view> verbs[] = {{k->cli.create, k->api.create},
                                                             {k->cli.update, k->api.update},
                                                             {k->cli.remove, k->api.remove},
                                                             {k->cli.list, k->api.list}};
    for (auto [word, verb] : verbs)
      if (!word.empty() && !verb.empty()) out.push_back({std::string(word), k, verb, false});
    if (k == &noun)  // the batch forms: a JSON list, one transaction
      for (auto [word, verb] : verbs)
        if (!word.empty() && !verb.empty() && verb != k->api.list)
          out.push_back({std::string(word) + "-batch", k, verb, true});
  }
  return out;
}

// The WebAPI method an action calls: <verb><plural> for batches and lists, else <verb><singular>.
std::string method_of(const Action& a) {
  bool plural = a.batch || a.verb == a.kind->api.list;
  return std::string(a.verb) + std::string(plural ? a.kind->api.plural : a.kind->api.singular);
}

// The WebAPI modules: the model's (from its kinds), then the others.
std::vector<std::string> modules() {
  std::vector<std::string> out;
  for (const auto& k : schema::kKinds)
    if (k.in_api() && std::find(out.begin(), out.end(), k.api.module) == out.end())
      out.emplace_back(k.api.module);
  out.insert(out.end(), std::begin(kOtherModules), std::end(kOtherModules));
  return out;
}

std::vector<std::string> columns_of(const KindInfo& k) {
  std::vector<std::string> out;
  std::string_view c = k.cli.columns;
  while (!c.empty()) {
    size_t sp = c.find(' ');
    out.emplace_back(c.substr(0, sp));
    c = sp == std::string_view::npos ? std::string_view() : c.substr(sp + 1);
  }
  return out;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "vlcpctl: %s\n", message.c_str());
  return kExitUsage;
}

// A parameter's value: JSON for lists, objects and true/false/null; text otherwise (vlcpd
// reads numbers from text).
json value_of(const std::string& v) {
  if (!v.empty() && (v[0] == '[' || v[0] == '{' || v == "true" || v == "false" || v == "null")) {
    json j = json::parse(v, nullptr, false);
    if (!j.is_discarded()) return j;
  }
  return v;
}

// --name value, --name=value and name=value parameters; other words are positional.
Result<json> parse_params(const std::vector<std::string>& args, const KindInfo* kind,
                          std::vector<std::string>& positional) {
  json params = json::object();
  auto put = [&](std::string name, const std::string& value) {
    for (auto& c : name)
      if (c == '-') c = '_';
    if (name == "network" && kind && !kind->cli.network.empty()) name = kind->cli.network;
    if (auto a = kAliases.find(name); a != kAliases.end()) name = a->second;
    params[name] = value_of(value);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) == 0) {
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        put(a.substr(2, eq - 2), a.substr(eq + 1));
      } else {
        if (i + 1 == args.size()) return make_error(Errc::kInvalidArgument, a + " needs a value");
        put(a.substr(2), args[++i]);
      }
    } else if (auto eq = a.find('='); eq != std::string::npos && eq > 0) {
      put(a.substr(0, eq), a.substr(eq + 1));
    } else {
      positional.push_back(a);
    }
  }
  return params;
}

// A cell: references by their id (the last part of a key), lists and objects compact.
std::string cell(const json& v) {
  auto short_ref = [](const std::string& s) {
    if (s.rfind(schema::kNamespace, 0) != 0) return s;
    return s.substr(s.rfind('.') + 1);
  };
  if (v.is_null()) return "-";
  if (v.is_string()) return short_ref(v.get<std::string>());
  if (v.is_object() && v.contains("_key")) return v.contains("id") ? cell(v["id"]) : short_ref(v["_key"]);
  if (v.is_array() && !v.empty() && v[0].is_string()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ",") + cell(e);
    return out;
  }
  return v.dump();
}

void print_table(const json& rows, const std::vector<std::string>& columns) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width;
  for (const std::string& c : columns) {
    std::string h = c;
    for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    width.push_back(h.size());
    if (cells.empty()) cells.emplace_back();
    cells[0].push_back(h);
  }
  for (const auto& r : rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < columns.size(); ++i) {
      line.push_back(r.contains(columns[i]) ? cell(r[columns[i]]) : "-");
      width[i] = std::max(width[i], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  for (const auto& line : cells) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i)
      out += line[i] + (i + 1 < line.size() ? std::string(width[i] - line[i].size() + 2, ' ') : "");
    std::printf("%s\n", out.c_str());
  }
}

// Calls MODULE/METHOD with the parameters as a JSON body and prints the result.
int run(const CliContext& c, const std::string& module, const std::string& method, const json& params,
        const std::vector<std::string>& columns = {}) {
  Outcome o = call_result(c.at, "POST", "/" + module + "/" + method, params.dump());
  if (!o.ok()) return o.exit_code;
  const json& r = o.result;
  if (c.as_json || columns.empty()) {
    if (r.is_string())
      std::printf("%s\n", r.get<std::string>().c_str());
    else
      std::printf("%s\n", r.dump(2).c_str());
  } else if (r.is_object() && r.value("status", "") == "OK") {
    std::printf("OK\n");
  } else {
    print_table(r.is_array() ? r : json::array({r}), columns);
  }
  return 0;
}

Result<json> read_json_file(const std::string& path) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return make_error(Errc::kNotFound, "cannot read " + path);
    text << in.rdbuf();
  }
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_array())
    return make_error(Errc::kInvalidArgument, path + " is not a JSON list of objects");
  return j;
}

int object_verb(const CliContext& c, const KindInfo& k, const std::string& action,
                const std::vector<std::string>& rest) {
  std::vector<std::string> pos;
  auto params = parse_params(rest, &k, pos);
  if (!params.ok()) return usage_error(params.error().message());
  std::string object(k.cli.noun);
  std::vector<Action> actions = actions_of(k);
  auto a = std::find_if(actions.begin(), actions.end(), [&](const Action& x) { return x.word == action; });
  if (a == actions.end())
    return usage_error("unknown action '" + action + "' for " + object + " (see vlcpctl --help)");
  const KindInfo& of = *a->kind;
  std::string module(of.api.module), verb(a->verb), method = method_of(*a);
  if (a->batch) {
    if (pos.size() != 1) return usage_error(object + " " + action + " FILE|- (a JSON list of objects)");
    auto list = read_json_file(pos[0]);
    if (!list.ok()) {
      std::fprintf(stderr, "vlcpctl: %s\n", list.error().message().c_str());
      return kExitRefused;
    }
    return run(c, module, method, json{{std::string(of.api.batch), *list}}, columns_of(of));
  }
  // One positional word is the id (routers' interfaces: the router).
  if (pos.size() > 1) return usage_error("unexpected '" + pos[1] + "'");
  std::string id_field(k.id_field);  // (physical ports are named)
  if (pos.size() == 1 && &of != &k && verb != of.api.list && !of.parent_param.empty())
    (*params)[std::string(of.parent_param)] = pos[0];  // router add-interface R1 --subnet S
  else if (pos.size() == 1)
    (*params)[id_field] = pos[0];
  // Updates and deletes name their object; a list of what belongs to it names the parent.
  bool needs_id =
      (&of == &k && (verb == of.api.update || verb == of.api.remove)) || (&of != &k && verb == of.api.list);
  if (needs_id && !params->contains(id_field))
    return usage_error(object + " " + action + " needs the " + id_field);
  return run(c, module, method, *params, columns_of(of));
}

}  // namespace

std::vector<std::string> api_modules() {
  return modules();
}

std::vector<ObjectAction> object_actions() {
  std::vector<ObjectAction> out;
  for (const auto& k : schema::kKinds) {
    if (k.cli.noun.empty()) continue;
    for (const auto& a : actions_of(k)) {
      out.push_back({std::string(k.cli.noun), a.word, std::string(a.kind->display),
                     std::string(a.kind->api.module), method_of(a), a.batch});
    }
  }
  return out;
}

bool is_model_verb(const std::string& word) {
  if (kind_of(word)) return true;
  for (const char* v : kOtherVerbs)
    if (word == v) return true;
  return false;
}

int model_verb(const std::vector<std::string>& all) {
  // (the verb's first word comes first; global options may follow anywhere)
  auto cli = parse_cli(all);
  if (!cli.ok()) return usage_error(cli.error().message());
  const auto& args = cli->args;
  if (args.empty()) return usage_error("a verb is missing");
  const std::string& verb = args[0];
  if (const KindInfo* k = kind_of(verb)) {
    if (args.size() < 2) return usage_error(verb + " ACTION ... (see vlcpctl --help)");
    return object_verb(*cli, *k, args[1], {args.begin() + 2, args.end()});
  }
  std::vector<std::string> pos;
  auto params = parse_params({args.begin() + 1, args.end()}, nullptr, pos);
  if (!params.ok()) return usage_error(params.error().message());
  if (verb == "call") {
    if (pos.size() != 2) return usage_error("call MODULE METHOD [PARAM=VALUE ...]");
    CliContext c = *cli;
    c.as_json = true;
    return run(c, pos[0], pos[1], *params);
  }
  if (verb == "methods") {
    if (pos.size() > 1) return usage_error("methods [MODULE]");
    std::vector<std::string> names = pos;
    if (names.empty()) {
      names = modules();
      names.pop_back();  // objectdb: its own paths
    }
    for (const auto& m : names) {
      Outcome o = call_result(cli->at, "GET", "/" + m + "/discover");
      if (!o.ok()) return o.exit_code;
      if (cli->as_json) {
        std::printf("%s\n", json{{m, o.result}}.dump(2).c_str());
        continue;
      }
      for (const auto& [name, help] : o.result.items())
        std::printf("%-32s %s\n", (m + "/" + name).c_str(),
                    help.is_string() ? help.get<std::string>().c_str() : help.dump().c_str());
    }
    return 0;
  }
  if (verb == "module") {
    if (pos.empty()) return usage_error("module list|active|load NAME|unload NAME");
    if (pos[0] == "list" && pos.size() == 1)
      return run(*cli, "manager", "modules", *params, {"name", "state", "dependencies", "error"});
    if (pos[0] == "active" && pos.size() == 1) return run(*cli, "manager", "activemodules", *params);
    if ((pos[0] == "load" || pos[0] == "unload") && pos.size() == 2) {
      Outcome o =
          call_result(cli->at, "POST", "/manager/" + pos[0] + "module", json{{"path", pos[1]}}.dump());
      if (!o.ok()) return o.exit_code;
      if (cli->as_json) return std::printf("%s\n", o.result.dump(2).c_str()), 0;
      if (pos[0] == "unload") std::printf("stopped: %s\n", cell(o.result["unloaded"]).c_str());
      print_table(o.result["modules"], {"name", "state", "dependencies", "error"});
      return 0;
    }
    return usage_error("module list|active|load NAME|unload NAME");
  }
  if (verb == "tables") {  // the pipeline's flow tables by number, name and path
    if (!pos.empty()) return usage_error("tables");
    Outcome o = call_result(cli->at, "GET", "/openflowmanager/lastacquiredtables");
    if (!o.ok()) return o.exit_code;
    if (cli->as_json) return std::printf("%s\n", o.result.dump(2).c_str()), 0;
    json rows = json::array();
    for (const auto& [path, tables] : o.result[1].items())
      for (const auto& t : tables)
        rows.push_back({{"id", t[1]}, {"name", t[0]}, {"path", path.empty() ? "(main)" : path}});
    std::sort(rows.begin(), rows.end(), [](const json& a, const json& b) { return a["id"] < b["id"]; });
    print_table(rows, {"id", "name", "path"});
    return 0;
  }
  if (verb == "ovsdb") {
    if (pos.size() == 1 && pos[0] == "systemids") return run(*cli, "ovsdbmanager", "getsystemids", *params);
    if (pos.size() == 1 && pos[0] == "bridges")
      return run(*cli, "ovsdbmanager", "getallbridges", *params, {"name", "datapath_id", "datapath_type"});
    return usage_error("ovsdb systemids|bridges");
  }
  return usage_error("unknown verb '" + verb + "'");
}

}  // namespace vlcp::cli
