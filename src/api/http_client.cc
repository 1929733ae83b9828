// The HTTP client (see http_client.h).
#include "api/http_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>

#include "api/http.h"

namespace vlcp::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::string label(const io::Listener& at) {
  if (!at.text.empty()) return at.text;
  if (at.kind == io::Listener::Kind::kUnix) return "unix://" + at.path;
  return "tcp://" + at.host + ":" + std::to_string(at.port);
}

// One exchange over `Protocol` (tcp or local): connect, write, read, each under one deadline.
template <class Protocol>
class Exchange : public std::enable_shared_from_this<Exchange<Protocol>> {
 public:
  using Done = std::function<void(Result<HttpClientResponse>)>;
  Exchange(asio::io_context& ctx, std::string where, HttpClientLimits limits, Done done)
      : stream_(ctx), where_(std::move(where)), limits_(limits), done_(std::move(done)) {}

  void start(typename Protocol::endpoint ep, http::request<http::string_body> req) {
    req_ = std::move(req);
    stream_.expires_after(limits_.timeout);  // (one deadline: kept across the operations)
    auto self = this->shared_from_this();
    stream_.async_connect(ep, [self](beast::error_code ec) {
      if (ec) return self->fail(ec, "cannot connect");
      http::async_write(self->stream_, self->req_, [self](beast::error_code ec, size_t) {
        if (ec) return self->fail(ec, "sending the request");
        self->parser_.emplace();
        self->parser_->body_limit(self->limits_.max_body);
        self->parser_->header_limit(static_cast<uint32_t>(self->limits_.max_header));
        http::async_read_header(
            self->stream_, self->buffer_, *self->parser_, [self](beast::error_code ec, size_t) {
              if (ec) return self->fail(ec, "reading the answer");
              // (Beast 1.74 lets a response's Content-Length past body_limit when the body arrived
              // with the header: checked here, before any of the body is stored.)
              if (auto length = self->parser_->content_length(); length && *length > self->limits_.max_body)
                return self->fail(http::error::body_limit, "reading the answer");
              if (self->parser_->is_done()) return self->deliver();
              http::async_read(self->stream_, self->buffer_, *self->parser_,
                               [self](beast::error_code ec, size_t) {
                                 if (ec) return self->fail(ec, "reading the answer");
                                 self->deliver();
                               });
            });
      });
    });
  }

 private:
  void deliver() {
    auto& res = parser_->get();
    HttpClientResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    finish(std::move(out));
  }
  void fail(beast::error_code ec, const char* step) {
    Errc code = Errc::kUnavailable;
    std::string why = ec.message();
    if (ec == beast::error::timeout) {
      code = Errc::kTimeout;
      why = "no answer within " + std::to_string(limits_.timeout.count()) + " ms";
    } else if (ec == http::error::body_limit) {
      code = Errc::kResourceExhausted;
      why = "the answer's body is over " + std::to_string(limits_.max_body) + " bytes";
    } else if (ec == http::error::header_limit) {
      code = Errc::kResourceExhausted;
      why = "the answer's headers are over " + std::to_string(limits_.max_header) + " bytes";
    } else if (&ec.category() == &http::make_error_code(http::error::bad_version).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      code = Errc::kMalformed;
      why = "not an HTTP answer (" + ec.message() + ")";
    }
    finish(make_error(code, where_ + ": " + step + ": " + why));
  }
  void finish(Result<HttpClientResponse> r) {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::socket_base::shutdown_both, ignored);
    stream_.close();
    if (auto done = std::move(done_)) {
      done_ = nullptr;
      done(std::move(r));
    }
  }

  beast::basic_stream<Protocol, asio::any_io_executor, beast::unlimited_rate_policy> stream_;
  std::string where_;
  HttpClientLimits limits_;
  Done done_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

Errc status_code(int status) {
  switch (status) {
    case 400:
      return Errc::kInvalidArgument;
    case 401:
    case 403:
      return Errc::kPermissionDenied;
    case 404:
      return Errc::kNotFound;
    case 409:
      return Errc::kConflict;
    case 413:
      return Errc::kResourceExhausted;
    case 504:
      return Errc::kTimeout;
    default:
      return Errc::kUnavailable;
  }
}

