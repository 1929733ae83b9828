// Docker's remote plugin protocol (src/containers/docker_protocol): every call of
// docs/CONTAINERS_DESIGN.md §2.2 decoded from the bodies dockerd 20.10 sent in the probe (ids
// completed to their 64 digits), the answers byte-compared with the shapes Docker reads, the -o
// options checked as VLCP read them, the 400/404/422 of decoding and the §2.6 status table.
#include "containers/docker_protocol.h"

#include <string>
#include <variant>

#include <gtest/gtest.h>

namespace vlcp::containers::docker {
namespace {

const std::string kNid = "0ee01b16b1df538ba12dc3f97edbb85caa7050d46c148134290feba80f8236c8";
const std::string kEid = "d89709aed83f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b";
const std::string kPool = "vlcp-3b0c0c1e-6f5a-4b7e-9d43-0a1b2c3d4e5f";

// The probe's bodies (§2.2), in the order Docker sent them.
const std::string kRequestPool =
    R"({"AddressSpace":"VLCPLocalAddressSpace","Pool":"10.1.0.0/24","SubPool":"","Options":{},"V6":false})";
const std::string kRequestGateway =
    R"({"PoolID":")" + kPool +
    R"(","Address":"10.1.0.1","Options":{"RequestAddressType":"com.docker.network.gateway"}})";
const std::string kCreateNetwork =
    R"({"NetworkID":")" + kNid +
    R"(","Options":{"com.docker.network.enable_ipv6":false,)"
    R"("com.docker.network.generic":{"mtu":"1450","physicalnetwork":"vxlan0","subnet:allocated_start":"10.1.0.10"}},)"
    R"("IPv4Data":[{"AddressSpace":"VLCPLocalAddressSpace","Gateway":"10.1.0.1/24","Pool":"10.1.0.0/24"}],"IPv6Data":[]})";
const std::string kRequestAddress = R"({"PoolID":")" + kPool + R"(","Address":"10.1.0.7","Options":null})";
const std::string kCreateEndpoint =
    R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid +
    R"(","Interface":{"Address":"10.1.0.7/24","AddressIPv6":"","MacAddress":""},)"
    R"("Options":{"com.docker.network.endpoint.exposedports":[],"com.docker.network.portmap":[]}})";
const std::string kJoin =
    R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid +
    R"(","SandboxKey":"/run/d19/exec/netns/356aa4183b2e","Options":{"com.docker.network.endpoint.exposedports":[],"com.docker.network.portmap":[]}})";
const std::string kEndpointOnly = R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid + R"("})";
const std::string kProgram =
    R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid +
    R"(","Options":{"com.docker.network.endpoint.exposedports":[],"com.docker.network.portmap":[]}})";
