// vlcpctl's client for vlcpd's WebAPI (HTTP/1.1, JSON; a bearer token when configured).
// The endpoint comes from --api URL, else $VLCP_API, else the config file's `api`, else
// http://127.0.0.1:8081; the token from --token, else $VLCP_TOKEN, else the config file's
// `token`; the CA for https:// from --cacert, $VLCP_CACERT or `cacert`. The config file: --config FILE, else
// $VLCPCTL_CONFIG, else ~/.config/vlcp/vlcpctl.conf, else /etc/vlcp/vlcpctl.conf (lines "api = URL", "token =
// TOKEN", "cacert = FILE", # comments).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace vlcp::cli {

struct ApiEndpoint {
  std::string host = "127.0.0.1";
  std::string port = "8081";
  std::string token;
  bool tls = false;    // https://: the server's certificate must chain to `cacert` (or the system's CAs)
  std::string cacert;  // --cacert FILE, $VLCP_CACERT, `cacert = FILE`
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

// Exit codes every API verb keeps: 0 done, 1 vlcpd refused (its message on stderr), 2 usage,
// 3 vlcpd could not be reached.
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

struct CliContext {
  ApiEndpoint at;
  bool as_json = false;
  std::vector<std::string> args;  // what is left after the global options
};
// Takes the global options (--api, --token, --cacert, --config, --json) from anywhere in `all`.
Result<CliContext> parse_cli(const std::vector<std::string>& all);

// One call's result, or its failure printed ("vlcpctl: MESSAGE") with the exit code to use.
struct Outcome {
  int exit_code = 0;
  nlohmann::json result;
  bool ok() const { return exit_code == 0; }
};
Outcome call_result(const ApiEndpoint& at, const std::string& method, const std::string& target,
                    const std::string& body = "", std::chrono::seconds timeout = std::chrono::seconds(30));

// A query-string value, percent-encoded.
std::string url_encode(const std::string& s);

}  // namespace vlcp::cli
