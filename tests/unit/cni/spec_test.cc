// The CNI layer's pure functions (src/cni/spec.h, wire.h): configurations of every spoken
// version (single and conflist), CNI_ARGS, the runtime's environment, results in each version's
// shape checked field by field, the error table and objects, and vlcp-cni's wire format.
#include "cni/spec.h"

#include <gtest/gtest.h>

#include <map>

#include "cni/wire.h"

namespace vlcp::cni {
namespace {

using json = nlohmann::json;

const Version kAll[] = {Version::k0_3_0, Version::k0_3_1, Version::k0_4_0, Version::k1_0_0, Version::k1_1_0};

int code_of(ErrorCode c) {
  return static_cast<int>(c);
}

// --- versions, commands, errors ------------------------------------------------------------------

TEST(CniVersions, EveryVersionRoundTripsAndIsListedOldestFirst) {
  std::vector<std::string_view> want = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  EXPECT_EQ(supported_versions(), want);
  for (Version v : kAll) EXPECT_EQ(parse_version(version_text(v)), v);
  EXPECT_FALSE(parse_version("0.2.0"));
  EXPECT_FALSE(parse_version("1.0"));
  EXPECT_FALSE(parse_version(""));
  EXPECT_EQ(kNewestVersion, Version::k1_1_0);
}

TEST(CniCommands, NamesPathsAndTheVersionThatIntroducedThem) {
  EXPECT_EQ(parse_command("ADD"), Command::kAdd);
  EXPECT_EQ(parse_command("GC"), Command::kGc);
  EXPECT_FALSE(parse_command("add"));
  EXPECT_EQ(command_path(Command::kCheck), "/check");
  EXPECT_EQ(command_path(Command::kVersion), "");
  EXPECT_EQ(command_from_path("/status"), Command::kStatus);
  EXPECT_FALSE(command_from_path(""));
  EXPECT_FALSE(command_from_path("/version"));
  EXPECT_EQ(command_since(Command::kCheck), Version::k0_4_0);
  EXPECT_EQ(command_since(Command::kStatus), Version::k1_1_0);
  EXPECT_EQ(command_since(Command::kGc), Version::k1_1_0);
  EXPECT_TRUE(command_needs_container(Command::kDel));
  EXPECT_FALSE(command_needs_container(Command::kGc));
}

TEST(CniErrors, TheTableGivesCodesMessagesAndStatuses) {
  EXPECT_EQ(code_of(ErrorCode::kIncompatibleVersion), 1);
  EXPECT_EQ(code_of(ErrorCode::kTryAgainLater), 11);
  EXPECT_EQ(code_of(ErrorCode::kNotAvailable), 50);
  EXPECT_EQ(code_of(ErrorCode::kInterfaceMissing), 103);
  EXPECT_EQ(error_code_from_int(7), ErrorCode::kInvalidConfig);
  EXPECT_FALSE(error_code_from_int(8));
  EXPECT_EQ(error_http_status(ErrorCode::kAddressInUse), 409);
  EXPECT_EQ(error_http_status(ErrorCode::kTryAgainLater), 503);
  EXPECT_EQ(error_http_status(ErrorCode::kStepDeadline), 504);
  EXPECT_EQ(error_http_status(ErrorCode::kInternal), 500);
  for (int c = 0; c < 200; ++c) {
    auto e = error_code_from_int(c);
    if (!e) continue;
    EXPECT_FALSE(error_msg(*e).empty()) << c;
    EXPECT_GE(error_http_status(*e), 400) << c;
  }
  Error e = make_error(ErrorCode::kInvalidConfig, "mtu is bad");
  EXPECT_EQ(e.code, 7);
  EXPECT_EQ(e.msg, "invalid network configuration");
  json j = render_error(e, "1.0.0");
  EXPECT_EQ(
      j,
      json::parse(
          R"({"cniVersion":"1.0.0","code":7,"msg":"invalid network configuration","details":"mtu is bad"})"));
  EXPECT_FALSE(render_error(make_error(ErrorCode::kInternal, ""), "1.0.0").contains("details"));
  EXPECT_EQ(parse_error(j), e);
}

TEST(CniErrors, ParsesOnlyWellFormedErrorObjects) {
  auto e = parse_error(json::parse(R"({"code": 140, "msg": "", "details": "d"})"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 140);
  EXPECT_EQ(e->msg, "error 140");  // an unknown code keeps its number
  EXPECT_EQ(parse_error(json::parse(R"({"code": 3})"))->msg, "container unknown or does not exist");
  EXPECT_FALSE(parse_error(json::parse(R"({"code": "7"})")));
  EXPECT_FALSE(parse_error(json::parse(R"({"code": 0})")));
  EXPECT_FALSE(parse_error(json::parse(R"({"code": -1})")));
  EXPECT_FALSE(parse_error(json::parse(R"({"code": 1.5})")));
  EXPECT_FALSE(parse_error(json::parse(R"({"code": 99999999999})")));
  EXPECT_FALSE(parse_error(json::parse(R"({"code": 7, "msg": 1})")));
  EXPECT_FALSE(parse_error(json::parse(R"([7])")));
}

// --- environment ---------------------------------------------------------------------------------

Environment add_env() {
  return {"ADD", "c0ffee_1.x-y", "/var/run/netns/pod1", "eth0", "", "/opt/cni/bin"};
}

void expect_env_error(const Environment& env, std::string_view mentions) {
  auto r = validate_environment(env);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 4);
  EXPECT_NE(r.error().details.find(mentions), std::string::npos) << r.error().details;
}

TEST(CniEnvironment, AcceptsWhatARuntimeSends) {
  EXPECT_EQ(*validate_environment(add_env()), Command::kAdd);
  Environment del = add_env();
  del.command = "DEL";
  del.netns = "";  // the namespace may be gone
  EXPECT_EQ(*validate_environment(del), Command::kDel);
  EXPECT_EQ(*validate_environment({"STATUS", "", "", "", "", ""}), Command::kStatus);
  EXPECT_EQ(*validate_environment({"GC", "", "", "", "", "/opt/cni/bin"}), Command::kGc);
  EXPECT_EQ(*validate_environment({"VERSION", "", "", "", "", ""}), Command::kVersion);
}

TEST(CniEnvironment, NamesTheVariableThatIsMissingOrMalformed) {
  Environment e = add_env();
  e.command = "";
  expect_env_error(e, "CNI_COMMAND");
  e.command = "ADDX";
  expect_env_error(e, "CNI_COMMAND");
  e = add_env();
  e.container_id = "";
  expect_env_error(e, "CNI_CONTAINERID");
  e.container_id = "-leading";
  expect_env_error(e, "CNI_CONTAINERID");
  e.container_id = "a/b";
  expect_env_error(e, "CNI_CONTAINERID");
  e = add_env();
  e.ifname = "";
  expect_env_error(e, "CNI_IFNAME");
  for (const char* bad : {"a23456789012345x", ".", "..", "a/b", "a:b", "a b"}) {
    e.ifname = bad;
    expect_env_error(e, "CNI_IFNAME");
  }
  e.ifname = "a23456789012345";  // 15 bytes: the longest
  EXPECT_TRUE(validate_environment(e).ok());
  e = add_env();
  e.netns = "";
  expect_env_error(e, "CNI_NETNS");
  e.command = "CHECK";
  expect_env_error(e, "CNI_NETNS");
  e = add_env();
  e.args = "IP=10.0.0.1\r\nX-Evil: 1";
  expect_env_error(e, "CNI_ARGS");
  e = add_env();
  e.path = std::string("/bin\0x", 6);
  expect_env_error(e, "CNI_PATH");
}

// --- CNI_ARGS ------------------------------------------------------------------------------------

TEST(CniArgs, KnownKeysAndTheKubernetesOnesWithIgnoreUnknown) {
  auto a = parse_args(
      "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;"
      "K8S_POD_UID=1234;IP=10.1.0.7;MAC=02:77:AB:cd:00:01;network=blue;subnet=blue-s;hostname=web;"
      "FOO=bar=baz;");
  ASSERT_TRUE(a.ok()) << a.error().details;
  EXPECT_TRUE(a->ignore_unknown);
  EXPECT_EQ(a->k8s_pod_namespace, "default");
  EXPECT_EQ(a->k8s_pod_name, "web-0");
  EXPECT_EQ(a->k8s_pod_infra_container_id, "abc");
  EXPECT_EQ(a->k8s_pod_uid, "1234");
  EXPECT_EQ(a->ip, "10.1.0.7");
  EXPECT_EQ(a->mac, "02:77:ab:cd:00:01");
  EXPECT_EQ(a->network, "blue");
  EXPECT_EQ(a->subnet, "blue-s");
  EXPECT_EQ(a->hostname, "web");
  ASSERT_EQ(a->unknown.size(), 1u);
  EXPECT_EQ(a->unknown[0], (std::pair<std::string, std::string>{"FOO", "bar=baz"}));
}

TEST(CniArgs, EmptyVlcpSpellingsAndPrefixes) {
  EXPECT_EQ(*parse_args(""), Args{});
  EXPECT_EQ(*parse_args(";;"), Args{});
  EXPECT_EQ(parse_args("ip=10.2.0.9")->ip, "10.2.0.9");
  EXPECT_EQ(parse_args("IP=10.2.0.9/24")->ip, "10.2.0.9/24");
  EXPECT_EQ(parse_args("IgnoreUnknown=true;X=1")->unknown.size(), 1u);
  // The Kubernetes keys are known: no IgnoreUnknown needed for them.
  EXPECT_TRUE(parse_args("K8S_POD_NAMESPACE=a;K8S_POD_NAME=b").ok());
}

TEST(CniArgs, RefusesWhatItCannotUse) {
  for (const char* bad :
       {"FOO=bar", "IgnoreUnknown=0;FOO=bar", "novalue", "=x", "IP=10.1.0.300", "IP=fe80::1",
        "IP=10.1.0.1/33", "IP=", "MAC=02:77:00:00:00", "MAC=zz:77:00:00:00:01", "IgnoreUnknown=yes"}) {
    auto a = parse_args(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.error().code, 4) << bad;
    EXPECT_NE(a.error().details.find("CNI_ARGS"), std::string::npos) << a.error().details;
  }
}

// --- configuration -------------------------------------------------------------------------------

Expected<NetConf> conf(const std::string& text, Command c = Command::kAdd) {
  return parse_config(text, c);
}

void expect_conf_error(const std::string& text, ErrorCode code, std::string_view mentions,
                       Command c = Command::kAdd) {
  auto n = conf(text, c);
  ASSERT_FALSE(n.ok()) << text;
  EXPECT_EQ(n.error().code, code_of(code)) << text << ": " << n.error().details;
  EXPECT_NE(n.error().details.find(mentions), std::string::npos) << n.error().details;
}

TEST(CniConfig, SingleConfigurationWithVlcpKeys) {
  auto n = conf(R"({"cniVersion": "1.0.0", "name": "blue", "type": "vlcp-cni",
    "socket": "/run/vlcp/cni.sock", "logicalnetwork": "lnet-blue", "subnet": "snet-blue", "mtu": 1450,
    "timeout": 2.5, "somethingElse": {"ignored": true},
    "runtimeConfig": {"ips": ["10.1.0.8/24"], "mac": "02:77:00:00:00:AA", "portMappings": []}})");
  ASSERT_TRUE(n.ok()) << n.error().details;
  EXPECT_EQ(n->version, Version::k1_0_0);
  EXPECT_EQ(n->cni_version, "1.0.0");
  EXPECT_EQ(n->name, "blue");
  EXPECT_EQ(n->type, "vlcp-cni");
  EXPECT_EQ(n->socket, "/run/vlcp/cni.sock");
  EXPECT_EQ(n->logical_network, "lnet-blue");
  EXPECT_EQ(n->subnet, "snet-blue");
  EXPECT_EQ(n->mtu, 1450);
  EXPECT_DOUBLE_EQ(n->timeout_seconds, 2.5);
  EXPECT_EQ(n->runtime_ips, std::vector<std::string>{"10.1.0.8/24"});
  EXPECT_EQ(n->runtime_mac, "02:77:00:00:00:aa");
  EXPECT_FALSE(n->prev_result);
}

TEST(CniConfig, DefaultsAreVlcps) {
  auto n = conf(R"({"cniVersion": "0.3.1", "name": "k8s", "type": "vlcp-cni"})");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->version, Version::k0_3_1);
  EXPECT_EQ(n->socket, "/var/run/vlcp-k8s-cni/vlcp-k8s-cni.sock");
  EXPECT_DOUBLE_EQ(n->timeout_seconds, 60);
  EXPECT_EQ(n->logical_network, "");
  EXPECT_FALSE(n->mtu);
}

