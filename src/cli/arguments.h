// Command-line parsing for the native `modelcut` executable, with the rules
// of the Python command's argparse parser so that both accept the same
// words and refuse bad ones with the same line: options in any order, long
// options abbreviated to any unique prefix, --name=value, "--" ending the
// options, and usage mistakes reported as one line (exit 2).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modelcut::cli {

// The most characters any value may have, an option's or a positional's,
// checked before it is used: a path has at most PATH_MAX (4096) bytes, and
// no name, size or count needs more. It bounds what one word can cost:
// matching a name to the model's is quadratic in its length. cli.py's
// MAX_VALUE_LENGTH is the same rule, with the same words.
constexpr std::size_t kMaxValueLength = 4096;

struct OptionSpec {
  std::vector<std::string> names;  // "-o", "--output"
  std::string dest;                // key in Arguments
  enum class Kind { Flag, Value, Append } kind = Kind::Flag;
  std::string metavar;
  std::string help;
  std::vector<std::string> choices;  // empty: any value
  bool integer = false;              // argparse's type=int
  bool required = false;
  std::string group;  // set on the first option of an argument group: its title in --help
};

struct PositionalSpec {
  std::string dest;
  std::string metavar;
  bool one_or_more = false;  // nargs="+"
  std::string help;
};

struct CommandSpec {
  std::string name;  // "split"
  std::string help;  // one line, for the description when there is none
  std::string description;
  std::vector<PositionalSpec> positionals;
  std::vector<OptionSpec> options;  // -h/--help is added by the parser
};

struct Arguments {
  std::map<std::string, std::vector<std::string>> values;  // by dest; flags hold one empty string
  bool help = false;                                       // -h/--help: print help_text() and exit 0
  std::vector<std::string> unrecognized;

  bool flag(const std::string& dest) const { return values.count(dest) > 0; }
  std::optional<std::string> value(const std::string& dest) const;  // the last one given
  std::vector<std::string> all(const std::string& dest) const;
};

// A usage mistake: printed as "modelcut: error: <command>: <message> (see
// modelcut <command> --help)", or for unrecognized arguments by the top-level
// parser, as argparse does.
struct UsageError {
  std::string command;  // empty for the top-level parser
  std::string message;
};

// Parses the words after the command name. Throws UsageError.
Arguments parse_command(const CommandSpec& spec, const std::vector<std::string>& words);

// "usage: modelcut split ..." and the option list, in argparse's layout.
std::string help_text(const CommandSpec& spec);

}  // namespace modelcut::cli
