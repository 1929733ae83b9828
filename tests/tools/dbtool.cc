// dbtool: drives ObjectDB for the fault tests and benchmarks, on the embedded store or ZooKeeper.
//
//   dbtool STORE stream --client C --count N [--accounts K]
//       N transactions, one after another: each moves money between two of K accounts, marks
//       txn.C.<i> and counts ops.C, all in one commit. Prints "ok <i>" or "fail <i> <error>"
//       (flushed) as each is acknowledged. Then writes done.C, waits for every done.* it is
//       told of (--peers), and prints "converged <digest>" once its watched mirror equals a
//       fresh read.
//   dbtool STORE check --clients C1,C2 --results F1,F2 [--accounts K]
//       Every "ok" is committed, every "fail" is not, no transaction is half-applied (the
//       total is intact and ops.C counts txn.C.*). Exit status 0 when all holds.
//   dbtool STORE session
//       Commands on stdin, one per line: put KEY JSON | get KEY | watch KEY | restored. Answers
//       on stdout: "put ok", "put error <text>", "get <json|absent> stale=<0|1>", "update KEY
//       <json|absent> <updated|restored>".
//   dbtool STORE bench --keys K --count N [--parallel P]
//       P streams of N transactions of K keys each (disjoint keys) from client A while client B
//       watches stream 0's keys: prints JSON with transactions/s, commit latency and
//       commit-start-to-notification latency percentiles.
// STORE: --embedded PATH | --zk HOSTS [--root /vlcp]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "db/embedded.h"
#include "db/objectdb.h"
#include "db/zookeeper.h"

using namespace vlcp;
using namespace vlcp::db;

namespace {

std::map<std::string, std::string> g_args;

std::string arg(const std::string& name, const std::string& fallback = "") {
  auto it = g_args.find(name);
  return it == g_args.end() ? fallback : it->second;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);)
    if (!part.empty()) out.push_back(part);
  return out;
}

void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

struct Env {
  RealClock clock;
  io::ControlLoop loop{clock};
  std::vector<std::unique_ptr<Store>> stores;

