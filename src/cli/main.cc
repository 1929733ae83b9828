// vlcpctl: the operator's command-line tool. Offline verbs work without a running vlcpd
// (ofp-print, dump-flows, profile), the others ask vlcpd's WebAPI (db, the model, modules).
// Every command is declared in commands.cc, from which --help, --man and the completion come.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "base/version.h"
#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/db_verbs.h"
#include "cli/model_verbs.h"
#include "cli/pcap.h"
#include "cli/profile_apply.h"
#include "cli/switch_client.h"
#include "cli/trace_verb.h"
#include "ofp/message.h"
#include "ofp/print.h"

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

int usage(FILE* to) {
  std::fprintf(to, "%s", vlcp::cli::usage_text().c_str());
  return to == stderr ? kExitUsage : 0;
}

int ofp_print_hex(const std::vector<std::string>& args) {
  std::string hex;
  for (const auto& a : args) hex += a;
  vlcp::InlineBuffer<4096> bytes;
  if (!vlcp::from_hex(hex, bytes)) {
    std::fprintf(stderr, "vlcpctl: ofp-print: not hex (an even number of hex digits, spaces allowed)\n");
    return kExitFailure;
  }
  std::string text = vlcp::ofp::print_any(bytes.span());
  std::printf("%s\n", text.c_str());
  // Failure when the bytes are not one well-formed message (an ERROR echoing a truncated
  // request is well formed, though its text shows the truncation).
  return vlcp::ofp::validate_message(bytes.span()) ? kExitFailure : 0;
}

// The pipeline's table names by id, from vlcpd's openflowmanager/lastacquiredtables.
vlcp::Result<std::map<int, std::string>> table_names(const vlcp::cli::ApiEndpoint& at) {
  auto o = vlcp::cli::call_result(at, "GET", "/openflowmanager/lastacquiredtables");
  if (!o.ok()) return vlcp::make_error(vlcp::Errc::kUnavailable, "the table names could not be read");
  std::map<int, std::string> names;
  for (const auto& t : o.result[0]) names[t[1].get<int>()] = t[0].get<std::string>();
  return names;
}

int dump_flows(const std::vector<std::string>& all) {
  auto cli = vlcp::cli::parse_cli(all);
  if (!cli.ok()) return usage(stderr);
  const auto& args = cli->args;
  std::string target, table_arg;
  bool stats = true, names = false;
  uint8_t table = 0xff;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--no-stats") {
      stats = false;
    } else if (args[i] == "--names") {
      names = true;
    } else if (args[i] == "--table" && i + 1 < args.size()) {
      table_arg = args[++i];
    } else if (target.empty()) {
      target = args[i];
    } else {
      return usage(stderr);
    }
  }
  if (target.empty()) return usage(stderr);
  std::map<int, std::string> by_id;
  if (names) {
    auto n = table_names(cli->at);
    if (!n.ok()) {
      std::fprintf(stderr, "vlcpctl: dump-flows --names: %s\n", n.error().message().c_str());
      return vlcp::cli::kExitUnreachable;
    }
    by_id = std::move(*n);
  }
  if (!table_arg.empty()) {
    bool numeric = table_arg.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) table = static_cast<uint8_t>(std::stoi(table_arg));
    for (const auto& [id, name] : by_id)
      if (name == table_arg) table = static_cast<uint8_t>(id), numeric = true;
    if (!numeric) {
      std::fprintf(stderr, "vlcpctl: dump-flows: no table '%s' (table names need --names)\n",
                   table_arg.c_str());
      return vlcp::cli::kExitUsage;
    }
  }
  auto client = vlcp::cli::SwitchClient::connect(target, std::chrono::seconds(5));
  if (!client.ok()) {
    std::fprintf(stderr, "vlcpctl: dump-flows: %s\n", client.error().message().c_str());
    return kExitFailure;
  }
  vlcp::InlineBuffer<256> request;
  vlcp::ofp::FlowStatsRequest q;
  q.table_id = table;
  vlcp::ofp::encode_flow_stats_request(request, (*client)->next_xid(), q);
  std::vector<std::string> lines;
  std::set<int> tables_seen;
  vlcp::Status st = (*client)->transact(request.span(), [&](const vlcp::ofp::Frame& f) -> vlcp::Status {
    auto mp = vlcp::ofp::decode_multipart(f);
    if (!mp.ok() || mp->type != vlcp::ofp::MultipartType::kFlow)
      return vlcp::make_error(vlcp::Errc::kMalformed, "unexpected reply to a flow stats request");
    auto flows = vlcp::ofp::decode_flow_stats_reply(mp->body);
    if (!flows.ok())
      return vlcp::make_error(vlcp::Errc::kMalformed, "flow stats: " + vlcp::ofp::error_name(flows.error()));
    for (const auto& fs : *flows) {
      std::string line = " ";
      vlcp::ofp::format_flow_stats(line, fs, stats);
      if (auto n = by_id.find(fs.table_id); n != by_id.end()) {  // the table by its name
        std::string num = "table=" + std::to_string(fs.table_id) + ",";
        if (auto at = line.find(num); at != std::string::npos)
          line.replace(at, num.size(), "table=" + n->second + ",");
        else  // (OVS leaves table 0 out): after the cookie, where the table would be
          line.insert(line.rfind(" cookie=", 0) == 0 ? line.find(", ") + 2 : 1, "table=" + n->second + ", ");
        if (tables_seen.insert(fs.table_id).second)
          lines.push_back("# " + n->second + " (table " + std::to_string(fs.table_id) + ")");
      }
      lines.push_back(std::move(line));
    }
    return {};
  });
  if (!st.ok()) {
    std::fprintf(stderr, "vlcpctl: dump-flows: %s\n", st.message().c_str());
    return kExitFailure;
  }
  for (const auto& l : lines) std::printf("%s\n", l.c_str());
  return 0;
}

