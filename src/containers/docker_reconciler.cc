#include "containers/docker_reconciler.h"

#include <utility>

#include <algorithm>
#include <chrono>
#include <type_traits>
#include <variant>

#include "api/http_client.h"
#include "model/viperflow.h"
#include "schema/kinds.h"

namespace vlcp::containers {

using Json = nlohmann::json;

std::string_view reconcile_result_label(ReconcileResult result) {
  switch (result) {
#define VLCP_RECONCILE_RESULT_LABEL(name, label) \
  case ReconcileResult::name:                    \
    return label;
    VLCP_RECONCILE_RESULTS(VLCP_RECONCILE_RESULT_LABEL)
#undef VLCP_RECONCILE_RESULT_LABEL
  }
  return "unknown";
}

// ---- HttpDockerEngine --------------------------------------------------------------------------

struct HttpDockerEngine::Impl {
  io::ControlLoop& loop;
  io::Listener at;
  std::string driver;
  api::HttpClientLimits limits;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

Result<std::unique_ptr<HttpDockerEngine>> HttpDockerEngine::make(io::ControlLoop& loop,
                                                                 const std::string& url, std::string driver,
                                                                 std::chrono::milliseconds timeout) {
  auto at = api::parse_http_url(url);
  if (!at.ok())
    return make_error(Errc::kInvalidArgument,
                      "module.dockerplugin.dockerurl " + url + ": " + at.error().message());
  api::HttpClientLimits limits;
  limits.timeout = timeout;
  limits.max_body = docker::kMaxEngineBodyBytes;
  auto impl = std::make_unique<Impl>(Impl{loop, *at, std::move(driver), limits});
  return std::unique_ptr<HttpDockerEngine>(new HttpDockerEngine(std::move(impl)));
}

HttpDockerEngine::HttpDockerEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpDockerEngine::~HttpDockerEngine() {
  *impl_->alive = false;
}

void HttpDockerEngine::fetch_view(std::function<void(docker::DockerView, std::vector<std::string>)> done) {
  Impl* impl = impl_.get();
  api::HttpClientRequest req;
  req.target = docker::networks_path(impl->driver);
  api::http_request(impl->loop.context(), impl->at, req, impl->limits,
                    [impl, alive = impl->alive, done = std::move(done)](Result<api::HttpClientResponse> r) {
                      if (!*alive) return;
                      std::vector<std::string> log;
                      if (!r.ok()) {
                        log.push_back("docker: " + r.error().to_string());
                        return done(docker::DockerView{}, std::move(log));
                      }
                      auto view = docker::view_from_networks(r->status, r->body, impl->driver);
                      if (!view.ok()) {
                        log.push_back("docker: networks: " + view.error().to_string());
                        return done(docker::DockerView{}, std::move(log));
                      }
                      // Each listed network inspected, one at a time.
                      auto state = std::make_shared<std::pair<docker::DockerView, std::vector<std::string>>>(
                          std::move(*view), std::move(log));
                      auto ids = std::make_shared<std::vector<std::string>>();
                      for (const auto& [id, n] : state->first.networks) ids->push_back(id);
                      auto next = std::make_shared<std::function<void(size_t)>>();
                      *next = [impl, alive, state, ids, next, done](size_t i) {
                        if (i == ids->size()) {
                          auto out = std::move(*state);
                          // Clearing *next (the cycle) destroys this closure and its captures:
                          // keep what is used after it in locals, and the function object alive
                          // while it is cleared.
                          auto deliver = done;
                          auto keep = next;
                          *next = nullptr;
                          return deliver(std::move(out.first), std::move(out.second));
                        }
                        auto path = docker::network_path((*ids)[i]);
                        if (!path.ok()) {
                          state->second.push_back("docker: " + path.error().to_string());
                          return (*next)(i + 1);
                        }
                        api::HttpClientRequest one;
                        one.target = *path;
                        api::http_request(
                            impl->loop.context(), impl->at, one, impl->limits,
                            [alive, state, ids, next, i](Result<api::HttpClientResponse> r) {
                              if (!*alive) return;
                              const std::string& id = (*ids)[i];
                              Status s = r.ok() ? docker::fold_network(state->first, id, r->status, r->body)
                                                : r.error();
                              if (!s.ok())
                                state->second.push_back("docker: network " + id + ": " + s.to_string());
                              (*next)(i + 1);
                            });
                      };
                      (*next)(0);
                    });
}

// ---- snapshots ---------------------------------------------------------------------------------

LinkView link_view_of(const std::vector<link::LinkInfo>& links) {
  LinkView out;
  for (const auto& l : links)
    if (!l.alias.empty()) out.links.push_back({l.name, l.alias, std::nullopt});
  return out;
}

OvsdbView ovsdb_view_of(const ovsdb::Replica& replica, const std::string& bridge) {
  OvsdbView out;
  auto b = replica.bridges.find(bridge);
  if (b == replica.bridges.end()) return out;
  for (const auto& pname : b->second.ports) {
    auto p = replica.ports.find(pname);
    if (p == replica.ports.end()) continue;
    for (const auto& iname : p->second.interfaces) {
      auto i = replica.interfaces.find(iname);
      if (i == replica.interfaces.end()) continue;
      auto o = i->second.external_ids.find("vlcp-owner");
      out.interfaces.push_back({iname, o == i->second.external_ids.end() ? "" : o->second, std::nullopt});
    }
  }
  return out;
}

namespace {

int64_t system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<link::Mac> parse_mac(const std::string& text) {
  link::Mac mac{};
  if (text.size() != 17) return std::nullopt;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return std::nullopt;
    unsigned v = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = text[i * 3 + j];
      unsigned d = (c >= '0' && c <= '9')   ? unsigned(c - '0')
                   : (c >= 'a' && c <= 'f') ? unsigned(c - 'a' + 10)
                   : (c >= 'A' && c <= 'F') ? unsigned(c - 'A' + 10)
                                            : 16u;
      if (d == 16) return std::nullopt;
      v = v * 16 + d;
    }
    mac[i] = static_cast<uint8_t>(v);
  }
  return mac;
}

Json what_counts(const std::array<uint64_t, kReconcileWhatCount>& counts) {
  Json j = Json::object();
#define VLCP_RECONCILE_WHAT_JSON(name, label) j[label] = counts[static_cast<size_t>(ReconcileWhat::name)];
  VLCP_RECONCILE_WHATS(VLCP_RECONCILE_WHAT_JSON)
#undef VLCP_RECONCILE_WHAT_JSON
  return j;
}

void add_counts(std::array<uint64_t, kReconcileWhatCount>& to,
                const std::array<uint64_t, kReconcileWhatCount>& by) {
  for (size_t i = 0; i < kReconcileWhatCount; ++i) to[i] += by[i];
}

Json endpoint_json(const EndpointAction& a) {
  Json j = {{"endpoint", a.endpoint_id},
            {"port", a.port_id},
            {"network", a.network_id},
            {"reason", reconcile_reason_label(a.reason)}};
  if (!a.veth.empty()) j["veth"] = a.veth;
  if (!a.ovsdb.empty()) j["ovsdb"] = a.ovsdb;
  if (a.veth_missing) j["veth_missing"] = true;
  if (a.ovsdb_missing) j["ovsdb_missing"] = true;
  return j;
}

Json plan_json(const ReconcilePlan& p) {
  Json j = {{"unplug", Json::array()}, {"orphans", Json::array()},      {"mappings", Json::array()},
            {"pools", Json::array()},  {"reservations", Json::array()}, {"repair", Json::array()},
            {"notes", Json::array()}};
  for (const auto& a : p.unplug) j["unplug"].push_back(endpoint_json(a));
  for (const auto& a : p.orphans)
    j["orphans"].push_back({{"what", reconcile_what_label(a.what)},
                            {"name", a.name},
                            {"owner", a.owner},
                            {"endpoint", a.endpoint_id},
                            {"reason", reconcile_reason_label(a.reason)}});
  for (const auto& a : p.mappings)
    j["mappings"].push_back({{"network", a.mapping.network_id},
                             {"pool", a.mapping.pool_id},
                             {"remove_lognet", a.remove_lognet},
                             {"reservations", a.reservations},
                             {"reason", reconcile_reason_label(a.reason)}});
  for (const auto& a : p.pools)
    j["pools"].push_back({{"pool", a.pool_id}, {"reason", reconcile_reason_label(a.reason)}});
  for (const auto& a : p.reservations)
    j["reservations"].push_back(
        {{"pool", a.pool_id}, {"ip", a.ip}, {"reason", reconcile_reason_label(a.reason)}});
  for (const auto& a : p.repair) j["repair"].push_back(endpoint_json(a));
  for (const auto& n : p.notes) j["notes"].push_back({{"subject", n.subject}, {"why", n.why}});
  return j;
}

// The model's four Docker kinds, in ModelView's order.
constexpr std::array<schema::Kind, 4> kModelKinds = {schema::Kind::kDockerInfo, schema::Kind::kDockerNetwork,
                                                     schema::Kind::kDockerPool,
                                                     schema::Kind::kDockerReservation};

}  // namespace

