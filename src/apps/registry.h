// The apps a vlcpd can run, each registered once beside its own code (VLCP_REGISTER_APP in one of
// its .cc files under src/apps/<app>/): its name, its VLCP modules (their table requests are in
// flowtables/vlcp.def; the app runs when module.openflowmanager.apps names one of them), its
// configuration keys, and how it reads them. Configured, an app is an AppSpec: what it declares
// before the node runs (its worker packet-in handlers, pure functions of its configuration) and
// how it is made once the node's model view exists. The daemon derives everything from this list
// — --help and the unknown-key check, --check-config, the packet-in table, the model view's
// kinds, the host's apps — and names no app (docs/ARCHITECTURE.md "Adding an app").
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "apps/app.h"
#include "base/config.h"
#include "base/result.h"
#include "pipeline/tables.h"

namespace vlcp::db {
class ObjectDb;
}

namespace vlcp::apps {

// One configuration key, as --help shows it and the unknown-key check knows it.
struct AppKey {
  std::string key, fallback, help;
};
// An app's key table (the X-macro beside it) as AppKeys.
#define VLCP_APP_KEY(field, key, type, fallback, help) ::vlcp::apps::AppKey{key, #fallback, help},

class AppHost;

// What the node gives an app to run.
struct AppEnv {
  const ModelView& model;  // the node's model view (the app's reads() are watched before it starts)
  db::ObjectDb& db;        // for what the app publishes about this node
  const pipeline::TableMap& tables;
  std::function<void(std::chrono::milliseconds, std::function<void()>)> after;
  // The platform driving it, once there (made after the apps; null before, and in tests without
  // one): for an app with its own source of change (AppHost::dirty, when_confirmed).
  std::function<AppHost*()> host = {};
};

// A packet-in handler an app declares (by its cookie app id, flows/cookie.h): on the worker
// lcores, `worker` (a pure function of the configuration and the message, run by several workers
// at once); on the control thread, the app's FlowApp::packet_in with the switch's view.
struct PacketInDecl {
  flows::AppId app_id;
  bool on_workers;
  std::string name;                                                                // in logs and metrics
  std::function<void(uint64_t dpid, ByteSpan packet_in, Buffer& answers)> worker;  // on_workers
};

// An app as configured: its settings read and checked, before the node runs.
class AppSpec {
 public:
  virtual ~AppSpec() = default;
  virtual std::vector<PacketInDecl> packet_ins() const { return {}; }
  virtual std::unique_ptr<FlowApp> make(const AppEnv& env) const = 0;
  // The app serves every network on this node (an L3 forwarding node): the node's model view
  // follows the whole model (ModelSync::kAll), whatever module.ioprocessing.modelsync says.
  virtual bool whole_model() const { return false; }
};

struct AppRegistration {
  std::string name;
  std::vector<std::string> modules;  // VLCP's module names; it runs when the pipeline has one
  std::vector<AppKey> keys;
  // Reads and checks its keys (errors name the key's file:line) against the pipeline it runs in.
  std::function<Result<std::shared_ptr<const AppSpec>>(const Config&, const pipeline::PipelineSettings&)>
      configure;
  // Whether the pipeline (module.openflowmanager.apps) runs it.
  bool runs_in(const pipeline::PipelineSettings& pipeline) const;
};

// Every registered app, in name order.
std::vector<const AppRegistration*> registered_apps();
// At static initialisation (VLCP_REGISTER_APP). Two apps of one name, or two apps claiming one
// module, abort the program at start (a build error in effect: every test binary fails).
bool register_app(AppRegistration registration);
// Every registered app's keys.
std::vector<AppKey> registered_app_keys();

// An app configured for this node: its registration, and its spec when the pipeline runs it.
struct ConfiguredApp {
  const AppRegistration* registration = nullptr;
  std::shared_ptr<const AppSpec> spec;  // null: its modules are not in the pipeline
};
// Every registered app's keys read and checked (whether it runs or not: --check-config checks
// the whole file), in name order.
Result<std::vector<ConfiguredApp>> configure_apps(const Config& config,
                                                  const pipeline::PipelineSettings& pipeline);

}  // namespace vlcp::apps

#define VLCP_APP_CONCAT_(a, b) a##b
#define VLCP_APP_CONCAT(a, b) VLCP_APP_CONCAT_(a, b)
// In an app's .cc (namespace scope): VLCP_REGISTER_APP(registration expression).
#define VLCP_REGISTER_APP(...)                                                         \
  [[maybe_unused]] static const bool VLCP_APP_CONCAT(vlcp_app_registered_, __LINE__) = \
      ::vlcp::apps::register_app(__VA_ARGS__)
