// The HTTP server on a unix stream socket (the Docker plugin's and CNI server's transport) and
// the small HTTP/1.1 client (the Docker Engine API's): each behaviour against the real
// transport in a temporary directory — socket mode, stale and live socket files, a path that
// is not a socket, the server's limits on the unix transport, chunked answers, oversize
// answers, a peer that never answers, non-2xx answers as typed errors.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "api/http.h"
#include "api/http_client.h"
#include "base/clock.h"
#include "io/control_loop.h"
#include "io/listener.h"

namespace vlcp::api {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vlcp-http-unix.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

io::Listener unix_at(const std::string& path) {
  io::Listener l;
  l.kind = io::Listener::Kind::kUnix;
  l.path = path;
  return l;
}

// Runs `ctx` until `done` holds (every exchange here ends by itself: answer, error or deadline).
template <class T>
void run_until(asio::io_context& ctx, const std::optional<T>& done) {
  ctx.restart();
  while (!done) {
    if (ctx.run_one() == 0) break;
  }
}

Result<HttpClientResponse> request(asio::io_context& ctx, const io::Listener& at, HttpClientRequest req,
                                   HttpClientLimits limits = {}) {
  std::optional<Result<HttpClientResponse>> out;
  http_request(ctx, at, std::move(req), limits, [&](Result<HttpClientResponse> r) { out = std::move(r); });
  run_until(ctx, out);
  if (!out) return make_error(Errc::kInternal, "no answer");
  return std::move(*out);
}

HttpSettings unix_settings(const std::string& path) {
  HttpSettings s;
  s.unix_path = path;
  return s;
}

// A server answering {"path": target, "body": body}, and `big` bytes for /big.
HttpHandler echo() {
  return sync_handler([](const HttpRequest& r) {
    if (r.target == "/big")
      return HttpResponse{200, "\"" + std::string(200000, 'x') + "\"", "application/json"};
    if (r.target == "/missing")
      return HttpResponse{404, R"({"message": "network abc not found"})", "application/json"};
    return HttpResponse{200, nlohmann::json{{"path", r.target}, {"body", r.body}}.dump(), "application/json"};
  });
}

// A socket file nobody listens on (a crashed daemon's).
void make_stale_socket(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd);
}

TEST(HttpUnix, ServesOnAUnixSocketWithItsModeAndRemovesItAfter) {
  TempDir dir;
  std::string path = dir.file("vlcp.sock");
  asio::io_context ctx;
  auto settings = unix_settings(path);
  settings.unix_mode = 0640;
  auto server = HttpServer::start(ctx, settings, echo());
  ASSERT_TRUE(server.ok()) << server.error().message();
  EXPECT_EQ((*server)->unix_path(), path);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);

  std::optional<Result<nlohmann::json>> got, posted;
  http_get_json(ctx, unix_at(path), "/v1.41/networks", {},
                [&](Result<nlohmann::json> r) { got = std::move(r); });
  run_until(ctx, got);
  ASSERT_TRUE(got && got->ok()) << (got ? got->error().message() : "no answer");
  EXPECT_EQ((**got)["path"], "/v1.41/networks");
  http_post_json(ctx, unix_at(path), "/NetworkDriver.CreateNetwork", nlohmann::json{{"NetworkID", "n1"}}, {},
                 [&](Result<nlohmann::json> r) { posted = std::move(r); });
  run_until(ctx, posted);
  ASSERT_TRUE(posted && posted->ok());
  EXPECT_EQ(nlohmann::json::parse((**posted)["body"].get<std::string>())["NetworkID"], "n1");

  server->reset();
  EXPECT_NE(stat(path.c_str(), &st), 0);  // removed with the server
}

