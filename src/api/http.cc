// The HTTP server (see http.h).
#include "api/http.h"

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <tuple>
#include <type_traits>

#include "base/literal.h"
#include "base/log.h"
#include "io/listener.h"
#include "io/tls.h"

namespace vlcp::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
// A connection on a unix stream socket: a beast stream (timeouts) over the local protocol.
using unix_stream = beast::basic_stream<local, asio::any_io_executor, beast::unlimited_rate_policy>;

namespace {
struct HttpKeys {
  VLCP_HTTP_KEYS(VLCP_KEYS_FIELD)
};

constexpr size_t kBodyLimit = 1 << 20;                   // larger bodies: 413
constexpr auto kIdleTimeout = std::chrono::seconds(30);  // to read a request, or between requests
// A handler that has not answered by then gets 504 (long polls end at 60 s); the connection
// closes, so a late answer has nowhere to go.
constexpr auto kHandlerTimeout = std::chrono::seconds(75);

bool is_loopback(const std::string& host) {
  return host == "::1" || host.rfind("127.", 0) == 0 || host.rfind("::ffff:127.", 0) == 0;
}

// The open connections: their admission bookkeeping and how to close each (shedding).
struct Registry {
  explicit Registry(const HttpSettings& s)
      : limits(s.max_connections, s.max_connections_per_client, s.loopback_reserve, s.idle_grace) {}
  ConnectionLimits limits;
  std::map<ConnectionLimits::Id, std::function<void()>> closers;
};

// One connection: plain TCP (beast::tcp_stream), TLS (beast::ssl_stream over it), or a unix
// stream socket (unix_stream); the same limits and timeouts for each.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  using Lowest = std::remove_reference_t<decltype(beast::get_lowest_layer(std::declval<Stream&>()))>;

 public:
  using Socket = typename Lowest::socket_type;
  template <class... TlsContext>
  Session(Socket s, std::shared_ptr<const HttpHandler> handler, std::shared_ptr<const std::string> token,
          TlsContext&... tls)
      : stream_(std::move(s), tls...), handler_(std::move(handler)), token_(std::move(token)) {
    ++http_counters().open;
  }
  ~Session() {
    --http_counters().open;
    forget();
  }
  // Admitted as `id` in `registry`: it may be shed (closed) to make room for another.
  void admitted(std::shared_ptr<Registry> registry, ConnectionLimits::Id id) {
    registry_ = std::move(registry);
    id_ = id;
    std::weak_ptr<Session> weak = this->shared_from_this();
    registry_->closers[id_] = [weak] {
      if (auto self = weak.lock()) self->shed();
    };
  }
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
  void refuse(size_t open) {
    reply_error(503, "too many connections (" + std::to_string(open) + "); retry later", false);
  }

 private:
  void forget() {
    if (!registry_) return;
    registry_->limits.remove(id_);
    registry_->closers.erase(id_);
    registry_.reset();
  }
  // Closed to make room: the pending read ends with an error nobody answers.
  void shed() {
    shed_ = true;
    registry_.reset();  // (the registry forgot it already)
    beast::error_code ec;
    lowest().socket().shutdown(asio::socket_base::shutdown_both, ec);
    lowest().socket().close(ec);
  }
  void set_idle(bool idle) {
    if (registry_) registry_->limits.set_idle(id_, idle, ConnectionLimits::Clock::now());
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(16 * 1024);
    lowest().expires_after(kIdleTimeout);
    set_idle(true);
    auto self = this->shared_from_this();
    http::async_read(stream_, buffer_, *parser_, [self](beast::error_code ec, size_t) {
      if (self->shed_) return;
      self->set_idle(false);
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof)
        return self->close();
      if (ec == http::error::body_limit)
        return self->reply_error(413, "the request body is over " + std::to_string(kBodyLimit) + " bytes",
                                 false);
      if (ec == http::error::header_limit)
        return self->reply_error(431, "the request headers are too large", false);
      if (ec) return self->reply_error(400, "bad request: " + ec.message(), false);
      self->handle(self->parser_->release());
    });
  }

  void handle(http::request<http::string_body> req) {
    bool keep = req.keep_alive();
    if (!token_->empty()) {
      auto auth = req[http::field::authorization];
      if (!same_secret(auth_credentials({auth.data(), auth.size()}, "Bearer"), *token_))
        return reply_error(401, "missing or wrong bearer token", keep);
    }
    // Every module reads its path and parameters from the target: UTF-8 or nothing.
    std::string_view target(req.target().data(), req.target().size());
    if (!valid_utf8(target) || !valid_utf8(percent_decode(target))) {
      ++http_counters().bad_encoding;
      return reply_error(400, "the request target is not UTF-8 (raw or %-encoded)", keep);
    }
    HttpRequest r{std::string(req.method_string()), std::string(target), std::move(req.body())};
    for (const auto& field : req)
      r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    auto self = this->shared_from_this();
    auto answered = std::make_shared<bool>(false);
    timer_.expires_after(kHandlerTimeout);
    timer_.async_wait([self, answered](beast::error_code ec) {
      if (ec || *answered) return;
      *answered = true;
      self->reply_error(504, "the request took longer than " + std::to_string(kHandlerTimeout.count()) + " s",
                        false);
    });
    HttpResponder respond = [self, keep, answered](HttpResponse out) {
      if (*answered) return;
      *answered = true;
      self->timer_.cancel();
      self->send(out.status, std::move(out.body), out.content_type, keep);
    };
    guard_handler("HTTP handler", respond, [&] { (*handler_)(r, respond); });
  }

  void reply_error(int status, const std::string& message, bool keep) {
    send(status, json_text(nlohmann::json{{"error", message}}) + "\n", "application/json", keep);
  }

  void send(int status, std::string body, const std::string& type, bool keep) {
    if (shed_) return;
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
      if (self->shed_) return;
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
    lowest().socket().shutdown(asio::socket_base::shutdown_both, ec);
  }
  Lowest& lowest() { return beast::get_lowest_layer(stream_); }

  static constexpr bool kTls = !std::is_same_v<Stream, Lowest>;
  bool shutting_down_ = false;
  bool shed_ = false;

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const HttpHandler> handler_;
  std::shared_ptr<const std::string> token_;
  std::shared_ptr<Registry> registry_;  // null: refused, shed, or closed
  ConnectionLimits::Id id_ = 0;
  asio::steady_timer timer_{beast::get_lowest_layer(stream_).get_executor()};
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

