// OpenFlow messages out of a packet capture: pcap (microsecond or nanosecond, either byte
// order), Ethernet / Linux cooked / raw IP, IPv4 and IPv6, TCP reassembled per direction
// (out-of-order segments held until the gap fills, retransmissions trimmed), then cut into
// messages by their OpenFlow length field.
#pragma once

#include <functional>
#include <string>

#include "base/buffer.h"

namespace vlcp::cli {

struct StreamMessage {
  double timestamp;  // of the segment that completed the message
  std::string from;  // "127.0.0.1:6653"
  std::string to;
  ByteSpan bytes;  // one whole OpenFlow message (valid during the callback)
};

// Calls `fn` for every message on TCP port 6653 or 6633 in capture order. False with *error
// when the file cannot be read as a capture.
bool for_each_openflow_message(const std::string& path, const std::function<void(const StreamMessage&)>& fn,
                               std::string* error);

}  // namespace vlcp::cli
