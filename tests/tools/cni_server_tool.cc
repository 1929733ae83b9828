// cni_server_tool DB_SOCKET BRIDGE CNI_SOCKET STORE_PATH: vlcpd's `cniserver` module
// (containers/cni_module.h) as the daemon runs it — its key table read from a configuration, an
// embedded ObjectDB, the OVSDB client on a real ovsdb-server, the link thread — without the rest
// of the daemon, for the system test containers_cni.sh (driven by the real vlcp-cni). The model
// gets a physical network, logical network `blue` and subnet `blue-s` (10.1.0.0/24, gateway
// 10.1.0.1). Prints "ready" once serving; on SIGTERM stops the module and prints one JSON line
// with what the model still holds (the leak check): {"ports": n, "cni_infos": m}.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "base/clock.h"
#include "base/config.h"
#include "containers/cni_module.h"
#include "db/embedded.h"
#include "db/objectdb.h"
#include "io/control_loop.h"
#include "model/containers.h"
#include "model/viperflow.h"
#include "ovsdb/client.h"
#include "schema/kinds.h"

using namespace vlcp;
using Json = nlohmann::json;

namespace {

std::atomic<bool> stopping{false};

void on_signal(int) {
  stopping = true;
}

bool run_until(io::ControlLoop& loop, const std::function<bool()>& done, double seconds) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  auto work = boost::asio::make_work_guard(loop.context());
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (loop.context().stopped()) loop.context().restart();
    loop.context().run_one_for(std::chrono::milliseconds(20));
    loop.run_pending();
  }
  return done();
}

int fail(const std::string& what) {
  std::fprintf(stderr, "cni_server_tool: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: cni_server_tool DB_SOCKET BRIDGE CNI_SOCKET STORE_PATH\n");
    return 2;
  }
  std::string bridge = argv[2], socket = argv[3];
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  io::ControlLoop loop(RealClock::instance());

  auto store = db::EmbeddedStore::open(loop, db::EmbeddedOptions{argv[4], 64, false});
  if (!store.ok()) return fail(store.status().to_string());
  auto objectdb = std::make_shared<db::ObjectDb>(loop, **store);
  model::declare_indices(*objectdb);

  ovsdb::OvsdbSettings os;
  os.remote = std::string("unix:") + argv[1];
  ovsdb::OvsdbClient client(loop, os);
  if (auto st = client.start(); !st.ok()) return fail(st.to_string());
  if (!run_until(
          loop, [&] { return client.replica_ptr() && client.replica_ptr()->bridges.count(bridge) > 0; },
          20)) {
    std::string seen;
    if (auto r = client.replica_ptr())
      for (const auto& [name, b] : r->bridges) seen += " " + name;
    return fail("bridge " + bridge + " never appeared (connected: " + std::to_string(client.connected()) +
                ", bridges:" + seen + ")");
  }

  // The network the pods join.
  model::ViperFlow vf(*objectdb);
  int step = 0;
  Status made;
  auto next = [&](Result<Json> r) {
    if (!r.ok()) made = r.status();
    ++step;
  };
  vf.create_physical_networks(Json::parse(R"([{"id": "pn", "type": "native"}])"), next);
  if (!run_until(
          loop, [&] { return step == 1; }, 10) ||
      !made.ok())
    return fail("physical network: " + made.to_string());
  vf.create_logical_networks(Json::parse(R"([{"id": "blue", "physicalnetwork": "pn", "mtu": 1450}])"), next);
  if (!run_until(
          loop, [&] { return step == 2; }, 10) ||
      !made.ok())
    return fail("logical network: " + made.to_string());
  vf.create_subnets(Json::parse(R"([{"id": "blue-s", "logicalnetwork": "blue", "cidr": "10.1.0.0/24",
                                     "gateway": "10.1.0.1", "dns_nameservers": ["10.1.0.2"]}])"),
                    next);
  if (!run_until(
          loop, [&] { return step == 3; }, 10) ||
      !made.ok())
    return fail("subnet: " + made.to_string());

  // The module as the daemon declares it, its keys read from a configuration.
  auto config = Config::parse("module.cniserver.url = 'unix://" + socket + "'\nmodule.cniserver.bridge = '" +
                              bridge + "'\nmodule.cniserver.socketmode = 0o600\n");
  if (!config.ok()) return fail(config.status().to_string());
  auto settings = containers::read_cniserver_settings(*config);
  if (!settings.ok()) return fail(settings.status().to_string());
  containers::CniServerDeps deps;
  deps.objectdb = [objectdb] { return objectdb; };
  deps.ovsdb = [&client] { return &client; };
  auto module = std::make_unique<containers::CniServerModule>(loop, *settings, deps);
  if (auto st = module->init(); !st.ok()) return fail(st.to_string());
  if (auto st = module->start(); !st.ok()) return fail(st.to_string());
  std::printf("ready\n");
  std::fflush(stdout);

  run_until(
      loop, [] { return stopping.load(); }, 24 * 3600);
  // What the metrics would show, then the leak check's view of the model.
  for (const auto& v : module->metrics()) {
    if (v.name != "vlcp_cni_requests_total") continue;
    std::string labels;
    for (const auto& [k, val] : v.labels) labels += (labels.empty() ? "" : ",") + k + "=\"" + val + "\"";
    std::fprintf(stderr, "%s{%s} %g\n", v.name.c_str(), labels.c_str(), v.value);
  }
  module->stop();
  model::Containers containers(*objectdb);
  int answered = 0;
  size_t infos = 0, ports = 0;
  containers.list(schema::Kind::kCniInfo, [&](Result<Json> r) {
    if (r.ok()) infos = r->size();
    ++answered;
  });
  vf.list_logical_ports(Json::object(), [&](Result<Json> r) {
    if (r.ok()) ports = r->size();
    ++answered;
  });
  run_until(
      loop, [&] { return answered == 2; }, 10);
  std::printf("{\"ports\": %zu, \"cni_infos\": %zu}\n", ports, infos);
  std::fflush(stdout);
  return 0;
}