  Store* open_store() {
    if (!arg("embedded").empty()) {
      if (!stores.empty()) return stores.front().get();  // one LMDB environment per process
      auto s = EmbeddedStore::open(loop, EmbeddedOptions{arg("embedded"), 256, true});
      if (!s.ok()) {
        std::fprintf(stderr, "dbtool: %s\n", s.status().to_string().c_str());
        std::exit(2);
      }
      stores.push_back(std::move(*s));
    } else {
      ZkOptions o;
      o.hosts = arg("zk");
      o.root = arg("root", "/vlcp");
      auto s = ZkStore::connect(loop, o);
      if (!s.ok()) {
        std::fprintf(stderr, "dbtool: %s\n", s.status().to_string().c_str());
        std::exit(2);
      }
      stores.push_back(std::move(*s));
      wait([&] { return stores.back()->connected(); }, std::chrono::seconds(30));
    }
    return stores.back().get();
  }
  bool wait(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (!loop.run_pending()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
  }
};

std::vector<std::string> account_keys(int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back("acct." + std::to_string(i));
  return keys;
}

std::string digest(const std::map<std::string, Record>& records) {
  Json j = Json::object();
  for (const auto& [k, r] : records) j[k] = r.value ? *r.value : Json();
  return std::to_string(std::hash<std::string>{}(j.dump()));
}

int stream(Env& env) {
  std::string client = arg("client", "c");
  int count = std::stoi(arg("count", "100"));
  int accounts = std::stoi(arg("accounts", "8"));
  auto keys = account_keys(accounts);
  Store* store = env.open_store();
  ObjectDb db(env.loop, *store);
  // The accounts exist once, whoever gets there first.
  std::optional<Status> setup;
  db.writewalk(
      keys,
      [&](TxnContext& ctx) {
        for (const auto& k : keys)
          if (!ctx.get(k).value()) ctx.write(k, Json(100));
        return Status{};
      },
      [&](Result<TxnResult> r) { setup = r.status(); }, TxnOptions{1000});
  env.wait([&] { return setup.has_value(); }, std::chrono::seconds(60));
  if (!setup || !setup->ok()) {
    std::fprintf(stderr, "dbtool: setup: %s\n", setup ? setup->to_string().c_str() : "no answer");
    return 2;
  }
  // Watch what everyone writes, so the mirror converges with the store.
  std::vector<std::string> watched = keys;
  std::vector<std::string> peers = split(arg("peers", client), ',');
  for (const auto& p : peers) {
    watched.push_back("ops." + p);
    watched.push_back("done." + p);
  }
  WatchId w = db.open_watch([](const KeyUpdate&) {});
  db.watch_keys(w, watched);

  std::string ops = "ops." + client;
  for (int i = 0; i < count; ++i) {
    std::string from = keys[i % accounts], to = keys[(i * 5 + 1) % accounts];
    if (from == to) to = keys[(i + 1) % accounts];
    std::string mark = "txn." + client + "." + std::to_string(i);
    std::optional<Result<TxnResult>> r;
    db.writewalk(
        {from, to, ops, mark},
        [&](TxnContext& ctx) {
          int f = ctx.get(from).value()->get<int>(), t = ctx.get(to).value()->get<int>();
          const Json* n = ctx.get(ops).value();
          int amount = i % 7 + 1;
          ctx.write(from, Json(f - amount));
          ctx.write(to, Json(t + amount));
          ctx.write(ops, Json((n ? n->get<int>() : 0) + 1));
          ctx.write(mark, Json(true));
          return Status{};
        },
        [&](Result<TxnResult> x) { r = std::move(x); }, TxnOptions{1000});
    env.wait([&] { return r.has_value(); }, std::chrono::hours(1));
    if (r->ok()) {
      say("ok " + std::to_string(i));
    } else {
      say("fail " + std::to_string(i) + " " + r->status().to_string());
      env.wait([] { return false; }, std::chrono::milliseconds(200));
    }
  }
  // Done: say so, wait for the others, then for the mirror to match a fresh read.
  for (int attempt = 0;; ++attempt) {
    std::optional<Status> s;
    db.writewalk(
        {"done." + client},
        [&](TxnContext& ctx) {
          ctx.write("done." + client, Json(true));
          return Status{};
        },
        [&](Result<TxnResult> r) { s = r.status(); });
    env.wait([&] { return s.has_value(); }, std::chrono::minutes(5));
    if (s->ok()) break;
    if (attempt > 100) return 3;
    env.wait([] { return false; }, std::chrono::milliseconds(300));
  }
  auto all_done = [&] {
    for (const auto& p : peers) {
      const Record* r = db.mirrored("done." + p);
      if (!r || !r->exists()) return false;
    }
    return true;
  };
  if (!env.wait(all_done, std::chrono::minutes(3))) {
    say("peers never finished");
    return 4;
  }
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::optional<Result<std::map<std::string, Record>>> fresh;
    db.get(watched, [&](auto x) { fresh = std::move(x); });
    env.wait([&] { return fresh.has_value(); }, std::chrono::minutes(1));
    if (fresh && fresh->ok()) {
      std::map<std::string, Record> mirror;
      for (const auto& k : watched) mirror[k] = db.mirrored(k) ? *db.mirrored(k) : Record{};
      bool same = true;
      for (const auto& [k, rec] : **fresh) same = same && mirror[k].version == rec.version;
      if (same) {
        say("converged " + digest(**fresh));
        return 0;
      }
    }
    env.wait([] { return false; }, std::chrono::milliseconds(50));
  }
  say("never converged");
  return 5;
}