TEST(HttpUnix, AStaleSocketFileIsReplaced) {
  TempDir dir;
  std::string path = dir.file("stale.sock");
  make_stale_socket(path);
  asio::io_context ctx;
  auto server = HttpServer::start(ctx, unix_settings(path), echo());
  ASSERT_TRUE(server.ok()) << server.error().message();
  auto r = request(ctx, unix_at(path), HttpClientRequest{"GET", "/x", "", "application/json"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
}

TEST(HttpUnix, ALiveSocketIsNotTakenOver) {
  TempDir dir;
  std::string path = dir.file("live.sock");
  asio::io_context ctx;
  auto first = HttpServer::start(ctx, unix_settings(path), echo());
  ASSERT_TRUE(first.ok());
  auto second = HttpServer::start(ctx, unix_settings(path), echo());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), Errc::kAlreadyExists);
  // The first still serves, and its file is still there.
  auto r = request(ctx, unix_at(path), HttpClientRequest{"GET", "/x", "", "application/json"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
}

TEST(HttpUnix, APathThatIsNotASocketIsRefusedAndKept) {
  TempDir dir;
  std::string path = dir.file("plain-file");
  std::ofstream(path) << "keep me";
  asio::io_context ctx;
  auto server = HttpServer::start(ctx, unix_settings(path), echo());
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code(), Errc::kInvalidArgument);
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
  EXPECT_EQ(io::clear_stale_unix_socket(dir.file(std::string(120, 'a'))).code(), Errc::kInvalidArgument);
}

TEST(HttpUnix, TheServersLimitsHoldOnTheUnixTransport) {
  TempDir dir;
  std::string path = dir.file("limits.sock");
  asio::io_context ctx;
  auto settings = unix_settings(path);
  settings.max_connections = 1;
  settings.loopback_reserve = 0;
  settings.idle_grace = std::chrono::hours(1);  // the idle connection is never shed here
  auto server = HttpServer::start(ctx, settings, echo());
  ASSERT_TRUE(server.ok());
  // A body over 1 MiB: 413; a header section over 16 KiB: 431.
  auto first_line = [&](const std::string& request) {
    local::socket raw(ctx);
    raw.connect(local::endpoint(path));
    asio::write(raw, asio::buffer(request));
    std::optional<std::string> answer;
    asio::streambuf sb;
    asio::async_read_until(raw, sb, "\r\n", [&](boost::system::error_code, size_t) {
      answer = std::string(asio::buffers_begin(sb.data()), asio::buffers_end(sb.data()));
    });
    run_until(ctx, answer);
    return answer ? answer->substr(0, answer->find('\r')) : "";
  };
  EXPECT_EQ(first_line("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2097152\r\n\r\n"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(first_line("GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  ctx.restart();
  ctx.poll();  // (the server forgets the closed connections)
  // The connection cap: one idle connection holds the only slot; the next is refused (503).
  local::socket holder(ctx);
  holder.connect(local::endpoint(path));
  ctx.restart();
  ctx.poll();  // (the server accepts it)
  auto refused = request(ctx, unix_at(path), HttpClientRequest{"GET", "/x", "", "application/json"});
  ASSERT_TRUE(refused.ok()) << refused.error().message();
  EXPECT_EQ(refused->status, 503);
}

// A peer that answers with `answer` (raw bytes) after reading the request's header section, or
// never answers when `answer` is empty.
class RawPeer {
 public:
  RawPeer(asio::io_context& ctx, const std::string& path, std::string answer)
      : acceptor_(ctx, local::endpoint(path)), socket_(ctx), answer_(std::move(answer)) {
    acceptor_.async_accept(socket_, [this](boost::system::error_code ec) {
      if (ec) return;
      asio::async_read_until(socket_, buf_, "\r\n\r\n", [this](boost::system::error_code ec, size_t) {
        if (ec || answer_.empty()) return;  // (holds the connection, silent)
        asio::async_write(socket_, asio::buffer(answer_), [this](boost::system::error_code, size_t) {
          boost::system::error_code ignored;
          socket_.shutdown(asio::socket_base::shutdown_both, ignored);
        });
      });
    });
  }

 private:
  local::acceptor acceptor_;
  local::socket socket_;
  asio::streambuf buf_;
  std::string answer_;
};

// `pieces` as chunks, with the last (empty) chunk.
std::string chunked(const std::vector<std::string>& pieces) {
  std::string out;
  char size[16];
  for (auto& p : pieces) {
    std::snprintf(size, sizeof size, "%zx\r\n", p.size());
    out += size + p + "\r\n";
  }
  return out + "0\r\n\r\n";
}

TEST(HttpClient, DecodesAChunkedAnswer) {
  TempDir dir;
  std::string path = dir.file("docker.sock");
  asio::io_context ctx;
  // As dockerd answers GET /networks: chunked, the JSON split across chunks.
  RawPeer peer(ctx, path,
               "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" +
                   chunked({R"([{"Name")", R"(:"bridge","Id")", R"(:"a1"}])"}));
  std::optional<Result<nlohmann::json>> got;
  http_get_json(ctx, unix_at(path), "/v1.41/networks", {},
                [&](Result<nlohmann::json> r) { got = std::move(r); });
  run_until(ctx, got);
  ASSERT_TRUE(got && got->ok()) << (got ? got->error().message() : "no answer");
  EXPECT_EQ(**got, nlohmann::json::parse(R"([{"Name":"bridge","Id":"a1"}])"));
}

TEST(HttpClient, AnOversizeAnswerIsAnError) {
  TempDir dir;
  std::string path = dir.file("big.sock");
  asio::io_context ctx;
  auto server = HttpServer::start(ctx, unix_settings(path), echo());
  ASSERT_TRUE(server.ok());
  HttpClientLimits limits;
  limits.max_body = 100000;  // /big is 200,002 bytes
  auto r = request(ctx, unix_at(path), HttpClientRequest{"GET", "/big", "", ""}, limits);
  ASSERT_FALSE(r.ok()) << r->body.size();
  EXPECT_EQ(r.error().code(), Errc::kResourceExhausted);
  EXPECT_NE(r.error().message().find("unix://" + path), std::string::npos);
  limits.max_body = 300000;
  EXPECT_TRUE(request(ctx, unix_at(path), HttpClientRequest{"GET", "/big", "", ""}, limits).ok());
  // Chunked too: the limit counts the decoded body.
  std::string chunked_path = dir.file("chunked-big.sock");
  std::string chunks;
  for (int i = 0; i < 20; ++i) chunks += "400\r\n" + std::string(0x400, 'y') + "\r\n";
  RawPeer peer(ctx, chunked_path,
               "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n");
  limits.max_body = 10000;
  auto c = request(ctx, unix_at(chunked_path), HttpClientRequest{"GET", "/x", "", ""}, limits);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Errc::kResourceExhausted);
}

TEST(HttpClient, APeerThatNeverAnswersTimesOut) {
  TempDir dir;
  std::string path = dir.file("silent.sock");
  asio::io_context ctx;
  RawPeer peer(ctx, path, "");
  HttpClientLimits limits;
  limits.timeout = std::chrono::milliseconds(100);
  auto r = request(ctx, unix_at(path), HttpClientRequest{"GET", "/containers/json", "", ""}, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kTimeout);
}

TEST(HttpClient, NobodyThereIsUnavailable) {
  TempDir dir;
  asio::io_context ctx;
  auto absent = request(ctx, unix_at(dir.file("absent.sock")), HttpClientRequest{"GET", "/x", "", ""});
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code(), Errc::kUnavailable);
  std::string stale = dir.file("stale.sock");
  make_stale_socket(stale);
  auto refused = request(ctx, unix_at(stale), HttpClientRequest{"GET", "/x", "", ""});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::kUnavailable);
}

TEST(HttpClient, NotHttpIsMalformed) {
  TempDir dir;
  std::string path = dir.file("garbage.sock");
  asio::io_context ctx;
  RawPeer peer(ctx, path, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  auto r = request(ctx, unix_at(path), HttpClientRequest{"GET", "/x", "", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kMalformed);
}

TEST(HttpClient, NonSuccessAnswersAreTypedErrorsWithTheServersText) {
  TempDir dir;
  std::string path = dir.file("errors.sock");
  asio::io_context ctx;
  auto server = HttpServer::start(ctx, unix_settings(path), echo());
  ASSERT_TRUE(server.ok());
  std::optional<Result<nlohmann::json>> got;
  http_get_json(ctx, unix_at(path), "/missing", {}, [&](Result<nlohmann::json> r) { got = std::move(r); });
  run_until(ctx, got);
  ASSERT_TRUE(got && !got->ok());
  EXPECT_EQ(got->error().code(), Errc::kNotFound);
  EXPECT_NE(got->error().message().find("HTTP 404: network abc not found"), std::string::npos);
  EXPECT_EQ(http_status_error(HttpClientResponse{409, "", R"({"Err": "in use"})"}, "x").code(),
            Errc::kConflict);
}

TEST(HttpClient, OverTcpToo) {
  asio::io_context ctx;
  HttpSettings s;
  s.host = "127.0.0.1";
  s.port = 0;
  auto server = HttpServer::start(ctx, s, echo());
  ASSERT_TRUE(server.ok());
  auto at = parse_http_url("http://127.0.0.1:" + std::to_string((*server)->port()));
  ASSERT_TRUE(at.ok());
  auto r = request(ctx, *at, HttpClientRequest{"GET", "/v1.41/containers/json", "", ""});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(nlohmann::json::parse(r->body)["path"], "/v1.41/containers/json");
}

TEST(HttpClient, Urls) {
  auto u = parse_http_url("unix:///var/run/docker.sock");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, io::Listener::Kind::kUnix);
  EXPECT_EQ(u->path, "/var/run/docker.sock");
  auto t = parse_http_url("tcp://127.0.0.1:2375");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->port, 2375);
  EXPECT_EQ(parse_http_url("http://127.0.0.1")->port, 80);
  EXPECT_FALSE(parse_http_url("http://docker.example:2375").ok());  // IP addresses only
  EXPECT_FALSE(parse_http_url("ssl://127.0.0.1:2376").ok());
}

TEST(HttpSettings, TheWebApiOnAUnixSocket) {
  Config c;
  c.set("module.httpserver.url", "unix:///run/vlcp/api.sock");
  auto s = read_http_settings(c);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->unix_path, "/run/vlcp/api.sock");
  EXPECT_EQ(s->unix_mode, 0600u);
  EXPECT_TRUE(s->host.empty());
  c.set("module.httpserver.url", "unix://relative.sock");
  EXPECT_FALSE(read_http_settings(c).ok());
}

}  // namespace
}  // namespace vlcp::api
