// vlcpctl's client for vlcpd's WebAPI (HTTP/1.1, JSON; a bearer token when configured).
// The endpoint comes from --api URL, else $VLCP_API, else http://127.0.0.1:8081; the token from
// --token, else $VLCP_TOKEN.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace vlcp::cli {

struct ApiEndpoint {
  std::string host = "127.0.0.1";
  std::string port = "8081";
  std::string token;
};
Result<ApiEndpoint> parse_api_url(const std::string& url);

struct ApiReply {
  int status = 0;
  nlohmann::json body;  // {"result": ...} or {"error": ...}
};

// One request; an error when vlcpd cannot be reached or does not answer JSON in time.
Result<ApiReply> api_call(const ApiEndpoint& at, const std::string& method, const std::string& target,
                          const std::string& body = "",
                          std::chrono::seconds timeout = std::chrono::seconds(30));

// A query-string value, percent-encoded.
std::string url_encode(const std::string& s);

}  // namespace vlcp::cli
