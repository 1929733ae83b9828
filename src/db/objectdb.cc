#include "db/objectdb.h"

#include <algorithm>
#include <deque>
#include <random>
#include <type_traits>

#include "base/log.h"

namespace vlcp::db {
namespace {

constexpr int kMaxRounds = 64;  // a walk or transaction that keeps discovering keys gives up

bool under(const std::string& prefix, const std::string& key) {
  return key.size() > prefix.size() + 1 && key.compare(0, prefix.size(), prefix) == 0 &&
         key[prefix.size()] == '.';
}

// A walk's view of one snapshot; keys it lacks are noted as missing.
class SnapshotContext final : public WalkContext {
 public:
  explicit SnapshotContext(const std::map<std::string, Record>& records) : records_(records) {}
  Lookup get(const std::string& key) override {
    auto it = records_.find(key);
    if (it == records_.end()) {
      missing.insert(key);
      return {};
    }
    return Lookup{true, &it->second};
  }
  void save(const std::string& key) override { saved.insert(key); }
  std::set<std::string> missing, saved;

 private:
  const std::map<std::string, Record>& records_;
};

class WriteContext final : public TxnContext {
 public:
  WriteContext(const Snapshot& snap) : snap_(snap) {}
  Lookup get(const std::string& key) override {
    if (auto w = overlay_.find(key); w != overlay_.end()) return Lookup{true, &w->second};
    auto it = snap_.records.find(key);
    if (it == snap_.records.end()) {
      missing.insert(key);
      return {};
    }
    return Lookup{true, &it->second};
  }
  void write(const std::string& key, std::optional<Json> value) override {
    Record& r = overlay_[key];
    if (auto it = snap_.records.find(key); it != snap_.records.end()) r = it->second;
    r.value = value;
    writes[key] = std::move(value);
  }
  int64_t timestamp_us() const override { return snap_.timestamp_us; }
  std::set<std::string> missing;
  std::map<std::string, std::optional<Json>> writes;

