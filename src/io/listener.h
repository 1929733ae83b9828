// Where a server listens, as configured: tcp://IP[:PORT], ssl://IP[:PORT] or unix:///PATH. Used
// by the OpenFlow listeners (switch/) and the WebAPI and metrics endpoints (api/).
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace vlcp::io {

struct Listener {
  enum class Kind { kTcp, kSsl, kUnix } kind = Kind::kTcp;
  std::string host;  // IP address (tcp, ssl)
  uint16_t port = 6653;
  std::string path;      // unix
  unsigned mode = 0660;  // unix: the socket file's permission bits
  std::string text;      // as configured
};

// tcp://IP[:PORT] (also ptcp), ssl://IP[:PORT] (also pssl), unix:///PATH; IPv6 in brackets. An
// empty host is VLCP's "all addresses" (0.0.0.0); host names are refused (IP addresses only).
Result<Listener> parse_listener(const std::string& url, uint16_t default_port = 6653);

// Makes `path` free for a new unix socket: nothing there, or a stale socket file (a connect
// finds nobody accepting: a crashed daemon's) — then it is removed. A socket something answers
// on is refused (kAlreadyExists), and so is anything that is not a socket (kInvalidArgument),
// which is never removed; a path too long for sockaddr_un is kInvalidArgument.
Status clear_stale_unix_socket(const std::string& path);

// True for 127.0.0.0/8 and ::1 (false for anything that does not parse).
bool is_loopback_address(const std::string& ip);

}  // namespace vlcp::io
