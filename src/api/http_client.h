// A small HTTP/1.1 client on the control loop's context, for the JSON APIs vlcpd talks to (the
// Docker Engine API: GET /v1.41/networks, /containers/json). One request per connection, over a
// unix stream socket or TCP; one deadline for the whole exchange (connect, send, answer); the
// answer's headers and body are bounded; chunked transfer encoding (Docker's) is decoded. Every
// failure is a clear error naming the endpoint: never an exception, never a hang.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "io/listener.h"

namespace vlcp::api {

// unix:///PATH, tcp://IP:PORT or http://IP[:PORT] (port 80) -> an endpoint (kUnix or kTcp).
// Host names are refused (IP addresses only, as every vlcpd endpoint).
Result<io::Listener> parse_http_url(const std::string& url);

struct HttpClientRequest {
  std::string method = "GET";
  std::string target;  // "/v1.41/networks"
  std::string body;    // sent with `content_type` when not empty (or when the method is POST)
  std::string content_type = "application/json";
};
struct HttpClientResponse {
  int status = 0;
  std::string content_type;
  std::string body;  // decoded (chunked or not)
};
struct HttpClientLimits {
  std::chrono::milliseconds timeout{10000};  // the whole exchange
  size_t max_body = size_t{16} << 20;        // larger answers: kResourceExhausted
  size_t max_header = size_t{64} << 10;      // larger header sections: kResourceExhausted
};

// Runs one request; `done` is called exactly once, on the context's thread (never inside this
// call). Errors: kUnavailable (cannot connect, connection lost), kTimeout (the deadline passed),
// kResourceExhausted (headers or body over the limits), kMalformed (not HTTP). Any status is a
// response (the JSON helpers below turn non-2xx into errors).
void http_request(boost::asio::io_context& ctx, const io::Listener& at, HttpClientRequest request,
                  HttpClientLimits limits, std::function<void(Result<HttpClientResponse>)> done);

// The error a non-2xx answer is: its code from the status (400 kInvalidArgument, 401/403
// kPermissionDenied, 404 kNotFound, 409 kConflict, 413 kResourceExhausted, 504 kTimeout, others
// kUnavailable) and a message with the status and the server's own text (Docker's
// {"message": ...}, vlcpd's {"error": ...}, {"Err": ...}, else the body's start).
Status http_status_error(const HttpClientResponse& r, const std::string& what);

// GET/POST with JSON: a 2xx answer's body parsed (an empty body is null); non-2xx answers are
// http_status_error; a body that is not JSON is kMalformed.
using JsonDone = std::function<void(Result<nlohmann::json>)>;
void http_get_json(boost::asio::io_context& ctx, const io::Listener& at, const std::string& target,
                   HttpClientLimits limits, JsonDone done);
void http_post_json(boost::asio::io_context& ctx, const io::Listener& at, const std::string& target,
                    const nlohmann::json& body, HttpClientLimits limits, JsonDone done);

}  // namespace vlcp::api
