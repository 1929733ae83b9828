// Introspection over the WebAPI's HTTP server: what vlcpd holds, as JSON.
//   GET /introspect/switches    connected (and formerly connected) datapaths with their ports
//   GET /introspect/placement   worker lcores, control cores, the PMD cores avoided and why
//   GET /introspect/ovsdb       the OVSDB replica: system-id, bridges, ports (when connected)
//   GET /introspect             all of the above
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "sched/placement.h"
#include "switch/manager.h"

namespace vlcp::api {

nlohmann::json switch_json(const sw::SwitchInfo& s);
nlohmann::json placement_json(const sched::Placement& p);

struct IntrospectSources {
  const sw::SwitchManager* switches = nullptr;  // read on the control thread
  std::function<sched::Placement()> placement;
  std::function<nlohmann::json()> ovsdb;
};

// The request router for introspection (runs on the control thread).
HttpResponse introspect(const IntrospectSources& sources, const HttpRequest& request);

}  // namespace vlcp::api
