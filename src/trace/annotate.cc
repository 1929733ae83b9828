#include "trace/annotate.h"

#include <map>
#include <set>

#include "apps/explain.h"
#include "flows/cookie.h"
#include "ofp/print.h"
#include "pipeline/registers.h"

namespace vlcp::trace {

std::string_view ownership_name(Ownership o) {
  switch (o) {
#define VLCP_TRACE_OWNERSHIP_NAME(e, name) \
  case Ownership::e:                       \
    return name;
    VLCP_TRACE_OWNERSHIPS(VLCP_TRACE_OWNERSHIP_NAME)
#undef VLCP_TRACE_OWNERSHIP_NAME
  }
  return "?";
}

std::string match_text(const pipeline::FlowKey& key) {
  std::string out;
  ofp::format_match(out, ByteSpan(reinterpret_cast<const uint8_t*>(key.match.data()), key.match.size()));
  return out;
}

namespace {

// set_field / load into declared registers (apps/explain.h), with each register's value after the
// write (`regs`: before, updated).
void register_writes(const Step& step, std::vector<RegisterWrite>& out,
                     std::map<std::string, uint32_t>& regs) {
  for (const std::string& a : step.actions)
    for (const auto& w : apps::register_writes(a, regs))
      out.push_back(
          {std::string(w.reg->name), w.ovs_name, w.value, pipeline::describe_register(*w.reg, w.value)});
}

}  // namespace

Annotation annotate_step(const Step& step, const pipeline::TableMap& tables, const flows::FlowOwner* owner,
                         const std::function<std::string(uint8_t)>& app_name) {
  Annotation a;
  if (step.table >= 0 && static_cast<size_t>(step.table) < tables.tables.size())
    a.table_name = tables.tables[step.table].name;
  a.app_id = flows::cookie_app(step.cookie);
  a.own_bits = step.cookie & flows::kCookieAppBits;
  if (owner) a.app = owner->app_of(a.app_id);
  if (a.app.empty() && app_name) a.app = app_name(a.app_id);
  std::map<std::string, uint32_t> regs;
  register_writes(step, a.writes, regs);
  if (flows::cookie_dynamic(step.cookie)) {
    a.ownership = Ownership::kDynamic;
    return a;
  }
  if (step.priority == 0 && step.match.empty() && step.cookie == 0 && !step.no_match) {
    a.ownership = Ownership::kDefault;
    return a;
  }
  if (!owner) {
    a.ownership = Ownership::kNoOwner;
    return a;
  }
  if (step.no_match || step.priority < 0 || step.priority > 0xffff || step.table < 0 || step.table > 255) {
    a.ownership = Ownership::kNotOwned;
    return a;
  }
  auto found =
      owner->find(static_cast<uint8_t>(step.table), static_cast<uint16_t>(step.priority), step.cookie);
  if (found.empty()) {
    a.ownership = Ownership::kNotOwned;
    return a;
  }
  if (found.size() == 1) {
    a.ownership = Ownership::kOwned;
    a.partitions = found[0].partitions;
    return a;
  }
  for (const auto& f : found)
    if (match_text(f.key) == step.match) {
      a.ownership = Ownership::kOwned;
      a.partitions = f.partitions;
      return a;
    }
  a.ownership = Ownership::kAmbiguous;
  std::set<std::string> all;
  for (const auto& f : found) all.insert(f.partitions.begin(), f.partitions.end());
  a.partitions.assign(all.begin(), all.end());
  return a;
}

}  // namespace vlcp::trace