HttpCounters& http_counters() {
  static HttpCounters counters;
  return counters;
}

bool same_secret(std::string_view given, std::string_view secret) {
  if (secret.empty()) return false;
  // Every byte of the secret is visited whatever `given` holds: the time tells nothing of it.
  unsigned diff = given.size() != secret.size();
  for (size_t i = 0; i < secret.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= g ^ static_cast<unsigned char>(secret[i]);
  }
  return diff == 0;
}

std::string_view auth_credentials(std::string_view header, std::string_view scheme) {
  size_t i = 0;
  while (i < header.size() && header[i] == ' ') ++i;
  if (header.size() - i <= scheme.size()) return {};
  for (size_t k = 0; k < scheme.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(header[i + k])) !=
        std::tolower(static_cast<unsigned char>(scheme[k])))
      return {};
  i += scheme.size();
  if (header[i] != ' ') return {};
  while (i < header.size() && header[i] == ' ') ++i;
  size_t end = header.size();
  while (end > i && header[end - 1] == ' ') --end;
  return header.substr(i, end - i);
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Result<nlohmann::json> parse_client_json(std::string_view text) {
  // The callback sees every value's depth; a deep one is dropped at once (its insides are
  // scanned, never built), so nothing deep exists to copy, print or destroy.
  bool too_deep = false;
  auto j = nlohmann::json::parse(
      text,
      [&too_deep](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > kMaxJsonDepth) too_deep = true;
        return !too_deep;
      },
      false);
  if (too_deep)
    return make_error(Errc::kInvalidArgument,
                      "the JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  if (j.is_discarded()) return make_error(Errc::kInvalidArgument, "malformed JSON (or not UTF-8)");
  return j;
}

std::string json_text(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void guard_handler(const char* where, const HttpResponder& respond, const std::function<void()>& fn) {
  std::string what;
  try {
    fn();
    return;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "an exception that is not a std::exception";
  }
  ++http_counters().handler_errors;
  VLCP_LOG_RL(kError, "api", 10, 5) << where << " failed: " << what;
  try {
    respond(HttpResponse{500, json_text(nlohmann::json{{"error", "internal error: " + what}}) + "\n",
                         "application/json"});
  } catch (...) {  // (a responder of ours does not throw; a broken one must not take the loop down)
  }
}

HttpResponder respond_once(HttpResponder respond) {
  auto done = std::make_shared<bool>(false);
  return [done, respond = std::move(respond)](HttpResponse r) {
    if (*done) return;
    *done = true;
    respond(std::move(r));
  };
}

ConnectionLimits::Admission ConnectionLimits::admit(const std::string& client, bool loopback,
                                                    Clock::time_point now) {
  // Choose what to shed first, and change nothing when the connection is refused.
  std::vector<Id> per_client, capacity;
  size_t open = conns_.size();
  if (!loopback && open_from(client) >= per_client_max_) {
    auto victim = oldest_idle(&client, now, {});
    if (!victim) return {};
    per_client.push_back(*victim);
    --open;
  }
  // The reserve is for the operator's own host, not for a local process hoarding connections.
  bool reserve_ok = loopback && open_from(client) < per_client_max_;
  size_t limit = reserve_ok ? max_ : max_ - reserve_;
  while (open >= limit) {
    std::vector<Id> taken = per_client;
    taken.insert(taken.end(), capacity.begin(), capacity.end());
    auto victim = oldest_idle(nullptr, now, taken);
    if (!victim) return {};
    capacity.push_back(*victim);
    --open;
  }
  for (Id id : per_client) forget(conns_.find(id));
  for (Id id : capacity) forget(conns_.find(id));
  Admission a{next_++, std::move(per_client), std::move(capacity)};
  conns_[a.id] = Conn{client, true, now};
  ++per_client_[client];
  return a;
}

void ConnectionLimits::set_idle(Id id, bool idle, Clock::time_point now) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  it->second.idle = idle;
  it->second.since = now;
}

