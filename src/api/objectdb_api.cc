#include "api/objectdb_api.h"

#include <chrono>
#include <memory>
#include <set>

#include "api/webapi.h"

namespace vlcp::api {
namespace {

using nlohmann::json;

HttpResponse result(const json& r) {
  return {200, json_text(json{{"result", r}}) + "\n", "application/json"};
}
HttpResponse error(int status, const std::string& message) {
  return {status, json_text(json{{"error", message}}) + "\n", "application/json"};
}
HttpResponse error(const Status& s) {
  return error(http_status(s), s.to_string());
}

std::vector<std::string> values_of(const std::vector<std::pair<std::string, std::string>>& params,
                                   const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : params)
    if (k == name) out.push_back(v);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> query_params(const std::string& target) {
  std::vector<std::pair<std::string, std::string>> out;
  auto q = target.find('?');
  if (q == std::string::npos) return out;
  std::string_view query(target);
  query.remove_prefix(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    if (!kv.empty())
      out.emplace_back(percent_decode(kv.substr(0, eq)),
                       eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// An absent key's version moves with unrelated deletes (the store's floor, a compaction's
// generation: db/store.h) without any change to the key: the API says 0 for every absent key, so
// a watch waiting for a key to appear wakes when it does, not when another key is deleted.
uint64_t api_version(const db::Record& r) {
  return r.exists() ? r.version : 0;
}

json record_json(const db::Record& r) {
  return json{{"value", r.value ? *r.value : json()},
              {"version", api_version(r)},
              {"created", r.created_us},
              {"updated", r.updated_us}};
}

void handle_objectdb(const std::shared_ptr<db::ObjectDb>& shared, io::ControlLoop& loop,
                     const HttpRequest& req, HttpResponder respond_to) {
  // Answers that come later run guarded too (guard(...) below): an escaped exception is a 500.
  HttpResponder respond = respond_once(std::move(respond_to));
  auto guard = [respond](auto fn) {
    return [respond, fn = std::move(fn)](auto&&... args) mutable {
      guard_handler("objectdb", respond, [&] { fn(std::forward<decltype(args)>(args)...); });
    };
  };
  guard_handler("objectdb", respond, [&] {
    db::ObjectDb* db = shared.get();
    std::weak_ptr<db::ObjectDb> weak_db = shared;
    std::string path = req.target.substr(0, req.target.find('?'));
    std::string method = path.substr(std::string("/objectdb/").size());
    auto params = query_params(req.target);
    static const std::set<std::string> kMethods = {"getonce", "get", "list", "watch", "dump", "restore"};
    if (!kMethods.count(method)) return respond(error(404, "objectdb has no method '" + method + "'"));
    bool post = method == "restore";
    if (post != (req.method == "POST"))
      return respond(error(405, std::string("use ") + (post ? "POST" : "GET") + " for objectdb/" + method));
    if (!db) return respond(error(503, "module objectdb is not loaded"));

    if (method == "getonce" || method == "get") {
      auto keys = values_of(params, "key");
      if (keys.empty()) return respond(error(400, "missing parameter key=KEY"));
      if (method == "getonce" && keys.size() != 1) return respond(error(400, "getonce takes one key"));
      return db->get(keys, guard([respond, once = method == "getonce",
                                  keys](Result<std::map<std::string, db::Record>> r) {
                       if (!r.ok()) return respond(error(r.error()));
                       if (once) {
                         const db::Record& rec = (*r)[keys[0]];
                         return respond(result(rec.value ? *rec.value : json()));
                       }
                       json out = json::object();
                       for (const auto& [k, rec] : *r) out[k] = record_json(rec);
                       respond(result(out));
                     }));
    }
    if (method == "list" || method == "dump") {
      auto prefixes = values_of(params, "prefix");
      std::string prefix = prefixes.empty() ? "" : prefixes[0];
      bool dump = method == "dump";
      return db->list(prefix, guard([weak_db, respond, dump, guard](Result<std::vector<std::string>> keys) {
                        auto db = weak_db.lock();
                        if (!db) return respond(error(503, "module objectdb was unloaded"));
                        if (!keys.ok()) return respond(error(keys.error()));
                        if (!dump) return respond(result(*keys));
                        if (keys->empty()) return respond(result(json::object()));
                        db->get(*keys, guard([respond](Result<std::map<std::string, db::Record>> r) {
                          if (!r.ok()) return respond(error(r.error()));
                          json out = json::object();
                          for (const auto& [k, rec] : *r)
                            if (rec.value) out[k] = *rec.value;
                          respond(result(out));
                        }));
                      }));
    }
    if (method == "restore") {
      auto parsed = parse_client_json(req.body);
      if (!parsed.ok()) return respond(error(parsed.error().with_context("the body")));
      const json& body = *parsed;
      if (!body.is_object()) return respond(error(400, "the body must be a JSON object of keys and values"));
      for (const auto& [k, v] : body.items())
        if (Status s = db::check_key(k); !s.ok()) return respond(error(s));
      // Batches of 64 keys, one transaction each, one after another.
      struct Restore {
        std::vector<std::pair<std::string, json>> items;
        size_t next = 0;
        std::function<void()> step;
      };
      auto st = std::make_shared<Restore>();
      for (const auto& [k, v] : body.items()) st->items.emplace_back(k, v);
      std::weak_ptr<Restore> weak = st;
      st->step = [db, respond, weak] {
        auto st = weak.lock();
        if (!st) return;
        if (st->next >= st->items.size()) {
          respond(result(json{{"written", st->items.size()}}));
          st->step = nullptr;  // releases the state
          return;
        }
        size_t end = std::min(st->items.size(), st->next + 64);
        std::vector<std::string> keys;
        for (size_t i = st->next; i < end; ++i) keys.push_back(st->items[i].first);
        size_t begin = st->next;
        st->next = end;
        db->writewalk(
            keys,
            [st, begin, end](db::TxnContext& ctx) {
              for (size_t i = begin; i < end; ++i) ctx.write(st->items[i].first, st->items[i].second);
              return Status{};
            },
            [st, respond, begin](Result<db::TxnResult> r) {
              guard_handler("objectdb/restore", respond, [&] {
                if (!r.ok()) {
                  respond(error(
                      r.error().with_context("restore stopped after " + std::to_string(begin) + " keys")));
                  st->step = nullptr;
                  return;
                }
                st->step();
              });
            });
      };
      auto keep = st;  // owned by the step closure chain through the callbacks
      return keep->step();
    }
    // watch: a long poll on versions.
    auto keys = values_of(params, "key");
    auto versions = values_of(params, "version");
    auto timeouts = values_of(params, "timeout");
    if (keys.empty()) return respond(error(400, "missing parameter key=KEY"));
    if (!versions.empty() && versions.size() != keys.size())
      return respond(error(400, "give one version=V per key=K (or none)"));
    std::map<std::string, uint64_t> known;
    try {
      for (size_t i = 0; i < keys.size(); ++i)
        known[keys[i]] = versions.empty() ? 0 : std::stoull(versions[i]);
    } catch (...) {
      return respond(error(400, "a version is not a number"));
    }
    double timeout = 30;
    if (!timeouts.empty()) {
      try {
        timeout = std::stod(timeouts[0]);
      } catch (...) {
        timeout = -1;
      }
      if (!(timeout >= 0 && timeout <= 60)) return respond(error(400, "timeout must be 0..60 seconds"));
    }
    struct Poll {
      db::WatchId watch = 0;
      io::TimerId timer = 0;
      bool answered = false;
      std::map<std::string, uint64_t> known;
    };
    auto poll = std::make_shared<Poll>();
    poll->known = known;
    auto answer = [weak_db, &loop, poll, respond](json changed) {
      if (poll->answered) return;
      poll->answered = true;
      loop.cancel(poll->timer);
      // Not from inside the watch's own callback: closing it there would destroy the callback.
      loop.after(std::chrono::nanoseconds(0), [weak_db, id = poll->watch] {
        if (auto db = weak_db.lock()) db->close_watch(id);
      });
      respond(result(changed));
    };
    poll->watch = db->open_watch([poll, answer](const db::KeyUpdate& u) {
      auto it = poll->known.find(u.key);
      if (it != poll->known.end() && api_version(u.record) != it->second)
        answer(json{{u.key, record_json(u.record)}});
    });
    db->watch_keys(poll->watch, keys);
    poll->timer = loop.after(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(timeout)),
        [answer] { answer(json::object()); });
    // Watch first, then read: a change in between is seen one way or the other.
    db->get(keys, guard([poll, answer](Result<std::map<std::string, db::Record>> r) {
              if (poll->answered) return;
              if (!r.ok()) return;  // the timer answers
              json changed = json::object();
              for (const auto& [k, rec] : *r)
                if (api_version(rec) != poll->known[k]) changed[k] = record_json(rec);
              if (!changed.empty()) answer(changed);
            }));
  });
}

}  // namespace vlcp::api
