// libFuzzer target for the CNI layer (src/cni): a runtime's configuration, CNI_ARGS, the
// environment and vlcpd's answers are untrusted bytes. Every parser gives a value or a spec
// error (never a crash, never an exception); what parses obeys its contract (a prevResult renders
// and parses back to itself, the negotiated version is spoken, an accepted socket path fits a
// sockaddr_un); every outcome vlcp-cni would print is JSON with the exit code the spec says.
// Also replayed by cni_config_fuzz_replay inside `make test`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cni/spec.h"
#include "cni/wire.h"

namespace {

using namespace vlcp::cni;
using json = nlohmann::json;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr Command kCommands[] = {Command::kAdd,    Command::kDel, Command::kCheck,
                                 Command::kStatus, Command::kGc,  Command::kVersion};

void check_error(const Error& e) {
  check(e.code > 0 && !e.msg.empty());
  check(error_code_from_int(e.code).has_value());
  check(parse_json(json_text(render_error(e, "1.0.0"))).has_value());
}

void check_outcome(const Outcome& o) {
  check(o.exit_code == 0 || o.exit_code == 1);
  if (o.exit_code == 1) {
    auto j = parse_json(o.stdout_text);
    check(j && parse_error(*j).has_value());
  } else if (!o.stdout_text.empty()) {
    auto j = parse_json(o.stdout_text);
    check(j && parse_result(*j).ok());
  }
}

void fuzz_config(std::string_view text, Command c) {
  auto n = parse_config(text, c);
  if (!n) {
    check_error(n.error());
    return;
  }
  check(parse_version(n->cni_version) == n->version);
  check(c == Command::kVersion || n->version >= command_since(c));
  check(!n->name.empty());
  check(!n->socket.empty() && n->socket[0] == '/' && n->socket.size() <= 107);
  check(n->timeout_seconds > 0 && n->timeout_seconds <= 3600);
  check(!n->mtu || (*n->mtu >= 68 && *n->mtu <= 65535));
  check(c != Command::kCheck || n->prev_result.has_value());
  if (n->prev_result) {
    // The newest shape keeps every field: it parses back to the same result.
    auto back = parse_result(render_result(*n->prev_result, kNewestVersion));
    check(back.ok() && *back == *n->prev_result);
    for (Version v : {Version::k0_3_0, Version::k0_4_0, Version::k1_0_0}) {
      json j = render_result(*n->prev_result, v);
      check(parse_result(j).ok());
      check(parse_json(json_text(j)).has_value());
    }
  }
}

void fuzz_answer(std::string_view text) {
  for (bool eof : {false, true}) {
    AnswerParse p = parse_http_answer(text, eof);
    check(p.state != AnswerState::kBad || !p.error.empty());
    if (p.state != AnswerState::kDone) continue;
    check(p.answer.status >= 100 && p.answer.status <= 999);
    check(p.answer.body.size() <= kMaxAnswerBodyBytes);
    for (Command c : kCommands) check_outcome(outcome_from_answer(c, "1.0.0", p.answer));
  }
  // The bytes as a body of each status vlcpd may answer.
  for (int status : {200, 409, 503})
    for (Command c : kCommands) check_outcome(outcome_from_answer(c, "0.4.0", {status, std::string(text)}));
}

void fuzz_environment(std::string_view text) {
  // Lines: command, container id, netns, ifname, args, path.
  std::string parts[6];
  size_t i = 0;
  for (char ch : text) {
    if (ch == '\n' && i < 5) {
      ++i;
      continue;
    }
    parts[i] += ch;
  }
  Environment env{parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]};
  auto c = validate_environment(env);
  if (!c) {
    check(c.error().code == static_cast<int>(ErrorCode::kInvalidEnvironment));
  } else {
    check(command_text(*c) == env.command);
    Request r{*c, env, ""};
    check(!encode_request(r).empty());
  }
  auto a = parse_args(text);
  if (!a) {
    check(a.error().code == static_cast<int>(ErrorCode::kInvalidEnvironment));
  } else {
    check(a->unknown.empty() || a->ignore_unknown);
    check(a->mac.empty() || is_mac(a->mac));
  }
  auto v = parse_version_request(text);
  if (v) check(parse_json(json_text(render_version_result(*v))).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  // The first byte picks what the rest is: a configuration for one command (most inputs), an
  // answer from vlcpd, or the runtime's variables.
  const uint8_t selector = data[0];
  if (selector < 0xc0) {
    fuzz_config(text, kCommands[selector % 6]);
  } else if (selector < 0xe0) {
    fuzz_answer(text);
  } else {
    fuzz_environment(text);
  }
  return 0;
}
