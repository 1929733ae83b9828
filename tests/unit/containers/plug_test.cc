// The plug machine (src/containers/plug, docs/CONTAINERS_DESIGN.md §3) against fakes of its
// three seams — the model's endpoint transactions, the link thread, the OVSDB port commands —
// that keep what they made (so "nothing left" is checked on state, not on calls) and answer
// through a queue the test drains (so order and interleaving are the test's to choose). Time is a
// ManualClock on a real ControlLoop: deadlines and retry delays pass when the test says.
#include "containers/plug.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "io/control_loop.h"

namespace vlcp::containers {
namespace {

using namespace std::chrono_literals;

const std::string kEid = "3fa2c91d07e4b5a6978877665544332211000fedcba98765432100123456789a";
const std::string kEid2 = "77aa00bb11cc22dd33ee44ff5566778899aabbccddeeff001122334455667788";
const std::string kCid = "c0ffee0123456789abcdef";
const std::string kPodNs = "/var/run/netns/pod1";

// What an injected failure does: answer `status` before the effect, or make the effect and then
// answer it (a lost answer); `times` calls fail (then they succeed again); `silent`: never answer.
struct Injection {
  Status status;
  bool after_effect = false;
  int times = 1;
  bool silent = false;
};

struct FakeLink {
  std::string alias;
  std::string peer;  // "<netns>|<name>"
  uint32_t mtu = 0;
  std::optional<link::Mac> mac;
};

// The world the three fakes share: their state, the calls in order, and the answers not yet given.
struct World {
  std::vector<std::string> calls;
  std::deque<std::function<void()>> answers;
  std::map<std::string, Injection> inject;   // by call name
  std::vector<std::function<void()>> never;  // answers withheld for good (silent)

  std::map<std::string, std::string> model;       // port id -> owner (systemid)
  std::map<std::string, EndpointRecord> records;  // port id -> record
  std::map<std::string, FakeLink> links;          // "<netns>|<name>"
  std::map<std::string, OvsPortSpec> ovsdb;       // port name -> spec
  std::vector<link::NetnsSetup> setups;
  std::string node = "node-1";

  // Returns the injection for `call` when this call must fail (and uses one of its times).
  std::optional<Injection> take(const std::string& call) {
    calls.push_back(call);
    auto it = inject.find(call);
    if (it == inject.end() || it->second.times == 0) return std::nullopt;
    if (it->second.times > 0) --it->second.times;
    return it->second;
  }
  size_t count(const std::string& call) const { return std::count(calls.begin(), calls.end(), call); }
  ptrdiff_t index(const std::string& call, size_t nth = 0) const {
    size_t seen = 0;
    for (size_t i = 0; i < calls.size(); ++i) {
      if (calls[i] == call && seen++ == nth) return static_cast<ptrdiff_t>(i);
    }
    return -1;
  }
  bool empty() const { return model.empty() && links.empty() && ovsdb.empty(); }
};

// Queues `effect` then `answer`, or the injected failure, as one answer.
template <typename R>
void respond(World& w, const std::string& call, std::function<R()> effect, std::function<void(R)> done) {
  auto inj = w.take(call);
  if (inj && inj->silent) {
    w.never.push_back([] {});
    return;
  }
  w.answers.push_back([inj, effect = std::move(effect), done = std::move(done)] {
    if (!inj) {
      done(effect());
      return;
    }
    if (inj->after_effect) (void)effect();
    done(R(inj->status));
  });
}

std::string lk(const std::string& ns, const std::string& name) {
  return ns + "|" + name;
}

class FakeStore final : public EndpointStore {
 public:
  explicit FakeStore(World& w) : w_(w) {}
  void create_endpoint(const PlugRequest& request, const EndpointNames& names,
                       std::function<void(Result<EndpointRecord>)> done) override {
    respond<Result<EndpointRecord>>(
        w_, "create_endpoint",
        [this, names, request]() -> Result<EndpointRecord> {
          auto it = w_.model.find(names.port_id);
          if (it != w_.model.end() && it->second != w_.node) {
            return make_error(Errc::kAlreadyExists, "port " + names.port_id + " belongs to " + it->second);
          }
          EndpointRecord r;
          r.mac = {0x02, 0x00, 0x0a, 0x01, 0x00, 0x07};
          r.address = link::Ipv4Prefix{{10, 1, 0, 7}, 24};
          r.gateway = link::Ipv4{10, 1, 0, 1};
          r.routes = {link::Route{link::Ipv4Prefix{{10, 2, 0, 0}, 16}, link::Ipv4{10, 1, 0, 254}}};
          r.mtu = 1450;
          r.port = {{"id", names.port_id}, {"ip", request.model.value("ip", "10.1.0.7")}};
          w_.model[names.port_id] = w_.node;
          w_.records[names.port_id] = r;
          return r;
        },
        std::move(done));
  }
  void delete_endpoint(const std::string& port_id, std::function<void(Status)> done) override {
    respond<Status>(
        w_, "delete_endpoint",
        [this, port_id] {
          w_.model.erase(port_id);
          w_.records.erase(port_id);
          return Status{};
        },
        std::move(done));
  }

 private:
  World& w_;
};

class FakeLinks final : public link::LinkOps {
 public:
  explicit FakeLinks(World& w) : w_(w) {}
  bool set_alias = true;  // false: a crash between create and alias (the kernel ignores it at create)

