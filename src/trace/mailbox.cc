#include "trace/mailbox.h"

#include <cstdio>
#include <random>

#include "base/log.h"
#include "db/store.h"
#include "schema/kinds.h"

namespace vlcp::trace {

namespace {

using db::Json;

std::string random_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(rng()));
  return b;
}

bool starts_with(const std::string& s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

// "a.b.c" after `prefix` split at dots (escaped parts hold no dot).
std::vector<std::string> parts_after(const std::string& key, std::string_view prefix) {
  std::vector<std::string> out;
  std::string rest = key.substr(prefix.size());
  size_t at = 0;
  while (true) {
    size_t dot = rest.find('.', at);
    out.push_back(rest.substr(at, dot == std::string::npos ? std::string::npos : dot - at));
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  return out;
}

int64_t int_field(const Json& v, const char* name) {
  return v.is_object() && v.contains(name) && v[name].is_number_integer() ? v[name].get<int64_t>() : 0;
}
std::string str_field(const Json& v, const char* name) {
  return v.is_object() && v.contains(name) && v[name].is_string() ? v[name].get<std::string>() : "";
}

}  // namespace

Mailbox::Mailbox(io::ControlLoop& loop, db::ObjectDb& db, std::string system_id, MailboxOptions options)
    : loop_(loop),
      db_(db),
      system_id_(std::move(system_id)),
      self_(db::escape_key_part(system_id_)),
      options_(options),
      slots_(options.slots) {}

Mailbox::~Mailbox() {
  stop();
}

void Mailbox::start(std::function<Json()> record, Handler handler) {
  record_ = std::move(record);
  handler_ = std::move(handler);
  watch_ = db_.open_watch([this](const db::KeyUpdate& u) { on_update(u); });
  db_.watch_prefix(watch_, std::string(schema::kNodePrefix), true);
  db_.watch_prefix(watch_, std::string(schema::kTraceRequestPrefix));
  db_.watch_prefix(watch_, std::string(schema::kTraceAnswerPrefix) + self_ + ".");
  // Answers this node wrote in an earlier life: swept once their request is gone.
  db_.list(std::string(schema::kTraceAnswerPrefix),
           [this, alive = std::weak_ptr<bool>(alive_)](Result<std::vector<std::string>> keys) {
             if (alive.expired() || !keys.ok()) return;
             for (const auto& k : *keys) {
               auto p = parts_after(k, schema::kTraceAnswerPrefix);
               if (p.size() == 3 && p[2] == self_ && !my_answers_.count(k))
                 my_answers_[k] = {request_key(p[0], std::atoi(p[1].c_str())), ""};
             }
           });
  refresh();
}

void Mailbox::stop() {
  if (!*alive_) return;
  *alive_ = false;
  if (watch_) db_.close_watch(watch_);
  watch_ = 0;
  if (refresh_timer_) loop_.cancel(refresh_timer_);
  for (auto& s : slots_)
    if (s.timer) loop_.cancel(s.timer);
}

void Mailbox::refresh() {
  if (!*alive_) return;
  if (refresh_timer_) loop_.cancel(refresh_timer_);
  refresh_timer_ = loop_.after(options_.refresh, [this] {
    refresh_timer_ = 0;
    refresh();
  });
  ++stats_.refreshes;
  std::string key = std::string(schema::kNodePrefix) + self_;
  Json fields = record_ ? record_() : Json::object();
  auto ttl_us = std::chrono::duration_cast<std::chrono::microseconds>(options_.ttl).count();
  db_.writewalk(
      {key},
      [key, fields, ttl_us, id = system_id_](db::TxnContext& t) -> Status {
        Json v = fields.is_object() ? fields : Json::object();
        int64_t now = t.timestamp_us();
        v["systemid"] = id;
        v["refreshed_us"] = now;
        v["expires_us"] = now + ttl_us;
        t.write(key, v);
        return {};
      },
      [this, key, alive = std::weak_ptr<bool>(alive_)](Result<db::TxnResult> r) {
        if (alive.expired()) return;
        if (!r.ok()) {
          VLCP_LOG_RL(kWarn, "trace", 6, 2) << "writing the node record failed: " << r.error().message();
          return;
        }
        if (auto it = r->written.find(key); it != r->written.end()) {
          anchor_us_ = it->second.updated_us;
          anchor_local_ = loop_.clock().now();
        }
      });
  sweep();
}

// The records as they are now, read (a trace's round 0 asks this first): on ZooKeeper's watch
// feed the records' prefix watch was seen to miss refreshes, so a live node looked expired.
void Mailbox::reload(std::function<void()> done) {
  db_.list(std::string(schema::kNodePrefix),
           [this, done, alive = std::weak_ptr<bool>(alive_)](Result<std::vector<std::string>> keys) {
             if (alive.expired()) return;
             if (!keys.ok() || keys->empty()) return done();
             db_.get(*keys, [this, done, alive](Result<std::map<std::string, db::Record>> r) {
               if (alive.expired()) return;
               if (r.ok())
                 for (const auto& [k, rec] : *r) on_update(db::KeyUpdate{k, rec, db::KeyUpdate::kUpdated});
               done();
             });
           });
}

int64_t Mailbox::server_now_us() const {
  if (!anchor_us_) return 0;
  return anchor_us_ +
         std::chrono::duration_cast<std::chrono::microseconds>(loop_.clock().now() - anchor_local_).count();
}

std::vector<NodeRecord> Mailbox::nodes() const {
  std::vector<NodeRecord> out;
  int64_t now = server_now_us();
  for (const auto& [id, n] : nodes_) {
    NodeRecord r = n;
    r.live = id == system_id_ || (now && n.expires_us > now);
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<NodeRecord> Mailbox::node(const std::string& system_id) const {
  for (auto& n : nodes())
    if (n.system_id == system_id) return n;
  return std::nullopt;
}

std::vector<std::string> Mailbox::live_peers() const {
  std::vector<std::string> out;
  for (const auto& n : nodes())
    if (n.live && n.system_id != system_id_) out.push_back(n.system_id);
  return out;
}

std::string Mailbox::request_key(const std::string& requester, int slot) const {
  return std::string(schema::kTraceRequestPrefix) + requester + "." + std::to_string(slot);
}

void Mailbox::write(std::string key, std::optional<Json> value, std::string only_id) {
  // One write per key at a time, in the order asked: two transactions on one key started together
  // may both commit on the embedded store (seen with a slot emptied and reused at once), so the
  // later one would not always win.
  auto& queue = writes_[key];
  queue.push_back({std::move(value), std::move(only_id)});
  if (queue.size() == 1) write_next(key);
}

void Mailbox::write_next(const std::string& key) {
  auto it = writes_.find(key);
  if (it == writes_.end() || it->second.empty()) return;
  auto [value, only_id] = it->second.front();
  db_.writewalk(
      {key},
      [key, value, only_id](db::TxnContext& t) -> Status {
        auto cur = t.get(key);
        if (!value && (!cur.fetched || !cur.value())) return {};  // (already empty)
        if (!only_id.empty() && !cur.value()) return {};          // (nothing to end)
        // Emptying a slot's key: only the use it was written for.
        if (!only_id.empty() && cur.value() && str_field(*cur.value(), "id") != only_id) return {};
        t.write(key, value);
        return {};
      },
      [this, key, alive = std::weak_ptr<bool>(alive_)](Result<db::TxnResult> r) {
        if (!r.ok()) {
          VLCP_LOG_RL(kWarn, "trace", 6, 2) << "writing " << key << " failed: " << r.error().message();
        }
        if (alive.expired()) return;
        auto it = writes_.find(key);
        if (it == writes_.end()) return;
        it->second.pop_front();
        if (it->second.empty())
          writes_.erase(it);
        else
          write_next(key);
      });
}

Result<int> Mailbox::open() {
  for (size_t i = 0; i < slots_.size(); ++i)
    if (!slots_[i].used) {
      slots_[i] = Slot{};
      slots_[i].used = true;
      slots_[i].id = random_id();
      return static_cast<int>(i);
    }
  ++stats_.busy;
  return make_error(Errc::kConflict, "busy: all " + std::to_string(slots_.size()) + " trace slots of " +
                                         system_id_ + " are in use");
}

size_t Mailbox::slots_in_use() const {
  size_t n = 0;
  for (const auto& s : slots_) n += s.used;
  return n;
}

void Mailbox::ask(int slot, const std::string& target, Json request, std::chrono::milliseconds deadline,
                  std::function<void(Answers)> done) {
  Slot& s = slots_.at(static_cast<size_t>(slot));
  if (s.timer) loop_.cancel(s.timer);
  s.timer = 0;
  s.answers = {};
  s.expected.clear();
  if (target == "*") {
    for (const auto& p : live_peers()) s.expected.insert(p);
  } else if (target != system_id_) {
    s.expected.insert(target);
  }
  if (s.expected.empty()) return done({});
  ++stats_.asked;
  ++s.round;
  s.done = std::move(done);
  s.written = true;
  auto deadline_us = std::chrono::duration_cast<std::chrono::microseconds>(deadline).count();
  write(request_key(self_, slot), Json{{"id", s.id},
                                       {"round", s.round},
                                       {"target", target},
                                       {"expires_us", server_now_us() + deadline_us},
                                       {"request", std::move(request)}});
  poll(slot, s.id, s.round);
  s.timer = loop_.after(deadline, [this, slot, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    Slot& s = slots_[slot];
    s.timer = 0;
    for (const auto& n : s.expected)
      if (!s.answers.by_node.count(n)) {
        s.answers.missing.push_back(n);
        ++stats_.timeouts;
      }
    finish(slot);
  });
}

// The answers still awaited, read every 250 ms besides the watch: on ZooKeeper's watch feed a
// prefix watch was seen to miss an answer key's new value (the answer was there, unheard).
void Mailbox::poll(int slot, const std::string& id, int round) {
  loop_.after(std::chrono::milliseconds(250), [this, slot, id, round, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    Slot& s = slots_[slot];
    if (!s.done || s.id != id || s.round != round) return;
    std::vector<std::string> keys;
    for (const auto& n : s.expected)
      if (!s.answers.by_node.count(n))
        keys.push_back(std::string(schema::kTraceAnswerPrefix) + self_ + "." + std::to_string(slot) + "." +
                       db::escape_key_part(n));
    db_.get(keys, [this, alive](Result<std::map<std::string, db::Record>> r) {
      if (alive.expired() || !r.ok()) return;
      for (const auto& [k, rec] : *r) on_answer(k, rec, /*polled=*/true);
    });
    poll(slot, id, round);
  });
}

void Mailbox::finish(int slot) {
  Slot& s = slots_[slot];
  if (s.timer) loop_.cancel(s.timer);
  s.timer = 0;
  auto done = std::move(s.done);
  s.done = nullptr;
  Answers a = std::move(s.answers);
  s.answers = {};
  s.expected.clear();
  if (done) done(std::move(a));
}

void Mailbox::close(int slot) {
  Slot& s = slots_.at(static_cast<size_t>(slot));
  if (s.timer) loop_.cancel(s.timer);
  // Ended, not deleted: on ZooKeeper a deleted key is a tombstone node, and a prefix watch was
  // seen to miss the key written again (the next use of the slot): the keys stay, small.
  if (s.written && *alive_) write(request_key(self_, slot), Json{{"id", s.id}, {"ended", true}}, s.id);
  s = Slot{};
}

void Mailbox::sweep() {
  for (auto it = my_answers_.begin(); it != my_answers_.end();) {
    const db::Record* req = db_.mirrored(it->second.first);
    bool current = req && req->value && !req->value->contains("ended") &&
                   (it->second.second.empty() || str_field(*req->value, "id") == it->second.second);
    if (current) {
      ++it;
      continue;
    }
    ++stats_.swept;
    write(it->first, Json{{"id", it->second.second}, {"swept", true}}, it->second.second);
    it = my_answers_.erase(it);
  }
}

void Mailbox::on_update(const db::KeyUpdate& u) {
  const std::string& k = u.key;
  if (starts_with(k, schema::kNodePrefix)) {
    std::string id = db::unescape_key_part(k.substr(schema::kNodePrefix.size()));
    if (!u.record.value) {
      nodes_.erase(id);
      return;
    }
    NodeRecord n;
    n.system_id = id;
    n.value = *u.record.value;
    n.expires_us = int_field(n.value, "expires_us");
    nodes_[id] = std::move(n);
  } else if (starts_with(k, schema::kTraceRequestPrefix)) {
    on_request(k, u.record);
  } else if (starts_with(k, schema::kTraceAnswerPrefix)) {
    on_answer(k, u.record);
  }
}

void Mailbox::on_request(const std::string& key, const db::Record& r) {
  auto p = parts_after(key, schema::kTraceRequestPrefix);
  if (p.size() != 2 || p[0] == self_) return;
  if (!r.value) {
    served_.erase(key);
    return;
  }
  const Json& v = *r.value;
  if (v.contains("ended")) {
    served_.erase(key);
    return;
  }
  std::string id = str_field(v, "id"), target = str_field(v, "target");
  int round = static_cast<int>(int_field(v, "round"));
  if (id.empty() || (target != "*" && target != system_id_)) return;
  int64_t now = server_now_us();
  if (now && int_field(v, "expires_us") < now) return;  // (a request left by a requester that died)
  auto seen = served_.find(key);
  if (seen != served_.end() && seen->second == std::pair{id, round}) return;
  served_[key] = {id, round};
  if (!handler_ || !v.contains("request")) return;
  ++stats_.served;
  std::string answer_key = std::string(schema::kTraceAnswerPrefix) + p[0] + "." + p[1] + "." + self_;
  std::string requester = db::unescape_key_part(p[0]);
  handler_(requester, v["request"],
           [this, key, answer_key, id, round, alive = std::weak_ptr<bool>(alive_)](Json answer) {
             if (alive.expired()) return;
             Json value = {{"id", id}, {"round", round}, {"answer", std::move(answer)}};
             std::string text = value.dump();
             if (text.size() > options_.answer_cap) {
               ++stats_.oversize;
               value["answer"] = {{"error", "answer-too-large"}, {"size", text.size()}};
             }
             my_answers_[answer_key] = {key, id};
             write(answer_key, std::move(value));
           });
}

void Mailbox::on_answer(const std::string& key, const db::Record& r, bool polled) {
  auto p = parts_after(key, schema::kTraceAnswerPrefix);
  if (p.size() != 3 || p[0] != self_ || !r.value) return;
  int slot = std::atoi(p[1].c_str());
  std::string answerer = db::unescape_key_part(p[2]);
  if (slot < 0 || static_cast<size_t>(slot) >= slots_.size()) return;
  Slot& s = slots_[slot];
  const Json& v = *r.value;
  if (!s.used || !s.done || str_field(v, "id") != s.id || int_field(v, "round") != s.round ||
      !s.expected.count(answerer) || s.answers.by_node.count(answerer)) {
    if (!polled) ++stats_.stale;  // (a poll reads the last use's answers until the new ones come)
    return;
  }
  if (polled) ++stats_.polled;
  ++stats_.answered;
  s.answers.by_node[answerer] = v.contains("answer") ? v["answer"] : Json();
  if (s.answers.by_node.size() >= s.expected.size()) finish(slot);
}

}  // namespace vlcp::trace