// ---- InFlightTracker ---------------------------------------------------------------------------

InFlightTracker::Answer InFlightTracker::track(const docker::Call& call, Answer done) {
  std::string endpoint, network, pool;
  std::visit(
      [&](const auto& b) {
        using B = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<B, docker::CreateEndpointRequest> ||
                      std::is_same_v<B, docker::EndpointRequest> || std::is_same_v<B, docker::JoinRequest>)
          endpoint = b.endpoint_id;
        else if constexpr (std::is_same_v<B, docker::CreateNetworkRequest> ||
                           std::is_same_v<B, docker::NetworkRequest>)
          network = b.network_id;
        else if constexpr (std::is_same_v<B, docker::ReleasePoolRequest> ||
                           std::is_same_v<B, docker::RequestAddressRequest> ||
                           std::is_same_v<B, docker::ReleaseAddressRequest>)
          pool = b.pool_id;
      },
      call.body);
  if (endpoint.empty() && network.empty() && pool.empty()) return done;
  auto state = state_;
  if (!endpoint.empty()) state->endpoints.insert(endpoint);
  if (!network.empty()) state->networks.insert(network);
  if (!pool.empty()) state->pools.insert(pool);
  ++state->held;
  auto once = std::make_shared<bool>(false);
  return [state, once, endpoint, network, pool, done = std::move(done)](docker::Reply reply) {
    if (!*once) {
      *once = true;
      auto drop = [](std::multiset<std::string>& set, const std::string& id) {
        if (id.empty()) return;
        auto it = set.find(id);
        if (it != set.end()) set.erase(it);
      };
      drop(state->endpoints, endpoint);
      drop(state->networks, network);
      drop(state->pools, pool);
      --state->held;
    }
    done(std::move(reply));
  };
}

