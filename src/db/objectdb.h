// ObjectDB: VLCP's transactional object database over a Store (embedded or ZooKeeper), on the
// control thread. Objects are JSON values under dotted keys.
//
//   walk      a read at one consistent snapshot that follows references: the walker asks for
//             keys as it discovers them, and runs again once they are fetched, until it has
//             everything; what it saves is returned and may be watched (absent keys too).
//   writewalk an optimistic read-modify-write over any keys the walker discovers: atomic,
//             isolated (it commits only if nothing it read changed), retried on conflict up to
//             a bound; unique and multi indices and delete cascades declared once are kept in
//             the same transaction.
//   transact  the same with VLCP's updater signature (keys, values, timestamp) -> writes.
//   watches   every node hears every commit (the store's change feed); a watch receives its
//             keys' new records in commit order per key, and "restored" for all its keys after
//             the feed lost track (a ZooKeeper session lost), with what they are now.
//
// Nothing blocks: every call returns at once and its callback runs later on the loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/store.h"
#include "io/control_loop.h"

namespace vlcp::db {

// What a walker sees of one key.
struct Lookup {
  bool fetched = false;            // false: not read yet; return, you will be called again
  const Record* record = nullptr;  // when fetched (an absent key has a record with no value)
  const Json* value() const { return record && record->value ? &*record->value : nullptr; }
};

class WalkContext {
 public:
  virtual ~WalkContext() = default;
  virtual Lookup get(const std::string& key) = 0;
  virtual void save(const std::string& key) = 0;  // return it (and watch it, when walking with a watch)
};
// Called until it completes without asking for a key that was not fetched.
using Walker = std::function<void(WalkContext&)>;

struct WalkResult {
  std::map<std::string, Record> saved;
  bool stale = false;  // served from this node's mirror because the store was unreachable
};

class TxnContext {
 public:
  virtual ~TxnContext() = default;
  virtual Lookup get(const std::string& key) = 0;  // sees this transaction's writes
  virtual void write(const std::string& key, std::optional<Json> value) = 0;  // nullopt deletes; last wins
  virtual int64_t timestamp_us() const = 0;                                   // server time of this attempt
};
// Builds the transaction; an error aborts it (reported, not retried). Runs once per attempt and
// must depend only on what it reads.
using TxnBody = std::function<Status(TxnContext&)>;

struct TxnResult {
  uint64_t revision = 0;
  std::map<std::string, Record> written;  // every key written, index and cascade keys included
  int attempts = 0;
};

struct TxnOptions {
  int max_attempts = 32;  // conflicts retried up to this many attempts in all
};

// VLCP's updater: (keys, values, timestamp) -> (keys to write, their values; nullopt deletes).
using Updater = std::function<Result<std::vector<std::pair<std::string, std::optional<Json>>>>(
    const std::vector<std::string>& keys, const std::vector<std::optional<Json>>& values,
    int64_t timestamp_us)>;

// A unique index ("no two logical ports of one network share a MAC") or a multi index, on
// objects under `prefix` (class prefix without the final dot: "viperflow.logicalport"). The
// index key is indices.<space>.<name>.<escaped field values> (space: the prefix unless rules of
// two classes share one index); a unique one holds the object's key. A multi index keeps one
// key per member, <index key>.<escaped object key>, holding the object's key: adding a member
// never rewrites (or contends on) a list, and members() lists them. Objects missing a field are
// not indexed.
struct IndexRule {
  std::string prefix;
  std::string name;
  std::vector<std::string> fields;
  bool unique = true;
  std::string space = {};
};
// Deleting an object under `prefix` deletes what `dependents` names (when it exists).
struct CascadeRule {
  std::string prefix;
  std::function<std::vector<std::string>(const std::string& key)> dependents;
};

struct KeyUpdate {
  enum Reason { kUpdated, kRestored };
  std::string key;
  Record record;
  Reason reason = kUpdated;
};
using WatchId = uint64_t;

struct ObjectDbStats {
  uint64_t transactions = 0, conflicts = 0, aborted = 0, failed = 0, walks = 0, stale_walks = 0,
           notifications = 0, restores = 0,
           caller_exceptions = 0;  // bodies, walkers and watch callbacks that threw (guarded)
};

class ObjectDb {
 public:
  ObjectDb(io::ControlLoop& loop, Store& store);
  ~ObjectDb();
  ObjectDb(const ObjectDb&) = delete;
  ObjectDb& operator=(const ObjectDb&) = delete;

  void add_index(IndexRule rule);
  void add_cascade(CascadeRule rule);

