// A small HTTP/1.1 JSON server (Boost.Beast) on the control loop's context: the WebAPI's
// transport (keep-alive; limits on body, headers, time and connections). Localhost by default;
// binding anywhere else needs a bearer token and TLS (https://); a configured token is checked
// on every request, and a configured CA makes clients present certificates.
// Untrusted input policy, enforced here for every module: a target that is not UTF-8 (raw, or
// once percent-decoded) is a 400 before any handler runs; an exception a handler lets escape is
// a 500, counted and logged (rate-limited); connections are capped per client address and in
// all, idle ones shed oldest first, with slots kept for loopback.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/config.h"
#include "base/result.h"
#include "io/listener.h"

namespace vlcp::api {

#define VLCP_HTTP_KEYS(X)                                                                          \
  X(url, "module.httpserver.url", std::string, "tcp://127.0.0.1:8081",                             \
    "where the WebAPI listens: tcp://IP:PORT, https://IP:PORT (TLS), unix:///PATH; '': off")       \
  X(token, "module.httpserver.token", std::string, "",                                             \
    "bearer token every request must carry (Authorization: Bearer ...); required off loopback")    \
  X(key, "module.httpserver.key", std::string, "", "TLS private key (PEM) for https://")           \
  X(certificate, "module.httpserver.certificate", std::string, "",                                 \
    "TLS certificate chain (PEM) for https://")                                                    \
  X(ca_certs, "module.httpserver.ca_certs", std::string, "",                                       \
    "CA certificates (PEM): when set, https:// clients must present a certificate from them")      \
  X(max_connections, "module.httpserver.maxconnections", int64_t, 512,                             \
    "open WebAPI connections at most; at the cap the oldest idle one is closed for a new one")     \
  X(max_connections_per_client, "module.httpserver.maxconnectionsperclient", int64_t, 32,          \
    "open WebAPI connections per client address; over it that client's oldest idle one is closed") \
  X(loopback_reserve, "module.httpserver.loopbackreserve", int64_t, 8,                             \
    "of maxconnections, slots only loopback clients may use (the local operator always gets in)")

// Admission of WebAPI connections, sans I/O (the server's bookkeeping, tested on its own). A
// client address holds at most `per_client` connections (loopback addresses are the operator's
// own host: exempt); all hold at most `max`, of which the last `reserve` only a loopback client
// holding fewer than `per_client` may take (the operator gets in past a local hoarder).
// A connection over a cap takes the place of the oldest idle one (waiting for a request for at
// least kIdleGrace: a fresh connection is sending its first request) — its own client's when
// that client is at its cap; with none to shed it is refused.
class ConnectionLimits {
 public:
  using Id = uint64_t;
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kIdleGrace{1000};
  ConnectionLimits(size_t max, size_t per_client, size_t reserve, Clock::duration grace = kIdleGrace)
      : max_(max), per_client_max_(per_client), reserve_(reserve < max ? reserve : max - 1), grace_(grace) {}
  struct Admission {
    Id id = 0;                                       // 0: refused
    std::vector<Id> shed_per_client, shed_capacity;  // to close now (already forgotten here)
  };
  Admission admit(const std::string& client, bool loopback, Clock::time_point now);
  // A connection waits for a request (idle) or is answering one.
  void set_idle(Id id, bool idle, Clock::time_point now);
  void remove(Id id);
  size_t open() const { return conns_.size(); }
  size_t open_from(const std::string& client) const;

