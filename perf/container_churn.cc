// container_churn: the Docker plugin's churn benchmark (issue 19, docs/CONTAINERS_DESIGN.md §9
// section "plugin"). It speaks libnetwork's remote-driver protocol to vlcpd's plugin socket
// exactly as dockerd does, call for call (§2.2), so the figure is VLCP's and not Docker's (real
// dockerd starts ~2 containers a second on this machine). Its "sandbox" is a network namespace
// made beforehand (namespace creation is Docker's cost): after Join it moves SrcName into the
// namespace as eth0, adds the address and the default route as libnetwork does, then pings a
// target on the other server from inside (raw ICMP, one echo every 10 ms); t0 = the
// RequestAddress send, t1 = the first reply. Then the delete sequence, the interface first moved
// back to the host namespace under its SrcName as libnetwork does on Leave.
//
//   container_churn network SOCK NID physicalnetwork=P [mtu=N ...]   RequestPool .. CreateNetwork;
//                                                                    prints "POOL GATEWAY"
//   container_churn network SOCK NID logicalnetwork=L                attach on another server
//   container_churn anchor SOCK NID POOL IP NETNS                    one endpoint, kept; prints EID
//   container_churn unanchor SOCK NID POOL IP EID SRC NETNS          its delete sequence
//   container_churn churn SOCK NID POOL TARGET NETNS_PREFIX WORKERS SECONDS
//                                          worker i uses namespace NETNS_PREFIX<i> (made beforehand)
//   container_churn network-rm SOCK NID POOL GATEWAY                 ReleaseAddress .. DeleteNetwork
//
// churn prints one JSON line: pairs, pairs_per_min, create_to_ping_ms {p50,p99,max,over_1s},
// ping_wait_ms {p50,p99,max} (from the end of the create sequence to the first reply), per method
// p50/p99 (ms), failures (with the first errors on stderr), cpu_ms (its own user+system CPU,
// the sandbox steps' kernel work included). Root. Diagnosis: CHURN_PING_DELAY_MS=N sleeps N ms
// between the create and the first echo (the figures then include the sleep).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>
// asio after <utility> (Boost 1.74)
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "link/netlink.h"
#include "link/rtnl.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace vlcp;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// One keep-alive connection to the plugin socket; each call is timed per method.
class Plugin {
 public:
  explicit Plugin(std::string path) : path_(std::move(path)), socket_(ctx_) {}

  // The answer's JSON, or an error text (the HTTP status and Docker's "Err").
  bool call(const std::string& method, const json& body, json* answer, std::string* error) {
    auto t0 = Clock::now();
    try {
      if (!socket_.is_open()) {
        socket_.connect(asio::local::stream_protocol::endpoint(path_));
        // A request that vlcpd never answers fails after 15 s instead of hanging the run.
        timeval tv{15, 0};
        setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      }
      http::request<http::string_body> req(http::verb::post, "/" + method, 11);
      req.set(http::field::host, "vlcp");
      req.set(http::field::content_type, "application/vnd.docker.plugins.v1.2+json");
      req.body() = body.dump();
      req.prepare_payload();
      http::write(socket_, req);
      beast::flat_buffer buf;
      http::response<http::string_body> res;
      http::read(socket_, buf, res);
      if (!res.keep_alive()) socket_.close();
      times_[method].push_back(ms_since(t0));
      *answer = json::parse(res.body(), nullptr, false);
      if (res.result_int() != 200 || answer->is_discarded()) {
        *error = method + ": HTTP " + std::to_string(res.result_int()) + " " + res.body();
        return false;
      }
      return true;
    } catch (const std::exception& e) {
      socket_.close();
      *error = method + ": " + e.what();
      return false;
    }
  }
  std::map<std::string, std::vector<double>>& times() { return times_; }

 private:
  std::string path_;
  asio::io_context ctx_;
  asio::local::stream_protocol::socket socket_;
  std::map<std::string, std::vector<double>> times_;
};

link::Ipv4 parse_ip(const std::string& s) {
  link::Ipv4 a{};
  in_addr in{};
  inet_pton(AF_INET, s.c_str(), &in);
  std::memcpy(a.data(), &in, 4);
  return a;
}