TEST(CniConfig, EverySpokenVersionIsAccepted) {
  for (Version v : kAll) {
    auto n =
        conf(R"({"cniVersion": ")" + std::string(version_text(v)) + R"(", "name": "n", "type": "vlcp-cni"})");
    ASSERT_TRUE(n.ok()) << version_text(v);
    EXPECT_EQ(n->version, v);
  }
}

TEST(CniConfig, ConflistOfVersion1_1PicksOurPluginAndTheNewestCommonVersion) {
  auto n = conf(R"({"cniVersion": "1.0.0", "cniVersions": ["0.4.0", "1.1.0", "9.9.9"], "name": "red",
    "plugins": [{"type": "portmap", "socket": 5}, {"type": "vlcp-cni", "subnet": "red-s", "mtu": 1400},
                {"type": "vlcp", "subnet": "second"}]})");
  ASSERT_TRUE(n.ok()) << n.error().details;
  EXPECT_EQ(n->version, Version::k1_1_0);
  EXPECT_EQ(n->cni_version, "1.1.0");
  EXPECT_EQ(n->name, "red");
  EXPECT_EQ(n->subnet, "red-s");
  EXPECT_EQ(n->mtu, 1400);
  // cniVersions with nothing spoken falls back to cniVersion; without one it is code 1.
  EXPECT_EQ(
      conf(R"({"cniVersion": "0.4.0", "cniVersions": ["9.0.0"], "name": "n", "type": "vlcp"})")->version,
      Version::k0_4_0);
  expect_conf_error(R"({"cniVersions": ["9.0.0"], "name": "n", "type": "vlcp"})",
                    ErrorCode::kIncompatibleVersion, "cniVersions");
  expect_conf_error(R"({"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "bridge"}]})",
                    ErrorCode::kInvalidConfig, "vlcp-cni");
  expect_conf_error(R"({"cniVersion": "1.0.0", "name": "n", "plugins": {"type": "vlcp"}})",
                    ErrorCode::kInvalidConfig, "plugins");
  expect_conf_error(R"({"cniVersion": "1.0.0", "name": "n", "plugins": [1, {"type": "vlcp"}]})",
                    ErrorCode::kInvalidConfig, "plugins");
}