InFlightTracker::Answer InFlightTracker::track(std::string_view path, std::string_view body, Answer done) {
  auto d = docker::dispatch(path, body);
  if (auto* call = std::get_if<docker::Call>(&d)) return track(*call, std::move(done));
  return done;
}

InFlight InFlightTracker::snapshot() const {
  InFlight out;
  out.endpoints.insert(state_->endpoints.begin(), state_->endpoints.end());
  out.networks.insert(state_->networks.begin(), state_->networks.end());
  out.pools.insert(state_->pools.begin(), state_->pools.end());
  return out;
}

// ---- the reconciler ----------------------------------------------------------------------------

struct DockerReconciler::Run {
  std::vector<Done> waiting;
  int64_t now_us = 0;
  Clock::Monotonic started{};
  LinkView links;
  OvsdbView ovsdb;
  std::array<Json, 4> model;
  docker::DockerView docker;
  std::vector<std::string> log;
  ReconcilePlan plan;
  // The plan's actions flattened in execution order: each runs and answers its status.
  struct Action {
    std::string kind, subject;
    std::array<uint64_t, kReconcileWhatCount> removed{}, repaired{};
    std::function<void(std::function<void(Status)>)> run;
  };
  std::vector<Action> actions;
  Json failures = Json::array();
  std::array<uint64_t, kReconcileWhatCount> removed{}, repaired{};
};

