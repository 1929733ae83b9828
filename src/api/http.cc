// The HTTP server (see http.h).
#include "api/http.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <type_traits>

#include "base/log.h"
#include "io/tls.h"
#include "switch/manager.h"

namespace vlcp::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
struct HttpKeys {
  VLCP_HTTP_KEYS(VLCP_KEYS_FIELD)
};

constexpr size_t kBodyLimit = 1 << 20;                   // larger bodies: 413
constexpr auto kIdleTimeout = std::chrono::seconds(30);  // to read a request, or between requests
// A handler that has not answered by then gets 504 (long polls end at 60 s); the connection
// closes, so a late answer has nowhere to go.
constexpr auto kHandlerTimeout = std::chrono::seconds(75);
constexpr size_t kMaxSessions = 512;  // more concurrent connections: 503 and close

bool is_loopback(const std::string& host) {
  return host == "::1" || host.rfind("127.", 0) == 0;
}

// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// One connection: plain TCP (beast::tcp_stream) or TLS (beast::ssl_stream over it).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... TlsContext>
  Session(tcp::socket s, std::shared_ptr<const HttpHandler> handler, std::shared_ptr<const std::string> token,
          std::shared_ptr<size_t> sessions, TlsContext&... tls)
      : stream_(std::move(s), tls...),
        handler_(std::move(handler)),
        token_(std::move(token)),
        sessions_(std::move(sessions)) {
    ++*sessions_;
  }
  ~Session() { --*sessions_; }
  void start() {
    if constexpr (kTls) {
      lowest().expires_after(kIdleTimeout);
      auto self = this->shared_from_this();
      stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) return self->close();  // not TLS, or a client certificate we do not accept
        self->read();
      });
    } else {
      read();
    }
  }
  // Refuses the connection (too many): one 503 answer, then close.
  void refuse() {
    reply_error(503, "too many connections (" + std::to_string(kMaxSessions) + "); retry later", false);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(16 * 1024);
    lowest().expires_after(kIdleTimeout);
    auto self = this->shared_from_this();
    http::async_read(stream_, buffer_, *parser_, [self](beast::error_code ec, size_t) {
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof)
        return self->close();
      if (ec == http::error::body_limit)
        return self->reply_error(413, "the request body is over " + std::to_string(kBodyLimit) + " bytes",
                                 false);
      if (ec == http::error::header_limit)
        return self->reply_error(431, "the request headers are too large", false);
      if (ec) return self->reply_error(400, "bad request: " + ec.message(), false);
      self->handle(parser_release(self));
    });
  }
  static http::request<http::string_body> parser_release(
      const std::shared_ptr<Session>& s) {  // (a helper
                                            // for the lambda)
    return s->parser_->release();
  }

  void handle(http::request<http::string_body> req) {
    bool keep = req.keep_alive();
    if (!token_->empty()) {
      std::string auth(req[http::field::authorization]);
      if (auth.rfind("Bearer ", 0) != 0 || !same_secret(auth.substr(7), *token_))
        return reply_error(401, "missing or wrong bearer token", keep);
    }
    HttpRequest r{std::string(req.method_string()), std::string(req.target()), std::move(req.body())};
    auto self = this->shared_from_this();
    auto answered = std::make_shared<bool>(false);
    timer_.expires_after(kHandlerTimeout);
    timer_.async_wait([self, answered](beast::error_code ec) {
      if (ec || *answered) return;
      *answered = true;
      self->reply_error(504, "the request took longer than " + std::to_string(kHandlerTimeout.count()) + " s",
                        false);
    });
    (*handler_)(r, [self, keep, answered](HttpResponse out) {
      if (*answered) return;
      *answered = true;
      self->timer_.cancel();
      self->send(out.status, std::move(out.body), out.content_type, keep);
    });
  }

  void reply_error(int status, const std::string& message, bool keep) {
    nlohmann::json j = {{"error", message}};
    send(status, j.dump() + "\n", "application/json", keep);
  }

  void send(int status, std::string body, const std::string& type, bool keep) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "vlcpd");
    res->set(http::field::content_type, type);
    if (status == 401) res->set(http::field::www_authenticate, "Bearer");
    res->keep_alive(keep);
    res->body() = std::move(body);
    res->prepare_payload();
    auto self = this->shared_from_this();
    lowest().expires_after(kIdleTimeout);  // to write the answer (however long the handler took)
    http::async_write(stream_, *res, [self, res, keep](beast::error_code ec, size_t) {
      if (ec || !keep) return self->close();
      self->read();
    });
  }

  void close() {
    if constexpr (kTls) {
      if (!shutting_down_) {
        shutting_down_ = true;
        lowest().expires_after(std::chrono::seconds(5));
        auto self = this->shared_from_this();
        return stream_.async_shutdown([self](beast::error_code) { self->close(); });
      }
    }
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  bool shutting_down_ = false;

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const HttpHandler> handler_;
  std::shared_ptr<const std::string> token_;
  std::shared_ptr<size_t> sessions_;  // open sessions (the loop's thread only)
  asio::steady_timer timer_{beast::get_lowest_layer(stream_).get_executor()};
};
}  // namespace