 private:
  const Snapshot& snap_;
  std::map<std::string, Record> overlay_;
};

std::string field_text(const Json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

struct ObjectDb::Txn {
  std::set<std::string> keys;
  TxnBody body;
  std::function<void(Result<TxnResult>)> done;
  TxnOptions options;
  int attempts = 0, rounds = 0;
};

ObjectDb::ObjectDb(io::ControlLoop& loop, Store& store) : loop_(loop), store_(store) {
  feed_ = store_.watch([this](const Change& c) { on_change(c); });
}

ObjectDb::~ObjectDb() {
  *alive_ = false;
  store_.unwatch(feed_);
}

void ObjectDb::add_index(IndexRule rule) {
  indices_.push_back(std::move(rule));
}
void ObjectDb::add_cascade(CascadeRule rule) {
  cascades_.push_back(std::move(rule));
}

std::optional<std::string> ObjectDb::index_key(const IndexRule& rule, const Json* value) {
  if (!value || !value->is_object()) return std::nullopt;
  std::string key = "indices." + (rule.space.empty() ? rule.prefix : rule.space) + "." + rule.name;
  for (const auto& f : rule.fields) {
    auto it = value->find(f);
    if (it == value->end() || it->is_null()) return std::nullopt;
    key += "." + escape_key_part(field_text(*it));
  }
  return key;
}

void ObjectDb::members(const std::string& index_key,
                       std::function<void(Result<std::vector<std::string>>)> done) {
  std::string prefix = index_key + ".";
  store_.list(prefix, [prefix, done = std::move(done)](Result<std::vector<std::string>> keys) {
    if (!keys.ok()) return done(keys.error());
    std::vector<std::string> out;
    for (const auto& k : *keys)
      if (k.find('.', prefix.size()) == std::string::npos)
        out.push_back(unescape_key_part(k.substr(prefix.size())));
    std::sort(out.begin(), out.end());
    done(std::move(out));
  });
}

// ---- walk ------------------------------------------------------------------------------------

void ObjectDb::walk(std::vector<std::string> keys, Walker walker,
                    std::function<void(Result<WalkResult>)> done, WatchId watch) {
  ++stats_.walks;
  struct State {
    std::set<std::string> to_read;
    Walker walker;
    std::function<void(Result<WalkResult>)> done;
    WatchId watch;
    int rounds = 0;
  };
  auto st =
      std::make_shared<State>(State{{keys.begin(), keys.end()}, std::move(walker), std::move(done), watch});
  auto round = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak_round = round;
  *round = [this, st, weak_round, alive = alive_] {
    store_.read({st->to_read.begin(), st->to_read.end()}, false,
                [this, st, round = weak_round.lock(), alive](Result<Snapshot> snap) {
                  if (!*alive) return;
                  if (!snap.ok()) {
                    // The store is unreachable: what this node mirrors may still answer.
                    if (snap.error().code() == Errc::kUnavailable) {
                      SnapshotContext ctx(mirror_);
                      if (Status w = guarded("a walker", [&] { st->walker(ctx); }); !w.ok())
                        return st->done(w);
                      if (ctx.missing.empty()) {
                        ++stats_.stale_walks;
                        WalkResult r;
                        r.stale = true;
                        for (const auto& k : ctx.saved) r.saved[k] = mirror_.at(k);
                        return st->done(std::move(r));
                      }
                    }
                    return st->done(snap.error());
                  }
                  SnapshotContext ctx(snap->records);
                  if (Status w = guarded("a walker", [&] { st->walker(ctx); }); !w.ok()) return st->done(w);
                  if (ctx.missing.empty()) {
                    WalkResult r;
                    for (const auto& k : ctx.saved) {
                      r.saved[k] = snap->records.at(k);
                      if (st->watch) add_watched(st->watch, k, &r.saved[k]);
                    }
                    return st->done(std::move(r));
                  }
                  if (++st->rounds > kMaxRounds)
                    return st->done(make_error(Errc::kResourceExhausted, "the walk kept discovering keys"));
                  st->to_read.insert(ctx.missing.begin(), ctx.missing.end());
                  (*round)();
                });
  };
  (*round)();
}

void ObjectDb::get(std::vector<std::string> keys,
                   std::function<void(Result<std::map<std::string, Record>>)> done) {
  auto wanted = std::make_shared<std::vector<std::string>>(keys);
  walk(
      std::move(keys),
      [wanted](WalkContext& ctx) {
        for (const auto& k : *wanted)
          if (ctx.get(k).fetched) ctx.save(k);
      },
      [done = std::move(done)](Result<WalkResult> r) {
        if (!r.ok()) return done(r.error());
        done(std::move(r->saved));
      });
}

// ---- transactions ------------------------------------------------------------------------------

void ObjectDb::writewalk(std::vector<std::string> keys, TxnBody body,
                         std::function<void(Result<TxnResult>)> done, TxnOptions options) {
  auto txn = std::make_shared<Txn>();
  txn->keys.insert(keys.begin(), keys.end());
  txn->body = std::move(body);
  txn->done = std::move(done);
  txn->options = options;
  for (const auto& k : txn->keys)
    if (Status s = check_key(k); !s.ok()) return txn->done(s);
  attempt(std::move(txn));
}

void ObjectDb::transact(std::vector<std::string> keys, Updater updater,
                        std::function<void(Result<TxnResult>)> done, TxnOptions options) {
  auto wanted = std::make_shared<std::vector<std::string>>(keys);
  writewalk(
      std::move(keys),
      [wanted, updater = std::move(updater)](TxnContext& ctx) -> Status {
        std::vector<std::optional<Json>> values;
        for (const auto& k : *wanted) {
          const Json* v = ctx.get(k).value();
          values.push_back(v ? std::optional<Json>(*v) : std::nullopt);
        }
        auto writes = updater(*wanted, values, ctx.timestamp_us());
        if (!writes.ok()) return writes.error();
        for (auto& [k, v] : *writes) ctx.write(k, std::move(v));
        return {};
      },
      std::move(done), options);
}

namespace {

// Adds what the declared cascades and indices make a transaction write besides its own writes.
// Keys it would need that the snapshot lacks go to `need` (the transaction reads them and runs
// again); a unique index already taken is an error.
Status apply_rules(const std::vector<IndexRule>& indices, const std::vector<CascadeRule>& cascades,
                   const std::map<std::string, Record>& records,
                   std::map<std::string, std::optional<Json>>& writes, std::set<std::string>& need) {
  std::deque<std::string> deleted;
  for (const auto& [k, v] : writes)
    if (!v) deleted.push_back(k);
  std::set<std::string> seen;
  while (!deleted.empty()) {
    std::string k = deleted.front();
    deleted.pop_front();
    if (!seen.insert(k).second) continue;
    for (const auto& rule : cascades) {
      if (!under(rule.prefix, k)) continue;
      for (const auto& d : rule.dependents(k)) {
        if (auto w = writes.find(d); w != writes.end() && !w->second) continue;
        auto it = records.find(d);
        if (it == records.end()) {
          need.insert(d);
          continue;
        }
        if (it->second.value) {
          writes[d] = std::nullopt;
          deleted.push_back(d);
        }
      }
    }
  }
  if (!need.empty()) return {};

  struct Move {
    std::string object;
    const IndexRule* rule;
    std::optional<std::string> from, to;
  };
  std::vector<Move> moves;
  for (const auto& [k, v] : writes) {
    for (const auto& rule : indices) {
      if (!under(rule.prefix, k)) continue;
      auto it = records.find(k);
      const Json* old = it != records.end() && it->second.value ? &*it->second.value : nullptr;
      auto from = ObjectDb::index_key(rule, old);
      auto to = ObjectDb::index_key(rule, v ? &*v : nullptr);
      if (!rule.unique) {  // one key per member
        for (auto* ik : {&from, &to})
          if (*ik) *ik = **ik + "." + escape_key_part(k);
      }
      if (from == to) continue;
      for (const auto& ik : {from, to})
        if (ik && !records.count(*ik)) need.insert(*ik);
      moves.push_back(Move{k, &rule, from, to});
    }
  }
  if (!need.empty()) return {};
  auto current = [&](const std::string& k) -> std::optional<Json> {
    if (auto w = writes.find(k); w != writes.end()) return w->second;
    return records.at(k).value;
  };
  for (const auto& m : moves) {  // removals first, so objects may swap index values
    if (!m.from) continue;
    auto cur = current(*m.from);
    if (m.rule->unique) {
      if (cur && *cur == Json(m.object)) writes[*m.from] = std::nullopt;
    } else {
      writes[*m.from] = std::nullopt;
    }
  }
  for (const auto& m : moves) {
    if (!m.to) continue;
    auto cur = current(*m.to);
    if (m.rule->unique) {
      if (cur && *cur != Json(m.object))
        return make_error(Errc::kAlreadyExists, "unique index " + m.rule->name + " of " + m.rule->prefix +
                                                    ": " + *m.to + " already belongs to " + field_text(*cur));
      writes[*m.to] = Json(m.object);
    } else {
      writes[*m.to] = Json(m.object);
    }
  }
  return {};
}

}  // namespace

template <class F>
Status ObjectDb::guarded(const char* what, F&& f) {
  try {
    if constexpr (std::is_same_v<decltype(f()), Status>)
      return f();
    else
      f();
    return {};
  } catch (const std::exception& e) {
    ++stats_.caller_exceptions;
    VLCP_LOG_RL(kError, "db", 60, 10) << what << " threw on stored data: " << e.what();
    return make_error(Errc::kInternal, std::string(what) + " failed on stored data: " + e.what());
  }
}

void ObjectDb::notify(Watch& w, const KeyUpdate& u) {
  ++stats_.notifications;
  (void)guarded("a watch callback", [&] { w.on_update(u); });
}

void ObjectDb::attempt(std::shared_ptr<Txn> txn) {
  ++txn->attempts;
  store_.read({txn->keys.begin(), txn->keys.end()}, true, [this, txn, alive = alive_](Result<Snapshot> snap) {
    if (!*alive) return;
    if (!snap.ok()) {
      ++stats_.failed;
      return txn->done(snap.error());
    }
    WriteContext ctx(*snap);
    Status body = guarded("a transaction body", [&] { return txn->body(ctx); });
    std::set<std::string> need = ctx.missing;
    if (need.empty() && body.ok()) {
      for (const auto& [k, v] : ctx.writes)
        if (!snap->records.count(k)) need.insert(k);  // a write must know the version it replaces
    }
    Status rules;
    if (need.empty() && body.ok()) rules = apply_rules(indices_, cascades_, snap->records, ctx.writes, need);
    if (!need.empty()) {
      if (++txn->rounds > kMaxRounds) {
        ++stats_.failed;
        return txn->done(make_error(Errc::kResourceExhausted, "the transaction kept discovering keys"));
      }
      for (const auto& k : need)
        if (Status s = check_key(k); !s.ok()) return txn->done(s);
      txn->keys.insert(need.begin(), need.end());
      --txn->attempts;  // reading more keys is not a conflict
      return attempt(txn);
    }
    if (!body.ok() || !rules.ok()) {
      ++stats_.aborted;
      return txn->done(body.ok() ? rules : body);
    }
    if (ctx.writes.empty()) return txn->done(TxnResult{0, {}, txn->attempts});
    Commit c;
    c.read = snap->records;
    c.writes = std::move(ctx.writes);
    c.timestamp_us = snap->timestamp_us;
    c.guards = std::move(snap->guards);
    store_.commit(std::move(c), [this, txn, alive](Result<Committed> r) {
      if (!*alive) return;
      if (r.ok()) {
        ++stats_.transactions;
        for (const auto& [k, rec] : r->records) {
          auto m = mirror_.find(k);
          if (watchers_.count(k) && (m == mirror_.end() || rec.version > m->second.version))
            mirror_update(k, rec, KeyUpdate::kUpdated);
        }
        return txn->done(TxnResult{r->revision, std::move(r->records), txn->attempts});
      }
      if (r.error().code() != Errc::kConflict) {
        ++stats_.failed;
        return txn->done(r.error());
      }
      ++stats_.conflicts;
      if (txn->attempts >= txn->options.max_attempts) {
        ++stats_.failed;
        return txn->done(make_error(Errc::kConflict, "gave up after " + std::to_string(txn->attempts) +
                                                         " attempts: " + r.error().message()));
      }
      // Exponential backoff with full jitter (200 us doubling per attempt, capped at 100 ms), so
      // contending writers spread out however slow commits are: a linear window (200 us per
      // attempt) left 40 writers of one hot key colliding until they gave up on a loaded machine.
      static thread_local std::minstd_rand rng{std::random_device{}()};
      unsigned window_us = std::min(100'000u, 200u << std::min(txn->attempts - 1, 9));
      auto delay = std::chrono::microseconds(rng() % window_us);
      loop_.after(delay, [this, txn, alive] {
        if (*alive) attempt(txn);
      });
    });
  });
}

// ---- watches and the mirror ------------------------------------------------------------------

WatchId ObjectDb::open_watch(std::function<void(const KeyUpdate&)> on_update) {
  watches_[++next_watch_] = Watch{std::move(on_update), {}, {}, {}};
  return next_watch_;
}

void ObjectDb::watch_keys(WatchId id, const std::vector<std::string>& keys) {
  for (const auto& k : keys) add_watched(id, k, nullptr);
  refresh();
}

void ObjectDb::add_watched(WatchId id, const std::string& key, const Record* known) {
  auto w = watches_.find(id);
  if (w == watches_.end()) return;
  w->second.keys.insert(key);
  w->second.by_prefix.erase(key);  // watched by name now: kept when deleted
  hold(key).insert(id);
  auto m = mirror_.find(key);
  if (m == mirror_.end()) {
    if (known)
      mirror_[key] = *known;
    else
      pending_init_.insert(key);
  } else if (known && known->version > m->second.version) {
    mirror_update(key, *known, KeyUpdate::kUpdated);
  }
}

void ObjectDb::unwatch_keys(WatchId id, const std::vector<std::string>& keys) {
  auto w = watches_.find(id);
  if (w == watches_.end()) return;
  for (const auto& k : keys) {
    w->second.keys.erase(k);
    w->second.by_prefix.erase(k);
    auto it = watchers_.find(k);
    if (it == watchers_.end()) continue;
    it->second.erase(id);
    if (it->second.empty()) {
      mirror_.erase(k);
      release(it);
    }
  }
}

std::set<WatchId>& ObjectDb::hold(const std::string& key) {
  auto [it, added] = watchers_.try_emplace(key);
  if (added && store_.follows()) store_.follow({key});  // before the key's first read
  return it->second;
}

void ObjectDb::release(std::map<std::string, std::set<WatchId>>::iterator it) {
  if (store_.follows()) store_.unfollow({it->first});
  watchers_.erase(it);
}

void ObjectDb::watch_prefix(WatchId id, const std::string& prefix, bool children) {
  auto w = watches_.find(id);
  if (w == watches_.end() || !w->second.prefixes.emplace(prefix, children).second) return;
  prefix_watchers_[prefix].insert(id);
  if (++followed_prefixes_[{prefix, children}] == 1 && store_.follows())
    store_.follow_prefix(prefix, children);  // before the listing
  list_prefix(id, prefix);
}

namespace {
// A key under a prefix watched for its children only: the prefix and one part without a dot.
bool child_of(const std::string& key, const std::string& prefix) {
  return key.size() > prefix.size() && key.find('.', prefix.size()) == std::string::npos;
}
}  // namespace

void ObjectDb::list_prefix(WatchId id, const std::string& prefix) {
  store_.list(prefix, [this, id, prefix, alive = alive_](Result<std::vector<std::string>> keys) {
    if (!*alive) return;
    auto w = watches_.find(id);
    if (w == watches_.end() || !w->second.prefixes.count(prefix)) return;
    bool children = w->second.prefixes.at(prefix);
    if (!keys.ok()) {  // the store's reconnect reports a restore, which lists again; and we retry
      loop_.after(std::chrono::milliseconds(200), [this, id, prefix, alive] {
        if (*alive) list_prefix(id, prefix);
      });
      return;
    }
    for (const auto& k : *keys) {
      if (w->second.keys.count(k) || (children && !child_of(k, prefix))) continue;
      add_prefixed(id, k);
      auto m = mirror_.find(k);
      if (m == mirror_.end()) {
        pending_.insert(k);  // read, and reported as it is
      } else {
        Record now = m->second;  // others watch it already: this watch starts from the mirror
        notify(w->second, KeyUpdate{k, now, KeyUpdate::kUpdated});
        if (!now.exists()) forget_deleted(k);  // (deleted since the listing)
        w = watches_.find(id);
        if (w == watches_.end()) return;
      }
    }
    refresh();
  });
}

std::vector<WatchId> ObjectDb::prefix_watches_missing(const std::string& key) const {
  std::vector<WatchId> out;
  if (prefix_watchers_.empty()) return out;
  // Prefixes are few: a linear pass (upper_bound narrows nothing for prefixes of other lengths).
  for (const auto& [prefix, ids] : prefix_watchers_) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    auto it = watchers_.find(key);
    for (WatchId id : ids) {
      if (it != watchers_.end() && it->second.count(id)) continue;
      auto w = watches_.find(id);
      if (w == watches_.end()) continue;
      if (auto p = w->second.prefixes.find(prefix);
          p != w->second.prefixes.end() && p->second && !child_of(key, prefix))
        continue;
      out.push_back(id);
    }
  }
  return out;
}

void ObjectDb::add_prefixed(WatchId id, const std::string& key) {
  Watch& w = watches_[id];
  w.keys.insert(key);
  w.by_prefix.insert(key);
  hold(key).insert(id);
}

void ObjectDb::forget_deleted(const std::string& key) {
  // A change of the key came after what reported it deleted (on a feed without records: written
  // again, say): kept until the read queued for it tells (dropped now, the read would find the
  // key unwatched and the new value would never be reported). refresh() lets it go if still absent.
  if (pending_.count(key)) return;
  auto it = watchers_.find(key);
  if (it == watchers_.end()) return;
  for (auto id = it->second.begin(); id != it->second.end();) {
    auto w = watches_.find(*id);
    if (w != watches_.end() && w->second.by_prefix.erase(key)) {
      w->second.keys.erase(key);
      id = it->second.erase(id);
    } else {
      ++id;
    }
  }
  if (it->second.empty()) {
    mirror_.erase(key);
    release(it);
  }
}

void ObjectDb::close_watch(WatchId id) {
  auto w = watches_.find(id);
  if (w == watches_.end()) return;
  for (const auto& [prefix, children] : w->second.prefixes) {
    auto f = followed_prefixes_.find({prefix, children});
    if (f != followed_prefixes_.end() && !--f->second) {
      followed_prefixes_.erase(f);
      if (store_.follows()) store_.unfollow_prefix(prefix, children);
    }
    auto p = prefix_watchers_.find(prefix);
    if (p == prefix_watchers_.end()) continue;
    p->second.erase(id);
    if (p->second.empty()) prefix_watchers_.erase(p);
  }
  std::vector<std::string> keys(w->second.keys.begin(), w->second.keys.end());
  unwatch_keys(id, keys);
  watches_.erase(id);
}

const Record* ObjectDb::mirrored(const std::string& key) const {
  auto it = mirror_.find(key);
  return it == mirror_.end() ? nullptr : &it->second;
}

void ObjectDb::on_change(const Change& change) {
  if (change.restored) {
    ++stats_.restores;
    pending_restore_ = true;
    for (const auto& [k, ids] : watchers_) pending_.insert(k);
    for (const auto& [prefix, ids] : prefix_watchers_)  // keys created while the feed was lost
      for (WatchId id : ids) list_prefix(id, prefix);
  } else {
    for (const auto& k : change.keys) {
      std::vector<WatchId> added = prefix_watches_missing(k);  // a new key under a watched prefix
      for (WatchId id : added) add_prefixed(id, k);
      if (!watchers_.count(k)) continue;
      auto rec = change.records.find(k);
      auto m = mirror_.find(k);
      if (m != mirror_.end() && !added.empty() && rec == change.records.end()) {
        // A feed without records (a store that follows) may bring the key before this node's
        // own commit has updated the mirror: the new prefix watches hear of it from the read.
        announce_[k].insert(added.begin(), added.end());
        pending_.insert(k);
        continue;
      }
      if (m != mirror_.end() && !added.empty() && rec->second.version <= m->second.version) {
        // Another watch mirrors the key already, at this version (this node's own commit
        // updated it before the feed brought it): the prefix watch starts from the mirror, or
        // it would never hear of the key.
        Record now = m->second;
        for (WatchId id : added) {
          auto w = watches_.find(id);
          if (w == watches_.end() || !w->second.keys.count(k)) continue;
          notify(w->second, KeyUpdate{k, now, KeyUpdate::kUpdated});
        }
        if (!now.exists()) forget_deleted(k);
        m = mirror_.find(k);
        if (m == mirror_.end() && !watchers_.count(k)) continue;
      }
      if (rec == change.records.end()) {
        pending_.insert(k);  // read it: the feed did not carry it
      } else if (m == mirror_.end() || rec->second.version > m->second.version) {
        // The feed carries the record, in commit order: a new key starts from it (no read that
        // a later change could overtake), a known one moves on (a read in flight cannot undo it).
        mirror_update(k, rec->second, KeyUpdate::kUpdated);
      }
    }
  }
  refresh();
}

void ObjectDb::refresh() {
  if (refreshing_ || (pending_.empty() && pending_init_.empty())) return;
  refreshing_ = true;
  auto keys = std::make_shared<std::set<std::string>>(std::move(pending_));
  auto announce = std::make_shared<std::map<std::string, std::set<WatchId>>>(std::move(announce_));
  announce_.clear();
  auto init = std::make_shared<std::set<std::string>>(std::move(pending_init_));
  pending_.clear();
  pending_init_.clear();
  bool restore = pending_restore_;
  pending_restore_ = false;
  std::vector<std::string> all(keys->begin(), keys->end());
  all.insert(all.end(), init->begin(), init->end());
  store_.read(std::move(all), false,
              [this, keys, init, restore, announce, alive = alive_](Result<Snapshot> snap) {
                if (!*alive) return;
                refreshing_ = false;
                if (!snap.ok()) {
                  // Try again soon: the store's reconnect will also report a restore.
                  pending_.insert(keys->begin(), keys->end());
                  pending_init_.insert(init->begin(), init->end());
                  for (auto& [k, ids] : *announce) announce_[k].insert(ids.begin(), ids.end());
                  pending_restore_ = pending_restore_ || restore;
                  loop_.after(std::chrono::milliseconds(200), [this, alive] {
                    if (*alive) refresh();
                  });
                  return;
                }
                for (const auto& [k, rec] : snap->records) {
                  if (!watchers_.count(k)) continue;
                  auto m = mirror_.find(k);
                  if (m == mirror_.end()) {
                    if (init->count(k) && !keys->count(k)) {
                      mirror_[k] = rec;  // the state the watch starts from
                      continue;
                    }
                    // Dropped (deleted) and found again while this read was in flight: the read queued
                    // since then reports it, this one may predate the deletion.
                    if (pending_.count(k)) continue;
                    mirror_update(k, rec, restore ? KeyUpdate::kRestored : KeyUpdate::kUpdated);
                  } else if (restore && keys->count(k)) {
                    mirror_update(k, rec, KeyUpdate::kRestored);
                    announce->erase(k);  // (every watch holding it heard it)
                  } else if (rec.version > m->second.version) {
                    if (!rec.exists() && !m->second.exists()) {
                      // Absent still (a followed key's tombstone compacted): nothing to say, but
                      // to a prefix watch that just met it (below: it lets it go).
                      m->second = rec;
                    } else {
                      mirror_update(k, rec, KeyUpdate::kUpdated);
                      announce->erase(k);  // (every watch holding it heard it)
                    }
                  }
                }
                // Prefix watches that met a key the mirror already held: they start from what it is now.
                for (const auto& [k, ids] : *announce) {
                  auto m = mirror_.find(k);
                  if (m == mirror_.end()) continue;
                  Record now = m->second;
                  for (WatchId id : ids) {
                    auto w = watches_.find(id);
                    if (w != watches_.end() && w->second.keys.count(k))
                      notify(w->second, KeyUpdate{k, now, KeyUpdate::kUpdated});
                  }
                  if (!now.exists()) forget_deleted(k);
                }
                // Keys read deleted that prefixes hold (kept above while a change was queued): let go.
                for (const auto& [k, rec] : snap->records)
                  if (auto m = mirror_.find(k); m != mirror_.end() && !m->second.exists()) forget_deleted(k);
                refresh();
              });
}

void ObjectDb::mirror_update(const std::string& key, const Record& record, KeyUpdate::Reason reason) {
  mirror_[key] = record;
  auto it = watchers_.find(key);
  if (it == watchers_.end()) return;
  std::vector<WatchId> ids(it->second.begin(), it->second.end());
  KeyUpdate u{key, record, reason};
  for (WatchId id : ids) {
    auto w = watches_.find(id);
    if (w == watches_.end() || !w->second.keys.count(key)) continue;
    notify(w->second, u);
  }
  if (!record.exists()) forget_deleted(key);
}

}  // namespace vlcp::db
