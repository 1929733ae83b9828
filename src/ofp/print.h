// Text in ovs-ofctl's syntax: matches in OVS's canonical field order and spelling, actions and
// instructions as `ovs-ofctl dump-flows` writes them, whole messages as `ovs-ofctl ofp-print`
// does, so operators can diff our output against OVS's or paste it into ovs-ofctl.
#pragma once

#include <cstdint>
#include <string>

#include "base/buffer.h"

namespace vlcp::ofp {

inline constexpr int kDefaultPriority = 0x8000;

// A port number as OVS writes it: 1, LOCAL, CONTROLLER, IN_PORT, ANY...
std::string format_port(uint32_t port);
// A validated OXM sequence ("priority=10,ip,in_port=1,nw_src=10.0.0.0/8"), priority omitted
// when it is the default.
void format_match(std::string& out, ByteSpan oxms, int priority = kDefaultPriority);
// A validated action list, comma-separated ("output:2,resubmit(,3)"); "drop" when empty.
void format_actions(std::string& out, ByteSpan actions);
// A validated instruction list as the body of "actions=...".
void format_instructions(std::string& out, ByteSpan instructions);

// A whole message as `ovs-ofctl ofp-print` writes it; decode errors appear as OVS marks them.
std::string print_message(ByteSpan message);

}  // namespace vlcp::ofp