  void create_veth(link::VethRequest r, Done done) override {
    respond<Status>(
        w_, "create_veth",
        [this, r] {
          std::string host = lk("", r.host_name), peer = lk(r.netns, r.peer_name);
          if (w_.links.count(host) || w_.links.count(peer))
            return make_error(Errc::kAlreadyExists, "name in use");
          std::string alias = set_alias ? r.alias : "";
          w_.links[host] = FakeLink{alias, peer, r.mtu, std::nullopt};
          w_.links[peer] = FakeLink{alias, host, r.mtu, r.peer_mac};
          return Status{};
        },
        std::move(done));
  }
  void delete_link(std::string name, std::string netns, Done done) override {
    respond<Status>(
        w_, "delete_link",
        [this, name, netns] {
          auto it = w_.links.find(lk(netns, name));
          if (it == w_.links.end()) return make_error(Errc::kNotFound, "no link " + name);
          std::string peer = it->second.peer;
          w_.links.erase(it);
          w_.links.erase(peer);  // a veth end takes its peer with it
          return Status{};
        },
        std::move(done));
  }
  void set_link(link::LinkChange, Done done) override {
    respond<Status>(
        w_, "set_link", [] { return Status{}; }, std::move(done));
  }
  void setup_netns(link::NetnsSetup s, Done done) override {
    respond<Status>(
        w_, "setup_netns",
        [this, s] {
          if (!w_.links.count(lk(s.netns, s.ifname))) return make_error(Errc::kNotFound, "no " + s.ifname);
          w_.setups.push_back(s);
          return Status{};
        },
        std::move(done));
  }
  void list_links(std::string netns, std::function<void(Result<std::vector<link::LinkInfo>>)> done) override {
    respond<Result<std::vector<link::LinkInfo>>>(
        w_, "list_links",
        [this, netns]() -> Result<std::vector<link::LinkInfo>> {
          std::vector<link::LinkInfo> out;
          for (const auto& [key, l] : w_.links) {
            auto bar = key.find('|');
            if (key.substr(0, bar) != netns) continue;
            link::LinkInfo i;
            i.name = key.substr(bar + 1);
            i.alias = l.alias;
            i.kind = "veth";
            i.mtu = l.mtu;
            out.push_back(i);
          }
          return out;
        },
        std::move(done));
  }

 private:
  World& w_;
};

class FakePorts final : public PortOps {
 public:
  explicit FakePorts(World& w) : w_(w) {}
  void plug_port(const std::string&, OvsPortSpec spec, std::function<void(Status)> done) override {
    respond<Status>(
        w_, "plug_port",
        [this, spec] {
          auto it = w_.ovsdb.find(spec.name);
          if (it != w_.ovsdb.end() && it->second.owner != spec.owner) {
            return make_error(Errc::kConflict,
                              "port " + spec.name + " belongs to '" + it->second.owner + "'");
          }
          w_.ovsdb[spec.name] = spec;
          return Status{};
        },
        std::move(done));
  }
  void unplug_port(const std::string&, const std::string& name, const std::string& owner,
                   std::function<void(Status)> done) override {
    respond<Status>(
        w_, "unplug_port",
        [this, name, owner] {
          auto it = w_.ovsdb.find(name);
          if (it == w_.ovsdb.end()) return Status{};
          if (it->second.owner != owner) return make_error(Errc::kConflict, "not ours");
          w_.ovsdb.erase(it);
          return Status{};
        },
        std::move(done));
  }
  void wait_ofport(const std::string& iface, std::chrono::nanoseconds,
                   std::function<void(Result<int64_t>)> done) override {
    respond<Result<int64_t>>(
        w_, "wait_ofport",
        [this, iface]() -> Result<int64_t> {
          if (!w_.ovsdb.count(iface)) return make_error(Errc::kUnavailable, "no interface " + iface);
          return int64_t{7};
        },
        std::move(done));
  }

 private:
  World& w_;
};

class PlugTest : public ::testing::Test {
 protected:
  PlugTest() : loop(clock), store(w), links(w), ports(w) { make_plugger(); }
  void make_plugger() { plugger = std::make_unique<Plugger>(loop, store, links, ports, settings); }

  // Gives every queued answer (and whatever they queue), then lets retry delays pass: until
  // nothing is queued and no timer is due within `horizon`. Never passes a step's deadline by
  // itself unless asked (a deadline timer is only left when an answer is withheld).
  void settle(std::chrono::nanoseconds horizon = 0ns) {
    auto until = clock.now() + horizon;
    for (int guard = 0; guard < 10000; ++guard) {
      loop.run_pending();
      if (!w.answers.empty()) {
        auto a = std::move(w.answers.front());
        w.answers.pop_front();
        a();
        continue;
      }
      if (clock.now() < until && loop.timers() > 0) {
        clock.advance(50ms);
        continue;
      }
      return;
    }
    FAIL() << "never settled";
  }
  // Retry delays are 100 ms, 200 ms: a second is past them all (and short of every deadline).
  void settle_retries() { settle(1s); }

