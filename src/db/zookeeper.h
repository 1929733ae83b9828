// The cluster store: ObjectDB on a ZooKeeper ensemble (the C client, multi-threaded build).
//
// Layout under the root (default /vlcp):
//   kv/<parent>/<leaf>  one node per key, data = {"v": value, "c": created µs, "u": updated µs,
//                       "g": generation}; a deleted key's node (a tombstone) has no "v" (an
//                       empty one is from before markers: swept, see sweep()). A key
//                       splits at its last dot (viperflow.logicalport/p1): siblings share a
//                       parent, so listing a class or an index entry reads one parent's
//                       children, and no node has more children than one class has objects
//                       (ZooKeeper answers are bounded by its ~1 MiB packet limit). Parents are
//                       created before the first commit that needs them and never removed.
//                       A key's version is (generation << 32 | data version + 1); a key without
//                       a node has its parent's generation and 0 below.
//   kv/<parent> data    none; its data version is the parent's generation: compaction removes
//                       tombstones and advances their parents' generations in one multi, and
//                       every commit checks the generations of the parents of the keys it read.
//                       So a commit that read a key before its tombstone went cannot pass a
//                       check against a node created after (no ABA), and a key created again
//                       starts at a higher generation: versions never go back.
//   tomb/<second>/<txid> a commit that leaves tombstones names them ([[node, data version]]),
//                       in the directory of its second. The node holding the lease `compactor`
//                       (ephemeral) removes the tombstones of seconds older than the horizon
//                       that still have the version named (a key written since is skipped).
//   rev                 every commit and every compaction sets it: its data version is the
//                       store's revision, its mzxid the last commit's. A read gets rev, then its
//                       keys, then their parents: a key node whose mzxid is no later than rev's
//                       held that value then, and a key without a node had none if its parent's
//                       generation has not moved since; if all pass the read is one snapshot;
//                       else it reads again.
//   log/<epoch>/c-<seq> one sequential node per commit, data = {"keys": [...], "records": {...}}
//                       (the records when under 64 KiB): the change feed,
//                       in commit order. Within an epoch the sequence has no gaps (nothing is
//                       deleted there), so readers fetch the next entry by name and watch for
//                       its creation: O(1) per commit, never a listing. logepoch names the
//                       current epoch; every commit checks it, so none lands in an epoch after
//                       the next began. When an epoch is full the next begins and the one
//                       before the previous is deleted (a reader that far behind resyncs).
//   txn/<epoch>/<txid>  a commit's fence: created by the commit itself, so a client that lost
//                       the answer to a commit learns its outcome by trying to create it (exists:
//                       committed; created: it can never commit).
// Timestamps come from a hybrid clock: this node's clock, never earlier than the last commit's
// server time (rev's mtime) it read, nor than a time it handed out before.
// A commit is one multi: check every key read (a key read without a node: create and delete it,
// which fails if it appeared), set or create every key written, check the parents'
// generations, bump rev, create the fence, the tombstones' marker and the log entry. It applies
// whole or not at all.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "db/store.h"
#include "io/control_loop.h"
#include "sched/task_ring.h"

struct ACL_vector;

