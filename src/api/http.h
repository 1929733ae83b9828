// A small HTTP/1.1 JSON server (Boost.Beast) on the control loop's context: the WebAPI's
// transport (keep-alive; limits on body, headers, time and connections). Localhost by default;
// binding anywhere else needs a bearer token and TLS (https://); a configured token is checked
// on every request, and a configured CA makes clients present certificates.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "base/config.h"
#include "base/result.h"
#include "switch/manager.h"

namespace vlcp::api {

#define VLCP_HTTP_KEYS(X)                                                                            \
  X(url, "module.httpserver.url", std::string, "tcp://127.0.0.1:8081",                               \
    "where the WebAPI listens: tcp://IP:PORT, or https://IP:PORT with TLS (empty string: disabled)") \
  X(token, "module.httpserver.token", std::string, "",                                               \
    "bearer token every request must carry (Authorization: Bearer ...); required off loopback")      \
  X(key, "module.httpserver.key", std::string, "", "TLS private key (PEM) for https://")             \
  X(certificate, "module.httpserver.certificate", std::string, "",                                   \
    "TLS certificate chain (PEM) for https://")                                                      \
  X(ca_certs, "module.httpserver.ca_certs", std::string, "",                                         \
    "CA certificates (PEM): when set, https:// clients must present a certificate from them")

// Off loopback the WebAPI needs both a token and TLS.
struct HttpSettings {
  std::string host;  // empty: disabled
  uint16_t port = 8081;
  std::string token;
  bool tls = false;
  std::string key, certificate, ca_certs;
};
Result<HttpSettings> read_http_settings(const Config& config);

// The tcp:// endpoint of one of our services from config key `key` (value `url`), with
// `default_port`. Off loopback it is refused unless `secret_set` (then `secret_key` is named).
Result<sw::Listener> read_service_endpoint(const Config& config, const char* key, const std::string& url,
                                           uint16_t default_port, bool secret_set, const char* secret_key);

struct HttpRequest {
  std::string method;
  std::string target;  // path and query
  std::string body;
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

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(boost::asio::io_context& ctx, const HttpSettings& settings,
                                                   HttpHandler handler);
  ~HttpServer();
  uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace vlcp::api
