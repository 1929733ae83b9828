#include "apps/registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace vlcp::apps {

namespace {
std::map<std::string, AppRegistration>& registry() {
  static std::map<std::string, AppRegistration> apps;  // (built before main: no lock)
  return apps;
}
}  // namespace

bool AppRegistration::runs_in(const pipeline::PipelineSettings& pipeline) const {
  for (const auto& m : modules)
    if (std::find(pipeline.apps.begin(), pipeline.apps.end(), m) != pipeline.apps.end()) return true;
  return false;
}

bool register_app(AppRegistration r) {
  auto& apps = registry();
  auto die = [](const std::string& why) {
    std::fprintf(stderr, "vlcp: app registry: %s\n", why.c_str());
    std::abort();
  };
  if (r.name.empty() || !r.configure) die("an app without a name or a configure function");
  if (apps.count(r.name)) die("two apps named '" + r.name + "'");
  for (const auto& [name, other] : apps)
    for (const auto& m : r.modules)
      if (std::find(other.modules.begin(), other.modules.end(), m) != other.modules.end())
        die("module '" + m + "' claimed by apps '" + name + "' and '" + r.name + "'");
  std::string name = r.name;
  apps.emplace(std::move(name), std::move(r));
  return true;
}

std::vector<const AppRegistration*> registered_apps() {
  std::vector<const AppRegistration*> out;
  for (const auto& [name, r] : registry()) out.push_back(&r);
  return out;
}

std::vector<AppKey> registered_app_keys() {
  std::vector<AppKey> out;
  for (const auto* r : registered_apps()) out.insert(out.end(), r->keys.begin(), r->keys.end());
  return out;
}

Result<std::vector<ConfiguredApp>> configure_apps(const Config& config,
                                                  const pipeline::PipelineSettings& pipeline) {
  std::vector<ConfiguredApp> out;
  for (const auto* r : registered_apps()) {
    VLCP_ASSIGN_OR_RETURN(auto spec, r->configure(config, pipeline));
    out.push_back({r, r->runs_in(pipeline) ? std::move(spec) : nullptr});
  }
  return out;
}

}  // namespace vlcp::apps
