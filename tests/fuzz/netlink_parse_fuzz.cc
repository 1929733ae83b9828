// libFuzzer target for the rtnetlink codec (src/link/netlink.h): any bytes split and decode
// without crashing or over-reading, and every message that decodes re-encodes to bytes that
// decode to the same message. Also replayed by netlink_parse_fuzz_replay inside `make test`.
#include <cstdint>
#include <cstdlib>

#include "link/netlink.h"

namespace {

using namespace vlcp::link;

template <typename M, typename Decode>
void round_trip(const M& m, Decode decode) {
  vlcp::Buffer b;
  encode(b, m);
  auto frames = split(b.span());
  if (!frames.ok() || frames->size() != 1) std::abort();
  auto again = decode(frames->front());
  if (!again.ok() || !(*again == m)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto frames = split(vlcp::ByteSpan(data, size));
  if (!frames.ok()) return 0;
  for (const NlFrame& f : *frames) {
    if (f.payload.data() < data || f.payload.data() + f.payload.size() > data + size) std::abort();
    // Every decoder on every frame, whatever its type: each must fail cleanly or succeed.
    auto link = decode_link(f);
    auto addr = decode_addr(f);
    auto route = decode_route(f);
    (void)decode_done(f);
    if (auto e = decode_error(f); e.ok()) (void)to_status(*e, "fuzz");
    if (f.payload.size() > 16000) continue;  // re-encoded strings gain a NUL: keep within u16 lengths
    if (link.ok()) {
      round_trip(*link, decode_link);
      (void)link_info(*link);
    }
    if (addr.ok()) round_trip(*addr, decode_addr);
    if (route.ok()) round_trip(*route, decode_route);
  }
  return 0;
}
