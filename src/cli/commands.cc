#include "cli/commands.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/version.h"
#include "cli/model_verbs.h"
#include "schema/kinds.h"

namespace vlcp::cli {
namespace {

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& words, const std::string& sep = " ") {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

// The model's nouns (schema/kinds.h), each with its actions and the flags its columns give.
struct Noun {
  std::string name;
  std::vector<std::string> actions;
  std::vector<std::string> flags;
};
std::vector<Noun> nouns() {
  std::vector<Noun> out;
  for (const auto& k : schema::kKinds) {
    if (k.cli.noun.empty()) continue;
    Noun n{std::string(k.cli.noun), {}, {}};
    for (const auto& a : object_actions())
      if (a.noun == n.name) n.actions.push_back(a.action);
    for (const auto& c : split_words(std::string(k.cli.columns))) n.flags.push_back("--" + c);
    if (!k.cli.network.empty()) n.flags.push_back("--network");
    out.push_back(std::move(n));
  }
  return out;
}

std::vector<CommandDecl> build() {
  std::vector<CommandDecl> out;
  out.push_back({"ofp-print", "HEX...", "decode an OpenFlow 1.3 message given in hex", ""});
  out.push_back({"ofp-print",
                 "--pcap FILE",
                 "decode every OpenFlow message in a capture",
                 "TCP port 6653 or 6633, both directions, reassembled.",
                 {{"--pcap", "FILE", "the capture (pcap) to read", "<file>"}}});
  out.push_back({"dump-flows",
                 "SWITCH [--no-stats] [--table N|NAME] [--names]",
                 "the switch's flows, as ovs-ofctl dump-flows writes them",
                 "--names: tables by name, grouped (from vlcpd's --api); SWITCH is unix:PATH (e.g. "
                 "/var/run/openvswitch/br0.mgmt) or tcp:HOST:PORT.",
                 {{"--no-stats", "", "leave out the packet and byte counters and the durations"},
                  {"--table", "N|NAME", "only this table (a name needs --names)"},
                  {"--names", "", "tables by name, grouped, from vlcpd's pipeline (asks vlcpd's --api)"}},
                 "",
                 true});
  out.push_back(
      {"dump-ports-desc", "SWITCH", "the switch's ports, as ovs-ofctl dump-ports-desc writes them", ""});

  // The network model: one entry for every noun and action (their names are the model's).
  std::vector<Noun> ns = nouns();
  std::vector<std::string> names;
  for (const auto& n : ns) names.push_back(n.name);
  CommandDecl model{"OBJECT ACTION",
                    "[ID] [--PARAM VALUE | PARAM=VALUE ...]",
                    "the network model; OBJECT is one of " + join(names, ", "),
                    "ACTION is create, update ID, delete ID, list [ID] (filters: any --PARAM), or "
                    "create-batch|update-batch|delete-batch FILE|- (a JSON list, one transaction); routers "
                    "also add-interface, remove-interface, interfaces ID. --network means the object's "
                    "network (logical or physical), --mac and --ip the addresses; values starting with [ or "
                    "{ are JSON. e.g. vlcpctl logicalport create --network N --mac M",
                    {},
                    "",
                    true};
  for (auto& n : ns) {
    model.paths.push_back({{n.name}, {}, join(n.actions)});
    for (const auto& o : api_options()) n.flags.push_back(o.name);
    for (const auto& a : n.actions)
      model.paths.push_back(
          {{n.name, a}, n.flags, a.size() > 6 && a.substr(a.size() - 6) == "-batch" ? "<file>" : ""});
  }
  out.push_back(std::move(model));

  std::string modules = join(api_modules());
  out.push_back({"call",
                 "MODULE METHOD [PARAM=VALUE ...]",
                 "any WebAPI method; the result as JSON",
                 "",
                 {},
                 modules,
                 true});
  out.push_back({"methods", "[MODULE]", "the methods each module offers", "", {}, modules, true});
  out.push_back({"module list", "", "vlcpd's modules (VLCP's manager) and their state", "", {}, "", true});
  out.push_back({"module active", "", "the modules running", "", {}, "", true});
  out.push_back({"module load", "NAME", "load a module (and what it needs)", "", {}, "", true});
  out.push_back({"module unload", "NAME", "stop a module (and what needs it)", "", {}, "", true});
  out.push_back({"ovsdb systemids", "", "the system-ids the OVSDB connection sees", "", {}, "", true});
  out.push_back({"ovsdb bridges", "", "the bridges the OVSDB connection sees", "", {}, "", true});
  out.push_back({"tables", "", "the pipeline's flow tables: number, name, path", "", {}, "", true});
  out.push_back(
      {"trace",
       "FROM [TO] [--proto P] [--dport N] [--live] [OPTION...]",
       "why can't FROM reach TO: the packet's path through the flow tables and one verdict",
       "FROM is a logical port (or SERVER/INTERFACE); TO a logical port, an IPv4 address or a MAC (none "
       "with --proto dhcp). Servers are followed through ObjectDB: each hop runs on its own server. "
       "vlcpd builds the packet from the model and runs ofproto/trace on FROM's bridge without a "
       "packet (no side effects); each step is named by table, app and model object. The last "
       "line is the verdict; --json prints the result with verdict.code. --live then injects marked "
       "packets (DSCP 1, a nonce) on FROM's switch and reports where every server's observation flows saw "
       "them (run it on FROM's server; icmp, tcp, udp); the live verdict decides the exit code. Exit 0 when "
       "delivered, answered or taken by vlcpd (DHCP), 1 for any other verdict.",
       {{"--proto", "P", "icmp (default), tcp, udp, arp or dhcp", "icmp tcp udp arp dhcp"},
        {"--dport", "N", "the TCP or UDP destination port"},
        {"--sport", "N", "the TCP or UDP source port (default 49152)"},
        {"--ttl", "N", "the IP TTL (default 64)"},
        {"--server", "S", "FROM's server when FROM is bound on two (a move)"},
        {"--timeout", "S", "the whole trace's deadline in seconds (default 15)"},
        {"--live", "", "inject marked packets and report the path they really took"},
        {"--count", "N", "--live: packets to inject, 1-10 (default 3)"},
        {"--raw", "", "append OVS's ofproto/trace text"},
        {"--verbose", "", "show the tables' default gotos and the cookies"},
        {"--network", "ID",
         "FROM SERVER/INTERFACE (an uplink or tunnel): the network whose packet it brings in"},
        {"--src-mac", "MAC", "with --network: the sender's MAC"},
        {"--src-ip", "IP", "with --network: the sender's IPv4 address"},
        {"--tun-src", "IP", "with --network on a VXLAN network: the sending VTEP (default another node's)"}},
       "",
       true});

  out.push_back(
      {"db get", "KEY...", "each key's value and version", "--json: the records as JSON.", {}, "", true});
  out.push_back({"db list", "[PREFIX]", "the keys that exist", "", {}, "", true});
  out.push_back({"db watch",
                 "KEY... [--count N]",
                 "print each change of the keys as it happens",
                 "N changes, or until interrupted.",
                 {{"--count", "N", "stop after N changes"}},
                 "",
                 true});
  out.push_back({"db dump",
                 "[PREFIX]",
                 "every key and value as one JSON object (to move between stores)",
                 "",
                 {},
                 "",
                 true});
  out.push_back({"db restore",
                 "FILE|-",
                 "write a dump's keys and values (in transactions of 64 keys)",
                 "",
                 {},
                 "<file>",
                 true});

  const std::vector<OptionDecl> profile_options = {
      {"--root", "DIR",
       "the machine's root: its /sys, /proc and /etc are read and written under DIR "
       "(default /)",
       "<dir>"},
      {"--profiles", "DIR",
       "where the profile declarations are (default $VLCP_PROFILE_DIR, /etc/vlcp/profiles, "
       "/usr/share/vlcp/profiles)",
       "<dir>"}};
  auto with = [&](std::vector<OptionDecl> extra) {
    extra.insert(extra.begin(), profile_options.begin(), profile_options.end());
    return extra;
  };
  out.push_back({"profile list", "", "the perf profiles' names", "", with({})});
  out.push_back(
      {"profile show", "[NAME] [--root DIR] [--tuned]",
       "a perf profile's declaration and the values it derives for this machine",
       "Without NAME: every profile, and whether this machine can take it.",
       with({{"--tuned", "",
              "print the profile's kernel side for this machine as a tuned profile (tuned.conf: sysctl, "
              "boot loader command line, scheduler and irqbalance isolation)"}}),
       "<profiles>"});
  out.push_back(
      {"profile apply", "NAME [--root DIR] [--dry-run]", "tune the machine with a perf profile",
       "Derives every value from the machine (online CPUs, NUMA nodes, memory, hugepage sizes) and "
       "refuses, saying what it needs, when the machine cannot give it. Writes the kernel command line "
       "(/etc/default/grub.d/vlcp.cfg, or /etc/kernel/cmdline when it exists), "
       "/etc/sysctl.d/90-vlcp-profile.conf, "
       "the hugepage mount unit, vlcpd's drop-in (/etc/systemd/system/vlcpd.service.d/perf-profile.conf) and "
       "its keys in /etc/vlcp/vlcp.conf; sets OVS's other_config with ovs-vsctl when the OVS database is "
       "reachable, else records it for the first boot (/etc/vlcp/profile-ovs.pending and "
       "vlcp-profile-ovs.service). Prints what to do next (update-grub, reboot, restarts).",
       with({{"--dry-run", "", "print what would be written and set, change nothing"}}), "<profiles>"});
  out.push_back(
      {"profile check", "NAME [--root DIR] [--configured]",
       "whether the running system matches a perf profile",
       "Exit 0 when it does; otherwise 1, with one line per setting that differs: what, expected, "
       "actual. --configured checks what apply wrote (what the next boot will run) instead.",
       with({{"--configured", "", "check the written configuration instead of the running system"}}),
       "<profiles>"});

  out.push_back({"completion",
                 "bash",
                 "a bash completion script: source <(vlcpctl completion bash)",
                 "The same as --completion bash.",
                 {},
                 "bash"});
  return out;
}

// Wraps text to `width` columns, each line after the first indented by `indent` spaces.
std::string wrap(const std::string& text, size_t indent, size_t first_column, size_t width = 96) {
  std::string out;
  size_t column = first_column;
  bool line_start = true;
  for (const auto& w : split_words(text)) {
    if (!line_start && column + 1 + w.size() > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_start = true;
    }
    if (!line_start) out += " ", ++column;
    out += w;
    column += w.size();
    line_start = false;
  }
  return out;
}

constexpr size_t kHelpColumn = 28;

std::string usage_entry(const CommandDecl& c) {
  std::string head = "  " + c.name + (c.args.empty() ? "" : " " + c.args);
  std::string out = head;
  if (head.size() + 2 <= kHelpColumn)
    out += std::string(kHelpColumn - head.size(), ' ');
  else
    out += "\n" + std::string(kHelpColumn, ' ');
  out += wrap(c.summary, kHelpColumn, kHelpColumn) + "\n";
  if (!c.help.empty()) out += std::string(kHelpColumn, ' ') + wrap(c.help, kHelpColumn, kHelpColumn) + "\n";
  return out;
}

std::string option_entry(const OptionDecl& o, size_t indent = 2) {
  std::string head = std::string(indent, ' ') + o.name + (o.arg.empty() ? "" : " " + o.arg);
  std::string out = head;
  if (head.size() + 2 <= kHelpColumn)
    out += std::string(kHelpColumn - head.size(), ' ');
  else
    out += "\n" + std::string(kHelpColumn, ' ');
  return out + wrap(o.help, kHelpColumn, kHelpColumn) + "\n";
}

// roff: a backslash is written \e, a hyphen \- (so that it stays an ASCII hyphen), and a line that
// would start with . or ' is protected by \&.
std::string roff(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// A synopsis or argument text: metavariables (UPPER words) in italics, literal words (commands,
// options) in bold, brackets and bars roman.
std::string roff_synopsis(const std::string& s) {
  auto cls = [](char c) {
    if ((c >= 'A' && c <= 'Z') || c == '_') return 1;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') return 2;
    return 0;
  };
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    int k = cls(s[i]);
    size_t j = i;
    while (j < s.size() && (cls(s[j]) == k || (k == 1 && s[j] >= '0' && s[j] <= '9'))) ++j;
    std::string run = roff(s.substr(i, j - i));
    out += k == 1 ? "\\fI" + run + "\\fR" : k == 2 ? "\\fB" + run + "\\fR" : run;
    i = j;
  }
  return out;
}

}  // namespace

const std::vector<CommandDecl>& commands() {
  static const std::vector<CommandDecl> table = build();
  return table;
}

const std::vector<OptionDecl>& top_options() {
  static const std::vector<OptionDecl> table = {
      {"--help", "", "show this help (-h too)"},
      {"--version", "", "show the version"},
      {"--man", "", "write the vlcpctl(1) man page (roff) on standard output"},
      {"--completion", "SHELL",
       "write a completion script for SHELL (bash): source <(vlcpctl --completion bash)", "bash"}};
  return table;
}

const std::vector<OptionDecl>& api_options() {
  static const std::vector<OptionDecl> table = {
      {"--api", "URL",
       "vlcpd's WebAPI, http://HOST:PORT or https://HOST:PORT (or $VLCP_API, or `api = URL` in the config "
       "file; default http://127.0.0.1:8081)"},
      {"--token", "TOKEN", "the API token (or $VLCP_TOKEN, or `token = TOKEN`)"},
      {"--cacert", "FILE",
       "https://: the CA vlcpd's certificate must chain to (or $VLCP_CACERT, or `cacert = FILE`)", "<file>"},
      {"--config", "FILE",
       "vlcpctl's config file (default $VLCPCTL_CONFIG, ~/.config/vlcp/vlcpctl.conf, /etc/vlcp/vlcpctl.conf)",
       "<file>"},
      {"--json", "", "the API's result as JSON"}};
  return table;
}

const std::vector<ExitStatus>& exit_statuses() {
  static const std::vector<ExitStatus> table = {
      {0, "success (profile check: the system matches the profile)"},
      {1,
       "failure: undecodable input, vlcpd refused the request (its message on stderr), a key that does not "
       "exist for db get, a profile the machine cannot take, a setting that differs for profile check"},
      {2, "usage error"},
      {3, "vlcpd cannot be reached"}};
  return table;
}

std::vector<CompletionPath> completion_paths() {
  std::vector<CompletionPath> out;
  for (const auto& c : commands()) {
    if (!c.paths.empty()) {
      out.insert(out.end(), c.paths.begin(), c.paths.end());
      continue;
    }
    CompletionPath p{split_words(c.name), {}, c.positional};
    for (const auto& o : c.options) p.options.push_back(o.name);
    if (c.api)
      for (const auto& o : api_options()) p.options.push_back(o.name);
    // Two declarations of one command (ofp-print HEX, ofp-print --pcap FILE) share a path.
    auto same =
        std::find_if(out.begin(), out.end(), [&](const CompletionPath& q) { return q.words == p.words; });
    if (same != out.end()) {
      for (const auto& o : p.options)
        if (std::find(same->options.begin(), same->options.end(), o) == same->options.end())
          same->options.push_back(o);
      if (same->positional.empty()) same->positional = p.positional;
    } else {
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::string usage_text() {
  std::string out = "Usage: vlcpctl COMMAND [ARGS]\nCommands:\n";
  for (const auto& c : commands()) out += usage_entry(c);
  out += "Options:\n";
  for (const auto& o : top_options()) out += option_entry(o);
  out += "Options of every API verb (anywhere on the line):\n";
  for (const auto& o : api_options()) out += option_entry(o);
  out += "Exit status: ";
  std::string status;
  for (const auto& e : exit_statuses()) status += " " + std::to_string(e.code) + " " + e.meaning + ";";
  status.back() = '.';
  out += wrap(status, 2, 13) + "\n";
  return out;
}

std::string usage_of(const std::string& first) {
  std::string out;
  for (const auto& c : commands())
    if (c.name == first || c.name.rfind(first + " ", 0) == 0) out += usage_entry(c);
  return out;
}

std::string man_page() {
  std::string out;
  out += ".\\\" vlcpctl(1), written by vlcpctl --man from its command declarations (src/cli/commands.cc).\n";
  out += ".TH VLCPCTL 1 \"\" \"vlcpctl " + roff(kVersion) + "\" \"VLCP\"\n";
  out += ".nh\n.SH NAME\nvlcpctl \\- the VLCP controller's command\\-line tool\n";
  out += ".SH SYNOPSIS\n";
  for (const auto& c : commands()) {
    out += ".SY vlcpctl\n";
    out += roff_synopsis(c.name) + (c.args.empty() ? "" : " " + roff_synopsis(c.args)) + "\n.YS\n";
  }
  out +=
      ".SY vlcpctl\n\\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR | \\fB\\-\\-man\\fR | "
      "\\fB\\-\\-completion\\fR \\fIbash\\fR\n.YS\n";
  out +=
      ".SH DESCRIPTION\n"
      "\\fBvlcpctl\\fR is the operator's tool for \\fBvlcpd\\fR, the VLCP SDN controller for Open vSwitch.\n"
      "Offline commands decode OpenFlow (\\fBofp\\-print\\fR) and ask a switch directly\n"
      "(\\fBdump\\-flows\\fR, \\fBdump\\-ports\\-desc\\fR); the API verbs ask vlcpd's WebAPI (the network\n"
      "model, ObjectDB, modules); \\fBprofile\\fR tunes the server with a perf profile.\n";
  out += ".SH COMMANDS\n";
  for (const auto& c : commands()) {
    out += ".TP\n" + roff_synopsis(c.name) + (c.args.empty() ? "" : " " + roff_synopsis(c.args)) + "\n";
    out += roff(c.summary) + (c.summary.empty() || c.summary.back() == '.' ? "" : ".") + "\n";
    if (!c.help.empty()) out += roff(c.help) + "\n";
    for (const auto& o : c.options) {
      out += ".RS\n.TP\n\\fB" + roff(o.name) + "\\fR" +
             (o.arg.empty() ? "" : " \\fI" + roff(o.arg) + "\\fR") + "\n" + roff(o.help) + "\n.RE\n";
    }
    if (c.api) out += ".RS\nTakes the API options (see \\fBOPTIONS\\fR).\n.RE\n";
  }
  out += ".SH OPTIONS\n";
  for (const auto& o : top_options())
    out += ".TP\n\\fB" + roff(o.name) + "\\fR" + (o.arg.empty() ? "" : " \\fI" + roff(o.arg) + "\\fR") +
           "\n" + roff(o.help) + "\n";
  out += ".PP\nThe API verbs take these anywhere on the line, before the verb too:\n";
  for (const auto& o : api_options())
    out += ".TP\n\\fB" + roff(o.name) + "\\fR" + (o.arg.empty() ? "" : " \\fI" + roff(o.arg) + "\\fR") +
           "\n" + roff(o.help) + "\n";
  out += ".SH EXIT STATUS\n";
  for (const auto& e : exit_statuses())
    out += ".TP\n.B " + std::to_string(e.code) + "\n" + roff(e.meaning) + "\n";
  out +=
      ".SH FILES\n.TP\n.I /etc/vlcp/vlcpctl.conf\nvlcpctl's config file (api, token, cacert).\n"
      ".TP\n.I /usr/share/vlcp/profiles\nthe perf profiles' declarations.\n";
  out += ".SH SEE ALSO\n.BR vlcpd (8),\n.BR ovs\\-vsctl (8),\n.BR ovs\\-ofctl (8)\n";
  return out;
}

std::string completion_script(const std::string& shell) {
  if (shell != "bash") return "";
  std::vector<CompletionPath> paths = completion_paths();
  // Words a value of an option is completed with, by option.
  std::map<std::string, std::string> values;
  auto note = [&](const OptionDecl& o) {
    if (!o.arg.empty()) values[o.name] = o.value_words.empty() ? "<none>" : o.value_words;
  };
  for (const auto& c : commands())
    for (const auto& o : c.options) note(o);
  for (const auto& o : api_options()) note(o);
  for (const auto& o : top_options()) note(o);

  auto complete_with = [](const std::string& what) -> std::string {
    if (what == "<file>") return "COMPREPLY=($(compgen -f -- \"$cur\"))";
    if (what == "<dir>") return "COMPREPLY=($(compgen -d -- \"$cur\"))";
    if (what == "<profiles>")
      return "COMPREPLY=($(compgen -W \"$(vlcpctl profile list 2>/dev/null)\" -- \"$cur\"))";
    if (what == "<none>") return "COMPREPLY=()";
    return "COMPREPLY=($(compgen -W \"" + what + "\" -- \"$cur\"))";
  };

  std::string out =
      "# bash completion for vlcpctl, written by vlcpctl --completion bash from its command declarations.\n"
      "# source <(vlcpctl --completion bash), or install as /usr/share/bash-completion/completions/vlcpctl\n"
      "_vlcpctl() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i w words=\"\"\n"
      "  # The command's words so far: options and their values left out.\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=${COMP_WORDS[i]}\n"
      "    case $w in\n";
  std::vector<std::string> valued;
  for (const auto& [name, v] : values) valued.push_back(name);
  out += "      " + join(valued, "|") + ") ((i++)) ;;\n";
  out +=
      "      -*) ;;\n"
      "      *) words=\"$words $w\" ;;\n"
      "    esac\n"
      "  done\n"
      "  words=${words# }\n"
      "  case $prev in\n";
  for (const auto& [name, v] : values) out += "    " + name + ") " + complete_with(v) + "; return ;;\n";
  out += "  esac\n";

  // The words that may follow each path, and its options and positional words.
  std::map<std::string, std::set<std::string>> next;
  std::map<std::string, std::string> options, positional;
  std::set<std::string> top;
  for (const auto& p : paths) {
    for (size_t i = 0; i < p.words.size(); ++i) {
      std::string before = join({p.words.begin(), p.words.begin() + static_cast<long>(i)});
      if (i == 0)
        top.insert(p.words[0]);
      else
        next[before].insert(p.words[i]);
    }
    std::string at = join(p.words);
    std::string& o = options[at];
    for (const auto& x : p.options)
      if (o.find(x + " ") == std::string::npos) o += x + " ";
    if (!p.positional.empty()) positional[at] = p.positional;
  }
  std::string first = join({top.begin(), top.end()});
  for (const auto& o : top_options()) first += " " + o.name;
  for (const auto& o : api_options()) first += " " + o.name;
  out += "  case $words in\n";
  out += "    \"\") " + complete_with(first) + " ;;\n";
  std::set<std::string> keys;
  for (const auto& [k, v] : next) keys.insert(k);
  for (const auto& [k, v] : options) keys.insert(k);
  // Longer paths first: "db get"* must match before "db "*.
  std::vector<std::string> at_all(keys.begin(), keys.end());
  std::stable_sort(at_all.begin(), at_all.end(), [](const std::string& a, const std::string& b) {
    return std::count(a.begin(), a.end(), ' ') > std::count(b.begin(), b.end(), ' ');
  });
  for (const auto& k : at_all) {
    std::string words_here = next.count(k) ? join({next[k].begin(), next[k].end()}) : "";
    std::string opts = options.count(k) ? options[k] : "";
    if (!opts.empty() && opts.back() == ' ') opts.pop_back();
    out += "    \"" + k + "\"|\"" + k + " \"*)\n";
    // A path with further words completes them at its next word; otherwise its positional.
    if (!words_here.empty()) {
      out += "      if [ \"$words\" = \"" + k + "\" ]; then " + complete_with(words_here) + "; return; fi\n";
    }
    out += "      if [[ $cur == -* ]]; then " + complete_with(opts) + "; return; fi\n";
    if (positional.count(k) && positional[k] != words_here)
      out += "      " + complete_with(positional[k]) + " ;;\n";
    else
      out += "      COMPREPLY=() ;;\n";
  }
  out += "    *) COMPREPLY=() ;;\n  esac\n}\ncomplete -F _vlcpctl vlcpctl\n";
  return out;
}

}  // namespace vlcp::cli
