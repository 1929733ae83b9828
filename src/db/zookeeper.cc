#include "db/zookeeper.h"

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <limits>
#include <random>
#include <utility>

#include "base/log.h"

namespace vlcp::db {
namespace {

std::string zk_text(int rc) {
  return std::string(zerror(rc)) + " (" + std::to_string(rc) + ")";
}

// A lost connection or session: the request may or may not have been applied.
bool in_doubt(int rc) {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED || rc == ZCLOSING;
}

// A key's version: its node's generation (the parent's when the node was created) above its
// data version + 1; a key without a node has its parent's generation and 0 below.
uint64_t make_version(int64_t generation, int64_t count) {
  return static_cast<uint64_t>(generation) << 32 | static_cast<uint64_t>(count);
}
int64_t generation_of(uint64_t version) {
  return static_cast<int64_t>(version >> 32);
}
int64_t count_of(uint64_t version) {
  return static_cast<int64_t>(version & 0xffffffffu);
}

// A value's node data; a deleted key's is {"g": generation} (empty data is a tombstone from
// before compaction, which no marker names: the sweep finds those).
std::string envelope(const std::optional<Json>& value, int64_t created, int64_t updated, int64_t generation) {
  if (!value) return Json{{"g", generation}}.dump();
  Json j{{"v", *value}, {"c", created}, {"u", updated}};
  if (generation) j["g"] = generation;
  return j.dump();
}

Result<Record> decode_node(const std::string& data, int32_t data_version) {
  Record r;
  r.version = make_version(0, static_cast<int64_t>(data_version) + 1);
  if (data.empty()) return r;  // a deleted key
  auto j = Json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !(j.contains("v") || j.contains("g")))
    return make_error(Errc::kMalformed, "a stored value is not an ObjectDB record");
  for (const char* f : {"g", "c", "u"})  // (never trust the store: a wrong type is malformed, not thrown)
    if (j.contains(f) && !(j[f].is_number_integer() && j[f].get<int64_t>() >= 0 &&
                           (f[0] != 'g' || j[f].get<int64_t>() < (int64_t{1} << 31))))
      return make_error(Errc::kMalformed, std::string("a stored record's '") + f + "' is not a valid number");
  r.version = make_version(j.value("g", int64_t{0}), static_cast<int64_t>(data_version) + 1);
  if (!j.contains("v")) return r;  // a deleted key of a later generation
  r.value = j["v"];
  r.created_us = j.value("c", int64_t{0});
  r.updated_us = j.value("u", int64_t{0});
  return r;
}

// A tombstone marker's name in its bucket directory: tomb/<second>/<txid>.
std::string bucket_name(int64_t ts_us) {
  char name[32];
  std::snprintf(name, sizeof name, "%012lld", static_cast<long long>(ts_us / 1'000'000));
  return name;
}

// "c-<10-digit sequence>" -> sequence
std::optional<int64_t> parse_log_seq(const std::string& name) {
  if (name.size() != 12 || name.compare(0, 2, "c-") != 0) return std::nullopt;
  char* end = nullptr;
  long long seq = std::strtoll(name.c_str() + 2, &end, 10);
  if (*end) return std::nullopt;
  return static_cast<int64_t>(seq);
}

std::string log_name(int64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "c-%010lld", static_cast<long long>(seq));
  return name;
}

// Compaction: markers per pass (a full pass runs the next at once), and per multi.
constexpr size_t kPassMarkers = 2000, kBatchMarkers = 200;
constexpr size_t kBatchBytes = 384 * 1024;  // markers' text per multi (its ops are about as big)

// Records ride in a log entry up to this size; bigger commits send keys only.
constexpr size_t kRecordsInLog = 64 * 1024;

void zk_log(const char* message) {
  VLCP_LOG_RL(kWarn, "zookeeper", 30, 5) << message;
}

}  // namespace

// One ZooKeeper handle (session) and the ring its threads post to the control loop through.
struct ZkStore::Session {
  ZkStore* store = nullptr;
  zhandle_t* zh = nullptr;
  std::unique_ptr<sched::TaskRing> ring;
  uint64_t source = 0;
};

// One asynchronous ZooKeeper call: the completion (on ZooKeeper's thread) fills it and posts it
// to the loop, where `fn` runs.
struct ZkStore::Call {
  Session* session = nullptr;
  std::function<void(Call&)> fn;
  int rc = 0;
  std::string data;
  Stat stat{};
  bool has_stat = false;
  std::vector<std::string> children;

  static void post(Call* c) {
    c->session->ring->post([c] {
      std::unique_ptr<Call> own(c);
      own->fn(*own);
    });
  }
  static void on_data(int rc, const char* value, int len, const Stat* stat, const void* d) {
    auto* c = const_cast<Call*>(static_cast<const Call*>(d));
    c->rc = rc;
    if (value && len > 0) c->data.assign(value, static_cast<size_t>(len));
    if (stat) c->stat = *stat, c->has_stat = true;
    post(c);
  }
  static void on_stat(int rc, const Stat* stat, const void* d) { on_data(rc, nullptr, 0, stat, d); }
  static void on_void(int rc, const void* d) { on_data(rc, nullptr, 0, nullptr, d); }
  static void on_string(int rc, const char* value, const void* d) {
    on_data(rc, value, value ? static_cast<int>(std::strlen(value)) : 0, nullptr, d);
  }
  static void on_children(int rc, const String_vector* v, const Stat* stat, const void* d) {
    auto* c = const_cast<Call*>(static_cast<const Call*>(d));
    if (v)
      for (int i = 0; i < v->count; ++i) c->children.emplace_back(v->data[i]);
    on_data(rc, nullptr, 0, stat, d);
  }
};

struct ZkStore::ReadOp {
  std::vector<std::string> keys;
  bool with_time = false;
  std::function<void(Result<Snapshot>)> done;
  int attempts = 0, pending = 0, failed_rc = ZOK;
  int64_t mtime_ms = 0;
  bool raced = false;
  Snapshot snap;
  Status bad;
};

struct ZkStore::CommitOp {
  Commit commit;
  std::function<void(Result<Committed>)> done;
  std::string txid;
  std::vector<std::string> paths, datas;
  std::vector<zoo_op_t> ops;
  std::vector<zoo_op_result_t> results;
  Stat rev_stat{};
  char log_path[512] = {};
  int64_t epoch = 0;
  Committed out;
};

// A log entry as a Change: its keys, and the records it carries.
Change entry_change(const Json& entry, int64_t seq) {
  Change ch;
  ch.revision = static_cast<uint64_t>(seq);
  for (const auto& key : entry.value("keys", Json::array()))
    if (key.is_string()) ch.keys.push_back(key.get<std::string>());
  if (auto it = entry.find("records"); it != entry.end() && it->is_object()) {
    for (const auto& [k, rec] : it->items()) {
      if (!rec.is_object() || !rec.contains("n")) continue;
      Record r;
      r.version = rec.value("n", uint64_t{0});
      r.created_us = rec.value("c", int64_t{0});
      r.updated_us = rec.value("u", int64_t{0});
      if (rec.contains("v")) r.value = rec["v"];
      ch.records[k] = std::move(r);
    }
  }
  return ch;
}

// ZooKeeper's watchers (on its completion thread): they post to the loop.
struct ZkCallbacks {
  static void session_watcher(zhandle_t*, int type, int state, const char*, void* ctx) {
    if (type != ZOO_SESSION_EVENT) return;
    auto* s = static_cast<ZkStore::Session*>(ctx);
    s->ring->post([s, state] { s->store->on_session_event(s, state); });
  }
  static void epoch_watcher(zhandle_t*, int type, int, const char*, void* ctx) {
    if (type == ZOO_SESSION_EVENT) return;
    auto* s = static_cast<ZkStore::Session*>(ctx);
    s->ring->post([s] {
      ZkStore* z = s->store;
      if (s != z->session_.get()) return;
      z->epoch_watched_ = false;
      z->scan_log();
    });
  }
  static void lease_watcher(zhandle_t*, int type, int, const char*, void* ctx) {
    if (type == ZOO_SESSION_EVENT) return;
    auto* s = static_cast<ZkStore::Session*>(ctx);
    s->ring->post([s] {
      ZkStore* z = s->store;
      if (s != z->session_.get()) return;
      // The holder went: every node watching races for the lease, spread over a second so a
      // thousand nodes do not all ask at once.
      static thread_local std::minstd_rand rng{std::random_device{}()};
      z->loop_.after(std::chrono::milliseconds(rng() % 1000), [z, s, alive = z->alive_] {
        if (*alive && s == z->session_.get()) z->claim_compaction(s);
      });
    });
  }
  static void follow_watcher(zhandle_t*, int type, int, const char* path, void* ctx) {
    if (type == ZOO_SESSION_EVENT || type == ZOO_NOTWATCHING_EVENT || !path) return;
    auto* s = static_cast<ZkStore::Session*>(ctx);
    s->ring->post([s, type, p = std::string(path)] { s->store->on_follow_event(s, type, p); });
  }
  static void log_watcher(zhandle_t*, int type, int, const char*, void* ctx) {
    if (type == ZOO_SESSION_EVENT) return;
    auto* s = static_cast<ZkStore::Session*>(ctx);
    s->ring->post([s] {
      if (s == s->store->session_.get()) s->store->scan_log();
    });
  }
};

ZkStore::ZkStore(io::ControlLoop& loop, ZkOptions options) : loop_(loop), options_(std::move(options)) {
  while (options_.root.size() > 1 && options_.root.back() == '/') options_.root.pop_back();
}