TEST(CniConfig, VersionErrors) {
  expect_conf_error(R"({"cniVersion": "0.2.0", "name": "n"})", ErrorCode::kIncompatibleVersion, "0.2.0");
  expect_conf_error(R"({"name": "n"})", ErrorCode::kInvalidConfig, "cniVersion");
  expect_conf_error(R"({"cniVersion": 1, "name": "n"})", ErrorCode::kInvalidConfig, "cniVersion");
  expect_conf_error(R"({"cniVersion": "0.3.1", "name": "n", "prevResult": {}})",
                    ErrorCode::kIncompatibleVersion, "CHECK", Command::kCheck);
  expect_conf_error(R"({"cniVersion": "1.0.0", "name": "n"})", ErrorCode::kIncompatibleVersion, "STATUS",
                    Command::kStatus);
  expect_conf_error(R"({"cniVersion": "1.0.0", "name": "n"})", ErrorCode::kIncompatibleVersion, "GC",
                    Command::kGc);
  EXPECT_TRUE(conf(R"({"cniVersion": "1.1.0", "name": "n"})", Command::kStatus).ok());
}

TEST(CniConfig, DecodeAndValueErrors) {
  expect_conf_error("", ErrorCode::kDecodeFailed, "not JSON");
  expect_conf_error("{", ErrorCode::kDecodeFailed, "not JSON");
  expect_conf_error("[1]", ErrorCode::kDecodeFailed, "object");
  expect_conf_error("\"\xff\"", ErrorCode::kDecodeFailed, "JSON");
  expect_conf_error(std::string(100, '[') + std::string(100, ']'), ErrorCode::kDecodeFailed, "deeper");
  expect_conf_error(std::string(kMaxJsonBytes + 1, ' '), ErrorCode::kDecodeFailed, "larger");
  expect_conf_error(R"({"cniVersion": "1.0.0"})", ErrorCode::kInvalidConfig, "name");
  expect_conf_error(R"({"cniVersion": "1.0.0", "name": ["x"]})", ErrorCode::kInvalidConfig, "name");
  const std::string head = R"({"cniVersion": "1.0.0", "name": "n", )";
  expect_conf_error(head + R"("mtu": "abc"})", ErrorCode::kInvalidConfig, "\"mtu\" \"abc\"");
  expect_conf_error(head + R"("mtu": 67})", ErrorCode::kInvalidConfig, "mtu");
  expect_conf_error(head + R"("mtu": 65536})", ErrorCode::kInvalidConfig, "mtu");
  expect_conf_error(head + R"("mtu": 1500.5})", ErrorCode::kInvalidConfig, "mtu");
  expect_conf_error(head + R"("socket": "relative.sock"})", ErrorCode::kInvalidConfig, "socket");
  expect_conf_error(head + R"("socket": "/)" + std::string(107, 'a') + R"("})", ErrorCode::kInvalidConfig,
                    "socket");
  expect_conf_error(head + R"("timeout": 0})", ErrorCode::kInvalidConfig, "timeout");
  expect_conf_error(head + R"("timeout": "5"})", ErrorCode::kInvalidConfig, "timeout");
  expect_conf_error(head + R"("logicalnetwork": 5})", ErrorCode::kInvalidConfig, "logicalnetwork");
  expect_conf_error(head + R"("subnet": {}})", ErrorCode::kInvalidConfig, "subnet");
  expect_conf_error(head + R"("runtimeConfig": {"ips": ["nope"]}})", ErrorCode::kInvalidConfig, "ips");
  expect_conf_error(head + R"("runtimeConfig": {"mac": "02:00"}})", ErrorCode::kInvalidConfig, "mac");
  expect_conf_error(head + R"("runtimeConfig": 1})", ErrorCode::kInvalidConfig, "runtimeConfig");
  expect_conf_error(head + R"("prevResult": {"ips": [{"address": "10.0.0.1"}]}})", ErrorCode::kInvalidConfig,
                    "prevResult");
}

