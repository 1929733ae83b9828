#include "api/webapi.h"

#include <cctype>

#include "api/objectdb_api.h"

namespace vlcp::api {

using nlohmann::json;

Result<json> parse_literal(const std::string& text) {
  // Rewrite Python's spelling into JSON's, outside strings; then let the JSON parser judge.
  std::string out;
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '\'' || c == '"') {
      std::string value;
      size_t j = i + 1;
      for (; j < text.size() && text[j] != c; ++j) {
        if (text[j] == '\\' && j + 1 < text.size()) {
          char e = text[++j];
          value += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
          value += text[j];
        }
      }
      if (j >= text.size())
        return make_error(Errc::kInvalidArgument, "unterminated string in literal " + text);
      out += json(value).dump();
      i = j + 1;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
      std::string word = text.substr(i, j - i);
      if (word == "True")
        out += "true";
      else if (word == "False")
        out += "false";
      else if (word == "None")
        out += "null";
      else
        return make_error(Errc::kInvalidArgument, "'" + word + "' is not a literal value in " + text);
      i = j;
    } else {
      out += c == '(' ? '[' : c == ')' ? ']' : c;
      ++i;
    }
  }
  auto j = json::parse(out, nullptr, false);
  if (j.is_discarded()) return make_error(Errc::kInvalidArgument, "not a literal value: " + text);
  return j;
}

Result<json> parse_params(const HttpRequest& req) {
  json params = json::object();
  auto add_pairs = [&](const std::vector<std::pair<std::string, std::string>>& pairs) -> Status {
    for (const auto& [k, v] : pairs) {
      if (v.size() >= 2 && v.front() == '`' && v.back() == '`') {
        auto lit = parse_literal(v.substr(1, v.size() - 2));
        if (!lit.ok()) return lit.error().with_context("parameter " + k);
        params[k] = *lit;
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
      auto body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object())
        return make_error(Errc::kInvalidArgument, "the body is not a JSON object");
      for (auto& [k, v] : body.items()) params[k] = v;
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

void WebApi::handle(const HttpRequest& req, HttpResponder respond) const {
  auto reply = [respond](int status, const json& body) {
    respond(HttpResponse{status, body.dump() + "\n", "application/json"});
  };
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
  e->second.fn(*params, [reply](Result<json> r) {
    if (!r.ok()) return reply(http_status(r.error()), {{"error", r.error().to_string()}});
    reply(200, {{"result", *r}});
  });
}

}  // namespace vlcp::api
