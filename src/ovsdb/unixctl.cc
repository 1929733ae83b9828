#include "ovsdb/unixctl.h"

#include <unistd.h>

#include <array>
#include <fstream>
#include <memory>
#include <utility>

#include <sys/stat.h>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace vlcp::ovsdb {

namespace asio = boost::asio;
using Json = nlohmann::json;

std::string unixctl_request(std::string_view method, const std::vector<std::string>& args, int64_t id) {
  Json req{{"method", std::string(method)}, {"params", args}, {"id", id}};
  return req.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---- framing -------------------------------------------------------------------------------------

Status UnixctlReader::feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  for (char c : bytes) {
    if (cur_.empty()) {  // between values: whitespace, or the start of the next object
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
      if (c != '{')
        return fail(make_error(Errc::kMalformed, std::string("unixctl: expected a JSON object, got '") +
                                                     (c >= 0x20 && c < 0x7f ? std::string(1, c) : "\\x..") +
                                                     "'"));
    }
    if (cur_.size() >= max_)
      return fail(make_error(Errc::kResourceExhausted,
                             "unixctl: a reply over " + std::to_string(max_) + " bytes (refused)"));
    cur_.push_back(c);
    if (in_string_) {
      if (escape_)
        escape_ = false;
      else if (c == '\\')
        escape_ = true;
      else if (c == '"')
        in_string_ = false;
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      if (++depth_ > kUnixctlMaxDepth)
        return fail(make_error(Errc::kMalformed, "unixctl: JSON nests deeper than " +
                                                     std::to_string(kUnixctlMaxDepth) + " levels"));
    } else if (c == '}' || c == ']') {
      if (--depth_ == 0) {
        Json j = Json::parse(cur_, nullptr, false);
        if (j.is_discarded() || !j.is_object())
          return fail(make_error(Errc::kMalformed, "unixctl: malformed JSON"));
        ready_.push_back(std::move(j));
        cur_.clear();
      }
    }
  }
  return {};
}

std::optional<Json> UnixctlReader::next() {
  if (ready_.empty()) return std::nullopt;
  Json j = std::move(ready_.front());
  ready_.pop_front();
  return j;
}

Result<std::string> unixctl_decode_reply(const Json& reply, int64_t id) {
  if (!reply.is_object() || !reply.contains("id") || !reply.contains("result") || !reply.contains("error"))
    return make_error(Errc::kMalformed,
                      "unixctl: not a JSON-RPC reply: " +
                          reply.dump(-1, ' ', false, Json::error_handler_t::replace).substr(0, 200));
  const Json& rid = reply["id"];
  if (!rid.is_number_integer() || rid.get<int64_t>() != id)
    return make_error(Errc::kMalformed, "unixctl: a reply to another request (id " +
                                            rid.dump(-1, ' ', false, Json::error_handler_t::replace) + ")");
  const Json& err = reply["error"];
  if (!err.is_null()) {
    std::string text =
        err.is_string() ? err.get<std::string>() : err.dump(-1, ' ', false, Json::error_handler_t::replace);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return make_error(Errc::kInvalidArgument, "ovs-vswitchd: " + text);
  }
  const Json& res = reply["result"];
  if (!res.is_string()) return make_error(Errc::kMalformed, "unixctl: the result is not text");
  return res.get<std::string>();
}

// ---- the socket ----------------------------------------------------------------------------------

