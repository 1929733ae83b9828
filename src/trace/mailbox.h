// How the trace's vlcpd nodes reach each other (docs/TRACE_DESIGN.md §7): through ObjectDB only,
// never through each other's API. Each node keeps a node record (viperflow.vlcpnode.<systemid>,
// refreshed every 30 s, live until `expires_us`); a requester asks in bounded slots
// (viperflow.tracerequest.<requester>.<slot>, 4 per requester) and every node asked answers in its
// own key under the slot (viperflow.traceanswer.<requester>.<slot>.<answerer>). A slot's use has a
// random id and each ask a round: an answer of another id or round is stale and ignored, which
// makes slot reuse safe. What a request means is the caller's (trace/service.cc); this class only
// carries it, with deadlines, the size cap and the sweeper. With no other live node it writes no
// mailbox key at all (a single node, an embedded store).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "db/objectdb.h"
#include "io/control_loop.h"

namespace vlcp::trace {

struct MailboxOptions {
  size_t slots = 4;                          // module.trace.slots: traces one node runs at once
  std::chrono::milliseconds refresh{30000};  // the node record's refresh (and the sweeper's turn)
  std::chrono::milliseconds ttl{90000};      // a record is live this long after its refresh
  size_t answer_cap = 256 * 1024;            // an answer's JSON larger than this is refused
};

struct NodeRecord {
  std::string system_id;
  db::Json value;  // as the node wrote it (bridges, tunnel_ips, api, ...)
  int64_t expires_us = 0;
  bool live = false;
};

// What an ask collected: the answers by node, and the nodes asked that did not answer in time.
struct Answers {
  std::map<std::string, db::Json> by_node;
  std::vector<std::string> missing;
};

struct MailboxStats {
  uint64_t asked = 0, answered = 0, stale = 0, timeouts = 0, busy = 0, served = 0, swept = 0, refreshes = 0,
           oversize = 0, polled = 0;  // polled: answers found by the poll, not the watch
};

class Mailbox {
 public:
  using Reply = std::function<void(db::Json answer)>;
  // A request for this node: answer it once through `reply` (or never: the requester's deadline).
  using Handler = std::function<void(const std::string& requester, const db::Json& request, Reply reply)>;

  Mailbox(io::ControlLoop& loop, db::ObjectDb& db, std::string system_id, MailboxOptions options = {});
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Writes the node record (`record()`'s fields, with systemid, refreshed and expires) now and every
  // refresh, watches the records, the requests and this node's answers.
  void start(std::function<db::Json()> record, Handler handler);
  void stop();
  const std::string& system_id() const { return system_id_; }

  // Every record seen (live or not), by system id; this node's own included.
  std::vector<NodeRecord> nodes() const;
  std::optional<NodeRecord> node(const std::string& system_id) const;
  // Reads every node record again, then `done` (a trace's round 0 calls it first).
  void reload(std::function<void()> done);
  // The other nodes whose record is live.
  std::vector<std::string> live_peers() const;
  // Server time (µs) as this node estimates it: its own record's last commit time plus the time
  // passed on its clock since (records are compared with this, not with the local wall clock).
  int64_t server_now_us() const;
  bool record_written() const { return anchor_us_ != 0; }

  // A slot for one trace (kConflict "busy" when all are in use).
  Result<int> open();
  // Writes slot's request for `target` ("*": every live peer) and calls `done` once every node
  // asked answered, or at `deadline`. Nobody to ask: done at once, nothing written.
  void ask(int slot, const std::string& target, db::Json request, std::chrono::milliseconds deadline,
           std::function<void(Answers)> done);
  // The trace is over: its request key is emptied (its answers are overwritten by the next use
  // and swept by their writers).
  void close(int slot);
  size_t slots_in_use() const;
  // Empties this node's answers to requests no longer present (on every refresh).
  void sweep();
  // Writes the node record again now (tests; the refresh timer calls it).
  void refresh();

  const MailboxStats& stats() const { return stats_; }

 private:
  struct Slot {
    bool used = false, written = false;
    std::string id;
    int round = 0;
    std::set<std::string> expected;
    Answers answers;
    std::function<void(Answers)> done;
    io::TimerId timer = 0;
  };
  void on_update(const db::KeyUpdate& u);
  void on_request(const std::string& key, const db::Record& r);
  void on_answer(const std::string& key, const db::Record& r, bool polled = false);
  void poll(int slot, const std::string& id, int round);
  void finish(int slot);
  std::string request_key(const std::string& requester, int slot) const;
  // `only_id`: write only while the key holds that use's id (or nothing).
  void write(std::string key, std::optional<db::Json> value, std::string only_id = "");
  void write_next(const std::string& key);

  io::ControlLoop& loop_;
  db::ObjectDb& db_;
  std::string system_id_, self_;  // self_: the escaped id (a key part)
  MailboxOptions options_;
  std::function<db::Json()> record_;
  Handler handler_;
  db::WatchId watch_ = 0;
  io::TimerId refresh_timer_ = 0;
  std::map<std::string, NodeRecord> nodes_;  // by system id
  int64_t anchor_us_ = 0;                    // own record's commit time
  Clock::Monotonic anchor_local_{};
  std::vector<Slot> slots_;
  std::map<std::string, std::pair<std::string, int>> served_;  // request key -> (id, round) answered
  std::map<std::string, std::pair<std::string, std::string>> my_answers_;  // answer key -> (request key, id)
  std::map<std::string, std::deque<std::pair<std::optional<db::Json>, std::string>>> writes_;  // by key
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  MailboxStats stats_;
};

}  // namespace vlcp::trace