const std::string kReleaseAddress = R"({"PoolID":")" + kPool + R"(","Address":"10.1.0.7"})";
const std::string kReleasePool = R"({"PoolID":")" + kPool + R"("})";
const std::string kDeleteNetwork = R"({"NetworkID":")" + kNid + R"("})";

// dispatch() that must give a Call; its request as T.
template <typename T>
T call_of(std::string_view path, std::string_view body, Method want) {
  auto d = dispatch(path, body);
  if (auto* r = std::get_if<Reply>(&d)) {
    ADD_FAILURE() << path << ": " << r->status << " " << r->body;
    return T{};
  }
  const Call& c = std::get<Call>(d);
  EXPECT_EQ(c.method, want);
  const T* t = std::get_if<T>(&c.body);
  if (!t) {
    ADD_FAILURE() << path << ": another request type";
    return T{};
  }
  return *t;
}

Reply reply_of(std::string_view path, std::string_view body) {
  auto d = dispatch(path, body);
  if (!std::holds_alternative<Reply>(d)) {
    ADD_FAILURE() << path << " gave a Call, not a Reply";
    return {};
  }
  return std::get<Reply>(d);
}

// CreateNetwork with these -o options (the probe's body otherwise).
std::string network_with(const std::string& generic) {
  return R"({"NetworkID":")" + kNid + R"(","Options":{"com.docker.network.generic":)" + generic +
         R"(},"IPv4Data":[{"AddressSpace":"VLCPLocalAddressSpace","Gateway":"10.1.0.1/24","Pool":"10.1.0.0/24"}],"IPv6Data":[]})";
}
Result<Call> decode_network(const std::string& generic) {
  return decode_request(Method::kCreateNetwork, network_with(generic));
}
NetworkOptions options_of(const std::string& generic) {
  auto c = decode_network(generic);
  if (!c) {
    ADD_FAILURE() << generic << ": " << c.error().to_string();
    return {};
  }
  return std::get<CreateNetworkRequest>(c->body).options;
}
// The 422 a CreateNetwork with these options gives.
std::string refusal(const std::string& generic) {
  auto c = decode_network(generic);
  if (c) {
    ADD_FAILURE() << generic << " was accepted";
    return "";
  }
  EXPECT_EQ(c.error().code(), Errc::kInvalidArgument) << c.error().to_string();
  EXPECT_EQ(error_reply(c.error()).status, 422);
  return c.error().message();
}

// --- the method table --------------------------------------------------------------------------

TEST(DockerMethods, EveryPathRoundTripsAndOthersAreUnknown) {
  EXPECT_EQ(kMethodCount, 21u);
  for (size_t i = 0; i < kMethodCount; ++i) {
    auto m = static_cast<Method>(i);
    EXPECT_EQ(method_from_path(method_path(m)), m);
    EXPECT_EQ("/" + std::string(method_name(m)), method_path(m));
  }
  EXPECT_EQ(method_path(Method::kCreateEndpoint), "/NetworkDriver.CreateEndpoint");
  EXPECT_EQ(method_path(Method::kIpamGetCapabilities), "/IpamDriver.GetCapabilities");
  for (const char* p : {"/NetworkDriver.Foo", "/networkdriver.join", "NetworkDriver.Join",
                        "/NetworkDriver.Join/", "", "/", "/NetworkDriver.Join?x=1"})
    EXPECT_FALSE(method_from_path(p)) << p;
}

TEST(DockerMethods, EffectsSayWhatTheModuleRuns) {
  EXPECT_EQ(method_effect(Method::kActivate), Effect::kConstant);
  EXPECT_EQ(method_effect(Method::kProgramExternalConnectivity), Effect::kConstant);
  EXPECT_EQ(method_effect(Method::kJoin), Effect::kRead);
  EXPECT_EQ(method_effect(Method::kLeave), Effect::kRead);
  EXPECT_EQ(method_effect(Method::kEndpointOperInfo), Effect::kRead);
  for (Method m :
       {Method::kCreateNetwork, Method::kDeleteNetwork, Method::kCreateEndpoint, Method::kDeleteEndpoint,
        Method::kRequestPool, Method::kReleasePool, Method::kRequestAddress, Method::kReleaseAddress})
    EXPECT_EQ(method_effect(m), Effect::kWrite) << method_name(m);
}

// --- §2.1 handshake: answered by dispatch itself -------------------------------------------------

TEST(DockerHandshake, ConstantAnswersAreTheDocumentedJson) {
  EXPECT_EQ(reply_of("/Plugin.Activate", ""),
            (Reply{200, R"({"Implements":["NetworkDriver","IpamDriver"]})"}));
  EXPECT_EQ(reply_of("/NetworkDriver.GetCapabilities", ""),
            (Reply{200, R"({"Scope":"local","ConnectivityScope":"local"})"}));
  EXPECT_EQ(reply_of("/IpamDriver.GetCapabilities", "null"),
            (Reply{200, R"({"RequiresMACAddress":false,"RequiresRequestReplay":false})"}));
  EXPECT_EQ(
      reply_of("/IpamDriver.GetDefaultAddressSpaces", "{}"),
      (Reply{
          200,
          R"({"LocalDefaultAddressSpace":"VLCPLocalAddressSpace","GlobalDefaultAddressSpace":"VLCPGlobalAddressSpace"})"}));
  auto global = dispatch("/NetworkDriver.GetCapabilities", "", PluginIdentity{"global"});
  EXPECT_EQ(std::get<Reply>(global).body, R"({"Scope":"global","ConnectivityScope":"global"})");
}

TEST(DockerHandshake, NoOpMethodsAnswerEmptyObjects) {
  for (const char* p :
       {"/NetworkDriver.ProgramExternalConnectivity", "/NetworkDriver.RevokeExternalConnectivity",
        "/NetworkDriver.DiscoverNew", "/NetworkDriver.DiscoverDelete", "/NetworkDriver.AllocateNetwork",
        "/NetworkDriver.FreeNetwork"}) {
    EXPECT_EQ(reply_of(p, kProgram), (Reply{200, "{}"})) << p;
    EXPECT_EQ(reply_of(p, R"({"DiscoveryType":1,"DiscoveryData":{"Address":"10.0.0.1"}})"),
              (Reply{200, "{}"}));
  }
  // Still JSON: a constant method with a broken body is a 400, not an answer.
  EXPECT_EQ(reply_of("/Plugin.Activate", "{").status, 400);
}

// --- §2.2 network create: RequestPool, RequestAddress (gateway), CreateNetwork --------------------

TEST(DockerGoldens, RequestPool) {
  auto r = call_of<RequestPoolRequest>("/IpamDriver.RequestPool", kRequestPool, Method::kRequestPool);
  EXPECT_EQ(r, (RequestPoolRequest{"VLCPLocalAddressSpace", "10.1.0.0/24", "", Json::object()}));
  EXPECT_EQ(encode(RequestPoolAnswer{kPool, "10.1.0.0/24"}),
            R"({"PoolID":")" + kPool + R"(","Pool":"10.1.0.0/24","Data":{}})");
  // Without --subnet: Pool "" (VLCP picks a /24 of cidrrange); a SubPool (--ip-range) is kept.
  auto any = call_of<RequestPoolRequest>(
      "/IpamDriver.RequestPool",
      R"({"AddressSpace":"VLCPLocalAddressSpace","Pool":"","SubPool":"","Options":null,"V6":false})",
      Method::kRequestPool);
  EXPECT_EQ(any.pool, "");
  auto sub = call_of<RequestPoolRequest>(
      "/IpamDriver.RequestPool",
      R"({"AddressSpace":"VLCPLocalAddressSpace","Pool":"10.1.0.0/24","SubPool":"10.1.0.128/25"})",
      Method::kRequestPool);
  EXPECT_EQ(sub.sub_pool, "10.1.0.128/25");
}

TEST(DockerGoldens, RequestAddressForTheGateway) {
  auto r =
      call_of<RequestAddressRequest>("/IpamDriver.RequestAddress", kRequestGateway, Method::kRequestAddress);
  EXPECT_EQ(r, (RequestAddressRequest{kPool, "10.1.0.1", true}));
  EXPECT_EQ(encode(RequestAddressAnswer{"10.1.0.1/24"}), R"({"Address":"10.1.0.1/24","Data":{}})");
  // No --gateway: Address "".
  auto none = call_of<RequestAddressRequest>(
      "/IpamDriver.RequestAddress",
      R"({"PoolID":")" + kPool +
          R"(","Address":"","Options":{"RequestAddressType":"com.docker.network.gateway"}})",
      Method::kRequestAddress);
  EXPECT_EQ(none, (RequestAddressRequest{kPool, "", true}));
}