Result<std::unique_ptr<ZkStore>> ZkStore::connect(io::ControlLoop& loop, ZkOptions options) {
  if (options.hosts.empty()) return make_error(Errc::kInvalidArgument, "no ZooKeeper hosts given");
  if (options.root.empty() || options.root[0] != '/')
    return make_error(Errc::kInvalidArgument, "the ZooKeeper root must be an absolute path");
  if (!options.auth.empty() && options.auth.find(':') == std::string::npos)
    return make_error(Errc::kInvalidArgument, "ZooKeeper digest auth is user:password");
  std::unique_ptr<ZkStore> s(new ZkStore(loop, std::move(options)));
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  VLCP_RETURN_IF_ERROR(s->open_session());
  ZkStore* self = s.get();
  loop.after(std::chrono::milliseconds(s->options_.first_wait_ms), [self, alive = s->alive_] {
    if (!*alive) return;
    self->first_wait_over_ = true;
    self->run_deferred();
  });
  return s;
}

bool ZkStore::defer(std::function<void()> again) {
  if (had_session_ || first_wait_over_) return false;
  deferred_.push_back(std::move(again));
  return true;
}

void ZkStore::run_deferred() {
  auto calls = std::move(deferred_);
  deferred_.clear();
  for (auto& call : calls) call();
}

ZkStore::~ZkStore() {
  *alive_ = false;
  auto close = [&](std::unique_ptr<Session>& s) {
    if (!s) return;
    if (s->zh) zookeeper_close(s->zh);  // joins ZooKeeper's threads
    loop_.remove_source(s->source);
    s.reset();  // closures still queued are dropped: their owner is gone
  };
  close(session_);
  for (auto& r : retired_) close(r);
}

Status ZkStore::open_session() {
  auto s = std::make_unique<Session>();
  s->store = this;
  VLCP_ASSIGN_OR_RETURN(s->ring, sched::TaskRing::create("zookeeper-to-control", 4095, &loop_.waker()));
  sched::TaskRing* ring = s->ring.get();
  s->source = loop_.add_source([ring] { return ring->run(); });
  s->zh = zookeeper_init2(options_.hosts.c_str(), ZkCallbacks::session_watcher, options_.session_timeout_ms,
                          nullptr, s.get(), 0, zk_log);
  if (!s->zh) {
    loop_.remove_source(s->source);
    return make_error(Errc::kInvalidArgument, "cannot use ZooKeeper hosts '" + options_.hosts + "'");
  }
  // The C client resolves the ensemble's host names again on every turn of its I/O loop (~7 % of
  // vlcpd's CPU under container churn, in getaddrinfo): once a minute is enough, and a lost
  // connection still resolves at once.
  zoo_set_servers_resolution_delay(s->zh, 60000);
  if (!options_.auth.empty())
    zoo_add_auth(s->zh, "digest", options_.auth.data(), static_cast<int>(options_.auth.size()), nullptr,
                 nullptr);
  ++sessions_started_;
  session_ = std::move(s);
  return {};
}

ZkStore::Call* ZkStore::new_call(std::function<void(Call&)> fn) {
  auto* c = new Call;
  c->session = session_.get();
  c->fn = [alive = alive_, fn = std::move(fn)](Call& call) {
    if (*alive) fn(call);
  };
  return c;
}

void ZkStore::issue(Call* c, int rc) {
  if (rc == ZOK) return;
  c->rc = rc;
  loop_.after(std::chrono::nanoseconds(0), [c] {
    std::unique_ptr<Call> own(c);
    own->fn(*own);
  });
}

const ACL_vector* ZkStore::acl() const {
  return options_.auth.empty() ? &ZOO_OPEN_ACL_UNSAFE : &ZOO_CREATOR_ALL_ACL;
}

namespace {
// A key's parent and leaf node names: split at the last dot; names ZooKeeper refuses ("", ".",
// "..") get a space in front (keys have no spaces, so this never meets another key's name).
std::string node_name(std::string n) {
  return n.empty() || n == "." || n == ".." ? " " + n : n;
}
std::string key_name(const std::string& n) {
  return !n.empty() && n[0] == ' ' ? n.substr(1) : n;
}
std::pair<std::string, std::string> split_key(const std::string& key) {
  size_t dot = key.rfind('.');
  if (dot == std::string::npos) return {" ", node_name(key)};  // " ": the parent of dotless keys
  return {node_name(key.substr(0, dot)), node_name(key.substr(dot + 1))};
}
// The key of a node under kv, from its parent's and its own names.
std::string node_key(const std::string& parent, const std::string& leaf) {
  return parent == " " ? key_name(leaf) : key_name(parent) + "." + key_name(leaf);
}
// Whether a parent's children (parent.leaf) can start with the prefix.
bool parent_may_hold(const std::string& parent, const std::string& prefix) {
  if (parent == " ") return prefix.find('.') == std::string::npos;
  std::string under = key_name(parent) + ".";
  size_t common = std::min(under.size(), prefix.size());
  return under.compare(0, common, prefix, 0, common) == 0;
}
// The node name of the parent holding a children-only prefix's keys (the prefix and a part
// without a dot).
std::string prefix_parent(const std::string& prefix) {
  size_t dot = prefix.rfind('.');
  return dot == std::string::npos ? " " : node_name(prefix.substr(0, dot));
}
}  // namespace

std::string ZkStore::path(const std::string& key) const {
  auto [parent, leaf] = split_key(key);
  return options_.root + "/kv/" + parent + "/" + leaf;
}

std::string ZkStore::parent_path(const std::string& key) const {
  return options_.root + "/kv/" + split_key(key).first;
}

void ZkStore::ensure_parents(std::vector<std::string> parents, std::function<void(int rc)> then) {
  while (!parents.empty() && (parents_.count(parents.back()) || parents.back() == bucket_))
    parents.pop_back();
  if (parents.empty()) return then(ZOK);
  std::string p = parents.back();
  parents.pop_back();
  Call* c = new_call([this, p, parents = std::move(parents), then = std::move(then)](Call& c) mutable {
    if (c.rc != ZOK && c.rc != ZNODEEXISTS) return then(c.rc);
    if (p.compare(0, options_.root.size() + 6, options_.root + "/tomb/") == 0)
      bucket_ = p;  // markers' directories come and go: only the current one is remembered
    else
      parents_.insert(p);
    ensure_parents(std::move(parents), std::move(then));
  });
  issue(c, zoo_acreate(session_->zh, p.c_str(), "", 0, acl(), 0, Call::on_string, c));
}

Status ZkStore::unavailable() const {
  return make_error(Errc::kUnavailable, "ZooKeeper " + options_.hosts + " is not reachable" +
                                            (last_error_.empty() ? "" : " (" + last_error_ + ")"));
}

// ---- sessions ------------------------------------------------------------------------------------

void ZkStore::on_session_event(Session* s, int state) {
  if (s != session_.get()) return;  // a retired session's late news
  if (state == ZOO_CONNECTED_STATE) {
    last_error_.clear();
    prepare_layout(s);
    return;
  }
  if (ready_) {
    VLCP_LOG(kWarn, "db") << "lost ZooKeeper " << options_.hosts << "; reconnecting";
  }
  ready_ = false;
  if (state == ZOO_AUTH_FAILED_STATE) {
    last_error_ = "digest authentication rejected";
    VLCP_LOG(kError, "db") << "ZooKeeper rejected the digest credentials";
  } else if (state == ZOO_EXPIRED_SESSION_STATE) {
    // The session is gone (its watches too): a new one starts, and watchers resync.
    last_error_ = "session expired";
    lease_ = false;  // the ephemeral lease went with the session
    VLCP_LOG(kWarn, "db") << "ZooKeeper session expired; starting a new one";
    zookeeper_close(session_->zh);
    session_->zh = nullptr;
    retired_.push_back(std::move(session_));
    if (Status st = open_session(); !st.ok()) {
      VLCP_LOG(kError, "db") << st.to_string();
    }
  }
}