TEST(CniConfig, CheckNeedsPrevResultAndGetsItParsed) {
  const std::string base = R"({"cniVersion": "1.0.0", "name": "n", "type": "vlcp-cni")";
  expect_conf_error(base + "}", ErrorCode::kInvalidConfig, "prevResult", Command::kCheck);
  auto n = conf(base + R"(, "prevResult": {"cniVersion": "1.0.0",
      "interfaces": [{"name": "vlcp1a2b"}, {"name": "eth0", "mac": "02:77:00:00:00:01", "sandbox": "/run/netns/p"}],
      "ips": [{"address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1}],
      "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}]}})",
                Command::kCheck);
  ASSERT_TRUE(n.ok()) << n.error().details;
  ASSERT_TRUE(n->prev_result);
  ASSERT_EQ(n->prev_result->interfaces.size(), 2u);
  EXPECT_EQ(n->prev_result->interfaces[1].sandbox, "/run/netns/p");
  EXPECT_EQ(n->prev_result->ips[0].address, "10.1.0.5/24");
  EXPECT_EQ(n->prev_result->ips[0].interface, 1);
  EXPECT_EQ(n->prev_result->routes[0].gw, "10.1.0.1");
  // DEL takes a prevResult too (and does not need one).
  EXPECT_TRUE(conf(base + "}", Command::kDel).ok());
}

TEST(CniConfig, GcValidAttachmentsUnderEitherKey) {
  for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
    auto n =
        conf(std::string(R"({"cniVersion": "1.1.0", "name": "n", ")") + key +
                 R"(": [{"containerID": "a", "ifname": "eth0"}, {"containerID": "b", "ifname": "net1"}]})",
             Command::kGc);
    ASSERT_TRUE(n.ok()) << n.error().details;
    EXPECT_EQ(n->valid_attachments, (std::vector<Attachment>{{"a", "eth0"}, {"b", "net1"}}));
  }
  expect_conf_error(
      R"({"cniVersion": "1.1.0", "name": "n", "cni.dev/valid-attachments": [{"containerID": "a"}]})",
      ErrorCode::kInvalidConfig, "valid-attachments", Command::kGc);
  expect_conf_error(R"({"cniVersion": "1.1.0", "name": "n", "cni.dev/valid-attachments": "a"})",
                    ErrorCode::kInvalidConfig, "valid-attachments", Command::kGc);
}

