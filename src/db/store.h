// The storage contract under ObjectDB: a key-value store of JSON values with per-key versions,
// consistent multi-key snapshot reads, optimistic multi-key commits and a change feed in commit
// order. Two implementations: the embedded store (LMDB, one process) and ZooKeeper (a cluster).
//
// Every method is called on the control thread and every callback runs on it; a backend does
// its blocking or network work elsewhere (its own thread, ZooKeeper's threads).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace vlcp::db {

using Json = nlohmann::json;

// One key as a snapshot saw it. `version` grows with every write of the key and never goes back,
// across deletions and the store forgetting deleted keys (compaction) too: a key written again
// after it was forgotten starts above every version it had. 0 means the key has never been
// written (or the store has forgotten it and compacted nothing near it); an absent key may have
// any version.
struct Record {
  std::optional<Json> value;
  uint64_t version = 0;
  int64_t created_us = 0;  // server time of the write that created the current value
  int64_t updated_us = 0;  // server time of the last write
  bool exists() const { return value.has_value(); }
  static Record absent(uint64_t version) {
    Record r;
    r.version = version;
    return r;
  }
  bool operator==(const Record&) const = default;
};

// What else a commit must find unchanged besides its keys' versions, in the backend's terms (on
// ZooKeeper: the generation of each key's parent node, which compaction advances). Opaque to
// ObjectDB: a commit carries the guards of the snapshot it read.
using Guards = std::map<std::string, int64_t>;

struct Snapshot {
  std::map<std::string, Record> records;  // every key asked for, absent ones included
  int64_t timestamp_us = 0;               // server time of the read (when asked for)
  Guards guards;
};

// A transaction to commit: it applies only if every key it read still has the version it read.
// Every written key must also have been read (that is what makes the commit isolated).
struct Commit {
  std::map<std::string, Record> read;                 // key -> what the transaction read
  std::map<std::string, std::optional<Json>> writes;  // nullopt deletes
  int64_t timestamp_us = 0;                           // the server time the transaction used
  Guards guards;                                      // the read snapshot's
};

struct Committed {
  uint64_t revision = 0;                  // the store's commit sequence number
  std::map<std::string, Record> records;  // what the written keys are now
};

// What the change feed reports: the keys one commit wrote (any client's), in commit order; or,
// after the feed may have missed commits (a lost session), `restored`: everything may have
// changed.
struct Change {
  std::vector<std::string> keys;
  uint64_t revision = 0;
  bool restored = false;
  std::map<std::string, Record> records;  // what the commit wrote, when the feed carries it
};

// Errors: kConflict when an expectation failed (retry with fresh reads), kUnavailable when the
// store cannot be reached (a commit reported so did not happen), kInvalidArgument for keys or
// values the store cannot hold.
class Store {
 public:
  virtual ~Store() = default;

  virtual void read(std::vector<std::string> keys, bool with_time,
                    std::function<void(Result<Snapshot>)> done) = 0;
  virtual void commit(Commit commit, std::function<void(Result<Committed>)> done) = 0;
  // The keys (existing values) that start with `prefix`, sorted.
  virtual void list(std::string prefix, std::function<void(Result<std::vector<std::string>>)> done) = 0;

  // The change feed: every commit of every client, in commit order. Returns an id for unwatch.
  // A store that follows() feeds only what it was asked to follow instead (below).
  virtual uint64_t watch(std::function<void(const Change&)> on_change) = 0;
  virtual void unwatch(uint64_t id) = 0;

  // A targeted feed (ZooKeeper's own watches): when follows(), the change feed carries only the
  // keys followed — each change of one as a Change naming it (records not carried: read it) —
  // keys that appear under a followed prefix, and `restored` when something may have been
  // missed; a node then pays nothing for commits that touch nothing it follows. A follow is in
  // force for everything that happens after the call: a read issued after it sees what it
  // missed. `children`: only keys that are the prefix and one part without a dot (one parent's
  // children on ZooKeeper: no watch on the list of parents). Follows are not counted: the
  // caller follows a key once and unfollows it once.
  virtual bool follows() const { return false; }
  virtual void follow(const std::vector<std::string>& /*keys*/) {}
  virtual void unfollow(const std::vector<std::string>& /*keys*/) {}
  virtual void follow_prefix(const std::string& /*prefix*/, bool /*children*/) {}
  virtual void unfollow_prefix(const std::string& /*prefix*/, bool /*children*/) {}

  virtual bool connected() const = 0;
  virtual std::string describe() const = 0;

  // Forgets deleted keys now, whatever their age (for tests: the stores do it on their own):
  // done gets how many were forgotten.
  virtual void compact(std::function<void(Result<size_t>)> done) { done(size_t{0}); }
};

// Keys: non-empty, at most kMaxKeyBytes, printable ASCII without spaces or '/', not "." or "..".
inline constexpr size_t kMaxKeyBytes = 512;
Status check_key(std::string_view key);

// VLCP's escaping of index values inside a key: '+' -> "+_", '.' -> "++"; and back.
std::string escape_key_part(std::string_view part);
std::string unescape_key_part(std::string_view part);

// This node's wall clock in µs since the epoch (the stores' timestamps start from it).
int64_t wall_clock_us();

}  // namespace vlcp::db
