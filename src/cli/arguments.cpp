// argparse's rules for one sub-command, as the Python command builds it in
// cli.py (build_parser): see arguments.h.
#include "cli/arguments.h"

#include <cctype>

#include "cli/python_text.h"

namespace modelcut::cli {
namespace {

// argparse's _get_action_name: "-o/--output" for an option.
std::string action_name(const OptionSpec& option) {
  std::string name;
  for (const std::string& alias : option.names) name += (name.empty() ? "" : "/") + alias;
  return name;
}

bool is_integer(const std::string& text) {
  // Python's int(): surrounding whitespace, a sign, digits with single
  // underscores between them.
  std::size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  if (begin < end && (text[begin] == '+' || text[begin] == '-')) ++begin;
  if (begin == end) return false;
  bool digit_before = false;
  for (std::size_t i = begin; i < end; ++i) {
    if (std::isdigit(static_cast<unsigned char>(text[i]))) {
      digit_before = true;
    } else if (text[i] == '_' && digit_before && i + 1 < end) {
      digit_before = false;
    } else {
      return false;
    }
  }
  return digit_before;
}

// argparse's _negative_number_matcher, `^-\d+$|^-\d*\.\d+$`, scanned by
// hand (std::regex recurses once per character, and a long word overflowed
// the stack).
bool is_negative_number(const std::string& word) {
  if (word.size() < 2 || word[0] != '-') return false;
  const std::size_t dot = word.find('.', 1);
  const auto all_digits = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(word[i]))) return false;
    }
    return true;
  };
  if (dot == std::string::npos) return all_digits(1, word.size());
  return dot + 1 < word.size() && all_digits(1, dot) && all_digits(dot + 1, word.size());
}

class Parser {
 public:
  Parser(const CommandSpec& spec) : spec_(spec) {
    help_.names = {"-h", "--help"};
    help_.dest = "help";
  }

  Arguments parse(const std::vector<std::string>& words) {
    // Positionals fill from the first run of positional words, as argparse
    // matches them; later runs are unrecognized.
    bool positionals_done = false, in_run = false, options_ended = false;
    for (std::size_t i = 0; i < words.size(); ++i) {
      const std::string& word = words[i];
      if (!options_ended && word == "--") {
        options_ended = true;
        continue;
      }
      std::string explicit_value;
      bool has_explicit = false;
      const OptionSpec* option = options_ended ? nullptr : classify(word, explicit_value, has_explicit);
      if (option == nullptr && !options_ended && looks_like_option(word)) {
        if (in_run) {
          take_positionals();
          positionals_done = true, in_run = false;
        }
        arguments_.unrecognized.push_back(word);
        continue;
      }
      if (option == nullptr) {
        if (positionals_done) {
          arguments_.unrecognized.push_back(word);
        } else {
          in_run = true;
          run_.push_back(word);
        }
        continue;
      }
      if (in_run) {
        take_positionals();
        positionals_done = true, in_run = false;
      }
      if (option == &help_) {
        arguments_.help = true;
        return arguments_;
      }
      if (option->kind == OptionSpec::Kind::Flag) {
        if (has_explicit)
          fail("argument " + action_name(*option) + ": ignored explicit argument " + python_repr(explicit_value));
        arguments_.values[option->dest] = {""};
        continue;
      }
      std::string value;
      if (has_explicit) {
        value = explicit_value;
      } else {
        std::string ignored;
        bool ignored_explicit = false;
        if (i + 1 >= words.size() ||
            (!options_ended && (words[i + 1] == "--" || classify(words[i + 1], ignored, ignored_explicit) ||
                                looks_like_option(words[i + 1])))) {
          fail("argument " + action_name(*option) + ": expected one argument");
        }
        value = words[++i];
      }
      check_length(action_name(*option), value);
      if (option->integer && !is_integer(value)) {
        fail("argument " + action_name(*option) + ": invalid int value: " + python_repr(value));
      }
      if (!option->choices.empty()) check_choice(*option, value);
      auto& slot = arguments_.values[option->dest];
      if (option->kind == OptionSpec::Kind::Value) slot.clear();
      slot.push_back(value);
    }
    if (in_run) take_positionals();
    std::vector<std::string> missing;
    for (const PositionalSpec& positional : spec_.positionals) {
      if (!arguments_.values.count(positional.dest)) missing.push_back(positional.metavar);
    }
    for (const OptionSpec& option : spec_.options) {
      if (option.required && !arguments_.values.count(option.dest)) missing.push_back(action_name(option));
    }
    if (!missing.empty()) {
      std::string list;
      for (const std::string& name : missing) list += (list.empty() ? "" : ", ") + name;
      fail("the following arguments are required: " + list);
    }
    return arguments_;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const { throw UsageError{spec_.name, message}; }

  void check_length(const std::string& name, const std::string& value) const {
    const std::size_t length = value.size() > kMaxValueLength ? code_point_count(value) : value.size();
    if (length > kMaxValueLength) {
      fail("argument " + name + ": the value is " + std::to_string(length) + " characters long (at most " +
           std::to_string(kMaxValueLength) + ")");
    }
  }

  // argparse's _parse_optional: the option a word names (exactly, with
  // "=value", "-oVALUE", or by a unique prefix), or nullptr for a positional
  // word or an unknown option.
  const OptionSpec* classify(const std::string& word, std::string& value, bool& has_value) const {
    has_value = false;
    if (word.size() < 2 || word[0] != '-') return nullptr;
    if (const OptionSpec* exact = find(word)) return exact;
    const std::size_t equals = word.find('=');
    if (equals != std::string::npos) {
      if (const OptionSpec* named = find(word.substr(0, equals))) {
        value = word.substr(equals + 1), has_value = true;
        return named;
      }
    }
    if (word.rfind("--", 0) == 0) {
      const std::string prefix = word.substr(0, equals);
      std::vector<std::pair<const OptionSpec*, std::string>> matches;
      for_each_option([&](const OptionSpec& option) {
        for (const std::string& name : option.names) {
          if (name.rfind("--", 0) == 0 && name.rfind(prefix, 0) == 0) matches.push_back({&option, name});
        }
      });
      if (matches.size() > 1) {
        std::string names;
        for (const auto& match : matches) names += (names.empty() ? "" : ", ") + match.second;
        fail("ambiguous option: " + prefix + " could match " + names);
      }
      if (matches.size() == 1) {
        if (equals != std::string::npos) value = word.substr(equals + 1), has_value = true;
        return matches[0].first;
      }
      return nullptr;
    }
    // "-oDIR": a short option with its value attached.
    if (const OptionSpec* short_option = find(word.substr(0, 2))) {
      if (short_option->kind != OptionSpec::Kind::Flag) {
        value = word.substr(2), has_value = true;
        return short_option;
      }
    }
    return nullptr;
  }

  // Words argparse takes for an option it does not know: "-x", "--bogus",
  // but not "-", "-1" nor words with a space.
  static bool looks_like_option(const std::string& word) {
    if (word.size() < 2 || word[0] != '-') return false;
    if (is_negative_number(word)) return false;
    return word.find(' ') == std::string::npos;
  }

  template <typename Visit>
  void for_each_option(Visit visit) const {
    visit(help_);
    for (const OptionSpec& option : spec_.options) visit(option);
  }

  const OptionSpec* find(const std::string& name) const {
    const OptionSpec* found = nullptr;
    for_each_option([&](const OptionSpec& option) {
      for (const std::string& alias : option.names) {
        if (alias == name) found = &option;
      }
    });
    return found;
  }

  void check_choice(const OptionSpec& option, const std::string& value) const {
    for (const std::string& choice : option.choices) {
      if (choice == value) return;
    }
    std::string list;
    for (const std::string& choice : option.choices) list += (list.empty() ? "" : ", ") + python_repr(choice);
    fail("argument " + action_name(option) + ": invalid choice: " + python_repr(value) + " (choose from " + list + ")");
  }

  void take_positionals() {
    std::size_t next = 0;
    for (const PositionalSpec& positional : spec_.positionals) {
      if (next >= run_.size()) break;
      auto& slot = arguments_.values[positional.dest];
      if (positional.one_or_more) {
        // Leaves one word for each positional after it.
        const std::size_t after = spec_.positionals.size() - 1 - (&positional - spec_.positionals.data());
        while (next < run_.size() && run_.size() - next > after) slot.push_back(run_[next++]);
      } else {
        slot.push_back(run_[next++]);
      }
      for (const std::string& value : slot) check_length(positional.metavar, value);
    }
    for (; next < run_.size(); ++next) arguments_.unrecognized.push_back(run_[next]);
    run_.clear();
  }

  const CommandSpec& spec_;
  OptionSpec help_;
  Arguments arguments_;
  std::vector<std::string> run_;
};

std::string option_usage(const OptionSpec& option) {
  std::string text = option.names.front();
  if (option.kind != OptionSpec::Kind::Flag) text += " " + option.metavar;
  return text;
}

}  // namespace

