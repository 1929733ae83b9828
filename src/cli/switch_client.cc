// Blocking OpenFlow client over unix or tcp sockets, with poll() timeouts.
#include "cli/switch_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vlcp::cli {
namespace {

Result<int> open_socket(const std::string& target) {
  if (target.rfind("unix:", 0) == 0) {
    std::string path = target.substr(5);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
      return make_error(Errc::kInvalidArgument, "socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::string why = std::strerror(errno);
      if (fd >= 0) close(fd);
      return make_error(Errc::kUnavailable, "cannot connect to " + target + ": " + why);
    }
    return fd;
  }
  if (target.rfind("tcp:", 0) == 0) {
    std::string rest = target.substr(4);
    auto colon = rest.rfind(':');
    if (colon == std::string::npos)
      return make_error(Errc::kInvalidArgument, "expected tcp:HOST:PORT, got " + target);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(rest.substr(0, colon).c_str(), rest.substr(colon + 1).c_str(), &hints, &res) != 0 || !res)
      return make_error(Errc::kInvalidArgument, "cannot resolve " + target);
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : ::connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0) {
      std::string why = std::strerror(errno);
      if (fd >= 0) close(fd);
      return make_error(Errc::kUnavailable, "cannot connect to " + target + ": " + why);
    }
    return fd;
  }
  return make_error(Errc::kInvalidArgument,
                    "switch address must be unix:PATH or tcp:HOST:PORT, got " + target);
}

}  // namespace

SwitchClient::~SwitchClient() {
  close(fd_);
}

Result<std::unique_ptr<SwitchClient>> SwitchClient::connect(const std::string& target,
                                                            std::chrono::milliseconds timeout) {
  VLCP_ASSIGN_OR_RETURN(int fd, open_socket(target));
  std::unique_ptr<SwitchClient> c(new SwitchClient(fd, timeout));
  InlineBuffer<64> hello;
  ofp::encode_hello(hello, c->next_xid(), ofp::Hello{1u << ofp::kOfp13});
  VLCP_RETURN_IF_ERROR(c->send_all(hello.span()));
  std::vector<uint8_t> m;
  VLCP_RETURN_IF_ERROR(c->receive(m));
  if (m.size() < 8 || m[1] != static_cast<uint8_t>(ofp::MsgType::kHello))
    return make_error(Errc::kMalformed, target + ": expected HELLO first");
  // The peer's HELLO may carry another version in its header; negotiate from its bitmap.
  uint32_t theirs = ((2u << m[0]) - 1) & ~1u;
  if (m[0] == ofp::kOfp13) {
    auto frame = ofp::decode_frame(ByteSpan(m));
    if (frame.ok()) theirs = ofp::decode_hello(*frame)->version_bitmap;
  } else if (m.size() >= 16 && load_be16(m.data() + 8) == 1) {
    theirs = load_be32(m.data() + 12) & ~1u;
  }
  if (ofp::negotiate_version(1u << ofp::kOfp13, theirs) != ofp::kOfp13)
    return make_error(Errc::kUnsupported, target +
                                              ": the switch does not speak OpenFlow 1.3 (enable it: "
                                              "ovs-vsctl set bridge BR protocols=OpenFlow13)");
  return c;
}

Status SwitchClient::send_all(ByteSpan bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(Errc::kIo, std::string("send: ") + std::strerror(errno));
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return {};
}

Status SwitchClient::receive(std::vector<uint8_t>& message) {
  for (;;) {
    size_t len = ofp::frame_length(ByteSpan(pending_));
    if (len && pending_.size() >= len) {
      message.assign(pending_.begin(), pending_.begin() + static_cast<long>(len));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(len));
      return {};
    }
    pollfd p{fd_, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(timeout_.count()));
    if (rc == 0) return make_error(Errc::kTimeout, "no reply from the switch");
    if (rc < 0 && errno == EINTR) continue;
    uint8_t buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return make_error(Errc::kUnavailable, "the switch closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::kIo, std::string("recv: ") + std::strerror(errno));
    }
    pending_.insert(pending_.end(), buf, buf + n);
  }
}

Status SwitchClient::transact(ByteSpan request, const std::function<Status(const ofp::Frame&)>& on_reply) {
  uint32_t xid = load_be32(request.data() + 4);
  VLCP_RETURN_IF_ERROR(send_all(request));
  std::vector<uint8_t> m;
  for (;;) {
    VLCP_RETURN_IF_ERROR(receive(m));
    auto frame = ofp::decode_frame(ByteSpan(m));
    if (!frame.ok())
      return make_error(Errc::kMalformed, "bad message from the switch: " + ofp::error_name(frame.error()));
    const ofp::Frame& f = *frame;
    if (f.header.type == ofp::MsgType::kEchoRequest) {
      InlineBuffer<256> reply;
      ofp::encode_simple(reply, ofp::MsgType::kEchoReply, f.header.xid, f.body);
      VLCP_RETURN_IF_ERROR(send_all(reply.span()));
      continue;
    }
    if (f.header.xid != xid) continue;  // asynchronous messages (port status...) are not ours
    if (f.header.type == ofp::MsgType::kError) {
      auto e = ofp::decode_error(f);
      return make_error(Errc::kInvalidArgument,
                        "the switch refused the request: " + ofp::error_name(e->error));
    }
    VLCP_RETURN_IF_ERROR(on_reply(f));
    bool more = f.header.type == ofp::MsgType::kMultipartReply &&
                (load_be16(f.body.data() + 2) & ofp::kMultipartMore);
    if (!more) return {};
  }
}

}  // namespace vlcp::cli
