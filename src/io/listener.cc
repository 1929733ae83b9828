#include "io/listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vlcp::io {

Result<Listener> parse_listener(const std::string& url, uint16_t default_port) {
  Listener l;
  l.port = default_port;
  l.text = url;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return make_error(Errc::kInvalidArgument, "listener '" + url + "': expected tcp://, ssl:// or unix://");
  std::string scheme = url.substr(0, scheme_end), rest = url.substr(scheme_end + 3);
  if (scheme == "unix") {
    if (rest.empty() || rest[0] != '/')
      return make_error(Errc::kInvalidArgument, "listener '" + url + "': unix:// needs an absolute path");
    l.kind = Listener::Kind::kUnix;
    l.path = rest;
    return l;
  }
  if (scheme == "tcp" || scheme == "ptcp")
    l.kind = Listener::Kind::kTcp;
  else if (scheme == "ssl" || scheme == "pssl")
    l.kind = Listener::Kind::kSsl;
  else
    return make_error(Errc::kInvalidArgument, "listener '" + url + "': unknown scheme '" + scheme + "'");
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  // [v6]:port, v4:port, host alone; empty means VLCP's "all addresses".
  std::string host = rest, port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos)
      return make_error(Errc::kInvalidArgument, "listener '" + url + "': bad IPv6 address");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  l.host = host.empty() ? "0.0.0.0" : host;
  boost::system::error_code ec;
  boost::asio::ip::make_address(l.host, ec);
  if (ec)
    return make_error(Errc::kInvalidArgument,
                      "listener '" + url + "': '" + l.host + "' is not an IP address");
  if (!port.empty()) {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end || p < 0 || p > 65535)
      return make_error(Errc::kInvalidArgument, "listener '" + url + "': bad port");
    l.port = static_cast<uint16_t>(p);
  }
  return l;
}

Status clear_stale_unix_socket(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return make_error(Errc::kInvalidArgument, "unix socket path '" + path + "': empty or longer than " +
                                                  std::to_string(sizeof addr.sun_path - 1) + " bytes");
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return make_error(Errc::kIo, "unix socket path " + path + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    return make_error(Errc::kInvalidArgument, path + " exists and is not a socket: not removed");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::kResourceExhausted, std::string("socket(): ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  int r = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = r == 0 ? 0 : errno;
  close(fd);
  // Connected, or a full backlog (EAGAIN): a live listener. ECONNREFUSED: nobody accepts.
  if (err == 0 || err == EAGAIN || err == EINPROGRESS)
    return make_error(Errc::kAlreadyExists, "something listens on " + path + " already");
  if (err != ECONNREFUSED)
    return make_error(Errc::kIo, "unix socket " + path + ": connect: " + std::strerror(err));
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return make_error(Errc::kIo, "removing the stale socket " + path + ": " + std::strerror(errno));
  return {};
}

bool is_loopback_address(const std::string& ip) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(ip, ec);
  return !ec && a.is_loopback();
}

}  // namespace vlcp::io
