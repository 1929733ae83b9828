// VLCP's WebAPI convention over the HTTP server: /<module>/<method>, parameters from the GET
// query string, a POST form, or a POST JSON object; a value in back-quotes is a literal
// (VLCP's extension: `[[100,200]]`, `True`, `None`, 'strings' in Python spelling are taken).
// Answers: 200 {"result": ...}; failures {"error": "..."} with 400 (bad parameters), 404
// (unknown module or method, answered at once), 409 (conflicts, already exists), 503 (the
// database is unreachable) or 500. Every module answers `discover` with its methods.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "base/result.h"

namespace vlcp::api {

using ApiDone = std::function<void(Result<nlohmann::json>)>;
using ApiMethod = std::function<void(const nlohmann::json& params, ApiDone done)>;

// A Python literal (VLCP's back-quoted values) as JSON: True/False/None, 'single-quoted'
// strings, tuples as lists.
Result<nlohmann::json> parse_literal(const std::string& text);

// The parameters of a request as one JSON object (string values, or literals when back-quoted).
Result<nlohmann::json> parse_params(const HttpRequest& request);

// The HTTP status for an error.
int http_status(const Status& s);

class WebApi {
 public:
  void add(const std::string& module, const std::string& method, std::string help, ApiMethod fn);
  // True when the path names a module this API serves.
  bool serves(const std::string& path) const;
  void handle(const HttpRequest& request, HttpResponder respond) const;

 private:
  struct Entry {
    std::string help;
    ApiMethod fn;
  };
  std::map<std::string, std::map<std::string, Entry>> modules_;
};

}  // namespace vlcp::api