namespace vlcp::db {

struct ZkOptions {
  std::string hosts;           // "h1:2181,h2:2181", optionally followed by a chroot ("/chroot")
  std::string root = "/vlcp";  // where the store lives (under the chroot)
  int session_timeout_ms = 6000;
  std::string auth;        // "user:password" for digest auth; nodes then get creator-only ACLs
  size_t log_keep = 1000;  // change-log entries kept
  // Deleted keys' nodes (tombstones) are removed once older than this, by the one node that
  // holds the compaction lease; 0: only when asked (compact()).
  int64_t compact_after_ms = 60'000;
  // The change feed: ZooKeeper's own watches on what ObjectDB follows (a node hears only of the
  // keys it mirrors and the parents it lists), or, false, the cluster-wide log (every commit).
  bool follow = true;
  // While the first session is being set up (vlcpd starting beside its store), reads, commits and
  // listings wait for it, at most this long, rather than failing at once: every caller would
  // otherwise lose its retry period on each start. After that, and after any later loss, they
  // fail at once (the callers retry or report).
  int first_wait_ms = 3000;
};

// What the targeted feed holds and has heard (for metrics and the scale tools).
struct ZkFollowStats {
  size_t keys = 0, prefixes = 0, parents = 0;  // followed; parents whose children are watched
  uint64_t events = 0;                         // watch notifications received
  uint64_t reported = 0;                       // keys reported to ObjectDB
  uint64_t listings = 0;                       // children listings (kv's and parents')
};

// ZooKeeper's limit on one request (jute.maxbuffer, 1 MiB by default), with room for headers.
inline constexpr size_t kZkMaxRequestBytes = (1u << 20) - 4096;

class ZkStore final : public Store {
 public:
  // Starts connecting; connected() tells when the session is up and the layout is in place.
  static Result<std::unique_ptr<ZkStore>> connect(io::ControlLoop& loop, ZkOptions options);
  ~ZkStore() override;

  void read(std::vector<std::string> keys, bool with_time,
            std::function<void(Result<Snapshot>)> done) override;
  void commit(Commit commit, std::function<void(Result<Committed>)> done) override;
  void list(std::string prefix, std::function<void(Result<std::vector<std::string>>)> done) override;
  uint64_t watch(std::function<void(const Change&)> on_change) override;
  void unwatch(uint64_t id) override;
  bool connected() const override { return ready_; }
  std::string describe() const override { return "zookeeper:" + options_.hosts + options_.root; }

  uint64_t sessions() const { return sessions_started_; }

  bool follows() const override { return options_.follow; }
  void follow(const std::vector<std::string>& keys) override;
  void unfollow(const std::vector<std::string>& keys) override;
  void follow_prefix(const std::string& prefix, bool children) override;
  void unfollow_prefix(const std::string& prefix, bool children) override;
  ZkFollowStats follow_stats() const;

  // Removes every tombstone now, whatever its age (the lease holder does it on its own).
  void compact(std::function<void(Result<size_t>)> done) override;
  // Removes the tombstones no marker names (empty nodes, from before markers) last written
  // before `cutoff_ms` (server time): the lease holder does it until none is left.
  void sweep(int64_t cutoff_ms, std::function<void(Result<size_t>)> done);
  bool compacting() const { return lease_; }         // this node holds the compaction lease
  uint64_t compacted() const { return compacted_; }  // tombstones this node removed
  // The store's nodes by kind: kv.keys, kv.tombstones, kv.parents, log.entries, txn.fences,
  // tomb.markers, and the directories and fixed nodes (the rest).
  void census(std::function<void(Result<std::map<std::string, size_t>>)> done);

 private:
  friend struct ZkCallbacks;
  struct Session;
  struct Call;
  struct ReadOp;
  struct CommitOp;
  struct Pass;
  struct Batch;
  explicit ZkStore(io::ControlLoop& loop, ZkOptions options);
  void claim_compaction(Session* s);
  void schedule_compaction(std::chrono::milliseconds after);
  int64_t compact_cutoff() const;
  void run_pass(int64_t cutoff, size_t budget, std::function<void(Result<size_t>)> done);
  void next_bucket(std::shared_ptr<Pass> p);
  void verify_tombstones(std::shared_ptr<Batch> b, std::function<void(Status)> then);
  void apply_batch(std::shared_ptr<Batch> b, std::function<void(Result<size_t>)> then);
  struct Sweep;
  void sweep_once();
  void sweep_step(std::shared_ptr<Sweep> w);
  std::string parent_path(const std::string& key) const;  // the node of a key's parent

