// vlcp-cni's wire format to vlcpd (see wire.h).
#include "cni/wire.h"

#include <algorithm>
#include <cctype>

namespace vlcp::cni {

namespace {

using json = nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A non-negative decimal (or hex for chunk sizes) no larger than `max`; nullopt otherwise.
std::optional<size_t> parse_size(std::string_view s, int base, size_t max) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  size_t v = 0;
  for (char ch : s) {
    int d;
    if (ch >= '0' && ch <= '9') {
      d = ch - '0';
    } else if (base == 16 && std::isxdigit(static_cast<unsigned char>(ch))) {
      d = std::tolower(static_cast<unsigned char>(ch)) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    v = v * base + d;
    if (v > max) return std::nullopt;
  }
  return v;
}

AnswerParse bad(std::string why) {
  return {AnswerState::kBad, {}, std::move(why)};
}
AnswerParse need_more(bool eof, const char* what) {
  if (eof) return bad(std::string("the answer ends ") + what);
  return {};
}

// Decodes a chunked body; kNeedMore until the last chunk and the final CRLF are in.
AnswerParse dechunk(std::string_view in, bool eof, HttpAnswer answer) {
  std::string body;
  for (;;) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos)
      return in.size() > 64 ? bad("a chunk size line is too long") : need_more(eof, "inside a chunk size");
    std::string_view line = in.substr(0, eol);
    line = line.substr(0, line.find(';'));  // chunk extensions
    auto size = parse_size(trim(line), 16, kMaxAnswerBodyBytes);
    if (!size) return bad("a chunk size is not a hex number up to the body limit");
    in.remove_prefix(eol + 2);
    if (*size == 0) {
      // Trailers, then the blank line.
      size_t end = in.find("\r\n\r\n");
      if (in.substr(0, 2) == "\r\n")
        end = 0;
      else if (end != std::string_view::npos)
        end += 2;
      if (end == std::string_view::npos) return need_more(eof, "before the chunked body's end");
      answer.body = std::move(body);
      return {AnswerState::kDone, std::move(answer), {}};
    }
    if (body.size() + *size > kMaxAnswerBodyBytes) return bad("the chunked body is larger than the limit");
    if (in.size() < *size + 2) return need_more(eof, "inside a chunk");
    if (in.substr(*size, 2) != "\r\n") return bad("a chunk does not end with CRLF");
    body.append(in.substr(0, *size));
    in.remove_prefix(*size + 2);
  }
}

Outcome print(const json& j, int exit_code) {
  return {exit_code, json_text(j) + "\n"};
}

}  // namespace

std::string encode_request(const Request& r) {
  std::string out = "POST ";
  out += command_path(r.command);
  out += " HTTP/1.1\r\nHost: vlcp\r\n";
#define VLCP_CNI_HEADER_LINE(member, name) \
  out += name ": ";                        \
  out += r.env.member;                     \
  out += "\r\n";
  VLCP_CNI_HEADERS(VLCP_CNI_HEADER_LINE)
#undef VLCP_CNI_HEADER_LINE
  out += "Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  out += "\r\nConnection: close\r\n\r\n";
  out += r.body;
  return out;
}

AnswerParse parse_http_answer(std::string_view bytes, bool eof) {
  size_t head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (bytes.size() > kMaxAnswerHeaderBytes) return bad("the answer's headers are larger than the limit");
    return need_more(eof, "inside its headers");
  }
  if (head_end > kMaxAnswerHeaderBytes) return bad("the answer's headers are larger than the limit");
  std::string_view head = bytes.substr(0, head_end);
  std::string_view rest = bytes.substr(head_end + 4);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.x NNN reason"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' '))
    return bad("the status line is not HTTP/1.x");
  auto status = parse_size(status_line.substr(9, 3), 10, 999);
  if (!status || *status < 100) return bad("the status is not a three-digit number");
  HttpAnswer answer;
  answer.status = static_cast<int>(*status);

  std::optional<size_t> length;
  bool chunked = false;
  std::string_view headers = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!headers.empty()) {
    size_t e = headers.find("\r\n");
    std::string_view line = headers.substr(0, e);
    headers = e == std::string_view::npos ? std::string_view() : headers.substr(e + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("a header line has no name");
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      auto n = parse_size(value, 10, kMaxAnswerBodyBytes);
      if (!n) return bad("Content-Length is not a number up to the body limit");
      if (length && *length != *n) return bad("two different Content-Lengths");
      length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      if (!iequals(value, "chunked")) return bad("a transfer coding other than chunked");
      chunked = true;
    }
  }
  if (chunked) return dechunk(rest, eof, std::move(answer));
  if (length) {
    if (rest.size() < *length) return need_more(eof, "before its Content-Length");
    answer.body = std::string(rest.substr(0, *length));
    return {AnswerState::kDone, std::move(answer), {}};
  }
  // No length: the body runs to the close (the request said Connection: close).
  if (rest.size() > kMaxAnswerBodyBytes) return bad("the body is larger than the limit");
  if (!eof) return {};
  answer.body = std::string(rest);
  return {AnswerState::kDone, std::move(answer), {}};
}