 private:
  struct Conn {
    std::string client;
    bool idle = true;
    Clock::time_point since;
  };
  // The idle connection waiting longest (of `client` only when given), if any past the grace.
  std::optional<Id> oldest_idle(const std::string* client, Clock::time_point now,
                                const std::vector<Id>& taken) const;
  void forget(std::map<Id, Conn>::iterator it);
  size_t max_, per_client_max_, reserve_;
  Clock::duration grace_;
  Id next_ = 1;
  std::map<Id, Conn> conns_;
  std::map<std::string, size_t> per_client_;
};

// Off loopback the WebAPI needs both a token and TLS.
struct HttpSettings {
  std::string host;  // empty: disabled (unless unix_path is set)
  uint16_t port = 8081;
  // When set: listen on this unix stream socket instead of host:port (the Docker plugin's and
  // the CNI server's sockets; module.httpserver.url = 'unix:///PATH'), with the same limits. A
  // stale socket file is replaced, a live one or a path that is not a socket refused
  // (io::clear_stale_unix_socket); the file gets `unix_mode`, and is removed with the server.
  // Its clients are local: the per-client cap does not apply, the total cap does.
  std::string unix_path;
  unsigned unix_mode = 0660;
  std::string token;
  bool tls = false;
  std::string key, certificate, ca_certs;
  size_t max_connections = 512, max_connections_per_client = 32, loopback_reserve = 8;
  std::chrono::milliseconds idle_grace = ConnectionLimits::kIdleGrace;  // (tests shorten it)
};
Result<HttpSettings> read_http_settings(const Config& config);

// The tcp:// endpoint of one of our services from config key `key` (value `url`), with
// `default_port`. Off loopback it is refused unless `secret_set` (then `secret_key` is named).
Result<io::Listener> read_service_endpoint(const Config& config, const char* key, const std::string& url,
                                           uint16_t default_port, bool secret_set, const char* secret_key);

// What the HTTP server counts, process-wide (read by /metrics from its own thread).
struct HttpCounters {
  std::atomic<uint64_t> handler_errors{0};   // exceptions a handler let escape: answered 500
  std::atomic<uint64_t> bad_encoding{0};     // targets that are not UTF-8: answered 400
  std::atomic<uint64_t> shed_per_client{0};  // idle connections closed: their client was at its cap
  std::atomic<uint64_t> shed_capacity{0};    // idle connections closed: the server was at its cap
  std::atomic<uint64_t> refused{0};          // new connections refused (503): nothing idle to shed
  std::atomic<int64_t> open{0};              // connections open now
};
HttpCounters& http_counters();

// Equal secrets, compared in time that depends only on `secret`'s length (tokens, passwords).
bool same_secret(std::string_view given, std::string_view secret);
// The credentials of an `Authorization: <scheme> <credentials>` header when its scheme is
// `scheme` (compared case-insensitively, RFC 7235); empty otherwise.
std::string_view auth_credentials(std::string_view header, std::string_view scheme);

// %XX and '+' decoded (form and query encoding); a malformed %-sequence is kept as it is.
std::string percent_decode(std::string_view s);
// Client JSON nests at most this deep (objects and arrays; literals too): deeper input is
// refused where it is parsed, so nothing recursive (copy, dump, compare) ever meets it.
constexpr int kMaxJsonDepth = 64;
// Client JSON text parsed: a clear error (kInvalidArgument) for malformed text, invalid UTF-8
// or nesting deeper than kMaxJsonDepth; never throws.
Result<nlohmann::json> parse_client_json(std::string_view text);
// JSON text for an answer: never throws, even on a string stored before input was checked
// (invalid UTF-8 is replaced by U+FFFD). `indent` as json::dump's.
std::string json_text(const nlohmann::json& j, int indent = -1);

struct HttpRequest {
  std::string method;
  std::string target;  // path and query
  std::string body;
  // The request's header fields, as sent (the CNI server reads vlcp-cni's X-CNI-* fields).
  std::vector<std::pair<std::string, std::string>> headers = {};
};
struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};
// A handler answers through `respond`, on the loop's thread, now or later (a long poll, a
// database transaction); it must call it exactly once.
using HttpResponder = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const HttpRequest&, HttpResponder respond)>;
// A handler that answers at once.
inline HttpHandler sync_handler(std::function<HttpResponse(const HttpRequest&)> fn) {
  return [fn = std::move(fn)](const HttpRequest& r, HttpResponder respond) { respond(fn(r)); };
}

// Calls `fn` (a handler, or the step of one that runs later); an exception it lets escape is
// answered 500 through `respond` (once: `respond` must tolerate a second call, as the server's
// own does), counted in http_counters().handler_errors and logged, rate-limited, with `where`.
void guard_handler(const char* where, const HttpResponder& respond, const std::function<void()>& fn);
// `respond` made safe to call more than once (later calls are dropped).
HttpResponder respond_once(HttpResponder respond);

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(boost::asio::io_context& ctx, const HttpSettings& settings,
                                                   HttpHandler handler);
  ~HttpServer();
  uint16_t port() const { return port_; }                      // tcp (0 on a unix socket)
  const std::string& unix_path() const { return unix_path_; }  // unix ("" on tcp)

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  uint16_t port_ = 0;
  std::string unix_path_;
};

}  // namespace vlcp::api
