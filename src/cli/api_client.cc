#include "cli/api_client.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace vlcp::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

Result<ApiEndpoint> parse_api_url(const std::string& url) {
  std::string rest = url;
  bool tls = rest.rfind("https://", 0) == 0;
  for (const char* scheme : {"http://", "https://", "tcp://"})
    if (rest.rfind(scheme, 0) == 0) rest = rest.substr(std::string(scheme).size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos)
    return make_error(Errc::kInvalidArgument, "API endpoint '" + url + "': expected http[s]://HOST[:PORT]");
  ApiEndpoint e;
  e.tls = tls;
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos) {
    e.host = rest;
  } else {
    e.host = rest.substr(0, colon);
    e.port = rest.substr(colon + 1);
  }
  return e;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

namespace {

// The first config file that exists, read as key = value lines.
Result<std::map<std::string, std::string>> read_config(std::string path) {
  std::vector<std::string> candidates;
  if (!path.empty()) {
    candidates.push_back(path);
  } else {
    if (const char* e = std::getenv("VLCPCTL_CONFIG")) candidates.push_back(e);
    if (const char* home = std::getenv("HOME"))
      candidates.push_back(std::string(home) + "/.config/vlcp/vlcpctl.conf");
    candidates.push_back("/etc/vlcp/vlcpctl.conf");
  }
  std::map<std::string, std::string> out;
  for (const auto& file : candidates) {
    std::ifstream in(file);
    if (!in) {
      if (!path.empty()) return make_error(Errc::kNotFound, "cannot read config file " + file);
      continue;
    }
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      auto trim = [](std::string x) {
        x.erase(0, x.find_first_not_of(" \t\r"));
        x.erase(x.find_last_not_of(" \t\r") + 1);
        return x;
      };
      line = trim(line.substr(0, line.find('#')));
      if (line.empty()) continue;
      auto eq = line.find('=');
      std::string key = eq == std::string::npos ? "" : trim(line.substr(0, eq));
      if (key != "api" && key != "token")
        return make_error(Errc::kInvalidArgument,
                          file + ":" + std::to_string(n) + ": expected api = URL or token = TOKEN");
      out[key] = trim(line.substr(eq + 1));
    }
    break;
  }
  return out;
}

}  // namespace

Result<CliContext> parse_cli(const std::vector<std::string>& all) {
  CliContext c;
  std::map<std::string, std::string> flags;
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string& a = all[i];
    if (a == "--api" || a == "--token" || a == "--config" || a == "--cacert") {
      if (i + 1 == all.size()) return make_error(Errc::kInvalidArgument, a + " needs a value");
      flags[a] = all[++i];
    } else if (a == "--json") {
      c.as_json = true;
    } else {
      c.args.push_back(a);
    }
  }
  VLCP_ASSIGN_OR_RETURN(auto config, read_config(flags.count("--config") ? flags["--config"] : ""));
  auto pick = [&](const char* flag, const char* env, const char* key, std::string fallback) {
    if (flags.count(flag)) return flags[flag];
    if (const char* e = std::getenv(env)) return std::string(e);
    if (config.count(key)) return config[key];
    return fallback;
  };
  VLCP_ASSIGN_OR_RETURN(c.at, parse_api_url(pick("--api", "VLCP_API", "api", "http://127.0.0.1:8081")));
  c.at.token = pick("--token", "VLCP_TOKEN", "token", "");
  c.at.cacert = pick("--cacert", "VLCP_CACERT", "cacert", "");
  return c;
}

Outcome call_result(const ApiEndpoint& at, const std::string& method, const std::string& target,
                    const std::string& body, std::chrono::seconds timeout) {
  auto r = api_call(at, method, target, body, timeout);
  if (!r.ok()) {
    std::fprintf(stderr, "vlcpctl: %s\n", r.error().message().c_str());
    return {r.error().code() == Errc::kUnavailable ? kExitUnreachable : kExitRefused, {}};
  }
  if (r->status != 200 || !r->body.contains("result")) {
    std::string msg = r->body.value("error", std::string("no result"));
    std::fprintf(stderr, "vlcpctl: %s (HTTP %d)\n", msg.c_str(), r->status);
    return {kExitRefused, {}};
  }
  return {0, r->body["result"]};
}

namespace {

// One request and its answer on a connected stream (plain or TLS).
template <class Stream>
Result<ApiReply> exchange(Stream& stream, const ApiEndpoint& at, const std::string& method,
                          const std::string& target, const std::string& body) {
  beast::error_code ec;
  http::request<http::string_body> req(method == "POST" ? http::verb::post : http::verb::get, target, 11);
  req.set(http::field::host, at.host);
  req.set(http::field::user_agent, "vlcpctl");
  if (!at.token.empty()) req.set(http::field::authorization, "Bearer " + at.token);
  if (method == "POST") {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) return make_error(Errc::kUnavailable, "sending to vlcpd: " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1u << 30);
  http::read(stream, buffer, parser, ec);
  if (ec) return make_error(Errc::kUnavailable, "reading vlcpd's answer: " + ec.message());
  auto res = parser.release();
  ApiReply reply;
  reply.status = static_cast<int>(res.result_int());
  reply.body = nlohmann::json::parse(res.body(), nullptr, false);
  if (reply.body.is_discarded())
    return make_error(Errc::kMalformed, "vlcpd answered " + std::to_string(reply.status) + " without JSON");
  return reply;
}

}  // namespace

Result<ApiReply> api_call(const ApiEndpoint& at, const std::string& method, const std::string& target,
                          const std::string& body, std::chrono::seconds timeout) {
  asio::io_context ctx;
  beast::tcp_stream stream(ctx);
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(ctx);
  auto where = resolver.resolve(at.host, at.port, ec);
  if (ec) return make_error(Errc::kUnavailable, "vlcpd at " + at.host + ":" + at.port + ": " + ec.message());
  stream.expires_after(timeout);
  stream.connect(where, ec);
  if (ec)
    return make_error(Errc::kUnavailable,
                      "cannot reach vlcpd at " + at.host + ":" + at.port + ": " + ec.message());
  if (!at.tls) {
    auto reply = exchange(stream, at, method, target, body);
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return reply;
  }
  ssl::context tls(ssl::context::tls_client);
  if (at.cacert.empty())
    tls.set_default_verify_paths(ec);
  else
    tls.load_verify_file(at.cacert, ec);
  if (ec) return make_error(Errc::kInvalidArgument, "CA file " + at.cacert + ": " + ec.message());
  tls.set_verify_mode(ssl::verify_peer);
  tls.set_verify_callback(ssl::host_name_verification(at.host));
  beast::ssl_stream<beast::tcp_stream> secure(std::move(stream), tls);
  SSL_set_tlsext_host_name(secure.native_handle(), at.host.c_str());
  secure.handshake(ssl::stream_base::client, ec);
  if (ec)
    return make_error(Errc::kUnavailable,
                      "TLS with vlcpd at " + at.host + ":" + at.port + ": " + ec.message());
  auto reply = exchange(secure, at, method, target, body);
  secure.shutdown(ec);
  return reply;
}

}  // namespace vlcp::cli
