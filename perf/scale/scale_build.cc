// scale_build: writes the scale simulator's model (perf/scale/layout.h) into a real ZooKeeper
// through the model's own batch calls (src/model), as the WebAPI would, and each port's VXLAN
// location as the L2 app of the server hosting it writes it (apps/l2/l2app.cc write_locations).
// Batches run a few at a time; prints the rate and the store's census as JSON lines.
//
//   scale_build --zk HOST:PORT [--root /vlcp] [--ports 1000] [--servers P/100]
//               [--ports-per-network 100] [--measured-share 100] [--router-networks 0] [--inflight 4]
//   scale_build [layout flags] --list-ports S   the ids of the ports server S hosts, one a line
//   scale_build --zk ... --churn K --network N   K creates and deletes of a port in network N, one at
//               a time, each create followed by the port's location (the remote server's vlcpd)
#include <algorithm>
#include <deque>

#include "db/store.h"
#include "perf/scale/sim.h"
#include "schema/kinds.h"

using namespace vlcp;
using namespace vlcp::perf::scale;
using schema::Kind;

namespace {

// A port's location, as the L2 app of server s writes it (apps/l2/l2app.cc write_location).
Json location(const std::string& port_id, int s, int64_t ts_us) {
  return Json{{"id", port_id},
              {"endpoints", Json::array({Json{{"vhost", ""},
                                              {"systemid", Layout::system_id(s)},
                                              {"bridge", "br-int"},
                                              {"tunnel_src", Layout::tunnel_ip(s)},
                                              {"updated_time", static_cast<double>(ts_us) / 1e6}}})}};
}

// Server s's entry for a port in the hosted-ports index (schema::kHostedPrefix).
std::string hosted_key(const std::string& port_id, int s) {
  return std::string(schema::kHostedPrefix) + db::escape_key_part(Layout::system_id(s)) + "." +
         db::escape_key_part(port_id);
}

// Writes locations (port id -> server) in one transaction, each with its server's entry in the
// hosted-ports index, as the L2 app does.
void write_locations(db::ObjectDb& db, std::vector<std::pair<std::string, int>> where,
                     std::function<void(Status)> done) {
  std::vector<std::string> keys;
  for (const auto& [id, s] : where) keys.push_back(model::key_of(Kind::kLocation, id));
  for (const auto& [id, s] : where) keys.push_back(hosted_key(id, s));
  db.writewalk(
      keys,
      [where, keys](db::TxnContext& ctx) {
        for (size_t i = 0; i < where.size(); ++i) {
          ctx.write(keys[i], location(where[i].first, where[i].second, ctx.timestamp_us()));
          ctx.write(keys[where.size() + i], Json{{"bridge", "br-int"}});
        }
        return Status{};
      },
      [done](Result<db::TxnResult> r) { done(r.status()); });
}

// Runs jobs with at most `inflight` at once; a job may queue more.
struct Pipeline {
  using Job = std::function<void(std::function<void(Status)>)>;
  Pipeline(Env& e, int n) : env(e), inflight(n) {}
  Env& env;
  int inflight;
  std::deque<Job> jobs;
  int running = 0;
  Status first_error;
  bool run() {
    while (!jobs.empty() || running) {
      while (running < inflight && !jobs.empty()) {
        Job j = std::move(jobs.front());
        jobs.pop_front();
        ++running;
        j([this](Status s) {
          --running;
          if (!s.ok() && first_error.ok()) first_error = s;
        });
      }
      if (!first_error.ok()) break;
      if (!env.loop.run_pending()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    env.wait([this] { return running == 0; }, std::chrono::minutes(2));
    return first_error.ok();
  }
};

model::Done status_of(std::function<void(Status)> done) {
  return [done](Result<Json> r) { done(r.status()); };
}

// Specs in batches of `size`, one call per batch.
void batched(Pipeline& p, const Json& specs, size_t size, std::function<void(Json, model::Done)> call) {
  for (size_t i = 0; i < specs.size(); i += size) {
    Json batch(Json::array());
    for (size_t j = i; j < std::min(specs.size(), i + size); ++j) batch.push_back(specs[j]);
    p.jobs.push_back([batch, call](std::function<void(Status)> done) { call(batch, status_of(done)); });
  }
}

std::map<std::string, size_t> census(Env& env, db::ZkStore& store) {
  std::optional<Result<std::map<std::string, size_t>>> c;
  store.census([&](Result<std::map<std::string, size_t>> r) { c = std::move(r); });
  env.wait([&] { return c.has_value(); }, std::chrono::minutes(5));
  return c && c->ok() ? **c : std::map<std::string, size_t>{};
}

int build(Env& env, Db& d, const Layout& l, int inflight) {
  model::ViperFlow vf(*d.db);
  auto t0 = std::chrono::steady_clock::now();
  int n = l.networks();
  Pipeline p(env, 1);
  // The physical network (a VXLAN one, VNIs for every network) and its tunnel port on every server.
  p.jobs.push_back([&](std::function<void(Status)> done) {
    vf.create_physical_networks(
        Json::array({Json{{"id", "vx"},
                          {"type", "vxlan"},
                          {"vnirange", Json::array({Json::array({10000, 10000 + n + 1000})})}}}),
        status_of(done));
  });
  p.jobs.push_back([&](std::function<void(Status)> done) {
    vf.create_physical_ports(Json::array({Json{{"name", "vxlan0"}, {"physicalnetwork", "vx"}}}),
                             status_of(done));
  });
  if (!p.run()) die("physical network: " + p.first_error.to_string());
  p.inflight = inflight;
  Json nets(Json::array()), subnets(Json::array()), routers(Json::array()), interfaces(Json::array());
  for (int k = 0; k < n; ++k) {
    nets.push_back(Json{{"id", Layout::network_id(k)}, {"physicalnetwork", "vx"}});
    subnets.push_back(Json{{"id", Layout::subnet_id(k)},
                           {"logicalnetwork", Layout::network_id(k)},
                           {"cidr", Layout::cidr(k)},
                           {"gateway", Layout::gateway(k)}});
    if (l.router_groups > 0) {
      if (k % l.router_groups == 0) routers.push_back(Json{{"id", Layout::router_id(k / l.router_groups)}});
      interfaces.push_back(
          Json{{"router", Layout::router_id(k / l.router_groups)}, {"subnet", Layout::subnet_id(k)}});
    }
  }
  // Networks and subnets share their set objects: one batch at a time.
  p.inflight = 1;
  batched(p, nets, 100, [&](Json b, model::Done done) { vf.create_logical_networks(std::move(b), done); });
  batched(p, subnets, 100, [&](Json b, model::Done done) { vf.create_subnets(std::move(b), done); });
  batched(p, routers, 100, [&](Json b, model::Done done) { vf.create_routers(std::move(b), done); });
  batched(p, interfaces, 20, [&](Json b, model::Done done) { vf.add_router_interfaces(std::move(b), done); });
  if (!p.run()) die("networks: " + p.first_error.to_string());
  double networks_s = ms_since(t0) / 1000;
  // Ports, one network per call; then that network's locations, as its servers write them.
  p.inflight = inflight;
  size_t ports_done = 0;
  auto last = std::chrono::steady_clock::now();
  for (int k = 0; k < n; ++k) {
    p.jobs.push_back([&, k](std::function<void(Status)> done) {
      Json specs(Json::array());
      std::vector<std::pair<std::string, int>> where;
      for (int i = 0; i < l.per_network; ++i) {
        specs.push_back(Json{{"id", Layout::port_id(k, i)},
                             {"logicalnetwork", Layout::network_id(k)},
                             {"subnet", Layout::subnet_id(k)},
                             {"mac_address", l.mac(k, i)},
                             {"ip_address", Layout::ip(k, i)}});
        where.emplace_back(Layout::port_id(k, i), l.server_of_port(k, i));
      }
      vf.create_logical_ports(std::move(specs), [&, where, done](Result<Json> r) {
        if (r.ok())
          p.jobs.push_back([&, where](std::function<void(Status)> d2) {
            // (the count by value: `where` belongs to this job, gone when the answer comes)
            write_locations(*d.db, where, [&, d2, count = where.size()](Status s) {
              ports_done += count;
              if (ms_since(last) > 5000) {
                last = std::chrono::steady_clock::now();
                emit(Json{{"event", "progress"}, {"ports", ports_done}, {"seconds", ms_since(t0) / 1000}});
              }
              d2(s);
            });
          });
        done(r.status());
      });
    });
  }
  if (!p.run()) die("ports: " + p.first_error.to_string());
  double seconds = ms_since(t0) / 1000;
  auto c = census(env, *d.store);
  size_t keys = c.count("kv.keys") ? c["kv.keys"] : 0;
  emit(Json{{"event", "built"},
            {"ports", l.ports},
            {"networks", n},
            {"servers", l.server_count()},
            {"measured_share", l.measured_share},
            {"seconds", seconds},
            {"networks_seconds", networks_s},
            {"ports_per_s", l.ports / (seconds - networks_s)},
            {"keys", keys},
            {"keys_per_s", keys / seconds},
            {"census", c}});
  return 0;
}

// K creates and deletes of one port in network `net` (with its location from the first server
// of that network), one after another: the remote changes a measured node sees.
int churn(Env& env, Db& d, const Layout& l, int count, int net) {
  model::ViperFlow vf(*d.db);
  int s = l.server_of(net, 0);
  std::vector<double> create_ms, delete_ms;
  auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < count; ++k) {
    std::string id = "c" + std::to_string(net) + "-" + std::to_string(k);
    auto t = std::chrono::steady_clock::now();
    auto r = call(env, [&](model::Done done) {
      vf.create_logical_ports(
          Json::array({Json{
              {"id", id}, {"logicalnetwork", Layout::network_id(net)}, {"subnet", Layout::subnet_id(net)}}}),
          done);
    });
    if (!r.ok()) die("churn create: " + r.status().to_string());
    std::optional<Status> loc;
    write_locations(*d.db, {{id, s}}, [&](Status st) { loc = st; });
    env.wait([&] { return loc.has_value(); }, std::chrono::minutes(1));
    create_ms.push_back(ms_since(t));
    t = std::chrono::steady_clock::now();
    r = call(env, [&](model::Done done) { vf.delete_logical_ports(Json::array({Json{{"id", id}}}), done); });
    if (!r.ok()) die("churn delete: " + r.status().to_string());
    // The port unplugged on its server: its L2 app drops the index entry.
    std::optional<Status> gone;
    d.db->writewalk(
        {hosted_key(id, s)},
        [key = hosted_key(id, s)](db::TxnContext& ctx) {
          ctx.write(key, std::nullopt);
          return Status{};
        },
        [&](Result<db::TxnResult> w) { gone = w.status(); });
    env.wait([&] { return gone.has_value(); }, std::chrono::minutes(1));
    delete_ms.push_back(ms_since(t));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  emit(Json{{"event", "churned"},
            {"network", net},
            {"creates", count},
            {"deletes", count},
            {"seconds", ms_since(t0) / 1000},
            {"create_ms_p50", median(create_ms)},
            {"delete_ms_p50", median(delete_ms)}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a(argc, argv);
  Layout l = layout_from(a);
  if (auto why = l.problem(); !why.empty()) die("scale_build: " + why);
  if (!a.str("list-ports").empty()) {  // the ports a server hosts, one id a line (no ZooKeeper)
    for (const auto& [net, ids] : l.ports_on(a.num("list-ports", 0)))
      for (const auto& id : ids) std::printf("%s\n", id.c_str());
    return 0;
  }
  Env env;
  Db d = open_db(env.loop, a);
  if (!env.wait([&] { return d.store->connected(); }, std::chrono::seconds(30)))
    die("scale_build: ZooKeeper not reachable");
  if (a.num("churn", 0) > 0) return churn(env, d, l, a.num("churn", 0), a.num("network", l.networks() - 1));
  return build(env, d, l, a.num("inflight", 4));
}