void ZkStore::prepare_layout(Session* s) {
  // The root's ancestors, the root, then its children: created when missing, in order (one
  // session's requests are applied in order). The first epoch of the log comes with the epoch
  // node, in one multi, so it exists exactly when the epoch node does.
  std::vector<std::string> nodes;
  for (size_t i = 1; i <= options_.root.size(); ++i)
    if (i == options_.root.size() || options_.root[i] == '/') nodes.push_back(options_.root.substr(0, i));
  for (const char* child : {"/kv", "/rev", "/log", "/txn", "/tomb"}) nodes.push_back(options_.root + child);
  auto pending = std::make_shared<size_t>(nodes.size() + 1);
  auto failed = std::make_shared<int>(ZOK);
  auto step = [this, s, pending, failed](int rc) {
    if (rc != ZOK && rc != ZNODEEXISTS && *failed == ZOK) *failed = rc;
    if (--*pending) return;
    if (s != session_.get()) return;
    if (*failed != ZOK) {
      last_error_ = "preparing " + options_.root + ": " + zk_text(*failed);
      VLCP_LOG_RL(kError, "db", 10, 2) << last_error_;
      if (!in_doubt(*failed)) return;
      loop_.after(std::chrono::milliseconds(500), [this, s, alive = alive_] {
        if (*alive && s == session_.get()) prepare_layout(s);
      });
      return;
    }
    // Where the change feed starts: the current epoch's end (a session after an outage first
    // reports a resync: VLCP's "restored").
    auto epoch = std::make_shared<std::pair<int64_t, int32_t>>(-1, 0);
    Call* e = new_call([this, s, epoch](Call& c) {
      if (s != session_.get()) return;
      if (c.rc != ZOK) {
        last_error_ = "reading the change log's epoch: " + zk_text(c.rc);
        return;
      }
      *epoch = {std::strtoll(c.data.c_str(), nullptr, 10), c.stat.version};
      Call* list = new_call([this, s, epoch](Call& c) {
        if (s != session_.get()) return;
        if (c.rc != ZOK) {
          last_error_ = "reading the change log: " + zk_text(c.rc);
          return;
        }
        int64_t next = 0;
        for (const auto& name : c.children)
          if (auto seq = parse_log_seq(name)) next = std::max(next, *seq + 1);
        epoch_ = epoch->first;
        epoch_version_ = epoch->second;
        bool resync = had_session_;
        feed_epoch_ = epoch->first;
        feed_seq_ = next;
        latest_epoch_ = epoch->first;
        epoch_watched_ = false;
        scanning_ = false;
        had_session_ = true;
        ready_ = true;
        VLCP_LOG(kInfo, "db") << "ZooKeeper " << options_.hosts << options_.root
                              << (resync ? " back" : " ready");
        if (options_.follow) arm_all(s);  // (before the restore: what is read after it is followed)
        if (resync) deliver(Change{{}, 0, true, {}});
        auto doubts = std::move(in_doubt_);
        in_doubt_.clear();
        for (auto& op : doubts) resolve(op);
        if (!options_.follow) scan_log();
        claim_compaction(s);
        run_deferred();
      });
      issue(list, zoo_aget_children2(s->zh, log_dir(epoch->first).c_str(), 0, Call::on_children, list));
    });
    issue(e, zoo_aget(s->zh, (options_.root + "/logepoch").c_str(), 0, Call::on_data, e));
  };
  for (const auto& n : nodes) {
    Call* c = new_call([step](Call& c) { step(c.rc); });
    issue(c, zoo_acreate(s->zh, n.c_str(), "", 0, acl(), 0, Call::on_string, c));
  }
  struct First {
    std::string epoch, log, txn, swept;
    zoo_op_t ops[4];
    zoo_op_result_t results[4];
  };
  auto first = std::make_shared<First>();
  first->epoch = options_.root + "/logepoch";
  first->log = log_dir(0);
  first->txn = txn_dir(0);
  first->swept = options_.root + "/swept";  // a new store has no tombstone from before markers
  zoo_create_op_init(&first->ops[0], first->epoch.c_str(), "0", 1, acl(), 0, nullptr, 0);
  zoo_create_op_init(&first->ops[1], first->log.c_str(), "", 0, acl(), 0, nullptr, 0);
  zoo_create_op_init(&first->ops[2], first->txn.c_str(), "", 0, acl(), 0, nullptr, 0);
  zoo_create_op_init(&first->ops[3], first->swept.c_str(), "", 0, acl(), 0, nullptr, 0);
  Call* m = new_call([step, first](Call& c) { step(c.rc); });
  issue(m, zoo_amulti(s->zh, 4, first->ops, first->results, Call::on_void, m));
}

std::string ZkStore::log_dir(int64_t epoch) const {
  return options_.root + "/log/" + std::to_string(epoch);
}
std::string ZkStore::txn_dir(int64_t epoch) const {
  return options_.root + "/txn/" + std::to_string(epoch);
}

// ---- reads -----------------------------------------------------------------------------------------

void ZkStore::read(std::vector<std::string> keys, bool with_time,
                   std::function<void(Result<Snapshot>)> done) {
  for (const auto& k : keys)
    if (Status st = check_key(k); !st.ok()) return done(st);
  auto op = std::make_shared<ReadOp>();
  op->keys = std::move(keys);
  op->with_time = with_time;
  op->done = std::move(done);
  read_attempt(op);
}

// A consistent snapshot without a multi-read: rev first (its mzxid is the last commit's, Z),
// then the keys, then their parents (one session's requests are answered in order). A key node
// whose mzxid is at most Z had that value at Z. Nodes go only by compaction, which advances
// their parent's generation (its data version) and sets rev in the same multi: so a parent
// whose generation moved after Z (mzxid > Z) means a key may have gone under the read; else a
// key without a node had none at Z. If every key and parent passes, the read is the state at
// Z; otherwise a commit or a compaction raced it: read again.
void ZkStore::read_attempt(std::shared_ptr<ReadOp> op) {
  if (!ready_ && defer([this, op] { read_attempt(op); })) return;
  if (!ready_) return op->done(unavailable());
  zhandle_t* zh = session_->zh;
  std::set<std::string> parents;
  for (const auto& k : op->keys) parents.insert(parent_path(k));
  op->pending = static_cast<int>(op->keys.size() + parents.size()) + 1;
  op->failed_rc = ZOK;
  op->bad = Status{};
  op->snap = Snapshot{};
  op->raced = false;
  auto finish = [this, op] {
    if (--op->pending) return;
    if (op->failed_rc != ZOK)
      return op->done(make_error(Errc::kUnavailable, "reading from ZooKeeper: " + zk_text(op->failed_rc)));
    if (!op->bad.ok()) return op->done(op->bad);
    if (op->raced) {
      if (++op->attempts < 100) return read_attempt(op);
      return op->done(make_error(Errc::kUnavailable, "no consistent snapshot after 100 reads"));
    }
    // A key without a node reads at its parent's generation (above any version it had before
    // compaction forgot it).
    for (auto& [k, r] : op->snap.records)
      if (count_of(r.version) == 0) r.version = make_version(op->snap.guards[parent_path(k)], 0);
    // The store's time: this node's clock, but never earlier than the last commit's server time
    // (rev's mtime) nor than any time this node handed out: a hybrid clock that orders every
    // transaction after what it read, without a ZooKeeper write to ask the time.
    if (op->with_time)
      op->snap.timestamp_us = last_ts_us_ =
          std::max({wall_clock_us(), op->mtime_ms * 1000 + 1, last_ts_us_ + 1});
    op->done(std::move(op->snap));
  };
  auto z = std::make_shared<int64_t>(0);
  Call* r = new_call([op, finish, z](Call& c) {
    if (c.rc == ZOK) {
      *z = c.stat.mzxid;
      op->mtime_ms = c.stat.mtime;
    } else if (c.rc != ZNONODE) {
      op->failed_rc = c.rc;
    }
    finish();
  });
  issue(r, zoo_aget(zh, (options_.root + "/rev").c_str(), 0, Call::on_data, r));
  for (const auto& k : op->keys) {
    Call* c = new_call([op, finish, k, z](Call& c) {
      if (c.rc == ZOK) {
        if (c.stat.mzxid > *z) op->raced = true;
        auto r = decode_node(c.data, c.stat.version);
        if (r.ok())
          op->snap.records[k] = std::move(*r);
        else
          op->bad = r.error().with_context("key " + k);
      } else if (c.rc == ZNONODE) {
        op->snap.records[k] = Record{};
      } else {
        op->failed_rc = c.rc;
      }
      finish();
    });
    issue(c, zoo_aget(zh, path(k).c_str(), 0, Call::on_data, c));
  }
  for (const auto& p : parents) {
    Call* c = new_call([op, finish, p, z](Call& c) {
      if (c.rc == ZOK) {
        if (c.stat.version > 0 && c.stat.mzxid > *z) op->raced = true;
        op->snap.guards[p] = c.stat.version;
      } else if (c.rc == ZNONODE) {
        op->snap.guards[p] = 0;
      } else {
        op->failed_rc = c.rc;
      }
      finish();
    });
    issue(c, zoo_aexists(zh, p.c_str(), 0, Call::on_stat, c));
  }
}

void ZkStore::refresh_epoch() {
  Call* e = new_call([this](Call& c) {
    if (c.rc == ZOK) {
      epoch_ = std::strtoll(c.data.c_str(), nullptr, 10);
      epoch_version_ = c.stat.version;
    }
  });
  issue(e, zoo_aget(session_->zh, (options_.root + "/logepoch").c_str(), 0, Call::on_data, e));
}

// ---- commits ---------------------------------------------------------------------------------------

