#include "cli/api_client.h"

#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace vlcp::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Result<ApiEndpoint> parse_api_url(const std::string& url) {
  std::string rest = url;
  for (const char* scheme : {"http://", "tcp://"})
    if (rest.rfind(scheme, 0) == 0) rest = rest.substr(std::string(scheme).size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos)
    return make_error(Errc::kInvalidArgument, "API endpoint '" + url + "': expected http://HOST[:PORT]");
  ApiEndpoint e;
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
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return reply;
}

}  // namespace vlcp::cli