Outcome outcome_error(const Error& e, std::string_view cni_version) {
  return print(render_error(e, cni_version), 1);
}

Outcome outcome_unreachable(Command c, std::string_view cni_version, std::string details) {
  ErrorCode code = c == Command::kStatus ? ErrorCode::kNotAvailable : ErrorCode::kTryAgainLater;
  return outcome_error(make_error(code, "vlcpd: " + std::move(details)), cni_version);
}

Outcome outcome_from_answer(Command c, std::string_view cni_version, const HttpAnswer& a) {
  if (a.status == 200) {
    if (c != Command::kAdd) return {};
    auto j = parse_json(a.body);
    if (!j)
      return outcome_error(make_error(ErrorCode::kDecodeFailed, "vlcpd's ADD result is not JSON"),
                           cni_version);
    auto r = parse_result(*j);
    if (!r)
      return outcome_error(make_error(ErrorCode::kDecodeFailed, "vlcpd's ADD result: " + r.error().details),
                           cni_version);
    return print(*j, 0);
  }
  std::optional<Error> e;
  if (auto j = parse_json(a.body)) e = parse_error(*j);
  if (!e) {
    ErrorCode code = a.status == 503
                         ? (c == Command::kStatus ? ErrorCode::kNotAvailable : ErrorCode::kTryAgainLater)
                     : a.status == 504 ? ErrorCode::kStepDeadline
                                       : ErrorCode::kInternal;
    std::string body = a.body.substr(0, 200);
    e = make_error(code,
                   "vlcpd answered HTTP " + std::to_string(a.status) + (body.empty() ? "" : ": " + body));
  }
  if (c == Command::kDel && e->code == static_cast<int>(ErrorCode::kUnknownContainer)) return {};
  return outcome_error(*e, cni_version);
}

Expected<Request> decode_request(std::string_view method, std::string_view target, const HeaderLookup& header,
                                 std::string body) {
  auto invalid = [](std::string details) {
    return make_error(ErrorCode::kInvalidEnvironment, std::move(details));
  };
  std::string_view path = target.substr(0, target.find('?'));
  auto c = command_from_path(path);
  if (!c) return invalid("no CNI command at " + json_text(json(std::string(path.substr(0, 64)))));
  if (!iequals(method, "POST")) return invalid(std::string(command_text(*c)) + " is POST only");
  Request r;
  r.command = *c;
  r.env.command = std::string(command_text(*c));
#define VLCP_CNI_HEADER_READ(member, name) \
  if (auto v = header(name)) r.env.member = std::move(*v);
  VLCP_CNI_HEADERS(VLCP_CNI_HEADER_READ)
#undef VLCP_CNI_HEADER_READ
  auto checked = validate_environment(r.env);
  if (!checked) {
    // The runtime's variable names are what an operator knows; say which header carried it.
    Error e = checked.error();
    e.details += " (from the X-CNI-* headers)";
    return e;
  }
  r.body = std::move(body);
  return r;
}

Answer answer_result(const AddResult& r, Version v) {
  return {200, "application/json", json_text(render_result(r, v))};
}

Answer answer_ok() {
  return {200, "application/json", ""};
}

Answer answer_error(const Error& e, std::string_view cni_version) {
  auto known = error_code_from_int(e.code);
  return {known ? error_http_status(*known) : 500, "application/json",
          json_text(render_error(e, cni_version))};
}

}  // namespace vlcp::cni