DockerReconciler::DockerReconciler(ReconcilerParts parts, ReconcilerSettings settings)
    : parts_(std::move(parts)), settings_(std::move(settings)) {
  if (!parts_.now_us) parts_.now_us = system_now_us;
}

DockerReconciler::~DockerReconciler() {
  *alive_ = false;
  if (timer_) parts_.loop.cancel(*timer_);
}

void DockerReconciler::start() {
  if (started_) return;
  started_ = true;
  run_now(nullptr);
}

void DockerReconciler::run_now(Done done) {
  if (running_) {
    again_ = true;
    if (done) next_waiting_.push_back(std::move(done));
    return;
  }
  if (done) waiting_.push_back(std::move(done));
  if (timer_) {
    parts_.loop.cancel(*timer_);
    timer_.reset();
  }
  begin();
}

void DockerReconciler::schedule(std::chrono::nanoseconds delay) {
  if (timer_) parts_.loop.cancel(*timer_);
  timer_ = parts_.loop.after(delay, [this, alive = alive_] {
    if (!*alive) return;
    timer_.reset();
    if (!running_) begin();
  });
}

void DockerReconciler::begin() {
  running_ = true;
  auto run = std::make_shared<Run>();
  run->waiting = std::move(waiting_);
  waiting_.clear();
  // The order reconcile.h relies on: now, links, OVSDB, model, Docker.
  run->now_us = parts_.now_us();
  run->started = parts_.loop.clock().now();
  snapshot_links(run);
}

void DockerReconciler::snapshot_links(std::shared_ptr<Run> run) {
  parts_.links.list_links("", [this, alive = alive_, run](Result<std::vector<link::LinkInfo>> links) {
    if (!*alive) return;
    if (!links.ok()) return finish(run, ReconcileResult::kFailed, "link dump: " + links.error().to_string());
    run->links = link_view_of(*links);
    auto replica = parts_.replica ? parts_.replica() : nullptr;
    if (!replica) return finish(run, ReconcileResult::kFailed, "OVSDB: no replica (client not connected)");
    if (!replica->bridges.count(settings_.bridge))
      return finish(run, ReconcileResult::kFailed, "OVSDB: no bridge " + settings_.bridge);
    run->ovsdb = ovsdb_view_of(*replica, settings_.bridge);
    snapshot_model(run, 0);
  });
}

void DockerReconciler::snapshot_model(std::shared_ptr<Run> run, size_t kind) {
  if (kind == kModelKinds.size()) return snapshot_docker(run);
  parts_.containers.list(kModelKinds[kind], [this, alive = alive_, run, kind](Result<Json> got) {
    if (!*alive) return;
    if (!got.ok())
      return finish(run, ReconcileResult::kFailed,
                    "model: " + std::string(schema::kind(kModelKinds[kind]).key_prefix) + ": " +
                        got.error().to_string());
    run->model[kind] = std::move(*got);
    snapshot_model(run, kind + 1);
  });
}