void ZkStore::commit(Commit commit, std::function<void(Result<Committed>)> done) {
  for (const auto& [k, v] : commit.writes) {
    if (Status st = check_key(k); !st.ok()) return done(st);
    if (!commit.read.count(k))
      return done(make_error(Errc::kInvalidArgument, "key " + k + " is written without having been read"));
  }
  for (const auto& [k, seen] : commit.read)
    if (!commit.guards.count(parent_path(k)))
      return done(make_error(Errc::kInvalidArgument, "a commit without the guards of the snapshot it read"));
  if (!ready_) {
    auto held = std::make_shared<std::pair<Commit, std::function<void(Result<Committed>)>>>(std::move(commit),
                                                                                            std::move(done));
    if (defer([this, held] { this->commit(std::move(held->first), std::move(held->second)); })) return;
    return held->second(unavailable());
  }
  auto op = std::make_shared<CommitOp>();
  op->done = std::move(done);
  const clientid_t* id = zoo_client_id(session_->zh);
  char txid[64];
  std::snprintf(txid, sizeof txid, "%" PRIx64 "x%" PRIu64, static_cast<uint64_t>(id ? id->client_id : 0),
                ++txn_counter_);
  op->txid = txid;
  int64_t ts = std::max(commit.timestamp_us, last_ts_us_ + 1);
  last_ts_us_ = ts;

  // Paths and data first (the ops point into them), then the ops.
  enum Kind { kCheck, kCreate, kSet, kSequence, kDelete };
  struct Planned {
    Kind kind;
    size_t path, data;
    int version;
  };
  std::vector<Planned> plan;
  auto add = [&](Kind kind, std::string p, std::string d, int version) {
    op->paths.push_back(std::move(p));
    op->datas.push_back(std::move(d));
    plan.push_back(Planned{kind, op->paths.size() - 1, op->datas.size() - 1, version});
  };
  size_t bytes = 0;
  Json written = Json::array();
  std::set<std::string> guarded;  // parents whose generation the commit depends on
  Json tombstones = Json::array();
  std::vector<std::string> need_parents;
  for (const auto& [k, seen] : commit.read) {
    auto w = commit.writes.find(k);
    const bool node = count_of(seen.version) > 0;
    const int data_version = static_cast<int>(count_of(seen.version) - 1);
    const std::string pp = parent_path(k);
    if (!node) need_parents.push_back(pp);
    if (w != commit.writes.end()) written.push_back(k);
    if ((w == commit.writes.end() || !w->second) && !node) {
      // Absent, no node, and left absent: create and delete it again, which fails if someone
      // created it meanwhile. No node remains.
      add(kCreate, path(k), "", 0);
      add(kDelete, path(k), "", 0);
      if (w != commit.writes.end()) op->out.records[k] = Record::absent(seen.version);
      continue;
    }
    guarded.insert(pp);
    if (w == commit.writes.end()) {
      add(kCheck, path(k), "", data_version);
      continue;
    }
    Record next;
    next.version = seen.version + 1;  // a new node: (generation, 1)
    next.updated_us = ts;
    if (w->second) {
      next.created_us = seen.exists() ? seen.created_us : ts;
      next.value = w->second;
    }
    std::string data = envelope(next.value, next.created_us, ts, generation_of(seen.version));
    if (data.size() > kZkMaxRequestBytes)
      return op->done(
          make_error(Errc::kInvalidArgument, "the value of " + k + " is " + std::to_string(data.size()) +
                                                 " bytes: over ZooKeeper's request limit (about 1 MiB)"));
    bytes += data.size() + k.size() + 64;
    if (!next.value) tombstones.push_back(Json::array({path(k), data_version + 1}));
    op->out.records[k] = next;
    if (node)
      add(kSet, path(k), std::move(data), data_version);
    else
      add(kCreate, path(k), std::move(data), 0);
  }
  // The generations read: compaction advances them when it removes a node, so nothing read
  // before can match a node created after (no ABA).
  for (const auto& pp : guarded) add(kCheck, pp, "", static_cast<int>(commit.guards.at(pp)));
  add(kSet, options_.root + "/rev", "", -1);
  size_t rev_op = plan.size() - 1;
  op->epoch = epoch_;
  add(kCheck, options_.root + "/logepoch", "", epoch_version_);
  add(kCreate, txn_dir(op->epoch) + "/" + op->txid, "", 0);
  // Every tombstone left is named in a marker, in the directory of its second: compaction finds
  // them there once they are old enough (tomb/<second>/<txid>: [[node, data version]...]).
  std::string bucket;
  if (!tombstones.empty()) {
    bucket = options_.root + "/tomb/" + bucket_name(ts);
    need_parents.push_back(bucket);
    add(kCreate, bucket + "/" + op->txid, tombstones.dump(), 0);
    bytes += op->datas.back().size() + 64;
  }
  // The entry carries what was written (when small), so other nodes need not read it back.
  Json entry{{"keys", written}};
  Json records = Json::object();
  for (const auto& [k, r] : op->out.records) {
    Json rec{{"n", r.version}, {"c", r.created_us}, {"u", r.updated_us}};
    if (r.value) rec["v"] = *r.value;
    records[k] = std::move(rec);
  }
  std::string with_records = Json{{"keys", written}, {"records", records}}.dump();
  add(kSequence, log_dir(op->epoch) + "/c-",
      with_records.size() <= kRecordsInLog ? with_records : entry.dump(), 0);
  bytes += op->datas.back().size();
  if (bytes > kZkMaxRequestBytes)
    return op->done(
        make_error(Errc::kInvalidArgument, "the transaction is " + std::to_string(bytes) +
                                               " bytes: over ZooKeeper's request limit (about 1 MiB)"));
  op->ops.resize(plan.size());
  op->results.resize(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    const Planned& p = plan[i];
    const char* path_c = op->paths[p.path].c_str();
    const std::string& d = op->datas[p.data];
    switch (p.kind) {
      case kCheck:
        zoo_check_op_init(&op->ops[i], path_c, p.version);
        break;
      case kCreate:
        zoo_create_op_init(&op->ops[i], path_c, d.data(), static_cast<int>(d.size()), acl(), 0, nullptr, 0);
        break;
      case kSet:
        zoo_set_op_init(&op->ops[i], path_c, d.data(), static_cast<int>(d.size()), p.version,
                        i == rev_op ? &op->rev_stat : nullptr);
        break;
      case kSequence:
        zoo_create_op_init(&op->ops[i], path_c, d.data(), static_cast<int>(d.size()), acl(), ZOO_SEQUENCE,
                           op->log_path, sizeof op->log_path);
        break;
      case kDelete:
        zoo_delete_op_init(&op->ops[i], path_c, p.version);
        break;
    }
  }
  op->commit = std::move(commit);
  auto on_answer = [this, op, bucket](Call& c) {
    if (c.rc == ZOK) {
      op->out.revision = static_cast<uint64_t>(op->rev_stat.version);
      std::string created(op->log_path);
      auto seq = parse_log_seq(created.substr(created.rfind('/') + 1));
      if (seq && *seq + 1 >= static_cast<int64_t>(options_.log_keep)) next_epoch(op->epoch);
      return op->done(std::move(op->out));
    }
    if (c.rc == ZBADVERSION || c.rc == ZNODEEXISTS || c.rc == ZNONODE) {
      std::string where;
      for (size_t i = 0; i < op->results.size(); ++i)
        if (op->results[i].err != ZOK && op->results[i].err != ZRUNTIMEINCONSISTENCY) {
          where = op->paths[i];
          break;
        }
      if (where == options_.root + "/logepoch") refresh_epoch();  // the log moved to a new epoch
      if (!bucket.empty() && where.compare(0, bucket.size(), bucket) == 0 && bucket_ == bucket)
        bucket_.clear();  // compacted already: this commit's time was that old
      // A parent gone (an operator, a foreign tool): forgotten, so the next attempt makes it again
      // (else every create under it would fail until a restart).
      if (c.rc == ZNONODE && where.compare(0, options_.root.size() + 4, options_.root + "/kv/") == 0) {
        parents_.erase(where);
        parents_.erase(where.substr(0, where.rfind('/')));
      }
      return op->done(make_error(Errc::kConflict, where + " changed since it was read"));
    }
    if (in_doubt(c.rc)) {  // the answer was lost, not necessarily the commit: find out which
      in_doubt_.push_back(op);
      if (ready_) {
        auto doubts = std::move(in_doubt_);
        in_doubt_.clear();
        for (auto& d : doubts) resolve(d);
      }
      return;
    }
    op->done(make_error(c.rc == ZINVALIDSTATE ? Errc::kUnavailable : Errc::kInternal,
                        "committing to ZooKeeper: " + zk_text(c.rc)));
  };
  // Keys that get a node need their parent first (outside the multi: creating an existing
  // parent would fail it), and a marker its second's directory.
  std::sort(need_parents.begin(), need_parents.end());
  need_parents.erase(std::unique(need_parents.begin(), need_parents.end()), need_parents.end());
  ensure_parents(std::move(need_parents), [this, op, on_answer = std::move(on_answer)](int rc) {
    if (rc == ZOK && !ready_) rc = ZCONNECTIONLOSS;
    if (rc != ZOK)  // nothing of the commit was sent
      return op->done(make_error(in_doubt(rc) || rc == ZINVALIDSTATE ? Errc::kUnavailable : Errc::kInternal,
                                 "creating a key's parent node: " + zk_text(rc)));
    Call* c = new_call(on_answer);
    issue(c, zoo_amulti(session_->zh, static_cast<int>(op->ops.size()), op->ops.data(), op->results.data(),
                        Call::on_void, c));
  });
}

// A commit whose answer was lost: its fence exists if and only if it was applied; creating the
// fence ourselves settles it either way (the commit can no longer apply after that).
void ZkStore::resolve(std::shared_ptr<CommitOp> op) {
  if (!ready_) {
    in_doubt_.push_back(op);
    return;
  }
  std::string fence = txn_dir(op->epoch) + "/" + op->txid;
  Call* c = new_call([this, op, fence](Call& c) {
    if (c.rc == ZNODEEXISTS) {
      VLCP_LOG(kInfo, "db") << "transaction " << op->txid << " was committed (its answer was lost)";
      return op->done(std::move(op->out));
    }
    if (c.rc == ZOK) {
      Call* del = new_call([](Call&) {});
      issue(del, zoo_adelete(session_->zh, fence.c_str(), -1, Call::on_void, del));
      return op->done(make_error(
          Errc::kUnavailable, "the connection to ZooKeeper was lost during the commit; it was not applied"));
    }
    if (in_doubt(c.rc) || c.rc == ZINVALIDSTATE) return resolve(op);  // parks it until ready again
    if (c.rc == ZNONODE)  // its epoch is long gone: far older than any in-doubt commit can be
      return op->done(
          make_error(Errc::kInternal, "the outcome of a commit is unknown (its log epoch was trimmed)"));
    op->done(make_error(Errc::kInternal, "the outcome of a commit is unknown: " + zk_text(c.rc)));
  });
  issue(c, zoo_acreate(session_->zh, fence.c_str(), "", 0, acl(), 0, Call::on_string, c));
}

// ---- listing ---------------------------------------------------------------------------------------

