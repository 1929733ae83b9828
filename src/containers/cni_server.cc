#include "containers/cni_server.h"

#include <chrono>
#include <cstdio>
#include <random>
#include <set>

#include "model/containers.h"
#include "schema/container_ids.h"

namespace vlcp::containers {

namespace {

using cni::ErrorCode;

std::string mac_text(const link::Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

std::string ip_text(const link::Ipv4& a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
         std::to_string(a[3]);
}

std::string cidr_text(const link::Ipv4Prefix& p) {
  return ip_text(p.address) + "/" + std::to_string(p.length);
}

std::string bare(std::string_view address) {
  return std::string(address.substr(0, address.find('/')));
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::string json_string(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The subnet's DNS settings as CNI's dns (dns_nameservers a list or one string, domain_name).
cni::Dns dns_of(const Json& subnet) {
  cni::Dns d;
  if (!subnet.is_object()) return d;
  if (auto it = subnet.find("dns_nameservers"); it != subnet.end()) {
    if (it->is_string()) d.nameservers.push_back(it->get<std::string>());
    if (it->is_array())
      for (const auto& s : *it)
        if (s.is_string()) d.nameservers.push_back(s.get<std::string>());
  }
  d.domain = json_string(subnet, "domain_name");
  return d;
}

std::string owner_of(const std::string& container_id, const std::string& ifname) {
  return "cni:" + container_id + ":" + (ifname.empty() ? "eth0" : ifname);
}

}  // namespace

cni::ErrorCode cni_code_of(const Status& status) {
  switch (status.code()) {
    case Errc::kOk:
      return ErrorCode::kInternal;  // (not an error: callers never ask)
    case Errc::kInvalidArgument:
    case Errc::kMalformed:
    case Errc::kOutOfRange:
    case Errc::kNotFound:  // an unknown network or subnet
      return ErrorCode::kInvalidConfig;
    case Errc::kUnsupported:
      return ErrorCode::kUnsupportedField;
    case Errc::kAlreadyExists:
    case Errc::kConflict: {
      std::string m = status.message();
      if (contains(m, "MAC") || contains(m, "mac ")) return ErrorCode::kMacInUse;
      if (contains(m, "address") && contains(m, "in use")) return ErrorCode::kAddressInUse;
      return ErrorCode::kAlreadyAttached;
    }
    case Errc::kUnavailable:
    case Errc::kResourceExhausted:
      return ErrorCode::kTryAgainLater;
    case Errc::kTimeout:
      return ErrorCode::kStepDeadline;
    case Errc::kPermissionDenied:
    case Errc::kIo:
      return ErrorCode::kIoFailure;
    case Errc::kInternal:
      return ErrorCode::kInternal;
  }
  return ErrorCode::kInternal;
}

struct CniServer::Call {
  cni::Command command = cni::Command::kAdd;
  std::string label;  // the command's text, for the counters
  cni::Request request;
  cni::NetConf conf;
  cni::Args args;
  std::string version = std::string(cni::version_text(cni::kNewestVersion));
  Respond respond;
  Clock::Monotonic started{};
  bool answered = false;
};

CniServer::CniServer(io::ControlLoop& loop, Plugger& plugger, link::LinkOps& links, CniLookups& lookups,
                     CniServerSettings settings)
    : loop_(loop),
      plugger_(plugger),
      links_(links),
      lookups_(lookups),
      settings_(std::move(settings)),
      mac_seed_(std::random_device{}()) {}

CniServer::~CniServer() {
  *alive_ = false;
}

void CniServer::enqueue(const std::string& key, Task task) {
  auto [it, fresh] = queues_.try_emplace(key);
  it->second.push_back(std::move(task));
  if (!fresh) return;  // runs when the ones before it finish
  auto alive = alive_;
  auto run_front = std::make_shared<std::function<void()>>();
  *run_front = [this, alive, key, run_front] {
    Task t = queues_.find(key)->second.front();
    t([this, alive, key, run_front] {
      if (!*alive) return;
      auto q = queues_.find(key);
      q->second.pop_front();
      if (q->second.empty()) {
        queues_.erase(q);
        auto self = std::move(*run_front);  // break the cycle
        (void)self;
        return;
      }
      (*run_front)();
    });
  };
  (*run_front)();
}

void CniServer::finish(const std::shared_ptr<Call>& call, cni::Answer answer, int code) {
  if (call->answered) return;
  call->answered = true;
  --counters_.in_flight;
  ++counters_.requests[{call->label, code}];
  ++counters_.answered[call->label];
  counters_.seconds[call->label] +=
      std::chrono::duration<double>(loop_.clock().now() - call->started).count();
  call->respond(std::move(answer));
}

void CniServer::fail(const std::shared_ptr<Call>& call, cni::Error error) {
  int code = error.code;
  finish(call, cni::answer_error(error, call->version), code);
}

std::string CniServer::network_of(const Call& c) const {
  if (!c.args.network.empty()) return c.args.network;
  if (!c.conf.logical_network.empty()) return c.conf.logical_network;
  if (!settings_.logical_network.empty()) return settings_.logical_network;
  return c.conf.name;
}

std::string CniServer::subnet_of(const Call& c) const {
  if (!c.args.subnet.empty()) return c.args.subnet;
  if (!c.conf.subnet.empty()) return c.conf.subnet;
  return settings_.subnet;
}

void CniServer::handle(std::string_view method, std::string_view target, const cni::HeaderLookup& header,
                       std::string body, Respond respond) {
  auto call = std::make_shared<Call>();
  call->respond = std::move(respond);
  call->started = loop_.clock().now();
  ++counters_.in_flight;
  std::string_view path = target.substr(0, target.find('?'));
  auto command = cni::command_from_path(path);
  call->label = command ? std::string(cni::command_text(*command)) : "unknown";
  if (!command || *command == cni::Command::kVersion) {
    cni::Error e = cni::make_error(ErrorCode::kInvalidEnvironment, "unknown path " + std::string(path));
    cni::Answer a = cni::answer_error(e, call->version);
    a.status = 404;
    finish(call, std::move(a), e.code);
    return;
  }
  call->command = *command;
  // The configuration's version, when it has one, for the error objects (before it is checked).
  if (auto j = cni::parse_json(body); j && j->is_object()) {
    std::string v = json_string(*j, "cniVersion");
    if (cni::parse_version(v)) call->version = v;
  }
  auto request = cni::decode_request(method, target, header, body);
  if (!request.ok()) return fail(call, request.error());
  call->request = std::move(request).value();
  auto conf = cni::parse_config(call->request.body, call->command);
  if (!conf.ok()) return fail(call, conf.error());
  call->conf = std::move(conf).value();
  call->version = call->conf.cni_version;
  auto args = cni::parse_args(call->request.env.args);
  if (!args.ok()) return fail(call, args.error());
  call->args = std::move(args).value();
  if (call->request.env.ifname.empty() && cni::command_needs_container(call->command))
    call->request.env.ifname = "eth0";

  const auto& env = call->request.env;
  std::string key = network_of(*call) + "|" + env.container_id + "|" + env.ifname;
  switch (call->command) {
    case cni::Command::kAdd:
      return enqueue(key,
                     [this, call](std::function<void()> finished) { run_add(call, std::move(finished)); });
    case cni::Command::kDel:
      return enqueue(key,
                     [this, call](std::function<void()> finished) { run_del(call, std::move(finished)); });
    case cni::Command::kCheck:
      return enqueue(key,
                     [this, call](std::function<void()> finished) { run_check(call, std::move(finished)); });
    case cni::Command::kStatus:
      return run_status(call);
    case cni::Command::kGc:
      return run_gc(call);
    case cni::Command::kVersion:
      break;
  }
}

// ---- ADD -----------------------------------------------------------------------------------------

void CniServer::run_add(std::shared_ptr<Call> call, std::function<void()> finished) {
  const auto& env = call->request.env;
  AddParams params;
  params.lognet = network_of(*call);
  params.subnet = subnet_of(*call);
  params.netns = env.netns;
  params.mtu = call->conf.mtu ? static_cast<uint32_t>(*call->conf.mtu) : 0;
  params.ip = call->args.ip;
  if (params.ip.empty()) {
    for (const auto& ip : call->conf.runtime_ips)
      if (ip.find(':') == std::string::npos) {
        params.ip = ip;
        break;
      }
    if (params.ip.empty() && !call->conf.runtime_ips.empty()) {
      fail(call, cni::make_error(ErrorCode::kInvalidConfig, "runtimeConfig.ips: IPv4 addresses only"));
      return finished();
    }
  }
  params.mac = lower(call->args.mac.empty() ? call->conf.runtime_mac : call->args.mac);
  std::string owner = owner_of(env.container_id, env.ifname);
  if (auto it = attached_.find(owner); it != attached_.end()) {
    if (it->second.params == params) {
      finish(call, cni::answer_result(it->second.result, call->conf.version), 0);
    } else {
      fail(call, cni::make_error(ErrorCode::kAlreadyAttached,
                                 "container " + env.container_id + " interface " + env.ifname +
                                     " is attached to network " + it->second.params.lognet +
                                     " with other parameters (DEL it first)"));
    }
    return finished();
  }
  auto alive = alive_;
  lookups_.resolve_subnet(
      params.lognet, params.subnet,
      [this, alive, call, params, owner, finished = std::move(finished)](Result<CniSubnet> subnet) mutable {
        if (!*alive) return;
        if (!subnet.ok()) {
          fail(call,
               cni::make_error(cni_code_of(subnet.error()),
                               "network " + params.lognet +
                                   (params.subnet.empty() ? std::string() : " subnet " + params.subnet) +
                                   ": " + subnet.error().message()));
          return finished();
        }
        const auto& env = call->request.env;
        PlugRequest req;
        req.endpoint = EndpointIdentity{EndpointKind::kCni, env.container_id, env.ifname};
        req.bridge = settings_.bridge;
        req.netns = env.netns;
        req.mtu = params.mtu ? params.mtu : settings_.mtu;
        Json m = Json::object();
        m["lognet"] = subnet->lognet_id;
        if (!subnet->subnet_id.empty()) m["subnet"] = subnet->subnet_id;
        if (!params.ip.empty()) m["ip"] = params.ip;
        if (!params.mac.empty()) {
          m["mac"] = params.mac;
        } else {
          Json candidates = Json::array();
          std::mt19937 rng(static_cast<uint32_t>(mac_seed_++));
          for (unsigned i = 0; i < settings_.mac_candidates; ++i)
            if (auto mac = model::random_mac(settings_.mac_template, rng() & 0xffffff))
              candidates.push_back(*mac);
          m["mac_candidates"] = std::move(candidates);
        }
        m["info_kind"] = "cni";
        m["info"] = {{"container_id", env.container_id},
                     {"ifname", env.ifname},
                     {"netns", env.netns},
                     {"network", subnet->lognet_id},
                     {"cni_network", call->conf.name}};
        Json port = Json::object();
        std::string systemid = settings_.systemid.empty() ? lookups_.systemid() : settings_.systemid;
        port["k8s_systemid"] = systemid;
        port["k8s_netns"] = env.netns;
        port["k8s_ifname"] = env.ifname;
        std::string hostname = call->args.hostname.empty() ? call->args.k8s_pod_name : call->args.hostname;
        if (!hostname.empty()) port["k8s_hostname"] = hostname;
        if (!call->args.k8s_pod_namespace.empty()) port["k8s_pod_namespace"] = call->args.k8s_pod_namespace;
        if (!call->args.k8s_pod_name.empty()) port["k8s_pod_name"] = call->args.k8s_pod_name;
        if (!call->args.k8s_pod_uid.empty()) port["k8s_pod_uid"] = call->args.k8s_pod_uid;
        if (!call->args.k8s_pod_infra_container_id.empty())
          port["k8s_pod_infra_container_id"] = call->args.k8s_pod_infra_container_id;
        m["port"] = std::move(port);
        m["systemid"] = systemid;
        req.model = std::move(m);
        Json dns_source = subnet->subnet;
        plugger_.plug(std::move(req), [this, alive, call, params, owner, dns_source,
                                       finished = std::move(finished)](Result<PlugResult> r) mutable {
          if (!*alive) return;
          if (!r.ok()) {
            fail(call, cni::make_error(cni_code_of(r.error()), r.error().to_string()));
            return finished();
          }
          const PlugResult& p = *r;
          const auto& env = call->request.env;
          cni::AddResult result;
          cni::Interface host;
          host.name = p.names.host_veth;
          result.interfaces.push_back(host);
          cni::Interface pod;
          pod.name = env.ifname;
          pod.mac = mac_text(p.record.mac);
          pod.sandbox = env.netns;
          if (p.mtu) pod.mtu = static_cast<int>(p.mtu);
          result.interfaces.push_back(pod);
          if (p.record.address) {
            cni::IpConfig ip;
            ip.address = cidr_text(*p.record.address);
            if (p.record.gateway) ip.gateway = ip_text(*p.record.gateway);
            ip.interface = 1;
            result.ips.push_back(ip);
          }
          if (p.record.gateway) {
            cni::Route def;
            def.dst = "0.0.0.0/0";
            def.gw = ip_text(*p.record.gateway);
            result.routes.push_back(def);
          }
          for (const auto& rt : p.record.routes) {
            cni::Route route;
            route.dst = cidr_text(rt.destination);
            if (rt.gateway) route.gw = ip_text(*rt.gateway);
            result.routes.push_back(route);
          }
          result.dns = dns_of(dns_source);
          if (result.dns.empty()) result.dns = dns_of(p.record.port.value("subnet", Json::object()));
          attached_[owner] = Attached{params, result};
          finish(call, cni::answer_result(result, call->conf.version), 0);
          finished();
        });
      });
}

// ---- DEL -----------------------------------------------------------------------------------------

void CniServer::run_del(std::shared_ptr<Call> call, std::function<void()> finished) {
  const auto& env = call->request.env;
  std::string owner = owner_of(env.container_id, env.ifname);
  std::string network = network_of(*call);
  if (auto it = attached_.find(owner); it != attached_.end()) {
    if (it->second.params.lognet == network) return unplug_for_del(call, std::move(finished));
    // Attached to another network: this network has nothing of it (and the other's stays).
    finish(call, cni::answer_ok(), 0);
    return finished();
  }
  // Not made by this process (a restart since): the attachment's network from its CNI info.
  auto alive = alive_;
  lookups_.attachment(
      schema::cni_port_id(env.container_id, env.ifname.empty() ? "eth0" : env.ifname),
      [this, alive, call, network,
       finished = std::move(finished)](Result<std::optional<CniAttachment>> found) mutable {
        if (!*alive) return;
        if (!found.ok()) {
          fail(call, cni::make_error(cni_code_of(found.error()), "DEL: " + found.error().to_string()));
          return finished();
        }
        if (*found && !(*found)->lognet_id.empty() && (*found)->lognet_id != network) {
          finish(call, cni::answer_ok(), 0);
          return finished();
        }
        unplug_for_del(call, std::move(finished));
      });
}

void CniServer::unplug_for_del(std::shared_ptr<Call> call, std::function<void()> finished) {
  const auto& env = call->request.env;
  std::string owner = owner_of(env.container_id, env.ifname);
  UnplugRequest req;
  req.endpoint = EndpointIdentity{EndpointKind::kCni, env.container_id, env.ifname};
  req.bridge = settings_.bridge;
  req.netns = env.netns;
  auto alive = alive_;
  plugger_.unplug(std::move(req), [this, alive, call, owner, finished = std::move(finished)](Status s) {
    if (!*alive) return;
    if (!s.ok()) {
      fail(call, cni::make_error(cni_code_of(s), "DEL: " + s.to_string()));
      return finished();
    }
    attached_.erase(owner);
    finish(call, cni::answer_ok(), 0);
    finished();
  });
}

// ---- CHECK ---------------------------------------------------------------------------------------

void CniServer::run_check(std::shared_ptr<Call> call, std::function<void()> finished) {
  const auto& env = call->request.env;
  auto names = endpoint_names(EndpointIdentity{EndpointKind::kCni, env.container_id, env.ifname}, "vlcp");
  if (!names.ok()) {
    fail(call, cni::make_error(ErrorCode::kInvalidEnvironment, names.error().message()));
    return finished();
  }
  const cni::AddResult& prev = *call->conf.prev_result;
  std::string want_ip, want_mac;
  std::optional<int> want_mtu;
  if (!prev.ips.empty()) want_ip = bare(prev.ips.front().address);
  for (const auto& i : prev.interfaces)
    if (i.name == env.ifname && !i.sandbox.empty()) {
      want_mac = lower(i.mac);
      want_mtu = i.mtu;
    }
  auto alive = alive_;
  lookups_.get_port(
      names->port_id, [this, alive, call, names = *names, want_ip, want_mac, want_mtu,
                       finished = std::move(finished)](Result<std::optional<Json>> port) mutable {
        if (!*alive) return;
        auto differs = [&](const std::string& what) {
          fail(call, cni::make_error(ErrorCode::kModelDiffers, what));
          finished();
        };
        if (!port.ok()) {
          fail(call, cni::make_error(cni_code_of(port.error()), port.error().to_string()));
          return finished();
        }
        if (!*port) return differs("port " + names.port_id + " is not in the model");
        const Json& p = **port;
        std::string ip = json_string(p, "ip_address"), mac = lower(json_string(p, "mac_address"));
        if (!want_ip.empty() && ip != want_ip)
          return differs("port " + names.port_id + " has address '" + ip + "', prevResult " + want_ip);
        if (!want_mac.empty() && mac != want_mac)
          return differs("port " + names.port_id + " has MAC '" + mac + "', prevResult " + want_mac);
        auto iface = lookups_.ovs_interface(settings_.bridge, names.host_veth);
        auto missing = [&](const std::string& what) {
          fail(call, cni::make_error(ErrorCode::kOvsdbPortMissing, what));
          finished();
        };
        if (!iface) return missing("no OVSDB interface " + names.host_veth + " on " + settings_.bridge);
        auto id = iface->external_ids.find("iface-id");
        if (id == iface->external_ids.end() || id->second != names.port_id)
          return missing("OVSDB interface " + names.host_veth + " has no iface-id " + names.port_id);
        if (iface->ofport <= 0) return missing("OVSDB interface " + names.host_veth + " has no ofport");
        const std::string netns = call->request.env.netns;
        links_.list_links(netns, [this, alive, call, names, mac, want_mtu, netns,
                                  finished = std::move(finished)](Result<std::vector<link::LinkInfo>> links) {
          if (!*alive) return;
          auto gone = [&](const std::string& what) {
            fail(call, cni::make_error(ErrorCode::kInterfaceMissing, what));
            finished();
          };
          if (!links.ok()) return gone("cannot read " + netns + ": " + links.error().to_string());
          for (const auto& l : *links) {
            if (l.name != names.peer_veth) continue;
            if (!l.up) return gone("interface " + l.name + " in " + netns + " is down");
            if (!mac.empty() && (!l.mac || mac_text(*l.mac) != mac))
              return gone("interface " + l.name + " in " + netns + " has MAC " +
                          (l.mac ? mac_text(*l.mac) : std::string("none")) + ", the port " + mac);
            if (want_mtu && l.mtu != static_cast<uint32_t>(*want_mtu))
              return gone("interface " + l.name + " in " + netns + " has MTU " + std::to_string(l.mtu) +
                          ", prevResult " + std::to_string(*want_mtu));
            finish(call, cni::answer_ok(), 0);
            return finished();
          }
          gone("interface " + names.peer_veth + " not found in " + netns);
        });
      });
}

// ---- STATUS, GC ----------------------------------------------------------------------------------

void CniServer::run_status(std::shared_ptr<Call> call) {
  Status s = lookups_.ready(settings_.bridge);
  if (!s.ok()) return fail(call, cni::make_error(ErrorCode::kNotAvailable, s.message()));
  finish(call, cni::answer_ok(), 0);
}

void CniServer::run_gc(std::shared_ptr<Call> call) {
  std::string network = network_of(*call);
  auto alive = alive_;
  lookups_.attachments(network, [this, alive, call, network](Result<std::vector<CniAttachment>> found) {
    if (!*alive) return;
    if (!found.ok())
      return fail(call, cni::make_error(cni_code_of(found.error()), "GC: " + found.error().to_string()));
    struct State {
      size_t pending = 1;  // released after the loop below
      size_t removed = 0;
      std::vector<std::string> failed;
    };
    auto st = std::make_shared<State>();
    auto done_one = [this, alive, call, st, network] {
      if (!*alive || --st->pending != 0) return;
      last_gc_ = {{"at_us", std::chrono::duration_cast<std::chrono::microseconds>(
                                loop_.clock().wall().time_since_epoch())
                                .count()},
                  {"network", network},
                  {"config", call->conf.name},
                  {"removed", st->removed},
                  {"failures", st->failed}};
      if (st->failed.empty()) return finish(call, cni::answer_ok(), 0);
      std::string details = "could not remove:";
      for (const auto& f : st->failed) details += " " + f + ";";
      details.pop_back();
      fail(call, cni::make_error(ErrorCode::kTryAgainLater, details));
    };
    for (const auto& a : *found) {
      // GC's valid list speaks for this configuration only: another configuration's attachments
      // on the same logical network are not its to remove.
      if (!a.cni_network.empty() && a.cni_network != call->conf.name) continue;
      std::string ifname = a.ifname.empty() ? "eth0" : a.ifname;
      bool valid = false;
      for (const auto& v : call->conf.valid_attachments)
        if (v.container_id == a.container_id && (v.ifname.empty() ? "eth0" : v.ifname) == ifname)
          valid = true;
      if (valid) continue;
      ++st->pending;
      std::string key = network + "|" + a.container_id + "|" + ifname;
      enqueue(key, [this, alive, a, ifname, st, done_one](std::function<void()> finished) {
        UnplugRequest req;
        req.endpoint = EndpointIdentity{EndpointKind::kCni, a.container_id, ifname};
        req.bridge = settings_.bridge;
        req.netns = a.netns;
        plugger_.unplug(std::move(req), [this, alive, a, ifname, st, done_one, finished](Status s) {
          if (!*alive) return;
          if (s.ok()) {
            attached_.erase(owner_of(a.container_id, ifname));
            ++st->removed;
          } else {
            st->failed.push_back(a.container_id + "/" + ifname + ": " + s.to_string());
          }
          done_one();
          finished();
        });
      });
    }
    done_one();
  });
}

Json CniServer::attachments() const {
  Json out = Json::object();
  for (const auto& [owner, a] : attached_) {
    out[owner] = {{"network", a.params.lognet},
                  {"subnet", a.params.subnet},
                  {"netns", a.params.netns},
                  {"result", cni::render_result(a.result, cni::kNewestVersion)}};
  }
  return out;
}

// ---- the start-up clean-up -----------------------------------------------------------------------

void CniServer::clean_up_at_start(int64_t now_us, int64_t grace_us, std::function<void(const Json&)> done) {
  struct Run {
    int64_t now_us = 0, grace_us = 0;
    LinkView links;
    OvsdbView ovsdb;
    std::map<std::string, CniAttachment> by_port;  // port id -> attachment
    CniPlan plan;
    size_t pending = 1;
    Json failures = Json::array();
    std::array<uint64_t, kReconcileWhatCount> removed{};
    std::function<void(const Json&)> done;
  };
  auto run = std::make_shared<Run>();
  run->now_us = now_us;
  run->grace_us = grace_us;
  run->done = std::move(done);
  auto alive = alive_;
  auto end = [this, run](const std::string& error) {
    Json removed = Json::object();
    for (size_t i = 0; i < kReconcileWhatCount; ++i)
      removed[std::string(reconcile_what_label(static_cast<ReconcileWhat>(i)))] = run->removed[i];
    Json plan = Json::array();
    for (const auto& a : run->plan.unplug) {
      Json j = {{"port", a.attachment.port_id},
                {"netns", a.attachment.netns},
                {"reason", reconcile_reason_label(a.reason)}};
      if (!a.veth.empty()) j["veth"] = a.veth;
      if (!a.ovsdb.empty()) j["ovsdb"] = a.ovsdb;
      plan.push_back(std::move(j));
    }
    bool ok = error.empty() && run->failures.empty();
    last_cleanup_ = {
        {"started_us", run->now_us},
        {"result", ok ? "ok" : "failed"},
        {"error", !error.empty()          ? error
                  : run->failures.empty() ? std::string()
                                          : std::to_string(run->failures.size()) + " unplug(s) failed"},
        {"attachments", run->by_port.size()},
        {"plan", std::move(plan)},
        {"removed", std::move(removed)},
        {"failures", run->failures}};
    if (run->done) run->done(last_cleanup_);
  };
  // reconcile.h's order: now (given), the link dump, the OVSDB interfaces, then the model.
  links_.list_links("", [this, alive, run, end](Result<std::vector<link::LinkInfo>> links) {
    if (!*alive) return;
    if (!links.ok()) return end("link dump: " + links.error().to_string());
    for (const auto& l : *links)
      if (!l.alias.empty()) run->links.links.push_back({l.name, l.alias, std::nullopt});
    auto view = lookups_.ovsdb_view(settings_.bridge);
    if (!view) return end("OVSDB is not connected");
    run->ovsdb = std::move(*view);
    lookups_.attachments("", [this, alive, run, end](Result<std::vector<CniAttachment>> found) {
      if (!*alive) return;
      if (!found.ok()) return end("model: " + found.error().to_string());
      std::vector<CniStartupAttachment> atts;
      std::map<std::string, bool> netns_exists;
      std::set<std::string> busy;
      for (const auto& a : *found) {
        auto names = endpoint_names({EndpointKind::kCni, a.container_id, a.ifname}, "vlcp");
        if (!names.ok()) continue;
        run->by_port[a.port_id] = a;
        atts.push_back({a.port_id, names->alias, names->owner, a.netns, a.created_us});
        if (!a.netns.empty()) netns_exists[a.netns] = lookups_.netns_exists(a.netns);
        if (attached_.count(names->owner) || plugger_.busy(*names)) busy.insert(a.port_id);
      }
      ReconcileTimes times;
      times.now_us = run->now_us;
      times.grace_us = run->grace_us;
      run->plan = plan_cni_startup(atts, run->links, run->ovsdb, netns_exists, times, busy);
      auto one_done = [end, run] {
        if (--run->pending == 0) end("");
      };
      for (const auto& action : run->plan.unplug) {
        const CniAttachment a = run->by_port[action.attachment.port_id];
        std::string ifname = a.ifname.empty() ? "eth0" : a.ifname;
        std::array<uint64_t, kReconcileWhatCount> counts{};
        counts[static_cast<size_t>(ReconcileWhat::kPort)] = 1;
        if (!action.veth.empty()) counts[static_cast<size_t>(ReconcileWhat::kVeth)] = 1;
        if (!action.ovsdb.empty()) counts[static_cast<size_t>(ReconcileWhat::kOvsdb)] = 1;
        ++run->pending;
        enqueue(a.lognet_id + "|" + a.container_id + "|" + ifname,
                [this, alive, run, a, ifname, counts, one_done](std::function<void()> finished) {
                  // Made again by a request since the plan: not the clean-up's any more.
                  if (attached_.count(owner_of(a.container_id, ifname))) {
                    one_done();
                    return finished();
                  }
                  UnplugRequest req;
                  req.endpoint = EndpointIdentity{EndpointKind::kCni, a.container_id, ifname};
                  req.bridge = settings_.bridge;
                  req.netns = a.netns;
                  plugger_.unplug(std::move(req), [alive, run, a, counts, one_done, finished](Status s) {
                    if (!*alive) return;
                    if (s.ok()) {
                      for (size_t i = 0; i < kReconcileWhatCount; ++i) run->removed[i] += counts[i];
                    } else {
                      run->failures.push_back({{"port", a.port_id}, {"error", s.to_string()}});
                    }
                    one_done();
                    finished();
                  });
                });
      }
      one_done();
    });
  });
}

}  // namespace vlcp::containers
