// The native `modelcut` command: split, inspect, merge and plan run here, on the
// C++ core alone; every other command line is handed to the Python package
// (hand_over.h). Exit codes, as the Python command's: 0 done, 2 bad input
// (one line "modelcut: error: ..."), 3 a bug of modelcut's, 130 interrupted
// (Ctrl-C), 141 stdout closed early.
#include <cxxabi.h>
#include <signal.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "cli/commands.h"
#include "cli/hand_over.h"
#include "modelcut/error.h"

namespace {

using namespace modelcut::cli;

constexpr int kBadInput = 2;
constexpr int kInternalError = 3;
constexpr int kInterrupted = 130;  // 128 + SIGINT
constexpr int kClosedPipe = 141;

// NB: Ctrl-C is noted, not acted on, while a command runs: the core writes
// parts under temporary names and renames them at the end, and a process
// killed half-way would leave its temporary files behind. The command ends
// with 130 once the core returns, as the Python command does (its
// KeyboardInterrupt arrives when the C++ call returns).
volatile std::sig_atomic_t interrupted = 0;

extern "C" void note_interrupt(int) { interrupted = 1; }

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? name.get() : type.name();
}

std::string trimmed(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\n\r\f\v");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\n\r\f\v") - begin + 1);
}

struct Command {
  const char* name;
  const CommandSpec& (*spec)();
  int (*run)(const Arguments&, Output&);
};

const Command kCommands[] = {
    {"split", split_spec, run_split},
    {"inspect", inspect_spec, run_inspect},
    {"merge", merge_spec, run_merge},
    {"plan", plan_spec, run_plan},
};

int report_internal(Output& output, const std::string& what, bool debug) {
  output.error_line("modelcut: internal error: " + what + "; this is a bug in modelcut; please report it" +
                    (debug ? "" : " (run with --debug for the trace)"));
  return kInternalError;
}

// The Python command's line for a MemoryError (cli.py, report_error).
std::string out_of_memory_line(const std::string& command) {
  return "modelcut: error: out of memory while running `modelcut " + command +
         "`: its input needs more memory than this process may use";
}

// `modelcut --help` where no Python package is found: what this executable
// does alone, and what needs the package. With one, the package's help
// (every command) is shown instead.
constexpr char kNativeHelp[] =
    "usage: modelcut [-h] [--version] [--debug] COMMAND ...\n"
    "\n"
    "Cut a trained model (ONNX, Keras .keras/.h5, or a frozen TensorFlow .pb) into\n"
    "parts that compose exactly: part2(part1(x)) == model(x).\n"
    "\n"
    "This is the native executable, without the modelcut Python package. It runs:\n"
    "  split     cut a model into parts\n"
    "  inspect   list layers and candidate cut points\n"
    "  merge     compose parts back into one model\n"
    "  plan      choose where to cut: balanced pipeline stages or a device/server split\n"
    "\n"
    "verify, run, profile and serve run models, plan --plot draws with matplotlib,\n"
    "and SavedModels are frozen by TensorFlow: they need the Python package\n"
    "(pip install modelcut, or set MODELCUT_PYTHON to a Python that has it).\n"
    "\n"
    "`modelcut COMMAND --help` explains each command's options.";

int print_native_help() {
  Output output;
  output.line(kNativeHelp);
  try {
    output.flush();
  } catch (const ClosedPipe&) {
    return kClosedPipe;
  }
  return 0;
}

int run(const Command& command, const std::vector<std::string>& words, bool debug) {
  Output output;
  const std::vector<std::string> rest(words.begin() + 1, words.end());
  try {
    const Arguments arguments = parse_command(command.spec(), rest);
    if (arguments.help) {
      output.line(help_text(command.spec()).substr(0, help_text(command.spec()).size() - 1));
      output.flush();
      return 0;
    }
    if (!arguments.unrecognized.empty()) {
      std::string list;
      for (const std::string& word : arguments.unrecognized) list += (list.empty() ? "" : " ") + word;
      throw UsageError{"", "unrecognized arguments: " + list};
    }
    debug = debug || arguments.flag("debug");
    const int code = command.run(arguments, output);
    if (interrupted) {
      output.discard();
      return kInterrupted;
    }
    output.flush();
    return code;
  } catch (const UsageError& error) {
    const std::string where = error.command.empty() ? "" : error.command + ": ";
    const std::string see = error.command.empty() ? "modelcut" : "modelcut " + error.command;
    output.error_line("modelcut: error: " + where + modelcut::printable(error.message) + " (see " + see + " --help)");
    return kBadInput;
  } catch (const HandOver& handing) {
    return hand_over(words, handing.reason);
  } catch (const ClosedPipe&) {
    return kClosedPipe;
  } catch (const modelcut::Error& error) {
    if (debug) output.error_line("C++ exception " + type_name(typeid(error)) + " (the native command has no trace)");
    const std::string text = trimmed(modelcut::printable(error.what()));
    output.error_line("modelcut: error: " + (text.empty() ? std::string("Error") : text));
    return kBadInput;
  } catch (const std::bad_alloc&) {
    // What was allocated is freed by now (the stack has unwound), so this
    // line can be written. Every reader caps what it holds; an input within
    // the caps can still need more than a memory limit (ulimit -v) allows.
    output.discard();
    output.error_line(out_of_memory_line(command.name));
    return kBadInput;
  } catch (const std::exception& error) {
    if (debug) output.error_line("C++ exception " + type_name(typeid(error)));
    return report_internal(
        output, "InternalError: " + type_name(typeid(error)) + ": " + modelcut::printable(error.what()), debug);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout shows as EPIPE from write(), ending the command with
  // 141 (see output.h), instead of killing it half-way through a file.
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, note_interrupt);  // reset to the default by exec when handing over
  std::vector<std::string> words(argv + 1, argv + argc);
  bool debug = false;
  std::size_t first = 0;
  for (; first < words.size() && words[first] == "--debug"; ++first) debug = true;
  if (first == words.size()) {  // as argparse says it, without starting Python for it
    Output output;
    output.error_line("modelcut: error: the following arguments are required: COMMAND (see modelcut --help)");
    return kBadInput;
  }
  if ((words[first] == "-h" || words[first] == "--help") && find_python().empty()) return print_native_help();
  if (first < words.size() && words[first] == "--version") {
    Output output;
    output.line("modelcut 0.1.0");
    try {
      output.flush();
    } catch (const ClosedPipe&) {
      return kClosedPipe;
    }
    return 0;
  }
  if (first < words.size()) {
    for (const Command& command : kCommands) {
      if (words[first] == command.name) {
        const int code =
            run(command, std::vector<std::string>(words.begin() + static_cast<long>(first), words.end()), debug);
        return interrupted ? kInterrupted : code;
      }
    }
  }
  return hand_over(words, first < words.size() && words[first].rfind('-', 0) != 0
                              ? "it runs models, which this executable does not do"
                              : "for the full command line and its help");
}
