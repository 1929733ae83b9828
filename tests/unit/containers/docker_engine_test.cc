// Docker's Engine API view for the reconcile (src/containers/docker_engine): the two paths, the
// decoders on answers shaped as dockerd 20.10 gives them (`docker network ls/inspect` JSON), the
// view built from the list and folded with each network's answer (200, 404, failures), and
// malformed input refused with a typed error.
#include "containers/docker_engine.h"

#include <string>

#include <gtest/gtest.h>

namespace vlcp::containers::docker {
namespace {

const std::string kBlue = "0ee01b16b1df538ba12dc3f97edbb85caa7050d46c148134290feba80f8236c8";
const std::string kRed = "9a8b7c6d5e4f30211203948576abcdef0123456789abcdef0123456789abcdef";
const std::string kNone = "5f2e9c1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788776655443322110ffeeddcc";
const std::string kC1 = "356aa4183b2e8f1c0d2b7a9e6f5d4c3b2a1908f7e6d5c4b3a29180706f5e4d3c";
const std::string kE1 = "d89709aed83f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b";
const std::string kE2 = "77aa00bb11cc22dd33ee44ff5566778899aabbccddeeff001122334455667788";

// GET /v1.41/networks?filters={"driver":["vlcp"]} as dockerd 20.10 answers (plus a network of
// another driver, as a daemon ignoring the filter would give).
const std::string kList = R"([{"Name":"blue","Id":")" + kBlue +
                          R"(","Created":"2026-12-07T10:12:31.526713284Z","Scope":"local","Driver":"vlcp",
"EnableIPv6":false,"IPAM":{"Driver":"vlcp","Options":{},"Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"}]},
"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},
"Options":{"mtu":"1450","physicalnetwork":"vxlan0"},"Labels":{}},
{"Name":"red","Id":")" + kRed +
                          R"(","Created":"2026-12-07T10:13:00Z","Scope":"local","Driver":"vlcp",
"EnableIPv6":false,"IPAM":{"Driver":"vlcp","Options":{},"Config":[{"Subnet":"10.1.0.0/24"}]},"Internal":false,
"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}},
{"Name":"none","Id":")" + kNone +
                          R"(","Created":"2026-12-07T10:01:02.1Z","Scope":"local","Driver":"null",
"EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[]},"Internal":false,"Attachable":false,
"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}}])";

// GET /v1.41/networks/<blue>: a running container, and an endpoint without a sandbox ("ep-").
const std::string kBlueInspect =
    R"({"Name":"blue","Id":")" + kBlue +
    R"(","Created":"2026-12-07T10:12:31.526713284Z","Scope":"local","Driver":"vlcp",
"EnableIPv6":false,"IPAM":{"Driver":"vlcp","Options":{},"Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"}]},
"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,
"Containers":{")" +
    kC1 + R"(":{"Name":"c1","EndpointID":")" + kE1 +
    R"(","MacAddress":"02:00:0a:01:00:07","IPv4Address":"10.1.0.7/24","IPv6Address":""},
"ep-)" +
    kE2 + R"(":{"Name":"","EndpointID":")" + kE2 +
    R"(","MacAddress":"","IPv4Address":"10.1.0.8/24","IPv6Address":""}},
"Options":{"mtu":"1450","physicalnetwork":"vxlan0"},"Labels":{}})";

TEST(DockerEngine, Paths) {
  EXPECT_EQ(networks_path(), "/v1.41/networks?filters=%7B%22driver%22%3A%5B%22vlcp%22%5D%7D");
  EXPECT_EQ(networks_path("vlcp2"), "/v1.41/networks?filters=%7B%22driver%22%3A%5B%22vlcp2%22%5D%7D");
  // A name needing JSON escaping and URL encoding is encoded, never spliced raw.
  EXPECT_EQ(networks_path("a\"&b"), "/v1.41/networks?filters=%7B%22driver%22%3A%5B%22a%5C%22%26b%22%5D%7D");
  auto p = network_path(kBlue);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "/v1.41/networks/" + kBlue);
  for (std::string bad :
       {std::string(""), std::string("blue"), kBlue.substr(1), kBlue + "/../x", std::string(64, 'G')}) {
    auto r = network_path(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  }
}

TEST(DockerEngine, ListKeepsOurDriversNetworks) {
  auto list = decode_networks(kList);
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], (EngineNetwork{kBlue, "blue", "vlcp", {}, false}));
  EXPECT_EQ((*list)[1], (EngineNetwork{kRed, "red", "vlcp", {}, false}));
  auto other = decode_networks(kList, "null");
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].id, kNone);
  auto empty = decode_networks("[]");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(DockerEngine, InspectGivesEndpointsByContainer) {
  auto net = decode_network(kBlueInspect);
  ASSERT_TRUE(net.ok()) << net.error().to_string();
  EXPECT_EQ(net->id, kBlue);
  EXPECT_EQ(net->driver, "vlcp");
  EXPECT_TRUE(net->inspected);
  EXPECT_EQ(net->endpoints, (std::map<std::string, std::string>{{kC1, kE1}, {"ep-" + kE2, kE2}}));
  auto none = decode_network(R"({"Id":")" + kBlue + R"(","Name":"blue","Driver":"vlcp","Containers":null})");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->endpoints.empty());
  EXPECT_TRUE(none->inspected);
}

