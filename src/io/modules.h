// Modules: the parts of vlcpd that load and unload (VLCP's module idea). One explicit list,
// each module naming the modules it depends on; loading inits then starts them in dependency
// order, unloading stops the dependents first. A module's configuration lives under
// module.<name>.*. Everything runs on the control thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace vlcp::io {

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string name() const = 0;
  virtual std::vector<std::string> dependencies() const { return {}; }
  // Reads configuration and prepares; nothing runs yet. Called before every start.
  virtual Status init() = 0;
  virtual Status start() = 0;
  // Stops and releases what start() and init() took; the module may be loaded again.
  virtual void stop() = 0;
  // A module that cannot come back once stopped (the DPDK EAL initialises once per process).
  virtual bool unloadable() const { return true; }
};

enum class ModuleState { kDeclared, kRunning, kStopped, kFailed };
std::string_view module_state_name(ModuleState s);

struct ModuleInfo {
  std::string name;
  std::vector<std::string> dependencies;
  ModuleState state;
  std::string error;  // why it failed
};

class ModuleManager {
 public:
  // The explicit list; declaration order is the order among independent modules.
  void declare(std::unique_ptr<Module> module);
  // Checks the graph (unknown dependencies, cycles) and loads every module. On a failure the
  // modules already started are stopped again and the error names the module.
  Status load_all();
  // Loads one module and, first, what it depends on; then the modules its unload stopped.
  Status load(const std::string& name);
  // Unloads one module and, first, every module depending on it (they are stopped, not lost:
  // load() of the same module brings them back). Returns every module it stopped.
  Result<std::vector<std::string>> unload(const std::string& name);
  void unload_all();  // reverse dependency order
  std::vector<ModuleInfo> modules() const;
  bool running(const std::string& name) const;

 private:
  struct Entry {
    std::unique_ptr<Module> module;
    ModuleState state = ModuleState::kDeclared;
    std::string error;
    std::string stopped_with;  // the module whose unload stopped this one
  };
  Result<std::vector<std::string>> order() const;  // dependencies before dependents
  std::vector<std::string> dependents_of(const std::string& name) const;
  std::map<std::string, Entry> modules_;
  std::vector<std::string> declared_;
};

}  // namespace vlcp::io
