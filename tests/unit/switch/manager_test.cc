// The SwitchManager end to end inside one process: a listener, an I/O thread, the rings, and
// the control loop on its own thread, against a scripted switch on a real TCP socket. What the
// flow installer will lean on: send, barrier batches with the switch's errors, requests with
// replies, and up/down events by datapath id.
#include "switch/manager.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

namespace vlcp::sw {
namespace {

using ofp::MsgType;

// A blocking, scripted switch.
class FakeSwitch {
 public:
  explicit FakeSwitch(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakeSwitch() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  void send(ByteSpan m) { ASSERT_EQ(::send(fd_, m.data(), m.size(), 0), static_cast<ssize_t>(m.size())); }
  // The next whole message (empty on timeout or close).
  std::vector<uint8_t> next() {
    while (true) {
      if (buf_.size() >= 8) {
        size_t len = load_be16(buf_.data() + 2);
        if (buf_.size() >= len) {
          std::vector<uint8_t> m(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(len));
          buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(len));
          return m;
        }
      }
      uint8_t tmp[4096];
      ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return {};
      buf_.insert(buf_.end(), tmp, tmp + n);
    }
  }
  // Reads until a message of `type` arrives, answering the handshake on the way (nullopt:
  // until the port description was answered).
  std::vector<uint8_t> until(std::optional<MsgType> type) {
    for (auto m = next(); !m.empty(); m = next()) {
      auto t = static_cast<MsgType>(m[1]);
      uint32_t xid = load_be32(m.data() + 4);
      if (type && t == *type) return m;
      bool port_desc = t == MsgType::kMultipartRequest && load_be16(m.data() + 8) == 13;
      InlineBuffer<512> b;
      if (t == MsgType::kFeaturesRequest) {
        ofp::encode_features_reply(b, xid, ofp::FeaturesReply{0xd1d, 0, 254, 0, 0x4f});
      } else if (t == MsgType::kMultipartRequest && load_be16(m.data() + 8) == 13) {
        size_t start = ofp::begin_message(b, MsgType::kMultipartReply, xid);
        b.put_be16(13);
        b.put_be16(0);
        b.put_be32(0);
        ofp::Port p;
        p.port_no = 1;
        p.name = "eth1";
        ofp::encode_port(b, p);
        ofp::finish_message(b, start);
      }
      if (b.size()) send(b.span());
      if (port_desc && !type) return m;
    }
    return {};
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::vector<uint8_t> buf_;
};

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenflowSettings s;
    s.listeners.push_back(*parse_listener("tcp://127.0.0.1:0"));
    s.session.probe_interval = std::chrono::seconds(30);
    manager = std::make_unique<SwitchManager>(loop, s, &counters);
    up_sub = loop.subscribe<SwitchUp>([this](const SwitchUp& e) { up.set_value(e.dpid); });
    down_sub = loop.subscribe<SwitchDown>([this](const SwitchDown& e) { down.set_value(e.reason); });
    ASSERT_TRUE(manager->start(nullptr).ok());
    auto bound = manager->bound_listeners();
    ASSERT_EQ(bound.size(), 1u);
    port = static_cast<uint16_t>(std::stoi(bound[0].substr(bound[0].rfind(':') + 1)));
    thread = std::thread([this] { loop.run(); });
  }
  void TearDown() override {
    // The manager belongs to the control thread: it is stopped there.
    std::promise<void> done;
    boost::asio::post(loop.context(), [&] {
      manager.reset();
      loop.stop();
      done.set_value();
    });
    done.get_future().wait();
    thread.join();
  }
  template <typename Fn>
  auto on_loop(Fn fn) {
    std::promise<decltype(fn())> p;
    boost::asio::post(loop.context(), [&] { p.set_value(fn()); });
    return p.get_future().get();
  }

