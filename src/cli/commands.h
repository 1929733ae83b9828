// vlcpctl's commands, declared once: name, arguments, options, a one-line and a long help, and
// what completes their words. `vlcpctl --help`, the vlcpctl(1) man page (`vlcpctl --man`) and
// the bash completion (`vlcpctl --completion bash`) are all derived from this table; the model's
// nouns and actions come from schema/kinds.h through model_verbs.h.
#pragma once

#include <string>
#include <vector>

namespace vlcp::cli {

struct OptionDecl {
  std::string name;  // "--table"
  std::string arg;   // "N|NAME", "" for a flag
  std::string help;
  // What completes the option's value: "" nothing, "<file>", "<dir>", or a word list.
  std::string value_words = {};
};

// One concrete path of words a completion walks (the model's OBJECT ACTION expands to one per
// noun and action): the words, the options offered after them, and what completes positionals.
struct CompletionPath {
  std::vector<std::string> words;
  std::vector<std::string> options;
  std::string positional;  // "" nothing, "<file>", "<dir>", "<profiles>", or a word list
};

struct CommandDecl {
  std::string name;     // its words: "ofp-print", "db get", "OBJECT ACTION"
  std::string args;     // what follows the name in the synopsis
  std::string summary;  // one line
  std::string help;     // the rest, one paragraph ("" when the summary says all)
  std::vector<OptionDecl> options = {};
  std::string positional = {};             // as CompletionPath::positional
  bool api = false;                        // takes the global API options (--api, --token, ...)
  std::vector<CompletionPath> paths = {};  // when the name's words are placeholders
};

const std::vector<CommandDecl>& commands();
// vlcpctl's own options (--help, --version, --man, --completion) and the API verbs' options.
const std::vector<OptionDecl>& top_options();
const std::vector<OptionDecl>& api_options();
struct ExitStatus {
  int code;
  std::string meaning;
};
const std::vector<ExitStatus>& exit_statuses();

// The concrete completion paths of every command (the declared ones, or the name's words).
std::vector<CompletionPath> completion_paths();

// `vlcpctl --help`: every command, wrapped at 96 columns.
std::string usage_text();
// The usage lines of the commands whose name starts with `first` ("db"), for its errors.
std::string usage_of(const std::string& first);
// `vlcpctl --man`: vlcpctl(1) in roff (man macros).
std::string man_page();
// `vlcpctl --completion bash`; "" for a shell we do not know.
std::string completion_script(const std::string& shell);

}  // namespace vlcp::cli
