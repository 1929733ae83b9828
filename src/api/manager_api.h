// VLCP's `manager` module of the WebAPI: activemodules, modules (with states and errors),
// loadmodule and unloadmodule (a module's name, or `vlcpd.NAME` as VLCP's class paths).
#pragma once

#include "api/webapi.h"
#include "io/modules.h"

namespace vlcp::api {

// `protected_module` (the WebAPI's own) can be neither unloaded nor loaded through it.
void add_manager(WebApi& api, io::ModuleManager& modules, std::string protected_module);

}  // namespace vlcp::api