void ConnectionLimits::remove(Id id) {
  auto it = conns_.find(id);
  if (it != conns_.end()) forget(it);
}

size_t ConnectionLimits::open_from(const std::string& client) const {
  auto it = per_client_.find(client);
  return it == per_client_.end() ? 0 : it->second;
}

std::optional<ConnectionLimits::Id> ConnectionLimits::oldest_idle(const std::string* client,
                                                                  Clock::time_point now,
                                                                  const std::vector<Id>& taken) const {
  std::optional<Id> best;
  Clock::time_point best_since;
  for (const auto& [id, c] : conns_) {
    if (!c.idle || now - c.since < grace_ || (client && c.client != *client)) continue;
    if (std::find(taken.begin(), taken.end(), id) != taken.end()) continue;
    if (!best || c.since < best_since) best = id, best_since = c.since;
  }
  return best;
}

void ConnectionLimits::forget(std::map<Id, Conn>::iterator it) {
  auto pc = per_client_.find(it->second.client);
  if (pc != per_client_.end() && --pc->second == 0) per_client_.erase(pc);
  conns_.erase(it);
}

Result<io::Listener> read_service_endpoint(const Config& config, const char* key, const std::string& url,
                                           uint16_t default_port, bool secret_set, const char* secret_key) {
  auto l = io::parse_listener(url, default_port);
  if (!l.ok() || l->kind != io::Listener::Kind::kTcp)
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
  for (auto [value, key, min] :
       {std::tuple{keys.max_connections, "module.httpserver.maxconnections", 1},
        std::tuple{keys.max_connections_per_client, "module.httpserver.maxconnectionsperclient", 1},
        std::tuple{keys.loopback_reserve, "module.httpserver.loopbackreserve", 0}})
    if (value < min || value > 1000000)
      return make_error(Errc::kInvalidArgument, config.where(key) + ": " + key + ": expected " +
                                                    std::to_string(min) + "..1000000, got " +
                                                    std::to_string(value));
  if (keys.loopback_reserve >= keys.max_connections)
    return make_error(Errc::kInvalidArgument, config.where("module.httpserver.loopbackreserve") +
                                                  ": module.httpserver.loopbackreserve must be less than "
                                                  "module.httpserver.maxconnections");
  s.max_connections = static_cast<size_t>(keys.max_connections);
  s.max_connections_per_client = static_cast<size_t>(keys.max_connections_per_client);
  s.loopback_reserve = static_cast<size_t>(keys.loopback_reserve);
  if (keys.url.empty()) return s;
  std::string url = keys.url;
  if (url.rfind("unix://", 0) == 0) {  // local: the socket file's mode is the access control
    auto l = io::parse_listener(url);
    if (!l.ok())
      return make_error(Errc::kInvalidArgument, config.where("module.httpserver.url") +
                                                    ": module.httpserver.url: " + l.error().message());
    s.unix_path = l->path;
    s.unix_mode = 0600;
    return s;
  }
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
  Impl(asio::io_context& ctx, const HttpSettings& s)
      : acceptor(ctx), unix_acceptor(ctx), registry(std::make_shared<Registry>(s)) {}
  tcp::acceptor acceptor;
  local::acceptor unix_acceptor;  // (unix_path)
  std::string unix_path;
  dev_t unix_dev = 0;  // the socket file made, removed with the server only if it is still ours
  ino_t unix_ino = 0;
  std::shared_ptr<const HttpHandler> handler;
  std::shared_ptr<const std::string> token;
  std::shared_ptr<Registry> registry;
  std::shared_ptr<asio::ssl::context> tls;  // https://
  template <class Stream, class... Tls>
  void serve(tcp::socket s, Tls&... tls_ctx) {
    beast::error_code ec;
    auto peer = s.remote_endpoint(ec);
    if (ec) return;  // (gone already)
    std::string client = peer.address().to_string();
    bool loopback = is_loopback(client);
    auto key = client;  // an IPv6 client is its /64 (what one host or site is usually given)
    if (peer.address().is_v6() && !peer.address().to_v6().is_v4_mapped()) {
      auto bytes = peer.address().to_v6().to_bytes();
      std::fill(bytes.begin() + 8, bytes.end(), 0);
      key = asio::ip::address_v6(bytes).to_string() + "/64";
    }
    admit<Stream>(std::move(s), client, key, loopback, tls_ctx...);
  }
  // The admission and the session, whatever the transport.
  template <class Stream, class Socket, class... Tls>
  void admit(Socket s, const std::string& client, const std::string& key, bool loopback, Tls&... tls_ctx) {
    auto a = registry->limits.admit(key, loopback, ConnectionLimits::Clock::now());
    for (auto* shed : {&a.shed_per_client, &a.shed_capacity}) {
      (shed == &a.shed_per_client ? http_counters().shed_per_client : http_counters().shed_capacity) +=
          shed->size();
      for (auto id : *shed) {
        auto it = registry->closers.find(id);
        if (it == registry->closers.end()) continue;
        auto close = std::move(it->second);
        registry->closers.erase(it);
        close();
      }
    }
    if (!a.id) {
      ++http_counters().refused;
      VLCP_LOG_RL(kWarn, "api", 6, 3)
          << "WebAPI connection from " << client << " refused: " << registry->limits.open()
          << " open, none idle to close";
      // (over TLS the refusal needs the handshake: the client sees the connection close)
      if constexpr (sizeof...(Tls) == 0)
        std::make_shared<Session<Stream>>(std::move(s), handler, token)->refuse(registry->limits.open());
      return;
    }
    auto session = std::make_shared<Session<Stream>>(std::move(s), handler, token, tls_ctx...);
    session->admitted(registry, a.id);
    session->start();
  }
  void accept_unix(std::shared_ptr<Impl> self) {
    unix_acceptor.async_accept([self](beast::error_code ec, local::socket s) {
      if (ec == asio::error::operation_aborted) return;
      // Local clients: one key (the total cap applies, the per-client one does not).
      if (!ec) self->admit<unix_stream>(std::move(s), "unix:" + self->unix_path, "unix", true);
      if (!self->unix_acceptor.is_open()) return;
      self->accept_unix(self);
    });
  }
  Status listen_unix(const HttpSettings& settings) {
    VLCP_RETURN_IF_ERROR(io::clear_stale_unix_socket(settings.unix_path));
    beast::error_code ec;
    local::endpoint ep(settings.unix_path);
    unix_acceptor.open(ep.protocol(), ec);
    if (!ec) unix_acceptor.bind(ep, ec);
    if (ec)
      return make_error(Errc::kUnavailable,
                        "cannot listen on unix://" + settings.unix_path + ": " + ec.message());
    unix_path = settings.unix_path;
    struct stat st;
    if (chmod(unix_path.c_str(), settings.unix_mode) != 0 || stat(unix_path.c_str(), &st) != 0) {
      int err = errno;
      unix_acceptor.close(ec);
      ::unlink(unix_path.c_str());
      return make_error(Errc::kIo, "unix://" + unix_path + ": setting its mode: " + std::strerror(err));
    }
    unix_dev = st.st_dev;
    unix_ino = st.st_ino;
    unix_acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(Errc::kUnavailable, "cannot listen on unix://" + unix_path + ": " + ec.message());
    return {};
  }
  void close() {
    beast::error_code ec;
    acceptor.close(ec);
    if (unix_acceptor.is_open()) {
      unix_acceptor.close(ec);
      struct stat st;  // (removed only if it is still the file this server made)
      if (stat(unix_path.c_str(), &st) == 0 && st.st_dev == unix_dev && st.st_ino == unix_ino)
        ::unlink(unix_path.c_str());
    }
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
  if (settings.host.empty() && settings.unix_path.empty()) return server;
  auto impl = std::make_shared<Impl>(ctx, settings);
  impl->handler = std::make_shared<const HttpHandler>(std::move(handler));
  impl->token = std::make_shared<const std::string>(settings.token);
  if (!settings.unix_path.empty()) {
    if (auto st = impl->listen_unix(settings); !st.ok()) return st;
    server->unix_path_ = settings.unix_path;
    impl->accept_unix(impl);
    server->impl_ = impl;
    VLCP_LOG(kInfo, "api") << "HTTP listening on unix://" << settings.unix_path;
    return server;
  }
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
  if (impl_) impl_->close();
}

}  // namespace vlcp::api
