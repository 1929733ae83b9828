// libFuzzer target for Docker's plugin protocol (src/containers/docker_protocol): dockerd's
// requests are untrusted bytes on a socket anyone in the docker group can reach. An input that
// starts with '/' is "PATH\nBODY"; otherwise its first byte picks a method and the rest is the
// body. dispatch() must give a Reply (200 constant, 400, 404 only for an unknown path, 422; never
// a 500 or an exception) whose body is a JSON object with a string "Err" unless 200, or a Call of
// a non-constant method whose ids are well formed, and whose answers encode as JSON objects.
// Also replayed by docker_request_fuzz_replay inside `make test`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "containers/docker_protocol.h"

namespace {

using namespace vlcp::containers::docker;

void check(bool ok) {
  if (!ok) std::abort();
}

bool json_object(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  return !j.is_discarded() && j.is_object();
}

void check_reply(const Reply& r, bool known_path) {
  check(r.status == 200 || r.status == 400 || r.status == 422 || (r.status == 404 && !known_path));
  Json j = Json::parse(r.body, nullptr, false);
  check(!j.is_discarded() && j.is_object());
  if (r.status != 200)
    check(j.contains("Err") && j["Err"].is_string() && !j["Err"].get<std::string>().empty());
}

void check_call(const Call& c) {
  check(method_effect(c.method) != Effect::kConstant);
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (requires { r.network_id; }) check(is_docker_id(r.network_id));
        if constexpr (requires { r.endpoint_id; }) {
          check(is_docker_id(r.endpoint_id));
          auto names = veth_names("vlcp", r.endpoint_id);
          check(names && names->container.size() <= 15);
          JoinAnswer a{names->container, "eth", "10.1.0.1", {{"10.2.0.0/16", ""}}};
          check(json_object(encode(a)));
        }
        if constexpr (requires { r.pool_id; }) check(is_pool_id(r.pool_id));
        if constexpr (std::is_same_v<T, CreateNetworkRequest>) {
          const NetworkOptions& o = r.options;
          check(o.network.is_object() && o.subnet.is_object());
          // Either a network of its own (with its physical network) or an attachment, never both.
          check(o.attach_lognet.empty() == o.network.contains("physicalnetwork"));
          check(!o.subnet.contains("cidr") && !o.subnet.contains("gateway") && !o.network.contains("id"));
          check(!r.pool.empty());
          check(!o.network.dump(-1, ' ', false, Json::error_handler_t::replace).empty());
        }
        if constexpr (std::is_same_v<T, RequestAddressRequest>) {
          check(json_object(encode(RequestAddressAnswer{r.address + "/24"})));
        }
        if constexpr (std::is_same_v<T, CreateEndpointRequest>) {
          check(json_object(encode(CreateEndpointAnswer{r.address, r.mac_address})));
        }
      },
      c.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view path, body;
  if (in[0] == '/') {
    size_t nl = in.find('\n');
    path = in.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  } else {
    path = method_path(static_cast<Method>(static_cast<uint8_t>(in[0]) % kMethodCount));
    body = in.substr(1);
  }
  const bool known = method_from_path(path).has_value();
  auto d = dispatch(path, body, PluginIdentity{"local"});
  if (const Reply* r = std::get_if<Reply>(&d)) {
    check_reply(*r, known);
  } else {
    check(known);
    check_call(std::get<Call>(d));
  }
  return 0;
}