void ZkStore::list(std::string prefix, std::function<void(Result<std::vector<std::string>>)> done) {
  if (!ready_ && defer([this, prefix, done] { list(prefix, done); })) return;
  if (!ready_) return done(unavailable());
  Call* c = new_call([this, prefix, done](Call& c) {
    if (c.rc != ZOK) return done(make_error(Errc::kUnavailable, "listing keys: " + zk_text(c.rc)));
    // The parents whose keys (parent.leaf) can start with the prefix.
    std::vector<std::string> parents;
    for (auto& n : c.children)
      if (parent_may_hold(n, prefix)) parents.push_back(n);
    list_parents(std::move(parents), prefix, std::make_shared<std::vector<std::string>>(), done);
  });
  issue(c, zoo_aget_children2(session_->zh, (options_.root + "/kv").c_str(), 0, Call::on_children, c));
}

// Gathers the keys under each parent that start with the prefix, then reads which exist.
void ZkStore::list_parents(std::vector<std::string> parents, std::string prefix,
                           std::shared_ptr<std::vector<std::string>> keys,
                           std::function<void(Result<std::vector<std::string>>)> done) {
  if (parents.empty()) {
    std::sort(keys->begin(), keys->end());
    return read(*keys, false, [done](Result<Snapshot> snap) {
      if (!snap.ok()) return done(snap.error());
      std::vector<std::string> out;
      for (const auto& [k, r] : snap->records)
        if (r.exists()) out.push_back(k);
      done(std::move(out));
    });
  }
  std::string parent = parents.back();
  parents.pop_back();
  Call* c = new_call([this, parent, parents = std::move(parents), prefix, keys, done](Call& c) mutable {
    if (c.rc != ZOK && c.rc != ZNONODE)
      return done(make_error(Errc::kUnavailable, "listing keys: " + zk_text(c.rc)));
    for (auto& leaf : c.children) {
      std::string k = node_key(parent, leaf);
      if (k.compare(0, prefix.size(), prefix) == 0) keys->push_back(k);
    }
    list_parents(std::move(parents), prefix, keys, done);
  });
  issue(c,
        zoo_aget_children2(session_->zh, (options_.root + "/kv/" + parent).c_str(), 0, Call::on_children, c));
}

// ---- the change feed -------------------------------------------------------------------------------

uint64_t ZkStore::watch(std::function<void(const Change&)> on_change) {
  watchers_[++next_watch_] = std::move(on_change);
  return next_watch_;
}

void ZkStore::unwatch(uint64_t id) {
  watchers_.erase(id);
}

void ZkStore::deliver(const Change& change) {
  std::vector<uint64_t> ids;
  for (const auto& [id, fn] : watchers_) ids.push_back(id);
  for (uint64_t id : ids)
    if (auto it = watchers_.find(id); it != watchers_.end()) it->second(change);
}

// ---- the targeted feed ------------------------------------------------------------------------------

void ZkStore::follow(const std::vector<std::string>& keys) {
  for (const auto& k : keys)
    if (followed_.insert(k).second && ready_) arm_key(session_.get(), k);
}

void ZkStore::unfollow(const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    // A followed prefix's child stays followed while its node is there: a deleted key's node
    // (a tombstone) written again changes no listing, only its data.
    if (!followed_.erase(k) || !ready_ || under_prefix(k)) continue;
    // The server forgets the watch (else it fires once more, and is ignored then).
    // (The C client's header declares the completion as a pointer to one; the client calls what
    // it is given as the completion itself.)
    Call* c = new_call([](Call&) {});
    void_completion_t done = Call::on_void;
    issue(c, zoo_aremove_watches(session_->zh, path(k).c_str(), ZWATCHTYPE_DATA, ZkCallbacks::follow_watcher,
                                 session_.get(), 0,
                                 reinterpret_cast<void_completion_t*>(reinterpret_cast<void*>(done)), c));
  }
}

void ZkStore::follow_prefix(const std::string& prefix, bool children) {
  if (!followed_prefixes_.emplace(prefix, children).second || !ready_) return;
  // Seeded without reporting: the caller lists the prefix after this call.
  if (!children) return list_kv(session_.get(), false);
  std::string parent = prefix_parent(prefix);
  if (children_.emplace(parent, std::set<std::string>{}).second) list_parent(session_.get(), parent, false);
}

void ZkStore::unfollow_prefix(const std::string& prefix, bool children) {
  if (!followed_prefixes_.erase({prefix, children})) return;
  for (auto it = children_.begin(); it != children_.end();)
    it = wants_parent(it->first) ? std::next(it) : children_.erase(it);
}

ZkFollowStats ZkStore::follow_stats() const {
  ZkFollowStats out = follow_stats_;
  out.keys = followed_.size();
  out.prefixes = followed_prefixes_.size();
  out.parents = children_.size();
  return out;
}

bool ZkStore::wants_parent(const std::string& parent) const {
  for (const auto& [prefix, children] : followed_prefixes_)
    if (children ? prefix_parent(prefix) == parent : parent_may_hold(parent, prefix)) return true;
  return false;
}

bool ZkStore::under_prefix(const std::string& key) const {
  if (!children_.count(split_key(key).first)) return false;
  for (const auto& [prefix, children] : followed_prefixes_)
    if (key.compare(0, prefix.size(), prefix) == 0 &&
        (!children || key.find('.', prefix.size()) == std::string::npos))
      return true;
  return false;
}

void ZkStore::arm_key(Session* s, const std::string& key) {
  Call* c = new_call([](Call&) {});  // (a lost connection re-arms every follow when it is back)
  issue(c, zoo_awexists(s->zh, path(key).c_str(), ZkCallbacks::follow_watcher, s, Call::on_stat, c));
}

void ZkStore::arm_all(Session* s) {
  for (const auto& k : followed_) arm_key(s, k);
  bool subtree = false;
  for (const auto& [prefix, children] : followed_prefixes_) {
    if (!children)
      subtree = true;
    else
      children_.emplace(prefix_parent(prefix), std::set<std::string>{});
  }
  // The caller hears `restored` (or lists afterwards, the first time): seeded without reporting,
  // every child armed again.
  for (auto& [parent, known] : children_) {
    known.clear();
    list_parent(s, parent, false);
  }
  if (subtree) list_kv(s, false);
}

void ZkStore::list_kv(Session* s, bool report) {
  if (kv_listing_) {
    kv_relist_ = true;
    return;
  }
  kv_listing_ = true;
  ++follow_stats_.listings;
  Call* c = new_call([this, s, report](Call& c) {
    kv_listing_ = false;
    if (s != session_.get()) return;
    bool again = std::exchange(kv_relist_, false);
    if (c.rc == ZOK)
      for (const auto& parent : c.children)
        if (wants_parent(parent) && children_.emplace(parent, std::set<std::string>{}).second)
          list_parent(s, parent, report);  // a parent that appeared: its children are new
    if (again) list_kv(s, true);
  });
  issue(c, zoo_awget_children2(s->zh, (options_.root + "/kv").c_str(), ZkCallbacks::follow_watcher, s,
                               Call::on_children, c));
}

void ZkStore::list_parent(Session* s, const std::string& parent, bool report) {
  if (!parent_listing_.insert(parent).second) {
    if (report) parent_relist_.insert(parent);
    return;
  }
  ++follow_stats_.listings;
  std::string where = options_.root + "/kv/" + parent;
  Call* c = new_call([this, s, parent, report, where](Call& c) {
    parent_listing_.erase(parent);
    if (s != session_.get()) return;
    bool again = parent_relist_.erase(parent) > 0;
    auto known = children_.find(parent);
    if (known == children_.end()) return;  // no longer followed
    if (c.rc == ZNONODE) {                 // not there yet: its creation fires the watch
      Call* x = new_call([this, s, parent](Call& x) {
        if (s == session_.get() && x.rc == ZOK) list_parent(s, parent, true);  // (created meanwhile)
      });
      issue(x, zoo_awexists(s->zh, where.c_str(), ZkCallbacks::follow_watcher, s, Call::on_stat, x));
      return;
    }
    if (c.rc != ZOK) return;  // connection trouble: a reconnect re-arms every follow
    std::set<std::string> now(c.children.begin(), c.children.end());
    Change ch;
    for (const auto& leaf : now) {
      if (known->second.count(leaf)) continue;
      std::string key = node_key(parent, leaf);
      if (!under_prefix(key)) continue;
      if (!followed_.count(key)) arm_key(s, key);  // (its tombstone written again: no listing changes)
      if (report) ch.keys.push_back(std::move(key));
    }
    known->second = std::move(now);
    if (again) list_parent(s, parent, true);
    if (ch.keys.empty()) return;
    follow_stats_.reported += ch.keys.size();
    deliver(ch);
  });
  issue(c, zoo_awget_children2(s->zh, where.c_str(), ZkCallbacks::follow_watcher, s, Call::on_children, c));
}

void ZkStore::on_follow_event(Session* s, int type, const std::string& where) {
  if (s != session_.get()) return;
  ++follow_stats_.events;
  std::string kv = options_.root + "/kv";
  if (where == kv) {
    bool subtree = std::any_of(followed_prefixes_.begin(), followed_prefixes_.end(),
                               [](const auto& p) { return !p.second; });
    if (type == ZOO_CHILD_EVENT && subtree) list_kv(s, true);
    return;
  }
  if (where.compare(0, kv.size() + 1, kv + "/") != 0) return;
  std::string rest = where.substr(kv.size() + 1);
  size_t slash = rest.find('/');
  if (slash == std::string::npos) {  // a parent: its children changed, or it appeared
    if (children_.count(rest)) list_parent(s, rest, true);
    return;
  }
  std::string key = node_key(rest.substr(0, slash), rest.substr(slash + 1));
  bool named = followed_.count(key) > 0;
  if (!named && !under_prefix(key)) return;
  // A prefix's child whose node went (compacted): its parent's listing hears if it comes back.
  if (!named && type == ZOO_DELETED_EVENT) return;
  arm_key(s, key);  // first: a change after this fires again
  ++follow_stats_.reported;
  deliver(Change{{key}, 0, false, {}});
}

