// trace_live_run: trace --live's requester side (src/trace/live.h) from outside vlcpd, for the
// system test tests/system/trace_live.sh until the trace service calls it: writes the session to
// the cluster's ObjectDB (ZooKeeper), waits for the nodes' tracer apps to arm, injects the marked
// packets through `ovs-ofctl packet-out` on FROM's bridge (vlcpd's SwitchManager::send in the
// service), collects the observations and prints the live result as JSON (trace/live.h to_json).
//
// trace_live_run --zk HOSTS [--root /vlcp] --self NAME --slot N --ofctl "ovs-ofctl ... SWITCH"
//   --in-port N --src-mac M --src-ip A --dst-mac M --dst-ip A [--count 3]
//   --to-port ID --to-server S --to-ofport N
//   --hop SERVER,KIND,OFPORT,NAME,VTEP,NEXT ...   (the simulated path, in order)
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "db/objectdb.h"
#include "db/zookeeper.h"
#include "io/control_loop.h"
#include "model/address.h"
#include "ofp/message.h"
#include "trace/live.h"

using namespace vlcp;

namespace {

std::multimap<std::string, std::string> g_args;

std::string arg(const std::string& name, const std::string& fallback = "") {
  auto it = g_args.find(name);
  return it == g_args.end() ? fallback : it->second;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "trace_live_run: %s\n", why.c_str());
  std::exit(2);
}

ofp::pkt::Mac mac(const std::string& name) {
  auto m = model::detail::parse_mac(arg(name));
  if (!m) die("--" + name + " is not a MAC");
  return *m;
}
uint32_t ipv4(const std::string& name, const std::string& text) {
  auto a = model::detail::parse_ip(text);
  if (!a) die(name + " '" + text + "' is not an IPv4 address");
  return *a;
}

// OVS's part of SwitchManager::send: the PACKET_OUT's in_port and frame, through ovs-ofctl.
Status ofctl_send(const std::string& ofctl, const std::vector<uint8_t>& msg) {
  auto frame = ofp::decode_frame(ByteSpan(msg.data(), msg.size()));
  if (!frame.ok()) return make_error(Errc::kMalformed, "not a frame");
  auto po = ofp::decode_packet_out(*frame);
  if (!po.ok()) return make_error(Errc::kMalformed, "not a PACKET_OUT");
  std::string hex;
  char b[3];
  for (uint8_t c : po->data) {
    std::snprintf(b, sizeof b, "%02x", c);
    hex += b;
  }
  std::string cmd = ofctl + " 'in_port=" + std::to_string(po->in_port) + ",packet=" + hex + ",actions=table'";
  if (std::system(cmd.c_str()) != 0) return make_error(Errc::kUnavailable, "failed: " + cmd);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) die("bad argument " + k);
    g_args.emplace(k.substr(2), argv[i + 1]);
  }
  if (arg("zk").empty() || arg("self").empty() || arg("ofctl").empty()) die("usage: see the source");
  RealClock clock;
  io::ControlLoop loop{clock};
  db::ZkOptions o;
  o.hosts = arg("zk");
  o.root = arg("root", "/vlcp");
  auto store = db::ZkStore::connect(loop, o);
  if (!store.ok()) die(store.status().to_string());
  auto run_until = [&](const std::function<bool()>& done, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
      if (!loop.run_pending()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    return done();
  };
  if (!run_until([&] { return (*store)->connected(); }, std::chrono::seconds(30)))
    die("ZooKeeper unreachable");
  db::ObjectDb db(loop, **store);

  trace::LiveRequest req;
  req.slot = std::stoi(arg("slot", "0"));
  req.packet = trace::default_packet(trace::Proto::kIcmp, mac("src-mac"), ipv4("--src-ip", arg("src-ip")),
                                     mac("dst-mac"), ipv4("--dst-ip", arg("dst-ip")));
  req.packet.in_port = static_cast<uint32_t>(std::stoul(arg("in-port", "0")));
  req.dpid = 0;  // (ovs-ofctl names the switch)
  req.options.count = std::stoi(arg("count", "3"));
  trace::Expected& e = req.expected;
  e.to_port = arg("to-port");
  e.to_server = arg("to-server");
  e.to_ofport = static_cast<uint32_t>(std::stoul(arg("to-ofport", "0")));
  e.simulated_code = arg("simulated", "delivered");
  e.simulated_text = arg("simulated-text", "delivered to port " + e.to_port + " on server " + e.to_server);
  for (auto [it, end] = g_args.equal_range("hop"); it != end; ++it) {
    auto f = split(it->second, ',');
    if (f.size() != 6) die("--hop SERVER,KIND,OFPORT,NAME,VTEP,NEXT");
    e.hops.push_back({f[0], f[1], static_cast<uint32_t>(std::stoul(f[2].empty() ? "0" : f[2])), f[3],
                      f[4].empty() ? 0 : ipv4("--hop's VTEP", f[4]), f[5]});
  }

  trace::LiveEnv env;
  env.db = &db;
  env.self = arg("self");
  env.after = [&loop](std::chrono::milliseconds d, std::function<void()> fn) {
    loop.after(d, std::move(fn));
  };
  std::string ofctl = arg("ofctl");
  env.send = [ofctl](uint64_t, std::vector<uint8_t> msg) { return ofctl_send(ofctl, msg); };
  std::optional<Result<trace::LiveResult>> out;
  trace::run_live(env, req, [&](Result<trace::LiveResult> r) { out = std::move(r); });
  if (!run_until([&] { return out.has_value(); }, std::chrono::seconds(30))) die("no result in 30 s");
  if (!out->ok()) die(out->status().to_string());
  run_until([] { return false; }, std::chrono::seconds(0));  // (the session's emptying is written)
  std::printf("%s\n", trace::to_json(**out).dump().c_str());
  return 0;
}