namespace {

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

Result<std::string> find_vswitchd_ctl(std::string_view configured, std::string_view ovsdb_remote) {
  if (!configured.empty()) return std::string(configured);
  if (ovsdb_remote.rfind("unix:", 0) != 0)
    return make_error(
        Errc::kUnavailable,
        "ovs-vswitchd's control socket: set module.ovsdbmanager.vswitchd_ctl (the OVSDB remote '" +
            std::string(ovsdb_remote) + "' is no unix socket, so it names no run directory)");
  std::string db(ovsdb_remote.substr(5));
  auto slash = db.rfind('/');
  std::string rundir = slash == std::string::npos ? "." : db.substr(0, slash == 0 ? 1 : slash);
  std::string base = rundir == "/" ? "" : rundir;
  std::ifstream pidfile(base + "/ovs-vswitchd.pid");
  long pid = 0;
  if (pidfile >> pid && pid > 0) {
    std::string p = base + "/ovs-vswitchd." + std::to_string(pid) + ".ctl";
    if (is_socket(p)) return p;
  }
  std::string p = base + "/ovs-vswitchd.ctl";
  if (is_socket(p)) return p;
  return make_error(Errc::kUnavailable,
                    "ovs-vswitchd's control socket: neither ovs-vswitchd.<pid>.ctl nor "
                    "ovs-vswitchd.ctl in " +
                        rundir + " (is ovs-vswitchd running? set module.ovsdbmanager.vswitchd_ctl)");
}

namespace {

using unix_stream = asio::local::stream_protocol;

struct Call : std::enable_shared_from_this<Call> {
  Call(asio::io_context& ctx, std::string path, std::string method, int64_t id, UnixctlClient::Done done)
      : socket(ctx),
        timer(ctx),
        path(std::move(path)),
        method(std::move(method)),
        id(id),
        done(std::move(done)) {}

  void finish(Result<std::string> r) {
    if (finished) return;
    finished = true;
    timer.cancel();
    boost::system::error_code ignored;
    socket.close(ignored);
    auto d = std::move(done);
    d(std::move(r));
  }
  void read() {
    socket.async_read_some(
        asio::buffer(buf), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          if (self->finished) return;
          if (n > 0) {
            if (Status s = self->reader.feed(std::string_view(self->buf.data(), n)); !s.ok())
              return self->finish(s.with_context(self->method));
            if (auto j = self->reader.next()) return self->finish(unixctl_decode_reply(*j, self->id));
          }
          if (ec)
            return self->finish(
                make_error(Errc::kUnavailable, "ovs-vswitchd closed its control socket " + self->path +
                                                   " before answering " + self->method +
                                                   (ec == asio::error::eof ? "" : ": " + ec.message())));
          self->read();
        });
  }

  unix_stream::socket socket;
  asio::steady_timer timer;
  std::string path, method;
  int64_t id;
  UnixctlClient::Done done;
  std::string out;
  std::array<char, 16384> buf{};
  UnixctlReader reader;
  bool finished = false;
};

}  // namespace

void UnixctlClient::call(std::string method, std::vector<std::string> args,
                         std::chrono::milliseconds deadline, Done done) {
  Result<std::string> path =
      socket_path_ ? socket_path_() : make_error(Errc::kUnavailable, "no control socket");
  if (!path.ok()) {
    asio::post(ctx_, [done = std::move(done), s = path.status()] { done(s); });
    return;
  }
  int64_t id = next_id_++;
  auto c = std::make_shared<Call>(ctx_, *path, method, id, std::move(done));
  c->out = unixctl_request(method, args, id);
  c->timer.expires_after(deadline);
  c->timer.async_wait([c, deadline](boost::system::error_code ec) {
    if (ec) return;
    c->finish(make_error(Errc::kTimeout, "ovs-vswitchd did not answer " + c->method + " within " +
                                             std::to_string(deadline.count()) + " ms (" + c->path + ")"));
  });
  c->socket.async_connect(unix_stream::endpoint(c->path), [c](boost::system::error_code ec) {
    if (c->finished) return;
    if (ec)
      return c->finish(make_error(Errc::kUnavailable, "cannot connect to ovs-vswitchd's control socket " +
                                                          c->path + ": " + ec.message()));
    asio::async_write(c->socket, asio::buffer(c->out), [c](boost::system::error_code ec, size_t) {
      if (c->finished) return;
      if (ec)
        return c->finish(make_error(
            Errc::kUnavailable, "writing to ovs-vswitchd's control socket " + c->path + ": " + ec.message()));
      c->read();
    });
  });
}

}  // namespace vlcp::ovsdb
