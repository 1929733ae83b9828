// vlcp-cni: the CNI plugin binary a runtime executes (docs/CONTAINERS_DESIGN.md §5.1). It reads
// the CNI_* variables and the configuration on stdin, answers VERSION itself, and forwards
// ADD/DEL/CHECK/STATUS/GC to vlcpd over its unix socket (wire.h) with a small blocking HTTP/1.1
// client, bounded in time (the configuration's "timeout") and size; it prints the result or the
// CNI error object on stdout and exits as the spec says (0, or 1 with the error). Everything
// else — the model, the veth, OVSDB — happens in vlcpd.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cni/spec.h"
#include "cni/wire.h"

namespace {

using namespace vlcp::cni;
using Clock = std::chrono::steady_clock;

std::string env_var(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Reads stdin whole, up to one byte past the JSON limit (parse_config refuses that); false on
// a read error.
bool read_stdin(std::string& out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxJsonBytes) return true;
  }
}

// The version to write errors in before the configuration is understood: its cniVersion if
// it has a readable one, else the newest.
std::string error_version(std::string_view stdin_text) {
  if (auto j = parse_json(stdin_text); j && j->is_object()) {
    auto it = j->find("cniVersion");
    if (it != j->end() && it->is_string() && parse_version(it->get_ref<const std::string&>()))
      return it->get<std::string>();
  }
  return std::string(version_text(kNewestVersion));
}

int emit(const Outcome& o) {
  if (!o.stdout_text.empty()) {
    std::fwrite(o.stdout_text.data(), 1, o.stdout_text.size(), stdout);
    std::fflush(stdout);
  }
  return o.exit_code;
}

struct Exchange {
  enum Kind { kAnswered, kUnreachable, kBadAnswer } kind = kUnreachable;
  HttpAnswer answer;
  std::string error;
};

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Waits until fd is ready for `events` or the deadline passes.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int left = ms_left(deadline);
    int n = ::poll(&p, 1, left);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// One request, one answer, on a fresh connection to the unix socket at `path`.
Exchange exchange(const std::string& path, const std::string& request, double timeout_seconds) {
  Exchange x;
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<long long>(timeout_seconds * 1000));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    x.error = errno_text("socket");
    return x;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    x.error = "socket path " + path + " is too long";
    return x;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EAGAIN && errno != EINPROGRESS && errno != EINTR) {
      x.error = errno_text(("connect to " + path).c_str());
      return x;
    }
    // The listener's backlog is full: wait for room, as long as the deadline allows.
    if (!wait_for(fd, POLLOUT, deadline)) {
      x.error = "no connection to " + path + " within the timeout";
      return x;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      errno = err;
      x.error = errno_text(("connect to " + path).c_str());
      return x;
    }
  }
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        x.error = "could not send the request within the timeout";
        return x;
      }
    } else {
      x.error = errno_text("send");
      return x;
    }
  }
  std::string in;
  char buf[16384];
  bool eof = false;
  for (;;) {
    AnswerParse p = parse_http_answer(in, eof);
    if (p.state == AnswerState::kDone) {
      x.kind = Exchange::kAnswered;
      x.answer = std::move(p.answer);
      return x;
    }
    if (p.state == AnswerState::kBad && in.empty()) {
      // Closed without a byte: vlcpd went away mid-request (a restart) — try again later.
      x.error = "the connection closed without an answer";
      return x;
    }
    if (p.state == AnswerState::kBad) {
      x.kind = Exchange::kBadAnswer;
      x.error = "bad answer: " + p.error;
      return x;
    }
    if (!wait_for(fd, POLLIN, deadline)) {
      x.error = "no answer within " + std::to_string(timeout_seconds) + " s";
      return x;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      x.error = errno_text("recv");
      return x;
    }
  }
}

int run() {
  Environment env{env_var("CNI_COMMAND"), env_var("CNI_CONTAINERID"), env_var("CNI_NETNS"),
                  env_var("CNI_IFNAME"),  env_var("CNI_ARGS"),        env_var("CNI_PATH")};
  std::string input;
  if (!read_stdin(input))
    return emit(
        outcome_error(make_error(ErrorCode::kIoFailure, errno_text("reading the configuration from stdin")),
                      version_text(kNewestVersion)));

  if (parse_command(env.command) == Command::kVersion) {
    auto asked = parse_version_request(input);
    if (!asked) return emit(outcome_error(asked.error(), version_text(kNewestVersion)));
    return emit({0, json_text(render_version_result(*asked)) + "\n"});
  }
  auto command = validate_environment(env);
  if (!command) return emit(outcome_error(command.error(), error_version(input)));
  auto conf = parse_config(input, *command);
  if (!conf) return emit(outcome_error(conf.error(), error_version(input)));
  if (command_needs_container(*command)) {
    auto args = parse_args(env.args);
    if (!args) return emit(outcome_error(args.error(), conf->cni_version));
  }
  Request request{*command, env, std::move(input)};
  Exchange x = exchange(conf->socket, encode_request(request), conf->timeout_seconds);
  switch (x.kind) {
    case Exchange::kAnswered:
      return emit(outcome_from_answer(*command, conf->cni_version, x.answer));
    case Exchange::kBadAnswer:
      return emit(
          outcome_error(make_error(ErrorCode::kDecodeFailed, "vlcpd at " + conf->socket + ": " + x.error),
                        conf->cni_version));
    case Exchange::kUnreachable:
      break;
  }
  return emit(outcome_unreachable(*command, conf->cni_version, x.error));
}

}  // namespace

int main() {
  // Nothing here throws by design (the parsers are total); a bad_alloc is the one exception left,
  // and even then the runtime gets an error object, not an abort.
  try {
    return run();
  } catch (const std::exception& e) {
    return emit(outcome_error(make_error(ErrorCode::kInternal, e.what()), version_text(kNewestVersion)));
  }
}