TEST(DockerGoldens, CreateNetworkWithVlcpOptions) {
  auto r =
      call_of<CreateNetworkRequest>("/NetworkDriver.CreateNetwork", kCreateNetwork, Method::kCreateNetwork);
  EXPECT_EQ(r.network_id, kNid);
  EXPECT_EQ(r.address_space, "VLCPLocalAddressSpace");
  EXPECT_EQ(r.pool, "10.1.0.0/24");
  EXPECT_EQ(r.gateway, "10.1.0.1");  // the mask dropped
  EXPECT_EQ(r.options.network, Json::parse(R"({"mtu":1450,"physicalnetwork":"vxlan0"})"));
  EXPECT_EQ(r.options.subnet, Json::parse(R"({"allocated_start":"10.1.0.10"})"));
  EXPECT_FALSE(r.options.disable_gateway);
  EXPECT_EQ(r.options.attach_lognet, "");
}

// --- §2.2 docker run: RequestAddress, CreateEndpoint, Join, Program, OperInfo ---------------------

TEST(DockerGoldens, RequestAddressWithNullOptions) {
  auto r =
      call_of<RequestAddressRequest>("/IpamDriver.RequestAddress", kRequestAddress, Method::kRequestAddress);
  EXPECT_EQ(r, (RequestAddressRequest{kPool, "10.1.0.7", false}));
  EXPECT_EQ(encode(RequestAddressAnswer{"10.1.0.7/24"}), R"({"Address":"10.1.0.7/24","Data":{}})");
}

TEST(DockerGoldens, CreateEndpointAndItsAnswers) {
  auto r = call_of<CreateEndpointRequest>("/NetworkDriver.CreateEndpoint", kCreateEndpoint,
                                          Method::kCreateEndpoint);
  EXPECT_EQ(r, (CreateEndpointRequest{kNid, kEid, "10.1.0.7/24", ""}));
  // Docker gave no MAC: VLCP's goes back. Docker gave one (and the address): nothing goes back.
  EXPECT_EQ(encode(CreateEndpointAnswer{"", "02:00:0a:01:00:07"}),
            R"({"Interface":{"MacAddress":"02:00:0a:01:00:07"}})");
  EXPECT_EQ(encode(CreateEndpointAnswer{}), "{}");
  EXPECT_EQ(encode(CreateEndpointAnswer{"10.1.0.9/24", "02:00:0a:01:00:09"}),
            R"({"Interface":{"Address":"10.1.0.9/24","MacAddress":"02:00:0a:01:00:09"}})");
  auto with_mac = call_of<CreateEndpointRequest>(
      "/NetworkDriver.CreateEndpoint",
      R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid +
          R"(","Interface":{"Address":"10.1.0.7/24","AddressIPv6":"","MacAddress":"02:42:0A:01:00:07"}})",
      Method::kCreateEndpoint);
  EXPECT_EQ(with_mac.mac_address, "02:42:0A:01:00:07");
}

