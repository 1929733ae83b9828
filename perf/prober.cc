// prober: ICMP echo to many IPv4 targets from one process, every target on its own 10 ms
// schedule, and the time of the first reply per target (issue 17's bring-up benchmarks).
//
// Usage: prober [--interval-ms 10] [--duration-s 30] [--t0-ns NS] [--until-all]
//               [--stop-file PATH] IP...
//   --interval-ms N  each target is probed every N ms (default 10).
//   --duration-s S   stop S seconds after the prober's start (default 30).
//   --t0-ns NS       t0 as CLOCK_REALTIME nanoseconds (`date +%s%N` taken just before an
//                    `ovs-vsctl add-port` or an API call); default: the prober's start.
//   --until-all      exit as soon as every target has answered once.
//   --stop-file P    exit once the file P exists (checked every interval).
// Schedule: every target's first probe goes at t0 (the prober sleeps until t0 if it lies in the
// future; if t0 is already past, the first probe goes at once and the next ones on the grid
// t0 + k * interval), then one every interval. Targets keep being probed after their first
// reply (until the prober exits). SIGINT/SIGTERM end the run and still print the results.
// Output, one line per target, then a summary (times in ms relative to t0, -1 when none):
//   target=IP first_reply_ms=X sent=N replies=M last_unanswered_send_ms=Y first_answered_send_ms=Z
//   targets=T answered=A p50_ms=P p99_ms=Q
// first_reply_ms: arrival of the first reply (the kernel's receive timestamp). The probe it
// answers is the earliest-sent answered probe; first_answered_send_ms is when it was sent, and
// last_unanswered_send_ms when the probe before it was sent (the last one that got no answer):
// the path became ready within [last_unanswered_send_ms, first_answered_send_ms]. p50/p99
// (nearest rank) are over the answered targets' first_reply_ms.
// Socket: SOCK_RAW/IPPROTO_ICMP (root, e.g. under `ip netns exec`), or the unprivileged ICMP
// datagram socket when raw is refused. Replies are matched by ICMP id (raw: this process's id;
// datagram: the kernel's per-socket id) and seq (the probe's number), checked against a payload
// carrying a per-run nonce, the target's index and the full probe number, and the reply's
// source address. Neighbours are not the prober's business: the scripts set static ones.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Payload {  // what each echo request carries, echoed back by the target
  uint64_t nonce;
  uint32_t index;
  uint32_t probe;
};

struct Target {
  std::string text;
  in_addr addr{};
  std::vector<int64_t> sends;  // send time (ns) of probe k
  int64_t first_reply = -1;    // arrival of the first reply (ns)
  int64_t first_probe = -1;    // the earliest-sent probe that was answered
  uint64_t replies = 0;
};

uint16_t checksum(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

double ms(int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: prober [--interval-ms 10] [--duration-s 30] [--t0-ns NS] [--until-all] "
               "[--stop-file PATH] IP...\n");
  std::exit(2);
}
}  // namespace