void json_exchange(asio::io_context& ctx, const io::Listener& at, HttpClientRequest req,
                   HttpClientLimits limits, JsonDone done) {
  std::string what = req.method + " " + label(at) + req.target;
  http_request(ctx, at, std::move(req), limits, [what, done = std::move(done)](Result<HttpClientResponse> r) {
    if (!r.ok()) return done(r.error());
    if (r->status < 200 || r->status > 299) return done(http_status_error(*r, what));
    if (r->body.find_first_not_of(" \t\r\n") == std::string::npos) return done(nlohmann::json());
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return done(make_error(Errc::kMalformed, what + ": the answer is not JSON"));
    done(std::move(j));
  });
}

}  // namespace

Result<io::Listener> parse_http_url(const std::string& url) {
  std::string u = url;
  uint16_t default_port = 80;
  if (u.rfind("http://", 0) == 0) u = "tcp://" + u.substr(7);
  VLCP_ASSIGN_OR_RETURN(auto l, io::parse_listener(u, default_port));
  if (l.kind == io::Listener::Kind::kSsl)
    return make_error(Errc::kUnsupported,
                      "'" + url + "': expected unix:///PATH, tcp://IP:PORT or http://IP[:PORT]");
  l.text = url;
  return l;
}

void http_request(asio::io_context& ctx, const io::Listener& at, HttpClientRequest request,
                  HttpClientLimits limits, std::function<void(Result<HttpClientResponse>)> done) {
  http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
  if (req.method() == http::verb::unknown) req.method_string(request.method);
  bool is_unix = at.kind == io::Listener::Kind::kUnix;
  // (Go's server, Docker's, wants a Host header; on a unix socket any name does.)
  req.set(http::field::host, is_unix ? std::string("localhost") : at.host + ":" + std::to_string(at.port));
  req.set(http::field::user_agent, "vlcpd");
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
  if (!request.body.empty() || req.method() == http::verb::post) {
    req.set(http::field::content_type, request.content_type);
    req.body() = std::move(request.body);
  }
  req.prepare_payload();
  if (is_unix) {
    auto x =
        std::make_shared<Exchange<asio::local::stream_protocol>>(ctx, label(at), limits, std::move(done));
    x->start(asio::local::stream_protocol::endpoint(at.path), std::move(req));
    return;
  }
  beast::error_code ec;
  auto addr = asio::ip::make_address(at.host, ec);
  if (ec || at.kind != io::Listener::Kind::kTcp) {
    auto error =
        make_error(Errc::kInvalidArgument, label(at) + ": not a unix or tcp endpoint with an IP address");
    asio::post(ctx, [done = std::move(done), error] { done(error); });
    return;
  }
  auto x = std::make_shared<Exchange<asio::ip::tcp>>(ctx, label(at), limits, std::move(done));
  x->start(asio::ip::tcp::endpoint(addr, at.port), std::move(req));
}

Status http_status_error(const HttpClientResponse& r, const std::string& what) {
  std::string text;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    for (const char* key : {"message", "error", "Err"}) {
      auto it = j.find(key);
      if (it != j.end() && it->is_string()) {
        text = it->get<std::string>();
        break;
      }
    }
  }
  if (text.empty()) text = r.body.substr(0, std::min<size_t>(r.body.find('\n'), 200));
  return make_error(status_code(r.status),
                    what + ": HTTP " + std::to_string(r.status) + (text.empty() ? "" : ": ") + text);
}

void http_get_json(asio::io_context& ctx, const io::Listener& at, const std::string& target,
                   HttpClientLimits limits, JsonDone done) {
  HttpClientRequest req;
  req.target = target;
  json_exchange(ctx, at, std::move(req), limits, std::move(done));
}

void http_post_json(asio::io_context& ctx, const io::Listener& at, const std::string& target,
                    const nlohmann::json& body, HttpClientLimits limits, JsonDone done) {
  HttpClientRequest req;
  req.method = "POST";
  req.target = target;
  req.body = json_text(body);
  json_exchange(ctx, at, std::move(req), limits, std::move(done));
}

}  // namespace vlcp::api