std::string random_id() {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^
                                          std::hash<std::thread::id>{}(std::this_thread::get_id()));
  char buf[65];
  for (int i = 0; i < 4; ++i)
    std::snprintf(buf + 16 * i, 17, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(buf, 64);
}

// A raw ICMP socket made inside `netns` (the thread returns to its own namespace at once).
link::Fd icmp_socket_in(const link::Fd& netns) {
  link::Fd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self || setns(netns.get(), CLONE_NEWNET) < 0) return {};
  link::Fd s(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (setns(self.get(), CLONE_NEWNET) < 0) std::abort();
  return s;
}

uint16_t checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

// Echo every 10 ms until a reply from `target` or `timeout_ms`; true on a reply.
bool ping_until_reply(int fd, const std::string& target, uint16_t ident, double timeout_ms) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  inet_pton(AF_INET, target.c_str(), &to.sin_addr);
  auto t0 = Clock::now();
  uint16_t seq = 0;
  while (ms_since(t0) < timeout_ms) {
    uint8_t pkt[16] = {ICMP_ECHO,
                       0,
                       0,
                       0,
                       static_cast<uint8_t>(ident >> 8),
                       static_cast<uint8_t>(ident),
                       static_cast<uint8_t>(seq >> 8),
                       static_cast<uint8_t>(seq)};
    ++seq;
    uint16_t c = checksum(pkt, sizeof pkt);
    std::memcpy(pkt + 2, &c, 2);
    (void)sendto(fd, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    auto sent = Clock::now();
    while (ms_since(sent) < 10) {
      pollfd p{fd, POLLIN, 0};
      int left = std::max(1, static_cast<int>(10 - ms_since(sent)));
      if (poll(&p, 1, left) <= 0) continue;
      uint8_t rx[256];
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd, rx, sizeof rx, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 28 || from.sin_addr.s_addr != to.sin_addr.s_addr) continue;
      size_t ihl = (rx[0] & 0x0f) * 4;
      if (static_cast<size_t>(n) < ihl + 8) continue;
      const uint8_t* icmp = rx + ihl;
      if (icmp[0] == ICMP_ECHOREPLY && ((icmp[4] << 8) | icmp[5]) == ident) return true;
    }
  }
  return false;
}

// libnetwork's sandbox steps: SrcName into the namespace as eth0, up, address, default route.
Status enter_sandbox(link::RtnlSocket& host, const link::Fd& netns, link::RtnlSocket& inside,
                     const std::string& src, const std::string& cidr, const std::string& gateway) {
  auto l = host.get_link(src);
  if (!l.ok()) return l.status();
  link::LinkAttrs move;
  move.net_ns_fd = static_cast<uint32_t>(netns.get());
  move.ifname = "eth0";
  if (Status s =
          host.call(link::set_link_request(l->body.info.index, move, std::nullopt, 0), "moving " + src);
      !s.ok())
    return s;
  auto e = inside.get_link("eth0");
  if (!e.ok()) return e.status();
  int32_t idx = e->body.info.index;
  if (Status s = inside.call(link::set_link_request(idx, {}, true, 0), "eth0 up"); !s.ok()) return s;
  auto slash = cidr.find('/');
  auto prefix = static_cast<uint8_t>(std::stoi(cidr.substr(slash + 1)));
  if (Status s =
          inside.call(link::add_addr_request(idx, parse_ip(cidr.substr(0, slash)), prefix, 0), "address");
      !s.ok())
    return s;
  if (!gateway.empty())
    return inside.call(link::add_route_request({0, 0, 0, 0}, 0, parse_ip(gateway), std::nullopt, 0),
                       "default route");
  return {};
}

// Leave: eth0 back to the host namespace under its SrcName (libnetwork's sandbox release).
Status leave_sandbox(link::RtnlSocket& inside, const link::Fd& host_ns, const std::string& src) {
  auto e = inside.get_link("eth0");
  if (!e.ok()) return e.status().code() == Errc::kNotFound ? Status{} : e.status();
  link::LinkAttrs back;
  back.net_ns_fd = static_cast<uint32_t>(host_ns.get());
  back.ifname = src;
  return inside.call(link::set_link_request(e->body.info.index, back, false, 0), "eth0 back");
}

struct Endpoint {
  std::string eid, cidr, src, gateway;
};