void DockerReconciler::snapshot_docker(std::shared_ptr<Run> run) {
  parts_.engine.fetch_view([this, alive = alive_, run](docker::DockerView view,
                                                       std::vector<std::string> log) {
    if (!*alive) return;
    run->docker = std::move(view);
    run->log = std::move(log);
    ModelView model =
        model_view_from_lists(settings_.systemid, run->model[0], run->model[1], run->model[2], run->model[3]);
    ReconcileTimes times;
    times.now_us = run->now_us;
    times.grace_us = std::chrono::duration_cast<std::chrono::microseconds>(settings_.grace).count();
    times.foreign_grace_us = settings_.foreign_grace_us;
    InFlight in_flight = parts_.in_flight ? parts_.in_flight() : InFlight{};
    run->plan = plan_reconcile(run->docker, model, run->links, run->ovsdb, times, in_flight);
    if (!run->plan.docker_reachable)
      return finish(run, ReconcileResult::kDockerUnreachable,
                    run->log.empty() ? "Docker unreachable" : run->log.front());

    // The plan, flattened in its order.
    const std::string bridge = settings_.bridge;
    auto busy = [this](const std::string& eid) {
      auto names = endpoint_names({EndpointKind::kDocker, eid, ""}, settings_.veth_prefix);
      return names.ok() && parts_.plugger.busy(*names);
    };
    for (const auto& a : run->plan.unplug) {
      Run::Action act{"unplug", a.endpoint_id, removed_counts(a), {}, nullptr};
      act.run = [this, a, bridge, busy](std::function<void(Status)> done) {
        if (busy(a.endpoint_id)) {
          ++counters_.skipped_busy;
          return done(make_error(Errc::kConflict, "a request for the endpoint is running"));
        }
        UnplugRequest u;
        u.endpoint = {EndpointKind::kDocker, a.endpoint_id, ""};
        u.bridge = bridge;
        parts_.plugger.unplug(std::move(u), std::move(done));
      };
      run->actions.push_back(std::move(act));
    }
    for (const auto& a : run->plan.orphans) {
      Run::Action act{
          "orphan_" + std::string(reconcile_what_label(a.what)), a.name, removed_counts(a), {}, nullptr};
      act.run = [this, a, bridge, busy](std::function<void(Status)> done) {
        if (!a.endpoint_id.empty() && busy(a.endpoint_id)) {
          ++counters_.skipped_busy;
          return done(make_error(Errc::kConflict, "a request for the endpoint is running"));
        }
        if (a.what == ReconcileWhat::kVeth)
          return parts_.links.delete_link(
              a.name, "", [done](Status s) { done(s.code() == Errc::kNotFound ? Status() : s); });
        parts_.ports.unplug_port(bridge, a.name, a.owner, std::move(done));
      };
      run->actions.push_back(std::move(act));
    }
    for (const auto& a : run->plan.mappings) {
      Run::Action act{"mapping", a.mapping.network_id, removed_counts(a), {}, nullptr};
      act.run = [this, a](std::function<void(Status)> done) {
        parts_.containers.delete_network(a.mapping.network_id,
                                         [done](Result<Json> r) { done(r.ok() ? Status() : r.error()); });
      };
      run->actions.push_back(std::move(act));
    }
    for (const auto& a : run->plan.pools) {
      std::array<uint64_t, kReconcileWhatCount> c{};
      c[static_cast<size_t>(ReconcileWhat::kPool)] = 1;
      Run::Action act{"pool", a.pool_id, c, {}, nullptr};
      act.run = [this, a](std::function<void(Status)> done) {
        parts_.containers.release_pool(a.pool_id,
                                       [done](Result<Json> r) { done(r.ok() ? Status() : r.error()); });
      };
      run->actions.push_back(std::move(act));
    }
    for (const auto& a : run->plan.reservations) {
      std::array<uint64_t, kReconcileWhatCount> c{};
      c[static_cast<size_t>(ReconcileWhat::kReservation)] = 1;
      Run::Action act{"reservation", a.pool_id + "/" + a.ip, c, {}, nullptr};
      act.run = [this, a](std::function<void(Status)> done) {
        parts_.containers.release_address(a.pool_id, a.ip,
                                          [done](Result<Json> r) { done(r.ok() ? Status() : r.error()); });
      };
      run->actions.push_back(std::move(act));
    }
    for (const auto& a : run->plan.repair) {
      Run::Action act{"repair", a.endpoint_id, {}, repaired_counts(a), nullptr};
      act.run = [this, a, bridge, busy, alive = alive_](std::function<void(Status)> done) {
        if (busy(a.endpoint_id)) {
          ++counters_.skipped_busy;
          return done(make_error(Errc::kConflict, "a request for the endpoint is running"));
        }
        auto names = endpoint_names({EndpointKind::kDocker, a.endpoint_id, ""}, settings_.veth_prefix);
        if (!names.ok()) return done(names.error());
        // The port's MAC (attached-mac, the peer's MAC) and MTU from the model.
        std::string pkey = model::logical_port_key(names->port_id);
        parts_.db.get({pkey}, [this, a, bridge, names = *names, pkey, done,
                               alive](Result<std::map<std::string, db::Record>> got) {
          if (!*alive) return;
          if (!got.ok()) return done(got.error());
          auto it = got->find(pkey);
          if (it == got->end() || !it->second.value || !it->second.value->is_object())
            return done(make_error(Errc::kNotFound, "logical port " + names.port_id + " is gone"));
          const Json& port = *it->second.value;
          std::string mac = port.value("mac_address", std::string());
          auto plug_ovsdb = [this, a, bridge, names, mac](std::function<void(Status)> done) {
            if (!a.ovsdb_missing) return done(Status());
            OvsPortSpec spec;
            spec.name = names.host_veth;
            spec.owner = names.owner;
            spec.external_ids["iface-id"] = names.port_id;
            if (!mac.empty()) spec.external_ids["attached-mac"] = mac;
            parts_.ports.plug_port(bridge, std::move(spec), std::move(done));
          };
          if (!a.veth_missing) return plug_ovsdb(done);
          // The veth went, and its peer with it: made again beside the host end (the container's
          // interface cannot come back; the OVSDB row finds its device again).
          link::VethRequest v;
          v.host_name = names.host_veth;
          v.peer_name = names.peer_veth;
          v.alias = names.alias;
          v.peer_mac = parse_mac(mac);
          parts_.links.create_veth(std::move(v), [plug_ovsdb, done, alive](Status s) {
            if (!*alive) return;
            if (!s.ok()) return done(s);
            plug_ovsdb(done);
          });
        });
      };
      run->actions.push_back(std::move(act));
    }
    execute(run, 0);
  });
}