// --- results -------------------------------------------------------------------------------------

AddResult sample_result() {
  AddResult r;
  Interface host{"vlcp1a2b3c4d", "aa:bb:cc:00:00:01", "", 1450, "", ""};
  Interface pod{"eth0", "02:77:00:00:00:05", "/var/run/netns/pod1", 1450, "/run/vhost.sock", "0000:00:1f.0"};
  r.interfaces = {host, pod};
  r.ips = {{"10.1.0.5/24", "10.1.0.1", 1}, {"fd00::5/64", "", 1}};
  Route def{"0.0.0.0/0", "10.1.0.1", {}, {}, {}, {}, {}};
  Route host_route{"10.9.0.0/16", "10.1.0.254", 1400, 1360, 10, 100, 0};
  r.routes = {def, host_route};
  r.dns = {{"10.1.0.2", "10.1.0.3"}, "example.org", {"example.org", "svc.example.org"}, {"ndots:5"}};
  return r;
}

TEST(CniResult, Version1_1HasEveryField) {
  json j = render_result(sample_result(), Version::k1_1_0);
  EXPECT_EQ(j["cniVersion"], "1.1.0");
  ASSERT_EQ(j["interfaces"].size(), 2u);
  EXPECT_EQ(j["interfaces"][0],
            json::parse(R"({"name": "vlcp1a2b3c4d", "mac": "aa:bb:cc:00:00:01", "mtu": 1450})"));
  EXPECT_EQ(j["interfaces"][1], json::parse(R"({"name": "eth0", "mac": "02:77:00:00:00:05",
    "sandbox": "/var/run/netns/pod1", "mtu": 1450, "socketPath": "/run/vhost.sock", "pciID": "0000:00:1f.0"})"));
  EXPECT_EQ(j["ips"][0], json::parse(R"({"address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1})"));
  EXPECT_EQ(j["ips"][1], json::parse(R"({"address": "fd00::5/64", "interface": 1})"));
  EXPECT_EQ(j["routes"][0], json::parse(R"({"dst": "0.0.0.0/0", "gw": "10.1.0.1"})"));
  EXPECT_EQ(j["routes"][1],
            json::parse(R"({"dst": "10.9.0.0/16", "gw": "10.1.0.254", "mtu": 1400, "advmss": 1360,
    "priority": 10, "table": 100, "scope": 0})"));
  EXPECT_EQ(j["dns"], json::parse(R"({"nameservers": ["10.1.0.2", "10.1.0.3"], "domain": "example.org",
    "search": ["example.org", "svc.example.org"], "options": ["ndots:5"]})"));
  EXPECT_EQ(j.size(), 5u);
}

TEST(CniResult, Version1_0LeavesOutThe1_1Fields) {
  json j = render_result(sample_result(), Version::k1_0_0);
  EXPECT_EQ(j["cniVersion"], "1.0.0");
  EXPECT_EQ(j["interfaces"][0], json::parse(R"({"name": "vlcp1a2b3c4d", "mac": "aa:bb:cc:00:00:01"})"));
  EXPECT_EQ(j["interfaces"][1],
            json::parse(R"({"name": "eth0", "mac": "02:77:00:00:00:05", "sandbox": "/var/run/netns/pod1"})"));
  EXPECT_EQ(j["ips"][0], json::parse(R"({"address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1})"));
  EXPECT_EQ(j["routes"][1], json::parse(R"({"dst": "10.9.0.0/16", "gw": "10.1.0.254"})"));
  EXPECT_EQ(j["dns"]["nameservers"], json::parse(R"(["10.1.0.2", "10.1.0.3"])"));
}