  PlugRequest docker(const std::string& eid = kEid) {
    PlugRequest r;
    r.endpoint = EndpointIdentity{EndpointKind::kDocker, eid, ""};
    r.bridge = "dockerbr0";
    r.mtu = 1500;
    return r;
  }
  PlugRequest cni(const std::string& ifname = "eth0") {
    PlugRequest r;
    r.endpoint = EndpointIdentity{EndpointKind::kCni, kCid, ifname};
    r.bridge = "br0";
    r.netns = kPodNs;
    r.mtu = 1500;
    return r;
  }
  UnplugRequest unplug_of(const PlugRequest& p) { return UnplugRequest{p.endpoint, p.bridge, p.netns}; }

  struct Answer {
    bool answered = false;
    std::optional<PlugResult> result;
    Status status;
  };
  std::shared_ptr<Answer> plug(PlugRequest r) {
    auto a = std::make_shared<Answer>();
    plugger->plug(std::move(r), [a](Result<PlugResult> res) {
      EXPECT_FALSE(a->answered) << "answered twice";
      a->answered = true;
      a->status = res.status();
      if (res.ok()) a->result = *res;
    });
    return a;
  }
  std::shared_ptr<Answer> unplug(UnplugRequest r) {
    auto a = std::make_shared<Answer>();
    plugger->unplug(std::move(r), [a](Status s) {
      EXPECT_FALSE(a->answered) << "answered twice";
      a->answered = true;
      a->status = s;
    });
    return a;
  }
  std::string host_of(const PlugRequest& r) { return endpoint_names(r.endpoint, "vlcp")->host_veth; }

