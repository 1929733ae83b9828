// The unixctl client (docs/TRACE_DESIGN.md §4.1): the framing fed byte by byte and in bulk, the
// reply decoding, the socket-path discovery over a fake run directory, and UnixctlClient against
// an in-process fake ovs-vswitchd on a temporary unix socket (result, error, deadline, a server
// that closes early, no socket).
#include "ovsdb/unixctl.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <utility>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace vlcp::ovsdb {
namespace {

namespace asio = boost::asio;
using Json = nlohmann::json;
using unix_stream = asio::local::stream_protocol;
namespace fs = std::filesystem;

TEST(UnixctlRequest, IsJsonRpcWithStringParams) {
  Json j = Json::parse(unixctl_request("ofproto/trace", {"br-int", "in_port=1,icmp"}, 7));
  EXPECT_EQ(j["method"], "ofproto/trace");
  EXPECT_EQ(j["params"], Json::array({"br-int", "in_port=1,icmp"}));
  EXPECT_EQ(j["id"], 7);
  // Quotes and backslashes travel as JSON escapes: no shell, no quoting.
  Json q = Json::parse(unixctl_request("m", {"a\"b\\c"}, 0));
  EXPECT_EQ(q["params"][0], "a\"b\\c");
}

TEST(UnixctlReader, FedByteByByteCutsOneValue) {
  std::string text = R"({"id":0,"result":"Flow: in_port=1\n{not json} \"quoted\" ]]","error":null})";
  UnixctlReader r;
  for (size_t i = 0; i < text.size(); ++i) {
    ASSERT_TRUE(r.feed(text.substr(i, 1)).ok()) << i;
    if (i + 1 < text.size()) {
      EXPECT_FALSE(r.next().has_value()) << "a value cut early at byte " << i;
      EXPECT_TRUE(r.partial());
    }
  }
  auto v = r.next();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(unixctl_decode_reply(*v, 0).value(), "Flow: in_port=1\n{not json} \"quoted\" ]]");
  EXPECT_FALSE(r.partial());
}

TEST(UnixctlReader, TwoRepliesInOneReadAndEscapes) {
  UnixctlReader r;
  ASSERT_TRUE(r.feed(R"( {"id":1,"result":"a\\\"}{","error":null}
{"id":2,"result":null,"error":"bad \"x\""})")
                  .ok());
  auto a = r.next(), b = r.next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(unixctl_decode_reply(*a, 1).value(), "a\\\"}{");
  auto e = unixctl_decode_reply(*b, 2);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "ovs-vswitchd: bad \"x\"");
  EXPECT_FALSE(r.next());
}

TEST(UnixctlReader, GarbageOversizeAndDepthAreStickyErrors) {
  {
    UnixctlReader r;
    Status s = r.feed("HTTP/1.1 200 OK\r\n");
    EXPECT_EQ(s.code(), Errc::kMalformed);
    EXPECT_EQ(r.feed(R"({"id":0,"result":"x","error":null})").code(), Errc::kMalformed) << "sticky";
  }
  {
    UnixctlReader r;
    EXPECT_EQ(r.feed(R"({"id":0,"result":"x","error":null} 42)").code(), Errc::kMalformed);
  }
  {
    UnixctlReader r;  // 4 MiB + 1 in one string: refused, never buffered past the cap
    std::string big = R"({"id":0,"result":")" + std::string(kUnixctlMaxReply, 'a');
    Status s = r.feed(big);
    EXPECT_EQ(s.code(), Errc::kResourceExhausted) << s.to_string();
  }
  {
    UnixctlReader r;  // exactly at the cap is fine
    std::string head = R"({"id":0,"result":")", tail = R"(","error":null})";
    std::string v = head + std::string(kUnixctlMaxReply - head.size() - tail.size(), 'b') + tail;
    ASSERT_EQ(v.size(), kUnixctlMaxReply);
    ASSERT_TRUE(r.feed(v).ok());
    EXPECT_EQ(unixctl_decode_reply(*r.next(), 0).value().size(),
              kUnixctlMaxReply - head.size() - tail.size());
  }
  {
    UnixctlReader r;
    std::string deep = "{\"a\":" + std::string(kUnixctlMaxDepth, '[');
    EXPECT_EQ(r.feed(deep).code(), Errc::kMalformed);
  }
  {
    UnixctlReader r;  // balanced braces around invalid JSON
    EXPECT_EQ(r.feed("{id:0}").code(), Errc::kMalformed);
  }
}