int main(int argc, char** argv) {
  int64_t interval = 10'000'000;
  int64_t duration = 30'000'000'000;
  int64_t t0 = -1;
  bool until_all = false;
  std::string stop_file;
  std::vector<Target> targets;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--interval-ms") {
      interval = static_cast<int64_t>(std::strtod(value(), nullptr) * 1e6);
    } else if (a == "--duration-s") {
      duration = static_cast<int64_t>(std::strtod(value(), nullptr) * 1e9);
    } else if (a == "--t0-ns") {
      t0 = std::strtoll(value(), nullptr, 10);
    } else if (a == "--until-all") {
      until_all = true;
    } else if (a == "--stop-file") {
      stop_file = value();
    } else if (a.starts_with("-")) {
      usage();
    } else {
      Target t;
      t.text = a;
      if (inet_pton(AF_INET, argv[i], &t.addr) != 1) {
        std::fprintf(stderr, "prober: not an IPv4 address: %s\n", argv[i]);
        return 2;
      }
      targets.push_back(std::move(t));
    }
  }
  if (targets.empty() || interval <= 0) usage();

  bool raw = true;
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
  if (fd < 0) {
    raw = false;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_ICMP);
  }
  if (fd < 0) {
    std::fprintf(stderr, "prober: no ICMP socket (raw or datagram): %s\n", std::strerror(errno));
    return 1;
  }
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) == 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) == 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const uint16_t ident = static_cast<uint16_t>(getpid());
  const uint64_t nonce = std::random_device{}() * 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(now_ns());
  const int64_t start = now_ns();
  if (t0 < 0) t0 = start;
  const int64_t end = start + duration;
  // Every target's probe k is due at t0 + k * interval; a grid point already past when the
  // prober starts collapses into one probe sent at once.
  int64_t k_next = 0;
  size_t answered = 0;

  auto send_due = [&](int64_t now) {
    const auto k = static_cast<uint32_t>(k_next);
    for (uint32_t i = 0; i < targets.size(); ++i) {
      Target& t = targets[i];
      struct {
        icmphdr h;
        Payload p;
      } pkt{};
      pkt.h.type = ICMP_ECHO;
      pkt.h.un.echo.id = htons(ident);
      pkt.h.un.echo.sequence = htons(static_cast<uint16_t>(k));
      pkt.p = Payload{nonce, i, k};
      pkt.h.checksum = checksum(&pkt, sizeof pkt);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_addr = t.addr;
      const int64_t at = now_ns();
      if (sendto(fd, &pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 &&
          errno != EAGAIN && errno != ENOBUFS && errno != EHOSTUNREACH && errno != ENETUNREACH) {
        std::fprintf(stderr, "prober: sendto %s: %s\n", t.text.c_str(), std::strerror(errno));
      }
      // Counted as sent even when the kernel refused it (no neighbour, full queue): the probe's
      // slot passed unanswered either way.
      t.sends.resize(k + 1, -1);
      t.sends[k] = at;
    }
    // The next grid point after now.
    const int64_t passed = (now - t0) / interval + 1;
    k_next = std::max<int64_t>(k_next + 1, passed);
  };

  auto receive = [&]() {
    alignas(8) uint8_t data[2048];
    alignas(8) uint8_t control[256];
    for (;;) {
      sockaddr_in from{};
      iovec iov{data, sizeof data};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = recvmsg(fd, &msg, 0);
      if (n < 0) return;
      int64_t at = -1;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts{};
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          at = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
        }
      }
      if (at < 0) at = now_ns();
      size_t off = 0;
      if (raw) {
        if (n < static_cast<ssize_t>(sizeof(iphdr))) continue;
        off = static_cast<size_t>(data[0] & 0x0f) * 4;
      }
      if (static_cast<size_t>(n) < off + sizeof(icmphdr) + sizeof(Payload)) continue;
      icmphdr h;
      Payload p;
      std::memcpy(&h, data + off, sizeof h);
      std::memcpy(&p, data + off + sizeof h, sizeof p);
      if (h.type != ICMP_ECHOREPLY || (raw && ntohs(h.un.echo.id) != ident)) continue;
      if (p.nonce != nonce || p.index >= targets.size()) continue;
      Target& t = targets[p.index];
      if (from.sin_addr.s_addr != t.addr.s_addr || ntohs(h.un.echo.sequence) != (p.probe & 0xffff) ||
          p.probe >= t.sends.size()) {
        continue;
      }
      ++t.replies;
      if (t.first_reply < 0) {
        t.first_reply = at;
        ++answered;
      }
      if (t.first_probe < 0 || p.probe < t.first_probe) t.first_probe = p.probe;
    }
  };

  int64_t next_stop_check = start;
  while (!g_stop) {
    int64_t now = now_ns();
    if (now >= end) break;
    if (until_all && answered == targets.size()) break;
    if (!stop_file.empty() && now >= next_stop_check) {
      struct stat st;
      if (stat(stop_file.c_str(), &st) == 0) break;
      next_stop_check = now + interval;
    }
    const int64_t due = t0 + k_next * interval;
    if (now >= due) {
      send_due(now);
      continue;
    }
    const int64_t wait = std::min(due, end) - now;
    timespec ts{static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
    pollfd pfd{fd, POLLIN, 0};
    if (ppoll(&pfd, 1, &ts, nullptr) > 0) receive();
  }
  receive();

  std::vector<double> firsts;
  for (const Target& t : targets) {
    double first = -1, last_unanswered = -1, first_answered = -1;
    if (t.first_reply >= 0) {
      first = ms(t.first_reply - t0);
      firsts.push_back(first);
      first_answered = ms(t.sends[t.first_probe] - t0);
      for (int64_t k = t.first_probe - 1; k >= 0; --k) {
        if (t.sends[k] >= 0) {
          last_unanswered = ms(t.sends[k] - t0);
          break;
        }
      }
    } else {
      for (auto it = t.sends.rbegin(); it != t.sends.rend(); ++it) {
        if (*it >= 0) {
          last_unanswered = ms(*it - t0);
          break;
        }
      }
    }
    size_t sent =
        static_cast<size_t>(std::count_if(t.sends.begin(), t.sends.end(), [](int64_t s) { return s >= 0; }));
    std::printf("target=%s first_reply_ms=%.3f sent=%zu replies=%" PRIu64
                " last_unanswered_send_ms=%.3f first_answered_send_ms=%.3f\n",
                t.text.c_str(), first, sent, t.replies, last_unanswered, first_answered);
  }
  std::sort(firsts.begin(), firsts.end());
  auto pct = [&](double p) {
    if (firsts.empty()) return -1.0;
    size_t i = static_cast<size_t>(std::max(1.0, std::ceil(p / 100 * static_cast<double>(firsts.size()))));
    return firsts[std::min(i, firsts.size()) - 1];
  };
  std::printf("targets=%zu answered=%zu p50_ms=%.3f p99_ms=%.3f\n", targets.size(), answered, pct(50),
              pct(99));
  close(fd);
  return 0;
}