// Follows the log from (feed_epoch_, feed_seq_): entries within an epoch are numbered without
// gaps, so it reads the next ones by name, a window at a time, and when the next one is not
// there yet, watches for its creation and for the epoch to change.
void ZkStore::scan_log() {
  if (!ready_) return;
  if (scanning_) {
    rescan_ = true;
    return;
  }
  scanning_ = true;
  rescan_ = false;
  Session* s = session_.get();
  // One entry at a time while commits trickle in; a window that doubles (to 32) while each
  // probe finds all it asked for.
  int window = window_;
  struct Probe {
    int64_t epoch, first;
    int window;
    std::vector<std::optional<Json>> entries;
    int pending, failed = ZOK;
  };
  auto probe = std::make_shared<Probe>(Probe{
      feed_epoch_, feed_seq_, window, std::vector<std::optional<Json>>(static_cast<size_t>(window)), window});
  for (int i = 0; i < window; ++i) {
    Call* c = new_call([this, s, probe, i](Call& c) {
      if (c.rc == ZOK) {
        auto j = Json::parse(c.data, nullptr, false);
        probe->entries[i] = j.is_discarded() ? Json::object() : j;
      } else if (c.rc != ZNONODE) {
        probe->failed = c.rc;
      }
      if (--probe->pending) return;
      if (s != session_.get() || probe->failed != ZOK || probe->epoch != feed_epoch_) {
        scanning_ = false;  // a reconnect or a new session scans again
        return;
      }
      int delivered = 0;
      for (; delivered < probe->window && probe->entries[delivered]; ++delivered) {
        deliver(entry_change(*probe->entries[delivered], probe->first + delivered));
      }
      feed_seq_ = probe->first + delivered;
      scanning_ = false;
      if (delivered == probe->window) {  // there may be more
        window_ = std::min(32, window_ * 2);
        return scan_log();
      }
      window_ = 1;
      wait_log(s);
    });
    issue(c, zoo_aget(s->zh, (log_dir(probe->epoch) + "/" + log_name(probe->first + i)).c_str(), 0,
                      Call::on_data, c));
  }
}

// The next entry is not there: watch for its creation, and (one watch at a time) for the
// epoch to move on.
void ZkStore::wait_log(Session* s) {
  scanning_ = true;
  if (!epoch_watched_) {
    epoch_watched_ = true;
    Call* e = new_call([this, s](Call& c) {
      if (s != session_.get()) return;
      if (c.rc != ZOK) {
        epoch_watched_ = false;
        return;
      }
      latest_epoch_ = std::max<int64_t>(latest_epoch_, std::strtoll(c.data.c_str(), nullptr, 10));
      if (latest_epoch_ > feed_epoch_ && !scanning_) scan_log();
    });
    issue(e, zoo_awget(s->zh, (options_.root + "/logepoch").c_str(), ZkCallbacks::epoch_watcher, s,
                       Call::on_data, e));
  }
  Call* x = new_call([this, s](Call& c) {
    if (s != session_.get()) return;
    scanning_ = false;
    if (c.rc == ZOK || rescan_) return scan_log();  // it appeared meanwhile
    if (c.rc != ZNONODE) return;                    // connection trouble: the reconnect scans
    if (latest_epoch_ > feed_epoch_) move_epoch(s);
  });
  issue(x, zoo_awexists(s->zh, (log_dir(feed_epoch_) + "/" + log_name(feed_seq_)).c_str(),
                        ZkCallbacks::log_watcher, s, Call::on_stat, x));
}

// The epoch moved on. Commits check the epoch, so none lands in the old one after the move
// (latest_epoch_ was read before the probe that missed). That miss means "never created" only
// if the old epoch was not trimmed meanwhile (trimming starts when the epoch after the next one
// begins, and deletes entries in any order): so check the entry once more, then read the epoch
// again (ZooKeeper answers one session in order): still at most one ahead, nothing was trimmed
// before the check; further ahead, entries may have gone unseen and the feed resyncs.
void ZkStore::move_epoch(Session* s) {
  scanning_ = true;
  auto last_rc = std::make_shared<int>(ZSYSTEMERROR);  // (not answered yet)
  Call* last = new_call([last_rc](Call& c) { *last_rc = c.rc; });
  issue(last, zoo_aexists(s->zh, (log_dir(feed_epoch_) + "/" + log_name(feed_seq_)).c_str(), 0, Call::on_stat,
                          last));
  Call* now = new_call([this, s, last_rc](Call& c) {
    if (s != session_.get()) return;
    scanning_ = false;
    if (*last_rc == ZOK) return scan_log();
    if (*last_rc != ZNONODE || c.rc != ZOK) return;  // connection trouble: the reconnect resyncs
    int64_t epoch = std::strtoll(c.data.c_str(), nullptr, 10);
    latest_epoch_ = std::max(latest_epoch_, epoch);
    if (epoch <= feed_epoch_) return scan_log();
    if (epoch > feed_epoch_ + 1) {
      // The old epoch may have been trimmed under us: what we missed is unknown.
      scanning_ = true;
      Call* list = new_call([this, s, epoch](Call& l) {
        if (s != session_.get()) return;
        scanning_ = false;
        if (l.rc != ZOK) return;
        int64_t next = 0;
        for (const auto& name : l.children)
          if (auto seq = parse_log_seq(name)) next = std::max(next, *seq + 1);
        feed_epoch_ = epoch;
        feed_seq_ = next;
        deliver(Change{{}, 0, true, {}});
        scan_log();
      });
      issue(list, zoo_aget_children2(s->zh, log_dir(epoch).c_str(), 0, Call::on_children, list));
      return;
    }
    feed_epoch_ = epoch;
    feed_seq_ = 0;
    scan_log();
  });
  issue(now, zoo_aget(s->zh, (options_.root + "/logepoch").c_str(), 0, Call::on_data, now));
}

// An epoch is full: the next one starts (whoever gets there first), and the one before the
// previous goes, entries and fences (readers more than an epoch behind resync).
void ZkStore::next_epoch(int64_t full) {
  if (full != epoch_) return;  // this client already saw it move on
  struct Move {
    std::string epoch, log, txn, value;
    zoo_op_t ops[3];
    zoo_op_result_t results[3];
  };
  auto m = std::make_shared<Move>();
  m->epoch = options_.root + "/logepoch";
  m->log = log_dir(full + 1);
  m->txn = txn_dir(full + 1);
  m->value = std::to_string(full + 1);
  zoo_create_op_init(&m->ops[0], m->log.c_str(), "", 0, acl(), 0, nullptr, 0);
  zoo_create_op_init(&m->ops[1], m->txn.c_str(), "", 0, acl(), 0, nullptr, 0);
  zoo_set_op_init(&m->ops[2], m->epoch.c_str(), m->value.data(), static_cast<int>(m->value.size()),
                  epoch_version_, nullptr);
  Call* c = new_call([this, m, full](Call& c) {
    if (c.rc != ZOK) return;  // another client moved it first
    VLCP_LOG(kInfo, "db") << "change log epoch " << full + 1 << " begins";
    if (full >= 1) drop_epoch(full - 1);
  });
  issue(c, zoo_amulti(session_->zh, 3, m->ops, m->results, Call::on_void, c));
}

void ZkStore::drop_epoch(int64_t epoch) {
  for (const std::string& dir : {log_dir(epoch), txn_dir(epoch)}) {
    Call* c = new_call([this, dir](Call& c) {
      if (c.rc != ZOK || !ready_) return;
      // Children in batches of 200, then the directory; another client doing the same wins.
      struct Batch {
        std::vector<std::string> paths;
        std::vector<zoo_op_t> ops;
        std::vector<zoo_op_result_t> results;
      };
      c.children.push_back("");  // the directory itself, last
      for (size_t start = 0; start < c.children.size(); start += 200) {
        auto b = std::make_shared<Batch>();
        for (size_t i = start; i < std::min(c.children.size(), start + 200); ++i)
          b->paths.push_back(c.children[i].empty() ? dir : dir + "/" + c.children[i]);
        b->ops.resize(b->paths.size());
        b->results.resize(b->paths.size());
        for (size_t i = 0; i < b->paths.size(); ++i) zoo_delete_op_init(&b->ops[i], b->paths[i].c_str(), -1);
        Call* d = new_call([b](Call&) {});
        issue(d, zoo_amulti(session_->zh, static_cast<int>(b->ops.size()), b->ops.data(), b->results.data(),
                            Call::on_void, d));
      }
    });
    issue(c, zoo_aget_children2(session_->zh, dir.c_str(), 0, Call::on_children, c));
  }
}

// ---- compaction --------------------------------------------------------------------------------------