std::optional<std::string> Arguments::value(const std::string& dest) const {
  const auto found = values.find(dest);
  if (found == values.end() || found->second.empty()) return std::nullopt;
  return found->second.back();
}

std::vector<std::string> Arguments::all(const std::string& dest) const {
  const auto found = values.find(dest);
  return found == values.end() ? std::vector<std::string>{} : found->second;
}

Arguments parse_command(const CommandSpec& spec, const std::vector<std::string>& words) {
  return Parser(spec).parse(words);
}

std::string help_text(const CommandSpec& spec) {
  std::string usage = "usage: modelcut " + spec.name + " [-h]";
  for (const OptionSpec& option : spec.options) {
    if (option.help.empty()) continue;  // hidden, as argparse.SUPPRESS
    usage += option.required ? " " + option_usage(option) : " [" + option_usage(option) + "]";
  }
  for (const PositionalSpec& positional : spec.positionals) {
    usage += " " + positional.metavar + (positional.one_or_more ? " [" + positional.metavar + " ...]" : "");
  }
  // As argparse: a command without a description shows none (its one-line
  // help is for the list of commands).
  std::string text = usage + "\n" + (spec.description.empty() ? "" : "\n" + spec.description + "\n");
  auto entry = [&](const std::string& left, const std::string& help) {
    std::string line = "  " + left;
    if (help.empty()) return line + "\n";
    return line.size() < 24 ? line + std::string(24 - line.size(), ' ') + help + "\n"
                            : line + "\n" + std::string(24, ' ') + help + "\n";
  };
  if (!spec.positionals.empty()) {
    text += "\npositional arguments:\n";
    for (const PositionalSpec& positional : spec.positionals) text += entry(positional.metavar, positional.help);
  }
  text += "\noptions:\n" + entry("-h, --help", "show this help message and exit");
  for (const OptionSpec& option : spec.options) {
    if (!option.group.empty()) text += "\n" + option.group + ":\n";
    if (option.help.empty()) continue;
    std::string left;
    for (const std::string& name : option.names) {
      if (!left.empty()) left += ", ";
      left += name + (option.kind == OptionSpec::Kind::Flag ? "" : " " + option.metavar);
    }
    text += entry(left, option.help);
  }
  return text;
}

}  // namespace modelcut::cli
