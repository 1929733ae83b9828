#include "db/embedded.h"

#include <lmdb.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "base/log.h"

namespace vlcp::db {
namespace {

// A stored record: version, created, updated (8 bytes each, big-endian), a presence byte, then
// the value's JSON text.
constexpr size_t kRecordHeader = 25;
constexpr size_t kMaxValueBytes = 64u << 20;

void put64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (i * 8)));
}
uint64_t get64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

std::string encode_record(const Record& r) {
  std::string out;
  put64(out, r.version);
  put64(out, static_cast<uint64_t>(r.created_us));
  put64(out, static_cast<uint64_t>(r.updated_us));
  out.push_back(r.value ? 1 : 0);
  if (r.value) out += r.value->dump();
  return out;
}

Result<Record> decode_record(const MDB_val& v) {
  if (v.mv_size < kRecordHeader) return make_error(Errc::kMalformed, "a stored record is too short");
  auto* p = static_cast<const unsigned char*>(v.mv_data);
  Record r;
  r.version = get64(p);
  r.created_us = static_cast<int64_t>(get64(p + 8));
  r.updated_us = static_cast<int64_t>(get64(p + 16));
  if (p[24]) {
    auto parsed = Json::parse(p + kRecordHeader, p + v.mv_size, nullptr, false);
    if (parsed.is_discarded()) return make_error(Errc::kMalformed, "a stored value is not JSON");
    r.value = std::move(parsed);
  }
  return r;
}

Status lmdb_error(int rc, std::string_view what) {
  Errc code = rc == MDB_MAP_FULL ? Errc::kResourceExhausted : Errc::kIo;
  return make_error(code, std::string(what) + ": " + mdb_strerror(rc));
}

MDB_val val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

constexpr std::string_view kRevisionKey = "revision";
// Every version a forgotten (deleted) key had is at most the floor: an absent key reads as the
// floor, and a key written again starts above it.
constexpr std::string_view kFloorKey = "floor";

uint64_t read_floor(MDB_txn* txn, MDB_dbi meta) {
  MDB_val key = val(kFloorKey), data;
  if (mdb_get(txn, meta, &key, &data) == 0 && data.mv_size == 8)
    return get64(static_cast<const unsigned char*>(data.mv_data));
  return 0;
}

int write_floor(MDB_txn* txn, MDB_dbi meta, uint64_t floor) {
  std::string bytes;
  put64(bytes, floor);
  MDB_val key = val(kFloorKey), data = val(bytes);
  return mdb_put(txn, meta, &key, &data, 0);
}

}  // namespace

struct EmbeddedStore::Lmdb {
  MDB_env* env = nullptr;
  MDB_dbi kv = 0, meta = 0;
  ~Lmdb() {
    if (env) mdb_env_close(env);
  }
};

EmbeddedStore::EmbeddedStore(io::ControlLoop& loop, EmbeddedOptions options)
    : loop_(loop), options_(std::move(options)), lmdb_(std::make_unique<Lmdb>()) {}

Result<std::unique_ptr<EmbeddedStore>> EmbeddedStore::open(io::ControlLoop& loop, EmbeddedOptions options) {
  if (options.path.empty()) return make_error(Errc::kInvalidArgument, "the embedded store needs a path");
  std::unique_ptr<EmbeddedStore> s(new EmbeddedStore(loop, std::move(options)));
  const std::string& path = s->options_.path;
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  Lmdb& l = *s->lmdb_;
  int rc = mdb_env_create(&l.env);
  if (rc) return lmdb_error(rc, "creating the LMDB environment");
  mdb_env_set_maxdbs(l.env, 2);
  rc = mdb_env_set_mapsize(l.env, s->options_.map_size_mb << 20);
  if (rc) return lmdb_error(rc, "sizing the LMDB map");
  unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | (s->options_.sync ? 0 : MDB_NOSYNC);
  rc = mdb_env_open(l.env, path.c_str(), flags, 0600);
  if (rc) return lmdb_error(rc, "opening the embedded store " + path);
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(l.env, nullptr, 0, &txn);
  if (rc) return lmdb_error(rc, "starting a transaction on " + path);
  if ((rc = mdb_dbi_open(txn, "kv", MDB_CREATE, &l.kv)) ||
      (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &l.meta))) {
    mdb_txn_abort(txn);
    return lmdb_error(rc, "opening the tables of " + path);
  }
  MDB_val key = val(kRevisionKey), data;
  if (mdb_get(txn, l.meta, &key, &data) == 0 && data.mv_size == 8)
    s->revision_.store(get64(static_cast<const unsigned char*>(data.mv_data)));
  // Deleted keys a store from before compaction kept as records go now.
  auto swept = s->sweep(txn);
  if (!swept.ok()) {
    mdb_txn_abort(txn);
    return swept.error();
  }
  rc = mdb_txn_commit(txn);
  if (rc) return lmdb_error(rc, "initialising " + path);

  VLCP_ASSIGN_OR_RETURN(s->to_db_, sched::TaskRing::create("control-to-embedded-db", 1023, &s->db_waker_));
  VLCP_ASSIGN_OR_RETURN(s->to_loop_, sched::TaskRing::create("embedded-db-to-control", 1023, &loop.waker()));
  EmbeddedStore* self = s.get();
  s->source_ = loop.add_source([self] { return self->to_loop_->run(); });
  s->thread_ = std::thread([self] { self->thread_main(); });
  VLCP_LOG(kInfo, "db") << "embedded store " << path << " at revision " << s->revision();
  return s;
}

