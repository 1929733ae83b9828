// Flow tables requested by name (VLCP's pluggable tables): apps ask for tables with their
// ancestors and a path; the tables get numbers in a topological order of the ancestor graph
// (ancestors first), ties broken by request order, so the same apps always give the same
// numbers. The requests are data (flowtables/vlcp.def).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/config.h"
#include "base/result.h"

namespace vlcp::pipeline {

struct TableRequest {
  std::string app, table, path;  // path "": the main pipeline
  std::vector<std::string> ancestors;
};

// VLCP's requests for these apps, in this order (flowtables/vlcp.def); unknown apps are an error.
Result<std::vector<TableRequest>> requests_of(const std::vector<std::string>& apps);
// Every app flowtables/vlcp.def declares, in its order.
std::vector<std::string> known_apps();

struct Table {
  std::string name, path;
  uint8_t id = 0;
};

struct TableMap {
  std::vector<Table> tables;                          // by id
  std::map<std::string, std::vector<uint8_t>> paths;  // path -> its tables' ids, in order
  std::optional<uint8_t> id(const std::string& name) const;
  // The table a path continues with after `id` (the default goto), if any.
  std::optional<uint8_t> next_in_path(uint8_t id) const;
  // VLCP's lastacquiredtables answer: [[[name, id], ...], {path: [[name, id], ...]}].
  nlohmann::json to_json() const;
};

// Errors: a table on two paths, an ancestor no app requests, a cycle, more than 255 tables.
Result<TableMap> allocate(const std::vector<TableRequest>& requests);

// X(field, key, C++ type, default, help)
#define VLCP_PIPELINE_KEYS(X)                                                                          \
  X(apps, "module.openflowmanager.apps", std::vector<std::string>,                                     \
    (std::vector<std::string>{"ioprocessing", "l2switch", "vxlancast", "tracer"}),                     \
    "the apps whose tables make the pipeline, in order (flowtables/vlcp.def: ioprocessing, l2switch, " \
    "vxlancast, arpresponder, dhcpserver, icmpresponder, l3router, tracer: trace --live's "            \
    "observation flows)")
struct PipelineSettings {
  std::vector<std::string> apps;
  TableMap tables;  // numbered from the apps
};
Result<PipelineSettings> read_pipeline_settings(const Config& config);

}  // namespace vlcp::pipeline
