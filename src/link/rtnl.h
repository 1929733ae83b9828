// Blocking rtnetlink I/O for the link thread: a NETLINK_ROUTE socket that sends the codec's
// messages (netlink.h) and waits for their acks or dumps, and the netns dance of
// docs/CONTAINERS_DESIGN.md §3.1 (enter, open the sockets, leave at once: a socket keeps the
// namespace it was made in, so no thread stays in a foreign one).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "link/netlink.h"

namespace vlcp::link {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

class RtnlSocket {
 public:
  // A NETLINK_ROUTE socket in the calling thread's network namespace (extended acks on, acks
  // without the echoed request, a 5 s receive timeout so that a lost answer is an error).
  static Result<RtnlSocket> open();

  // Sends a request (its seq is replaced by the socket's next) and waits for its ACK: the
  // kernel's errno as a Status (netlink.h: errno_status), `what` naming the operation.
  Status call(LinkMessage m, std::string_view what);
  Status call(AddrMessage m, std::string_view what);
  Status call(RouteMessage m, std::string_view what);
  // One link by name (kNotFound when there is none), and every link.
  Result<LinkMessage> get_link(std::string_view name);
  Result<std::vector<LinkMessage>> dump_links();

  int fd() const { return fd_.get(); }
  uint64_t requests() const { return requests_; }

 private:
  explicit RtnlSocket(Fd fd) : fd_(std::move(fd)) {}
  Status send(const Buffer& b, std::string_view what);
  Status exchange(const Buffer& b, uint32_t seq, std::string_view what);  // send, wait for the ACK
  // Receives until the answer to `seq`: its ACK/error, or (dump) every message up to NLMSG_DONE,
  // each handed to `on_message`. Messages of other sequence numbers (a request that timed out
  // earlier) are skipped.
  template <typename OnMessage>
  Status receive(uint32_t seq, bool dump, std::string_view what, OnMessage on_message);

  Fd fd_;
  uint32_t seq_ = 0;
  uint64_t requests_ = 0;
  std::vector<uint8_t> rx_;
};

// A network namespace by path (/run/netns/NAME, /proc/PID/ns/net): kNotFound when the path does
// not exist, kInvalidArgument when it is not a namespace or not a network namespace
// (NS_GET_NSTYPE).
Result<Fd> open_netns(const std::string& path);

// The sockets a request uses in one namespace.
struct NsSockets {
  RtnlSocket rtnl;
  Fd inet;  // AF_INET datagram: ethtool ioctls
};
// Opens both in the calling thread's namespace.
Result<NsSockets> open_sockets_here();
// Opens both in `netns` (an fd from open_netns): setns in, open, setns back to the thread's own
// namespace before returning, on every path (a failure to return aborts the process: no thread
// may go on in a foreign namespace).
Result<NsSockets> open_sockets_in(const Fd& netns);

}  // namespace vlcp::link
