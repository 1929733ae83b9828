// Controller learning (VLCP's l2switch with learning = True, nxlearn = False), run by the worker
// lcores: a PACKET_IN sent by l2input's learning flow (cookie with kCookieToWorkers) becomes two
// FLOW_MODs — in l2input, the source (network, MAC, port) stops being sent up; in l2learning,
// the network's frames to that MAC go to that port (and, when it came through a tunnel, to the
// node it came from). Both expire (learned, not stated: the installer leaves them alone).
// A pure function of the message and the configuration, so any worker can run it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/buffer.h"

namespace vlcp::sw {

// PACKET_INs of flows with this cookie bit go to the worker lcores; others to the control thread.
inline constexpr uint64_t kCookieToWorkers = uint64_t{1} << 62;

struct LearningConfig {
  bool enabled = false;
  uint8_t l2input = 0, after_l2input = 0, l2learning = 0;  // table ids
  uint16_t timeout = 300;                                  // seconds a learned MAC lives
  uint64_t cookie = 0;                                     // the learned flows' cookie
};

// Writes the suppressing and the forwarding FLOW_MOD (xid 0) for a PACKET_IN; false when the
// message is not a learnable PACKET_IN (malformed, no network register, a multicast source).
bool learn(const LearningConfig& config, ByteSpan packet_in, Buffer& suppress, Buffer& forward);

}  // namespace vlcp::sw