TEST(DockerGoldens, JoinAndItsAnswer) {
  auto r = call_of<JoinRequest>("/NetworkDriver.Join", kJoin, Method::kJoin);
  EXPECT_EQ(r, (JoinRequest{kNid, kEid, "/run/d19/exec/netns/356aa4183b2e"}));
  auto names = veth_names("vlcp", kEid);
  ASSERT_TRUE(names);
  JoinAnswer a{
      names->container, "eth", "10.1.0.1", {{"10.2.0.0/16", "10.1.0.254"}, {"10.3.0.0/16", "0.0.0.0"}}};
  EXPECT_EQ(encode(a),
            R"({"InterfaceName":{"SrcName":"vlcpd89709aed8c","DstPrefix":"eth"},"Gateway":"10.1.0.1",)"
            R"("StaticRoutes":[{"Destination":"10.2.0.0/16","RouteType":0,"NextHop":"10.1.0.254"},)"
            R"({"Destination":"10.3.0.0/16","RouteType":1}]})");
  // disablegateway and no host_routes: neither key.
  EXPECT_EQ(encode(JoinAnswer{names->container, "eth", "", {}}),
            R"({"InterfaceName":{"SrcName":"vlcpd89709aed8c","DstPrefix":"eth"}})");
}

TEST(DockerGoldens, EndpointOperInfoLeaveDeleteEndpoint) {
  EXPECT_EQ(
      call_of<EndpointRequest>("/NetworkDriver.EndpointOperInfo", kEndpointOnly, Method::kEndpointOperInfo),
      (EndpointRequest{kNid, kEid}));
  EXPECT_EQ(call_of<EndpointRequest>("/NetworkDriver.Leave", kEndpointOnly, Method::kLeave),
            (EndpointRequest{kNid, kEid}));
  EXPECT_EQ(call_of<EndpointRequest>("/NetworkDriver.DeleteEndpoint", kEndpointOnly, Method::kDeleteEndpoint),
            (EndpointRequest{kNid, kEid}));
  OperInfoAnswer info{
      Json::parse(R"({"port":"docker-x","veth":"vlcpd89709aed8","bridge":"dockerbr0","ofport":7})")};
  EXPECT_EQ(encode(info),
            R"({"Value":{"bridge":"dockerbr0","ofport":7,"port":"docker-x","veth":"vlcpd89709aed8"}})");
  EXPECT_EQ(encode(OperInfoAnswer{}), R"({"Value":{}})");
  EXPECT_EQ(encode(EmptyAnswer{}), "{}");
}

// --- §2.2 rm and network rm: ReleaseAddress, ReleasePool, DeleteNetwork --------------------------

TEST(DockerGoldens, Releases) {
  EXPECT_EQ(
      call_of<ReleaseAddressRequest>("/IpamDriver.ReleaseAddress", kReleaseAddress, Method::kReleaseAddress),
      (ReleaseAddressRequest{kPool, "10.1.0.7"}));
  EXPECT_EQ(call_of<ReleasePoolRequest>("/IpamDriver.ReleasePool", kReleasePool, Method::kReleasePool),
            (ReleasePoolRequest{kPool}));
  EXPECT_EQ(call_of<NetworkRequest>("/NetworkDriver.DeleteNetwork", kDeleteNetwork, Method::kDeleteNetwork),
            (NetworkRequest{kNid}));
}

// --- 404 / 400 -----------------------------------------------------------------------------------

TEST(DockerErrors, UnknownMethodIsTheOnly404) {
  EXPECT_EQ(reply_of("/NetworkDriver.Foo", kEndpointOnly),
            (Reply{404, R"({"Err":"unknown method /NetworkDriver.Foo"})"}));
  EXPECT_EQ(reply_of("/VolumeDriver.Create", "{}").status, 404);
#define VLCP_TEST_NOT_404(name, text) EXPECT_NE(docker_http_status(Errc::name), 404) << #name;
  VLCP_ERRC_LIST(VLCP_TEST_NOT_404)
#undef VLCP_TEST_NOT_404
}