Result<sw::Listener> read_service_endpoint(const Config& config, const char* key, const std::string& url,
                                           uint16_t default_port, bool secret_set, const char* secret_key) {
  auto l = sw::parse_listener(url, default_port);
  if (!l.ok() || l->kind != sw::Listener::Kind::kTcp)
    return make_error(Errc::kInvalidArgument, config.where(key) + ": " + key + ": expected tcp://IP[:PORT]");
  if (!is_loopback(l->host) && !secret_set)
    return make_error(Errc::kInvalidArgument, config.where(key) + ": " + key + " " + url +
                                                  " is not a loopback address: set " + secret_key);
  return *l;
}

Result<HttpSettings> read_http_settings(const Config& config) {
  HttpKeys keys;
  VLCP_HTTP_KEYS(VLCP_KEYS_READ)
  HttpSettings s;
  s.token = keys.token;
  s.key = keys.key;
  s.certificate = keys.certificate;
  s.ca_certs = keys.ca_certs;
  if (keys.url.empty()) return s;
  std::string url = keys.url;
  if (url.rfind("https://", 0) == 0) {
    s.tls = true;
    url = "tcp://" + url.substr(8);
  }
  VLCP_ASSIGN_OR_RETURN(auto l, read_service_endpoint(config, "module.httpserver.url", url, 8081,
                                                      !keys.token.empty(), "module.httpserver.token"));
  if (!is_loopback(l.host) && !s.tls)
    return make_error(Errc::kInvalidArgument, config.where("module.httpserver.url") +
                                                  ": module.httpserver.url " + keys.url +
                                                  " is not a loopback address: use https:// (with " +
                                                  "module.httpserver.key and certificate)");
  if (s.tls && (s.key.empty() || s.certificate.empty()))
    return make_error(Errc::kInvalidArgument,
                      config.where("module.httpserver.url") +
                          ": https:// needs module.httpserver.key and module.httpserver.certificate");
  s.host = l.host;
  s.port = l.port;
  return s;
}

struct HttpServer::Impl {
  explicit Impl(asio::io_context& ctx) : acceptor(ctx) {}
  tcp::acceptor acceptor;
  std::shared_ptr<const HttpHandler> handler;
  std::shared_ptr<const std::string> token;
  std::shared_ptr<size_t> sessions = std::make_shared<size_t>(0);
  std::shared_ptr<asio::ssl::context> tls;  // https://
  template <class Stream, class... Tls>
  void serve(tcp::socket s, Tls&... tls_ctx) {
    if (*sessions >= kMaxSessions) {
      // (over TLS the refusal needs the handshake: the client sees the connection close)
      if constexpr (sizeof...(Tls) == 0)
        std::make_shared<Session<Stream>>(std::move(s), handler, token, std::make_shared<size_t>(0))
            ->refuse();
      return;
    }
    std::make_shared<Session<Stream>>(std::move(s), handler, token, sessions, tls_ctx...)->start();
  }
  void accept(std::shared_ptr<Impl> self) {
    acceptor.async_accept([self](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (self->tls)
          self->serve<beast::ssl_stream<beast::tcp_stream>>(std::move(s), *self->tls);
        else
          self->serve<beast::tcp_stream>(std::move(s));
      }
      self->accept(self);
    });
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::start(asio::io_context& ctx, const HttpSettings& settings,
                                                      HttpHandler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  if (settings.host.empty()) return server;
  auto impl = std::make_shared<Impl>(ctx);
  impl->handler = std::make_shared<const HttpHandler>(std::move(handler));
  impl->token = std::make_shared<const std::string>(settings.token);
  if (settings.tls) {
    VLCP_ASSIGN_OR_RETURN(
        impl->tls,
        io::tls_server_context({settings.key, settings.certificate, settings.ca_certs},
                               !settings.ca_certs.empty(), "module.httpserver.key/certificate/ca_certs"));
  }
  beast::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(settings.host, ec), settings.port);
  if (!ec) impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(Errc::kUnavailable, "WebAPI: cannot listen on " + settings.host + ":" +
                                              std::to_string(settings.port) + ": " + ec.message());
  server->port_ = impl->acceptor.local_endpoint(ec).port();
  impl->accept(impl);
  server->impl_ = impl;
  VLCP_LOG(kInfo, "api") << "WebAPI listening on " << (settings.tls ? "https://" : "http://") << settings.host
                         << ":" << server->port_;
  return server;
}

HttpServer::~HttpServer() {
  if (impl_) {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  }
}

}  // namespace vlcp::api