// One node at a time compacts: the one holding the ephemeral node `compactor` (the lease goes
// with its session, and the others, watching it, race to take it over).
void ZkStore::claim_compaction(Session* s) {
  if (options_.compact_after_ms <= 0 || s != session_.get() || !ready_) return;
  std::string lease = options_.root + "/compactor";
  Call* c = new_call([this, s, lease](Call& c) {
    if (s != session_.get()) return;
    const clientid_t* me = zoo_client_id(s->zh);
    if (c.rc == ZOK) {
      if (!lease_) {
        VLCP_LOG(kInfo, "db") << "this node compacts the store's deleted keys";
      }
      lease_ = true;
      sweep_once();
      return schedule_compaction(std::chrono::milliseconds(0));
    }
    if (c.rc != ZNODEEXISTS) return;  // connection trouble: the next session claims again
    Call* w = new_call([this, s, me](Call& w) {
      if (s != session_.get()) return;
      if (w.rc == ZNONODE) return claim_compaction(s);  // gone meanwhile
      if (w.rc == ZOK && me && w.stat.ephemeralOwner == me->client_id && !lease_) {
        lease_ = true;  // ours, from before a reconnect
        sweep_once();
        schedule_compaction(std::chrono::milliseconds(0));
      }
    });
    issue(w, zoo_awexists(s->zh, lease.c_str(), ZkCallbacks::lease_watcher, s, Call::on_stat, w));
  });
  issue(c, zoo_acreate(s->zh, lease.c_str(), "", 0, acl(), ZOO_EPHEMERAL, Call::on_string, c));
}

void ZkStore::schedule_compaction(std::chrono::milliseconds after) {
  if (pass_scheduled_) return;
  pass_scheduled_ = true;
  loop_.after(after, [this, alive = alive_] {
    if (!*alive) return;
    pass_scheduled_ = false;
    if (!lease_ || !ready_ || passing_) return;  // (a running pass schedules the next)
    passing_ = true;
    // A pass removes at most kPassMarkers markers' tombstones; a full one runs the next at once.
    run_pass(compact_cutoff(), kPassMarkers, [this](Result<size_t> n) {
      passing_ = false;
      auto interval = std::chrono::milliseconds(std::max<int64_t>(250, options_.compact_after_ms / 4));
      if (n.ok() && *n > 0) {
        VLCP_LOG(kDebug, "db") << "compaction forgot " << *n << " deleted keys";
      } else if (!n.ok() && wall_clock_us() - last_compact_warning_us_ > 60'000'000) {
        // (at most once a minute: a compaction that keeps failing lets the store grow)
        last_compact_warning_us_ = wall_clock_us();
        VLCP_LOG(kWarn, "db") << "compaction failed: " << n.status().to_string();
      }
      schedule_compaction(last_pass_full_ ? std::chrono::milliseconds(0) : interval);
    });
  });
}

int64_t ZkStore::compact_cutoff() const {
  int64_t now = std::max(wall_clock_us(), last_ts_us_);
  return (now - options_.compact_after_ms * 1000) / 1'000'000;
}

void ZkStore::compact(std::function<void(Result<size_t>)> done) {
  run_pass(std::numeric_limits<int64_t>::max(), std::numeric_limits<size_t>::max(), std::move(done));
}

struct ZkStore::Pass {
  int64_t cutoff = 0;  // buckets (seconds) below this one
  size_t budget = 0;   // markers at most
  size_t removed = 0;
  std::vector<std::string> buckets;
  size_t next = 0;
  std::function<void(Result<size_t>)> done;
};

// The markers' tombstones, removed in multis of up to kBatchMarkers markers: each deletes the
// tombstones still at the data version the marker names (a key written since is skipped),
// advances their parents' generations, sets rev (so a read that overlapped it reads again) and
// deletes the markers.
struct ZkStore::Batch {
  std::vector<std::string> markers;
  std::map<std::string, int> nodes;  // tombstone -> its data version
  size_t bytes = 0;
  std::vector<std::string> paths;
  std::vector<zoo_op_t> ops;
  std::vector<zoo_op_result_t> results;
  int attempts = 0;
};

void ZkStore::run_pass(int64_t cutoff, size_t budget, std::function<void(Result<size_t>)> done) {
  if (!ready_) return done(unavailable());
  auto p = std::make_shared<Pass>();
  p->cutoff = cutoff;
  p->budget = budget;
  p->done = std::move(done);
  Call* c = new_call([this, p](Call& c) {
    if (c.rc != ZOK) return p->done(make_error(Errc::kUnavailable, "listing tombstones: " + zk_text(c.rc)));
    for (const auto& name : c.children) {
      char* end = nullptr;
      long long second = std::strtoll(name.c_str(), &end, 10);
      if (!*end && second < p->cutoff) p->buckets.push_back(name);
    }
    std::sort(p->buckets.begin(), p->buckets.end());
    last_pass_full_ = false;
    next_bucket(p);
  });
  issue(c, zoo_aget_children2(session_->zh, (options_.root + "/tomb").c_str(), 0, Call::on_children, c));
}

void ZkStore::next_bucket(std::shared_ptr<Pass> p) {
  if (!ready_) return p->done(unavailable());
  if (p->budget == 0) last_pass_full_ = true;
  if (p->next >= p->buckets.size() || p->budget == 0) {
    compacted_ += p->removed;
    return p->done(p->removed);
  }
  std::string dir = options_.root + "/tomb/" + p->buckets[p->next];
  Call* c = new_call([this, p, dir](Call& c) {
    if (c.rc == ZNONODE) {
      ++p->next;
      return next_bucket(p);
    }
    if (c.rc != ZOK) return p->done(make_error(Errc::kUnavailable, "listing tombstones: " + zk_text(c.rc)));
    if (c.children.empty()) {  // done with this second (a commit that late fails and retries)
      Call* d = new_call([this, p](Call&) {
        ++p->next;
        next_bucket(p);
      });
      issue(d, zoo_adelete(session_->zh, dir.c_str(), -1, Call::on_void, d));
      return;
    }
    auto b = std::make_shared<Batch>();
    size_t n = std::min({c.children.size(), kBatchMarkers, p->budget});
    auto pending = std::make_shared<size_t>(n);
    auto failed = std::make_shared<int>(ZOK);
    const std::string kv = options_.root + "/kv/";
    for (size_t i = 0; i < n; ++i) {
      std::string marker = dir + "/" + c.children[i];
      Call* g = new_call([this, p, b, marker, pending, failed, kv](Call& g) {
        if (g.rc == ZOK && !b->markers.empty() && b->bytes + g.data.size() > kBatchBytes) {
          // left for the next multi: this one is big enough
        } else if (g.rc == ZOK) {
          b->bytes += g.data.size() + marker.size();
          b->markers.push_back(marker);
          auto j = Json::parse(g.data, nullptr, false);
          if (j.is_array())
            for (const auto& t : j)
              if (t.is_array() && t.size() == 2 && t[0].is_string() && t[1].is_number_integer() &&
                  t[0].get<std::string>().compare(0, kv.size(), kv) == 0) {
                int& v = b->nodes.try_emplace(t[0].get<std::string>(), -1).first->second;
                v = std::max(v, t[1].get<int>());  // (replaced by the version read: verify_tombstones)
              }
        } else if (g.rc != ZNONODE) {
          *failed = g.rc;
        }
        if (--*pending) return;
        if (*failed != ZOK)
          return p->done(make_error(Errc::kUnavailable, "reading tombstones: " + zk_text(*failed)));
        p->budget -= std::min(p->budget, b->markers.size());
        if (b->markers.empty()) return next_bucket(p);  // another pass took them: list again
        verify_tombstones(b, [this, p, b](Status st) {
          if (!st.ok()) return p->done(st);
          apply_batch(b, [this, p](Result<size_t> r) {
            if (!r.ok()) return p->done(r.error());
            p->removed += *r;
            next_bucket(p);
          });
        });
      });
      issue(g, zoo_aget(session_->zh, marker.c_str(), 0, Call::on_data, g));
    }
  });
  issue(c, zoo_aget_children2(session_->zh, dir.c_str(), 0, Call::on_children, c));
}

// A marker only names a node: what is there now decides. Each named node is read; only a key's
// node (kv/<parent>/<leaf>) that holds a tombstone now stays in the batch, to be deleted at the
// data version just read (a write since fails the multi's version check). A marker's own
// version is never trusted: markers are filed by the committing node's clock, and an older
// marker processed after a newer one (skew, an interrupted pass) would name a version the key
// has reached again, alive, after being created anew.
void ZkStore::verify_tombstones(std::shared_ptr<Batch> b, std::function<void(Status)> then) {
  if (b->nodes.empty()) return then(Status{});
  if (!ready_) return then(unavailable());
  const std::string kv = options_.root + "/kv/";
  for (auto it = b->nodes.begin(); it != b->nodes.end();) {
    std::string rest = it->first.compare(0, kv.size(), kv) == 0 ? it->first.substr(kv.size()) : "";
    size_t slash = rest.find('/');
    bool key_node = slash != std::string::npos && slash > 0 && slash + 1 < rest.size() &&
                    rest.find('/', slash + 1) == std::string::npos;
    it = key_node ? std::next(it) : b->nodes.erase(it);
  }
  if (b->nodes.empty()) return then(Status{});
  auto pending = std::make_shared<size_t>(b->nodes.size());
  auto failed = std::make_shared<int>(ZOK);
  std::vector<std::string> names;
  for (const auto& [node, version] : b->nodes) names.push_back(node);
  for (const auto& node : names) {
    Call* g = new_call([b, node, pending, failed, then](Call& g) {
      if (g.rc == ZOK && g.has_stat) {
        auto r = decode_node(g.data, g.stat.version);
        if (r.ok() && !r->value)
          b->nodes[node] = g.stat.version;
        else
          b->nodes.erase(node);  // alive again (or not ours to judge): kept
      } else if (g.rc == ZNONODE) {
        b->nodes.erase(node);
      } else {
        *failed = g.rc;
      }
      if (--*pending) return;
      if (*failed != ZOK)
        return then(make_error(Errc::kUnavailable, "reading tombstones: " + zk_text(*failed)));
      then(Status{});
    });
    issue(g, zoo_aget(session_->zh, node.c_str(), 0, Call::on_data, g));
  }
}