TEST(DockerErrors, MalformedBodiesAre400NamingTheField) {
  auto status_and_err = [](std::string_view path, std::string_view body) {
    Reply r = reply_of(path, body);
    Json j = Json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("Err") && j["Err"].is_string()) << r.body;
    return std::make_pair(r.status, j.is_object() && j.contains("Err") ? j["Err"].get<std::string>() : "");
  };
  const std::string ep = "/NetworkDriver.CreateEndpoint";
  EXPECT_EQ(status_and_err(ep, R"({"NetworkID":")" + kNid + R"("})"),
            std::make_pair(400, std::string(R"(CreateEndpoint: "EndpointID" missing)")));
  EXPECT_EQ(status_and_err(ep, R"({"NetworkID":")" + kNid + R"(","EndpointID":7})"),
            std::make_pair(400, std::string(R"(CreateEndpoint: "EndpointID" is not a string)")));
  EXPECT_EQ(
      status_and_err(ep, "{\"NetworkID\":\"abc\",\"EndpointID\":\"" + kEid + "\"}"),
      std::make_pair(400, std::string(R"(CreateEndpoint: "NetworkID" "abc" is not a 64-hex-digit id)")));
  std::string upper = kEid;
  upper[0] = 'D';
  EXPECT_EQ(status_and_err(ep, R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + upper + R"("})").first,
            400);
  EXPECT_EQ(status_and_err(ep, "not json"),
            std::make_pair(400, std::string("CreateEndpoint: body is not JSON")));
  EXPECT_EQ(status_and_err(ep, "[1,2]"),
            std::make_pair(400, std::string("CreateEndpoint: body is not a JSON object")));
  EXPECT_EQ(status_and_err(ep, "").first, 400);
  EXPECT_EQ(status_and_err(ep, "{\"NetworkID\":\"\xff\xfe\"}").first, 400);  // not UTF-8
  // A body that would decode but for its depth or its size (the limits, not the fields, refuse it).
  const std::string valid_head =
      R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid + R"(","Options":{"x":)";
  EXPECT_TRUE(std::holds_alternative<Call>(dispatch(ep, valid_head + "[[[1]]]}}")));
  EXPECT_EQ(status_and_err(ep, valid_head + std::string(40, '[') + std::string(40, ']') + "}}"),
            std::make_pair(400, std::string("CreateEndpoint: body nested deeper than 32")));
  EXPECT_EQ(
      status_and_err(ep, valid_head + "\"" + std::string(kMaxBodyBytes, 'a') + "\"}}"),
      std::make_pair(400, "CreateEndpoint: body of " + std::to_string(valid_head.size() + kMaxBodyBytes + 4) +
                              " bytes (limit 262144)"));
  // Brackets inside strings do not count.
  EXPECT_TRUE(
      std::holds_alternative<Call>(dispatch(ep, valid_head + "\"" + std::string(100, '[') + "\\\"\"}}")));
  EXPECT_EQ(status_and_err(ep, R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid +
                                   R"(","Interface":{"MacAddress":"02:00"}})")
                .first,
            400);
  EXPECT_EQ(
      status_and_err(ep, R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid + R"(","Interface":"x"})")
          .first,
      400);
  EXPECT_EQ(status_and_err("/IpamDriver.RequestAddress", R"({"PoolID":"a.b","Address":""})").first, 400);
  EXPECT_EQ(
      status_and_err("/IpamDriver.RequestAddress", R"({"PoolID":")" + kPool + R"(","Address":"10.1.0"})")
          .first,
      400);
  EXPECT_EQ(status_and_err("/IpamDriver.ReleaseAddress", R"({"PoolID":")" + kPool + R"("})").first, 400);
  EXPECT_EQ(status_and_err("/IpamDriver.RequestPool", R"({"Pool":"10.1.0.0/33"})").first, 400);
  EXPECT_EQ(status_and_err("/IpamDriver.RequestPool", R"({"V6":"no"})").first, 400);
  EXPECT_EQ(status_and_err("/NetworkDriver.CreateNetwork", R"({"NetworkID":")" + kNid + R"(","IPv4Data":{}})")
                .first,
            400);
}

