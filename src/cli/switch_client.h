// A small blocking OpenFlow 1.3 client for vlcpctl's switch verbs: connects to a switch's
// management socket ("unix:/var/run/openvswitch/br0.mgmt" or "tcp:127.0.0.1:6634"), says
// HELLO, answers ECHO, and exchanges request/reply messages. One request at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"
#include "ofp/message.h"

namespace vlcp::cli {

class SwitchClient {
 public:
  ~SwitchClient();
  // Connects and completes the HELLO exchange (OpenFlow 1.3 required).
  static Result<std::unique_ptr<SwitchClient>> connect(const std::string& target,
                                                       std::chrono::milliseconds timeout);

  // Sends `request` (a whole message, its xid set) and calls on_reply for each reply with
  // the same xid until one arrives without OFPMPF_REPLY_MORE. An OFPT_ERROR reply is an error.
  Status transact(ByteSpan request, const std::function<Status(const ofp::Frame&)>& on_reply);
  uint32_t next_xid() { return ++xid_; }

 private:
  explicit SwitchClient(int fd, std::chrono::milliseconds timeout) : fd_(fd), timeout_(timeout) {}
  Status send_all(ByteSpan bytes);
  // Reads the next whole message into `message`.
  Status receive(std::vector<uint8_t>& message);

  int fd_;
  std::chrono::milliseconds timeout_;
  uint32_t xid_ = 0x1000;
  std::vector<uint8_t> pending_;
};

}  // namespace vlcp::cli
