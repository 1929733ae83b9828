// vlcpctl's verbs for the network model and the rest of the WebAPI:
//   vlcpctl OBJECT ACTION [ID] [--PARAM VALUE | PARAM=VALUE ...]
// with OBJECT one of the model's objects (logicalport, subnet, ...), and
//   vlcpctl call MODULE METHOD [PARAM=VALUE ...]   any API method
//   vlcpctl methods [MODULE]                       what the modules offer (their discover)
//   vlcpctl module list|active|load NAME|unload NAME
//   vlcpctl ovsdb systemids|bridges
// Results print as tables (or --json); exit codes as api_client.h says. Their help and
// completion are declared in commands.cc.
#pragma once

#include <string>
#include <vector>

namespace vlcp::cli {

// Whether `word` starts one of these verbs.
bool is_model_verb(const std::string& word);
// args: from the verb's first word on; global options anywhere.
int model_verb(const std::vector<std::string>& args);
// The WebAPI modules: the model's (from its kinds), then the others (for help and completion).
std::vector<std::string> api_modules();

// What `vlcpctl NOUN ACTION` calls, for every noun and action the model's kinds give
// (schema/kinds.h): the kind, the WebAPI module and method, and whether it sends a batch.
struct ObjectAction {
  std::string noun, action, kind, module, method;
  bool batch = false;
};
std::vector<ObjectAction> object_actions();

}  // namespace vlcp::cli