TEST(DockerErrors, Ipv6AndForeignAddressSpacesAreRefused422) {
  auto status = [](std::string_view path, std::string_view body) { return reply_of(path, body).status; };
  EXPECT_EQ(
      status("/IpamDriver.RequestPool", R"({"AddressSpace":"VLCPLocalAddressSpace","Pool":"","V6":true})"),
      422);
  EXPECT_EQ(
      status("/IpamDriver.RequestPool", R"({"AddressSpace":"VLCPLocalAddressSpace","Pool":"fd00::/64"})"),
      422);
  EXPECT_EQ(status("/IpamDriver.RequestPool", R"({"AddressSpace":"LocalDefault","Pool":"10.1.0.0/24"})"),
            422);
  EXPECT_EQ(status("/IpamDriver.RequestAddress", R"({"PoolID":")" + kPool + R"(","Address":"fd00::7"})"),
            422);
  EXPECT_EQ(status("/NetworkDriver.CreateEndpoint",
                   R"({"NetworkID":")" + kNid + R"(","EndpointID":")" + kEid +
                       R"(","Interface":{"Address":"10.1.0.7/24","AddressIPv6":"fd00::7/64"}})"),
            422);
  EXPECT_EQ(
      status(
          "/NetworkDriver.CreateNetwork",
          R"({"NetworkID":")" + kNid +
              R"(","Options":{"com.docker.network.enable_ipv6":true,"com.docker.network.generic":{"physicalnetwork":"p"}},)"
              R"("IPv4Data":[{"Pool":"10.1.0.0/24"}],"IPv6Data":[{"Pool":"fd00::/64"}]})"),
      422);
  EXPECT_EQ(status("/NetworkDriver.CreateNetwork",
                   R"({"NetworkID":")" + kNid +
                       R"(","Options":{"com.docker.network.generic":{"physicalnetwork":"p"}},)"
                       R"("IPv4Data":[{"Pool":"10.1.0.0/24"},{"Pool":"10.2.0.0/24"}]})"),
            422);
  EXPECT_EQ(
      status("/NetworkDriver.CreateNetwork",
             R"({"NetworkID":")" + kNid +
                 R"(","Options":{"com.docker.network.generic":{"physicalnetwork":"p"}},"IPv4Data":[]})"),
      422);
}

// --- CreateNetwork's -o options ------------------------------------------------------------------

TEST(DockerOptions, IntegersAreCheckedAndNamed) {
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","mtu":"abc"})"),
            R"(CreateNetwork: option mtu: "abc" is not an integer)");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","mtu":"40"})"),
            "CreateNetwork: option mtu: 40 is outside 68-65535");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","mtu":""})"),
            R"(CreateNetwork: option mtu: "" is not an integer)");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","mtu":"-1500"})"),
            R"(CreateNetwork: option mtu: "-1500" is not an integer)");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","vlanid":"4095"})"),
            "CreateNetwork: option vlanid: 4095 is outside 1-4094");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","vlanid":"0"})"),
            "CreateNetwork: option vlanid: 0 is outside 1-4094");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","vni":"16777216"})"),
            "CreateNetwork: option vni: 16777216 is outside 1-16777215");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","vni":"99999999999999999999"})"),
            R"(CreateNetwork: option vni: "99999999999999999999" is not an integer)");
  EXPECT_EQ(options_of(R"({"physicalnetwork":"p","vlanid":"4094","vni":"16777215","mtu":"68"})").network,
            Json::parse(R"({"physicalnetwork":"p","vlanid":4094,"vni":16777215,"mtu":68})"));
  // VLCP's back-quoted literals, and typed values from the Engine API.
  EXPECT_EQ(options_of(R"({"physicalnetwork":"p","mtu":"`1450`"})").network["mtu"], 1450);
  EXPECT_EQ(options_of(R"({"physicalnetwork":"p","mtu":1450})").network["mtu"], 1450);
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","mtu":"`'1450'`"})"),
            "CreateNetwork: option mtu: \"`'1450'`\" is not an integer");
}

TEST(DockerOptions, OtherKeysBecomeAttributesAsInVlcp) {
  // VLCP stored any other -o key on the logical network; a back-quoted value is a literal.
  auto o = options_of(R"({"physicalnetwork":"p","owner":"team-a","tags":"`['a', 'b']`","weight":"`3`"})");
  EXPECT_EQ(o.network,
            Json::parse(R"({"physicalnetwork":"p","owner":"team-a","tags":["a","b"],"weight":3})"));
  // ... but not a broken literal (VLCP kept its text), nor a name the model cannot hold, nor id.
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","tags":"`[1,`"})")
                .rfind("CreateNetwork: option tags: \"`[1,`\" is not a literal", 0),
            0u);
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","com.example.x":"1"})"),
            R"(CreateNetwork: option "com.example.x": not an option or attribute name)");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","id":"mine"})"),
            "CreateNetwork: option id: the plugin sets it");
}

