// The model's kinds are declared once (src/schema/kinds.h) and everything else derives from it:
// every kind in the API has its WebAPI methods and a vlcpctl noun (or actions on its parent's),
// vlcpctl calls only methods the WebAPI serves, and VLCP's keys, index keys, cascades and method
// names are what they were before the declaration existed.
#include "schema/kinds.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "api/viperflow_api.h"
#include "api/webapi.h"
#include "base/clock.h"
#include "cli/model_verbs.h"
#include "db/embedded.h"
#include "model/viperflow.h"

namespace vlcp::schema {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The WebAPI as vlcpd builds it for the model (no database: every call answers 503).
struct Api {
  api::WebApi web;
  Api() {
    api::add_viperflow(web, [] { return std::shared_ptr<db::ObjectDb>(); });
  }
  api::HttpResponse ask(const std::string& method, const std::string& path, const std::string& body = "") {
    std::optional<api::HttpResponse> out;
    web.handle(api::HttpRequest{method, path, body}, [&](api::HttpResponse r) { out = std::move(r); });
    EXPECT_TRUE(out) << path << " was not answered at once";
    return out.value_or(api::HttpResponse{0, ""});
  }
  std::set<std::string> methods(const std::string& module) {
    auto r = ask("GET", "/" + module + "/discover");
    std::set<std::string> out;
    EXPECT_EQ(r.status, 200) << module << "/discover: " << r.body;
    if (r.status != 200) return out;
    json body = json::parse(r.body);
    for (const auto& [name, help] : body["result"].items())
      if (name != "discover") out.insert(name);
    return out;
  }
};

// What each kind's methods are, from its declaration alone.
std::set<std::string> declared_methods(const KindInfo& k) {
  std::set<std::string> out;
  for (auto verb : {k.api.create, k.api.update, k.api.remove})
    if (!verb.empty()) {
      out.insert(std::string(verb) + std::string(k.api.singular));
      out.insert(std::string(verb) + std::string(k.api.plural));
    }
  out.insert(std::string(k.api.list) + std::string(k.api.plural));
  return out;
}

TEST(Kinds, EveryKindInTheApiHasItsWebApiMethodsBoundToTheModel) {
  Api a;
  for (const auto& k : kKinds) {
    SCOPED_TRACE(std::string(k.display));
    auto calls = model::ViperFlow::calls(k.kind);
    if (!k.in_api()) {
      EXPECT_FALSE(calls.create || calls.update || calls.remove || calls.list);
      continue;
    }
    // The model has a call for each declared verb, and none for a verb the kind does not have.
    EXPECT_EQ(calls.create != nullptr, !k.api.create.empty());
    EXPECT_EQ(calls.update != nullptr, !k.api.update.empty());
    EXPECT_EQ(calls.remove != nullptr, !k.api.remove.empty());
    EXPECT_EQ(calls.list != nullptr, !k.api.list.empty());
    auto served = a.methods(std::string(k.api.module));
    for (const auto& m : declared_methods(k)) {
      EXPECT_TRUE(served.count(m)) << k.api.module << "/" << m << " is not served";
      // Bound: the method runs (and finds no database), rather than 404.
      auto r = a.ask("POST", "/" + std::string(k.api.module) + "/" + m, "{}");
      EXPECT_EQ(r.status, 503) << m << ": " << r.body;
    }
  }
}

TEST(Kinds, TheWebApiServesExactlyTodaysMethodNames) {
  Api a;
  const std::set<std::string> viperflow = {
      "createphysicalnetwork", "createphysicalnetworks", "updatephysicalnetwork", "updatephysicalnetworks",
      "deletephysicalnetwork", "deletephysicalnetworks", "listphysicalnetworks",  "createlogicalnetwork",
      "createlogicalnetworks", "updatelogicalnetwork",   "updatelogicalnetworks", "deletelogicalnetwork",
      "deletelogicalnetworks", "listlogicalnetworks",    "createphysicalport",    "createphysicalports",
      "updatephysicalport",    "updatephysicalports",    "deletephysicalport",    "deletephysicalports",
      "listphysicalports",     "createsubnet",           "createsubnets",         "updatesubnet",
      "updatesubnets",         "deletesubnet",           "deletesubnets",         "listsubnets",
      "createlogicalport",     "createlogicalports",     "updatelogicalport",     "updatelogicalports",
      "deletelogicalport",     "deletelogicalports",     "listlogicalports"};
  const std::set<std::string> vrouterapi = {
      "createvirtualrouter", "createvirtualrouters",  "updatevirtualrouter",    "updatevirtualrouters",
      "deletevirtualrouter", "deletevirtualrouters",  "listvirtualrouters",     "addrouterinterface",
      "addrouterinterfaces", "removerouterinterface", "removerouterinterfaces", "listrouterinterfaces"};
  EXPECT_EQ(a.methods("viperflow"), viperflow);
  EXPECT_EQ(a.methods("vrouterapi"), vrouterapi);
  // The batch forms take the declared parameter.
  auto r = a.ask("POST", "/vrouterapi/addrouterinterfaces", "{}");
  EXPECT_EQ(r.status, 503);  // (the database is checked first, as before)
}

TEST(Kinds, EveryKindInTheApiHasAVlcpctlNounAndVlcpctlCallsOnlyServedMethods) {
  Api a;
  auto actions = cli::object_actions();
  for (const auto& k : kKinds) {
    if (!k.in_api()) continue;
    SCOPED_TRACE(std::string(k.display));
    // A noun of its own, or its parent's.
    const KindInfo& noun_kind = k.cli.noun.empty() ? kind(*k.parent) : k;
    ASSERT_FALSE(noun_kind.cli.noun.empty()) << "no vlcpctl noun reaches this kind";
    EXPECT_TRUE(cli::is_model_verb(std::string(noun_kind.cli.noun)));
    // vlcpctl reaches every method of the kind but the batch forms of a kind without a noun.
    std::set<std::string> reached;
    for (const auto& x : actions)
      if (x.noun == noun_kind.cli.noun && x.kind == k.display) reached.insert(x.method);
    for (const auto& m : declared_methods(k)) {
      bool batch_only_via_call =
          k.cli.noun.empty() && m.size() > k.api.plural.size() &&
          m.compare(m.size() - k.api.plural.size(), std::string::npos, k.api.plural) == 0 &&
          m.rfind(std::string(k.api.list), 0) != 0;
      if (!batch_only_via_call) {
        EXPECT_TRUE(reached.count(m)) << "vlcpctl " << noun_kind.cli.noun << " misses " << m;
      }
    }
  }
  for (const auto& x : actions) {
    SCOPED_TRACE(x.noun + " " + x.action);
    EXPECT_TRUE(a.methods(x.module).count(x.method)) << x.module << "/" << x.method << " is not served";
  }
}

TEST(Kinds, VlcpctlActionsAreTodays) {
  std::map<std::string, std::string> got;
  for (const auto& x : cli::object_actions()) got[x.noun + " " + x.action] = x.module + "/" + x.method;
  EXPECT_EQ(got["logicalport create"], "viperflow/createlogicalport");
  EXPECT_EQ(got["logicalport create-batch"], "viperflow/createlogicalports");
  EXPECT_EQ(got["logicalport list"], "viperflow/listlogicalports");
  EXPECT_EQ(got["physicalport delete-batch"], "viperflow/deletephysicalports");
  EXPECT_EQ(got["router create"], "vrouterapi/createvirtualrouter");
  EXPECT_EQ(got["router add-interface"], "vrouterapi/addrouterinterface");
  EXPECT_EQ(got["router remove-interface"], "vrouterapi/removerouterinterface");
  EXPECT_EQ(got["router interfaces"], "vrouterapi/listrouterinterfaces");
  std::set<std::string> nouns;
  for (const auto& x : cli::object_actions()) nouns.insert(x.noun);
  EXPECT_EQ(nouns, (std::set<std::string>{"physicalnetwork", "logicalnetwork", "physicalport", "subnet",
                                          "logicalport", "router"}));
  EXPECT_EQ(got.size(), 6u * 7 + 3);  // 7 actions per noun, and the router's interfaces
}

TEST(Kinds, KeysAreVlcps) {
  EXPECT_EQ(model::physical_network_key("a"), "viperflow.physicalnetwork.a");
  EXPECT_EQ(model::physical_network_map_key("a"), "viperflow.physicalnetworkmap.a");
  EXPECT_EQ(model::logical_network_key("a.b"), "viperflow.logicnetwork.a++b");
  EXPECT_EQ(model::logical_network_map_key("a"), "viperflow.logicnetworkmap.a");
  EXPECT_EQ(model::subnet_key("a"), "viperflow.subnet.a");
  EXPECT_EQ(model::subnet_map_key("a"), "viperflow.subnetmap.a");
  EXPECT_EQ(model::logical_port_key("a"), "viperflow.logicalport.a");
  EXPECT_EQ(model::router_key("a"), "viperflow.vrouter.a");
  EXPECT_EQ(model::router_port_key("a"), "viperflow.routerport.a");
  EXPECT_EQ(model::physical_port_key("", "%", "br0", "eth1"), "viperflow.physicalport..%.br0.eth1");
  EXPECT_EQ(model::key_of(Kind::kLocation, "p"), "viperflow.logicalportvxlaninfo.p");
  EXPECT_STREQ(model::kPhysicalNetworkSet, "viperflow.physicalnetworkset");
  EXPECT_STREQ(model::kLogicalNetworkSet, "viperflow.logicalnetworkset");
  EXPECT_STREQ(model::kPhysicalPortSet, "viperflow.physicalportset");
  EXPECT_STREQ(model::kSubnetSet, "viperflow.subnetset");
  EXPECT_STREQ(model::kRouterSet, "viperflow.vrouterset");
  // A key names its kind (the location's prefix extends the port's without being under it).
  EXPECT_EQ(kind_of_key("viperflow.logicalportvxlaninfo.p"), Kind::kLocation);
  EXPECT_EQ(kind_of_key("viperflow.logicalport.p"), Kind::kLogicalPort);
  EXPECT_EQ(kind_of_key("viperflow.logicnetworkmap.n"), std::nullopt);  // a map, not a kind's object
  EXPECT_EQ(kind(Kind::kLogicalPort).class_prefix(), "viperflow.logicalport");
  // Every kind has a parent that is declared before it (the order objects are created in).
  for (const auto& k : kKinds)
    if (k.parent) {
      EXPECT_LT(static_cast<int>(*k.parent), static_cast<int>(k.kind)) << k.display;
    }
}

// The indices and the cascade the declaration derives, on a real database: the address index
// shared by ports and router interfaces, the MAC index, and the location deleted with its port.
class KindsOnADatabase : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vlcp-kinds-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    auto s = db::EmbeddedStore::open(loop_, db::EmbeddedOptions{(dir_ / "db").string(), 64, true});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    db_ = std::make_unique<db::ObjectDb>(loop_, *store_);
    model::declare_indices(*db_);
  }
  void TearDown() override {
    db_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  template <typename T>
  T wait(std::optional<T>& r) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!r && std::chrono::steady_clock::now() < deadline)
      if (!loop_.run_pending()) std::this_thread::sleep_for(100us);
    EXPECT_TRUE(r) << "no answer";
    return std::move(*r);
  }
  Result<json> call(model::ViperFlow::Call fn, json arg) {
    std::optional<Result<json>> r;
    model::ViperFlow vf(*db_);
    (vf.*fn)(std::move(arg), [&](Result<json> x) { r = std::move(x); });
    return r ? std::move(*r) : wait(r);
  }
  std::vector<std::string> keys(const std::string& prefix) {
    std::optional<Result<std::vector<std::string>>> r;
    db_->list(prefix, [&](Result<std::vector<std::string>> x) { r = std::move(x); });
    auto k = wait(r);
    return k.ok() ? *k : std::vector<std::string>{};
  }
  std::filesystem::path dir_;
  RealClock clock_;
  io::ControlLoop loop_{clock_};
  std::unique_ptr<db::EmbeddedStore> store_;
  std::unique_ptr<db::ObjectDb> db_;
};