TEST(CniResult, Versions0_3And0_4PutTheIpVersionInEachIp) {
  for (Version v : {Version::k0_3_0, Version::k0_3_1, Version::k0_4_0}) {
    json j = render_result(sample_result(), v);
    EXPECT_EQ(j["cniVersion"], version_text(v));
    EXPECT_EQ(
        j["ips"][0],
        json::parse(R"({"version": "4", "address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1})"));
    EXPECT_EQ(j["ips"][1], json::parse(R"({"version": "6", "address": "fd00::5/64", "interface": 1})"));
    EXPECT_EQ(
        j["interfaces"][1],
        json::parse(R"({"name": "eth0", "mac": "02:77:00:00:00:05", "sandbox": "/var/run/netns/pod1"})"));
    EXPECT_EQ(j["routes"][1], json::parse(R"({"dst": "10.9.0.0/16", "gw": "10.1.0.254"})"));
  }
  // And 1.x never has it.
  EXPECT_FALSE(render_result(sample_result(), Version::k1_0_0)["ips"][0].contains("version"));
}

TEST(CniResult, EmptyPartsAreLeftOut) {
  AddResult r;
  r.ips = {{"10.1.0.5/24", "", std::nullopt}};
  json j = render_result(r, Version::k1_0_0);
  EXPECT_EQ(j, json::parse(R"({"cniVersion": "1.0.0", "ips": [{"address": "10.1.0.5/24"}]})"));
}

TEST(CniResult, ParsesWhatItRendersInEveryVersion) {
  for (Version v : kAll) {
    auto back = parse_result(render_result(sample_result(), v));
    ASSERT_TRUE(back.ok()) << version_text(v) << ": " << back.error().details;
    AddResult want = sample_result();
    if (v < Version::k1_1_0) {
      for (auto& i : want.interfaces) i.mtu.reset(), i.socket_path.clear(), i.pci_id.clear();
      for (auto& r : want.routes)
        r.mtu.reset(), r.advmss.reset(), r.priority.reset(), r.table.reset(), r.scope.reset();
    }
    EXPECT_EQ(*back, want) << version_text(v);
  }
}

TEST(CniResult, RefusesMalformedResults) {
  for (const char* bad : {
           R"([])",
           R"({"interfaces": {}})",
           R"({"interfaces": [{"mac": "x"}]})",
           R"({"interfaces": [{"name": 1}]})",
           R"({"ips": [{"address": "10.0.0.1"}]})",
           R"({"ips": [{"address": "10.0.0.1/24", "version": "6"}]})",
           R"({"ips": [{"address": "10.0.0.1/24", "interface": 0}]})",
           R"({"interfaces": [{"name": "a"}], "ips": [{"address": "10.0.0.1/24", "interface": -1}]})",
           R"({"ips": [{"address": "10.0.0.1/24", "gateway": "x"}]})",
           R"({"routes": [{"dst": "0.0.0.0"}]})",
           R"({"routes": [{"dst": "0.0.0.0/0", "gw": 5}]})",
           R"({"routes": [{"dst": "0.0.0.0/0", "mtu": "1400"}]})",
           R"({"dns": []})",
           R"({"dns": {"nameservers": "10.0.0.1"}})",
       }) {
    auto r = parse_result(json::parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, 6) << bad;
  }
}

TEST(CniVersionCommand, AnswersTheAskedVersionAndTheSupportedOnes) {
  EXPECT_EQ(
      render_version_result("0.4.0"),
      json::parse(
          R"({"cniVersion": "0.4.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]})"));
  EXPECT_EQ(render_version_result("")["cniVersion"], "1.1.0");
  EXPECT_EQ(*parse_version_request(""), "1.1.0");
  EXPECT_EQ(*parse_version_request(" \n"), "1.1.0");
  EXPECT_EQ(*parse_version_request(R"({"cniVersion": "1.0.0"})"), "1.0.0");
  EXPECT_EQ(*parse_version_request(R"({})"), "1.1.0");
  EXPECT_EQ(parse_version_request("nope").error().code, 6);
  EXPECT_EQ(parse_version_request(R"({"cniVersion": 1})").error().code, 6);
}

TEST(CniAddresses, Helpers) {
  EXPECT_TRUE(is_cidr("10.0.0.0/8"));
  EXPECT_TRUE(is_cidr("fd00::/8"));
  EXPECT_FALSE(is_cidr("10.0.0.0"));
  EXPECT_FALSE(is_cidr("10.0.0.0/"));
  EXPECT_FALSE(is_cidr("10.0.0.0/-1"));
  EXPECT_FALSE(is_cidr("10.0.0.0/1x"));
  EXPECT_FALSE(is_cidr("fd00::/129"));
  EXPECT_TRUE(is_ipv6_cidr("fd00::1/64"));
  EXPECT_FALSE(is_ipv6_cidr("10.0.0.1/24"));
  EXPECT_TRUE(is_ip_address("fe80::1"));
  EXPECT_FALSE(is_ip_address("fe80::1/64"));
  EXPECT_TRUE(is_mac("02:77:AA:bb:00:01"));
  EXPECT_FALSE(is_mac("02-77-AA-bb-00-01"));
}