TEST(DockerOptions, SubnetKeysGoToTheSubnet) {
  auto o = options_of(
      R"({"physicalnetwork":"p","subnet:allocated_start":"10.1.0.10","subnet:allocated_end":"10.1.0.200",)"
      R"("subnet:host_routes":"`[[\"10.2.0.0/16\", \"10.1.0.254\"]]`","subnet:mtu":"1400"})");
  EXPECT_EQ(o.subnet, Json::parse(R"({"allocated_start":"10.1.0.10","allocated_end":"10.1.0.200",
                                      "host_routes":[["10.2.0.0/16","10.1.0.254"]],"mtu":"1400"})"));
  EXPECT_EQ(o.network, Json::parse(R"({"physicalnetwork":"p"})"));
  EXPECT_TRUE(options_of(R"({"physicalnetwork":"p","subnet:disablegateway":"true"})").disable_gateway);
  EXPECT_TRUE(options_of(R"({"physicalnetwork":"p","subnet:disablegateway":"`True`"})").disable_gateway);
  EXPECT_FALSE(options_of(R"({"physicalnetwork":"p","subnet:disablegateway":"false"})").disable_gateway);
  EXPECT_EQ(options_of(R"({"physicalnetwork":"p","subnet:disablegateway":"true"})").subnet, Json::object());
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","subnet:disablegateway":"maybe"})"),
            R"(CreateNetwork: option subnet:disablegateway: "maybe" is not a boolean)");
  for (const char* k : {"cidr", "gateway", "id", "logicalnetwork"})
    EXPECT_EQ(refusal(std::string(R"({"physicalnetwork":"p","subnet:)") + k + R"(":"x"})"),
              std::string("CreateNetwork: option subnet:") + k +
                  ": set by Docker (--subnet, --gateway), not by an option");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","subnet:":"x"})"),
            R"(CreateNetwork: option "subnet:": not a subnet attribute name)");
}

TEST(DockerOptions, PhysicalNetworkOrAnAttachedLogicalNetwork) {
  EXPECT_EQ(refusal(R"({"mtu":"1450"})"),
            "CreateNetwork: option physicalnetwork is required (or logicalnetwork=<id> to attach)");
  EXPECT_EQ(refusal("{}"),
            "CreateNetwork: option physicalnetwork is required (or logicalnetwork=<id> to attach)");
  EXPECT_EQ(refusal(R"({"physicalnetwork":""})"),
            R"(CreateNetwork: option physicalnetwork: "" is not a non-empty string)");
  // §2.4: the second server attaches its Docker network to the first one's logical network.
  auto a = options_of(R"({"logicalnetwork":"docker-)" + kNid + R"(-lognet"})");
  EXPECT_EQ(a.attach_lognet, "docker-" + kNid + "-lognet");
  EXPECT_EQ(a.attach_subnet, "");
  EXPECT_EQ(a.network, Json::object());
  EXPECT_EQ(options_of(R"({"logicalnetwork":"blue","subnet":"blue-sub"})").attach_subnet, "blue-sub");
  // The attached network has its own settings: each is refused, by name.
  EXPECT_EQ(refusal(R"({"logicalnetwork":"blue","mtu":"1450"})"),
            R"(CreateNetwork: option "mtu": not with logicalnetwork (the network has its own))");
  EXPECT_EQ(refusal(R"({"logicalnetwork":"blue","physicalnetwork":"p"})"),
            R"(CreateNetwork: option "physicalnetwork": not with logicalnetwork (the network has its own))");
  EXPECT_EQ(
      refusal(R"({"logicalnetwork":"blue","subnet:allocated_start":"10.1.0.10"})"),
      R"(CreateNetwork: option "subnet:allocated_start": not with logicalnetwork (the network has its own))");
  EXPECT_EQ(refusal(R"({"physicalnetwork":"p","subnet":"s"})"),
            "CreateNetwork: option subnet: only with logicalnetwork=<id>");
}

// --- §2.6 status table ---------------------------------------------------------------------------

TEST(DockerStatus, EveryCodeMapsAsTheDesignSays) {
  EXPECT_EQ(docker_http_status(Errc::kOk), 200);
  EXPECT_EQ(docker_http_status(Errc::kMalformed), 400);
  EXPECT_EQ(docker_http_status(Errc::kInvalidArgument), 422);
  EXPECT_EQ(docker_http_status(Errc::kOutOfRange), 422);
  EXPECT_EQ(docker_http_status(Errc::kUnsupported), 422);
  EXPECT_EQ(docker_http_status(Errc::kAlreadyExists), 409);
  EXPECT_EQ(docker_http_status(Errc::kConflict), 409);
  EXPECT_EQ(docker_http_status(Errc::kNotFound), 409);
  EXPECT_EQ(docker_http_status(Errc::kUnavailable), 503);
  EXPECT_EQ(docker_http_status(Errc::kResourceExhausted), 503);
  EXPECT_EQ(docker_http_status(Errc::kIo), 503);
  EXPECT_EQ(docker_http_status(Errc::kPermissionDenied), 503);
  EXPECT_EQ(docker_http_status(Errc::kTimeout), 504);
  EXPECT_EQ(docker_http_status(Errc::kInternal), 500);
  // Only a broken invariant is a 500.
#define VLCP_TEST_500(name, text)                            \
  if (Errc::name != Errc::kInternal) {                       \
    EXPECT_NE(docker_http_status(Errc::name), 500) << #name; \
  }
  VLCP_ERRC_LIST(VLCP_TEST_500)
#undef VLCP_TEST_500
}