void ZkStore::apply_batch(std::shared_ptr<Batch> b, std::function<void(Result<size_t>)> then) {
  if (!ready_) return then(unavailable());
  if (b->nodes.empty() && b->markers.empty()) return then(size_t{0});
  b->paths.clear();
  std::vector<int> versions;
  std::set<std::string> parents;
  for (const auto& [node, version] : b->nodes) {
    b->paths.push_back(node);
    versions.push_back(version);
    parents.insert(node.substr(0, node.rfind('/')));
  }
  size_t kv = b->paths.size();
  if (kv) {
    for (const auto& parent : parents) b->paths.push_back(parent);
    b->paths.push_back(options_.root + "/rev");
  }
  size_t first_marker = b->paths.size();
  for (const auto& m : b->markers) b->paths.push_back(m);
  b->ops.assign(b->paths.size(), zoo_op_t{});
  b->results.assign(b->paths.size(), zoo_op_result_t{});
  for (size_t i = 0; i < b->paths.size(); ++i) {
    const char* path = b->paths[i].c_str();
    if (i < kv)
      zoo_delete_op_init(&b->ops[i], path, versions[i]);
    else if (i < first_marker)
      zoo_set_op_init(&b->ops[i], path, "", 0, -1, nullptr);  // the next generation; rev
    else
      zoo_delete_op_init(&b->ops[i], path, -1);
  }
  Call* c = new_call([this, b, kv, first_marker, then](Call& c) {
    if (c.rc == ZOK) return then(kv);
    if ((c.rc == ZBADVERSION || c.rc == ZNONODE || c.rc == ZNOTEMPTY) && ++b->attempts < 1000) {
      // A tombstone written since (or removed by another pass), or a marker gone: without it.
      for (size_t i = 0; i < b->results.size(); ++i) {
        if (b->results[i].err == ZOK || b->results[i].err == ZRUNTIMEINCONSISTENCY) continue;
        if (i < kv)
          b->nodes.erase(b->paths[i]);
        else if (i >= first_marker)
          b->markers.erase(std::find(b->markers.begin(), b->markers.end(), b->paths[i]));
        else
          break;  // a parent or rev gone: cannot be
        return apply_batch(b, then);
      }
    }
    then(make_error(Errc::kUnavailable, "compacting: " + zk_text(c.rc)));
  });
  issue(c, zoo_amulti(session_->zh, static_cast<int>(b->ops.size()), b->ops.data(), b->results.data(),
                      Call::on_void, c));
}

// A store from before markers has tombstones no marker names (empty nodes: deleted keys, and
// keys its commits read absent): the lease holder sweeps them, a parent at a time, 500 nodes a
// multi, and again every horizon while a sweep finds any; then `swept` records that none is
// left (a new store has it from the start).
void ZkStore::sweep_once() {
  std::string swept = options_.root + "/swept";
  Call* c = new_call([this, swept](Call& c) {
    if (c.rc != ZNONODE || !lease_) return;
    sweep(std::numeric_limits<int64_t>::max(), [this, swept](Result<size_t> n) {
      if (n.ok() && *n == 0) {
        Call* done = new_call([](Call&) {});
        issue(done, zoo_acreate(session_->zh, swept.c_str(), "", 0, acl(), 0, Call::on_string, done));
        return;
      }
      if (n.ok()) {
        VLCP_LOG(kInfo, "db") << "swept " << *n << " tombstones of a store from before compaction";
      }
      auto again = std::chrono::milliseconds(std::max<int64_t>(1000, options_.compact_after_ms));
      loop_.after(again, [this, alive = alive_] {
        if (*alive && lease_ && ready_) sweep_once();
      });
    });
  });
  issue(c, zoo_aexists(session_->zh, swept.c_str(), 0, Call::on_stat, c));
}

struct ZkStore::Sweep {
  int64_t cutoff_ms = 0;
  std::vector<std::string> parents, leaves;
  size_t parent = 0, leaf = 0, removed = 0;
  std::function<void(Result<size_t>)> done;
};

void ZkStore::sweep(int64_t cutoff_ms, std::function<void(Result<size_t>)> done) {
  if (!ready_) return done(unavailable());
  auto w = std::make_shared<Sweep>();
  w->cutoff_ms = cutoff_ms;
  w->done = std::move(done);
  Call* c = new_call([this, w](Call& c) {
    if (c.rc != ZOK) return w->done(make_error(Errc::kUnavailable, "listing keys: " + zk_text(c.rc)));
    for (const auto& p : c.children) w->parents.push_back(options_.root + "/kv/" + p);
    sweep_step(w);
  });
  issue(c, zoo_aget_children2(session_->zh, (options_.root + "/kv").c_str(), 0, Call::on_children, c));
}

void ZkStore::sweep_step(std::shared_ptr<Sweep> w) {
  if (!ready_) return w->done(unavailable());
  if (w->leaf >= w->leaves.size()) {  // the next parent
    if (w->parent >= w->parents.size()) return w->done(w->removed);
    std::string parent = w->parents[w->parent++];
    Call* c = new_call([this, w, parent](Call& c) {
      if (c.rc != ZOK && c.rc != ZNONODE)
        return w->done(make_error(Errc::kUnavailable, "listing keys: " + zk_text(c.rc)));
      w->leaves.clear();
      for (const auto& leaf : c.children) w->leaves.push_back(parent + "/" + leaf);
      w->leaf = 0;
      sweep_step(w);
    });
    issue(c, zoo_aget_children2(session_->zh, parent.c_str(), 0, Call::on_children, c));
    return;
  }
  auto b = std::make_shared<Batch>();
  size_t n = std::min<size_t>(500, w->leaves.size() - w->leaf);
  auto pending = std::make_shared<size_t>(n);
  auto failed = std::make_shared<int>(ZOK);
  for (size_t i = 0; i < n; ++i) {
    std::string node = w->leaves[w->leaf++];
    Call* g = new_call([this, w, b, node, pending, failed](Call& g) {
      if (g.rc == ZOK && g.data.empty() && g.stat.mtime < w->cutoff_ms) b->nodes[node] = g.stat.version;
      if (g.rc != ZOK && g.rc != ZNONODE) *failed = g.rc;
      if (--*pending) return;
      // A read that failed is no "nothing to sweep": the sweep fails and runs again (else `swept`
      // would be recorded over tombstones it never saw).
      if (*failed != ZOK) return w->done(make_error(Errc::kUnavailable, "reading keys: " + zk_text(*failed)));
      apply_batch(b, [this, w](Result<size_t> r) {
        if (!r.ok()) return w->done(r.error());
        w->removed += *r;
        sweep_step(w);
      });
    });
    issue(g, zoo_aget(session_->zh, node.c_str(), 0, Call::on_data, g));
  }
}

// Counts the store's nodes by kind: for tests and the measurements in perf/RESULTS.md.
void ZkStore::census(std::function<void(Result<std::map<std::string, size_t>>)> done) {
  if (!ready_) return done(unavailable());
  struct State {
    std::map<std::string, size_t> counts;
    int pending = 0, failed = ZOK;
    std::function<void(Result<std::map<std::string, size_t>>)> done;
  };
  auto st = std::make_shared<State>();
  st->done = std::move(done);
  auto settle = [st] {
    if (--st->pending) return;
    auto done = std::move(st->done);  // (which holds the walk: let it go)
    st->done = nullptr;
    if (st->failed != ZOK)
      return done(make_error(Errc::kUnavailable, "counting nodes: " + zk_text(st->failed)));
    done(st->counts);
  };
  // visit(path, area): counts the node, and its children by area.
  auto visit = std::make_shared<std::function<void(std::string, std::string)>>();
  std::weak_ptr<std::function<void(std::string, std::string)>> weak = visit;
  *visit = [this, st, settle, weak](std::string path, std::string area) {
    ++st->pending;
    Call* c = new_call([this, st, settle, weak, path, area](Call& c) {
      auto visit = weak.lock();
      if (c.rc != ZOK && c.rc != ZNONODE && st->failed == ZOK) st->failed = c.rc;
      if (c.rc == ZOK) {
        if (area == "key") {
          ++st->counts[c.data.empty() || c.data[0] != '{' || c.data.find("\"v\"") == std::string::npos
                           ? "kv.tombstones"
                           : "kv.keys"];
        } else {
          ++st->counts[area];
          for (const auto& child : c.children) {
            std::string sub = path + "/" + child, next = "other";
            if (area == "kv") next = "kv.parents";
            if (area == "kv.parents") next = "key";
            if (area == "log" || area == "txn" || area == "tomb") next = area + ".dirs";
            if (area == "log.dirs") next = "log.entries";
            if (area == "txn.dirs") next = "txn.fences";
            if (area == "tomb.dirs") next = "tomb.markers";
            if (area == "other" && path == options_.root)
              next = child == "kv" || child == "log" || child == "txn" || child == "tomb" ? child
                                                                                          : "other.leaves";
            if (next == "log.entries" || next == "txn.fences" || next == "tomb.markers" ||
                next == "other.leaves")
              ++st->counts[next];  // leaves: counted, not read
            else if (visit)
              (*visit)(sub, next);
          }
        }
      }
      settle();
    });
    if (area == "key")
      issue(c, zoo_aget(session_->zh, path.c_str(), 0, Call::on_data, c));
    else
      issue(c, zoo_aget_children2(session_->zh, path.c_str(), 0, Call::on_children, c));
  };
  st->done = [visit, done = std::move(st->done)](auto r) { done(std::move(r)); };  // holds the walk
  ++st->pending;
  (*visit)(options_.root, "other");
  settle();
}

}  // namespace vlcp::db