int check(Env& env) {
  auto clients = split(arg("clients"), ',');
  auto results = split(arg("results"), ',');
  int accounts = std::stoi(arg("accounts", "8"));
  Store* store = env.open_store();
  ObjectDb db(env.loop, *store);
  std::vector<std::string> keys = account_keys(accounts);
  std::map<std::string, std::map<int, bool>> outcomes;  // client -> seq -> ok
  for (size_t c = 0; c < clients.size() && c < results.size(); ++c) {
    std::ifstream in(results[c]);
    for (std::string line; std::getline(in, line);) {
      std::istringstream ls(line);
      std::string what;
      int seq = -1;
      ls >> what >> seq;
      if ((what == "ok" || what == "fail") && seq >= 0) {
        outcomes[clients[c]][seq] = what == "ok";
        keys.push_back("txn." + clients[c] + "." + std::to_string(seq));
      }
    }
    keys.push_back("ops." + clients[c]);
    // The transaction in flight when a client was killed: either outcome is fine, but whole.
    int next = outcomes[clients[c]].empty() ? 0 : outcomes[clients[c]].rbegin()->first + 1;
    keys.push_back("txn." + clients[c] + "." + std::to_string(next));
  }
  std::optional<Result<std::map<std::string, Record>>> r;
  db.get(keys, [&](auto x) { r = std::move(x); });
  env.wait([&] { return r.has_value(); }, std::chrono::minutes(1));
  if (!r || !r->ok()) {
    say("read failed: " + (r ? r->status().to_string() : std::string("no answer")));
    return 2;
  }
  auto& rec = **r;
  int problems = 0;
  long total = 0;
  for (int i = 0; i < accounts; ++i)
    total += rec["acct." + std::to_string(i)].value.value_or(Json(0)).get<long>();
  if (total != 100L * accounts) {
    say("total " + std::to_string(total) + " != " + std::to_string(100L * accounts) +
        ": a half-applied transfer");
    ++problems;
  }
  for (const auto& c : clients) {
    int acked = 0, failed = 0, present = 0;
    for (const auto& [seq, ok] : outcomes[c]) {
      bool there = rec["txn." + c + "." + std::to_string(seq)].exists();
      present += there;
      if (ok && !there)
        say("client " + c + ": acknowledged " + std::to_string(seq) + " is missing"), ++problems;
      if (!ok && there) say("client " + c + ": failed " + std::to_string(seq) + " was applied"), ++problems;
      acked += ok;
      failed += !ok;
    }
    int next = outcomes[c].empty() ? 0 : outcomes[c].rbegin()->first + 1;
    present += rec["txn." + c + "." + std::to_string(next)].exists();
    int ops = rec["ops." + c].value.value_or(Json(0)).get<int>();
    if (ops != present)
      say("client " + c + ": ops " + std::to_string(ops) + " but " + std::to_string(present) + " marks"),
          ++problems;
    say("client " + c + ": " + std::to_string(acked) + " acknowledged, " + std::to_string(failed) +
        " failed, " + std::to_string(ops) + " applied");
  }
  say(problems ? "check failed" : "check ok");
  return problems ? 1 : 0;
}

int session(Env& env) {
  Store* store = env.open_store();
  ObjectDb db(env.loop, *store);
  WatchId w = db.open_watch([](const KeyUpdate& u) {
    say("update " + u.key + " " + (u.record.value ? u.record.value->dump() : "absent") + " " +
        (u.reason == KeyUpdate::kRestored ? "restored" : "updated"));
  });
  // stdin on its own thread; lines reach the loop through Asio's post. At the end of input it
  // stops once what was asked has been answered.
  int outstanding = 0;
  bool eof = false;
  auto settle = [&] {
    if (eof && outstanding == 0) env.loop.stop();
  };
  std::thread reader([&] {
    for (std::string line; std::getline(std::cin, line);)
      boost::asio::post(env.loop.context(), [&, line] {
        std::istringstream ls(line);
        std::string cmd, key, rest;
        ls >> cmd >> key;
        std::getline(ls, rest);
        if (cmd == "put") {
          auto value = Json::parse(rest, nullptr, false);
          ++outstanding;
          db.writewalk(
              {key},
              [key, value](TxnContext& ctx) {
                ctx.write(key, value);
                return Status{};
              },
              [&](Result<TxnResult> r) {
                say(r.ok() ? "put ok" : "put error " + r.status().to_string());
                --outstanding;
                settle();
              });
        } else if (cmd == "get") {
          ++outstanding;
          db.walk(
              {key},
              [key](WalkContext& ctx) {
                if (ctx.get(key).fetched) ctx.save(key);
              },
              [&, key](Result<WalkResult> r) {
                if (!r.ok()) {
                  say("get error " + r.status().to_string());
                } else {
                  const Record& rec = r->saved[key];
                  say("get " + (rec.value ? rec.value->dump() : std::string("absent")) +
                      " stale=" + (r->stale ? "1" : "0"));
                }
                --outstanding;
                settle();
              },
              w);
        } else if (cmd == "watch") {
          db.watch_keys(w, {key});
          say("watching " + key);
        } else if (cmd == "quit") {
          env.loop.stop();
        }
      });
    boost::asio::post(env.loop.context(), [&] {
      eof = true;
      settle();
    });
  });
  env.loop.run();
  reader.detach();
  return 0;
}

