// Module loading and unloading (see modules.h).
#include "io/modules.h"

#include <algorithm>
#include <functional>
#include <set>

#include "base/log.h"

namespace vlcp::io {

std::string_view module_state_name(ModuleState s) {
  switch (s) {
    case ModuleState::kDeclared:
      return "declared";
    case ModuleState::kRunning:
      return "running";
    case ModuleState::kStopped:
      return "stopped";
    case ModuleState::kFailed:
      return "failed";
  }
  return "?";
}

void ModuleManager::declare(std::unique_ptr<Module> module) {
  std::string name = module->name();
  declared_.push_back(name);
  modules_[name].module = std::move(module);
}

Result<std::vector<std::string>> ModuleManager::order() const {
  std::vector<std::string> out;
  std::set<std::string> done, visiting;
  std::function<Status(const std::string&, const std::string&)> visit =
      [&](const std::string& n, const std::string& from) -> Status {
    if (done.count(n)) return {};
    auto it = modules_.find(n);
    if (it == modules_.end())
      return make_error(Errc::kNotFound, "module " + from + " depends on unknown module " + n);
    if (visiting.count(n)) return make_error(Errc::kInvalidArgument, "module dependency cycle through " + n);
    visiting.insert(n);
    for (auto& d : it->second.module->dependencies()) VLCP_RETURN_IF_ERROR(visit(d, n));
    visiting.erase(n);
    done.insert(n);
    out.push_back(n);
    return {};
  };
  for (auto& n : declared_) VLCP_RETURN_IF_ERROR(visit(n, n));
  return out;
}

std::vector<std::string> ModuleManager::dependents_of(const std::string& name) const {
  // Everything that depends on `name`, directly or not.
  std::vector<std::string> out;
  std::set<std::string> seen{name};
  bool grew = true;
  while (grew) {
    grew = false;
    for (auto& n : declared_) {
      if (seen.count(n)) continue;
      auto deps = modules_.at(n).module->dependencies();
      if (std::any_of(deps.begin(), deps.end(), [&](const std::string& d) { return seen.count(d) > 0; })) {
        seen.insert(n);
        out.push_back(n);
        grew = true;
      }
    }
  }
  return out;
}

Status ModuleManager::load_all() {
  VLCP_ASSIGN_OR_RETURN(auto names, order());
  for (auto& n : names) {
    Status s = load(n);
    if (!s.ok()) {
      unload_all();
      return s;
    }
  }
  return {};
}

Status ModuleManager::load(const std::string& name) {
  auto it = modules_.find(name);
  if (it == modules_.end()) return make_error(Errc::kNotFound, "no module named " + name);
  Entry& e = it->second;
  if (e.state == ModuleState::kRunning) return {};
  for (auto& d : e.module->dependencies()) VLCP_RETURN_IF_ERROR(load(d));
  Status s = e.module->init();
  if (s.ok()) s = e.module->start();
  if (!s.ok()) {
    e.module->stop();
    e.state = ModuleState::kFailed;
    e.error = s.message();
    VLCP_LOG(kError, "modules") << name << " failed to load: " << s.message();
    return s.with_context("module " + name);
  }
  e.state = ModuleState::kRunning;
  e.error.clear();
  e.stopped_with.clear();
  VLCP_LOG(kInfo, "modules") << name << " loaded";
  // What unloading this module stopped comes back with it.
  for (auto& n : declared_) {
    Entry& d = modules_.at(n);
    if (d.stopped_with == name && d.state == ModuleState::kStopped) VLCP_RETURN_IF_ERROR(load(n));
  }
  return {};
}

Result<std::vector<std::string>> ModuleManager::unload(const std::string& name) {
  auto it = modules_.find(name);
  if (it == modules_.end()) return make_error(Errc::kNotFound, "no module named " + name);
  if (!it->second.module->unloadable())
    return make_error(Errc::kUnsupported, "module " + name + " cannot be unloaded while vlcpd runs");
  auto deps = dependents_of(name);
  for (auto& d : deps)
    if (modules_.at(d).state == ModuleState::kRunning && !modules_.at(d).module->unloadable())
      return make_error(Errc::kUnsupported,
                        "module " + d + " depends on " + name + " and cannot be unloaded");
  std::vector<std::string> stopped;
  // Dependents first, the deepest first (reverse of the order they were found in).
  for (auto d = deps.rbegin(); d != deps.rend(); ++d) {
    Entry& e = modules_.at(*d);
    if (e.state != ModuleState::kRunning) continue;
    e.module->stop();
    e.state = ModuleState::kStopped;
    e.stopped_with = name;
    stopped.push_back(*d);
    VLCP_LOG(kInfo, "modules") << *d << " unloaded (it depends on " << name << ")";
  }
  Entry& e = it->second;
  if (e.state == ModuleState::kRunning) {
    e.module->stop();
    e.state = ModuleState::kStopped;
    stopped.push_back(name);
    VLCP_LOG(kInfo, "modules") << name << " unloaded";
  }
  return stopped;
}

void ModuleManager::unload_all() {
  auto names = order();
  if (!names.ok()) return;
  for (auto n = names->rbegin(); n != names->rend(); ++n) {
    Entry& e = modules_.at(*n);
    if (e.state != ModuleState::kRunning) continue;
    e.module->stop();
    e.state = ModuleState::kStopped;
  }
}

std::vector<ModuleInfo> ModuleManager::modules() const {
  std::vector<ModuleInfo> out;
  for (auto& n : declared_) {
    const Entry& e = modules_.at(n);
    out.push_back({n, e.module->dependencies(), e.state, e.error});
  }
  return out;
}

bool ModuleManager::running(const std::string& name) const {
  auto it = modules_.find(name);
  return it != modules_.end() && it->second.state == ModuleState::kRunning;
}

}  // namespace vlcp::io
