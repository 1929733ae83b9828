// Docker's remote network and IPAM drivers run on the model and the plug machine (see
// docker_driver.h).
#include "containers/docker_driver.h"

#include <random>
#include <utility>

#include "base/log.h"
#include "model/viperflow.h"

namespace vlcp::containers {

using Json = nlohmann::json;
using docker::Reply;

namespace {

std::string bare_ip(const std::string& s) {
  return s.substr(0, s.find('/'));
}

std::string ip_text(const link::Ipv4& ip) {
  return std::to_string(ip[0]) + "." + std::to_string(ip[1]) + "." + std::to_string(ip[2]) + "." +
         std::to_string(ip[3]);
}

std::string str(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint32_t random24() {
  static thread_local std::mt19937 gen{std::random_device{}()};
  return gen() & 0xffffffu;
}

// Routes as the subnet stores them ([[prefix, nexthop], ...]) in Join's form.
std::vector<docker::StaticRoute> static_routes(const Json& host_routes) {
  std::vector<docker::StaticRoute> out;
  if (!host_routes.is_array()) return out;
  for (const auto& r : host_routes)
    if (r.is_array() && r.size() == 2 && r[0].is_string() && r[1].is_string())
      out.push_back(
          {r[0].get<std::string>(), r[1].get<std::string>() == "0.0.0.0" ? "" : r[1].get<std::string>()});
  return out;
}

}  // namespace

DockerDriver::DockerDriver(io::ControlLoop& loop, db::ObjectDb& db, model::Containers& containers,
                           Plugger& plugger, DockerDriverSettings settings)
    : loop_(loop), db_(db), containers_(containers), plugger_(plugger), settings_(std::move(settings)) {
  // An endpoint unplugged by anyone (the reconcile too) leaves the status and OperInfo view.
  unplug_watch_ = plugger_.watch_unplugs([this](const EndpointIdentity& e) {
    if (e.kind == EndpointKind::kDocker) endpoints_.erase(e.id);
  });
}

DockerDriver::~DockerDriver() {
  *alive_ = false;
  plugger_.unwatch_unplugs(unplug_watch_);
}

void DockerDriver::handle(std::string_view path, std::string_view body, std::function<void(Reply)> done) {
  auto method = docker::method_from_path(path);
  std::string name = method ? std::string(docker::method_name(*method)) : std::string("unknown");
  auto started = std::chrono::steady_clock::now();
  ++counters_.in_flight;
  Answer answer = [this, alive = alive_, name, started, done = std::move(done)](Reply reply) {
    if (*alive) {
      --counters_.in_flight;
      ++counters_.requests[{name, reply.status}];
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      counters_.seconds[name] += secs;
      double& mx = counters_.max_seconds[name];
      if (secs > mx) mx = secs;
      if (reply.status >= 500) {
        VLCP_LOG_RL(kWarn, "docker", 10, 1) << name << ": " << reply.status << " " << reply.body;
      } else if (reply.status != 200) {
        VLCP_LOG(kInfo, "docker") << name << ": " << reply.status << " " << reply.body;
      }
    }
    done(std::move(reply));
  };
  auto d = docker::dispatch(path, body, settings_.identity);
  if (auto* reply = std::get_if<Reply>(&d)) return answer(std::move(*reply));
  run(std::move(std::get<docker::Call>(d)), std::move(answer));
}

void DockerDriver::run(docker::Call call, std::function<void(Reply)> done) {
  using docker::Method;
  const auto& b = call.body;
  switch (call.method) {
    case Method::kRequestPool:
      return request_pool(std::get<docker::RequestPoolRequest>(b), std::move(done));
    case Method::kReleasePool:
      return release_pool(std::get<docker::ReleasePoolRequest>(b), std::move(done));
    case Method::kRequestAddress:
      return request_address(std::get<docker::RequestAddressRequest>(b), std::move(done));
    case Method::kReleaseAddress:
      return release_address(std::get<docker::ReleaseAddressRequest>(b), std::move(done));
    case Method::kCreateNetwork:
      return create_network(std::get<docker::CreateNetworkRequest>(b), std::move(done));
    case Method::kDeleteNetwork:
      return delete_network(std::get<docker::NetworkRequest>(b), std::move(done));
    case Method::kCreateEndpoint:
      return create_endpoint(std::get<docker::CreateEndpointRequest>(b), std::move(done));
    case Method::kDeleteEndpoint:
      return delete_endpoint(std::get<docker::EndpointRequest>(b), std::move(done));
    case Method::kJoin:
      return join(std::get<docker::JoinRequest>(b), std::move(done));
    case Method::kEndpointOperInfo:
      return oper_info(std::get<docker::EndpointRequest>(b), std::move(done));
    case Method::kLeave:
      return done(docker::ok_reply(docker::EmptyAnswer{}));
    default:
      // The constant methods are dispatch()'s; one reaching here is answered the same way.
      return done(docker::ok_reply(docker::EmptyAnswer{}));
  }
}

// ---- IPAM ----------------------------------------------------------------------------------------

void DockerDriver::request_pool(const docker::RequestPoolRequest& r, Answer done) {
  model::PoolRequest p;
  p.cidr = r.pool;
  p.range = settings_.cidr_range;
  p.subpool = r.sub_pool;
  p.systemid = settings_.systemid;
  p.timeout_us = settings_.pool_timeout_us;
  containers_.request_pool(p, [alive = alive_, done = std::move(done)](Result<model::PoolGrant> g) {
    if (!*alive) return;
    if (!g.ok()) return done(docker::error_reply(g.error()));
    done(docker::ok_reply(docker::RequestPoolAnswer{g->pool_id, g->cidr}));
  });
}

void DockerDriver::release_pool(const docker::ReleasePoolRequest& r, Answer done) {
  containers_.release_pool(r.pool_id, [alive = alive_, done = std::move(done)](Result<Json> x) {
    if (!*alive) return;
    if (!x.ok()) return done(docker::error_reply(x.error()));
    done(docker::ok_reply(docker::EmptyAnswer{}));
  });
}

void DockerDriver::request_address(const docker::RequestAddressRequest& r, Answer done) {
  model::AddressRequest a{r.pool_id, r.address, r.gateway, settings_.systemid, settings_.ip_timeout_us};
  containers_.request_address(a, [alive = alive_, done = std::move(done)](Result<model::AddressGrant> g) {
    if (!*alive) return;
    if (!g.ok()) return done(docker::error_reply(g.error()));
    done(docker::ok_reply(docker::RequestAddressAnswer{g->cidr()}));
  });
}

void DockerDriver::release_address(const docker::ReleaseAddressRequest& r, Answer done) {
  containers_.release_address(r.pool_id, r.address, [alive = alive_, done = std::move(done)](Result<Json> x) {
    if (!*alive) return;
    if (!x.ok()) return done(docker::error_reply(x.error()));
    done(docker::ok_reply(docker::EmptyAnswer{}));
  });
}

// ---- networks ------------------------------------------------------------------------------------

void DockerDriver::create_network(const docker::CreateNetworkRequest& r, Answer done) {
  // Docker names the pool by its CIDR only: the pool is this node's unbound one of that CIDR
  // (the one with Docker's gateway first, then the newest), found in the model so that a vlcpd
  // restart after RequestPool changes nothing.
  containers_.list(
      schema::Kind::kDockerPool, [this, alive = alive_, r, done = std::move(done)](Result<Json> pools) {
        if (!*alive) return;
        if (!pools.ok()) return done(docker::error_reply(pools.error()));
        std::string best;
        int best_rank = -1;
        int64_t best_expires = 0;
        for (const auto& [key, p] : pools->items()) {
          if (!p.is_object() || str(p, "cidr") != r.pool || str(p, "systemid") != settings_.systemid)
            continue;
          if (p.contains("network") && !p["network"].is_null()) continue;
          if (p.value("released", false) == true) continue;
          int rank = !r.gateway.empty() && str(p, "gateway") == r.gateway ? 1 : 0;
          int64_t expires =
              p.contains("expires") && p["expires"].is_number_integer() ? p["expires"].get<int64_t>() : 0;
          if (rank > best_rank || (rank == best_rank && expires > best_expires)) {
            best = str(p, "id");
            best_rank = rank;
            best_expires = expires;
          }
        }
        if (best.empty())
          return done(docker::error_reply(
              make_error(Errc::kNotFound, "CreateNetwork: no IPAM pool " + r.pool +
                                              " of this node is waiting for a network "
                                              "(was the network made with --ipam-driver vlcp?)")));
        model::NetworkRequest n;
        n.network_id = r.network_id;
        n.pool_id = best;
        n.systemid = settings_.systemid;
        n.gateway = r.options.disable_gateway ? std::string() : r.gateway;
        n.network = r.options.network;
        n.subnet = r.options.subnet;
        if (r.options.disable_gateway) n.subnet["disablegateway"] = true;
        n.attach_lognet = r.options.attach_lognet;
        n.attach_subnet = r.options.attach_subnet;
        containers_.create_network(n, [this, alive, id = r.network_id, done](Result<Json> m) {
          if (!*alive) return;
          if (!m.ok()) return done(docker::error_reply(m.error()));
          mappings_[id] = *m;
          VLCP_LOG(kInfo, "docker") << "network " << id << " -> logical network " << str(*m, "lognet_id");
          done(docker::ok_reply(docker::EmptyAnswer{}));
        });
      });
}

void DockerDriver::delete_network(const docker::NetworkRequest& r, Answer done) {
  mappings_.erase(r.network_id);
  containers_.delete_network(
      r.network_id, [alive = alive_, id = r.network_id, done = std::move(done)](Result<Json> x) {
        if (!*alive) return;
        if (!x.ok()) {
          // Docker removes its network whatever we answer (§1.4): only "try again later" is worth
          // saying; anything else is logged and left to the reconcile.
          if (x.error().code() == Errc::kUnavailable) return done(docker::error_reply(x.error()));
          VLCP_LOG(kWarn, "docker") << "DeleteNetwork " << id << ": " << x.error().to_string();
          return done(docker::ok_reply(docker::EmptyAnswer{}));
        }
        if (x->contains("kept")) {
          VLCP_LOG(kInfo, "docker") << "network " << id << ": kept " << (*x)["kept"].dump();
        }
        done(docker::ok_reply(docker::EmptyAnswer{}));
      });
}

void DockerDriver::mapping(const std::string& network_id, std::function<void(Result<Json>)> done) {
  if (auto it = mappings_.find(network_id); it != mappings_.end()) return done(it->second);
  containers_.get_network(
      network_id, [this, alive = alive_, network_id, done = std::move(done)](Result<Json> m) {
        if (!*alive) return;
        if (!m.ok()) return done(m.error());
        if (m->is_null() || !m->is_object())
          return done(
              make_error(Errc::kNotFound, "network " + network_id + " is not known to VLCP (run reconcile)"));
        if (str(*m, "state") == "ready") mappings_[network_id] = *m;
        done(*m);
      });
}

// ---- endpoints -----------------------------------------------------------------------------------

void DockerDriver::create_endpoint(const docker::CreateEndpointRequest& r, Answer done) {
  mapping(r.network_id, [this, alive = alive_, r, done = std::move(done)](Result<Json> m) {
    if (!*alive) return;
    if (!m.ok()) return done(docker::error_reply(m.error()));
    auto veth = docker::veth_names(settings_.veth_prefix, r.endpoint_id);
    if (!veth)
      return done(docker::error_reply(make_error(Errc::kInternal, "no veth names for the endpoint")));
    std::string subnet_id = str(*m, "subnet_id");
    std::string ip = bare_ip(r.address);
    Json candidates = Json::array();
    if (r.mac_address.empty()) {
      if (!ip.empty())
        if (auto mac = model::docker_mac(settings_.mac_template, subnet_id, ip)) candidates.push_back(*mac);
      for (int i = 0; i < 3; ++i)
        if (auto mac = model::random_mac(settings_.mac_template, random24())) candidates.push_back(*mac);
    }
    PlugRequest p;
    p.endpoint = {EndpointKind::kDocker, r.endpoint_id, ""};
    p.bridge = settings_.bridge;
    p.mtu = settings_.mtu;
    p.model = Json{{"docker_network", r.network_id},
                   {"ip", ip},
                   {"mac", r.mac_address},
                   {"mac_candidates", candidates},
                   {"info_kind", "docker"},
                   {"systemid", settings_.systemid},
                   {"replace_stale", settings_.auto_remove_ports},
                   {"info",
                    {{"endpoint", r.endpoint_id},
                     {"network", r.network_id},
                     {"bridge", settings_.bridge},
                     {"docker_port", veth->host},
                     {"veth", veth->container}}}};
    plugger_.plug(std::move(p), [this, alive, r, done](Result<PlugResult> res) {
      if (!*alive) return;
      if (!res.ok()) return done(docker::error_reply(res.error()));
      Endpoint e;
      e.network_id = r.network_id;
      e.names = res->names;
      if (res->record.address)
        e.address = ip_text(res->record.address->address) + "/" + std::to_string(res->record.address->length);
      if (res->record.gateway) e.gateway = ip_text(*res->record.gateway);
      for (const auto& route : res->record.routes)
        e.routes.push_back(
            {ip_text(route.destination.address) + "/" + std::to_string(route.destination.length),
             route.gateway ? ip_text(*route.gateway) : std::string()});
      e.ofport = res->ofport;
      docker::CreateEndpointAnswer a;
      if (r.address.empty()) a.address = e.address;
      if (r.mac_address.empty()) {
        const auto& m = res->record.mac;
        char buf[18];
        std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        a.mac_address = buf;
      }
      endpoints_[r.endpoint_id] = std::move(e);
      done(docker::ok_reply(a));
    });
  });
}

void DockerDriver::delete_endpoint(const docker::EndpointRequest& r, Answer done) {
  UnplugRequest u;
  u.endpoint = {EndpointKind::kDocker, r.endpoint_id, ""};
  u.bridge = settings_.bridge;
  // (the unplug watcher drops the endpoint from endpoints_)
  plugger_.unplug(std::move(u), [alive = alive_, done = std::move(done)](Status s) {
    if (!*alive) return;
    if (!s.ok()) return done(docker::error_reply(s));
    done(docker::ok_reply(docker::EmptyAnswer{}));
  });
}

void DockerDriver::load_endpoint(const std::string& network_id, const std::string& endpoint_id,
                                 std::function<void(Result<Endpoint*>)> done) {
  if (auto it = endpoints_.find(endpoint_id); it != endpoints_.end()) return done(&it->second);
  auto names = endpoint_names({EndpointKind::kDocker, endpoint_id, ""}, settings_.veth_prefix);
  if (!names.ok()) return done(names.error());
  std::string pkey = model::logical_port_key(names->port_id);
  db_.get({pkey}, [this, alive = alive_, network_id, endpoint_id, names = *names, pkey,
                   done = std::move(done)](Result<std::map<std::string, db::Record>> got) {
    if (!*alive) return;
    if (!got.ok()) return done(got.error());
    auto it = got->find(pkey);
    if (it == got->end() || !it->second.value)
      return done(make_error(Errc::kNotFound, "endpoint " + endpoint_id + " is not known to VLCP"));
    Json port = *it->second.value;
    std::string skey = str(port, "subnet");
    auto finish = [this, network_id, endpoint_id, names, port, done](const Json& subnet) {
      Endpoint e;
      e.network_id = network_id;
      e.names = names;
      std::string cidr = str(subnet, "cidr");
      std::string ip = str(port, "ip_address");
      if (!ip.empty())
        e.address = ip + (cidr.find('/') != std::string::npos ? cidr.substr(cidr.find('/')) : "/32");
      if (subnet.is_object() && subnet.value("disablegateway", false) != true)
        e.gateway = str(subnet, "gateway");
      if (subnet.is_object() && subnet.contains("host_routes"))
        e.routes = static_routes(subnet["host_routes"]);
      done(&(endpoints_[endpoint_id] = std::move(e)));
    };
    if (skey.empty()) return finish(Json::object());
    db_.get({skey}, [alive, skey, finish, done](Result<std::map<std::string, db::Record>> s) {
      if (!*alive) return;
      if (!s.ok()) return done(s.error());
      auto sit = s->find(skey);
      finish(sit != s->end() && sit->second.value ? *sit->second.value : Json::object());
    });
  });
}

void DockerDriver::join(const docker::JoinRequest& r, Answer done) {
  load_endpoint(r.network_id, r.endpoint_id,
                [this, alive = alive_, sandbox = r.sandbox_key, done = std::move(done)](Result<Endpoint*> e) {
                  if (!*alive) return;
                  if (!e.ok()) return done(docker::error_reply(e.error()));
                  Endpoint& ep = **e;
                  ep.sandbox = sandbox;
                  docker::JoinAnswer a;
                  a.src_name = ep.names.peer_veth;
                  a.dst_prefix = settings_.dst_prefix;
                  a.gateway = ep.gateway;
                  a.static_routes = ep.routes;
                  done(docker::ok_reply(a));
                });
}

void DockerDriver::oper_info(const docker::EndpointRequest& r, Answer done) {
  load_endpoint(r.network_id, r.endpoint_id,
                [this, alive = alive_, id = r.endpoint_id, done = std::move(done)](Result<Endpoint*> e) {
                  if (!*alive) return;
                  if (!e.ok()) return done(docker::error_reply(e.error()));
                  done(docker::ok_reply(docker::OperInfoAnswer{*endpoint(id)}));
                });
}

std::optional<Json> DockerDriver::endpoint(const std::string& endpoint_id) const {
  auto it = endpoints_.find(endpoint_id);
  if (it == endpoints_.end()) return std::nullopt;
  const Endpoint& e = it->second;
  Json v{{"port", e.names.port_id},    {"veth", e.names.host_veth}, {"peer", e.names.peer_veth},
         {"bridge", settings_.bridge}, {"ofport", e.ofport},        {"network", e.network_id}};
  if (!e.address.empty()) v["address"] = e.address;
  if (!e.sandbox.empty()) v["sandbox"] = e.sandbox;
  return v;
}

Json DockerDriver::status() const {
  Json eps = Json::object();
  for (const auto& [id, e] : endpoints_) eps[id] = *endpoint(id);
  Json requests = Json::array();
  for (const auto& [key, n] : counters_.requests)
    requests.push_back({{"method", key.first}, {"status", key.second}, {"count", n}});
  Json seconds = Json::object();
  for (const auto& [m, s] : counters_.seconds)
    seconds[m] = {{"total", s}, {"max", counters_.max_seconds.at(m)}};
  return Json{{"bridge", settings_.bridge},
              {"systemid", settings_.systemid},
              {"scope", settings_.identity.scope},
              {"endpoints", eps},
              {"requests", requests},
              {"seconds", seconds},
              {"in_flight", counters_.in_flight},
              {"plug", plugger_.counters().plugs}};
}

}  // namespace vlcp::containers
