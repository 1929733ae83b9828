// Operators' surface: settings that refuse to expose without a secret, introspection routing,
// the HTTP server with its bearer token, and the metrics exposition.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include "api/http.h"
#include "api/introspect.h"
#include "api/metrics.h"
#include "api/objectdb_api.h"
#include "api/webapi.h"
#include "db/embedded.h"
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
std::string http_exchange(uint16_t port, const std::string& request);

// An HTTP server on a control loop of its own thread, for the duration of a test.
struct RunningServer {
  explicit RunningServer(HttpHandler handler, HttpSettings settings = {}) : loop(clock) {
    settings.host = "127.0.0.1";
    settings.port = 0;
    auto s = HttpServer::start(loop.context(), settings, std::move(handler));
    EXPECT_TRUE(s.ok()) << s.error().message();
    server = std::move(*s);
    port = server->port();
    thread = std::thread([this] { loop.run(); });
  }
  ~RunningServer() {
    boost::asio::post(loop.context(), [this] {
      server.reset();
      loop.stop();
    });
    thread.join();
  }
  // GET `target` (Connection: close) with extra header lines.
  std::string get(const std::string& target, const std::string& headers = "") {
    return http_exchange(
        port, "GET " + target + " HTTP/1.1\r\nHost: a\r\n" + headers + "Connection: close\r\n\r\n");
  }
  ManualClock clock;
  io::ControlLoop loop;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
  std::thread thread;
};

std::string status_line(const std::string& response) {
  return response.substr(0, response.find('\r'));
}