// RequestAddress .. Join, the sandbox, ProgramExternalConnectivity, EndpointOperInfo.
bool create(Plugin& p, const std::string& nid, const std::string& pool, const std::string& ip,
            link::RtnlSocket& host, const link::Fd& netns, link::RtnlSocket& inside, Endpoint* ep,
            std::string* err) {
  json a;
  if (!p.call("IpamDriver.RequestAddress",
              {{"PoolID", pool}, {"Address", ip}, {"Options", ip.empty() ? json(nullptr) : json::object()}},
              &a, err))
    return false;
  ep->cidr = a.value("Address", "");
  ep->eid = random_id();
  if (!p.call("NetworkDriver.CreateEndpoint",
              {{"NetworkID", nid},
               {"EndpointID", ep->eid},
               {"Interface", {{"Address", ep->cidr}, {"AddressIPv6", ""}, {"MacAddress", ""}}},
               {"Options",
                {{"com.docker.network.endpoint.exposedports", json::array()},
                 {"com.docker.network.portmap", json::array()}}}},
              &a, err)) {
    json r;
    std::string ignored;
    p.call("IpamDriver.ReleaseAddress",
           {{"PoolID", pool}, {"Address", ep->cidr.substr(0, ep->cidr.find('/'))}}, &r, &ignored);
    return false;
  }
  if (!p.call("NetworkDriver.Join",
              {{"NetworkID", nid},
               {"EndpointID", ep->eid},
               {"SandboxKey", "/run/netns/x"},
               {"Options", json::object()}},
              &a, err))
    return false;
  ep->src = a["InterfaceName"].value("SrcName", "");
  ep->gateway = a.value("Gateway", "");
  if (Status s = enter_sandbox(host, netns, inside, ep->src, ep->cidr, ep->gateway); !s.ok()) {
    *err = "sandbox: " + s.message();
    return false;
  }
  if (!p.call("NetworkDriver.ProgramExternalConnectivity",
              {{"NetworkID", nid}, {"EndpointID", ep->eid}, {"Options", json::object()}}, &a, err))
    return false;
  return p.call("NetworkDriver.EndpointOperInfo", {{"NetworkID", nid}, {"EndpointID", ep->eid}}, &a, err);
}

// RevokeExternalConnectivity, Leave (and the sandbox release), DeleteEndpoint, ReleaseAddress.
bool destroy(Plugin& p, const std::string& nid, const std::string& pool, link::RtnlSocket& inside,
             const link::Fd& host_ns, const Endpoint& ep, std::string* err) {
  json a;
  bool ok = p.call("NetworkDriver.RevokeExternalConnectivity", {{"NetworkID", nid}, {"EndpointID", ep.eid}},
                   &a, err);
  ok = p.call("NetworkDriver.Leave", {{"NetworkID", nid}, {"EndpointID", ep.eid}}, &a, err) && ok;
  if (Status s = leave_sandbox(inside, host_ns, ep.src); !s.ok()) {
    *err = "leave: " + s.message();
    ok = false;
  }
  ok = p.call("NetworkDriver.DeleteEndpoint", {{"NetworkID", nid}, {"EndpointID", ep.eid}}, &a, err) && ok;
  ok = p.call("IpamDriver.ReleaseAddress",
              {{"PoolID", pool}, {"Address", ep.cidr.substr(0, ep.cidr.find('/'))}}, &a, err) &&
       ok;
  return ok;
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))];
}

struct NsContext {
  link::Fd netns, host_ns;
  link::RtnlSocket* host = nullptr;
  std::optional<link::RtnlSocket> host_sock, inside;
  bool open(const std::string& name, std::string* err) {
    auto ns = link::open_netns("/run/netns/" + name);
    if (!ns.ok()) {
      *err = ns.status().message();
      return false;
    }
    netns = std::move(*ns);
    host_ns = link::Fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    auto h = link::RtnlSocket::open();
    auto in = link::open_sockets_in(netns);
    if (!h.ok() || !in.ok()) {
      *err = "netlink sockets";
      return false;
    }
    host_sock.emplace(std::move(*h));
    inside.emplace(std::move(in->rtnl));
    return true;
  }
};

