// Operators' surface: settings that refuse to expose without a secret, introspection routing,
// the HTTP server with its bearer token, and the metrics exposition.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "api/http.h"
#include "api/introspect.h"
#include "api/metrics.h"
#include "io/control_loop.h"

namespace vlcp::api {
namespace {

TEST(Listeners, UrlSyntax) {
  auto l = sw::parse_listener("tcp://127.0.0.1:7000");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->port, 7000);
  EXPECT_EQ(sw::parse_listener("tcp:///")->host, "0.0.0.0");  // VLCP's "all addresses"
  EXPECT_EQ(sw::parse_listener("tcp:///")->port, 6653);
  EXPECT_EQ(sw::parse_listener("ssl://[::1]:7001")->host, "::1");
  EXPECT_EQ(sw::parse_listener("unix:///run/x.sock")->path, "/run/x.sock");
  EXPECT_FALSE(sw::parse_listener("unix://relative").ok());
  EXPECT_FALSE(sw::parse_listener("tcp://example.com:1").ok());
  EXPECT_FALSE(sw::parse_listener("tcp://1.2.3.4:99999").ok());
  EXPECT_FALSE(sw::parse_listener("udp://1.2.3.4:1").ok());
}

TEST(Settings, ServicesStayOnLoopbackWithoutASecret) {
  Config c;
  EXPECT_EQ(read_http_settings(c)->host, "127.0.0.1");
  EXPECT_EQ(read_metrics_settings(c)->bind, "127.0.0.1:9464");
  c.set("module.httpserver.url", "tcp://0.0.0.0:8081");
  c.set("module.metrics.url", "tcp://0.0.0.0:9464");
  auto h = read_http_settings(c);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message().find("module.httpserver.token"), std::string::npos);
  EXPECT_FALSE(read_metrics_settings(c).ok());
  c.set("module.httpserver.token", "s3cret");
  c.set("module.metrics.password", "pw");
  EXPECT_TRUE(read_metrics_settings(c).ok());
  // The WebAPI off loopback also needs TLS, with a key and a certificate.
  h = read_http_settings(c);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message().find("https://"), std::string::npos) << h.error().message();
  c.set("module.httpserver.url", "https://0.0.0.0:8443");
  EXPECT_FALSE(read_http_settings(c).ok());  // no key and certificate
  c.set("module.httpserver.key", "/etc/vlcp/key.pem");
  c.set("module.httpserver.certificate", "/etc/vlcp/cert.pem");
  h = read_http_settings(c);
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_TRUE(h->tls);
  EXPECT_EQ(h->port, 8443);
}

TEST(Settings, OpenflowKeys) {
  Config c;
  auto s = sw::read_openflow_settings(c);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->listeners.size(), 1u);
  EXPECT_EQ(s->listeners[0].host, "127.0.0.1");
  EXPECT_EQ(s->session.probe_interval, std::chrono::milliseconds(10000));
  c.set("module.openflowserver.urls", nlohmann::json::array({"ssl://127.0.0.1:6654"}));
  auto ssl = sw::read_openflow_settings(c);
  ASSERT_FALSE(ssl.ok());  // TLS without key/certificate/CA
  EXPECT_NE(ssl.error().message().find("key, certificate and ca_certs"), std::string::npos);
  Config r;
  r.set("module.openflowserver.role", "boss");
  EXPECT_FALSE(sw::read_openflow_settings(r).ok());
  Config p;
  p.set("module.openflowserver.packetin", "hub");
  EXPECT_TRUE(sw::read_openflow_settings(p)->hub);
}

TEST(Introspect, RoutesAndMethods) {
  IntrospectSources src;
  src.placement = [] {
    sched::Placement p;
    p.worker_cpus = {3};
    p.control_cpus = {0, 1};
    p.pmd_cpus = {2};
    return p;
  };
  auto r = introspect(src, {"GET", "/introspect/placement", ""});
  EXPECT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["worker_cpus"], nlohmann::json::array({3}));
  EXPECT_EQ(j["pmd_cpus_avoided"], "2");
  EXPECT_EQ(introspect(src, {"GET", "/introspect/switches", ""}).body, "[]\n");
  EXPECT_EQ(introspect(src, {"GET", "/nowhere", ""}).status, 404);
  EXPECT_EQ(introspect(src, {"POST", "/introspect/switches", "{}"}).status, 405);
  EXPECT_EQ(introspect(src, {"GET", "/introspect?x=1", ""}).status, 200);
}

