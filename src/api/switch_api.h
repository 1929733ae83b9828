// The WebAPI modules about this node's switches, in VLCP's form: `ovsdbmanager` (getsystemids,
// getallbridges: from the OVSDB replica), `openflowmanager` (lastacquiredtables: the pipeline's
// tables by name and path) and `ioprocessing` (status: what the flow apps hold on each switch).
#pragma once

#include <functional>
#include <optional>

#include "api/webapi.h"
#include "ovsdb/client.h"

namespace vlcp::api {

// `client` gives the OVSDB client at call time (null: module ovsdbmanager is not loaded -> 503).
void add_ovsdbmanager(WebApi& api, std::function<const ovsdb::OvsdbClient*()> client);
// `tables`: the pipeline's table map as VLCP's lastacquiredtables answers it.
void add_openflowmanager(WebApi& api, nlohmann::json tables);
// `status` gives the apps' status at call time (none: module ioprocessing is not loaded -> 503).
void add_ioprocessing(WebApi& api, std::function<std::optional<nlohmann::json>()> status);

}  // namespace vlcp::api