int usage() {
  std::fprintf(stderr,
               "usage: container_churn network SOCK NID KEY=VALUE...\n"
               "       container_churn anchor SOCK NID POOL IP NETNS\n"
               "       container_churn unanchor SOCK NID POOL IP EID SRC NETNS\n"
               "       container_churn churn SOCK NID POOL TARGET NETNS_PREFIX WORKERS SECONDS\n"
               "       container_churn network-rm SOCK NID POOL GATEWAY\n");
  return 2;
}

int network(const std::string& sock, const std::string& nid, const std::vector<std::string>& opts) {
  Plugin p(sock);
  json generic = json::object();
  std::string subnet = "10.1.0.0/24", gateway = "10.1.0.1";
  for (const auto& o : opts) {
    auto eq = o.find('=');
    if (eq == std::string::npos) return usage();
    std::string k = o.substr(0, eq), v = o.substr(eq + 1);
    if (k == "subnet")
      subnet = v;
    else if (k == "gateway")
      gateway = v;
    else
      generic[k] = v;
  }
  json a;
  std::string err;
  if (!p.call("IpamDriver.RequestPool",
              {{"AddressSpace", "VLCPLocalAddressSpace"},
               {"Pool", subnet},
               {"SubPool", ""},
               {"Options", json::object()},
               {"V6", false}},
              &a, &err))
    return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  std::string pool = a.value("PoolID", "");
  if (!p.call("IpamDriver.RequestAddress",
              {{"PoolID", pool},
               {"Address", gateway},
               {"Options", {{"RequestAddressType", "com.docker.network.gateway"}}}},
              &a, &err))
    return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  std::string gw_cidr = a.value("Address", "");
  if (!p.call(
          "NetworkDriver.CreateNetwork",
          {{"NetworkID", nid},
           {"Options", {{"com.docker.network.enable_ipv6", false}, {"com.docker.network.generic", generic}}},
           {"IPv4Data",
            {{{"AddressSpace", "VLCPLocalAddressSpace"}, {"Gateway", gw_cidr}, {"Pool", subnet}}}},
           {"IPv6Data", json::array()}},
          &a, &err))
    return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  std::printf("%s %s\n", pool.c_str(), gw_cidr.substr(0, gw_cidr.find('/')).c_str());
  return 0;
}

int network_rm(const std::string& sock, const std::string& nid, const std::string& pool,
               const std::string& gw) {
  Plugin p(sock);
  json a;
  std::string err;
  bool ok = p.call("IpamDriver.ReleaseAddress", {{"PoolID", pool}, {"Address", gw}}, &a, &err);
  ok = p.call("IpamDriver.ReleasePool", {{"PoolID", pool}}, &a, &err) && ok;
  ok = p.call("NetworkDriver.DeleteNetwork", {{"NetworkID", nid}}, &a, &err) && ok;
  if (!ok) std::fprintf(stderr, "%s\n", err.c_str());
  return ok ? 0 : 1;
}

int anchor(const std::string& sock, const std::string& nid, const std::string& pool, const std::string& ip,
           const std::string& ns) {
  Plugin p(sock);
  NsContext c;
  std::string err;
  Endpoint ep;
  if (!c.open(ns, &err) || !create(p, nid, pool, ip, *c.host_sock, c.netns, *c.inside, &ep, &err))
    return std::fprintf(stderr, "anchor: %s\n", err.c_str()), 1;
  std::printf("%s %s\n", ep.eid.c_str(), ep.src.c_str());
  return 0;
}

int unanchor(const std::string& sock, const std::string& nid, const std::string& pool, const std::string& ip,
             const std::string& eid, const std::string& src, const std::string& ns) {
  Plugin p(sock);
  NsContext c;
  std::string err;
  if (!c.open(ns, &err)) return std::fprintf(stderr, "unanchor: %s\n", err.c_str()), 1;
  Endpoint ep{eid, ip + "/32", src, ""};  // SrcName as anchor printed it
  if (!destroy(p, nid, pool, *c.inside, c.host_ns, ep, &err))
    return std::fprintf(stderr, "unanchor: %s\n", err.c_str()), 1;
  return 0;
}

