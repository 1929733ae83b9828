#include "pipeline/tables.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace vlcp::pipeline {

namespace {

struct Declared {
  const char* app;
  const char* table;
  const char* path;
  const char* ancestors;
};
constexpr Declared kDeclared[] = {
#define VLCP_TABLE(app, table, path, ancestors) {#app, #table, path, ancestors},
#include "flowtables/vlcp.def"
#undef VLCP_TABLE
};

}  // namespace

std::vector<std::string> known_apps() {
  std::vector<std::string> out;
  for (const auto& d : kDeclared)
    if (std::find(out.begin(), out.end(), d.app) == out.end()) out.push_back(d.app);
  return out;
}

Result<std::vector<TableRequest>> requests_of(const std::vector<std::string>& apps) {
  std::vector<TableRequest> out;
  for (const auto& app : apps) {
    size_t before = out.size();
    for (const auto& d : kDeclared) {
      if (app != d.app) continue;
      TableRequest r{d.app, d.table, d.path, {}};
      std::istringstream words(d.ancestors);
      for (std::string a; words >> a;) r.ancestors.push_back(a);
      out.push_back(std::move(r));
    }
    if (out.size() == before) {
      std::string known;
      for (const auto& k : known_apps()) known += " " + k;
      return make_error(Errc::kInvalidArgument, "no app " + app + " requests tables (known:" + known + ")");
    }
  }
  return out;
}

Result<TableMap> allocate(const std::vector<TableRequest>& requests) {
  struct Node {
    std::string path;
    std::set<std::string> ancestors;
    size_t order;  // its first request
  };
  std::map<std::string, Node> nodes;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    auto [it, fresh] = nodes.try_emplace(r.table, Node{r.path, {}, i});
    if (!fresh && it->second.path != r.path)
      return make_error(Errc::kInvalidArgument, "table " + r.table + " is requested on path '" +
                                                    it->second.path + "' and on path '" + r.path + "' (by " +
                                                    r.app + ")");
    it->second.ancestors.insert(r.ancestors.begin(), r.ancestors.end());
  }
  for (const auto& [name, n] : nodes)
    for (const auto& a : n.ancestors)
      if (!nodes.count(a))
        return make_error(Errc::kInvalidArgument,
                          "table " + name + " comes after table " + a + ", which no app requests");
  if (nodes.size() > 255)
    return make_error(Errc::kResourceExhausted, std::to_string(nodes.size()) + " tables: OpenFlow has 255");
  TableMap map;
  std::set<std::string> placed;
  while (placed.size() < nodes.size()) {
    const std::string* next = nullptr;  // the earliest requested table whose ancestors are placed
    for (const auto& [name, n] : nodes) {
      if (placed.count(name)) continue;
      bool ready = std::all_of(n.ancestors.begin(), n.ancestors.end(),
                               [&](const std::string& a) { return placed.count(a) > 0; });
      if (ready && (!next || n.order < nodes.at(*next).order)) next = &name;
    }
    if (!next) {
      std::string stuck;
      for (const auto& [name, n] : nodes)
        if (!placed.count(name)) stuck += " " + name;
      return make_error(Errc::kInvalidArgument, "the table order has a cycle among:" + stuck);
    }
    map.tables.push_back(Table{*next, nodes.at(*next).path, static_cast<uint8_t>(map.tables.size())});
    placed.insert(*next);
  }
  for (const auto& t : map.tables) map.paths[t.path].push_back(t.id);
  return map;
}

std::optional<uint8_t> TableMap::id(const std::string& name) const {
  for (const auto& t : tables)
    if (t.name == name) return t.id;
  return std::nullopt;
}

std::optional<uint8_t> TableMap::next_in_path(uint8_t id) const {
  if (id >= tables.size()) return std::nullopt;
  const auto& path = paths.at(tables[id].path);
  for (size_t i = 0; i + 1 < path.size(); ++i)
    if (path[i] == id) return path[i + 1];
  return std::nullopt;
}

nlohmann::json TableMap::to_json() const {
  nlohmann::json full = nlohmann::json::array(), by_path = nlohmann::json::object();
  for (const auto& t : tables) full.push_back({t.name, t.id});
  for (const auto& [path, ts] : paths) {
    nlohmann::json list = nlohmann::json::array();
    for (uint8_t id : ts) list.push_back({tables[id].name, id});
    by_path[path] = list;
  }
  return nlohmann::json::array({full, by_path});
}

namespace {
struct PipelineKeys {
  VLCP_PIPELINE_KEYS(VLCP_KEYS_FIELD)
};
}  // namespace

Result<PipelineSettings> read_pipeline_settings(const Config& config) {
  PipelineKeys keys;
  VLCP_PIPELINE_KEYS(VLCP_KEYS_READ)
  PipelineSettings s;
  s.apps = keys.apps;
  auto requests = requests_of(s.apps);
  auto where = config.where("module.openflowmanager.apps");
  if (!requests.ok()) return make_error(Errc::kInvalidArgument, where + ": " + requests.error().message());
  auto tables = allocate(*requests);
  if (!tables.ok()) return make_error(Errc::kInvalidArgument, where + ": " + tables.error().message());
  s.tables = std::move(*tables);
  return s;
}

}  // namespace vlcp::pipeline