TEST(DockerEngine, ViewFromListThenEachNetwork) {
  auto view = view_from_networks(200, kList);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->reachable);
  EXPECT_TRUE(view->lists_network(kBlue));
  EXPECT_TRUE(view->lists_network(kRed));
  EXPECT_FALSE(view->lists_network(kNone));
  EXPECT_FALSE(view->complete());
  EXPECT_FALSE(view->knows_endpoint(kE1));

  EXPECT_TRUE(fold_network(*view, kBlue, 200, kBlueInspect).ok());
  EXPECT_TRUE(view->network_known(kBlue));
  EXPECT_TRUE(view->knows_endpoint(kE1));
  EXPECT_TRUE(view->knows_endpoint(kE2));
  EXPECT_FALSE(view->complete());  // red not yet

  // red went between the list and its GET: dropped, the view complete.
  EXPECT_TRUE(fold_network(*view, kRed, 404, R"({"message":"network )" + kRed + R"( not found"})").ok());
  EXPECT_FALSE(view->lists_network(kRed));
  EXPECT_TRUE(view->complete());
}

TEST(DockerEngine, AFailedNetworkAnswerLeavesItUnknown) {
  auto fresh = [] { return view_from_networks(200, kList).value(); };
  {
    DockerView v = fresh();
    Status s = fold_network(v, kBlue, 500, R"({"message":"internal"})");
    EXPECT_EQ(s.code(), Errc::kUnavailable);
    EXPECT_TRUE(v.lists_network(kBlue));
    EXPECT_FALSE(v.network_known(kBlue));
  }
  {
    DockerView v = fresh();
    Status s = fold_network(v, kBlue, 200, "{\"Id\":");
    EXPECT_EQ(s.code(), Errc::kMalformed);
    EXPECT_FALSE(v.network_known(kBlue));
  }
  {
    // An answer naming another network is not this one's.
    DockerView v = fresh();
    std::string red = kBlueInspect;
    red.replace(red.find(kBlue), kBlue.size(), kRed);
    Status s = fold_network(v, kBlue, 200, red);
    EXPECT_EQ(s.code(), Errc::kMalformed);
    EXPECT_FALSE(v.network_known(kBlue));
    EXPECT_FALSE(v.network_known(kRed));
  }
  {
    DockerView v = fresh();
    EXPECT_EQ(fold_network(v, kNone, 200, kBlueInspect).code(), Errc::kNotFound);  // not listed
  }
}

TEST(DockerEngine, ListAnswerOtherThan200IsUnreachable) {
  auto v = view_from_networks(500, R"({"message":"oops"})");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code(), Errc::kUnavailable);
  EXPECT_FALSE(DockerView{}.reachable);
}

TEST(DockerEngine, MalformedAnswersAreTypedErrors) {
  const std::string id = R"("Id":")" + kBlue + R"(")";
  struct Case {
    const char* what;
    std::string body;
    bool list;  // the list decoder, else the one-network decoder
  };
  const Case cases[] = {
      {"empty", "", true},
      {"not JSON", "<html>", true},
      {"an object for the list", R"({"message":"page not found"})", true},
      {"an element not an object", "[1]", true},
      {"our driver's network without an Id", R"([{"Driver":"vlcp","Name":"x"}])", true},
      {"our driver's network with a short Id", R"([{"Driver":"vlcp","Id":"0ee0"}])", true},
      {"a Driver not a string", R"([{"Driver":1}])", true},
      {"a Name not a string", R"([{"Driver":"vlcp",)" + id + R"(,"Name":["x"]}])", true},
      {"trailing bytes", "[] x", true},
      {"nested too deep", std::string(40, '[') + std::string(40, ']'), true},
      {"an array for one network", "[]", false},
      {"Containers an array", "{" + id + R"(,"Containers":[]})", false},
      {"a container not an object", "{" + id + R"(,"Containers":{"c":"x"}})", false},
      {"an EndpointID not a string", "{" + id + R"(,"Containers":{"c":{"EndpointID":7}}})", false},
      {"an EndpointID not an id", "{" + id + R"(,"Containers":{"c":{"EndpointID":"ep1"}}})", false},
      {"an EndpointID missing", "{" + id + R"(,"Containers":{"c":{"Name":"c1"}}})", false},
      {"an Id upper case", R"({"Id":")" + std::string(64, 'A') + R"("})", false},
      {"invalid UTF-8", "{" + id + ",\"Name\":\"\xff\xfe\"}", false},
      {"nested too deep inside a string-free object", std::string(33, '{'), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Status s = c.list ? decode_networks(c.body).status() : decode_network(c.body).status();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::kMalformed);
    EXPECT_FALSE(s.message().empty());
  }
  // Too large: refused before parsing.
  std::string big = "[" + std::string(kMaxEngineBodyBytes, ' ') + "]";
  EXPECT_EQ(decode_networks(big).status().code(), Errc::kMalformed);
  // Brackets inside strings do not count as depth.
  auto deep_text = decode_network("{" + id + R"(,"Name":")" + std::string(100, '[') + R"("})");
  EXPECT_TRUE(deep_text.ok());
}

}  // namespace
}  // namespace vlcp::containers::docker