EmbeddedStore::~EmbeddedStore() {
  if (thread_.joinable()) {
    stop_.store(true);
    db_waker_.notify();
    thread_.join();
  }
  if (source_) loop_.remove_source(source_);
}

void EmbeddedStore::thread_main() {
  while (!stop_.load()) {
    while (to_db_->run(1024)) {
    }
    if (!batch_.empty()) commit_batch();
    db_waker_.sleep_unless([this] { return stop_.load() || !to_db_->empty(); }, std::chrono::seconds(1));
  }
  to_db_->run();  // what the control thread asked before stopping still completes
  if (!batch_.empty()) commit_batch();
}

void EmbeddedStore::read(std::vector<std::string> keys, bool with_time,
                         std::function<void(Result<Snapshot>)> done) {
  for (const auto& k : keys)
    if (Status s = check_key(k); !s.ok()) {
      done(s);
      return;
    }
  // LMDB readers never wait for the writer: reads run here, on the control thread, at the last
  // committed state, instead of queueing behind a group commit's fsync on the db thread.
  Result<Snapshot> result = [&]() -> Result<Snapshot> {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(lmdb_->env, nullptr, MDB_RDONLY, &txn);
    if (rc) return lmdb_error(rc, "starting a read");
    Snapshot snap;
    const uint64_t floor = read_floor(txn, lmdb_->meta);
    for (const auto& k : keys) {
      MDB_val key = val(k), data;
      rc = mdb_get(txn, lmdb_->kv, &key, &data);
      if (rc == MDB_NOTFOUND) {
        snap.records[k] = Record::absent(floor);
        continue;
      }
      Result<Record> r = rc ? Result<Record>(lmdb_error(rc, "reading " + k)) : decode_record(data);
      if (!r.ok()) {
        mdb_txn_abort(txn);
        return r.error();
      }
      snap.records[k] = std::move(*r);
    }
    mdb_txn_abort(txn);
    if (with_time) snap.timestamp_us = next_timestamp(0);
    return snap;
  }();
  // Answered on a later turn of the loop, as every store answers.
  boost::asio::post(loop_.context(), [done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

// A time after every timestamp given before (reads on the control thread, commits on the db
// thread), not before `at_least`.
int64_t EmbeddedStore::next_timestamp(int64_t at_least) {
  int64_t last = last_timestamp_us_.load();
  for (;;) {
    int64_t ts = std::max({at_least, wall_clock_us(), last + 1});
    if (last_timestamp_us_.compare_exchange_weak(last, ts)) return ts;
  }
}

void EmbeddedStore::commit(Commit c, std::function<void(Result<Committed>)> done) {
  for (const auto& [k, v] : c.writes) {
    if (Status s = check_key(k); !s.ok()) return done(s);
    if (!c.read.count(k))
      return done(make_error(Errc::kInvalidArgument, "key " + k + " is written without having been read"));
  }
  // Queued on the db thread; what is queued together commits together (one fsync).
  to_db([this, c = std::move(c), done = std::move(done)]() mutable {
    batch_.push_back(Pending{std::move(c), std::move(done)});
  });
}

// One LMDB write transaction for every commit queued: each is checked against the state its
// predecessors in the batch left (LMDB's transaction sees its own writes), a conflicting one
// is answered kConflict and writes nothing, and the rest become durable with one fsync.
void EmbeddedStore::commit_batch() {
  std::vector<Pending> batch = std::move(batch_);
  batch_.clear();
  std::vector<Result<Committed>> results;
  std::vector<std::vector<std::string>> keys(batch.size());
  Status failed;
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(lmdb_->env, nullptr, 0, &txn);
  if (rc) failed = lmdb_error(rc, "starting a commit");
  uint64_t revision = revision_.load();
  const uint64_t floor_before = txn ? read_floor(txn, lmdb_->meta) : 0;
  uint64_t floor = floor_before;
  for (size_t i = 0; i < batch.size() && failed.ok(); ++i) {
    Commit& c = batch[i].commit;
    Result<Committed> result = [&]() -> Result<Committed> {
      std::map<std::string, Record> current;
      for (const auto& [k, seen] : c.read) {
        MDB_val key = val(k), data;
        rc = mdb_get(txn, lmdb_->kv, &key, &data);
        Record r = Record::absent(floor);
        if (rc == 0) {
          auto decoded = decode_record(data);
          if (!decoded.ok()) return decoded.error();
          r = std::move(*decoded);
        } else if (rc != MDB_NOTFOUND) {
          failed = lmdb_error(rc, "reading " + k);
          return failed;
        }
        // Absent then and absent now is unchanged, whatever the floor did meanwhile; otherwise
        // the versions decide (a key written again after it was forgotten starts above the
        // floor, so above any version a reader can have seen it at: no ABA).
        if (r.version != seen.version && (r.exists() || seen.exists()))
          return make_error(Errc::kConflict, "key " + k + " changed since it was read");
        current[k] = std::move(r);
      }
      for (const auto& [k, value] : c.writes)
        if (value && value->dump().size() > kMaxValueBytes)
          return make_error(Errc::kInvalidArgument, "the value of " + k + " is over 64 MiB");
      int64_t ts = next_timestamp(c.timestamp_us);
      Committed out;
      for (auto& [k, value] : c.writes) {
        Record& r = current[k];
        Record next;
        next.version = r.version + 1;  // an absent key reads as the floor
        next.created_us = value && r.value ? r.created_us : (value ? ts : 0);
        next.updated_us = ts;
        next.value = std::move(value);
        MDB_val key = val(k);
        if (next.value) {
          std::string bytes = encode_record(next);
          MDB_val data = val(bytes);
          rc = mdb_put(txn, lmdb_->kv, &key, &data, 0);
        } else if (r.exists()) {
          // A deleted key is forgotten at once; the floor keeps its version.
          rc = mdb_del(txn, lmdb_->kv, &key, nullptr);
          floor = std::max(floor, next.version);
        } else {  // deleting what is not there changes nothing
          next = Record::absent(r.version);
          rc = 0;
        }
        if (rc && rc != MDB_NOTFOUND) {  // the transaction is spoilt: the whole batch fails
          failed = lmdb_error(rc, "writing " + k);
          return failed;
        }
        keys[i].push_back(k);
        out.records[k] = std::move(next);
      }
      out.revision = ++revision;
      return out;
    }();
    results.push_back(std::move(result));
  }
  if (failed.ok()) {
    std::string rev;
    put64(rev, revision);
    MDB_val rk = val(kRevisionKey), rd = val(rev);
    rc = mdb_put(txn, lmdb_->meta, &rk, &rd, 0);
    if (!rc && floor != floor_before) rc = write_floor(txn, lmdb_->meta, floor);
    if (rc) failed = lmdb_error(rc, "writing the revision");
  }
  if (failed.ok()) {
    rc = mdb_txn_commit(txn);  // durable when this returns (unless sync is off)
    txn = nullptr;
    if (rc) failed = lmdb_error(rc, "committing");
  }
  if (txn) mdb_txn_abort(txn);
  if (failed.ok()) revision_.store(revision);
  for (size_t i = 0; i < batch.size(); ++i) {
    Result<Committed> result = failed.ok() ? std::move(results[i]) : Result<Committed>(failed);
    bool ok = result.ok();
    Change change;
    if (ok) change = Change{std::move(keys[i]), result->revision, false, result->records};
    to_loop([this, done = std::move(batch[i].done), result = std::move(result), change = std::move(change),
             ok]() mutable {
      done(std::move(result));
      if (ok) deliver(change);
    });
  }
}

Result<size_t> EmbeddedStore::sweep(MDB_txn* txn) {
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn, lmdb_->kv, &cur);
  if (rc) return lmdb_error(rc, "opening a cursor");
  uint64_t floor = read_floor(txn, lmdb_->meta), before = floor;
  size_t n = 0;
  MDB_val key, data;
  for (rc = mdb_cursor_get(cur, &key, &data, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &key, &data, MDB_NEXT)) {
    auto* p = static_cast<const unsigned char*>(data.mv_data);
    if (data.mv_size < kRecordHeader || p[24]) continue;
    floor = std::max(floor, get64(p));
    if ((rc = mdb_cursor_del(cur, 0))) break;
    ++n;
  }
  mdb_cursor_close(cur);
  if (rc && rc != MDB_NOTFOUND) return lmdb_error(rc, "forgetting deleted keys");
  if (floor != before && (rc = write_floor(txn, lmdb_->meta, floor)))
    return lmdb_error(rc, "writing the floor");
  return n;
}

Result<size_t> EmbeddedStore::records() const {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(lmdb_->env, nullptr, MDB_RDONLY, &txn);
  if (rc) return lmdb_error(rc, "starting a read");
  MDB_stat st{};
  rc = mdb_stat(txn, lmdb_->kv, &st);
  mdb_txn_abort(txn);
  if (rc) return lmdb_error(rc, "reading the store's size");
  return static_cast<size_t>(st.ms_entries);
}

void EmbeddedStore::compact(std::function<void(Result<size_t>)> done) {
  to_db([this, done = std::move(done)]() mutable {
    if (!batch_.empty()) commit_batch();
    Result<size_t> result = [&]() -> Result<size_t> {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(lmdb_->env, nullptr, 0, &txn);
      if (rc) return lmdb_error(rc, "starting a compaction");
      auto n = sweep(txn);
      if (!n.ok()) {
        mdb_txn_abort(txn);
        return n;
      }
      if ((rc = mdb_txn_commit(txn))) return lmdb_error(rc, "committing a compaction");
      return n;
    }();
    to_loop([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  });
}

void EmbeddedStore::list(std::string prefix, std::function<void(Result<std::vector<std::string>>)> done) {
  to_db([this, prefix = std::move(prefix), done = std::move(done)]() mutable {
    Result<std::vector<std::string>> result = [&]() -> Result<std::vector<std::string>> {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(lmdb_->env, nullptr, MDB_RDONLY, &txn);
      if (rc) return lmdb_error(rc, "starting a read");
      MDB_cursor* cur = nullptr;
      rc = mdb_cursor_open(txn, lmdb_->kv, &cur);
      if (rc) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "opening a cursor");
      }
      std::vector<std::string> keys;
      MDB_val key = val(prefix), data;
      for (rc = mdb_cursor_get(cur, &key, &data, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE); rc == 0;
           rc = mdb_cursor_get(cur, &key, &data, MDB_NEXT)) {
        std::string_view k(static_cast<const char*>(key.mv_data), key.mv_size);
        if (k.substr(0, prefix.size()) != prefix) break;
        if (data.mv_size >= kRecordHeader && static_cast<const unsigned char*>(data.mv_data)[24])
          keys.emplace_back(k);
      }
      mdb_cursor_close(cur);
      mdb_txn_abort(txn);
      return keys;
    }();
    to_loop([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  });
}

uint64_t EmbeddedStore::watch(std::function<void(const Change&)> on_change) {
  watchers_[++next_watch_] = std::move(on_change);
  return next_watch_;
}

void EmbeddedStore::unwatch(uint64_t id) {
  watchers_.erase(id);
}

void EmbeddedStore::deliver(const Change& change) {
  std::vector<uint64_t> ids;
  for (const auto& [id, fn] : watchers_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = watchers_.find(id);
    if (it != watchers_.end()) it->second(change);
  }
}

}  // namespace vlcp::db