  void walk(std::vector<std::string> keys, Walker walker, std::function<void(Result<WalkResult>)> done,
            WatchId watch = 0);
  // The keys' records at one snapshot (VLCP's mgetonce).
  void get(std::vector<std::string> keys, std::function<void(Result<std::map<std::string, Record>>)> done);
  void writewalk(std::vector<std::string> keys, TxnBody body, std::function<void(Result<TxnResult>)> done,
                 TxnOptions options = {});
  void transact(std::vector<std::string> keys, Updater updater, std::function<void(Result<TxnResult>)> done,
                TxnOptions options = {});
  void list(std::string prefix, std::function<void(Result<std::vector<std::string>>)> done) {
    store_.list(std::move(prefix), std::move(done));
  }

  WatchId open_watch(std::function<void(const KeyUpdate&)> on_update);
  // Watches keys (existing or not) from their current state on: the first update is a change
  // after this call.
  void watch_keys(WatchId id, const std::vector<std::string>& keys);
  void unwatch_keys(WatchId id, const std::vector<std::string>& keys);
  // Watches every key that starts with `prefix`, now and later: each existing key is reported
  // once with its current record, then every change, and a key that appears is reported when it
  // does. After a lost change feed the prefix is listed again (so keys created meanwhile are
  // found). An app's view of a class of objects (its ports, its networks) without set objects.
  // A key the watch holds only through its prefix is dropped once reported deleted (the mirror
  // stays the size of what exists); if it comes back, it is a new key again.
  // `children`: only keys that are the prefix and one part without a dot (a class's objects, an
  // index entry's members): on a store that follows (ZooKeeper), one parent's watches, where a
  // whole subtree also needs a watch on the list of every parent.
  void watch_prefix(WatchId id, const std::string& prefix, bool children = false);
  void close_watch(WatchId id);
  // This node's copy of a watched key.
  const Record* mirrored(const std::string& key) const;
  // How many keys this node mirrors (every watched key, existing or not).
  size_t mirror_size() const { return mirror_.size(); }

  const ObjectDbStats& stats() const { return stats_; }
  Store& store() { return store_; }

  // The index key an object value has under a rule, if it is indexed (for a multi index, the
  // prefix of its members' keys).
  static std::optional<std::string> index_key(const IndexRule& rule, const Json* value);
  // The objects in a multi index's entry (index_key of a value with the fields wanted), sorted.
  // Like list(), not a snapshot: a transaction that must not miss members added meanwhile
  // fences the object they depend on first.
  void members(const std::string& index_key, std::function<void(Result<std::vector<std::string>>)> done);

 private:
  struct Txn;
  struct Watch {
    std::function<void(const KeyUpdate&)> on_update;
    std::set<std::string> keys;
    std::map<std::string, bool> prefixes;  // prefix -> children only
    std::set<std::string> by_prefix;       // keys it holds only through a prefix (dropped when deleted)
  };
  void attempt(std::shared_ptr<Txn> txn);
  // Runs callers' code on stored data (a transaction body, a walker, a watch callback). What is
  // stored is untrusted (a restore, another node, an older version): an exception it throws
  // becomes an internal error for that caller, counted and logged, never the daemon's end.
  template <class F>
  Status guarded(const char* what, F&& f);
  void notify(Watch& w, const KeyUpdate& u);
  void on_change(const Change& change);
  void refresh();
  void mirror_update(const std::string& key, const Record& record, KeyUpdate::Reason reason);
  void add_watched(WatchId id, const std::string& key, const Record* known);
  void list_prefix(WatchId id, const std::string& prefix);
  // The prefix watches a key falls under that do not watch it yet.
  std::vector<WatchId> prefix_watches_missing(const std::string& key) const;
  // A key found under watch `id`'s prefix: it joins the watch (as held by the prefix only).
  void add_prefixed(WatchId id, const std::string& key);
  // A deleted key: the watches that hold it only by prefix let it go (and the mirror, if none
  // is left).
  void forget_deleted(const std::string& key);
  // A key joins / leaves watchers_: a store that follows is told when the first watch holds it
  // and when the last lets it go.
  std::set<WatchId>& hold(const std::string& key);
  void release(std::map<std::string, std::set<WatchId>>::iterator it);

  io::ControlLoop& loop_;
  Store& store_;
  uint64_t feed_ = 0;
  std::vector<IndexRule> indices_;
  std::vector<CascadeRule> cascades_;
  WatchId next_watch_ = 0;
  std::map<WatchId, Watch> watches_;
  std::map<std::string, std::set<WatchId>> watchers_;                 // key -> watches
  std::map<std::string, std::set<WatchId>> prefix_watchers_;          // prefix -> watches
  std::map<std::pair<std::string, bool>, size_t> followed_prefixes_;  // (prefix, children) -> watches
  std::map<std::string, Record> mirror_;  // watched keys as this node last saw them
  std::set<std::string> pending_;         // watched keys to re-read
  std::set<std::string> pending_init_;    // newly watched keys to read first
  // Keys that prefix watches met in the mirror on a feed without records: told after the read.
  std::map<std::string, std::set<WatchId>> announce_;
  bool pending_restore_ = false, refreshing_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  ObjectDbStats stats_;
};

}  // namespace vlcp::db