  io::ControlLoop loop{RealClock::instance()};
  SessionCounters counters;
  std::unique_ptr<SwitchManager> manager;
  std::promise<uint64_t> up;
  std::promise<std::string> down;
  io::Subscription up_sub, down_sub;
  std::thread thread;
  uint16_t port = 0;
};

TEST_F(ManagerTest, BatchesRequestsAndEventsThroughTheRings) {
  FakeSwitch sw(port);
  ASSERT_TRUE(sw.connected());
  InlineBuffer<64> hello;
  ofp::encode_hello(hello, 1, ofp::Hello{1u << 4});
  sw.send(hello.span());
  std::thread handshake([&] { sw.until(std::nullopt); });
  auto up_future = up.get_future();
  ASSERT_EQ(up_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  handshake.join();
  EXPECT_EQ(up_future.get(), 0xd1du);
  auto ports = on_loop([&] { return manager->switches().at(0xd1d).ports.size(); });
  EXPECT_EQ(ports, 1u);

  // A batch of two messages and a barrier; the switch fails the second.
  std::promise<BatchResult> batch;
  on_loop([&] {
    InlineBuffer<64> m;
    ofp::encode_simple(m, MsgType::kGetConfigRequest, 0);
    std::vector<uint8_t> bytes(m.data(), m.data() + m.size());
    EXPECT_TRUE(manager->send(0xd1d, bytes).ok());
    EXPECT_TRUE(manager->send(0xd1d, bytes).ok());
    EXPECT_TRUE(manager->barrier(0xd1d, [&](const BatchResult& r) { batch.set_value(r); }).ok());
    EXPECT_FALSE(manager->send(0x999, bytes).ok());  // unknown datapath: a clear error
    return 0;
  });
  auto first = sw.until(MsgType::kGetConfigRequest);
  auto second = sw.until(MsgType::kGetConfigRequest);
  auto barrier = sw.until(MsgType::kBarrierRequest);
  ASSERT_FALSE(barrier.empty());
  EXPECT_NE(load_be32(first.data() + 4), load_be32(second.data() + 4));  // the session stamped xids
  InlineBuffer<256> answer;
  ofp::encode_error(answer, load_be32(second.data() + 4), ofp::errors::kBadRequest_EPERM, ByteSpan(second));
  ofp::encode_simple(answer, MsgType::kBarrierReply, load_be32(barrier.data() + 4));
  sw.send(answer.span());
  auto result = batch.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  BatchResult r = result.get();
  EXPECT_TRUE(r.completed);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].first, load_be32(second.data() + 4));
  EXPECT_EQ(r.errors[0].second, ofp::errors::kBadRequest_EPERM);
  EXPECT_EQ(counters.barrier_count.load(), 1u);

  // A request and its multipart reply.
  std::promise<Result<Reply>> reply;
  on_loop([&] {
    InlineBuffer<64> m;
    ofp::encode_multipart_request(m, 0, ofp::MultipartType::kDesc, {});
    return manager
        ->request(0xd1d, std::vector<uint8_t>(m.data(), m.data() + m.size()),
                  [&](Result<Reply> r) { reply.set_value(std::move(r)); })
        .ok();
  });
  auto desc = sw.until(MsgType::kMultipartRequest);
  InlineBuffer<1200> d;
  size_t start = ofp::begin_message(d, MsgType::kMultipartReply, load_be32(desc.data() + 4));
  d.put_be16(0);
  d.put_be16(0);
  d.put_be32(0);
  d.put_zeros(1056);
  ofp::finish_message(d, start);
  sw.send(d.span());
  auto got = reply.get_future();
  ASSERT_EQ(got.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto rr = got.get();
  ASSERT_TRUE(rr.ok()) << rr.error().message();
  EXPECT_EQ(rr->body.size(), 1056u);

  // The switch goes: a down event with the reason, and the registry remembers the datapath.
  sw.close();
  auto gone = down.get_future();
  ASSERT_EQ(gone.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_NE(gone.get().find("closed by the switch"), std::string::npos);
  EXPECT_FALSE(on_loop([&] { return manager->switches().at(0xd1d).connected; }));
}

}  // namespace
}  // namespace vlcp::sw
