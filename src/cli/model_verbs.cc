#include "cli/model_verbs.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/api_client.h"

namespace vlcp::cli {
namespace {

using nlohmann::json;

// The model's objects, declared once: the API names, the batch parameter, what --network
// names for them, and the columns a table shows.
struct ObjectKind {
  const char* object;  // the CLI word
  const char* module;
  const char* singular;  // create<singular>, update<singular>, delete<singular>
  const char* plural;    // list<plural>, and the batch forms
  const char* batch;     // the batch forms' parameter
  const char* network;   // the parameter --network stands for (if any)
  std::vector<const char*> columns;
};
const ObjectKind kKinds[] = {
    {"physicalnetwork",
     "viperflow",
     "physicalnetwork",
     "physicalnetworks",
     "networks",
     nullptr,
     {"id", "type", "vlanrange", "vnirange"}},
    {"logicalnetwork",
     "viperflow",
     "logicalnetwork",
     "logicalnetworks",
     "networks",
     "physicalnetwork",
     {"id", "physicalnetwork", "vlanid", "vni", "mtu"}},
    {"physicalport",
     "viperflow",
     "physicalport",
     "physicalports",
     "ports",
     "physicalnetwork",
     {"name", "physicalnetwork", "vhost", "systemid", "bridge"}},
    {"subnet",
     "viperflow",
     "subnet",
     "subnets",
     "subnets",
     "logicalnetwork",
     {"id", "network", "cidr", "gateway", "allocated_start", "allocated_end"}},
    {"logicalport",
     "viperflow",
     "logicalport",
     "logicalports",
     "ports",
     "logicalnetwork",
     {"id", "network", "subnet", "mac_address", "ip_address"}},
    {"router",
     "vrouterapi",
     "virtualrouter",
     "virtualrouters",
     "routers",
     nullptr,
     {"id", "routes", "interfaces"}},
};
// Short flags for common parameters.
const std::map<std::string, std::string> kAliases = {{"mac", "mac_address"}, {"ip", "ip_address"}};
const char* const kActions[] = {"create",       "update",       "delete",      "list",
                                "create-batch", "update-batch", "delete-batch"};
const char* const kRouterActions[] = {"add-interface", "remove-interface", "interfaces"};
const char* const kOtherVerbs[] = {"call", "methods", "module", "ovsdb", "tables", "completion"};
const char* const kModules[] = {"viperflow",    "vrouterapi",      "manager",
                                "ovsdbmanager", "openflowmanager", "objectdb"};

const ObjectKind* kind_of(const std::string& word) {
  for (const auto& k : kKinds)
    if (word == k.object) return &k;
  return nullptr;
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
Result<json> parse_params(const std::vector<std::string>& args, const ObjectKind* kind,
                          std::vector<std::string>& positional) {
  json params = json::object();
  auto put = [&](std::string name, const std::string& value) {
    for (auto& c : name)
      if (c == '-') c = '_';
    if (name == "network" && kind && kind->network) name = kind->network;
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
    if (s.rfind("viperflow.", 0) != 0) return s;
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

void print_table(const json& rows, const std::vector<const char*>& columns) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width;
  for (const char* c : columns) {
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
        const std::vector<const char*>& columns = {}) {
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

int object_verb(const CliContext& c, const ObjectKind& k, const std::string& action,
                const std::vector<std::string>& rest) {
  std::vector<std::string> pos;
  auto params = parse_params(rest, &k, pos);
  if (!params.ok()) return usage_error(params.error().message());
  std::string object = k.object;
  if (action.size() > 6 && action.compare(action.size() - 6, 6, "-batch") == 0) {
    if (pos.size() != 1) return usage_error(object + " " + action + " FILE|- (a JSON list of objects)");
    auto list = read_json_file(pos[0]);
    if (!list.ok()) {
      std::fprintf(stderr, "vlcpctl: %s\n", list.error().message().c_str());
      return kExitRefused;
    }
    return run(c, k.module, action.substr(0, action.size() - 6) + k.plural, json{{k.batch, *list}},
               k.columns);
  }
  // One positional word is the id (routers' interfaces: the router).
  if (pos.size() > 1) return usage_error("unexpected '" + pos[1] + "'");
  std::string id_field = object == "physicalport" ? "name" : "id";  // (physical ports are named)
  if (pos.size() == 1) (*params)[id_field] = pos[0];
  bool needs_id = action == "update" || action == "delete" || action == "interfaces";
  if (needs_id && !params->contains(id_field))
    return usage_error(object + " " + action + " needs the " + id_field);
  if (action == "create" || action == "update" || action == "delete")
    return run(c, k.module, action + k.singular, *params, k.columns);
  if (action == "list") return run(c, k.module, std::string("list") + k.plural, *params, k.columns);
  if (object == "router") {
    std::vector<const char*> iface = {"id", "router", "subnet", "ip_address"};
    if (action == "add-interface") return run(c, k.module, "addrouterinterface", *params, iface);
    if (action == "remove-interface") return run(c, k.module, "removerouterinterface", *params, iface);
    if (action == "interfaces") return run(c, k.module, "listrouterinterfaces", *params, iface);
  }
  return usage_error("unknown action '" + action + "' for " + object + " (see vlcpctl --help)");
}

std::string completion_bash() {
  std::string words, objects;
  for (const auto& k : kKinds) objects += std::string(k.object) + " ";
  words = objects;
  for (const char* v : kOtherVerbs) words += std::string(v) + " ";
  std::string out =
      "# bash completion for vlcpctl: source <(vlcpctl completion bash)\n"
      "_vlcpctl() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} first=${COMP_WORDS[1]} opts\n"
      "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
      "    COMPREPLY=($(compgen -W \"" +
      words +
      "db ofp-print dump-flows dump-ports-desc --help --version\" -- \"$cur\"))\n"
      "    return\n"
      "  fi\n"
      "  case $first in\n";
  std::string actions;
  for (const char* a : kActions) actions += std::string(a) + " ";
  for (const auto& k : kKinds) {
    std::string flags = "--json --api --token --config ";
    for (const char* col : k.columns) flags += std::string("--") + col + " ";
    if (k.network) flags += "--network ";
    std::string acts = actions;
    if (std::string(k.object) == "router")
      for (const char* a : kRouterActions) acts += std::string(a) + " ";
    out += "    " + std::string(k.object) +
           ")\n"
           "      if [ \"$COMP_CWORD\" -eq 2 ]; then opts=\"" +
           acts + "\"; else opts=\"" + flags + "\"; fi ;;\n";
  }
  std::string modules;
  for (const char* m : kModules) modules += std::string(m) + " ";
  out += "    call|methods) opts=\"" + modules +
         "\" ;;\n"
         "    module) opts=\"list active load unload\" ;;\n"
         "    ovsdb) opts=\"systemids bridges\" ;;\n"
         "    db) opts=\"get list watch dump restore\" ;;\n"
         "    completion) opts=\"bash\" ;;\n"
         "    *) opts=\"\" ;;\n"
         "  esac\n"
         "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
         "}\n"
         "complete -F _vlcpctl vlcpctl\n";
  return out;
}

}  // namespace

std::string model_usage() {
  std::string out =
      "  OBJECT ACTION [ID] [--PARAM VALUE | PARAM=VALUE ...]\n"
      "                            the network model; OBJECT is one of";
  size_t column = 64;
  for (const auto& k : kKinds) {  // wrapped at 96 columns
    std::string word = std::string(" ") + k.object + (&k == &kKinds[std::size(kKinds) - 1] ? ";" : ",");
    if (column + word.size() > 96) {
      out += "\n                           ";
      column = 27;
    }
    out += word;
    column += word.size();
  }
  out +=
      "\n                            ACTION is create, update ID, delete ID, list [ID] (filters:\n"
      "                            any --PARAM), or create-batch|update-batch|delete-batch FILE|-\n"
      "                            (a JSON list, one transaction); routers also add-interface,\n"
      "                            remove-interface, interfaces ID. --network means the object's\n"
      "                            network (logical or physical), --mac and --ip the addresses;\n"
      "                            values starting with [ or { are JSON.\n"
      "                            e.g. vlcpctl logicalport create --network N --mac M\n"
      "  call MODULE METHOD [PARAM=VALUE ...]\n"
      "                            any WebAPI method; the result as JSON\n"
      "  methods [MODULE]          the methods each module offers\n"
      "  module list|active|load NAME|unload NAME\n"
      "                            vlcpd's modules (VLCP's manager)\n"
      "  ovsdb systemids|bridges   what the OVSDB connection sees\n"
      "  tables                    the pipeline's flow tables: number, name, path\n"
      "  completion bash           a bash completion script: source <(vlcpctl completion bash)\n";
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
  if (!all.empty() && all[0] == "completion") {
    if (all.size() != 2 || all[1] != "bash") return usage_error("completion bash");
    std::printf("%s", completion_bash().c_str());
    return 0;
  }
  auto cli = parse_cli(all);
  if (!cli.ok()) return usage_error(cli.error().message());
  const auto& args = cli->args;
  if (args.empty()) return usage_error("a verb is missing");
  const std::string& verb = args[0];
  if (const ObjectKind* k = kind_of(verb)) {
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
    std::vector<std::string> modules = pos;
    if (modules.empty())
      modules.assign(std::begin(kModules), std::end(kModules) - 1);  // objectdb: its own paths
    for (const auto& m : modules) {
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
