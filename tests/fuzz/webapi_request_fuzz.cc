// libFuzzer target for the WebAPI's request parsing: any target and body (query strings, forms,
// back-quoted Python literals, JSON) through parse_params and the dispatch to a fake module get
// exactly one answer, with a known status and a body that is valid JSON; literals and client
// JSON that parse print and parse back to themselves. Also replayed by
// webapi_request_fuzz_replay inside `make test`.
// Input: byte 0 chooses GET or POST; the rest is TARGET '\n' BODY.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "api/webapi.h"

namespace {

using nlohmann::json;

const vlcp::api::WebApi& fake_api() {
  static vlcp::api::WebApi api = [] {
    vlcp::api::WebApi a;
    a.add("fake", "echo", "params back", [](const json& p, vlcp::api::ApiDone done) { done(p); });
    a.add("fake", "boom", "throws",
          [](const json&, vlcp::api::ApiDone) -> void { throw std::runtime_error("x"); });
    return a;
  }();
  return api;
}

// What was accepted holds only valid UTF-8 (a strict dump does not throw) and prints and parses
// back to itself.
void round_trips(const json& j) {
  std::string text;
  try {
    text = j.dump();
  } catch (...) {
    std::abort();
  }
  if (json::parse(text, nullptr, false) != j) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t nl = rest.find('\n');
  std::string target = rest.substr(0, nl);
  std::string body = nl == std::string::npos ? "" : rest.substr(nl + 1);
  if (target.empty() || target[0] != '/') target = "/fake/echo?" + target;

  if (auto lit = vlcp::api::parse_literal(body); lit.ok()) round_trips(*lit);
  if (auto j = vlcp::api::parse_client_json(body); j.ok()) round_trips(*j);

  vlcp::api::HttpRequest req{(data[0] & 1) ? "POST" : "GET", target, body};
  std::vector<vlcp::api::HttpResponse> answers;
  fake_api().handle(req, [&](vlcp::api::HttpResponse r) { answers.push_back(std::move(r)); });
  if (answers.size() != 1) std::abort();
  int s = answers[0].status;
  if (s != 200 && s != 400 && s != 404 && s != 405 && s != 500) std::abort();
  if (json::parse(answers[0].body, nullptr, false).is_discarded()) std::abort();
  return 0;
}
