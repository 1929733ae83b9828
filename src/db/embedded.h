// The embedded store, ObjectDB's default: LMDB in the vlcpd process (ACID, MVCC, one file,
// crash-safe: a commit is acknowledged only after LMDB has made it durable). Commits queued
// together share one write transaction and one fsync (group commit). Its own thread
// does every LMDB call, so an fsync never stalls the control loop; results and the change feed
// come back through a ring, in commit order.
//
// A deleted key is forgotten at once: its record goes, and the store's "floor" (kept beside the
// revision) rises to its version. An absent key reads as the floor and a key written again
// starts above it, so versions never repeat (no ABA) and the file holds only what exists. A
// commit that read a key absent still passes while it is absent (the floor moving meanwhile
// changes nothing it read).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db/store.h"
#include "io/control_loop.h"
#include "sched/task_ring.h"
#include "sched/waker.h"

struct MDB_txn;

namespace vlcp::db {

struct EmbeddedOptions {
  std::string path;           // the database file (LMDB adds PATH-lock beside it)
  size_t map_size_mb = 1024;  // the most the file may grow to (sparse until used)
  bool sync = true;           // fsync every commit (off only for benchmarks of the non-durable case)
};

class EmbeddedStore final : public Store {
 public:
  static Result<std::unique_ptr<EmbeddedStore>> open(io::ControlLoop& loop, EmbeddedOptions options);
  ~EmbeddedStore() override;

  void read(std::vector<std::string> keys, bool with_time,
            std::function<void(Result<Snapshot>)> done) override;
  void commit(Commit commit, std::function<void(Result<Committed>)> done) override;
  void list(std::string prefix, std::function<void(Result<std::vector<std::string>>)> done) override;
  uint64_t watch(std::function<void(const Change&)> on_change) override;
  void unwatch(uint64_t id) override;
  bool connected() const override { return true; }
  std::string describe() const override { return "embedded:" + options_.path; }
  // Deleted keys are forgotten when deleted (the floor keeps versions monotonic): this only
  // sweeps what a store from before that kept.
  void compact(std::function<void(Result<size_t>)> done) override;

  uint64_t revision() const { return revision_.load(std::memory_order_relaxed); }
  // How many records the file holds (deleted keys hold none).
  Result<size_t> records() const;

 private:
  struct Lmdb;
  EmbeddedStore(io::ControlLoop& loop, EmbeddedOptions options);
  // Removes deleted keys' records in this write transaction, raising the floor past them.
  Result<size_t> sweep(MDB_txn* txn);
  void thread_main();
  void commit_batch();
  void to_db(std::function<void()> fn) { to_db_->post(std::move(fn)); }
  void to_loop(std::function<void()> fn) { to_loop_->post(std::move(fn)); }
  void deliver(const Change& change);

  io::ControlLoop& loop_;
  EmbeddedOptions options_;
  std::unique_ptr<Lmdb> lmdb_;
  sched::EventFdWaker db_waker_;
  std::unique_ptr<sched::TaskRing> to_db_, to_loop_;
  uint64_t source_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> revision_{0};
  int64_t next_timestamp(int64_t at_least);
  std::atomic<int64_t> last_timestamp_us_{0};  // read on the control thread, committed on the db thread
  struct Pending {
    Commit commit;
    std::function<void(Result<Committed>)> done;
  };
  std::vector<Pending> batch_;  // db thread: commits queued since the last write transaction
  uint64_t next_watch_ = 0;
  std::map<uint64_t, std::function<void(const Change&)>> watchers_;
};

}  // namespace vlcp::db