void DockerReconciler::execute(std::shared_ptr<Run> run, size_t step) {
  if (step == run->actions.size())
    return finish(run, run->failures.empty() ? ReconcileResult::kOk : ReconcileResult::kFailed,
                  run->failures.empty() ? "" : std::to_string(run->failures.size()) + " action(s) failed");
  auto& act = run->actions[step];
  act.run([this, alive = alive_, run, step](Status s) {
    if (!*alive) return;
    auto& act = run->actions[step];
    if (s.ok()) {
      add_counts(run->removed, act.removed);
      add_counts(run->repaired, act.repaired);
      add_counts(counters_.removed, act.removed);
      add_counts(counters_.repaired, act.repaired);
    } else {
      ++counters_.action_failures;
      run->failures.push_back({{"action", act.kind}, {"subject", act.subject}, {"error", s.to_string()}});
    }
    // Each action on its own turn of the loop (a seam answering inline does not recurse).
    parts_.loop.after(std::chrono::nanoseconds(0), [this, alive, run, step] {
      if (*alive) execute(run, step + 1);
    });
  });
}

void DockerReconciler::finish(std::shared_ptr<Run> run, ReconcileResult result, std::string error) {
  ++counters_.runs[static_cast<size_t>(result)];
  double seconds = std::chrono::duration<double>(parts_.loop.clock().now() - run->started).count();
  Json j = {{"started_us", run->now_us},
            {"seconds", seconds},
            {"result", reconcile_result_label(result)},
            {"error", error},
            {"links", run->links.links.size()},
            {"ovsdb_interfaces", run->ovsdb.interfaces.size()},
            {"docker",
             {{"reachable", run->docker.reachable},
              {"complete", run->docker.complete()},
              {"networks", run->docker.networks.size()}}},
            {"log", run->log},
            {"failures", run->failures},
            {"removed", what_counts(run->removed)},
            {"repaired", what_counts(run->repaired)}};
  if (result != ReconcileResult::kFailed || !run->actions.empty()) j["plan"] = plan_json(run->plan);
  last_ = j;
  running_ = false;

  // The next run: after one that did not succeed, again with backoff (a failed first run with
  // interval 0 would otherwise never be retried); else the interval (0: no more).
  std::chrono::nanoseconds next{0};
  if (result != ReconcileResult::kOk) {
    backoff_ = backoff_.count() == 0 ? std::chrono::nanoseconds(settings_.backoff_first) : backoff_ * 2;
    std::chrono::nanoseconds cap = settings_.backoff_max;
    if (settings_.interval.count() > 0) cap = std::min(cap, std::chrono::nanoseconds(settings_.interval));
    backoff_ = std::min(backoff_, cap);
    next = backoff_;
  } else {
    backoff_ = std::chrono::nanoseconds(0);
    next = settings_.interval;
  }
  if (next.count() > 0) schedule(next);

  for (auto& w : run->waiting) w(last_);
  if (again_ && *alive_) {
    again_ = false;
    waiting_ = std::move(next_waiting_);
    next_waiting_.clear();
    run_now(nullptr);
  }
}