int bench(Env& env) {
  int nkeys = std::stoi(arg("keys", "10"));
  int count = std::stoi(arg("count", "200"));
  int parallel = std::max(1, std::stoi(arg("parallel", "1")));
  Store* sa = env.open_store();
  Store* sb = env.open_store();
  ObjectDb a(env.loop, *sa), b(env.loop, *sb);
  // Stream s writes keys bench.s.*; client B watches stream 0's keys.
  auto keys_of = [nkeys](int s) {
    std::vector<std::string> keys;
    for (int i = 0; i < nkeys; ++i) keys.push_back("bench." + std::to_string(s) + "." + std::to_string(i));
    return keys;
  };
  std::vector<std::string> watched = keys_of(0);
  std::map<uint64_t, std::chrono::steady_clock::time_point> sent;  // version of watched[0] -> commit start
  std::vector<double> latency_ms, commit_ms;
  uint64_t seen_version = 0;
  WatchId w = b.open_watch([&](const KeyUpdate& u) {
    if (u.key != watched[0] || u.record.version <= seen_version) return;
    seen_version = u.record.version;
    auto it = sent.find(u.record.version);
    if (it != sent.end())
      latency_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - it->second).count());
  });
  b.watch_keys(w, watched);
  env.wait([&] { return b.mirrored(watched[0]) != nullptr; }, std::chrono::seconds(30));
  uint64_t base = b.mirrored(watched[0])->version;
  int done = 0, failed = 0;
  std::function<void(int, int)> next = [&](int stream, int i) {
    if (i >= count) return;
    auto keys = keys_of(stream);
    auto t0 = std::chrono::steady_clock::now();
    if (stream == 0) sent[base + i + 1] = t0;
    a.writewalk(
        keys,
        [keys, i](TxnContext& ctx) {
          for (const auto& k : keys)
            ctx.write(k, Json{{"i", i}, {"pad", "0123456789abcdef0123456789abcdef"}});
          return Status{};
        },
        [&, stream, i, t0](Result<TxnResult> r) {
          ++done;
          if (!r.ok()) {
            ++failed;
            std::fprintf(stderr, "dbtool bench: %s\n", r.status().to_string().c_str());
          }
          commit_ms.push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
          next(stream, i + 1);
        });
  };
  auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < parallel; ++s) next(s, 0);
  env.wait([&] { return done == count * parallel; }, std::chrono::minutes(10));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  env.wait([&] { return seen_version >= base + count; }, std::chrono::seconds(30));
  auto pct = [](std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
  };
  Json out{{"keys", nkeys},
           {"parallel", parallel},
           {"transactions", done},
           {"failed", failed},
           {"tx_per_s", done / secs},
           {"commit_ms_p50", pct(commit_ms, 0.5)},
           {"commit_ms_p99", pct(commit_ms, 0.99)},
           {"notify_ms_p50", pct(latency_ms, 0.5)},
           {"notify_ms_p99", pct(latency_ms, 0.99)},
           {"notifications", latency_ms.size()}};
  say(out.dump());
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && i + 1 < argc)
      g_args[a.substr(2)] = argv[++i];
    else if (mode.empty())
      mode = a;
  }
  if (mode.empty() || (arg("embedded").empty() && arg("zk").empty())) {
    std::fprintf(stderr,
                 "usage: dbtool (--embedded PATH | --zk HOSTS [--root R]) stream|check|session|bench ...\n");
    return 2;
  }
  Env env;
  if (mode == "stream") return stream(env);
  if (mode == "check") return check(env);
  if (mode == "session") return session(env);
  if (mode == "bench") return bench(env);
  std::fprintf(stderr, "dbtool: unknown mode %s\n", mode.c_str());
  return 2;
}
