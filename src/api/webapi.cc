#include "api/webapi.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "api/objectdb_api.h"
#include "base/literal.h"

namespace vlcp::api {

using nlohmann::json;

Result<json> parse_literal(const std::string& text) {
  LiteralOptions options;
  options.max_depth = kMaxJsonDepth;
  size_t at = 0;
  auto v = parse_python_literal(text, options, &at);
  if (!v.ok()) {
    std::string what = v.error().message();
    if (at < text.size()) what += " at offset " + std::to_string(at);
    return make_error(Errc::kInvalidArgument, std::move(what)).with_context("literal " + text.substr(0, 60));
  }
  return v;
}

Result<json> parse_params(const HttpRequest& req) {
  json params = json::object();
  auto add_pairs = [&](const std::vector<std::pair<std::string, std::string>>& pairs) -> Status {
    for (const auto& [k, v] : pairs) {
      // Where form and query values enter: UTF-8, or a 400 (the transport checks the target too).
      if (!valid_utf8(k) || !valid_utf8(v))
        return make_error(Errc::kInvalidArgument, "a parameter is not UTF-8 (raw or %-encoded)");
      if (v.size() >= 2 && v.front() == '`' && v.back() == '`') {
        auto lit = parse_literal(v.substr(1, v.size() - 2));
        if (!lit.ok()) return lit.error().with_context("parameter " + k);
        params[k] = std::move(*lit);
      } else {
        params[k] = v;
      }
    }
    return {};
  };
  VLCP_RETURN_IF_ERROR(add_pairs(query_params(req.target)));
  if (req.method == "POST" && !req.body.empty()) {
    size_t first = req.body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && req.body[first] == '{') {
      auto body = parse_client_json(req.body);
      if (!body.ok()) return body.error().with_context("the body");
      if (!body->is_object()) return make_error(Errc::kInvalidArgument, "the body is not a JSON object");
      for (auto& [k, v] : body->items()) params[k] = std::move(v);
    } else {
      VLCP_RETURN_IF_ERROR(add_pairs(query_params("?" + req.body)));
    }
  }
  return params;
}

int http_status(const Status& s) {
  switch (s.code()) {
    case Errc::kInvalidArgument:
    case Errc::kMalformed:
    case Errc::kOutOfRange:
    case Errc::kUnsupported:
      return 400;
    case Errc::kNotFound:
      return 404;
    case Errc::kConflict:
    case Errc::kAlreadyExists:
      return 409;
    case Errc::kPermissionDenied:
      return 403;
    case Errc::kUnavailable:
    case Errc::kTimeout:
      return 503;
    default:
      return 500;
  }
}

void WebApi::add(const std::string& module, const std::string& method, std::string help, ApiMethod fn) {
  modules_[module][method] = Entry{std::move(help), std::move(fn)};
}

bool WebApi::serves(const std::string& path) const {
  if (path.size() < 2 || path[0] != '/') return false;
  size_t slash = path.find('/', 1);
  return modules_.count(path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1)) != 0;
}

void WebApi::handle(const HttpRequest& req, HttpResponder respond_to) const {
  // Every step that may run a module's code is guarded: an escaped exception is a 500, counted.
  HttpResponder respond = respond_once(std::move(respond_to));
  auto reply = [respond](int status, const json& body) {
    respond(HttpResponse{status, json_text(body) + "\n", "application/json"});
  };
  guard_handler("WebAPI", respond, [&] {
    std::string path = req.target.substr(0, req.target.find('?'));
    size_t slash = path.find('/', 1);
    std::string module = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    std::string method = slash == std::string::npos ? "" : path.substr(slash + 1);
    auto m = modules_.find(module);
    if (m == modules_.end()) return reply(404, {{"error", "no module '" + module + "'"}});
    if (req.method != "GET" && req.method != "POST") return reply(405, {{"error", "use GET or POST"}});
    if (method == "discover") {
      json methods = json::object();
      for (const auto& [name, e] : m->second) methods[name] = e.help;
      methods["discover"] = "this list";
      return reply(200, {{"result", methods}});
    }
    auto e = m->second.find(method);
    if (e == m->second.end())
      return reply(404, {{"error", "module '" + module + "' has no method '" + method + "' (see " + module +
                                       "/discover)"}});
    auto params = parse_params(req);
    if (!params.ok()) return reply(400, {{"error", params.error().to_string()}});
    e->second.fn(*params, [respond, reply, where = module + "/" + method](Result<json> r) {
      guard_handler(where.c_str(), respond, [&] {
        if (!r.ok()) return reply(http_status(r.error()), {{"error", r.error().to_string()}});
        reply(200, {{"result", *r}});
      });
    });
  });
}

}  // namespace vlcp::api