// --- wire ----------------------------------------------------------------------------------------

TEST(CniWire, EncodesTheRequestVlcpsShimSends) {
  Request r{Command::kAdd, add_env(), R"({"cniVersion":"1.0.0"})"};
  r.env.args = "IgnoreUnknown=1;K8S_POD_NAME=a";
  EXPECT_EQ(encode_request(r),
            "POST /add HTTP/1.1\r\nHost: vlcp\r\nX-CNI-ContainerID: c0ffee_1.x-y\r\n"
            "X-CNI-Netns: /var/run/netns/pod1\r\nX-CNI-IfName: eth0\r\nX-CNI-Args: "
            "IgnoreUnknown=1;K8S_POD_NAME=a\r\n"
            "X-CNI-Path: /opt/cni/bin\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
            "Content-Length: 22\r\nConnection: close\r\n\r\n{\"cniVersion\":\"1.0.0\"}");
}

// The server's view: headers by case-insensitive name, as an HTTP server gives them.
HeaderLookup headers(std::map<std::string, std::string> m) {
  return [m = std::move(m)](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : m)
      if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return std::nullopt;
  };
}

TEST(CniWire, DecodesTheRequestOnVlcpdsSide) {
  auto r = decode_request(
      "POST", "/del?x=1",
      headers({{"x-cni-containerid", "abc"}, {"X-CNI-IFNAME", "eth1"}, {"X-CNI-Args", "IP=1.2.3.4"}}), "{}");
  ASSERT_TRUE(r.ok()) << r.error().details;
  EXPECT_EQ(r->command, Command::kDel);
  EXPECT_EQ(r->env.command, "DEL");
  EXPECT_EQ(r->env.container_id, "abc");
  EXPECT_EQ(r->env.ifname, "eth1");
  EXPECT_EQ(r->env.netns, "");
  EXPECT_EQ(r->env.args, "IP=1.2.3.4");
  EXPECT_EQ(r->body, "{}");
  auto add =
      decode_request("POST", "/add", headers({{"X-CNI-ContainerID", "abc"}, {"X-CNI-IfName", "eth0"}}), "{}");
  ASSERT_FALSE(add.ok());
  EXPECT_EQ(add.error().code, 4);
  EXPECT_NE(add.error().details.find("CNI_NETNS"), std::string::npos);
  EXPECT_EQ(decode_request("GET", "/add", headers({}), "").error().code, 4);
  EXPECT_EQ(decode_request("POST", "/nope", headers({}), "").error().code, 4);
  EXPECT_TRUE(decode_request("POST", "/status", headers({}), "").ok());
}

TEST(CniWire, AnswersCarryTheTablesStatus) {
  EXPECT_EQ(answer_ok(), (Answer{200, "application/json", ""}));
  Answer a = answer_result(sample_result(), Version::k0_4_0);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(json::parse(a.body), render_result(sample_result(), Version::k0_4_0));
  Answer e = answer_error(make_error(ErrorCode::kAddressInUse, "10.1.0.5 is taken"), "1.0.0");
  EXPECT_EQ(e.status, 409);
  EXPECT_EQ(json::parse(e.body)["code"], 101);
  EXPECT_EQ(answer_error(Error{140, "x", ""}, "1.0.0").status, 500);
  EXPECT_EQ(answer_error(make_error(ErrorCode::kTryAgainLater, ""), "1.0.0").status, 503);
}

TEST(CniWire, ParsesAnswersWholeAndInPieces) {
  const std::string whole =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n{}\r\n";
  for (size_t n = 0; n < whole.size(); ++n) {
    AnswerParse p = parse_http_answer(std::string_view(whole).substr(0, n), false);
    EXPECT_EQ(p.state, AnswerState::kNeedMore) << n;
    EXPECT_EQ(parse_http_answer(std::string_view(whole).substr(0, n), true).state, AnswerState::kBad) << n;
  }
  AnswerParse p = parse_http_answer(whole, false);
  ASSERT_EQ(p.state, AnswerState::kDone);
  EXPECT_EQ(p.answer.status, 200);
  EXPECT_EQ(p.answer.body, "{}\r\n");

  const std::string chunked =
      "HTTP/1.1 409 Conflict\r\ntransfer-encoding: "
      "chunked\r\n\r\n3;ext=1\r\n{\"a\r\n2\r\n\":\r\n2\r\n1}\r\n0\r\n\r\n";
  for (size_t n = 0; n < chunked.size(); ++n)
    EXPECT_EQ(parse_http_answer(std::string_view(chunked).substr(0, n), false).state, AnswerState::kNeedMore)
        << n;
  p = parse_http_answer(chunked, false);
  ASSERT_EQ(p.state, AnswerState::kDone) << p.error;
  EXPECT_EQ(p.answer.status, 409);
  EXPECT_EQ(p.answer.body, "{\"a\":1}");

  const std::string to_close = "HTTP/1.0 503 Service Unavailable\r\n\r\nbusy";
  EXPECT_EQ(parse_http_answer(to_close, false).state, AnswerState::kNeedMore);
  p = parse_http_answer(to_close, true);
  ASSERT_EQ(p.state, AnswerState::kDone);
  EXPECT_EQ(p.answer.status, 503);
  EXPECT_EQ(p.answer.body, "busy");
}

