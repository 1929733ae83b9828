#include "cli/db_verbs.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace vlcp::cli {

namespace {

using nlohmann::json;

constexpr int kExitFailure = 1;

struct Call {
  ApiEndpoint at;
  bool as_json = false;
  mutable int failed = 0;  // the exit code of the last failed call
};

// The result of a call, or its failure printed and nullopt.
std::optional<json> result_of(const Call& c, const std::string& method, const std::string& target,
                              const std::string& body = "",
                              std::chrono::seconds timeout = std::chrono::seconds(30)) {
  Outcome o = call_result(c.at, method, target, body, timeout);
  if (!o.ok()) {
    c.failed = o.exit_code;
    return std::nullopt;
  }
  return o.result;
}

std::string keys_query(const std::vector<std::string>& keys) {
  std::string q;
  for (const auto& k : keys) q += (q.empty() ? "?" : "&") + std::string("key=") + url_encode(k);
  return q;
}

void print_record(const std::string& key, const json& rec) {
  std::string value = rec["value"].is_null() ? "(absent)" : rec["value"].dump();
  std::printf("%-40s %8llu  %s\n", key.c_str(), static_cast<unsigned long long>(rec.value("version", 0ull)),
              value.c_str());
}

}  // namespace

int db_verb(const std::vector<std::string>& all) {
  auto cli = parse_cli(all);
  if (!cli.ok()) {
    std::fprintf(stderr, "vlcpctl: %s\n", cli.error().message().c_str());
    return kExitUsage;
  }
  Call c{cli->at, cli->as_json};
  std::vector<std::string> args;
  long count = -1;
  for (size_t i = 0; i < cli->args.size(); ++i) {
    const std::string& a = cli->args[i];
    if (a == "--count") {
      char* end = nullptr;
      count = i + 1 < cli->args.size() ? std::strtol(cli->args[++i].c_str(), &end, 10) : 0;
      if (!end || *end || count < 1) {
        std::fprintf(stderr, "vlcpctl: --count takes a positive number\n");
        return kExitUsage;
      }
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    std::fprintf(stderr, "Usage: vlcpctl db VERB ...\n%s", usage_of("db").c_str());
    return kExitUsage;
  }
  const std::string& verb = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());

  if (verb == "get") {
    if (rest.empty()) return std::fprintf(stderr, "vlcpctl: db get KEY...\n"), kExitUsage;
    auto r = result_of(c, "GET", "/objectdb/get" + keys_query(rest));
    if (!r) return c.failed;
    if (c.as_json) {
      std::printf("%s\n", r->dump(2).c_str());
    } else {
      for (const auto& k : rest) print_record(k, (*r)[k]);
    }
    bool all_there = true;
    for (const auto& k : rest) all_there = all_there && !(*r)[k]["value"].is_null();
    return all_there ? 0 : kExitFailure;  // a script can test for existence
  }
  if (verb == "list" || verb == "dump") {
    if (rest.size() > 1) return std::fprintf(stderr, "vlcpctl: db %s [PREFIX]\n", verb.c_str()), kExitUsage;
    std::string q = rest.empty() ? "" : "?prefix=" + url_encode(rest[0]);
    auto r = result_of(c, "GET", "/objectdb/" + verb + q, "", std::chrono::seconds(300));
    if (!r) return c.failed;
    if (verb == "dump" || c.as_json) {
      std::printf("%s\n", r->dump(2).c_str());
    } else {
      for (const auto& k : *r) std::printf("%s\n", k.get<std::string>().c_str());
    }
    return 0;
  }
  if (verb == "restore") {
    if (rest.size() != 1) return std::fprintf(stderr, "vlcpctl: db restore FILE|-\n"), kExitUsage;
    std::stringstream text;
    if (rest[0] == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(rest[0]);
      if (!in) return std::fprintf(stderr, "vlcpctl: cannot read %s\n", rest[0].c_str()), kExitFailure;
      text << in.rdbuf();
    }
    auto parsed = json::parse(text.str(), nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
      return std::fprintf(stderr, "vlcpctl: %s is not a JSON object of keys and values\n", rest[0].c_str()),
             kExitFailure;
    auto r = result_of(c, "POST", "/objectdb/restore", parsed.dump(), std::chrono::seconds(600));
    if (!r) return c.failed;
    std::printf("restored %llu keys\n", static_cast<unsigned long long>(r->value("written", 0ull)));
    return 0;
  }
  if (verb == "watch") {
    if (rest.empty()) return std::fprintf(stderr, "vlcpctl: db watch KEY... [--count N]\n"), kExitUsage;
    auto now = result_of(c, "GET", "/objectdb/get" + keys_query(rest));
    if (!now) return c.failed;
    std::map<std::string, unsigned long long> versions;
    for (const auto& k : rest) versions[k] = (*now)[k].value("version", 0ull);
    std::fflush(stdout);
    for (long seen = 0; count < 0 || seen < count;) {
      std::string q;
      for (const auto& [k, v] : versions)
        q += (q.empty() ? "?" : "&") + std::string("key=") + url_encode(k) + "&version=" + std::to_string(v);
      auto r = result_of(c, "GET", "/objectdb/watch" + q + "&timeout=30", "", std::chrono::seconds(45));
      if (!r) return c.failed;
      for (const auto& [k, rec] : r->items()) {
        versions[k] = rec.value("version", 0ull);
        if (c.as_json)
          std::printf("%s\n", json{{k, rec}}.dump().c_str());
        else
          print_record(k, rec);
        ++seen;
      }
      std::fflush(stdout);
    }
    return 0;
  }
  std::fprintf(stderr, "vlcpctl: unknown db verb '%s'\n%s", verb.c_str(), usage_of("db").c_str());
  return kExitUsage;
}

}  // namespace vlcp::cli