// Sends a multipart request with an empty body and prints each reply as ofp-print does.
int multipart_verb(const std::string& verb, const std::vector<std::string>& args,
                   vlcp::ofp::MultipartType type) {
  if (args.size() != 1) return usage(stderr);
  auto client = vlcp::cli::SwitchClient::connect(args[0], std::chrono::seconds(5));
  if (!client.ok()) {
    std::fprintf(stderr, "vlcpctl: %s: %s\n", verb.c_str(), client.error().message().c_str());
    return kExitFailure;
  }
  vlcp::InlineBuffer<64> request;
  vlcp::ofp::encode_multipart_request(request, (*client)->next_xid(), type, vlcp::ByteSpan());
  vlcp::Status st = (*client)->transact(request.span(), [&](const vlcp::ofp::Frame& f) -> vlcp::Status {
    std::printf("%s\n", vlcp::ofp::print_message(f.bytes).c_str());
    return {};
  });
  if (!st.ok()) {
    std::fprintf(stderr, "vlcpctl: %s: %s\n", verb.c_str(), st.message().c_str());
    return kExitFailure;
  }
  return 0;
}

int ofp_print_pcap(const std::string& path) {
  std::string error;
  int failures = 0;
  bool ok = vlcp::cli::for_each_openflow_message(
      path,
      [&](const vlcp::cli::StreamMessage& m) {
        std::string text = vlcp::ofp::print_message(m.bytes);
        if (text.find("***") != std::string::npos) ++failures;
        std::printf("%.6f %s > %s\n%s\n", m.timestamp, m.from.c_str(), m.to.c_str(), text.c_str());
      },
      &error);
  if (!ok) {
    std::fprintf(stderr, "vlcpctl: ofp-print: %s\n", error.c_str());
    return kExitFailure;
  }
  return failures ? kExitFailure : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage(stderr);
  if (args[0] == "--help" || args[0] == "-h") return usage(stdout);
  if (args[0] == "--version") {
    std::printf("vlcpctl %s\n", vlcp::kVersion);
    return 0;
  }
  if (args[0] == "--man") {
    if (args.size() != 1) return usage(stderr);
    std::printf("%s", vlcp::cli::man_page().c_str());
    return 0;
  }
  if (args[0] == "--completion" || args[0] == "completion") {
    std::string script = args.size() == 2 ? vlcp::cli::completion_script(args[1]) : "";
    if (script.empty()) {
      std::fprintf(stderr, "vlcpctl: %s bash (the one shell it knows)\n", args[0].c_str());
      return kExitUsage;
    }
    std::printf("%s", script.c_str());
    return 0;
  }
  if (args[0] == "profile") return vlcp::cli::profile_verb({args.begin() + 1, args.end()});
  if (args[0] == "ofp-print") {
    if (args.size() == 3 && args[1] == "--pcap") return ofp_print_pcap(args[2]);
    if (args.size() >= 2 && args[1] != "--pcap") return ofp_print_hex({args.begin() + 1, args.end()});
    return usage(stderr);
  }
  // The API verbs (and dump-flows, whose --names asks vlcpd) take the global options (--api URL,
  // --token T, --cacert F, --config F, --json) anywhere, before the verb too.
  size_t verb = 0;
  while (verb < args.size() && (args[verb] == "--json" || args[verb] == "--api" || args[verb] == "--token" ||
                                args[verb] == "--config" || args[verb] == "--cacert"))
    verb += args[verb] == "--json" ? 1 : 2;
  if (verb < args.size()) {
    std::vector<std::string> rest(args.begin(), args.begin() + verb);
    rest.insert(rest.end(), args.begin() + verb + 1, args.end());
    if (args[verb] == "dump-flows") return dump_flows(rest);
    if (args[verb] == "db") return vlcp::cli::db_verb(rest);
    if (args[verb] == "trace") return vlcp::cli::trace_verb(rest);
    if (vlcp::cli::is_model_verb(args[verb])) {
      rest.insert(rest.begin(), args[verb]);
      return vlcp::cli::model_verb(rest);
    }
  }
  if (args[0] == "dump-ports-desc")
    return multipart_verb(args[0], {args.begin() + 1, args.end()}, vlcp::ofp::MultipartType::kPortDesc);
  std::fprintf(stderr, "vlcpctl: unknown command '%s' (see vlcpctl --help)\n",
               args[std::min(verb, args.size() - 1)].c_str());
  return kExitUsage;
}
