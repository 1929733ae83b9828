#include "trace/annotate.h"

#include <charconv>
#include <map>
#include <set>

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

std::optional<uint64_t> value_of(std::string_view s) {
  int base = 10;
  if (s.substr(0, 2) == "0x") {
    s.remove_prefix(2);
    base = 16;
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// set_field:V->regN, load:V->NXM_NX_REGN[...] into a declared register: the write, given the
// register's value before it (`regs`, updated).
void register_writes(const Step& step, std::vector<RegisterWrite>& out,
                     std::map<std::string, uint32_t>& regs) {
  for (const std::string& a : step.actions) {
    std::string_view t = a;
    std::string ovs;
    std::optional<uint64_t> v;
    int lo = 0, hi = 31;
    if (t.substr(0, 10) == "set_field:") {
      size_t arrow = t.rfind("->");
      if (arrow == std::string_view::npos) continue;
      ovs = std::string(t.substr(arrow + 2));
      v = value_of(t.substr(10, arrow - 10));
    } else if (t.substr(0, 5) == "load:") {
      size_t arrow = t.find("->");
      if (arrow == std::string_view::npos) continue;
      v = value_of(t.substr(5, arrow - 5));
      std::string_view dst = t.substr(arrow + 2);
      if (dst.substr(0, 10) != "NXM_NX_REG") continue;
      size_t lb = dst.find('[');
      ovs = "reg" + std::string(dst.substr(10, lb - 10));
      std::string_view range = lb == std::string_view::npos ? "" : dst.substr(lb + 1, dst.size() - lb - 2);
      if (!range.empty()) {
        size_t dots = range.find("..");
        auto a_ = value_of(range.substr(0, dots));
        auto b_ = dots == std::string_view::npos ? a_ : value_of(range.substr(dots + 2));
        if (!a_ || !b_ || *a_ > *b_ || *b_ > 31) continue;
        lo = static_cast<int>(*a_);
        hi = static_cast<int>(*b_);
      }
    } else {
      continue;
    }
    const pipeline::RegisterDecl* r = pipeline::find_register_by_ovs_name(ovs);
    if (!r || !v) continue;
    uint32_t width_mask = hi - lo == 31 ? 0xffffffffu : ((1u << (hi - lo + 1)) - 1);
    uint32_t mask = width_mask << lo;
    uint32_t value = (regs[ovs] & ~mask) | ((static_cast<uint32_t>(*v) << lo) & mask);
    regs[ovs] = value;
    out.push_back({std::string(r->name), ovs, value, pipeline::describe_register(*r, value)});
  }
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