nlohmann::json DockerReconciler::status() const {
  Json runs = Json::object();
#define VLCP_RECONCILE_RESULT_JSON(name, label) \
  runs[label] = counters_.runs[static_cast<size_t>(ReconcileResult::name)];
  VLCP_RECONCILE_RESULTS(VLCP_RECONCILE_RESULT_JSON)
#undef VLCP_RECONCILE_RESULT_JSON
  return {{"interval", settings_.interval.count()},
          {"grace", settings_.grace.count()},
          {"bridge", settings_.bridge},
          {"running", running_},
          {"runs", runs},
          {"removed", what_counts(counters_.removed)},
          {"repaired", what_counts(counters_.repaired)},
          {"action_failures", counters_.action_failures},
          {"skipped_busy", counters_.skipped_busy},
          {"last", last_}};
}

std::vector<std::pair<std::string, double>> DockerReconciler::metrics() const {
  std::vector<std::pair<std::string, double>> out;
#define VLCP_RECONCILE_RESULT_METRIC(name, label)                               \
  out.emplace_back("vlcp_container_reconcile_runs_total{result=\"" label "\"}", \
                   double(counters_.runs[static_cast<size_t>(ReconcileResult::name)]));
  VLCP_RECONCILE_RESULTS(VLCP_RECONCILE_RESULT_METRIC)
#undef VLCP_RECONCILE_RESULT_METRIC
#define VLCP_RECONCILE_WHAT_METRIC(name, label)                                          \
  out.emplace_back("vlcp_container_reconcile_removed_total{what=\"" label "\"}",         \
                   double(counters_.removed[static_cast<size_t>(ReconcileWhat::name)])); \
  out.emplace_back("vlcp_container_reconcile_repaired_total{what=\"" label "\"}",        \
                   double(counters_.repaired[static_cast<size_t>(ReconcileWhat::name)]));
  VLCP_RECONCILE_WHATS(VLCP_RECONCILE_WHAT_METRIC)
#undef VLCP_RECONCILE_WHAT_METRIC
  out.emplace_back("vlcp_container_reconcile_action_failures_total", double(counters_.action_failures));
  return out;
}

}  // namespace vlcp::containers
