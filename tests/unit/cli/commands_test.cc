// vlcpctl's command declarations: every command reaches --help, the man page and the bash
// completion; the man page renders without a groff warning; the completion, driven as bash
// drives it (COMP_WORDS, COMP_CWORD), offers every command, subcommand and option.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "cli/commands.h"

namespace vlcp::cli {
namespace {

// Runs a shell command line; its stdout (and stderr when `with_stderr`), and its exit status.
std::string shell(const std::string& command, int* status = nullptr) {
  FILE* p = popen(command.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/vlcpctl-test.XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    path = tmpl;
    std::ofstream(path) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

bool have(const std::string& program) {
  int status = 0;
  shell("command -v " + program + " >/dev/null 2>&1", &status);
  return status == 0;
}

TEST(Commands, EveryCommandIsInTheHelp) {
  std::string help = usage_text();
  for (const auto& c : commands())
    EXPECT_NE(help.find("  " + c.name + (c.args.empty() ? "" : " " + c.args)), std::string::npos) << c.name;
  for (const auto& o : top_options()) EXPECT_NE(help.find("  " + o.name), std::string::npos) << o.name;
  for (const auto& o : api_options()) EXPECT_NE(help.find("  " + o.name), std::string::npos) << o.name;
  std::string flat;  // the wrapped text as one line
  for (char c : help)
    if (!((c == ' ' || c == '\n') && !flat.empty() && flat.back() == ' ')) flat += c == '\n' ? ' ' : c;
  for (const auto& e : exit_statuses())
    EXPECT_NE(flat.find(std::to_string(e.code) + " " + e.meaning), std::string::npos) << e.code;
  // No line longer than the wrap width (a long word alone may be).
  std::stringstream lines(help);
  for (std::string line; std::getline(lines, line);)
    EXPECT_TRUE(line.size() <= 96 || line.find(' ', 30) == std::string::npos) << line;
}

TEST(Commands, TheModelsNounsAreInTheHelp) {
  std::string help = usage_text();
  for (const char* noun : {"logicalport", "logicalnetwork", "physicalnetwork", "subnet", "router"})
    EXPECT_NE(help.find(noun), std::string::npos) << noun;
}

TEST(Commands, UsageOfAGroupHasOnlyItsCommands) {
  std::string db = usage_of("db");
  EXPECT_NE(db.find("db get KEY..."), std::string::npos);
  EXPECT_NE(db.find("db restore FILE|-"), std::string::npos);
  EXPECT_EQ(db.find("dump-flows"), std::string::npos);
}

// The man page rendered as plain text (groff -Tascii), every command in its sections.
TEST(Commands, ManPageHasEveryCommandAndSection) {
  if (!have("groff")) GTEST_SKIP() << "groff is not installed (package groff)";
  TempFile page(man_page());
  std::string text = shell("groff -man -Tascii " + page.path + " 2>/dev/null | col -b");
  for (const char* section : {"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS"})
    EXPECT_NE(text.find("\n" + std::string(section) + "\n"), std::string::npos) << section;
  // groff may break a long line anywhere between words: compare with the whitespace squeezed.
  auto squeeze = [](const std::string& s) {
    std::string out;
    for (char c : s)
      if (!(c == ' ' || c == '\n' || c == '\t') || (!out.empty() && out.back() != ' '))
        out += (c == '\n' || c == '\t') ? ' ' : c;
    return out;
  };
  std::string flat = squeeze(text);
  size_t commands_at = flat.find(" COMMANDS ");
  ASSERT_NE(commands_at, std::string::npos);
  for (const auto& c : commands()) {
    EXPECT_NE(flat.find("vlcpctl " + c.name), std::string::npos) << "SYNOPSIS: " << c.name;
    EXPECT_NE(flat.find(c.name, commands_at), std::string::npos) << "COMMANDS: " << c.name;
    for (const auto& o : c.options) EXPECT_NE(flat.find(o.name, commands_at), std::string::npos) << o.name;
  }
  for (const auto& o : api_options()) EXPECT_NE(flat.find(o.name, commands_at), std::string::npos) << o.name;
  for (const auto& o : top_options()) EXPECT_NE(flat.find(o.name, commands_at), std::string::npos) << o.name;
}

TEST(Commands, ManPageHasNoGroffWarning) {
  if (!have("groff")) GTEST_SKIP() << "groff is not installed (package groff)";
  TempFile page(man_page());
  int status = 0;
  std::string warnings = shell("groff -man -Tutf8 -ww " + page.path + " 2>&1 >/dev/null", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(warnings, "");
  if (have("man")) {
    // (as tests/system/deb_package.sh checks the packaged page)
    warnings = shell("LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z " +
                     page.path + " 2>&1 >/dev/null");
    EXPECT_EQ(warnings, "");
  }
}

// Drives the completion as bash does: COMP_WORDS holds the line, COMP_CWORD the word being
// completed; _vlcpctl leaves its candidates in COMPREPLY. One bash runs every query.
class Completion : public ::testing::Test {
 protected:
  std::map<std::string, std::set<std::string>> complete(const std::vector<std::string>& lines) {
    TempFile script(completion_script("bash"));
    std::string driver = "source " + script.path + "\n";
    for (const auto& line : lines) {  // "WORD WORD ... |CUR"
      std::string words = line.substr(0, line.find('|')), cur = line.substr(line.find('|') + 1);
      driver += "COMP_WORDS=(vlcpctl " + words + "); COMP_CWORD=${#COMP_WORDS[@]}; COMP_WORDS+=('" + cur +
                "'); COMPREPLY=(); _vlcpctl; echo \"" + line + "=${COMPREPLY[*]}\"\n";
    }
    driver += "complete -p vlcpctl\n";
    TempFile d(driver);
    std::string out = shell("bash " + d.path + " 2>&1");
    std::map<std::string, std::set<std::string>> got;
    std::stringstream ss(out);
    for (std::string l; std::getline(ss, l);) {
      if (l.rfind("complete ", 0) == 0) {
        registration = l;
        continue;
      }
      auto eq = l.find('=');
      if (eq == std::string::npos) continue;
      std::stringstream ws(l.substr(eq + 1));
      for (std::string w; ws >> w;) got[l.substr(0, eq)].insert(w);
    }
    return got;
  }
  std::string registration;
};

TEST_F(Completion, ItIsRegisteredForVlcpctl) {
  complete({});
  EXPECT_EQ(registration, "complete -F _vlcpctl vlcpctl");
}

TEST_F(Completion, EveryCommandSubcommandAndOption) {
  std::vector<std::string> lines;
  auto paths = completion_paths();
  for (const auto& p : paths) {
    std::string before;
    for (size_t i = 0; i + 1 < p.words.size(); ++i) before += (before.empty() ? "" : " ") + p.words[i];
    std::string all = before + (before.empty() ? "" : " ") + p.words.back();
    lines.push_back(before + "|");
    lines.push_back(all + "|-");
  }
  auto got = complete(lines);
  for (const auto& p : paths) {
    std::string before;
    for (size_t i = 0; i + 1 < p.words.size(); ++i) before += (before.empty() ? "" : " ") + p.words[i];
    std::string all = before + (before.empty() ? "" : " ") + p.words.back();
    EXPECT_TRUE(got[before + "|"].count(p.words.back()))
        << "'" << p.words.back() << "' after '" << before << "'";
    for (const auto& o : p.options) EXPECT_TRUE(got[all + "|-"].count(o)) << o << " after '" << all << "'";
  }
  // And every declared command's first word at the start, with vlcpctl's own options.
  for (const auto& c : commands())
    if (c.paths.empty()) {
      EXPECT_TRUE(got["|"].count(c.name.substr(0, c.name.find(' ')))) << c.name;
    }
  for (const auto& o : top_options()) EXPECT_TRUE(got["|"].count(o.name)) << o.name;
}

TEST_F(Completion, OptionValuesAndPrefixes) {
  auto got = complete({"|lo", "--api http://x:1 db|", "db|w", "router|add", "completion|", "--completion|",
                       "profile apply --root|", "logicalport create|--net"});
  EXPECT_EQ(got["|lo"], (std::set<std::string>{"logicalnetwork", "logicalport"}));
  EXPECT_EQ(got["--api http://x:1 db|"], (std::set<std::string>{"get", "list", "watch", "dump", "restore"}));
  EXPECT_EQ(got["db|w"], (std::set<std::string>{"watch"}));
  EXPECT_EQ(got["router|add"], (std::set<std::string>{"add-interface"}));
  EXPECT_EQ(got["completion|"], (std::set<std::string>{"bash"}));
  EXPECT_EQ(got["--completion|"], (std::set<std::string>{"bash"}));
  EXPECT_EQ(got["logicalport create|--net"], (std::set<std::string>{"--network"}));
  // --root DIR completes directories: /tmp's subdirectories would do, but an empty word lists
  // the current directory's: only that it is not a command list.
  EXPECT_FALSE(got["profile apply --root|"].count("apply"));
}

TEST(Commands, CompletionForAnUnknownShellIsEmpty) {
  EXPECT_EQ(completion_script("fish"), "");
}

}  // namespace
}  // namespace vlcp::cli
