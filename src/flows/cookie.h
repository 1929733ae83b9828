// The cookie layout every flow of the controller carries, declared once (docs/ARCHITECTURE.md §10):
//
//   bit 63      dynamic: learned by OVS's learn action or by the controller; the flow owner never
//               reads, counts or deletes it
//   bit 62      to workers: PACKET_INs of this flow are answered on the worker lcores
//   bits 48..55 the app id: which app states the flow (the flow owner attributes installed flows
//               by it and refuses a flow whose app id is not its app's; packet-ins are dispatched
//               by it, switch/packet_in.h)
//   bits 0..47  the app's own (the L2 apps: the logical network's netid)
//
// Standard types only: any layer that reads cookies may include it.
#pragma once

#include <cstdint>

namespace vlcp::flows {

using AppId = uint8_t;

inline constexpr uint64_t kCookieDynamic = uint64_t{1} << 63;
inline constexpr uint64_t kCookieToWorkers = uint64_t{1} << 62;
inline constexpr int kCookieAppShift = 48;
inline constexpr uint64_t kCookieAppMask = uint64_t{0xff} << kCookieAppShift;
inline constexpr uint64_t kCookieAppBits = (uint64_t{1} << kCookieAppShift) - 1;  // the app's own

inline constexpr uint64_t cookie(AppId app, uint64_t own = 0) {
  return uint64_t{app} << kCookieAppShift | (own & kCookieAppBits);
}
inline constexpr AppId cookie_app(uint64_t cookie) {
  return static_cast<AppId>((cookie & kCookieAppMask) >> kCookieAppShift);
}
inline constexpr bool cookie_dynamic(uint64_t cookie) {
  return (cookie & kCookieDynamic) != 0;
}

}  // namespace vlcp::flows
