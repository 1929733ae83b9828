// The viperflow and vrouterapi modules of the WebAPI (VLCP's names): the methods of every kind
// schema/kinds.h puts in the API, single and batch forms, each one transaction.
#pragma once

#include <functional>
#include <memory>

#include "api/webapi.h"
#include "db/objectdb.h"

namespace vlcp::api {

// `db` gives the database at call time (null: the objectdb module is not loaded -> 503).
void add_viperflow(WebApi& api, std::function<std::shared_ptr<db::ObjectDb>()> db);

}  // namespace vlcp::api