int churn(const std::string& sock, const std::string& nid, const std::string& pool, const std::string& target,
          const std::string& prefix, int workers, int seconds) {
  std::mutex mu;
  std::vector<double> create_to_ping, ping_wait;  // t0 -> reply; the sandbox ready -> reply
  std::map<std::string, std::vector<double>> times;
  std::atomic<long> pairs{0}, failures{0}, printed{0};
  auto deadline = Clock::now() + std::chrono::seconds(seconds);
  // Diagnosis: CHURN_PING_DELAY_MS waits that long after the create before the first echo (the
  // container's first ARP then finds the port's flows in place).
  const char* delay_env = std::getenv("CHURN_PING_DELAY_MS");
  const int ping_delay_ms = delay_env ? std::atoi(delay_env) : 0;
  auto t_start = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      Plugin p(sock);
      NsContext c;
      std::string err;
      auto fail = [&](const std::string& e) {
        failures++;
        if (printed++ < 10) std::fprintf(stderr, "worker %d: %s\n", w, e.c_str());
      };
      if (!c.open(prefix + std::to_string(w), &err)) return fail(err);
      link::Fd icmp = icmp_socket_in(c.netns);
      if (!icmp) return fail("no ICMP socket in the namespace");
      std::vector<double> mine, mine_ping;
      while (Clock::now() < deadline) {
        Endpoint ep;
        auto t0 = Clock::now();
        bool ok = create(p, nid, pool, "", *c.host_sock, c.netns, *c.inside, &ep, &err);
        auto t_created = Clock::now();
        if (ping_delay_ms > 0 && ok) std::this_thread::sleep_for(std::chrono::milliseconds(ping_delay_ms));
        if (ok && !ping_until_reply(icmp.get(), target, static_cast<uint16_t>(w * 977 + pairs), 5000)) {
          ok = false;
          err = "no reply from " + target + " within 5 s (" + ep.cidr + ")";
        }
        if (ok) {
          mine.push_back(ms_since(t0));
          mine_ping.push_back(ms_since(t_created));
        }
        if (!ok) fail(err);
        std::string derr;
        if (!ep.eid.empty() && !destroy(p, nid, pool, *c.inside, c.host_ns, ep, &derr)) fail(derr);
        if (ok) pairs++;
      }
      std::lock_guard<std::mutex> lock(mu);
      create_to_ping.insert(create_to_ping.end(), mine.begin(), mine.end());
      ping_wait.insert(ping_wait.end(), mine_ping.begin(), mine_ping.end());
      for (auto& [m, v] : p.times()) times[m].insert(times[m].end(), v.begin(), v.end());
    });
  for (auto& t : threads) t.join();
  double elapsed_min = ms_since(t_start) / 60000.0;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv_ms = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
  json out = {{"workers", workers},
              {"seconds", seconds},
              {"pairs", pairs.load()},
              {"pairs_per_min", pairs.load() / elapsed_min},
              {"failures", failures.load()},
              {"cpu_ms", tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime)},
              {"create_to_ping_ms",
               {{"p50", pct(create_to_ping, 0.5)},
                {"p99", pct(create_to_ping, 0.99)},
                {"max", pct(create_to_ping, 1)},
                {"over_1s", std::count_if(create_to_ping.begin(), create_to_ping.end(),
                                          [](double ms) { return ms >= 1000; })}}},
              {"ping_wait_ms",
               {{"p50", pct(ping_wait, 0.5)}, {"p99", pct(ping_wait, 0.99)}, {"max", pct(ping_wait, 1)}}}};
  for (auto& [m, v] : times)
    out["method_ms"][m] = {{"p50", pct(v, 0.5)}, {"p99", pct(v, 0.99)}, {"n", v.size()}};
  std::printf("%s\n", out.dump().c_str());
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.empty()) return usage();
  try {
    if (a[0] == "network" && a.size() >= 4) return network(a[1], a[2], {a.begin() + 3, a.end()});
    if (a[0] == "network-rm" && a.size() == 5) return network_rm(a[1], a[2], a[3], a[4]);
    if (a[0] == "anchor" && a.size() == 6) return anchor(a[1], a[2], a[3], a[4], a[5]);
    if (a[0] == "unanchor" && a.size() == 8) return unanchor(a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    if (a[0] == "churn" && a.size() == 8)
      return churn(a[1], a[2], a[3], a[4], a[5], std::stoi(a[6]), std::stoi(a[7]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "container_churn: %s\n", e.what());
    return 2;
  }
  return usage();
}