TEST_F(KindsOnADatabase, IndicesAndCascadesAreVlcps) {
  using V = model::ViperFlow;
  ASSERT_TRUE(
      call(&V::create_physical_networks, json::parse(R"([{"id": "pn", "vlanrange": [[10, 20]]}])")).ok());
  ASSERT_TRUE(
      call(&V::create_logical_networks, json::parse(R"([{"id": "ln", "physicalnetwork": "pn"}])")).ok());
  ASSERT_TRUE(
      call(&V::create_subnets,
           json::parse(
               R"([{"id": "s", "logicalnetwork": "ln", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1"}])"))
          .ok());
  ASSERT_TRUE(
      call(&V::create_logical_ports, json::parse(R"([{"id": "p", "logicalnetwork": "ln", "subnet": "s",
                                                             "mac_address": "02:00:00:00:00:01"}])"))
          .ok());
  // The address and MAC indices under VLCP's names (the address one in the subnets' space).
  EXPECT_EQ(keys("indices.viperflow.subnet.ip.").size(), 1u);
  EXPECT_EQ(keys("indices.viperflow.logicalport.mac.").size(), 1u);
  // A router interface's address goes to the same index.
  ASSERT_TRUE(call(&V::create_routers, json::parse(R"([{"id": "r"}])")).ok());
  ASSERT_TRUE(call(&V::add_router_interfaces, json::parse(R"([{"router": "r", "subnet": "s",
                                                              "ip_address": "10.0.0.9"}])"))
                  .ok());
  EXPECT_EQ(keys("indices.viperflow.subnet.ip.").size(), 2u);
  // The port's location (as a node writes it) goes with the port.
  std::optional<Result<db::TxnResult>> w;
  db_->writewalk(
      {"viperflow.logicalportvxlaninfo.p"},
      [](db::TxnContext& ctx) -> Status {
        ctx.write("viperflow.logicalportvxlaninfo.p", json{{"endpoints", json::array()}});
        return {};
      },
      [&](Result<db::TxnResult> r) { w = std::move(r); });
  ASSERT_TRUE(wait(w).ok());
  EXPECT_EQ(keys("viperflow.logicalportvxlaninfo.").size(), 1u);
  ASSERT_TRUE(call(&V::delete_logical_ports, json::parse(R"([{"id": "p"}])")).ok());
  EXPECT_TRUE(keys("viperflow.logicalportvxlaninfo.").empty());
  EXPECT_EQ(keys("indices.viperflow.subnet.ip.").size(), 1u);  // the interface's stays
  // Lists by parent (the network's ports through its multi index) still answer.
  ASSERT_TRUE(call(&V::create_logical_ports, json::parse(R"([{"id": "q", "logicalnetwork": "ln"}])")).ok());
  auto listed = call(&V::list_logical_ports, json{{"logicalnetwork", "ln"}});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]["_type"], "vlcp.utils.networkmodel.LogicalPort");
  EXPECT_EQ((*listed)[0]["network"]["_type"], "vlcp.utils.networkmodel.LogicalNetwork");
}

}  // namespace
}  // namespace vlcp::schema