TEST(UnixctlReply, OtherIdsAndShapesAreMalformed) {
  EXPECT_EQ(unixctl_decode_reply(Json::parse(R"({"id":3,"result":"x","error":null})"), 4).status().code(),
            Errc::kMalformed);
  EXPECT_EQ(unixctl_decode_reply(Json::parse(R"({"id":3,"result":"x"})"), 3).status().code(),
            Errc::kMalformed);
  EXPECT_EQ(unixctl_decode_reply(Json::parse(R"({"id":3,"result":5,"error":null})"), 3).status().code(),
            Errc::kMalformed);
  EXPECT_EQ(unixctl_decode_reply(Json::parse(R"({"id":3,"result":"","error":null})"), 3).value(), "");
}

// A temporary directory, removed at the end.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/unixctl_test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

// A listening unix socket at `path` (discovery checks that the file is a socket).
struct Listening {
  Listening(asio::io_context& ctx, const std::string& path) : acceptor(ctx, unix_stream::endpoint(path)) {}
  unix_stream::acceptor acceptor;
};

TEST(FindVswitchdCtl, ConfiguredWinsThenPidThenPlainName) {
  TempDir d;
  asio::io_context ctx;
  EXPECT_EQ(find_vswitchd_ctl("/x/y.ctl", "unix:" + d.path + "/db.sock").value(), "/x/y.ctl");
  // Nothing there yet.
  auto none = find_vswitchd_ctl("", "unix:" + d.path + "/db.sock");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Errc::kUnavailable);
  EXPECT_NE(none.status().message().find(d.path), std::string::npos) << none.status().message();
  // The sandbox's name (--unixctl=<rundir>/ovs-vswitchd.ctl).
  Listening plain(ctx, d.path + "/ovs-vswitchd.ctl");
  EXPECT_EQ(find_vswitchd_ctl("", "unix:" + d.path + "/db.sock").value(), d.path + "/ovs-vswitchd.ctl");
  // A stale pidfile (no such socket) falls back to the plain name.
  std::ofstream(d.path + "/ovs-vswitchd.pid") << "4242\n";
  EXPECT_EQ(find_vswitchd_ctl("", "unix:" + d.path + "/db.sock").value(), d.path + "/ovs-vswitchd.ctl");
  // A packaged OVS: <rundir>/ovs-vswitchd.<pid>.ctl.
  Listening packaged(ctx, d.path + "/ovs-vswitchd.4242.ctl");
  EXPECT_EQ(find_vswitchd_ctl("", "unix:" + d.path + "/db.sock").value(), d.path + "/ovs-vswitchd.4242.ctl");
  // A regular file is no socket.
  std::ofstream(d.path + "/sub.ctl") << "";
  // A TCP OVSDB names no run directory.
  auto tcp = find_vswitchd_ctl("", "tcp:127.0.0.1:6640");
  ASSERT_FALSE(tcp.ok());
  EXPECT_NE(tcp.status().message().find("module.ovsdbmanager.vswitchd_ctl"), std::string::npos);
}

// An in-process fake ovs-vswitchd: accepts one connection, reads one request and behaves.
class FakeVswitchd {
 public:
  enum class Mode { kAnswer, kError, kSilent, kClose, kSplit };
  FakeVswitchd(asio::io_context& ctx, std::string path, Mode mode)
      : ctx_(ctx), acceptor_(ctx, unix_stream::endpoint(path)), mode_(mode) {
    accept();
  }
  Json last_request;

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, unix_stream::socket s) {
      if (ec) return;
      conn_ = std::make_shared<unix_stream::socket>(std::move(s));
      if (mode_ == Mode::kClose) {
        conn_->close();
        return;
      }
      read();
    });
  }
  void read() {
    conn_->async_read_some(asio::buffer(buf_), [this](boost::system::error_code ec, size_t n) {
      if (ec) return;
      ASSERT_TRUE(reader_.feed(std::string_view(buf_.data(), n)).ok());
      auto j = reader_.next();
      if (!j) return read();
      last_request = *j;
      int64_t id = (*j)["id"].get<int64_t>();
      if (mode_ == Mode::kSilent) return;
      Json reply =
          mode_ == Mode::kError
              ? Json{{"id", id}, {"result", nullptr}, {"error", "\"ofproto/trace\": unknown bridge\n"}}
              : Json{{"id", id},
                     {"result", "Flow: " + (*j)["params"][1].get<std::string>()},
                     {"error", nullptr}};
      out_ = reply.dump();
      if (mode_ == Mode::kSplit) {  // in two writes, the second a little later
        asio::write(*conn_, asio::buffer(out_.data(), 5));
        post(ctx_, [this] { asio::write(*conn_, asio::buffer(out_.data() + 5, out_.size() - 5)); });
      } else {
        asio::write(*conn_, asio::buffer(out_));
      }
    });
  }
  asio::io_context& ctx_;
  unix_stream::acceptor acceptor_;
  Mode mode_;
  std::shared_ptr<unix_stream::socket> conn_;
  std::array<char, 4096> buf_{};
  UnixctlReader reader_;
  std::string out_;
};

