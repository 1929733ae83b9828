// A client of ovs-vswitchd's control socket (unixctl: JSON-RPC 1.0 over a unix stream socket,
// OVS's lib/unixctl.c), for `ofproto/trace` (docs/TRACE_DESIGN.md §4.1). vlcpd does not fork
// ovs-appctl: the call is asynchronous on the control loop, has a deadline, and its errors come
// back as Status.
//
// Sans I/O, tested alone: the request encoding, UnixctlReader (OVS's messages are bare
// concatenated JSON values: the reader tracks strings, escapes and nesting and cuts one complete
// top-level value), the reply decoding and the socket-path discovery. UnixctlClient opens one
// connection per call, as ovs-appctl does, so a restarted vswitchd never leaves a stale one.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "base/result.h"

namespace vlcp::ovsdb {

// A reply larger than this is an error (a flood trace of a large network is tens of KB).
inline constexpr size_t kUnixctlMaxReply = 4u << 20;
// JSON nesting deeper than this is an error (the reader never builds it).
inline constexpr int kUnixctlMaxDepth = 64;

// {"method":M,"params":[args...],"id":ID}: arguments are JSON strings, so no quoting is needed.
std::string unixctl_request(std::string_view method, const std::vector<std::string>& args, int64_t id);

// Cuts complete top-level JSON values out of a byte stream. An error (oversize, garbage between
// values, a top-level value that is no object, nesting too deep, malformed JSON) is sticky.
class UnixctlReader {
 public:
  explicit UnixctlReader(size_t max_value = kUnixctlMaxReply) : max_(max_value) {}
  // Feeds bytes; every value they complete is queued for next().
  Status feed(std::string_view bytes);
  // The next complete value, in order.
  std::optional<nlohmann::json> next();
  // True while a value has started and not ended.
  bool partial() const { return !cur_.empty(); }

 private:
  Status fail(Status s) {
    error_ = s;
    return s;
  }
  size_t max_;
  std::string cur_;
  int depth_ = 0;
  bool in_string_ = false, escape_ = false;
  std::deque<nlohmann::json> ready_;
  Status error_;
};

// The reply to request `id`: its "result" text, or the server's "error" text as an error
// (kInvalidArgument: vswitchd refused the command, e.g. "ofproto/trace: unknown bridge"). A
// reply that is no JSON-RPC reply, or to another id, is kMalformed.
Result<std::string> unixctl_decode_reply(const nlohmann::json& reply, int64_t id);

// ovs-vswitchd's control socket. `configured` (module.ovsdbmanager.vswitchd_ctl) wins when set.
// Otherwise the run directory is that of the OVSDB socket (`ovsdb_remote` in OVS syntax,
// "unix:/var/run/openvswitch/db.sock"), and the socket is <rundir>/ovs-vswitchd.<pid>.ctl (pid
// from <rundir>/ovs-vswitchd.pid, a packaged OVS) when it exists, else <rundir>/ovs-vswitchd.ctl
// (the sandbox's --unixctl). Resolved again on every call: vswitchd may have restarted.
Result<std::string> find_vswitchd_ctl(std::string_view configured, std::string_view ovsdb_remote);

class UnixctlClient {
 public:
  using Done = std::function<void(Result<std::string>)>;
  // `socket_path` is asked on every call (find_vswitchd_ctl, bound to the settings).
  UnixctlClient(boost::asio::io_context& ctx, std::function<Result<std::string>()> socket_path)
      : ctx_(ctx), socket_path_(std::move(socket_path)) {}

  // Runs `method args...` and calls `done` once, on the io_context, with the result text or an
  // error: kUnavailable (no socket, connection refused or closed before the reply), kTimeout
  // (past `deadline`), kInvalidArgument (vswitchd's error reply), kMalformed or
  // kResourceExhausted (a reply that is not JSON-RPC, or over kUnixctlMaxReply).
  void call(std::string method, std::vector<std::string> args, std::chrono::milliseconds deadline, Done done);

 private:
  boost::asio::io_context& ctx_;
  std::function<Result<std::string>()> socket_path_;
  int64_t next_id_ = 0;
};

}  // namespace vlcp::ovsdb
