// libFuzzer target for the parser of `ofproto/trace` (src/trace/parse, docs/TRACE_DESIGN.md §5):
// ovs-vswitchd's text is a human format, so any bytes must give a tree or a clear error, never a
// crash; and what parses obeys its contract: the walk's indices point into its steps, an output
// that OVS warned about is not effective, and a drop is recorded exactly when no effective
// output leaves the first bridge. The packet spec's JSON decoding (a peer's hop request) is fed
// the same bytes: a value or an error. Also replayed by trace_parse_fuzz_replay inside `make test`.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "trace/packet_spec.h"
#include "trace/parse.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = vlcp::trace::parse_trace(text);
  if (r.ok()) {
    check(!r->bridges.empty());
    vlcp::trace::Walk w = vlcp::trace::walk_trace(*r);
    bool delivered = false;
    for (const auto& o : w.outputs) {
      check(o.step >= -1 && o.step < static_cast<int>(w.steps.size()));
      if (!o.warnings.empty()) check(!o.effective);
      if (o.effective && !o.underlay) delivered = true;
    }
    check(delivered != w.drop.has_value());
    if (w.drop) check(w.drop->step >= -1 && w.drop->step < static_cast<int>(w.steps.size()));
  } else {
    check(!r.status().message().empty());
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) {
    auto spec = vlcp::trace::packet_spec_from_json(j);
    if (spec.ok()) {  // what a peer accepts round-trips and builds a flow string and a frame
      auto again = vlcp::trace::packet_spec_from_json(vlcp::trace::packet_spec_to_json(*spec));
      check(again.ok() && *again == *spec);
      check(!vlcp::trace::br_flow(*spec).empty());
      vlcp::Buffer f;
      vlcp::trace::frame(*spec, f);
      check(f.size() >= 14);
    }
  }
  return 0;
}
