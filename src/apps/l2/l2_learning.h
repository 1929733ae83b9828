// Controller learning (VLCP's l2switch with learning = True, nxlearn = False): the L2 app's
// packet-in handler, run on the worker lcores. A PACKET_IN sent up by l2input's learning flow
// (cookie app id kL2) becomes two FLOW_MODs — in l2input, the source (network, MAC, port) stops
// being sent up; in l2learning, the network's frames to that MAC go to that port (and, when it
// came through a tunnel, to the node it came from). Both expire (learned, not stated: their
// cookie has kCookieDynamic, so the installer leaves them alone). A pure function of its
// configuration and the message, so any worker can run it, several at once.
#pragma once

#include <cstdint>

#include "base/buffer.h"
#include "base/result.h"
#include "pipeline/tables.h"

namespace vlcp::apps {

struct L2LearningConfig {
  uint8_t l2input = 0, after_l2input = 0, l2learning = 0;  // table ids
  uint16_t timeout = 300;                                  // seconds a learned MAC lives
  uint64_t cookie = 0;                                     // the learned flows' cookie
};

// The configuration from the pipeline's tables (l2input, the table after it, l2learning) and
// module.l2switch.learntimeout; an error when the pipeline has no l2switch app.
Result<L2LearningConfig> l2_learning_config(const pipeline::TableMap& tables, uint16_t timeout);

// Appends the suppressing and the forwarding FLOW_MOD (xid 0) for a PACKET_IN to `answers`;
// false (nothing appended) when the message is not a learnable PACKET_IN (malformed, no network
// register, a multicast source).
bool l2_learn(const L2LearningConfig& config, ByteSpan packet_in, Buffer& answers);

}  // namespace vlcp::apps