  ManualClock clock;
  io::ControlLoop loop;
  World w;
  FakeStore store;
  FakeLinks links;
  FakePorts ports;
  PlugSettings settings;
  std::unique_ptr<Plugger> plugger;
};

// ---- names -------------------------------------------------------------------------------------

TEST(EndpointNames, DockerNamesComeFromTheEndpointId) {
  auto n = endpoint_names({EndpointKind::kDocker, kEid, ""}, "vlcp");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(n->port_id, "docker-" + kEid);
  EXPECT_EQ(n->owner, "docker:" + kEid);
  EXPECT_EQ(n->alias, "vlcp:docker:" + kEid);
  EXPECT_EQ(n->host_veth, "vlcp3fa2c91d07");
  EXPECT_EQ(n->peer_veth, "vlcp3fa2c91d07c");
}

TEST(EndpointNames, CniNamesComeFromContainerAndInterface) {
  auto n = endpoint_names({EndpointKind::kCni, kCid, ""}, "vlcp");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->port_id, "k8s-" + kCid);
  EXPECT_EQ(n->owner, "cni:" + kCid + ":eth0");
  EXPECT_EQ(n->alias, "vlcp:cni:" + kCid + ":eth0");
  EXPECT_EQ(n->peer_veth, "eth0");
  EXPECT_EQ(n->host_veth.size(), 14u);
  EXPECT_EQ(n->host_veth.substr(0, 4), "vlcp");
  auto n1 = endpoint_names({EndpointKind::kCni, kCid, "net1"}, "vlcp");
  ASSERT_TRUE(n1.ok());
  EXPECT_EQ(n1->port_id, "k8s-" + kCid + "-net1");
  EXPECT_NE(n1->host_veth, n->host_veth);  // each attachment its own veth
  // Same identity, same names (a retried request finds its own veth).
  EXPECT_EQ(*endpoint_names({EndpointKind::kCni, kCid, "eth0"}, "vlcp"), *n);
}

TEST(EndpointNames, RefusesIdsAndNamesOfTheWrongForm) {
  EXPECT_EQ(endpoint_names({EndpointKind::kDocker, "abc", ""}, "vlcp").status().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(endpoint_names({EndpointKind::kDocker, kEid, ""}, "toolong").status().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(endpoint_names({EndpointKind::kCni, "a/b", ""}, "vlcp").status().code(), Errc::kInvalidArgument);
  EXPECT_EQ(endpoint_names({EndpointKind::kCni, kCid, "a:b"}, "vlcp").status().code(),
            Errc::kInvalidArgument);
  EXPECT_EQ(endpoint_names({EndpointKind::kCni, kCid, "sixteen-chars-xx"}, "vlcp").status().code(),
            Errc::kInvalidArgument);
}

// ---- the journal -------------------------------------------------------------------------------

TEST(StepJournal, UndoesLastFirstRetriesAndTakesNotFoundAsDone) {
  ManualClock clock;
  io::ControlLoop loop(clock);
  std::vector<std::string> ran;
  int flaky_tries = 0, broken_tries = 0;
  StepJournal j;
  j.push("a", [&](std::function<void(Status)> done) {
    ran.push_back("a");
    done(Status{});
  });
  j.push("broken", [&](std::function<void(Status)> done) {
    ran.push_back("broken");
    ++broken_tries;
    done(make_error(Errc::kIo, "refused"));
  });
  j.push("gone", [&](std::function<void(Status)> done) {
    ran.push_back("gone");
    done(make_error(Errc::kNotFound, "already gone"));
  });
  j.push("flaky", [&](std::function<void(Status)> done) {
    ran.push_back("flaky");
    done(++flaky_tries < 2 ? make_error(Errc::kUnavailable, "later") : Status{});
  });
  std::optional<StepJournal::Outcome> out;
  j.unwind(loop, RetryPolicy{3, 100ms}, [&](StepJournal::Outcome o) { out = std::move(o); });
  EXPECT_EQ(j.size(), 0u);
  for (int i = 0; i < 40 && !out; ++i) {
    clock.advance(50ms);
    loop.run_pending();
  }
  ASSERT_TRUE(out);
  EXPECT_EQ(ran, (std::vector<std::string>{"flaky", "flaky", "gone", "broken", "broken", "broken", "a"}));
  EXPECT_EQ(out->undone, 3u);  // flaky (second try), gone (kNotFound), a
  ASSERT_EQ(out->failed.size(), 1u);
  EXPECT_EQ(out->failed[0].first, "broken");
  EXPECT_EQ(out->failed[0].second.code(), Errc::kIo);
  EXPECT_EQ(broken_tries, 3);
}

// ---- happy paths -------------------------------------------------------------------------------

TEST_F(PlugTest, DockerPlugRunsModelVethOvsdbOfportInOrder) {
  auto a = plug(docker());
  settle();
  ASSERT_TRUE(a->answered);
  ASSERT_TRUE(a->status.ok()) << a->status.to_string();
  EXPECT_EQ(w.calls,
            (std::vector<std::string>{"create_endpoint", "create_veth", "plug_port", "wait_ofport"}));
  EXPECT_EQ(a->result->ofport, 7);
  EXPECT_EQ(a->result->mtu, 1450u);  // the model's (subnet -> network), not the request's fallback
  EXPECT_EQ(a->result->names.port_id, "docker-" + kEid);
  EXPECT_EQ(w.model.count("docker-" + kEid), 1u);
  // The veth: host end and Docker's SrcName beside it, both marked, the MAC on the container end.
  ASSERT_EQ(w.links.count(lk("", "vlcp3fa2c91d07")), 1u);
  ASSERT_EQ(w.links.count(lk("", "vlcp3fa2c91d07c")), 1u);
  EXPECT_EQ(w.links[lk("", "vlcp3fa2c91d07")].alias, "vlcp:docker:" + kEid);
  EXPECT_EQ(w.links[lk("", "vlcp3fa2c91d07c")].mac, (link::Mac{0x02, 0x00, 0x0a, 0x01, 0x00, 0x07}));
  EXPECT_EQ(w.links[lk("", "vlcp3fa2c91d07")].mtu, 1450u);
  // The OVSDB interface: iface-id, attached-mac, owner, MTU.
  ASSERT_EQ(w.ovsdb.count("vlcp3fa2c91d07"), 1u);
  const auto& spec = w.ovsdb["vlcp3fa2c91d07"];
  EXPECT_EQ(spec.owner, "docker:" + kEid);
  EXPECT_EQ(spec.external_ids.at("iface-id"), "docker-" + kEid);
  EXPECT_EQ(spec.external_ids.at("attached-mac"), "02:00:0a:01:00:07");
  EXPECT_EQ(spec.mtu_request, 1450);
  EXPECT_TRUE(w.setups.empty());  // Docker configures the container's side itself
  EXPECT_EQ(plugger->counters().plugs, 1u);
  EXPECT_EQ(plugger->endpoints_busy(), 0u);
  EXPECT_EQ(loop.timers(), 0u);  // every deadline cancelled
}

TEST_F(PlugTest, CniPlugMakesThePodInterfaceInItsNetnsWithAddressRoutesMtu) {
  auto a = plug(cni("net1"));
  settle();
  ASSERT_TRUE(a->status.ok()) << a->status.to_string();
  EXPECT_EQ(w.calls, (std::vector<std::string>{"create_endpoint", "create_veth", "setup_netns", "plug_port",
                                               "wait_ofport"}));
  auto names = a->result->names;
  EXPECT_EQ(names.port_id, "k8s-" + kCid + "-net1");
  EXPECT_EQ(w.links.count(lk(kPodNs, "net1")), 1u);  // made in the pod's netns under CNI_IFNAME
  EXPECT_EQ(w.links[lk(kPodNs, "net1")].alias, "vlcp:cni:" + kCid + ":net1");
  EXPECT_EQ(w.links.count(lk("", names.host_veth)), 1u);
  ASSERT_EQ(w.setups.size(), 1u);
  const auto& s = w.setups[0];
  EXPECT_EQ(s.netns, kPodNs);
  EXPECT_EQ(s.ifname, "net1");
  EXPECT_EQ(s.mtu, 1450u);
  EXPECT_EQ(s.addresses, (std::vector<link::Ipv4Prefix>{{{10, 1, 0, 7}, 24}}));
  ASSERT_EQ(s.routes.size(), 2u);
  EXPECT_EQ(s.routes[0], (link::Route{{{0, 0, 0, 0}, 0}, link::Ipv4{10, 1, 0, 1}}));  // default via gateway
  EXPECT_EQ(s.routes[1], (link::Route{{{10, 2, 0, 0}, 16}, link::Ipv4{10, 1, 0, 254}}));
  EXPECT_EQ(w.ovsdb.at(names.host_veth).owner, "cni:" + kCid + ":net1");
  EXPECT_EQ(w.ovsdb.at(names.host_veth).external_ids.at("iface-id"), "k8s-" + kCid + "-net1");
}

// ---- failure at every step ---------------------------------------------------------------------

struct FailCase {
  bool cni;
  std::string call;
  bool after_effect;  // the effect happened, the answer was lost (kUnavailable)
  PlugStep step;
};

void PrintTo(const FailCase& c, std::ostream* os) {
  *os << (c.cni ? "cni " : "docker ") << c.call
      << (c.after_effect ? " after its effect" : " before its effect");
}

class PlugFailure : public PlugTest, public ::testing::WithParamInterface<FailCase> {};

TEST_P(PlugFailure, UndoesTheDoneStepsInReverseAndLeavesNothing) {
  const FailCase& c = GetParam();
  Status injected = c.after_effect ? make_error(Errc::kUnavailable, "answer lost")
                                   : make_error(Errc::kInvalidArgument, "refused");
  w.inject[c.call] = Injection{injected, c.after_effect, 1};
  auto a = plug(c.cni ? cni() : docker());
  settle_retries();
  ASSERT_TRUE(a->answered);
  EXPECT_EQ(a->status.code(), injected.code()) << a->status.to_string();
  EXPECT_NE(a->status.message().find(std::string(plug_step_label(c.step))), std::string::npos)
      << a->status.message();
  EXPECT_TRUE(w.empty()) << "model " << w.model.size() << " links " << w.links.size() << " ovsdb "
                         << w.ovsdb.size();
  EXPECT_EQ(plugger->counters().plug_failures, 1u);
  EXPECT_EQ(plugger->counters().step_failures[static_cast<size_t>(c.step)], 1u);
  EXPECT_EQ(plugger->counters().undo_failures, 0u);
  // Reverse order: the OVSDB undo before the veth's, the veth's before the model's.
  ptrdiff_t failed_at = w.index(c.call);
  ptrdiff_t unplug = w.index("unplug_port"), del_link = w.index("delete_link"),
            del_ep = w.index("delete_endpoint");
  if (unplug >= 0 && del_link >= 0) {
    EXPECT_LT(unplug, del_link);
  }
  if (del_link >= 0) {
    EXPECT_LT(del_link, del_ep);
  }
  if (c.call != "create_endpoint" || c.after_effect) {
    EXPECT_GT(del_ep, failed_at);
  }
  // Nothing after the failed step was tried.
  const std::vector<std::string> order =
      c.cni ? std::vector<std::string>{"create_endpoint", "create_veth", "setup_netns", "plug_port",
                                       "wait_ofport"}
            : std::vector<std::string>{"create_endpoint", "create_veth", "plug_port", "wait_ofport"};
  auto pos = std::find(order.begin(), order.end(), c.call);
  for (auto it = pos + 1; it != order.end(); ++it) EXPECT_EQ(w.count(*it), 0u) << *it;
  EXPECT_EQ(plugger->endpoints_busy(), 0u);
}

std::vector<FailCase> fail_cases() {
  std::vector<FailCase> out;
  for (bool cni : {false, true}) {
    for (bool after : {false, true}) {
      out.push_back({cni, "create_endpoint", after, PlugStep::kModel});
      out.push_back({cni, "create_veth", after, PlugStep::kVeth});
      if (cni) out.push_back({cni, "setup_netns", after, PlugStep::kNetns});
      out.push_back({cni, "plug_port", after, PlugStep::kOvsdb});
      out.push_back({cni, "wait_ofport", after, PlugStep::kOfport});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(EveryStep, PlugFailure, ::testing::ValuesIn(fail_cases()),
                         [](const ::testing::TestParamInfo<FailCase>& i) {
                           return std::string(i.param.cni ? "Cni_" : "Docker_") + i.param.call +
                                  (i.param.after_effect ? "_AfterEffect" : "_BeforeEffect");
                         });

// ---- deadlines ---------------------------------------------------------------------------------

TEST_F(PlugTest, OfportWaitPastItsDeadlineIsUndoneAndAnswersTimeout) {
  w.inject["wait_ofport"] = Injection{Status{}, false, 1, /*silent=*/true};
  auto a = plug(docker());
  settle();
  EXPECT_FALSE(a->answered);  // waiting for the ofport
  EXPECT_FALSE(w.empty());
  clock.advance(settings.ofport_wait + 1ms);
  settle_retries();
  ASSERT_TRUE(a->answered);
  EXPECT_EQ(a->status.code(), Errc::kTimeout);  // 504 (docker_http_status)
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(plugger->counters().timeouts, 1u);
  EXPECT_EQ(plugger->counters().step_failures[static_cast<size_t>(PlugStep::kOfport)], 1u);
}

TEST_F(PlugTest, AModelStepAnsweringAfterItsDeadlineIsUndoneWhenItComes) {
  auto a = plug(docker());
  ASSERT_EQ(w.answers.size(), 1u);  // the model's answer, held back
  auto late = std::move(w.answers.front());
  w.answers.pop_front();
  clock.advance(settings.step_deadline + 1ms);
  settle_retries();
  ASSERT_TRUE(a->answered);
  EXPECT_EQ(a->status.code(), Errc::kTimeout);
  EXPECT_EQ(w.count("create_veth"), 0u);
  late();  // the transaction committed after all
  settle_retries();
  EXPECT_TRUE(w.model.empty());  // its undo ran once it answered
  EXPECT_EQ(plugger->counters().late_answers, 1u);
}

// ---- undo failures -----------------------------------------------------------------------------

TEST_F(PlugTest, AnUndoThatStillFailsIsCountedAndTheRestAreStillUndone) {
  w.inject["wait_ofport"] =
      Injection{make_error(Errc::kUnavailable, "could not open network device"), false, 1};
  w.inject["unplug_port"] = Injection{make_error(Errc::kUnavailable, "OVSDB gone"), false, -1};  // always
  auto a = plug(docker());
  settle_retries();
  ASSERT_TRUE(a->answered);
  EXPECT_EQ(a->status.code(), Errc::kUnavailable);
  EXPECT_NE(a->status.message().find("could not open network device"), std::string::npos);
  EXPECT_EQ(w.count("unplug_port"), settings.undo.attempts);  // retried
  EXPECT_EQ(plugger->counters().undo_failures, 1u);
  EXPECT_EQ(plugger->counters().undos, 2u);  // veth, model
  EXPECT_TRUE(w.links.empty());
  EXPECT_TRUE(w.model.empty());
  EXPECT_EQ(w.ovsdb.count("vlcp3fa2c91d07"), 1u);  // left for the reconcile, owner-marked
  EXPECT_EQ(w.ovsdb["vlcp3fa2c91d07"].owner, "docker:" + kEid);
}

// ---- the keyed queue ---------------------------------------------------------------------------

TEST_F(PlugTest, TwoPlugsOfOneEndpointRunOneAfterTheOther) {
  auto first = plug(docker());
  auto second_req = docker();
  second_req.model["ip"] = "10.1.0.8";  // not a replay: a second, different request
  auto second = plug(second_req);
  EXPECT_EQ(w.count("create_endpoint"), 1u);  // the second waits
  EXPECT_TRUE(plugger->busy(*endpoint_names(second_req.endpoint, "vlcp")));
  settle();
  ASSERT_TRUE(first->status.ok()) << first->status.to_string();
  ASSERT_TRUE(second->status.ok()) << second->status.to_string();
  EXPECT_LT(w.index("wait_ofport", 0), w.index("create_endpoint", 1));  // all of the first, then the second
  // The second replaced the first's artifacts (ours): one of each left.
  EXPECT_EQ(w.model.size(), 1u);
  EXPECT_EQ(w.links.size(), 2u);
  EXPECT_EQ(w.ovsdb.size(), 1u);
  EXPECT_EQ(second->result->record.port["ip"], "10.1.0.8");
  EXPECT_EQ(plugger->endpoints_busy(), 0u);
}

TEST_F(PlugTest, PlugsOfDifferentEndpointsInterleave) {
  auto a = plug(docker(kEid));
  auto b = plug(docker(kEid2));
  EXPECT_EQ(w.count("create_endpoint"), 2u);  // both started before either was answered
  EXPECT_EQ(plugger->endpoints_busy(), 2u);
  settle();
  ASSERT_TRUE(a->status.ok());
  ASSERT_TRUE(b->status.ok());
  EXPECT_LT(w.index("create_endpoint", 1), w.index("wait_ofport", 0));
  EXPECT_EQ(w.model.size(), 2u);
  EXPECT_EQ(w.links.size(), 4u);
  EXPECT_EQ(w.ovsdb.size(), 2u);
}

// ---- unplug ------------------------------------------------------------------------------------

TEST_F(PlugTest, UnplugRunsOvsdbVethModelAndLeavesNothing) {
  auto req = cni();
  plug(req);
  settle();
  w.calls.clear();
  auto u = unplug(unplug_of(req));
  settle();
  ASSERT_TRUE(u->answered);
  EXPECT_TRUE(u->status.ok()) << u->status.to_string();
  EXPECT_EQ(w.calls, (std::vector<std::string>{"unplug_port", "delete_link", "delete_endpoint"}));
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(plugger->counters().unplugs, 1u);
  // Again (a DEL twice): still fine, nothing there.
  auto again = unplug(unplug_of(req));
  settle();
  EXPECT_TRUE(again->status.ok()) << again->status.to_string();
}

TEST_F(PlugTest, UnplugGoesOnPastAFailedOvsdbStepAndAnswersTheModelsResult) {
  auto req = docker();
  plug(req);
  settle();
  w.inject["unplug_port"] = Injection{make_error(Errc::kUnavailable, "OVSDB gone"), false, -1};
  auto u = unplug(unplug_of(req));
  settle_retries();
  ASSERT_TRUE(u->answered);
  EXPECT_TRUE(u->status.ok()) << u->status.to_string();  // the model step's result
  EXPECT_TRUE(w.links.empty());
  EXPECT_TRUE(w.model.empty());
  EXPECT_EQ(w.ovsdb.size(), 1u);  // left, owner-marked, for the reconcile
  EXPECT_EQ(plugger->counters().unplug_step_failures, 1u);
  // And a failing model step is what the unplug answers.
  w.inject.erase("unplug_port");
  auto req2 = docker(kEid2);
  plug(req2);
  settle();
  w.inject["delete_endpoint"] = Injection{make_error(Errc::kUnavailable, "store unreachable"), false, -1};
  auto u2 = unplug(unplug_of(req2));
  settle_retries();
  EXPECT_EQ(u2->status.code(), Errc::kUnavailable);
  EXPECT_EQ(w.ovsdb.count(host_of(req2)), 0u);  // the steps before it still ran
}

TEST_F(PlugTest, UnplugWaitsForAPlugOfTheSameEndpoint) {
  auto req = docker();
  auto p = plug(req);
  auto u = unplug(unplug_of(req));
  EXPECT_EQ(w.count("unplug_port"), 0u);
  settle();
  EXPECT_TRUE(p->status.ok());
  EXPECT_TRUE(u->status.ok());
  EXPECT_LT(w.index("wait_ofport"), w.index("unplug_port"));
  EXPECT_TRUE(w.empty());
}

// ---- owners ------------------------------------------------------------------------------------

TEST_F(PlugTest, AVethOfOurNameWithAnotherOwnerIs409AndStaysUntouched) {
  w.links[lk("", "vlcp3fa2c91d07")] = FakeLink{"vlcp:docker:someoneelse", lk("", "x"), 1500, std::nullopt};
  auto before = w.links;
  auto a = plug(docker());
  settle_retries();
  ASSERT_TRUE(a->answered);
  EXPECT_EQ(a->status.code(), Errc::kAlreadyExists);  // 409
  EXPECT_EQ(w.links.size(), before.size());
  EXPECT_EQ(w.links[lk("", "vlcp3fa2c91d07")].alias, "vlcp:docker:someoneelse");
  EXPECT_EQ(w.count("delete_link"), 0u);
  EXPECT_EQ(w.count("plug_port"), 0u);
  EXPECT_TRUE(w.model.empty());  // our model step undone
}

TEST_F(PlugTest, AnOvsdbPortOfOurNameWithAnotherOwnerIs409AndStays) {
  OvsPortSpec theirs;
  theirs.name = "vlcp3fa2c91d07";
  theirs.owner = "docker:someoneelse";
  w.ovsdb[theirs.name] = theirs;
  auto a = plug(docker());
  settle_retries();
  EXPECT_EQ(a->status.code(), Errc::kAlreadyExists);
  EXPECT_EQ(w.ovsdb.at("vlcp3fa2c91d07").owner, "docker:someoneelse");
  EXPECT_EQ(w.count("unplug_port"), 0u);  // a refusal: its undo would be another's port
  EXPECT_TRUE(w.links.empty());
  EXPECT_TRUE(w.model.empty());
}

TEST_F(PlugTest, AnUnmarkedVethOfOurNameIsOursAndReplaced) {
  // A crash between create and alias: the pair is there, without the mark.
  links.set_alias = false;
  plug(docker());
  settle();
  links.set_alias = true;
  ASSERT_EQ(w.links[lk("", "vlcp3fa2c91d07")].alias, "");
  make_plugger();  // a restarted vlcpd: no memory of it
  auto a = plug(docker());
  settle();
  ASSERT_TRUE(a->status.ok()) << a->status.to_string();
  EXPECT_EQ(w.links.size(), 2u);
  EXPECT_EQ(w.links[lk("", "vlcp3fa2c91d07")].alias, "vlcp:docker:" + kEid);
  EXPECT_EQ(plugger->counters().replaced, 1u);
  EXPECT_EQ(w.ovsdb.size(), 1u);
}

TEST_F(PlugTest, AnUnmarkedInterfaceInThePodIsNotOurs) {
  w.links[lk(kPodNs, "eth0")] = FakeLink{"", lk(kPodNs, "lo"), 1500, std::nullopt};
  auto a = plug(cni());
  settle_retries();
  EXPECT_EQ(a->status.code(), Errc::kAlreadyExists);
  EXPECT_EQ(w.links.count(lk(kPodNs, "eth0")), 1u);
  EXPECT_TRUE(w.model.empty());
}

// ---- replays -----------------------------------------------------------------------------------

TEST_F(PlugTest, AReplayedPlugAnswersTheSameAndTouchesNothing) {
  auto first = plug(docker());
  settle();
  ASSERT_TRUE(first->status.ok());
  auto state = std::make_tuple(w.model, w.links.size(), w.ovsdb.size());
  auto again = plug(docker());
  settle();
  ASSERT_TRUE(again->status.ok());
  EXPECT_EQ(*again->result, *first->result);
  EXPECT_EQ(w.count("create_endpoint"), 1u);
  EXPECT_EQ(std::make_tuple(w.model, w.links.size(), w.ovsdb.size()), state);
  EXPECT_EQ(plugger->counters().replays, 1u);
}

TEST_F(PlugTest, AReplayAfterARestartReplacesOurOwnArtifacts) {
  auto first = plug(cni());
  settle();
  ASSERT_TRUE(first->status.ok());
  make_plugger();
  auto again = plug(cni());
  settle();
  ASSERT_TRUE(again->status.ok()) << again->status.to_string();
  EXPECT_EQ(again->result->ofport, first->result->ofport);
  EXPECT_EQ(w.model.size(), 1u);
  EXPECT_EQ(w.links.size(), 2u);
  EXPECT_EQ(w.ovsdb.size(), 1u);
  EXPECT_EQ(w.setups.size(), 2u);  // the pod's interface configured again
}

// Step 5: the switch's confirmation of the port's flows (the app host's when_bound, adapted by
// the daemon). The fake answers when the test says, at once, or never.
struct FakeFlowsWait : FlowsWait {
  std::map<uint64_t, std::pair<std::string, std::function<void(bool)>>> waits;
  std::vector<uint64_t> cancelled;
  std::optional<bool> at_once;  // answer inside wait_flows
  uint64_t next = 0;
  std::string bridge;  // the last wait's
  uint64_t wait_flows(const std::string& br, const std::string& iface,
                      std::function<void(bool)> done) override {
    bridge = br;
    uint64_t id = ++next;
    if (at_once) {
      done(*at_once);
      return id;
    }
    waits.emplace(id, std::make_pair(iface, std::move(done)));
    return id;
  }
  void cancel(uint64_t id) override {
    cancelled.push_back(id);
    waits.erase(id);
  }
  void confirm(const std::string& iface) {
    for (auto it = waits.begin(); it != waits.end();) {
      if (it->second.first != iface) {
        ++it;
        continue;
      }
      auto done = std::move(it->second.second);
      it = waits.erase(it);
      done(true);
    }
  }
};

TEST_F(PlugTest, APlugAnswersOnlyOnceItsFlowsAreConfirmed) {
  FakeFlowsWait flows;
  plugger->set_flows_wait(&flows);
  auto a = plug(docker());
  settle();
  EXPECT_FALSE(a->answered);  // ofport known, flows not confirmed: the container's ARP would be lost
  ASSERT_EQ(flows.waits.size(), 1u);
  EXPECT_EQ(flows.waits.begin()->second.first, host_of(docker()));
  EXPECT_EQ(flows.bridge, "dockerbr0");
  flows.confirm(host_of(docker()));
  settle();
  ASSERT_TRUE(a->answered);
  EXPECT_TRUE(a->status.ok()) << a->status.to_string();
  EXPECT_EQ(a->result->ofport, 7);
  EXPECT_EQ(plugger->counters().flows_confirmed, 1u);
  EXPECT_EQ(plugger->counters().flows_wait_timeouts, 0u);
  EXPECT_EQ(loop.timers(), 0u);  // the bound's timer cancelled
  EXPECT_TRUE(flows.cancelled.empty());
}

TEST_F(PlugTest, FlowsNotConfirmedWithinTheBoundAnswerAnywayAndTheWaitIsCancelled) {
  FakeFlowsWait flows;
  plugger->set_flows_wait(&flows);
  auto a = plug(docker());
  settle();
  EXPECT_FALSE(a->answered);
  clock.advance(settings.flows_wait + 1ms);
  settle();
  ASSERT_TRUE(a->answered);
  EXPECT_TRUE(a->status.ok()) << a->status.to_string();  // plugged: the flows follow
  EXPECT_EQ(plugger->counters().flows_wait_timeouts, 1u);
  EXPECT_EQ(flows.cancelled.size(), 1u);
  EXPECT_TRUE(flows.waits.empty());
  EXPECT_EQ(w.ovsdb.count(host_of(docker())), 1u);  // nothing undone
  flows.confirm(host_of(docker()));                 // (a late confirmation reaches nobody)
  EXPECT_EQ(plugger->counters().plugs, 1u);
}

TEST_F(PlugTest, FlowsConfirmedAlreadyOrNoHostAnswerAtOnce) {
  FakeFlowsWait flows;
  plugger->set_flows_wait(&flows);
  flows.at_once = true;
  auto a = plug(docker());
  settle();
  ASSERT_TRUE(a->answered);
  EXPECT_TRUE(a->status.ok());
  EXPECT_EQ(plugger->counters().flows_confirmed, 1u);
  flows.at_once = false;  // no app host on this node
  auto b = plug(docker(kEid2));
  settle();
  ASSERT_TRUE(b->answered);
  EXPECT_TRUE(b->status.ok());
  EXPECT_EQ(plugger->counters().flows_confirmed, 1u);
  EXPECT_EQ(plugger->counters().flows_wait_timeouts, 0u);
  EXPECT_EQ(loop.timers(), 0u);
}

TEST_F(PlugTest, APluggerGoingAwayCancelsItsFlowWaits) {
  FakeFlowsWait flows;
  plugger->set_flows_wait(&flows);
  plug(docker());
  settle();
  ASSERT_EQ(flows.waits.size(), 1u);
  plugger.reset();
  EXPECT_TRUE(flows.waits.empty());
  EXPECT_EQ(flows.cancelled.size(), 1u);
}

TEST_F(PlugTest, MetricsNameEveryCounter) {
  w.inject["plug_port"] = Injection{make_error(Errc::kInvalidArgument, "refused"), false, 1};
  plug(docker());
  settle_retries();
  std::map<std::string, double> m;
  for (const auto& [k, v] : plugger->metrics()) m[k] = v;
  EXPECT_EQ(m.at("vlcp_plug_plug_failures_total"), 1);
  EXPECT_EQ(m.at("vlcp_plug_step_failures_ovsdb_total"), 1);
  EXPECT_EQ(m.at("vlcp_plug_undos_total"), 2);
  EXPECT_EQ(m.at("vlcp_plug_undo_failures_total"), 0);
  EXPECT_EQ(m.count("vlcp_plug_unplugs_total"), 1u);
  EXPECT_EQ(m.count("vlcp_plug_flows_confirmed_total"), 1u);
  EXPECT_EQ(m.count("vlcp_plug_flows_wait_timeouts_total"), 1u);
}

}  // namespace
}  // namespace vlcp::containers
