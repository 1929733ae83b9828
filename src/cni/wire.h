// vlcp-cni's wire format to vlcpd (docs/CONTAINERS_DESIGN.md §5.1), both ends, pure: the
// request is HTTP/1.1 `POST /add|/del|/check|/status|/gc` on vlcpd's unix socket with the
// runtime's CNI_* variables in X-CNI-* headers (those of VLCP's Go shim, so that shim keeps
// working) and the configuration, stdin unchanged, as the body; the answer is 200 with the
// result (ADD) or nothing, or the error's HTTP status (errors.h) with the CNI error object.
// What vlcp-cni then prints and its exit code are decided here too (`outcome_*`).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cni/errors.h"
#include "cni/spec.h"

namespace vlcp::cni {

// X(Environment member, header). The command travels as the path.
#define VLCP_CNI_HEADERS(X)            \
  X(container_id, "X-CNI-ContainerID") \
  X(netns, "X-CNI-Netns")              \
  X(ifname, "X-CNI-IfName")            \
  X(args, "X-CNI-Args")                \
  X(path, "X-CNI-Path")

// The largest answer vlcp-cni reads (status line and headers, then body).
inline constexpr size_t kMaxAnswerHeaderBytes = 16 * 1024;
inline constexpr size_t kMaxAnswerBodyBytes = 1 << 20;

struct Request {
  Command command = Command::kAdd;
  Environment env;   // env.command is command_text(command)
  std::string body;  // the configuration, as the runtime gave it
};

// --- vlcp-cni's side -------------------------------------------------------------------------------

// The whole request: `POST <path> HTTP/1.1`, Host: vlcp, the X-CNI-* headers (an empty variable
// is sent empty), Content-Type: application/json, Content-Length, Connection: close.
std::string encode_request(const Request& r);

struct HttpAnswer {
  int status = 0;
  std::string body;
};
enum class AnswerState { kNeedMore, kDone, kBad };
struct AnswerParse {
  AnswerState state = AnswerState::kNeedMore;
  HttpAnswer answer;
  std::string error;  // why kBad
};
// Parses the answer read so far (`eof`: the peer closed). The body by Content-Length, chunked
// transfer coding, or up to the close; bounded by kMaxAnswer*Bytes.
AnswerParse parse_http_answer(std::string_view bytes, bool eof);

// What vlcp-cni prints on stdout and its exit code.
struct Outcome {
  int exit_code = 0;
  std::string stdout_text;  // with a final newline, or empty
  friend bool operator==(const Outcome&, const Outcome&) = default;
};
// From vlcpd's answer to command c on a configuration of version cni_version: 200 → the result
// (ADD: vlcpd's result, checked to be one: code 6 otherwise) or nothing; another status → the
// CNI error in the body (or one made from the status when the body holds none: 503 → 11, 504 →
// 110, else 111), exit 1. DEL answered "container unknown" (3) is a success: it is gone.
Outcome outcome_from_answer(Command c, std::string_view cni_version, const HttpAnswer& a);
// An error of the plugin's own: the error object with cni_version, exit 1.
Outcome outcome_error(const Error& e, std::string_view cni_version);
// vlcpd not reachable (no socket, refused, no answer in time): STATUS → 50 "plugin not
// available", every other command → 11 "try again later" (a DEL must not claim success).
Outcome outcome_unreachable(Command c, std::string_view cni_version, std::string details);

// --- vlcpd's side --------------------------------------------------------------------------------

// The header of that name (case-insensitive), or nullopt.
using HeaderLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The request from what vlcpd's HTTP server parsed: POST only, the path names the command (a
// query is ignored), the headers give the environment, checked as validate_environment does.
// Errors are CNI errors (code 4) to answer with answer_error; an unknown path is one too
// (command_from_path tells it apart first, for a 404).
Expected<Request> decode_request(std::string_view method, std::string_view target, const HeaderLookup& header,
                                 std::string body);

struct Answer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  friend bool operator==(const Answer&, const Answer&) = default;
};
// ADD's success: 200 with the result in version v's shape.
Answer answer_result(const AddResult& r, Version v);
// DEL, CHECK, STATUS, GC's success: 200, empty body.
Answer answer_ok();
// An error: the table's HTTP status for its code (500 for a code not in it), the error object.
Answer answer_error(const Error& e, std::string_view cni_version);

}  // namespace vlcp::cni