std::string http_exchange(uint16_t port, const std::string& request) {
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
  std::string denied = http_exchange(port, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  std::string wrong = http_exchange(
      port, "GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer nope\r\nConnection: close\r\n\r\n");
  std::string ok = http_exchange(
      port, "GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t0ken\r\nConnection: close\r\n\r\n");
  std::string garbage = http_exchange(port, "NOT HTTP AT ALL\r\n\r\n");
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

TEST(Http, PercentDecoding) {  // (UTF-8 validation: base's literal_test)
  EXPECT_EQ(percent_decode("a%20b+c%zz%4"), "a b c%zz%4");
  EXPECT_EQ(percent_decode("%FF"), "\xff");
}

TEST(Http, AuthorizationSchemeIsCaseInsensitive) {
  EXPECT_EQ(auth_credentials("Bearer t0ken", "Bearer"), "t0ken");
  EXPECT_EQ(auth_credentials("bearer t0ken", "Bearer"), "t0ken");
  EXPECT_EQ(auth_credentials("BEARER   t0ken ", "Bearer"), "t0ken");
  EXPECT_EQ(auth_credentials("Bearert0ken", "Bearer"), "");
  EXPECT_EQ(auth_credentials("Basic dXNlcg==", "Bearer"), "");
  EXPECT_EQ(auth_credentials("Bearer", "Bearer"), "");
  EXPECT_TRUE(same_secret("s3cret", "s3cret"));
  for (const char* wrong : {"", "s3cre", "s3cret!", "s3creT", "x3cret"})
    EXPECT_FALSE(same_secret(wrong, "s3cret"));
  EXPECT_FALSE(same_secret("", ""));  // no secret configured matches nothing
}

TEST(HttpServer, LowerCaseBearerIsAccepted) {
  HttpSettings settings;
  settings.token = "t0ken";
  RunningServer srv(sync_handler([](const HttpRequest&) {
                      return HttpResponse{200, "{}", "application/json"};
                    }),
                    settings);
  EXPECT_EQ(status_line(srv.get("/x", "Authorization: bearer t0ken\r\n")), "HTTP/1.1 200 OK");
  EXPECT_EQ(status_line(srv.get("/x", "Authorization: BEARER t0ken\r\n")), "HTTP/1.1 200 OK");
  EXPECT_EQ(status_line(srv.get("/x", "Authorization: bearer t0ke\r\n")), "HTTP/1.1 401 Unauthorized");
}

// Untrusted bytes in the target, and a handler that throws: answers, never a crash.
TEST(HttpServer, NonUtf8TargetsAre400AndEscapedExceptions500) {
  RunningServer srv(sync_handler([](const HttpRequest& r) -> HttpResponse {
    if (r.target == "/throw") throw std::runtime_error("boom");
    if (r.target == "/throw-json") (void)nlohmann::json(std::string("a\xff")).dump();  // type_error 316
    return HttpResponse{200, json_text(nlohmann::json{{"target", r.target}}), "application/json"};
  }));
  uint64_t bad_before = http_counters().bad_encoding, errors_before = http_counters().handler_errors;
  EXPECT_EQ(status_line(srv.get("/objectdb/getonce?key=a%FF")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(srv.get("/objectdb/getonce?key=a%C3%28")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(srv.get("/x\xff/y")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(srv.get("/x?v=%60'a%FF'%60")), "HTTP/1.1 400 Bad Request");  // in a literal
  EXPECT_EQ(http_counters().bad_encoding - bad_before, 4u);
  EXPECT_EQ(status_line(srv.get("/throw")), "HTTP/1.1 500 Internal Server Error");
  EXPECT_EQ(status_line(srv.get("/throw-json")), "HTTP/1.1 500 Internal Server Error");
  EXPECT_EQ(http_counters().handler_errors - errors_before, 2u);
  // Still serving; UTF-8 (raw or encoded) passes.
  std::string ok = srv.get("/x?name=%C3%A9t%C3%A9");
  EXPECT_EQ(status_line(ok), "HTTP/1.1 200 OK");
}

// Connections: at the cap the oldest idle one makes room; when all are busy, 503.
TEST(HttpServer, ShedsTheOldestIdleConnectionAtTheCap) {
  HttpSettings settings;
  settings.max_connections = 4;
  settings.loopback_reserve = 1;
  settings.idle_grace = std::chrono::milliseconds(0);
  std::vector<HttpResponder> hanging;  // (the loop's thread only)
  std::atomic<int> hung{0};
  RunningServer srv(
      [&](const HttpRequest& r, HttpResponder respond) {
        if (r.target == "/hang") {
          hanging.push_back(std::move(respond));
          ++hung;
          return;
        }
        respond(HttpResponse{200, "{}", "application/json"});
      },
      settings);
  boost::asio::io_context ctx;
  auto connect = [&] {
    auto s = std::make_unique<boost::asio::ip::tcp::socket>(ctx);
    s->connect({boost::asio::ip::make_address("127.0.0.1"), srv.port});
    return s;
  };
  uint64_t shed_before = http_counters().shed_capacity, refused_before = http_counters().refused;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect());
  // A fifth client is served: the first idle connection was closed for it.
  EXPECT_EQ(status_line(srv.get("/x")), "HTTP/1.1 200 OK");
  char byte;
  boost::system::error_code ec;
  idle[0]->read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, boost::asio::error::eof);
  EXPECT_GE(http_counters().shed_capacity - shed_before, 1u);
  // Busy connections are never shed: with four requests in progress a fifth client gets 503.
  idle.clear();
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> busy;
  for (int i = 0; i < 4; ++i) {
    busy.push_back(connect());
    boost::asio::write(*busy.back(),
                       boost::asio::buffer(std::string("GET /hang HTTP/1.1\r\nHost: a\r\n\r\n")));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (hung < 4 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(hung, 4);
  EXPECT_EQ(status_line(srv.get("/x")), "HTTP/1.1 503 Service Unavailable");
  EXPECT_EQ(http_counters().refused - refused_before, 1u);
  // Answered, they are idle again and the next client gets in.
  boost::asio::post(srv.loop.context(), [&] {
    for (auto& r : hanging) r(HttpResponse{200, "{}", "application/json"});
  });
  for (auto& s : busy) {
    char buf[256];
    s->read_some(boost::asio::buffer(buf), ec);  // the answer
  }
  EXPECT_EQ(status_line(srv.get("/x")), "HTTP/1.1 200 OK");
  // (the answered responders hold their sessions: released on the loop, before it goes)
  std::promise<void> released;
  boost::asio::post(srv.loop.context(), [&] {
    hanging.clear();
    released.set_value();
  });
  released.get_future().wait();
}

TEST(ConnectionLimits, PerClientCapShedsThatClientsOldestIdle) {
  using Clock = ConnectionLimits::Clock;
  auto t0 = Clock::now();
  ConnectionLimits limits(10, 2, 2);
  auto a1 = limits.admit("10.0.0.1", false, t0);
  auto a2 = limits.admit("10.0.0.1", false, t0 + std::chrono::milliseconds(10));
  ASSERT_TRUE(a1.id && a2.id);
  // Within the grace period neither may be shed: a third from the same address is refused...
  EXPECT_EQ(limits.admit("10.0.0.1", false, t0 + std::chrono::milliseconds(500)).id, 0u);
  // ...another address is not affected...
  EXPECT_NE(limits.admit("10.0.0.2", false, t0).id, 0u);
  // ...and once idle past the grace the oldest of that client makes room.
  auto a3 = limits.admit("10.0.0.1", false, t0 + std::chrono::seconds(2));
  ASSERT_NE(a3.id, 0u);
  EXPECT_EQ(a3.shed_per_client, std::vector<ConnectionLimits::Id>{a1.id});
  EXPECT_EQ(limits.open_from("10.0.0.1"), 2u);
  // A connection answering a request is never shed.
  limits.set_idle(a2.id, false, t0 + std::chrono::seconds(2));
  limits.set_idle(a3.id, false, t0 + std::chrono::seconds(2));
  EXPECT_EQ(limits.admit("10.0.0.1", false, t0 + std::chrono::seconds(10)).id, 0u);
  // Loopback is the operator's own host: not capped per address.
  for (int i = 0; i < 5; ++i) EXPECT_NE(limits.admit("127.0.0.1", true, t0).id, 0u);
}

TEST(ConnectionLimits, TotalCapShedsOldestIdleAndKeepsLoopbackSlots) {
  using Clock = ConnectionLimits::Clock;
  auto t0 = Clock::now();
  ConnectionLimits limits(4, 100, 1);
  std::vector<ConnectionLimits::Id> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(limits.admit("10.0.0." + std::to_string(i), false, t0).id);
  for (auto id : ids) limits.set_idle(id, false, t0);  // all busy
  // Three of four slots are open to remote clients: the fourth is loopback's.
  EXPECT_EQ(limits.admit("10.0.0.9", false, t0).id, 0u);
  auto local = limits.admit("127.0.0.1", true, t0);
  EXPECT_NE(local.id, 0u);
  EXPECT_EQ(limits.admit("127.0.0.1", true, t0).id, 0u);  // full, nothing idle
  // A loopback client that holds many already does not get the reserve.
  ConnectionLimits hoard(4, 2, 1);
  for (int i = 0; i < 3; ++i) EXPECT_NE(hoard.admit("127.0.0.2", true, t0).id, 0u);
  EXPECT_EQ(hoard.admit("127.0.0.2", true, t0).id, 0u);
  EXPECT_NE(hoard.admit("127.0.0.1", true, t0).id, 0u);
  // Once some are idle (past the grace) the oldest idle makes room, whoever asks.
  limits.set_idle(ids[1], true, t0 + std::chrono::seconds(1));
  limits.set_idle(ids[2], true, t0 + std::chrono::seconds(2));
  auto remote = limits.admit("10.0.0.9", false, t0 + std::chrono::seconds(5));
  ASSERT_NE(remote.id, 0u);
  // (remote clients may hold 3: two were shed, the oldest idle first, then the loopback one
  // that is idle since it was admitted)
  ASSERT_FALSE(remote.shed_capacity.empty());
  EXPECT_EQ(remote.shed_capacity[0], local.id);
  EXPECT_LE(limits.open(), 4u);
}

// The WebAPI reads back-quoted values with base/literal.h's strict dialect (what Python reads,
// tested in tests/unit/base/literal_test.cc): none of the configuration file's extras.
TEST(Literals, WebApiUsesTheStrictDialect) {
  EXPECT_EQ(*parse_literal("'a\\x41' \"b\""), nlohmann::json("aAb"));
  for (const char* refused : {"true", "null", "{1, 2}", "{1: 2}", "b'x'"}) {
    auto got = parse_literal(refused);
    EXPECT_FALSE(got.ok()) << refused;
    if (!got.ok()) {
      EXPECT_EQ(got.error().code(), Errc::kInvalidArgument) << refused;
    }
  }
}

std::string nested(int depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST(Literals, DepthIsLimited) {
  EXPECT_TRUE(parse_literal(nested(kMaxJsonDepth)).ok());
  EXPECT_FALSE(parse_literal(nested(kMaxJsonDepth + 2)).ok());
  EXPECT_FALSE(parse_literal(nested(60000)).ok());
  EXPECT_FALSE(parse_literal(std::string(60000, '(') + "1" + std::string(60000, ')')).ok());
  EXPECT_FALSE(parse_literal(std::string(60000, '{')).ok());
  EXPECT_TRUE(parse_client_json(nested(kMaxJsonDepth)).ok());
  EXPECT_FALSE(parse_client_json(nested(kMaxJsonDepth + 2)).ok());
  EXPECT_FALSE(parse_client_json(nested(60000)).ok());
  EXPECT_FALSE(parse_client_json("{\"a\": " + nested(60000) + "}").ok());
  EXPECT_FALSE(parse_client_json("\"a\xff\"").ok());
}

// The WebAPI's dispatch with a fake module: every bad input a 4xx, every escaped error a 500,
// and one answer per request.
class WebApiDispatch : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.add("fake", "echo", "params back", [](const nlohmann::json& p, ApiDone done) { done(p); });
    api_.add("fake", "boom", "throws",
             [](const nlohmann::json&, ApiDone) -> void { throw std::runtime_error("boom"); });
    api_.add("fake", "bytes", "a result that is not UTF-8",
             [](const nlohmann::json&, ApiDone done) { done(nlohmann::json(std::string("a\xff"))); });
    api_.add("fake", "late", "answers later, twice", [this](const nlohmann::json&, ApiDone done) {
      later_ = [done] {
        done(nlohmann::json(std::string("b\xff")));
        done(nlohmann::json("again"));
      };
    });
  }
  std::vector<HttpResponse> call(const std::string& method, const std::string& target,
                                 const std::string& body = "") {
    std::vector<HttpResponse> out;
    api_.handle(HttpRequest{method, target, body}, [&out](HttpResponse r) { out.push_back(std::move(r)); });
    return out;
  }
  int status(const std::string& method, const std::string& target, const std::string& body = "") {
    auto r = call(method, target, body);
    EXPECT_EQ(r.size(), 1u) << target;
    return r.empty() ? 0 : r[0].status;
  }
  WebApi api_;
  std::function<void()> later_;
};

TEST_F(WebApiDispatch, BadInputIs400) {
  EXPECT_EQ(status("GET", "/fake/echo?x=a%FF"), 400);
  EXPECT_EQ(status("POST", "/fake/echo", "x=a%FF"), 400);              // a form body
  EXPECT_EQ(status("POST", "/fake/echo", "x=a\xff"), 400);             // raw in a form body
  EXPECT_EQ(status("POST", "/fake/echo", "x=`'a%FF'`"), 400);          // in a literal
  EXPECT_EQ(status("POST", "/fake/echo", "{\"x\": \"a\xff\"}"), 400);  // in a JSON body
  EXPECT_EQ(status("POST", "/fake/echo", "{\"x\": " + nested(60000) + "}"), 400);
  EXPECT_EQ(status("POST", "/fake/echo", "x=`" + nested(60000) + "`"), 400);
  EXPECT_EQ(status("GET", "/fake/echo?x=`'a\\u0000b'`"), 200);
  auto r = call("GET", "/fake/echo?x=`'a\\u0000b'`&y=%C3%A9");
  ASSERT_EQ(r.size(), 1u);
  auto j = nlohmann::json::parse(r[0].body)["result"];
  EXPECT_EQ(j["x"], std::string("a\0b", 3));
  EXPECT_EQ(j["y"], "\xc3\xa9");
  EXPECT_EQ(status("POST", "/fake/echo", "{\"x\": " + nested(kMaxJsonDepth - 1) + "}"), 200);
}

TEST_F(WebApiDispatch, EscapedErrorsAre500AndCounted) {
  uint64_t before = http_counters().handler_errors;
  EXPECT_EQ(status("GET", "/fake/boom"), 500);
  EXPECT_EQ(http_counters().handler_errors - before, 1u);
  // A result that cannot be printed as it is still answers (U+FFFD in its place).
  auto r = call("GET", "/fake/bytes");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(nlohmann::json::parse(r[0].body)["result"], "a\xef\xbf\xbd");
  // An answer that comes later (twice, by mistake): answered once, printable.
  std::vector<HttpResponse> answers;
  api_.handle(HttpRequest{"GET", "/fake/late", ""}, [&](HttpResponse x) { answers.push_back(std::move(x)); });
  EXPECT_TRUE(answers.empty());
  ASSERT_TRUE(later_);
  EXPECT_NO_THROW(later_());
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].status, 200);
  EXPECT_EQ(nlohmann::json::parse(answers[0].body)["result"], "b\xef\xbf\xbd");
  EXPECT_EQ(status("GET", "/fake/echo?x=1"), 200);  // still answering
}

// /objectdb/restore parses client JSON too: deep or broken bodies are a 400, nothing written.
TEST(ObjectDbApi, RestoreRefusesDeepAndInvalidBodies) {
  ManualClock clock;
  io::ControlLoop loop(clock);
  auto dir = std::filesystem::temp_directory_path() / ("vlcp-api-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = db::EmbeddedStore::open(loop, db::EmbeddedOptions{(dir / "db").string(), 64, true});
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto db = std::make_shared<db::ObjectDb>(loop, **store);
  auto run = [&](const HttpRequest& req) {
    std::optional<HttpResponse> out;
    handle_objectdb(db, loop, req, [&](HttpResponse r) { out = std::move(r); });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!out && std::chrono::steady_clock::now() < deadline)
      if (!loop.run_pending()) std::this_thread::yield();
    return out ? out->status : 0;
  };
  EXPECT_EQ(run({"POST", "/objectdb/restore", "{\"k.a\": " + nested(60000) + "}"}), 400);
  EXPECT_EQ(run({"POST", "/objectdb/restore", "{\"k.a\": \"\xff\"}"}), 400);
  EXPECT_EQ(run({"POST", "/objectdb/restore", "{\"k.a\": " + nested(8) + "}"}), 200);
  EXPECT_EQ(run({"GET", "/objectdb/getonce?key=k.a", ""}), 200);
  // (the transport refuses non-UTF-8 targets first; here, below it, still an answer)
  EXPECT_NE(run({"GET", "/objectdb/getonce?key=a%FF", ""}), 0);
  db.reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST(Metrics, PasswordAndTransportCounters) {
  MetricsSettings settings;
  settings.bind = "127.0.0.1:0";
  settings.user = "vlcp";
  settings.password = "pw";
  auto m = Metrics::start(settings, MetricSources{});
  ASSERT_TRUE(m.ok()) << m.error().message();
  uint16_t port = static_cast<uint16_t>((*m)->port());
  auto scrape = [&](const std::string& auth) {
    return status_line(
        http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: a\r\n" + auth + "Connection: close\r\n\r\n"));
  };
  EXPECT_EQ(scrape("Authorization: Basic dmxjcDpwdw==\r\n"), "HTTP/1.1 200 OK");  // vlcp:pw
  EXPECT_NE(scrape("Authorization: Basic dmxjcDpwdg==\r\n"), "HTTP/1.1 200 OK");  // vlcp:pv
  EXPECT_NE(scrape("Authorization: Basic dmxjcDpwdzE=\r\n"), "HTTP/1.1 200 OK");  // vlcp:pw1
  EXPECT_NE(scrape(""), "HTTP/1.1 200 OK");
  std::string text = (*m)->render();
  EXPECT_NE(text.find("# TYPE vlcp_api_handler_errors_total counter"), std::string::npos);
  EXPECT_NE(text.find("vlcp_api_connections_shed_total{cap=\"total\"}"), std::string::npos);
  EXPECT_NE(text.find("vlcp_api_connections_refused_total"), std::string::npos);
}

}  // namespace
}  // namespace vlcp::api
