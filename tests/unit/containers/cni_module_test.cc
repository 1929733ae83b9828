// The cniserver module's keys (src/containers/cni_module.h, design §6.2): defaults as declared,
// each key given a wrong value is refused with an error placed at that key, and the module's
// figures for /metrics from a server's counters (design §6.3).
#include "containers/cni_module.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace vlcp::containers {
namespace {

Result<CniModuleSettings> read(const std::string& text) {
  auto config = Config::parse(text, "vlcp.conf");
  if (!config.ok()) return config.status();
  return read_cniserver_settings(*config);
}

TEST(CniModuleSettings, DefaultsAreVlcps) {
  auto s = read("");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_FALSE(s->requested);
  EXPECT_EQ(s->socket_path, "/var/run/vlcp-k8s-cni/vlcp-k8s-cni.sock");
  EXPECT_EQ(s->socket_mode, 0660u);
  EXPECT_EQ(s->server.bridge, "br0");
  EXPECT_EQ(s->server.mtu, 1500u);
  EXPECT_EQ(s->server.mac_template, "02:77:00:00:00:00");
  EXPECT_EQ(s->plug.veth_prefix, "vlcp");
  EXPECT_EQ(s->plug.ofport_wait, std::chrono::seconds(2));
  EXPECT_EQ(s->plug.step_deadline, std::chrono::seconds(10));
  EXPECT_TRUE(s->plug.tx_checksum_off);
  EXPECT_EQ(s->grace, std::chrono::seconds(30));
}

TEST(CniModuleSettings, KeysAreRead) {
  auto s = read(
      "module.cniserver.url = 'unix:///run/x/cni.sock'\nmodule.cniserver.socketmode = 0o600\n"
      "module.cniserver.bridge = 'br-int'\nmodule.cniserver.mtu = 1450\n"
      "module.cniserver.logicalnetwork = 'blue'\nmodule.cniserver.subnet = 'blue-s'\n"
      "module.cniserver.mactemplate = '02:99:00:00:00:00'\nmodule.cniserver.vethprefix = 'k8s'\n"
      "module.cniserver.ofportwait = 0.5\nmodule.cniserver.stepdeadline = 3\n"
      "module.cniserver.txchecksum = 'on'\nmodule.cniserver.grace = 0\n");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_TRUE(s->requested);
  EXPECT_EQ(s->socket_path, "/run/x/cni.sock");
  EXPECT_EQ(s->socket_mode, 0600u);
  EXPECT_EQ(s->server.bridge, "br-int");
  EXPECT_EQ(s->server.mtu, 1450u);
  EXPECT_EQ(s->server.logical_network, "blue");
  EXPECT_EQ(s->server.subnet, "blue-s");
  EXPECT_EQ(s->plug.veth_prefix, "k8s");
  EXPECT_EQ(s->plug.ofport_wait, std::chrono::milliseconds(500));
  EXPECT_FALSE(s->plug.tx_checksum_off);
  EXPECT_EQ(read("module.cniserver.url = ''\n")->socket_path, "");  // off
}

TEST(CniModuleSettings, EachWrongValueIsRefusedAtItsKey) {
  const std::vector<std::pair<std::string, std::string>> wrong = {
      {"url", "'tcp://127.0.0.1:1'"},
      {"url", "'unix://relative'"},
      {"socketmode", "0o1777"},
      {"socketmode", "'rw'"},
      {"socketmode", "0o666"},  // open to every user
      {"bridge", "''"},
      {"mtu", "67"},
      {"mtu", "70000"},
      {"logicalnetwork", "5"},
      {"subnet", "[]"},
      {"mactemplate", "'02:77'"},
      {"vethprefix", "'toolong'"},
      {"vethprefix", "'UP'"},
      {"ofportwait", "0"},
      {"stepdeadline", "-1"},
      {"txchecksum", "'maybe'"},
      {"grace", "-5"},
  };
  for (const auto& [key, value] : wrong) {
    SCOPED_TRACE(key + " = " + value);
    auto s = read("module.cniserver." + key + " = " + value + "\n");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("module.cniserver." + key), std::string::npos)
        << s.status().to_string();
  }
}

TEST(CniModuleMetrics, RequestsByCommandAndCodeAndTheirTime) {
  CniCounters c;
  c.requests[{"ADD", 0}] = 3;
  c.requests[{"ADD", 100}] = 1;
  c.seconds["ADD"] = 0.25;
  auto values = cni_board_values(c, nullptr);
  auto find = [&](const std::string& name, const std::vector<std::pair<std::string, std::string>>& labels) {
    for (const auto& v : values)
      if (v.name == name && v.labels == labels) return v.value;
    return -1.0;
  };
  EXPECT_EQ(find("vlcp_cni_requests_total", {{"command", "ADD"}, {"code", "0"}}), 3);
  EXPECT_EQ(find("vlcp_cni_requests_total", {{"command", "ADD"}, {"code", "100"}}), 1);
  EXPECT_EQ(find("vlcp_cni_request_seconds_total", {{"command", "ADD"}}), 0.25);
  EXPECT_EQ(find("vlcp_cni_requests_in_flight", {}), 0);
}

}  // namespace
}  // namespace vlcp::containers
