// The SwitchManager end to end inside one process: a listener, an I/O thread, the rings, and
// the control loop on its own thread, against a scripted switch on a real TCP socket. What the
// flow installer will lean on: send, barrier batches with the switch's errors, requests with
// replies, and up/down events by datapath id.
#include "switch/manager.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <set>
#include <stdexcept>
#include <thread>

#include "sched/lcores.h"

namespace vlcp::sw {
namespace {

using ofp::MsgType;

// A blocking, scripted switch.
class FakeSwitch {
 public:
  explicit FakeSwitch(uint16_t port, uint64_t dpid = 0xd1d) : dpid_(dpid) {
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
        ofp::encode_features_reply(b, xid, ofp::FeaturesReply{dpid_, 0, 254, 0, 0x4f});
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
  // HELLO, then the handshake answered.
  void handshake() {
    InlineBuffer<64> hello;
    ofp::encode_hello(hello, 1, ofp::Hello{1u << 4});
    send(hello.span());
    until(std::nullopt);
  }
  // Answers ECHO_REQUESTs until the connection closes (or `stop`); counts what else came.
  void answer_echoes(std::atomic<int>* others, std::atomic<bool>* stop) {
    while (!stop->load()) {
      errno = 0;
      auto m = next();
      if (m.empty()) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) continue;  // the receive timeout
        return;
      }
      if (static_cast<MsgType>(m[1]) == MsgType::kEchoRequest) {
        InlineBuffer<64> r;
        ofp::encode_simple(r, MsgType::kEchoReply, load_be32(m.data() + 4));
        send(r.span());
      } else {
        others->fetch_add(1);
      }
    }
  }
  // Reads until the end of the stream: the messages before it; nullopt if the stream did not end
  // (the receive timeout ran out first).
  std::optional<std::vector<std::vector<uint8_t>>> until_closed() {
    std::vector<std::vector<uint8_t>> got;
    while (true) {
      errno = 0;
      auto m = next();
      if (m.empty()) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
        return got;
      }
      got.push_back(std::move(m));
    }
  }
  void set_timeout(int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

 private:
  uint64_t dpid_;
  int fd_ = -1;
  bool connected_ = false;
  std::vector<uint8_t> buf_;
};

class ManagerTest : public ::testing::Test {
 protected:
  // What a fixture adds: packet-in handlers, worker lcores.
  virtual void add_handlers(PacketInTable&) {}
  virtual sched::Lcores* lcores() { return nullptr; }
  void SetUp() override {
    OpenflowSettings s;
    s.listeners.push_back(*parse_listener("tcp://127.0.0.1:0"));
    s.session.probe_interval = std::chrono::seconds(30);
    s.session.probe_timeout = std::chrono::milliseconds(300);  // also the duplicate's echo timeout
    auto table = make_packet_in_table(s);
    add_handlers(*table);
    manager = std::make_unique<SwitchManager>(loop, s, &counters, table);
    up_sub = loop.subscribe<SwitchUp>([this](const SwitchUp& e) {
      if (ups++ == 0) up.set_value(e.dpid);
    });
    down_sub = loop.subscribe<SwitchDown>([this](const SwitchDown& e) {
      if (downs++ == 0) down.set_value(e.reason);
    });
    ASSERT_TRUE(manager->start(lcores()).ok());
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
  std::atomic<int> ups{0}, downs{0};
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

// Waits until `pred` holds (checked on the control loop), for up to five seconds.
#define WAIT_ON_LOOP(pred)                                               \
  [&] {                                                                  \
    for (int i = 0; i < 500; ++i) {                                      \
      if (on_loop([&] { return static_cast<bool>(pred); })) return true; \
      std::this_thread::sleep_for(std::chrono::milliseconds(10));        \
    }                                                                    \
    return false;                                                        \
  }()

// A second connection announcing a connected datapath's id does not evict the holder while it
// answers echoes: the newcomer is closed, the datapath keeps its connection, nothing is sent
// to the newcomer, and the refusal is counted.
TEST_F(ManagerTest, DuplicateDatapathDoesNotEvictALiveSwitch) {
  FakeSwitch real(port);
  ASSERT_TRUE(real.connected());
  real.handshake();
  auto up_future = up.get_future();
  ASSERT_EQ(up_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  uint32_t holder = on_loop([&] { return manager->switches().at(0xd1d).conn; });
  real.set_timeout(50);
  std::atomic<int> real_others{0};
  std::atomic<bool> stop{false};
  std::thread echoes([&] { real.answer_echoes(&real_others, &stop); });

  for (int round = 0; round < 3; ++round) {
    FakeSwitch impostor(port);
    ASSERT_TRUE(impostor.connected());
    impostor.handshake();
    // The impostor is closed, and nothing but the close arrives.
    auto got = impostor.until_closed();
    ASSERT_TRUE(got) << "the impostor's connection stayed open";
    EXPECT_TRUE(got->empty()) << "the impostor was sent a message of type " << int((*got)[0][1]);
    EXPECT_EQ(counters.duplicate_refused.load(), static_cast<uint64_t>(round + 1));
  }
  EXPECT_EQ(counters.duplicate_replaced.load(), 0u);
  EXPECT_EQ(ups.load(), 1);
  EXPECT_EQ(downs.load(), 0);
  auto info = on_loop([&] { return manager->switches().at(0xd1d); });
  EXPECT_TRUE(info.connected);
  EXPECT_EQ(info.conn, holder);
  EXPECT_EQ(info.connections, 1u);

  // What the controller sends the datapath still reaches the real switch.
  on_loop([&] {
    InlineBuffer<64> m;
    ofp::encode_simple(m, MsgType::kGetConfigRequest, 0);
    return manager->send(0xd1d, std::vector<uint8_t>(m.data(), m.data() + m.size())).ok();
  });
  EXPECT_TRUE(WAIT_ON_LOOP(real_others.load() == 1));
  stop = true;
  echoes.join();
}

// When the holder does not answer the echo (OVS restarted before its old connection was seen
// to die), the newcomer takes over within the echo timeout and the holder is closed.
TEST_F(ManagerTest, DuplicateDatapathReplacesADeadHolder) {
  FakeSwitch stale(port);
  stale.handshake();
  auto up_future = up.get_future();
  ASSERT_EQ(up_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  uint32_t old_conn = on_loop([&] { return manager->switches().at(0xd1d).conn; });
  // `stale` no longer reads or answers anything.
  FakeSwitch fresh(port);
  fresh.handshake();
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(WAIT_ON_LOOP(ups.load() == 2));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(2));
  auto info = on_loop([&] { return manager->switches().at(0xd1d); });
  EXPECT_TRUE(info.connected);
  EXPECT_NE(info.conn, old_conn);
  EXPECT_EQ(info.connections, 2u);
  EXPECT_EQ(counters.duplicate_replaced.load(), 1u);
  EXPECT_EQ(counters.duplicate_refused.load(), 0u);
  // The stale connection was closed: after the echo it never answered, the end of the stream.
  auto got = stale.until_closed();
  ASSERT_TRUE(got) << "the stale connection stayed open";
  ASSERT_FALSE(got->empty());
  EXPECT_EQ(static_cast<MsgType>(got->back()[1]), MsgType::kEchoRequest);
}

// A holder that closes while its echo is outstanding lets the newcomer in at once.
TEST_F(ManagerTest, DuplicateDatapathTakesOverWhenTheHolderLeaves) {
  auto settings = std::make_unique<FakeSwitch>(port);
  settings->handshake();
  auto up_future = up.get_future();
  ASSERT_EQ(up_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  FakeSwitch fresh(port);
  fresh.handshake();
  settings.reset();  // the holder leaves (EOF) before the echo timeout
  EXPECT_TRUE(WAIT_ON_LOOP(ups.load() == 2));
  EXPECT_TRUE(on_loop([&] { return manager->switches().at(0xd1d).connected; }));
}

// Listener settings: plain tcp off loopback only when allowed; unix sockets 0600/0660.
TEST(OpenflowSettingsTest, TransportsAreCheckedAndTimeoutsNamed) {
  auto read = [](std::vector<std::pair<std::string, nlohmann::json>> kv) {
    Config c;
    for (auto& [k, v] : kv) c.set(k, v);
    return read_openflow_settings(c);
  };
  EXPECT_TRUE(read({}).ok());
  EXPECT_TRUE(read({{"module.openflowserver.url", "tcp://[::1]:6653"}}).ok());
  auto remote = read({{"module.openflowserver.url", "tcp://0.0.0.0:6653"}});
  ASSERT_FALSE(remote.ok());
  EXPECT_NE(remote.error().message().find("allow_remote_tcp"), std::string::npos);
  EXPECT_FALSE(read({{"module.openflowserver.urls", {"tcp://10.1.2.3"}}}).ok());
  EXPECT_TRUE(read({{"module.openflowserver.url", "tcp://0.0.0.0:6653"},
                    {"module.openflowserver.allow_remote_tcp", true}})
                  .ok());
  EXPECT_TRUE(read({{"module.openflowserver.socketmode", "0660"}}).ok());
  EXPECT_FALSE(read({{"module.openflowserver.socketmode", "0666"}}).ok());
  EXPECT_FALSE(read({{"module.openflowserver.socketmode", "rw"}}).ok());
  EXPECT_EQ(read({{"module.openflowserver.socketmode", "0660"}})->socket_mode, 0660u);
  // Each timeout is reported under its own key.
  for (std::string key : {"protocol.openflow.keepalivetime", "protocol.openflow.keepalivetimeout",
                          "protocol.openflow.hellotimeout"}) {
    auto r = read({{key, 0}});
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_NE(r.error().message().find(key + ":"), std::string::npos) << r.error().message();
  }
  EXPECT_FALSE(read({{"protocol.openflow.maxmultipartbytes", 1000}}).ok());
  EXPECT_EQ(read({{"protocol.openflow.maxmultipartbytes", int64_t{1} << 30}})->session.max_multipart_bytes,
            size_t{1} << 30);
}

// A unix listener is created with the configured mode before it accepts anything.
TEST(OpenflowListenerTest, UnixSocketHasTheConfiguredMode) {
  io::ControlLoop loop{RealClock::instance()};
  SessionCounters counters;
  std::string path = "/tmp/vlcp-of-test-" + std::to_string(getpid()) + ".sock";
  for (unsigned mode : {0600u, 0660u}) {
    OpenflowSettings s;
    s.listeners.push_back(*parse_listener("unix://" + path));
    s.socket_mode = mode;
    {
      SwitchManager m(loop, s, &counters);
      ASSERT_TRUE(m.start(nullptr).ok());
      struct stat st {};
      ASSERT_EQ(::stat(path.c_str(), &st), 0);
      EXPECT_TRUE(S_ISSOCK(st.st_mode));
      EXPECT_EQ(st.st_mode & 0777, mode);
    }
  }
  ::unlink(path.c_str());
  // Something at the path that is not a socket is left alone, and the listener fails.
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_TRUE(f);
  std::fclose(f);
  OpenflowSettings s;
  s.listeners.push_back(*parse_listener("unix://" + path));
  SwitchManager m(loop, s, &counters);
  EXPECT_FALSE(m.start(nullptr).ok());
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);
  ::unlink(path.c_str());
}

// ---- packet-in dispatch --------------------------------------------------------------------------

std::vector<uint8_t> packet_in_with(uint64_t cookie) {
  uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
  ofp::PacketInView p;
  p.total_len = sizeof frame;
  p.cookie = cookie;
  p.data = ByteSpan(frame, sizeof frame);
  ofp::Match m;
  m.add(ofp::Field::kInPort, 1);
  Buffer b;
  ofp::encode_packet_in(b, 0, p, m.oxms());
  return {b.data(), b.data() + b.size()};
}
constexpr uint64_t app(uint64_t id) {
  return id << 48;
}

// Handlers answer with a GET_CONFIG_REQUEST whose xid the session replaces; where each ran is
// recorded. App 2 on the control thread, app 4 on the workers, app 3 throws (on its side).
class PacketInDispatch : public ManagerTest {
 protected:
  void add_handlers(PacketInTable& t) override {
    auto answer = [this](std::atomic<std::thread::id>* where) {
      return [this, where](uint64_t dpid, ByteSpan m, Buffer& out) {
        where->store(std::this_thread::get_id());
        EXPECT_EQ(dpid, 0xd1du);
        EXPECT_EQ(static_cast<MsgType>(m[1]), MsgType::kPacketIn);
        ofp::encode_simple(out, MsgType::kGetConfigRequest, 0);
        ++answered;
      };
    };
    ASSERT_TRUE(t.add(2, {"control-app", PacketInSide::kControl, answer(&control_ran)}).ok());
    ASSERT_TRUE(t.add(4, {"worker-app", PacketInSide::kWorkers, answer(&worker_ran)}).ok());
    // App 5 answers more than a packet-in slot holds: counted as failed, nothing sent.
    ASSERT_TRUE(t.add(5, {"too-much", PacketInSide::kWorkers,
                          [](uint64_t, ByteSpan, Buffer& out) {
                            for (int i = 0; i < 600; ++i)
                              ofp::encode_simple(out, MsgType::kGetConfigRequest, 0);
                          }})
                    .ok());
    ASSERT_TRUE(
        t.add(3, {"throws", throwing_side(),
                  [](uint64_t, ByteSpan, Buffer&) -> void { throw std::runtime_error("handler bug"); }})
            .ok());
  }
  virtual PacketInSide throwing_side() { return PacketInSide::kControl; }
  // A switch past its handshake.
  std::unique_ptr<FakeSwitch> ready_switch() {
    auto sw = std::make_unique<FakeSwitch>(port);
    sw->handshake();
    auto f = up.get_future();
    EXPECT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    sw->set_timeout(2000);
    return sw;
  }
  // Sends a packet-in; the next message the switch gets (empty: none within the timeout).
  std::vector<uint8_t> answer_to(FakeSwitch& sw, uint64_t cookie) {
    sw.send(packet_in_with(cookie));
    return sw.next();
  }
  uint64_t stat(const std::string& name, bool failed) {
    for (const auto& s : manager->packet_ins().stats())
      if (s.app == name) return failed ? s.failed : s.handled;
    return ~uint64_t{0};
  }
  std::atomic<std::thread::id> control_ran{}, worker_ran{};
  std::atomic<int> answered{0};
};

TEST_F(PacketInDispatch, EachAppsHandlerOnItsSideUnknownAppsCountedAndDropped) {
  auto sw = ready_switch();
  // App 2: on the control thread, its answer to the switch.
  auto a = answer_to(*sw, app(2) | 0x55);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(static_cast<MsgType>(a[1]), MsgType::kGetConfigRequest);
  EXPECT_EQ(control_ran.load(), thread.get_id());
  // App 4 declares the workers; none runs here, so the I/O thread that read it runs it.
  a = answer_to(*sw, app(4));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(static_cast<MsgType>(a[1]), MsgType::kGetConfigRequest);
  EXPECT_NE(worker_ran.load(), thread.get_id());
  EXPECT_NE(worker_ran.load(), std::thread::id{});
  // An app id nobody registered, and no fallback: nothing is sent, the drop is counted.
  sw->set_timeout(300);
  EXPECT_TRUE(answer_to(*sw, app(0x42)).empty());
  EXPECT_TRUE(answer_to(*sw, 0).empty());
  EXPECT_EQ(manager->packet_ins().unclaimed(), 2u);
  EXPECT_EQ(answered.load(), 2);
  EXPECT_EQ(stat("control-app", false), 1u);
  EXPECT_EQ(stat("worker-app", false), 1u);
}

TEST_F(PacketInDispatch, AThrowingHandlerIsCountedAndTheSwitchStaysServed) {
  auto sw = ready_switch();
  sw->set_timeout(300);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(answer_to(*sw, app(3)).empty());
  EXPECT_EQ(stat("throws", true), 3u);
  // The same switch, the same connection: the next packet-in is answered.
  sw->set_timeout(2000);
  auto a = answer_to(*sw, app(2));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(static_cast<MsgType>(a[1]), MsgType::kGetConfigRequest);
  EXPECT_TRUE(on_loop([&] { return manager->switches().at(0xd1d).connected; }));
  EXPECT_EQ(ups.load(), 1);
  EXPECT_EQ(downs.load(), 0);
}

// The same on a worker lcore (the EAL without hugepages, once per process).
class PacketInOnWorkers : public PacketInDispatch {
 protected:
  sched::Lcores* lcores() override {
    static sched::Lcores* started = []() -> sched::Lcores* {
      auto allowed = sched::process_affinity();
      if (!allowed.ok()) return nullptr;
      sched::PlacementInput in;
      in.allowed = *allowed;
      in.workers = 1;
      sched::SchedSettings settings;
      settings.memory_mb = 32;
      auto l = sched::Lcores::start(settings, sched::plan_placement(in));
      return l.ok() ? l->release() : nullptr;  // kept for the process: the EAL starts once
    }();
    return started;
  }
  PacketInSide throwing_side() override { return PacketInSide::kWorkers; }
  void SetUp() override {
    ManagerTest::SetUp();
    if (!lcores() || lcores()->workers() == 0) GTEST_SKIP() << "no worker lcore could start here";
  }
};

TEST_F(PacketInOnWorkers, WorkerHandlersRunOnTheWorkerAndSurviveAThrow) {
  auto sw = ready_switch();
  auto a = answer_to(*sw, app(4));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(static_cast<MsgType>(a[1]), MsgType::kGetConfigRequest);
  EXPECT_NE(worker_ran.load(), thread.get_id());
  EXPECT_NE(worker_ran.load(), std::thread::id{});
  EXPECT_TRUE(WAIT_ON_LOOP(manager->packet_ins_to_workers() == 1));  // counted after the burst
  // Control handlers still run on the control thread.
  a = answer_to(*sw, app(2));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(control_ran.load(), thread.get_id());
  // A handler that throws on the worker: counted, the worker goes on.
  sw->set_timeout(300);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(answer_to(*sw, app(3)).empty());
  EXPECT_EQ(stat("throws", true), 3u);
  sw->set_timeout(2000);
  a = answer_to(*sw, app(4));
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(WAIT_ON_LOOP(manager->packet_ins_to_workers() == 5));
  EXPECT_EQ(stat("worker-app", false), 2u);
}

// Many packet-ins in one write (one read on the I/O thread, one burst to the worker): every one
// answered once, each answer with its own xid; a handler whose answers outgrow its slot is counted
// and answers nothing, and the path goes on.
TEST_F(PacketInOnWorkers, ABurstIsAnsweredWholeAndOversizedAnswersAreCounted) {
  auto sw = ready_switch();
  constexpr int kBurst = 3000;  // more than one pool's worth of slots in flight at most once
  std::vector<uint8_t> burst;
  for (int i = 0; i < kBurst; ++i) {
    auto m = packet_in_with(app(4));
    burst.insert(burst.end(), m.begin(), m.end());
  }
  sw->send(burst);
  std::set<uint32_t> xids;
  int got = 0;
  while (got < kBurst) {
    auto a = sw->next();
    if (a.empty()) break;
    ASSERT_EQ(static_cast<MsgType>(a[1]), MsgType::kGetConfigRequest);
    xids.insert(load_be32(a.data() + 4));
    ++got;
  }
  // What the pool could not take was shed and counted, never lost silently.
  uint64_t shed = counters.messages_dropped.load();
  EXPECT_EQ(static_cast<uint64_t>(got) + shed, static_cast<uint64_t>(kBurst));
  EXPECT_EQ(counters.packet_ins_shed.load(), shed);  // every drop here was a packet-in without a slot
  EXPECT_GT(got, 0);
  EXPECT_EQ(xids.size(), static_cast<size_t>(got));
  sw->set_timeout(300);
  EXPECT_TRUE(answer_to(*sw, app(5)).empty());
  EXPECT_EQ(stat("too-much", true), 1u);
  sw->set_timeout(2000);
  auto a = answer_to(*sw, app(4));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(static_cast<MsgType>(a[1]), MsgType::kGetConfigRequest);
}

}  // namespace
}  // namespace vlcp::sw
