// libFuzzer target for Docker's Engine API answers as the reconcile reads them
// (src/containers/docker_engine) and the planner over the view they make (reconcile.h): dockerd's
// answers are bytes from a socket, and a wrong view must never make the plan remove what Docker
// knows. The first byte picks the path — 'L' the network list, 'N' one network, anything else a
// fold of one network's answer into a view that lists it — the rest is the body. Decoders must
// give a value or a typed error; decoded ids are Docker ids; the plan over the view unplugs only
// endpoints Docker does not know and repairs only ones it knows.
// Also replayed by docker_engine_fuzz_replay inside `make test`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "containers/docker_engine.h"
#include "containers/docker_protocol.h"
#include "containers/reconcile.h"

namespace {

using namespace vlcp;
using namespace vlcp::containers;

void check(bool ok) {
  if (!ok) std::abort();
}

const std::string kNet = "0ee01b16b1df538ba12dc3f97edbb85caa7050d46c148134290feba80f8236c8";
const std::string kKnown = "d89709aed83f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b";
const std::string kGone = "77aa00bb11cc22dd33ee44ff5566778899aabbccddeeff001122334455667788";

void check_error(const Status& s) {
  check(!s.ok() && !s.message().empty());
}

void check_network(const docker::EngineNetwork& n) {
  check(docker::is_docker_id(n.id));
  for (const auto& [key, eid] : n.endpoints) check(docker::is_docker_id(eid));
}

// The planner over `view` with two old endpoints of this node on kNet, each with its veth.
void check_plan(const docker::DockerView& view) {
  ModelView model;
  model.systemid = "node";
  LinkView links;
  for (const auto& eid : {kKnown, kGone}) {
    model.infos.push_back({"docker-" + eid, eid, kNet, "node", 0});
    links.links.push_back({"vlcp" + eid.substr(0, 10), docker::veth_alias(eid), std::nullopt});
  }
  ReconcileTimes times{1'000'000'000, 30'000'000, 60'000'000};
  ReconcilePlan plan = plan_reconcile(view, model, links, {}, times, {});
  check(plan.docker_reachable == view.reachable);
  if (!view.reachable) check(plan.empty());
  for (const auto& a : plan.unplug) check(!view.knows_endpoint(a.endpoint_id));
  for (const auto& a : plan.repair)
    check(view.knows_endpoint(a.endpoint_id) && a.ovsdb_missing && !a.veth_missing);
  check(plan.orphans.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view body = in.substr(1);
  if (in[0] == 'L') {
    auto list = docker::decode_networks(body);
    auto view = docker::view_from_networks(200, body);
    check(list.ok() == view.ok());
    if (!list.ok()) {
      check_error(list.error());
      check(list.error().code() == Errc::kMalformed);
      return 0;
    }
    for (const auto& n : *list) {
      check_network(n);
      check(n.driver == "vlcp" && !n.inspected && n.endpoints.empty());
      check(view->lists_network(n.id) && !view->network_known(n.id));
      check(docker::network_path(n.id).ok());
    }
    check_plan(*view);
  } else if (in[0] == 'N') {
    auto net = docker::decode_network(body);
    if (!net.ok()) {
      check_error(net.error());
      check(net.error().code() == Errc::kMalformed);
      return 0;
    }
    check_network(*net);
    check(net->inspected);
  } else {
    docker::DockerView view;
    view.reachable = true;
    view.networks[kNet] = docker::EngineNetwork{kNet, "blue", "vlcp", {}, false};
    int status = static_cast<uint8_t>(in[0]) % 3 == 0 ? 404 : 200;
    Status s = docker::fold_network(view, kNet, status, body);
    if (status == 404) {
      check(s.ok() && !view.lists_network(kNet));
    } else if (s.ok()) {
      check(view.network_known(kNet) && view.complete());
      check_network(view.networks.at(kNet));
    } else {
      check_error(s);
      check(view.lists_network(kNet) && !view.network_known(kNet) && !view.complete());
    }
    check_plan(view);
  }
  return 0;
}
