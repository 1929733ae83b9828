// Blocking rtnetlink I/O and namespaces (see rtnl.h).
#include "link/rtnl.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/log.h"

namespace vlcp::link {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<RtnlSocket> RtnlSocket::open() {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return errno_status(errno, "opening a NETLINK_ROUTE socket");
  int one = 1;
  // Both are best effort: older kernels answer without the kernel's text, with the echo.
  (void)setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  timeval tv{5, 0};
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
    return errno_status(errno, "setting the netlink receive timeout");
  RtnlSocket s(std::move(fd));
  s.rx_.resize(64 * 1024);
  return s;
}

Status RtnlSocket::send(const Buffer& b, std::string_view what) {
  ++requests_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n =
        ::sendto(fd_.get(), b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    if (n == static_cast<ssize_t>(b.size())) return {};
    if (n < 0 && errno == EINTR) continue;
    return errno_status(n < 0 ? errno : EIO, std::string(what) + ": sending the request");
  }
}

template <typename OnMessage>
Status RtnlSocket::receive(uint32_t seq, bool dump, std::string_view what, OnMessage on_message) {
  for (;;) {
    iovec iov{rx_.data(), rx_.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = ::recvmsg(fd_.get(), &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return make_error(Errc::kTimeout, std::string(what) + ": no answer from the kernel in 5 s");
      return errno_status(errno, std::string(what) + ": receiving the answer");
    }
    if (msg.msg_flags & MSG_TRUNC)
      return make_error(Errc::kInternal, std::string(what) + ": answer truncated");
    auto frames = split(ByteSpan(rx_.data(), static_cast<size_t>(n)));
    if (!frames.ok()) return frames.error().with_context(what);
    for (const NlFrame& f : *frames) {
      if (f.header.seq != seq) continue;
      if (f.header.type == NLMSG_ERROR) {
        auto e = decode_error(f);
        if (!e.ok()) return e.error().with_context(what);
        return to_status(*e, what);
      }
      if (f.header.type == NLMSG_DONE) {
        auto done = decode_done(f);
        if (!done.ok()) return done.error().with_context(what);
        return *done ? errno_status(*done, what) : Status{};
      }
      VLCP_RETURN_IF_ERROR(on_message(f));
      if (!dump) return {};
    }
  }
}

namespace {
template <typename M>
void stamp(M& m, uint32_t seq, Buffer& b) {
  m.header.seq = seq;
  m.header.flags |= NLM_F_ACK;
  encode(b, m);
}
}  // namespace

Status RtnlSocket::exchange(const Buffer& b, uint32_t seq, std::string_view what) {
  VLCP_RETURN_IF_ERROR(send(b, what));
  return receive(seq, false, what, [](const NlFrame&) { return Status{}; });
}

Status RtnlSocket::call(LinkMessage m, std::string_view what) {
  InlineBuffer<512> b;
  stamp(m, ++seq_, b);
  return exchange(b, seq_, what);
}

Status RtnlSocket::call(AddrMessage m, std::string_view what) {
  InlineBuffer<256> b;
  stamp(m, ++seq_, b);
  return exchange(b, seq_, what);
}

Status RtnlSocket::call(RouteMessage m, std::string_view what) {
  InlineBuffer<256> b;
  stamp(m, ++seq_, b);
  return exchange(b, seq_, what);
}

Result<LinkMessage> RtnlSocket::get_link(std::string_view name) {
  VLCP_RETURN_IF_ERROR(check_ifname(name));
  uint32_t seq = ++seq_;
  InlineBuffer<128> b;
  encode(b, get_link_request(name, seq));
  std::string what = "looking up link " + std::string(name);
  VLCP_RETURN_IF_ERROR(send(b, what));
  std::optional<LinkMessage> found;
  VLCP_RETURN_IF_ERROR(receive(seq, false, what, [&](const NlFrame& f) -> Status {
    if (f.header.type != RTM_NEWLINK) return make_error(Errc::kMalformed, what + ": unexpected answer");
    VLCP_ASSIGN_OR_RETURN(found, decode_link(f));
    return {};
  }));
  if (!found) return make_error(Errc::kNotFound, what + ": no answer");
  return std::move(*found);
}

Result<std::vector<LinkMessage>> RtnlSocket::dump_links() {
  // A dump that links changed under is marked NLM_F_DUMP_INTR (inconsistent): it is taken again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    uint32_t seq = ++seq_;
    InlineBuffer<64> b;
    encode(b, dump_links_request(seq));
    VLCP_RETURN_IF_ERROR(send(b, "listing links"));
    std::vector<LinkMessage> links;
    bool interrupted = false;
    VLCP_RETURN_IF_ERROR(receive(seq, true, "listing links", [&](const NlFrame& f) -> Status {
      if (f.header.flags & NLM_F_DUMP_INTR) interrupted = true;
      if (f.header.type != RTM_NEWLINK) return {};
      auto m = decode_link(f);
      if (!m.ok()) return m.error().with_context("listing links");
      links.push_back(std::move(*m));
      return {};
    }));
    if (!interrupted) return links;
  }
  return make_error(Errc::kUnavailable,
                    "listing links: the kernel's dump was interrupted by changes three times");
}

Result<Fd> open_netns(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_status(errno, "opening network namespace " + path);
  int type = ioctl(fd.get(), NS_GET_NSTYPE);
  if (type < 0) return make_error(Errc::kInvalidArgument, path + " is not a namespace");
  if (type != CLONE_NEWNET)
    return make_error(Errc::kInvalidArgument, path + " is a namespace but not a network namespace");
  return fd;
}

Result<NsSockets> open_sockets_here() {
  VLCP_ASSIGN_OR_RETURN(RtnlSocket rtnl, RtnlSocket::open());
  Fd inet(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!inet) return errno_status(errno, "opening an AF_INET socket");
  return NsSockets{std::move(rtnl), std::move(inet)};
}

Result<NsSockets> open_sockets_in(const Fd& netns) {
  Fd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self) return errno_status(errno, "opening this thread's network namespace");
  if (setns(netns.get(), CLONE_NEWNET) < 0) return errno_status(errno, "entering a network namespace");
  Result<NsSockets> sockets = open_sockets_here();
  if (setns(self.get(), CLONE_NEWNET) < 0) {
    // A broken invariant: this thread would go on making links in a container's namespace.
    VLCP_LOG(kError, "link") << "cannot return to the thread's own network namespace (errno " << errno
                             << "): aborting";
    std::abort();
  }
  return sockets;
}

}  // namespace vlcp::link