  Status open_session();
  Call* new_call(std::function<void(Call&)> fn);
  void issue(Call* c, int rc);  // after a zoo_a* call: a request refused at once completes on the loop
  const ACL_vector* acl() const;
  void on_session_event(Session* s, int state);
  void prepare_layout(Session* s);
  void read_attempt(std::shared_ptr<ReadOp> op);
  void refresh_epoch();
  void resolve(std::shared_ptr<CommitOp> op);
  void scan_log();
  void wait_log(Session* s);
  void move_epoch(Session* s);
  void next_epoch(int64_t full);
  void drop_epoch(int64_t epoch);
  std::string log_dir(int64_t epoch) const;
  std::string txn_dir(int64_t epoch) const;
  void deliver(const Change& c);
  // The targeted feed: a followed key's node has an exists watch; a followed prefix watches its
  // parent's children (and, for a whole subtree, kv's children: the parents that can hold it).
  void arm_key(Session* s, const std::string& key);
  void arm_all(Session* s);               // every follow, in a (new) session
  void list_kv(Session* s, bool report);  // report: the children of parents found are new
  void list_parent(Session* s, const std::string& parent, bool report);
  void on_follow_event(Session* s, int type, const std::string& path);
  bool wants_parent(const std::string& parent) const;  // a followed prefix can hold its children
  bool under_prefix(const std::string& key) const;     // a child of a followed prefix's parent
  Status unavailable() const;
  std::string path(const std::string& key) const;
  // Creates the parents of these keys' nodes that may not exist yet, then continues (with the
  // first error, or ZOK).
  void ensure_parents(std::vector<std::string> parents, std::function<void(int rc)> then);
  void list_parents(std::vector<std::string> parents, std::string prefix,
                    std::shared_ptr<std::vector<std::string>> keys,
                    std::function<void(Result<std::vector<std::string>>)> done);

  io::ControlLoop& loop_;
  ZkOptions options_;
  std::unique_ptr<Session> session_;
  std::vector<std::unique_ptr<Session>> retired_;
  bool ready_ = false;
  std::string last_error_;
  bool had_session_ = false;
  // Calls made before the first session was ready, run again when it is (or when first_wait_ms
  // has passed: they then fail).
  bool defer(std::function<void()> again);
  void run_deferred();
  std::vector<std::function<void()>> deferred_;
  bool first_wait_over_ = false;
  uint64_t sessions_started_ = 0;
  int64_t epoch_ = 0;                      // the log's epoch as last read, and its node's version: commits
  int32_t epoch_version_ = 0;              // go into this epoch and check it has not moved on
  int64_t feed_epoch_ = 0, feed_seq_ = 0;  // the next log entry to deliver
  bool scanning_ = false, rescan_ = false;
  int window_ = 1;            // log entries fetched per probe
  int64_t latest_epoch_ = 0;  // the newest epoch seen
  bool epoch_watched_ = false;
  int64_t last_ts_us_ = 0;
  uint64_t txn_counter_ = 0;
  uint64_t commits_ = 0;
  std::set<std::string> parents_;  // kv parents known to exist
  std::string bucket_;             // the markers' directory known to exist
  bool lease_ = false, pass_scheduled_ = false, passing_ = false, last_pass_full_ = false;
  int64_t last_compact_warning_us_ = 0;  // compaction failures are logged once a minute
  uint64_t compacted_ = 0;
  std::deque<std::shared_ptr<CommitOp>> in_doubt_;
  uint64_t next_watch_ = 0;
  std::map<uint64_t, std::function<void(const Change&)>> watchers_;
  std::set<std::string> followed_;                            // keys
  std::set<std::pair<std::string, bool>> followed_prefixes_;  // (prefix, children only)
  std::map<std::string, std::set<std::string>> children_;     // parents watched -> children as listed
  bool kv_listing_ = false, kv_relist_ = false;
  std::set<std::string> parent_listing_, parent_relist_;  // one listing of a parent at a time
  ZkFollowStats follow_stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::db
