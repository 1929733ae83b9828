// The cniserver module's keys (src/containers/cni_module.h, design §6.2): defaults as declared,
// each key given a wrong value is refused with an error placed at that key, the module's
// figures for /metrics from a server's counters (design §6.3), and its WebAPI cniserver/status
// from a running module (an embedded ObjectDB, no OVSDB client: the start-up clean-up waits).
#include "containers/cni_module.h"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "db/embedded.h"

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

TEST(CniServerApi, StatusOfTheRunningModule) {
  using namespace std::chrono_literals;
  auto dir = std::filesystem::temp_directory_path() / ("vlcp-cni-module-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  RealClock clock;
  io::ControlLoop loop(clock);
  auto store = db::EmbeddedStore::open(loop, db::EmbeddedOptions{(dir / "db").string(), 64, true});
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto objectdb = std::make_shared<db::ObjectDb>(loop, **store);
  const std::string sock = (dir / "cni.sock").string();
  auto settings = read("module.cniserver.url = 'unix://" + sock + "'\nmodule.cniserver.socketmode = 0o600\n");
  ASSERT_TRUE(settings.ok()) << settings.status().to_string();

  CniServerModule* loaded = nullptr;
  api::WebApi webapi;
  add_cniserver_api(webapi, [&loaded] { return loaded; });
  auto spin = [&](const std::function<bool()>& until) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!until() && std::chrono::steady_clock::now() < deadline) {
      if (loop.context().stopped()) loop.context().restart();
      loop.context().poll();
      if (!loop.run_pending()) std::this_thread::sleep_for(1ms);
    }
  };
  auto status = [&]() -> std::pair<int, Json> {
    std::optional<api::HttpResponse> got;
    webapi.handle(api::HttpRequest{"GET", "/cniserver/status", ""}, [&got](api::HttpResponse r) { got = r; });
    spin([&] { return got.has_value(); });
    if (!got) return {0, Json()};
    return {got->status, Json::parse(got->body, nullptr, false)};
  };
  EXPECT_EQ(status().first, 503);  // not loaded

  CniServerDeps deps{[&objectdb] { return objectdb; }, []() -> ovsdb::OvsdbClient* { return nullptr; },
                     nullptr};
  CniServerModule module(loop, *settings, deps);
  ASSERT_TRUE(module.start().ok());
  loaded = &module;
  auto waiting = [&] {
    auto [code, j] = status();
    return j.is_object() && j["result"]["cleanup"].value("waiting_for", "") != "";
  };
  spin(waiting);
  auto [code, j] = status();
  ASSERT_EQ(code, 200) << j;
  const Json& r = j["result"];
  EXPECT_EQ(r["socket"], sock);
  EXPECT_EQ(r["bridge"], "br0");
  EXPECT_EQ(r["running"], true);
  EXPECT_EQ(r["attachments"]["count"], 0);
  EXPECT_EQ(r["attachments"]["list"], Json::object());
  EXPECT_EQ(r["last_gc"], Json::object());
  EXPECT_EQ(r["cleanup"]["waiting_for"], "module ovsdbmanager is not running") << r;
  EXPECT_TRUE(std::filesystem::exists(sock));
  module.stop();
  loaded = nullptr;
  EXPECT_FALSE(std::filesystem::exists(sock));
  objectdb.reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vlcp::containers