struct ClientCase : ::testing::Test {
  Result<std::string> run(FakeVswitchd::Mode mode,
                          std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    std::string path = dir.path + "/ovs-vswitchd.ctl";
    FakeVswitchd fake(ctx, path, mode);
    UnixctlClient client(
        ctx, [&]() -> Result<std::string> { return find_vswitchd_ctl("", "unix:" + dir.path + "/db.sock"); });
    std::optional<Result<std::string>> got;
    int calls = 0;
    client.call("ofproto/trace", {"br-int", "in_port=1,icmp"}, deadline, [&](Result<std::string> r) {
      ++calls;
      got = std::move(r);
    });
    ctx.run_for(std::chrono::seconds(10));
    EXPECT_EQ(calls, 1);
    request = fake.last_request;
    ::unlink(path.c_str());
    if (!got) return make_error(Errc::kInternal, "no answer");
    return *got;
  }
  TempDir dir;
  asio::io_context ctx;
  Json request;
};

TEST_F(ClientCase, Result) {
  auto r = run(FakeVswitchd::Mode::kAnswer);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, "Flow: in_port=1,icmp");
  EXPECT_EQ(request["method"], "ofproto/trace");
  EXPECT_EQ(request["params"][0], "br-int");
}

TEST_F(ClientCase, ReplyInTwoWrites) {
  auto r = run(FakeVswitchd::Mode::kSplit);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, "Flow: in_port=1,icmp");
}

TEST_F(ClientCase, ErrorReply) {
  auto r = run(FakeVswitchd::Mode::kError);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "ovs-vswitchd: \"ofproto/trace\": unknown bridge");
}

TEST_F(ClientCase, Deadline) {
  auto r = run(FakeVswitchd::Mode::kSilent, std::chrono::milliseconds(50));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::kTimeout);
  EXPECT_NE(r.status().message().find("within 50 ms"), std::string::npos) << r.status().message();
}

TEST_F(ClientCase, ServerClosesEarly) {
  auto r = run(FakeVswitchd::Mode::kClose);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::kUnavailable);
  EXPECT_NE(r.status().message().find("before answering"), std::string::npos) << r.status().message();
}

TEST(UnixctlClient, NoSocketIsUnavailableAndAnsweredOnce) {
  TempDir d;
  asio::io_context ctx;
  // A path that exists as no socket: the connect fails.
  UnixctlClient client(ctx, [&]() -> Result<std::string> { return d.path + "/missing.ctl"; });
  int calls = 0;
  Status got;
  client.call("version", {}, std::chrono::seconds(1), [&](Result<std::string> r) {
    ++calls;
    got = r.status();
  });
  // Discovery failing never reaches a socket.
  UnixctlClient nothing(ctx, [&] { return find_vswitchd_ctl("", "unix:" + d.path + "/db.sock"); });
  Status got2;
  nothing.call("version", {}, std::chrono::seconds(1), [&](Result<std::string> r) {
    ++calls;
    got2 = r.status();
  });
  ctx.run_for(std::chrono::seconds(3));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(got.code(), Errc::kUnavailable);
  EXPECT_NE(got.message().find("cannot connect"), std::string::npos) << got.message();
  EXPECT_EQ(got2.code(), Errc::kUnavailable);
}

}  // namespace
}  // namespace vlcp::ovsdb