TEST(Introspect, SwitchJson) {
  sw::SwitchInfo s;
  s.dpid = 0x1234;
  s.connected = true;
  ofp::Port p;
  p.port_no = 7;
  p.name = "vm7";
  p.hw_addr = {2, 0, 0, 0, 0, 7};
  s.ports[7] = p;
  auto j = switch_json(s);
  EXPECT_EQ(j["dpid"], "0000000000001234");
  EXPECT_EQ(j["ports"][0]["name"], "vm7");
  EXPECT_EQ(j["ports"][0]["hw_addr"], "02:00:00:00:00:07");
}

// A raw HTTP exchange with the server running on a control loop in another thread.
std::string exchange(uint16_t port, const std::string& request) {
  boost::asio::io_context ctx;
  boost::asio::ip::tcp::socket s(ctx);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(s, boost::asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  while (size_t n = s.read_some(boost::asio::buffer(buf), ec)) out.append(buf, n);
  return out;
}

TEST(HttpServer, ServesJsonAndChecksTheToken) {
  ManualClock clock;
  io::ControlLoop loop(clock);
  HttpSettings settings;
  settings.host = "127.0.0.1";
  settings.port = 0;
  settings.token = "t0ken";
  auto server = HttpServer::start(
      loop.context(), settings, sync_handler([](const HttpRequest& r) {
        return HttpResponse{200, nlohmann::json{{"path", r.target}}.dump(), "application/json"};
      }));
  ASSERT_TRUE(server.ok()) << server.error().message();
  uint16_t port = (*server)->port();
  std::thread t([&] { loop.run(); });
  std::string denied = exchange(port, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  std::string wrong =
      exchange(port, "GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer nope\r\nConnection: close\r\n\r\n");
  std::string ok = exchange(
      port, "GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t0ken\r\nConnection: close\r\n\r\n");
  std::string garbage = exchange(port, "NOT HTTP AT ALL\r\n\r\n");
  boost::asio::post(loop.context(), [&] {
    server->reset();
    loop.stop();
  });
  t.join();
  EXPECT_NE(denied.find("401"), std::string::npos);
  EXPECT_NE(wrong.find("401"), std::string::npos);
  EXPECT_NE(ok.find("200 OK"), std::string::npos);
  EXPECT_NE(ok.find(R"({"path":"/x"})"), std::string::npos);
  EXPECT_NE(garbage.find("400"), std::string::npos);
}

TEST(Metrics, ExpositionNamesAndTypes) {
  sw::SessionCounters counters;
  counters.rx_by_type[10] = 5;  // PACKET_IN
  counters.tx_by_type[14] = 3;  // FLOW_MOD
  counters.observe_barrier(std::chrono::microseconds(300));
  MetricSources sources;
  sources.openflow = &counters;
  sources.placement = [] {
    sched::Placement p;
    p.worker_cpus = {1};
    p.control_cpus = {0};
    return p;
  };
  sources.ovsdb = [] {
    return std::vector<std::pair<std::string, double>>{{"vlcp_ovsdb_connected", 1},
                                                       {"vlcp_ovsdb_updates_total", 4}};
  };
  auto m = Metrics::start(MetricsSettings{}, sources);  // no bind: render only
  ASSERT_TRUE(m.ok());
  std::string text = (*m)->render();
  EXPECT_NE(text.find("vlcp_packet_ins_total 5"), std::string::npos);
  EXPECT_NE(text.find("vlcp_flow_mods_total 3"), std::string::npos);
  EXPECT_NE(text.find("vlcp_openflow_messages_received_total{type=\"OFPT_PACKET_IN\"} 5"), std::string::npos);
  EXPECT_NE(text.find("# TYPE vlcp_barrier_rtt_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("vlcp_barrier_rtt_seconds_bucket{le=\"0.0005\"} 1"), std::string::npos);
  EXPECT_NE(text.find("vlcp_barrier_rtt_seconds_count 1"), std::string::npos);
  EXPECT_NE(text.find("# TYPE vlcp_ovsdb_updates_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE vlcp_ovsdb_connected gauge"), std::string::npos);
  EXPECT_NE(text.find("vlcp_lcore_info{lcore=\"1\",role=\"worker\",cpus=\"1\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace vlcp::api