TEST(CniWire, RefusesMalformedOrOversizedAnswers) {
  for (const std::string& bad : {
           std::string("HTTP/2 200 OK\r\n\r\n"),
           std::string("HTTP/1.1 20x OK\r\n\r\n"),
           std::string("HTTP/1.1 099 OK\r\n\r\n"),
           std::string("SSH-2.0-OpenSSH\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
           std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n"),
           std::string("HTTP/1.1 200 OK\r\nnocolon\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nX: ") + std::string(kMaxAnswerHeaderBytes, 'a') + "\r\n\r\n",
           std::string(kMaxAnswerHeaderBytes + 1, 'a'),
       }) {
    EXPECT_EQ(parse_http_answer(bad, false).state, AnswerState::kBad) << bad.substr(0, 80);
  }
  std::string huge = "HTTP/1.1 200 OK\r\n\r\n" + std::string(kMaxAnswerBodyBytes + 1, 'x');
  EXPECT_EQ(parse_http_answer(huge, false).state, AnswerState::kBad);
}

json printed(const Outcome& o) {
  return json::parse(o.stdout_text);
}

TEST(CniWire, OutcomeOfEachAnswer) {
  const std::string result = json_text(render_result(sample_result(), Version::k1_0_0));
  Outcome add = outcome_from_answer(Command::kAdd, "1.0.0", {200, result});
  EXPECT_EQ(add.exit_code, 0);
  EXPECT_EQ(printed(add), json::parse(result));
  EXPECT_EQ(add.stdout_text.back(), '\n');

  Outcome garbage = outcome_from_answer(Command::kAdd, "1.0.0", {200, "<html>"});
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_EQ(printed(garbage)["code"], 6);
  EXPECT_EQ(printed(outcome_from_answer(Command::kAdd, "1.0.0", {200, R"({"ips": 1})"}))["code"], 6);

  for (Command c : {Command::kDel, Command::kCheck, Command::kStatus, Command::kGc})
    EXPECT_EQ(outcome_from_answer(c, "1.1.0", {200, ""}), (Outcome{0, ""})) << command_text(c);

  Outcome inuse = outcome_from_answer(
      Command::kAdd, "0.4.0",
      {409, R"({"cniVersion": "1.1.0", "code": 101, "msg": "address in use", "details": "d"})"});
  EXPECT_EQ(inuse.exit_code, 1);
  EXPECT_EQ(printed(inuse),
            json::parse(R"({"cniVersion": "0.4.0", "code": 101, "msg": "address in use", "details": "d"})"));

  // A DEL of what is already gone succeeds; an ADD told the same fails.
  const HttpAnswer gone{409, R"({"code": 3, "msg": "container unknown or does not exist"})"};
  EXPECT_EQ(outcome_from_answer(Command::kDel, "1.0.0", gone), (Outcome{0, ""}));
  EXPECT_EQ(printed(outcome_from_answer(Command::kCheck, "1.0.0", gone))["code"], 3);

  EXPECT_EQ(printed(outcome_from_answer(Command::kAdd, "1.0.0", {503, ""}))["code"], 11);
  EXPECT_EQ(printed(outcome_from_answer(Command::kStatus, "1.1.0", {503, "down"}))["code"], 50);
  EXPECT_EQ(printed(outcome_from_answer(Command::kAdd, "1.0.0", {504, ""}))["code"], 110);
  Outcome html = outcome_from_answer(Command::kDel, "1.0.0", {500, "<html>oops</html>"});
  EXPECT_EQ(html.exit_code, 1);
  EXPECT_EQ(printed(html)["code"], 111);
  EXPECT_EQ(printed(html)["details"], "vlcpd answered HTTP 500: <html>oops</html>");
}

TEST(CniWire, UnreachableIsTryAgainLaterExceptForStatus) {
  for (Command c : {Command::kAdd, Command::kDel, Command::kCheck, Command::kGc}) {
    Outcome o = outcome_unreachable(c, "1.0.0", "connect: refused");
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_EQ(printed(o), json::parse(R"({"cniVersion": "1.0.0", "code": 11, "msg": "try again later",
      "details": "vlcpd: connect: refused"})"));
  }
  EXPECT_EQ(printed(outcome_unreachable(Command::kStatus, "1.1.0", "x"))["code"], 50);
}

TEST(CniJson, TextNeverThrowsOnInvalidUtf8) {
  json j = std::string("\xff\xfe");
  EXPECT_EQ(json_text(j), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_FALSE(parse_json("{\"a\": \"\xff\"}"));
  EXPECT_TRUE(parse_json(std::string(64, '[') + std::string(64, ']')));
  EXPECT_FALSE(parse_json(std::string(65, '[') + std::string(65, ']')));
}

}  // namespace
}  // namespace vlcp::cni