TEST(DockerStatus, ErrorRepliesCarryTheMessageInErr) {
  EXPECT_EQ(error_reply(make_error(Errc::kAlreadyExists, "address 10.1.0.7 is in use by docker-3f")),
            (Reply{409, R"({"Err":"address 10.1.0.7 is in use by docker-3f"})"}));
  EXPECT_EQ(error_reply(make_error(Errc::kUnavailable, "ObjectDB unreachable")),
            (Reply{503, R"({"Err":"ObjectDB unreachable"})"}));
  EXPECT_EQ(error_reply(make_error(Errc::kTimeout, "")), (Reply{504, R"({"Err":"timed out"})"}));
  EXPECT_EQ(error_reply(Status{}).status, 500);
  // Text that is not UTF-8 still gives JSON.
  Reply r = error_reply(make_error(Errc::kInternal, "bad \xff byte"));
  EXPECT_EQ(r.status, 500);
  EXPECT_FALSE(Json::parse(r.body, nullptr, false).is_discarded());
}

// --- ids and names -------------------------------------------------------------------------------

TEST(DockerNames, VlcpIdsAndVethNames) {
  EXPECT_EQ(lognet_id(kNid), "docker-" + kNid + "-lognet");
  EXPECT_EQ(subnet_id(kNid), "docker-" + kNid + "-subnet");
  EXPECT_EQ(port_id(kEid), "docker-" + kEid);
  EXPECT_EQ(owner_mark(kEid), "docker:" + kEid);
  EXPECT_EQ(veth_alias(kEid), "vlcp:docker:" + kEid);
  // §2.2's Join answered SrcName vlcpd89709aed8c for endpoint d89709aed8…; the host end lacks the c.
  EXPECT_EQ(veth_names("vlcp", kEid), (VethNames{"vlcpd89709aed8", "vlcpd89709aed8c"}));
  EXPECT_EQ(veth_names("v", kEid), (VethNames{"vd89709aed8", "vd89709aed8c"}));
  auto longest = veth_names("abcd", kEid);
  ASSERT_TRUE(longest);
  EXPECT_EQ(longest->container.size(), 15u);  // IFNAMSIZ - 1
  EXPECT_FALSE(veth_names("abcde", kEid));
  EXPECT_FALSE(veth_names("", kEid));
  EXPECT_FALSE(veth_names("Vl", kEid));
  EXPECT_FALSE(veth_names("vlcp", "d89709aed8"));
  EXPECT_TRUE(is_docker_id(kNid));
  EXPECT_FALSE(is_docker_id(kNid.substr(1)));
  EXPECT_FALSE(is_docker_id(kNid + "0"));
  EXPECT_TRUE(is_pool_id(kPool));
  EXPECT_FALSE(is_pool_id(""));
  EXPECT_FALSE(is_pool_id("vlcp.1"));
  EXPECT_FALSE(is_pool_id(std::string(65, 'a')));
}

// Every golden body sent to every method: a Reply or a Call, never an exception or a 500.
TEST(DockerTotality, EveryBodyAtEveryMethod) {
  const std::string bodies[] = {kRequestPool,
                                kRequestGateway,
                                kCreateNetwork,
                                kRequestAddress,
                                kCreateEndpoint,
                                kJoin,
                                kEndpointOnly,
                                kProgram,
                                kReleaseAddress,
                                kReleasePool,
                                kDeleteNetwork,
                                "",
                                "null",
                                "{}",
                                "[]",
                                "\"x\"",
                                "1e999",
                                "{\"a\":"};
  for (size_t i = 0; i < kMethodCount; ++i) {
    for (const auto& b : bodies) {
      auto d = dispatch(method_path(static_cast<Method>(i)), b);
      if (auto* r = std::get_if<Reply>(&d)) {
        EXPECT_TRUE(r->status == 200 || r->status == 400 || r->status == 422) << r->status << " " << r->body;
      }
    }
  }
}

}  // namespace
}  // namespace vlcp::containers::docker
