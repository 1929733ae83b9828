#include "trace/service.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "apps/explain.h"
#include "apps/switch_view.h"
#include "base/log.h"
#include "db/store.h"
#include "model/address.h"
#include "trace/annotate.h"
#include "trace/hop.h"
#include "trace/live.h"
#include "trace/packet_spec.h"
#include "trace/parse.h"
#include "trace/verdict.h"

namespace vlcp::trace {

namespace {

using Json = nlohmann::json;
using model::detail::ip_text;
using model::detail::mac_text;

constexpr int kMaxRunning = 16;                           // §4.4: beyond this, busy
constexpr std::chrono::milliseconds kCallDeadline{5000};  // per ofproto/trace, and per hop answer
constexpr int kHopLimit = 4;                              // §7.3
constexpr size_t kMaxSteps = 200;                         // §7.2: a larger answer is cut here

std::string join_list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// An answer for the mailbox: a hop's steps cut at the 200th (and marked), so that it stays under
// the mailbox's size cap in any real case.
Json truncated(Json ans) {
  if (ans.contains("hop") && ans["hop"].contains("steps") && ans["hop"]["steps"].size() > kMaxSteps) {
    ans["hop"]["steps"].erase(ans["hop"]["steps"].begin() + kMaxSteps, ans["hop"]["steps"].end());
    ans["hop"]["truncated"] = true;
  }
  if (ans.contains("hop") && ans["hop"].contains("raw") && ans["hop"]["raw"].is_string() &&
      ans["hop"]["raw"].get<std::string>().size() > 64 * 1024)
    ans["hop"]["raw"] = ans["hop"]["raw"].get<std::string>().substr(0, 64 * 1024) + "\n[cut at 64 KiB]";
  return ans;
}

std::string text_param(const Json& params, const char* name) {
  if (!params.contains(name)) return "";
  const Json& v = params[name];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

Result<std::optional<uint64_t>> number_param(const Json& params, const char* name, uint64_t max) {
  std::string t = text_param(params, name);
  if (t.empty()) return std::optional<uint64_t>();
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(t.c_str(), &end, 10);
  if (errno || *end || t[0] == '-' || v > max)
    return make_error(Errc::kInvalidArgument,
                      std::string(name) + ": '" + t + "' is not a number from 0 to " + std::to_string(max));
  return std::optional<uint64_t>(v);
}

bool bool_param(const Json& params, const char* name) {
  if (!params.contains(name)) return false;
  const Json& v = params[name];
  if (v.is_boolean()) return v.get<bool>();
  std::string t = text_param(params, name);
  return t == "true" || t == "True" || t == "1" || t == "yes";
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

std::string random_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(rng()));
  return b;
}

const apps::LogicalPortObj* port_by_id(const apps::ModelView& m, const std::string& id) {
  auto it = m.logical_ports().find(db::escape_key_part(id));  // (keyed by the id's key part)
  return it == m.logical_ports().end() ? nullptr : &it->second;
}

std::string network_id(const apps::ModelView& m, const std::string& key) {
  auto it = m.logical_networks().find(key);
  return it == m.logical_networks().end() ? key : apps::object_id(key, it->second.value);
}

// The router of a network (through its subnets' router interfaces) by its id, "" none.
std::string router_of(const apps::ModelView& m, const std::string& network) {
  std::string key = apps::router_of_network(m, network);
  return key.empty() ? "" : apps::object_id(key, m.routers().at(key).value);
}

struct Binding {
  uint64_t dpid = 0;
  std::string bridge, iface;
  uint32_t ofport = 0;
};
std::optional<Binding> binding_of(const std::map<uint64_t, apps::SwitchView>& views, const std::string& id) {
  for (const auto& [dpid, v] : views)
    for (const auto& p : v.ports)
      if (p.iface_id == id && p.ofport > 0)
        return Binding{dpid, v.bridge, p.name, static_cast<uint32_t>(p.ofport)};
  return std::nullopt;
}

}  // namespace

// One trace, from its resolution to its verdict (the coordinator's side, §7.3).
struct TraceModule::Run {
  api::ApiDone done;
  std::string id;
  bool raw = false;
  Json result;  // what the caller gets
  VerdictInput verdict;
  PacketSpec packet;                             // as FROM sends it (no in_port: the hop's node finds it)
  std::string system_id, from, to_port, server;  // server: --server
  std::string want;                              // the trace's interest in its own model view
  Clock::Monotonic deadline{};
  int slot = -1;  // the mailbox slot (-1: none)
  // Round 0: where the ports are bound, by port: [{server, bridge, dpid, ofport}]
  std::map<std::string, std::vector<Json>> bound;
  std::vector<std::string> answered, missing;
  std::string to_server;       // where TO's port is bound ("" nowhere known)
  std::set<std::string> seen;  // server + arrival + packet of each hop (loop detection)
  int hops = 0;
  std::vector<std::string> vias;  // how each hop after the first arrived ("VXLAN", "VLAN 101")
  // --live (§9): after the simulation, marked packets injected on FROM's switch.
  bool live = false;
  int live_count = 3;
  Json from_binding;  // FROM's chosen binding {server, bridge, dpid, ofport}
  // A physical FROM with --network: how network N's packet arrives on the interface (tun_dst is
  // the interface's local_ip, known after round 0).
  std::optional<Arrival> arrival;
};

TraceModule::~TraceModule() {
  stop();
}

Status TraceModule::start() {
  if (!(deps_.objectdb ? deps_.objectdb() : nullptr))
    return make_error(Errc::kUnavailable, "module trace needs module objectdb");
  alive_ = std::make_shared<bool>(true);
  running_ = 0;  // (a trace the last stop cut short never counted itself out)
  if (const apps::AppHost* host = deps_.host ? deps_.host() : nullptr)
    for (const apps::FlowApp* a : host->apps())
      for (auto id : a->cookie_ids()) app_names_[id] = a->name();
  unixctl_ = std::make_unique<ovsdb::UnixctlClient>(loop_.context(), [s = deps_.ovsdb_settings] {
    return ovsdb::find_vswitchd_ctl(s.vswitchd_ctl, s.remote);
  });
  start_mailbox();
  return {};
}

void TraceModule::stop() {
  if (alive_) *alive_ = false;
  alive_.reset();
  unixctl_.reset();
  mailbox_.reset();
  model_.reset();
}

std::string TraceModule::system_id() const {
  const ovsdb::OvsdbClient* ovsdb = deps_.ovsdb ? deps_.ovsdb() : nullptr;
  return ovsdb ? ovsdb->replica().system_id : "";
}

// The node record and the mailbox need the system id, which OVSDB gives once it is read: until
// then, tried again every second.
void TraceModule::start_mailbox() {
  auto db = deps_.objectdb ? deps_.objectdb() : nullptr;
  std::string sid = system_id();
  if (!db || sid.empty()) {
    loop_.after(std::chrono::seconds(1), [this, alive = std::weak_ptr<bool>(alive_)] {
      if (auto a = alive.lock(); a && *a) start_mailbox();
    });
    return;
  }
  mailbox_ = std::make_unique<Mailbox>(loop_, *db, sid);
  mailbox_->start([this] { return node_record(); },
                  [this](const std::string& requester, const Json& req, Mailbox::Reply reply) {
                    serve(requester, req, std::move(reply));
                  });
}

// What this node says of itself (§7.1): its bridges, their tunnel addresses and OpenFlow state.
Json TraceModule::node_record() const {
  Json bridges = Json::array(), tunnel_ips = Json::array();
  const ovsdb::OvsdbClient* ovsdb = deps_.ovsdb ? deps_.ovsdb() : nullptr;
  const sw::SwitchManager* switches = deps_.switches ? deps_.switches() : nullptr;
  if (ovsdb)
    for (const auto& [dpid, v] : apps::switch_views(ovsdb->replica())) {
      Json ips = Json::array();
      for (const auto& p : v.ports)
        if (!p.local_ip.empty() && p.local_ip != "flow") {
          ips.push_back(p.local_ip);
          tunnel_ips.push_back(p.local_ip);
        }
      bool of = false;
      if (switches)
        if (auto it = switches->switches().find(dpid); it != switches->switches().end())
          of = it->second.connected;
      char d[20];
      std::snprintf(d, sizeof d, "%016llx", static_cast<unsigned long long>(dpid));
      bridges.push_back({{"name", v.bridge}, {"dpid", d}, {"tunnel_ips", ips}, {"openflow", of}});
    }
  return {{"bridges", bridges}, {"tunnel_ips", tunnel_ips}, {"trace", {{"version", 1}}}};
}

Json TraceModule::status() const {
  Json by_code = Json::object();
  for (const auto& [code, n] : verdicts_) by_code[code] = n;
  Json out = {{"running", running_},
              {"own_model_view", model_ != nullptr},
              {"verdicts", by_code},
              {"unixctl_errors", unixctl_errors_}};
  if (mailbox_) {
    const MailboxStats& s = mailbox_->stats();
    out["mailbox"] = {{"slots_in_use", mailbox_->slots_in_use()},
                      {"asked", s.asked},
                      {"answered", s.answered},
                      {"stale", s.stale},
                      {"timeouts", s.timeouts},
                      {"busy", s.busy},
                      {"served", s.served},
                      {"swept", s.swept},
                      {"polled", s.polled}};
  }
  return out;
}

Json TraceModule::nodes() const {
  Json out = Json::array();
  if (mailbox_)
    for (const auto& n : mailbox_->nodes()) {
      Json j = n.value;
      j["live"] = n.live;
      out.push_back(std::move(j));
    }
  return out;
}

namespace {
const std::set<schema::Kind>& model_kinds() {
  using schema::Kind;
  static const std::set<Kind> kinds{Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kPhysicalPort,
                                    Kind::kSubnet,          Kind::kLogicalPort,    Kind::kRouter,
                                    Kind::kRouterInterface, Kind::kLocation};
  return kinds;
}
}  // namespace

// The model a trace reads. vlcpd's view follows only what its bound ports need (modelsync =
// interest, ARCHITECTURE §16), so a trace may name ports of networks this node does not follow.
// Chosen: the apps' view when it already has every port the trace names (the usual case, and a
// peer's hop: it hosts the destination, so it follows its network); otherwise the module's own
// view, also interest-based, told to want those ports for the trace's length (want_ports: it reads
// them from ObjectDB, follows their networks and router neighbours, and lets them go after the
// linger). Never a second copy of the whole model.
void TraceModule::with_model(const std::string& source, std::set<std::string> ids,
                             std::chrono::steady_clock::time_point deadline,
                             std::function<void(const apps::ModelView*)> fn) {
  if (const apps::ModelView* m = deps_.model ? deps_.model() : nullptr)
    if (m->loaded() &&
        std::includes(m->kinds().begin(), m->kinds().end(), model_kinds().begin(), model_kinds().end())) {
      bool has = true;
      if (m->sync() == apps::ModelSync::kInterest)
        for (const auto& id : ids) has = has && m->logical_ports().count(db::escape_key_part(id));
      if (has) return fn(m);
    }
  if (!model_) {
    auto db = deps_.objectdb ? deps_.objectdb() : nullptr;
    if (!db) return fn(nullptr);
    model_ = std::make_unique<apps::ModelView>(
        *db,
        [loop = &loop_](std::chrono::milliseconds d, std::function<void()> fn) {
          loop->after(d, std::move(fn));
        },
        model_kinds(), apps::ModelSync::kInterest);
    model_->start();
  }
  if (!ids.empty()) model_->want_ports(source, ids);
  wait_model(ids, deadline, std::move(fn));
}

void TraceModule::wait_model(std::set<std::string> ids, std::chrono::steady_clock::time_point deadline,
                             std::function<void(const apps::ModelView*)> fn) {
  if (model_ && model_->loaded() && model_->ready_for(ids)) return fn(model_.get());
  if (std::chrono::steady_clock::now() > deadline)
    return fn(model_ && model_->loaded() ? model_.get() : nullptr);
  loop_.after(std::chrono::milliseconds(20), [this, alive = std::weak_ptr<bool>(alive_), ids, deadline, fn] {
    auto a = alive.lock();
    if (!a || !*a) return fn(nullptr);
    wait_model(ids, deadline, fn);
  });
}

void TraceModule::release_model(const std::string& source) {
  if (model_ && !source.empty()) model_->want_ports(source, {});
}

void TraceModule::packet(const Json& params, api::ApiDone done) {
  if (running_ >= kMaxRunning)
    return done(make_error(Errc::kUnavailable, "busy: " + std::to_string(running_) + " traces running"));
  std::string from = text_param(params, "from"), to = text_param(params, "to");
  std::string proto_text = text_param(params, "proto");
  if (proto_text.empty()) proto_text = "icmp";
  auto proto = proto_from_name(proto_text);
  if (!proto)
    return done(
        make_error(Errc::kInvalidArgument, "proto: '" + proto_text + "' is not icmp, tcp, udp, arp or dhcp"));
  if (from.empty())
    return done(make_error(Errc::kInvalidArgument, "from: the port to trace from is missing"));
  if (to.empty() && *proto != Proto::kDhcp)
    return done(make_error(Errc::kInvalidArgument,
                           "to: a port, IPv4 address or MAC is missing (only --proto dhcp takes none)"));
  auto timeout = number_param(params, "timeout", 70);
  if (!timeout.ok()) return done(timeout.error());
  bool want_live = bool_param(params, "live");
  auto count = number_param(params, "count", kMaxCount);
  if (!count.ok()) return done(count.error());
  if (want_live && (*proto == Proto::kArp || *proto == Proto::kDhcp))
    return done(
        make_error(Errc::kInvalidArgument,
                   "live: " + proto_text +
                       " is answered by flows or by vlcpd, not forwarded: the simulated trace shows it"));
  if (want_live && count->value_or(3) < 1)
    return done(make_error(Errc::kInvalidArgument, "count: at least one packet"));
  // The ids FROM and TO may be (an address is no port id).
  // (A physical FROM with --network names no port: the apps' view serves when it has TO.)
  std::set<std::string> ids;
  if (text_param(params, "network").empty()) ids.insert(from);
  if (!to.empty() && !model::detail::parse_ip(to) && !model::detail::parse_mac(to)) ids.insert(to);
  auto run = std::make_shared<Run>();
  run->done = std::move(done);
  run->id = random_id();
  run->want = "trace/" + run->id;
  run->deadline = loop_.clock().now() + std::chrono::seconds(timeout->value_or(15));
  run->live = want_live;
  run->live_count = static_cast<int>(count->value_or(3));
  ++running_;
  with_model(
      run->want, ids, std::chrono::steady_clock::now() + std::chrono::seconds(10),
      [this, run, params](const apps::ModelView* m) {
        if (!m) {
          --running_;
          release_model(run->want);
          return run->done(make_error(Errc::kUnavailable, "the trace's model view did not load within 10 s"));
        }
        resolve(run, *m, params);
      });
}

namespace {

// A physical FROM with --network (§1): network N's key and how its packet arrives from outside
// on N's physical network (vlan: N's VLAN id; native: untagged; vxlan: N's VNI, and tun_src as
// given; tun_dst is the interface's, known after round 0). src_mac and src_ip are checked here.
Result<std::pair<std::string, Arrival>> outside_arrival(const apps::ModelView& m, const Json& params) {
  auto bad = [](std::string text) { return make_error(Errc::kInvalidArgument, std::move(text)); };
  std::string network = text_param(params, "network");
  for (const char* p : {"src_mac", "src_ip"})
    if (text_param(params, p).empty())
      return bad(std::string(p) + ": a physical FROM sends as no logical port: give its source " +
                 (p[4] == 'm' ? "MAC" : "IPv4 address"));
  if (!model::detail::parse_mac(text_param(params, "src_mac")))
    return bad("src_mac: '" + text_param(params, "src_mac") + "' is not a MAC address");
  if (!model::detail::parse_ip(text_param(params, "src_ip")))
    return bad("src_ip: '" + text_param(params, "src_ip") + "' is not an IPv4 address");
  std::string key;
  for (const auto& [k, n] : m.logical_networks())
    if (network_id(m, k) == network) key = k;
  if (key.empty())
    return bad("network: no logical network '" + network +
               "' (this node's model view holds the networks of its ports and of the ports a trace "
               "names: name TO as a port of it if it exists)");
  const apps::LogicalNetworkObj& n = m.logical_networks().at(key);
  auto pn = m.physical_networks().find(n.physnet);
  if (pn == m.physical_networks().end())
    return bad("network: " + network + "'s physical network " + n.physnet + " is not in the model");
  Arrival a;
  a.physicalnetwork = apps::object_id(pn->first, pn->second.value);
  a.via = pn->second.type == "vxlan" ? "vxlan" : pn->second.type == "vlan" ? "vlan" : "native";
  if (pn->second.type != "vxlan" && pn->second.type != "vlan" && pn->second.type != "native")
    return bad("network: " + network + " is on " + pn->second.type + " physical network " +
               a.physicalnetwork + ": no uplink or tunnel brings its packets in");
  if (a.via == "vlan" && (n.segment == 0 || n.segment > 4095))
    return bad("network: " + network + " has no VLAN id");
  if (a.via == "vxlan") a.vni = n.segment;
  if (a.via == "vlan") a.vlan = static_cast<uint16_t>(n.segment);
  std::string tun_src = text_param(params, "tun_src");
  if (!tun_src.empty()) {
    if (a.via != "vxlan")
      return bad("tun_src: network " + network + " is on " + pn->second.type + " physical network " +
                 a.physicalnetwork + ", not a VXLAN one");
    auto ip = model::detail::parse_ip(tun_src);
    if (!ip) return bad("tun_src: '" + tun_src + "' is not an IPv4 address");
    a.tun_src = *ip;
  }
  return std::pair{key, a};
}

}  // namespace

void TraceModule::resolve(const std::shared_ptr<Run>& run, const apps::ModelView& m, const Json& params) {
  std::string from = text_param(params, "from"), to = text_param(params, "to");
  std::string proto_text = text_param(params, "proto");
  Proto proto = proto_from_name(proto_text.empty() ? "icmp" : proto_text).value_or(Proto::kIcmp);
  auto dport = number_param(params, "dport", 65535);
  auto sport = number_param(params, "sport", 65535);
  auto ttl = number_param(params, "ttl", 255);
  for (const auto* r : {&dport, &sport, &ttl})
    if (!r->ok()) return fail(run, r->error());

  run->raw = bool_param(params, "raw");
  run->server = text_param(params, "server");
  run->system_id = system_id();
  if (run->system_id.empty()) run->system_id = "this server";
  VerdictInput& vi = run->verdict;
  vi.server = run->system_id;
  vi.servers_asked = {run->system_id};
  vi.from = from;
  vi.to = to;
  run->from = from;
  Json& out = run->result;
  out = {{"id", run->id}, {"mode", "simulated"}, {"hops", Json::array()}, {"notes", Json::array()}};

  // FROM: a logical port, or SERVER/INTERFACE (an interface whose iface-id names nothing, or, with
  // --network, an uplink or tunnel that brings in network N's packet from outside).
  const apps::LogicalPortObj* fp = port_by_id(m, from);
  auto slash = from.find('/');
  bool iface_from = !fp && slash != std::string::npos && slash > 0 && slash + 1 < from.size();
  std::string server = iface_from ? from.substr(0, slash) : "",
              iface = iface_from ? from.substr(slash + 1) : "";
  std::string network = text_param(params, "network");
  if (network.empty()) {
    for (const char* p : {"src_mac", "src_ip", "tun_src"})
      if (!text_param(params, p).empty())
        return fail(run, make_error(Errc::kInvalidArgument,
                                    std::string(p) + ": only with network (a physical FROM, "
                                                     "SERVER/INTERFACE, and the network it brings in)"));
    if (iface_from) {
      out["from"] = {{"kind", "interface"}, {"server", server}, {"iface", iface}};
      return physical_from(run, server, iface);
    }
    if (!fp) {
      vi.from_exists = false;
      out["from"] = {{"kind", "logicalport"}, {"id", from}, {"exists", false}};
      return answer(run);
    }
  } else if (!iface_from) {
    return fail(run, make_error(Errc::kInvalidArgument,
                                "network: only with FROM = SERVER/INTERFACE (an uplink or tunnel); " +
                                    (fp ? "logical port " + from + " sends in its own network"
                                        : "'" + from + "' is no SERVER/INTERFACE")));
  }
  std::string net_key;
  const apps::SubnetObj* fsub = nullptr;
  Mac src_mac{};
  Ipv4 src_ip = 0;
  if (fp) {
    net_key = fp->network;
    vi.from_network = network_id(m, net_key);
    out["from"] = {{"kind", "logicalport"}, {"id", from}, {"network", vi.from_network}};
    if (fp->mac) out["from"]["mac"] = mac_text(*fp->mac);
    if (fp->ip) out["from"]["ip"] = ip_text(*fp->ip);
    if (!fp->mac)
      out["notes"].push_back("port " + from +
                             " has no MAC address: the packet's source MAC is 00:00:00:00:00:00");
    if (auto s = m.subnets().find(fp->subnet); s != m.subnets().end()) fsub = &s->second;
    if (fp->ip && fsub && fsub->cidr)
      vi.offer = ip_text(*fp->ip) + "/" + std::to_string(fsub->cidr->prefix) +
                 (fsub->gateway ? ", router " + ip_text(*fsub->gateway) : "");
    src_mac = fp->mac.value_or(Mac{});
    src_ip = fp->ip.value_or(0);
  } else {
    auto arrival = outside_arrival(m, params);
    if (!arrival.ok()) return fail(run, arrival.error());
    net_key = arrival->first;
    src_mac = *model::detail::parse_mac(text_param(params, "src_mac"));
    src_ip = *model::detail::parse_ip(text_param(params, "src_ip"));
    run->arrival = arrival->second;
    run->from.clear();
    vi.from_network = network;
    out["from"] = {{"kind", "interface"}, {"server", server},         {"iface", iface},
                   {"network", network},  {"mac", mac_text(src_mac)}, {"ip", ip_text(src_ip)}};
    for (const auto& sk : m.subnets_of(net_key))
      if (auto s = m.subnets().find(sk);
          s != m.subnets().end() && s->second.cidr && s->second.cidr->contains(src_ip))
        fsub = &s->second;
  }
  vi.router = router_of(m, net_key);
  vi.network_routed = !vi.router.empty();

  // The router MAC this network's hosts send routed traffic to (the apps that route say).
  const apps::AppHost* host = deps_.host ? deps_.host() : nullptr;
  std::optional<model::detail::Mac> gateway;
  if (host)
    for (const apps::FlowApp* a : host->apps())
      if (auto g = a->gateway_mac(m, net_key)) gateway = g;

  // TO
  Mac dst_mac{};
  Ipv4 dst_ip = 0;
  Json to_json = Json::object();
  auto to_port = [&](const apps::LogicalPortObj& p) {
    vi.to_port = p.id;
    run->to_port = p.id;
    to_json = {{"kind", "logicalport"}, {"id", p.id}, {"network", network_id(m, p.network)}};
    if (p.ip) {
      to_json["ip"] = ip_text(*p.ip);
      dst_ip = *p.ip;
    }
    if (p.mac) to_json["mac"] = mac_text(*p.mac);
    bool same = p.network == net_key;
    if (same && p.mac) dst_mac = *p.mac;
    if (!same && gateway) dst_mac = *gateway;
  };
  if (proto == Proto::kDhcp) {
    to_json = nullptr;
  } else if (const apps::LogicalPortObj* tp = port_by_id(m, to)) {
    to_port(*tp);
  } else if (auto ip = model::detail::parse_ip(to)) {
    dst_ip = *ip;
    const apps::LogicalPortObj* by_ip = nullptr;
    for (const auto& [k, p] : m.logical_ports())
      if (p.ip == ip && (!by_ip || p.network == net_key)) by_ip = &p;
    if (by_ip) {
      to_port(*by_ip);
    } else {
      std::string router;
      if (const apps::RouterInterfaceObj* ri = apps::interface_at(m, *ip))
        if (auto r = m.routers().find(ri->router); r != m.routers().end())
          router = apps::object_id(r->first, r->second.value);
      if (!router.empty()) {
        to_json = {{"kind", "routerinterface"}, {"router", router}, {"ip", to}};
        if (gateway) dst_mac = *gateway;
      } else if (fsub && fsub->cidr && fsub->cidr->contains(*ip)) {
        vi.to_unknown = true;
        vi.to_what = "IP";
        vi.to_value = to;
        to_json = {{"kind", "address"}, {"ip", to}, {"known", false}};
        dst_mac = Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
      } else {
        to_json = {{"kind", "external"}, {"ip", to}};
        if (gateway) dst_mac = *gateway;
      }
    }
  } else if (auto mac = model::detail::parse_mac(to)) {
    const apps::LogicalPortObj* by_mac = nullptr;
    for (const auto& [k, p] : m.logical_ports())
      if (p.mac == mac && p.network == net_key) by_mac = &p;
    if (by_mac) {
      to_port(*by_mac);
    } else {
      vi.to_unknown = true;
      vi.to_what = "MAC";
      vi.to_value = mac_text(*mac);
      dst_mac = *mac;
      to_json = {{"kind", "mac"}, {"mac", mac_text(*mac)}, {"known", false}};
    }
  } else {
    return fail(run, make_error(Errc::kInvalidArgument,
                                "to: '" + to + "' is no logical port, IPv4 address or MAC address"));
  }
  out["to"] = to_json;
  vi.dst_router_mac = gateway && dst_mac == *gateway;

  PacketSpec spec = default_packet(proto, src_mac, src_ip, dst_mac, dst_ip);
  // (each a Result of an optional: given or not; a given 0 is honoured)
  if (*ttl) spec.ttl = static_cast<uint8_t>(**ttl);
  if (*dport && (proto == Proto::kTcp || proto == Proto::kUdp)) spec.tp_dst = static_cast<uint16_t>(**dport);
  if (*sport && (proto == Proto::kTcp || proto == Proto::kUdp)) spec.tp_src = static_cast<uint16_t>(**sport);
  vi.ttl = spec.ttl;
  vi.dst_mac = format_mac(spec.eth_dst);
  vi.dst_ip = format_ipv4(spec.ip_dst);
  run->packet = spec;
  out["packet"] = packet_spec_to_json(spec);
  // Why l3router would have no route: the destination's subnet and whether the router has an
  // interface on it (known now: the model may change during the hops).
  if (!vi.router.empty())
    for (const auto& [k, s] : m.subnets())
      if (dst_ip && s.cidr && s.cidr->contains(dst_ip)) {
        vi.no_route_why = s.router.empty()
                              ? ": it has no interface on subnet " + apps::object_id(k, s.value) + " (" +
                                    s.cidr->text() + ") and no static route covers it"
                              : "";
        break;
      }
  if (run->arrival) return round0(run, {run->to_port}, std::pair{server, iface});
  round0(run, {from, run->to_port}, std::nullopt);
}

// Round 0 (§7.3): where the ports are bound, on this node and every live peer (2 s at most).
void TraceModule::round0(const std::shared_ptr<Run>& run, std::vector<std::string> ports,
                         std::optional<std::pair<std::string, std::string>> iface) {
  Json req = {{"kind", "bindings"}, {"ports", Json::array()}};
  for (const auto& p : ports)
    if (!p.empty()) req["ports"].push_back(p);
  if (iface) req["iface"] = {{"server", iface->first}, {"name", iface->second}};
  auto merge = [run](const std::string& server, const Json& ans) {
    if (ans.contains("bindings") && ans["bindings"].is_object())
      for (const auto& [port, list] : ans["bindings"].items())
        if (list.is_array())
          for (Json b : list) {
            b["server"] = server;
            run->bound[port].push_back(b);
          }
    if (ans.contains("iface") && ans["iface"].is_object()) run->result["from"]["found"] = ans["iface"];
  };
  merge(run->system_id, bindings(req));
  if (!mailbox_) {
    run->result["notes"].push_back(
        "no node record yet (the system id is not known): other servers are not asked");
    return after_round0(run);
  }
  mailbox_->reload([this, run, req, merge, alive = std::weak_ptr<bool>(alive_)] {
    auto live = alive.lock();
    if (!live || !*live) return run->done(make_error(Errc::kUnavailable, "module trace stopped"));
    ask_round0(run, req, merge);
  });
}

void TraceModule::ask_round0(const std::shared_ptr<Run>& run, const Json& req,
                             const std::function<void(const std::string&, const Json&)>& merge) {
  if (mailbox_->live_peers().empty()) return after_round0(run);
  auto slot = mailbox_->open();
  if (!slot.ok()) return fail(run, slot.error());
  run->slot = *slot;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(run->deadline - loop_.clock().now());
  auto wait = std::clamp(left, std::chrono::milliseconds(100), std::chrono::milliseconds(2000));
  mailbox_->ask(*slot, "*", req, wait, [this, run, merge, alive = std::weak_ptr<bool>(alive_)](Answers a) {
    auto live = alive.lock();
    if (!live || !*live) return run->done(make_error(Errc::kUnavailable, "module trace stopped"));
    for (const auto& [server, ans] : a.by_node) {
      run->answered.push_back(server);
      merge(server, ans);
    }
    run->missing = a.missing;
    after_round0(run);
  });
}

// A peer's answer to round 0: the ports bound here, the interface asked about.
Json TraceModule::bindings(const Json& req) const {
  Json out = {{"bindings", Json::object()}};
  const ovsdb::OvsdbClient* ovsdb = deps_.ovsdb ? deps_.ovsdb() : nullptr;
  if (!ovsdb) return out;
  auto views = apps::switch_views(ovsdb->replica());
  if (req.contains("ports") && req["ports"].is_array())
    for (const auto& p : req["ports"])
      if (p.is_string())
        if (auto b = binding_of(views, p.get<std::string>()))
          out["bindings"][p.get<std::string>()] = Json::array(
              {{{"bridge", b->bridge}, {"dpid", b->dpid}, {"ofport", b->ofport}, {"iface", b->iface}}});
  if (req.contains("iface") && req["iface"].is_object() && req["iface"].value("server", "") == system_id()) {
    std::string name = req["iface"].value("name", "");
    for (const auto& [dpid, v] : views)
      for (const auto& p : v.ports)
        if (p.name == name)
          out["iface"] = {{"server", system_id()},  {"bridge", v.bridge}, {"name", p.name},
                          {"iface_id", p.iface_id}, {"ofport", p.ofport}, {"type", p.type},
                          {"local_ip", p.local_ip}};
  }
  const sw::SwitchManager* switches = deps_.switches ? deps_.switches() : nullptr;
  Json health = Json::array();
  for (const auto& [dpid, v] : views) {
    bool of = false;
    if (switches)
      if (auto it = switches->switches().find(dpid); it != switches->switches().end())
        of = it->second.connected;
    health.push_back({{"bridge", v.bridge}, {"openflow", of}});
  }
  out["health"] = health;
  return out;
}

void TraceModule::after_round0(const std::shared_ptr<Run>& run) {
  VerdictInput& vi = run->verdict;
  for (const auto& s : run->answered) vi.servers_asked.push_back(s);
  const Json& from = run->result["from"];
  bool iface = from.value("kind", "") == "interface";
  // (an interface with an iface-id, or none found: the orphan pre-check, §8 rule 3)
  if (iface && !(run->arrival && from.contains("found") && from["found"].value("iface_id", "").empty()))
    return after_iface(run);
  vi.all_answered = run->missing.empty();
  run->result["round0"] = {{"answered", vi.servers_asked}, {"missing", run->missing}};
  if (!run->missing.empty())
    run->result["notes"].push_back("incomplete bindings: " + join_list(run->missing) +
                                   " did not answer round 0");
  if (!run->to_port.empty()) {
    Json list = Json::array();
    for (const auto& b : run->bound[run->to_port]) list.push_back(b);
    run->result["to"]["bound"] = list;
    if (!list.empty()) run->to_server = list[0].value("server", "");
  }
  if (iface) return hop(run, from["found"].value("server", ""), outside_hop(run));
  // FROM's server: --server's binding, else this node's, else the first that answered.
  const auto& fb = run->bound[run->from];
  const Json* pick = nullptr;
  for (const auto& b : fb)
    if ((run->server.empty() || b.value("server", "") == run->server) &&
        (!pick || b.value("server", "") == run->system_id))
      pick = &b;
  if (!pick) {
    vi.from_bound = false;
    return answer(run);
  }
  std::string server = pick->value("server", "");
  run->from_binding = *pick;
  run->result["from"]["server"] = server;
  run->result["from"]["bridge"] = pick->value("bridge", "");
  run->result["from"]["ofport"] = pick->value("ofport", 0);
  Json req = {{"kind", "hop"},
              {"hop", 1},
              {"arrival", {{"via", "port"}, {"port", run->from}}},
              {"packet", packet_spec_to_json(run->packet)},
              {"to_port", run->to_port},
              {"raw", run->raw}};
  hop(run, server, std::move(req));
}

// A physical FROM (SERVER/INTERFACE): round 0 asks SERVER about the interface; an iface-id that
// names no logical port is source-iface-orphan without any ofproto/trace (§8 rule 3).
void TraceModule::physical_from(const std::shared_ptr<Run>& run, const std::string& server,
                                const std::string& iface) {
  run->from.clear();
  round0(run, {}, std::pair{server, iface});
}

// Hop 1 of a physical FROM with --network: network N's packet arriving on SERVER's interface as
// the physical network brings it (SERVER finds that interface as its entry, or says what it is).
// VXLAN: tun_dst is the interface's local_ip; tun_src, unless given, a VTEP of another live node
// (this node's when it is not SERVER), else 0.0.0.0 (no VLCP flow matches it: learning reads it).
Json TraceModule::outside_hop(const std::shared_ptr<Run>& run) {
  const Json& found = run->result["from"]["found"];
  std::string server = found.value("server", "");
  Arrival a = *run->arrival;
  if (a.via == "vxlan") {
    a.tun_dst = model::detail::parse_ip(found.value("local_ip", "")).value_or(0);
    if (!a.tun_src && mailbox_) {
      std::vector<std::pair<bool, std::string>> vteps;  // (not this node, the address): this node's first
      for (const auto& n : mailbox_->nodes()) {
        const Json& ips = n.value.contains("tunnel_ips") ? n.value["tunnel_ips"] : Json();
        if (n.live && n.system_id != server && ips.is_array() && !ips.empty() && ips[0].is_string())
          vteps.emplace_back(n.system_id != run->system_id, ips[0].get<std::string>());
      }
      std::sort(vteps.begin(), vteps.end());
      if (!vteps.empty()) a.tun_src = model::detail::parse_ip(vteps[0].second).value_or(0);
    }
  }
  run->verdict.server = server;
  return Json{{"kind", "hop"},
              {"hop", 1},
              {"arrival", arrival_to_json(a)},
              {"iface", found.value("name", "")},
              {"packet", packet_spec_to_json(run->packet)},
              {"to_port", run->to_port},
              {"raw", run->raw}};
}

void TraceModule::after_iface(const std::shared_ptr<Run>& run) {
  VerdictInput& vi = run->verdict;
  const Json& f = run->result["from"];
  vi.from = f.value("server", "") + "/" + f.value("iface", "");
  if (!f.contains("found")) {
    vi.from_bound = false;  // (no answer from that server names such an interface)
    return answer(run);
  }
  std::string iface_id = f["found"].value("iface_id", "");
  if (iface_id.empty())
    return fail(run, make_error(Errc::kInvalidArgument,
                                "from: interface " + vi.from +
                                    " has no iface-id (an uplink or a tunnel): say which network's packet "
                                    "it brings in and from whom (--network, --src-mac, --src-ip)"));
  // Whether the iface-id names a port: read from ObjectDB through the trace's interest.
  with_model(run->want, {iface_id}, std::chrono::steady_clock::now() + std::chrono::seconds(5),
             [this, run, iface_id](const apps::ModelView* m) {
               if (!m)
                 return fail(run, make_error(Errc::kUnavailable, "the trace's model view did not load"));
               if (port_by_id(*m, iface_id))
                 return fail(run, make_error(Errc::kInvalidArgument, "from: " + run->verdict.from +
                                                                         " is bound to logical port " +
                                                                         iface_id + ": trace from the port"));
               const Json& found = run->result["from"]["found"];
               run->verdict.orphan_iface = found.value("name", "");
               run->verdict.orphan_iface_id = iface_id;
               run->verdict.server = found.value("server", "");
               run->verdict.bridge = found.value("bridge", "");
               answer(run);
             });
}

void TraceModule::hop(const std::shared_ptr<Run>& run, const std::string& server, Json req) {
  VerdictInput& vi = run->verdict;
  ++run->hops;
  auto handle = [this, run, server](Json ans) {
    if (ans.contains("error")) {
      std::string error = ans["error"].is_string() ? ans["error"].get<std::string>() : "error";
      std::string text = ans.value("text", error);
      if (error == "not-entry")
        return fail(run, make_error(Errc::kInvalidArgument,
                                    "from: " + text + " (network " + run->verdict.from_network + ")"));
      if (error != "no-tunnel" && error != "no-uplink")
        return fail(run, make_error(Errc::kUnavailable, server + ": " + text));
      run->verdict.peer_no_entry = text + ": nothing receives what " + run->verdict.server + " sends there";
      run->verdict.server = server;
      return answer(run);
    }
    if (!ans.contains("hop") || !ans["hop"].is_object())
      return fail(run, make_error(Errc::kMalformed, server + "'s answer has no hop"));
    next(run, std::move(ans["hop"]));
  };
  if (server == run->system_id) return run_hop(req, handle);
  auto record = [this](const std::string& peer) -> std::string {
    auto n = mailbox_ ? mailbox_->node(peer) : std::nullopt;
    if (!n) return "is not there";
    int64_t left = (n->expires_us - mailbox_->server_now_us()) / 1000000;
    return left > 0 ? "is live for " + std::to_string(left) + " s more"
                    : "expired " + std::to_string(-left) + " s ago";
  };
  if (std::find(run->missing.begin(), run->missing.end(), server) != run->missing.end() || !mailbox_ ||
      run->slot < 0) {
    vi.peer_no_answer = server;
    vi.peer_waited = "2 s (round 0)";
    vi.peer_record = record(server);
    return answer(run);
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(run->deadline - loop_.clock().now());
  auto wait = std::clamp(left, std::chrono::milliseconds(100), kCallDeadline);
  mailbox_->ask(run->slot, server, req, wait,
                [this, run, server, handle, wait, record, alive = std::weak_ptr<bool>(alive_)](Answers a) {
                  auto live = alive.lock();
                  if (!live || !*live)
                    return run->done(make_error(Errc::kUnavailable, "module trace stopped"));
                  auto it = a.by_node.find(server);
                  if (it == a.by_node.end()) {
                    ++peer_timeouts_;
                    run->verdict.peer_no_answer = server;
                    run->verdict.peer_waited = std::to_string(wait.count() / 1000) + "." +
                                               std::to_string(wait.count() % 1000 / 100) + " s";
                    run->verdict.peer_record = record(server);
                    return answer(run);
                  }
                  handle(it->second);
                });
}

// A hop is back: which of its outputs lead on (§7.3 "which outputs are followed"), and the next.
void TraceModule::next(const std::shared_ptr<Run>& run, Json hop) {
  std::string server = hop.value("server", "");
  std::optional<std::pair<std::string, Json>> follow;  // (server, its request)
  std::string unknown_vtep;
  for (auto& o : hop["outputs"]) {
    if (!o.contains("arrival") || !o.value("effective", true)) continue;
    const Json& a = o["arrival"];
    std::string nxt;
    if (a.value("via", "") == "vxlan") {
      std::string vtep = a.value("tun_dst", "");
      nxt = node_with_vtep(vtep);
      if (nxt.empty()) unknown_vtep = vtep;
    } else if (!run->to_server.empty() && run->to_server != server) {
      nxt = run->to_server;  // (an uplink: the physical network delivers it where TO is)
    }
    o["next"] = nxt;
    bool toward = !nxt.empty() && nxt != server &&
                  (nxt == run->to_server ||
                   (run->to_server.empty() && !run->to_port.empty() &&
                    std::find(run->missing.begin(), run->missing.end(), nxt) != run->missing.end()));
    o["followed"] = toward && !follow && run->hops < kHopLimit;
    if (!o["followed"].get<bool>()) continue;
    PacketState state;
    if (o.contains("packet") && o["packet"].is_object())
      for (const auto& [k, v] : o["packet"].items())
        if (v.is_string()) state.fields[k] = v.get<std::string>();
    auto arrival = arrival_from_json(a);
    if (!arrival.ok()) continue;
    auto pkt = next_packet(state, run->packet.proto, *arrival, 0);
    if (!pkt.ok()) {
      run->result["notes"].push_back("the packet at " + server + "'s output: " + pkt.error().message());
      o["followed"] = false;
      continue;
    }
    Json pj = packet_spec_to_json(*pkt);
    std::string key = nxt + "|" + a.dump() + "|" + pj.dump();
    if (run->seen.count(key)) {
      run->verdict.loop = nxt;
      run->verdict.loop_via = a.value("via", "");
      o["followed"] = false;
      continue;
    }
    run->seen.insert(key);
    run->vias.push_back(a.value("via", "") == "vxlan"
                            ? "VXLAN"
                            : (a.contains("vlan") ? "VLAN " + a["vlan"].dump() : "native"));
    follow = std::pair{nxt, Json{{"kind", "hop"},
                                 {"hop", run->hops + 1},
                                 {"arrival", a},
                                 {"packet", pj},
                                 {"to_port", run->to_port},
                                 {"raw", run->raw}}};
  }
  if (!unknown_vtep.empty() && !follow) run->verdict.peer_unknown = unknown_vtep;
  if (!follow && run->hops >= kHopLimit) run->result["notes"].push_back("hop limit reached (4)");
  run->result["hops"].push_back(hop);
  if (follow && run->verdict.loop.empty()) return this->hop(run, follow->first, std::move(follow->second));
  answer(run);
}

std::string TraceModule::node_with_vtep(const std::string& vtep) const {
  if (vtep.empty() || !mailbox_) return "";
  for (const auto& n : mailbox_->nodes()) {
    if (!n.live) continue;
    const Json& ips = n.value.contains("tunnel_ips") ? n.value["tunnel_ips"] : Json();
    if (ips.is_array())
      for (const auto& ip : ips)
        if (ip.is_string() && ip.get<std::string>() == vtep) return n.system_id;
  }
  return "";
}

// A request for this node (§7.3): round 0's bindings, or a hop to run here.
void TraceModule::serve(const std::string& requester, const Json& req, Mailbox::Reply reply) {
  (void)requester;
  std::string kind = req.is_object() ? req.value("kind", "") : "";
  if (kind == "bindings") return reply(bindings(req));
  if (kind == "hop") return run_hop(req, [reply](Json ans) { reply(std::move(truncated(std::move(ans)))); });
  reply(Json{{"error", "unknown-request"}, {"text", "unknown request '" + kind + "'"}});
}

// Runs one hop on this node: finds its entry (FROM's port, or the tunnel or uplink an arrival
// names), builds the flow itself from the validated packet fields, runs ofproto/trace and
// annotates it. Answers {hop} or {error, text}.
void TraceModule::run_hop(const Json& req, std::function<void(Json)> done) {
  auto bad = [&](const std::string& error, const std::string& text) {
    done(Json{{"error", error}, {"text", text}});
  };
  if (!req.contains("arrival") || !req["arrival"].is_object() || !req.contains("packet"))
    return bad("malformed", "a hop request needs arrival and packet");
  auto spec = packet_spec_from_json(req["packet"]);
  if (!spec.ok()) return bad("malformed", spec.error().message());
  const Json& arr = req["arrival"];
  std::set<std::string> ids;
  std::string from_port;
  if (arr.value("via", "") == "port") {
    from_port = arr.value("port", "");
    ids.insert(from_port);
  }
  std::string to_port = req.is_object() && req.contains("to_port") && req["to_port"].is_string()
                            ? req["to_port"].get<std::string>()
                            : "";
  if (!to_port.empty()) ids.insert(to_port);
  std::string source = "trace/hop/" + random_id();
  with_model(source, ids, std::chrono::steady_clock::now() + std::chrono::seconds(3),
             [this, req, spec = *spec, from_port, source, done, bad](const apps::ModelView* m) mutable {
               if (!m) {
                 release_model(source);
                 return bad("no-model", system_id() + "'s model view is not loaded");
               }
               auto hop = std::make_shared<Hop>();
               hop->system_id = system_id();
               const ovsdb::OvsdbClient* ovsdb = deps_.ovsdb ? deps_.ovsdb() : nullptr;
               if (ovsdb) hop->views = apps::switch_views(ovsdb->replica());
               const Json& arr = req["arrival"];
               Json arrival;
               if (!from_port.empty()) {
                 auto b = binding_of(hop->views, from_port);
                 if (!b) {
                   release_model(source);
                   return bad("not-bound", "port " + from_port + " is not bound on " + hop->system_id);
                 }
                 hop->entry = Entry{b->dpid, b->bridge, b->iface, b->ofport};
                 arrival = {{"via", "port"}, {"port", from_port}, {"ofport", b->ofport}};
               } else {
                 auto a = arrival_from_json(arr);
                 if (!a.ok()) {
                   release_model(source);
                   return bad("malformed", a.error().message());
                 }
                 // (a physical FROM names its interface: that one, or not-entry naming what it is)
                 std::string iface =
                     req.contains("iface") && req["iface"].is_string() ? req["iface"].get<std::string>() : "";
                 auto e = find_entry(*m, hop->views, hop->system_id, *a, iface);
                 if (!e.ok()) {
                   release_model(source);
                   std::string msg = e.error().message();
                   return bad(msg.substr(0, msg.find(':')), msg.substr(msg.find(':') + 2));
                 }
                 hop->entry = *e;
                 arrival = arrival_to_json(*a);
                 arrival["ofport"] = e->in_port;
                 arrival["iface"] = e->iface;
                 if (a->via == "vxlan") {
                   spec.tun_id = a->vni;
                   spec.tun_src = a->tun_src;
                   spec.tun_dst = a->tun_dst;
                 }
                 spec.vlan = a->vlan;
               }
               spec.in_port = hop->entry.in_port;
               hop->in_port = hop->entry.in_port;
               hop->raw = req.value("raw", false);
               const sw::SwitchManager* switches = deps_.switches ? deps_.switches() : nullptr;
               bool of = false;
               if (switches)
                 if (auto it = switches->switches().find(hop->entry.dpid); it != switches->switches().end())
                   of = it->second.connected;
               std::string flow = br_flow(spec);
               hop->json = {{"server", hop->system_id},
                            {"bridge", hop->entry.bridge},
                            {"arrival", arrival},
                            {"flow", flow},
                            {"health", {{"openflow", of}}}};
               unixctl_->call(
                   "ofproto/trace", {hop->entry.bridge, flow}, kCallDeadline,
                   [this, alive = std::weak_ptr<bool>(alive_), hop, source, done](Result<std::string> text) {
                     auto a = alive.lock();
                     if (!a || !*a) return;
                     release_model(source);
                     if (!text.ok()) {
                       ++unixctl_errors_;
                       return done(Json{{"error", "unixctl"},
                                        {"text", "ofproto/trace on " + hop->system_id +
                                                     "'s ovs-vswitchd failed: " + text.error().message()}});
                     }
                     annotate(*hop, *text);
                     done(Json{{"hop", std::move(hop->json)}});
                   });
             });
}

// The hop's steps and outputs, annotated on this node (its tables, flow owner and model).
void TraceModule::annotate(Hop& h, const std::string& text) {
  auto parsed = parse_trace(text);
  Json& hop = h.json;
  if (!parsed.ok()) {
    hop["error"] = "ofproto/trace's answer did not parse: " + parsed.error().message();
    hop["steps"] = Json::array();
    hop["outputs"] = Json::array();
    return;
  }
  Walk walk = walk_trace(*parsed);
  static const apps::ModelView* none = nullptr;
  const apps::ModelView* mp = deps_.model ? deps_.model() : none;
  if (!mp || !mp->loaded()) mp = model_ && model_->loaded() ? model_.get() : nullptr;
  const apps::AppHost* host = deps_.host ? deps_.host() : nullptr;
  const flows::FlowOwner* owner = host ? host->flow_owner(h.entry.dpid) : nullptr;
  std::vector<const apps::FlowApp*> apps_list;
  if (host)
    for (const apps::FlowApp* a : host->apps()) {
      apps_list.push_back(a);
      for (auto id : a->cookie_ids()) app_names_[id] = a->name();
    }
  // (the apps' names by cookie id as last seen: with ioprocessing unloaded, a flow still names its app)
  auto app_name = [this](uint8_t id) {
    auto it = app_names_.find(id);
    return it == app_names_.end() ? std::string() : it->second;
  };
  apps::SwitchContext ctx;
  ctx.dpid = h.entry.dpid;
  const apps::SwitchView* view = nullptr;
  if (auto v = h.views.find(h.entry.dpid); v != h.views.end()) view = &v->second;
  ctx.view = view;
  ctx.system_id = &h.system_id;
  hop["health"]["owner_records"] = owner != nullptr;
  Json steps = Json::array();
  for (const Step& step : walk.steps) {
    Annotation a = annotate_step(step, *deps_.tables, owner, app_name);
    apps::FlowFacts f;
    f.table = a.table_name;
    if (!a.partitions.empty()) f.partition = a.partitions.front();
    f.own_bits = a.own_bits;
    f.match = apps::match_fields(step.match);
    for (const auto& w : a.writes) f.writes.emplace_back(w.ovs_name, w.value);
    for (const auto& act : step.actions) f.actions += (f.actions.empty() ? "" : ",") + act;
    f.table_default = a.ownership == Ownership::kDefault;
    const apps::FlowApp* app = nullptr;
    for (const apps::FlowApp* x : apps_list)
      if (x->name() == a.app) app = x;
    std::vector<apps::ObjectRef> refs = f.table_default || !mp
                                            ? std::vector<apps::ObjectRef>{}
                                            : apps::explain_flow(*mp, ctx, f, app, apps_list);
    std::string explained = f.table_default ? "" : apps::explain_text(a.app, refs);
    Json objects = Json::array();
    for (const auto& r : refs) {
      Json o = {{"kind", r.kind}, {"id", r.id}};
      if (!r.role.empty()) o["role"] = r.role;
      if (!r.detail.empty()) o["detail"] = r.detail;
      if (!r.in_model) o["in_model"] = false;
      objects.push_back(o);
    }
    Json regs = Json::array();
    for (const auto& w : a.writes)
      regs.push_back({{"reg", w.ovs_name}, {"name", w.name}, {"value", w.value}, {"means", w.described}});
    steps.push_back({{"table", step.table},
                     {"table_name", a.table_name},
                     {"priority", step.priority},
                     {"cookie", hex(step.cookie)},
                     {"match", step.match},
                     {"no_match", step.no_match},
                     {"actions", step.actions},
                     {"default", f.table_default},
                     {"depth", step.depth},
                     {"branch", step.branch},
                     {"bridge", step.bridge},
                     {"underlay", step.underlay},
                     {"owner",
                      {{"app", a.app},
                       {"cookie_app", a.app_id},
                       {"partitions", a.partitions},
                       {"ownership", ownership_name(a.ownership)}}},
                     {"explained", explained},
                     {"objects", objects},
                     {"registers", regs},
                     {"details", step.details},
                     {"warnings", step.warnings}});
  }
  hop["steps"] = std::move(steps);
  Json outputs = Json::array();
  for (const Output& o : walk.outputs) {
    if (o.underlay) continue;  // the tunnel's underlay bridge (br-phy): shown in the raw text
    uint32_t ofport = o.kind == OutputKind::kInPort ? h.in_port : o.ofport;
    Json j = {{"kind", output_kind_name(o.kind)},
              {"action", o.action},
              {"ofport", ofport},
              {"step", o.step},
              {"effective", o.effective},
              {"details", o.details},
              {"warnings", o.warnings},
              {"packet", o.packet.fields},
              {"approximate", o.packet.approximate}};
    if (view && (o.kind == OutputKind::kPort || o.kind == OutputKind::kInPort))
      for (const auto& p : view->ports)
        if (p.ofport > 0 && static_cast<uint32_t>(p.ofport) == ofport) {
          j["iface"] = p.name;
          if (!p.type.empty()) j["iface_type"] = p.type;
          if (!p.iface_id.empty() && mp && port_by_id(*mp, p.iface_id)) j["port"] = p.iface_id;
        }
    // Out through a tunnel or an uplink: how it arrives on the next server (§7.3).
    if (view && mp && o.effective)
      if (auto a = arrival_of(*mp, *view, h.system_id, o)) j["arrival"] = arrival_to_json(*a);
    outputs.push_back(std::move(j));
  }
  hop["outputs"] = std::move(outputs);
  if (walk.drop)
    hop["drop"] = {{"step", walk.drop->step}, {"reason", walk.drop->reason}, {"text", walk.drop->text}};
  hop["datapath_actions"] = parsed->datapath_actions;
  hop["raw"] = h.raw ? Json(text) : Json(nullptr);
}

void TraceModule::fail(const std::shared_ptr<Run>& run, Status error) {
  --running_;
  if (mailbox_ && run->slot >= 0) mailbox_->close(run->slot);
  run->slot = -1;
  release_model(run->want);
  run->done(std::move(error));
}

void TraceModule::release(const std::shared_ptr<Run>& run) {
  --running_;
  if (mailbox_ && run->slot >= 0) mailbox_->close(run->slot);
  run->slot = -1;
  release_model(run->want);
}

void TraceModule::answer(const std::shared_ptr<Run>& run) {
  if (!run->live) release(run);
  VerdictInput& vi = run->verdict;
  // The verdict reads the last hop: where the packet went last.
  Json& hops = run->result["hops"];
  if (!hops.empty()) {
    const Json& hop = hops.back();
    hop_facts(hop, vi);
    vi.to_ofport.reset();
    for (const auto& b : run->bound[run->to_port])
      if (b.value("server", "") == vi.server) vi.to_ofport = b.value("ofport", 0u);
    vi.to_bound = !run->to_port.empty() && !run->bound[run->to_port].empty();
    if (run->hops > 1) {
      std::map<std::string, int> n;
      for (const auto& v : run->vias) ++n[v];
      std::string t;
      for (const auto& [via, count] : n)
        t += (t.empty() ? "" : ", ") + std::to_string(count) + " " + via + " hop" + (count > 1 ? "s" : "");
      vi.hops_note = t;
    }
  }
  Verdict v = decide(vi);
  ++verdicts_[v.code_name];
  run->result["verdict"] = {
      {"outcome", v.outcome}, {"code", v.code_name}, {"server", vi.server}, {"text", v.text}};
  if (run->live) return live(run);
  run->done(run->result);
}

namespace {

// A field of a record that may come from a peer: the wrong type reads as absent (text:
// apps::text_field).
uint64_t unsigned_field(const Json& j, const char* name) {
  auto it = j.is_object() ? j.find(name) : j.end();
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}
bool bool_field(const Json& j, const char* name, bool fallback) {
  auto it = j.is_object() ? j.find(name) : j.end();
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// What the simulation says per server, for the live comparison (trace/live.h Expected): each
// hop's followed output, else its output to TO's port, else its first effective one.
Expected expected_of(const Json& result, const std::string& to_port, const std::string& to_server,
                     uint32_t to_ofport) {
  Expected e;
  e.to_port = to_port;
  e.to_server = to_server;
  e.to_ofport = to_ofport;
  if (result.contains("verdict")) {
    e.simulated_code = apps::text_field(result["verdict"], "code");
    e.simulated_text = apps::text_field(result["verdict"], "text");
  }
  if (!result.contains("hops") || !result["hops"].is_array()) return e;
  for (const auto& h : result["hops"]) {
    ExpectedHop eh;
    eh.server = apps::text_field(h, "server");
    const Json* pick = nullptr;
    if (h.is_object() && h.contains("outputs") && h["outputs"].is_array())
      for (const auto& o : h["outputs"]) {
        if (!bool_field(o, "effective", true)) continue;
        if (bool_field(o, "followed", false)) {
          pick = &o;
          break;
        }
        if (!pick || (!to_port.empty() && apps::text_field(o, "port") == to_port)) pick = &o;
      }
    if (pick) {
      const Json& o = *pick;
      eh.out_ofport = static_cast<uint32_t>(unsigned_field(o, "ofport"));
      eh.out_name = apps::text_field(o, "port");
      if (eh.out_name.empty()) eh.out_name = apps::text_field(o, "iface");
      eh.next_server = apps::text_field(o, "next");
      if (o.contains("arrival") && o["arrival"].is_object()) {
        eh.out_kind = apps::text_field(o["arrival"], "via") == "vxlan" ? "tunnel" : "uplink";
        if (auto ip = model::detail::parse_ip(apps::text_field(o["arrival"], "tun_dst"))) eh.tun_dst = *ip;
      } else {
        eh.out_kind = "port";
      }
    }
    e.hops.push_back(std::move(eh));
  }
  return e;
}

}  // namespace

// --live (§9.2): the simulated trace is done (its verdict in the result); inject the marked
// packets on FROM's switch, which must be this node's (a PACKET_OUT goes through the vlcpd that
// holds the switch's connection), and add what was seen as result["live"].
void TraceModule::live(const std::shared_ptr<Run>& run) {
  // §10: the live verdict is the answer's; the simulation's moves to simulated_verdict.
  auto finish_live = [this, run](Json live) {
    release(run);
    run->result["mode"] = "live";
    run->result["simulated_verdict"] = run->result["verdict"];
    if (live.contains("verdict")) run->result["verdict"] = live["verdict"];
    run->result["live"] = std::move(live);
    run->done(run->result);
  };
  auto refused = [&](const std::string& code, const std::string& outcome, const std::string& text) {
    finish_live(
        {{"verdict", {{"outcome", outcome}, {"code", code}, {"server", run->system_id}, {"text", text}}},
         {"packets", Json::array()},
         {"sent", 0}});
  };
  const Json& fb = run->from_binding;
  if (!fb.is_object() || run->packet.proto == Proto::kArp || run->packet.proto == Proto::kDhcp)
    return refused(
        "live-cannot-inject", "not_started",
        "FROM is not a logical port bound on a server: nothing to inject (a live trace starts at a "
        "logical port)");
  if (apps::text_field(fb, "server") != run->system_id)
    return refused("live-cannot-inject", "not_started",
                   "port " + run->from + " is bound on " + apps::text_field(fb, "server") + ", not on " +
                       run->system_id +
                       ": run the live trace there (its vlcpd injects the packets on its own switch)");
  auto db = deps_.objectdb ? deps_.objectdb() : nullptr;
  if (!db || !deps_.send)
    return refused("live-cannot-inject", "not_started", "ObjectDB or OpenFlow is not loaded");
  if (run->slot < 0 && mailbox_) {
    auto slot = mailbox_->open();
    if (!slot.ok()) return refused("live-cannot-inject", "not_started", slot.error().message());
    run->slot = *slot;
  }
  uint32_t to_ofport = 0;
  for (const auto& b : run->bound[run->to_port])
    if (apps::text_field(b, "server") == run->to_server)
      to_ofport = static_cast<uint32_t>(unsigned_field(b, "ofport"));
  LiveRequest req;
  req.slot = std::max(run->slot, 0);
  req.packet = run->packet;
  req.packet.in_port = static_cast<uint32_t>(unsigned_field(fb, "ofport"));
  req.dpid = unsigned_field(fb, "dpid");
  req.expected = expected_of(run->result, run->to_port, run->to_server, to_ofport);
  req.options.count = run->live_count;
  LiveEnv env;
  env.db = db.get();
  env.self = run->system_id;
  env.after = [loop = &loop_](std::chrono::milliseconds d, std::function<void()> fn) {
    loop->after(d, std::move(fn));
  };
  env.send = deps_.send;
  run_live(std::move(env), std::move(req),
           [this, run, db, finish_live, alive = std::weak_ptr<bool>(alive_)](Result<LiveResult> r) {
             if (!alive.lock()) return;
             if (!r.ok()) {
               Json j = {{"verdict",
                          {{"outcome", "not_started"},
                           {"code", "live-cannot-inject"},
                           {"server", run->system_id},
                           {"text", r.error().message()}}},
                         {"packets", Json::array()},
                         {"sent", 0}};
               return finish_live(std::move(j));
             }
             finish_live(to_json(*r));
           });
}

// The facts the verdict rules read, from a hop as it was answered (here or by a peer).
void hop_facts(const Json& hop, VerdictInput& vi) {
  vi.server = hop.value("server", vi.server);
  vi.bridge = hop.value("bridge", vi.bridge);
  vi.openflow_connected = hop.contains("health") && hop["health"].value("openflow", false);
  vi.steps.clear();
  vi.outputs.clear();
  vi.drop.reset();
  auto strings = [](const Json& j, const char* k) {
    std::vector<std::string> out;
    if (j.contains(k) && j[k].is_array())
      for (const auto& s : j[k])
        if (s.is_string()) out.push_back(s.get<std::string>());
    return out;
  };
  for (const auto& s : hop.value("steps", Json::array())) {
    StepView sv;
    sv.table = s.value("table", -1);
    sv.table_name = s.value("table_name", "");
    sv.app = s.contains("owner") && s["owner"].is_object() ? s["owner"].value("app", "") : "";
    sv.owner = s.value("explained", "");
    sv.table_default = s.value("default", false);
    sv.warnings = strings(s, "warnings");
    vi.steps.push_back(std::move(sv));
  }
  for (const auto& o : hop.value("outputs", Json::array())) {
    OutputView ov;
    std::string kind = o.value("kind", "port");
#define VLCP_TRACE_OUTPUT_FROM_NAME(e, name) \
  if (kind == name) ov.kind = OutputKind::e;
    VLCP_TRACE_OUTPUT_KINDS(VLCP_TRACE_OUTPUT_FROM_NAME)
#undef VLCP_TRACE_OUTPUT_FROM_NAME
    ov.ofport = o.value("ofport", 0u);
    ov.step = o.value("step", -1);
    ov.effective = o.value("effective", true);
    ov.port = o.value("port", "");
    ov.iface = o.value("iface", "");
    ov.iface_type = o.value("iface_type", "");
    ov.details = strings(o, "details");
    ov.warnings = strings(o, "warnings");
    if (o.contains("packet") && o["packet"].is_object())
      for (const auto& [k, v] : o["packet"].items())
        if (v.is_string()) ov.packet[k] = v.get<std::string>();
    ov.followed = o.value("followed", false);
    vi.outputs.push_back(std::move(ov));
  }
  if (hop.contains("drop") && hop["drop"].is_object())
    vi.drop =
        Drop{hop["drop"].value("step", -1), hop["drop"].value("reason", ""), hop["drop"].value("text", "")};
}

void add_trace_api(api::WebApi& api, std::function<TraceModule*()> module) {
  auto get = [module]() -> TraceModule* { return module ? module() : nullptr; };
  api.add(
      "trace", "packet",
      "why can't A reach B: from=PORT|SERVER/IFACE to=PORT|IP|MAC [proto=icmp|tcp|udp|arp|dhcp] [dport=N] "
      "[sport=N] [ttl=N] [server=SYSTEMID] [timeout=S] [raw=true] [network=ID src_mac=MAC src_ip=IP "
      "[tun_src=IP]: FROM an uplink or tunnel, network ID's packet from outside]: the packet's path through "
      "the flow tables "
      "of every server it crosses (the others asked through ObjectDB), each step named by table, app and "
      "model object, and one verdict",
      [get](const Json& params, api::ApiDone done) {
        TraceModule* m = get();
        if (!m) return done(make_error(Errc::kUnavailable, "module trace is not loaded"));
        m->packet(params, std::move(done));
      });
  api.add("trace", "nodes", "the vlcpd node records (§7.1) this node sees, each with live: true|false",
          [get](const Json&, api::ApiDone done) {
            TraceModule* m = get();
            if (!m) return done(make_error(Errc::kUnavailable, "module trace is not loaded"));
            done(m->nodes());
          });
  api.add("trace", "status", "the traces answered (by verdict) and running",
          [get](const Json&, api::ApiDone done) {
            TraceModule* m = get();
            if (!m) return done(make_error(Errc::kUnavailable, "module trace is not loaded"));
            done(m->status());
          });
}

}  // namespace vlcp::trace
