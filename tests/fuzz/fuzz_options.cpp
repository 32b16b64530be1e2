// libFuzzer target: the native command's option parsers. The input is a
// command line: its first byte picks the command (plan, split, inspect,
// merge) and the rest, split at NUL bytes, are the words after its name.
// The words go through the argument parser (argparse's rules, the length
// bound of every value), and each value that plan reads as a size, rate,
// duration or list of rates through its parser; the whole input is also
// read as each kind of quantity. The parsers once matched with std::regex,
// which recursed once per character and overflowed the stack on a long value.
//
// UsageError and modelcut::Error are the clean outcomes; anything else (a
// crash, another exception, a quantity that is not finite or out of its
// range) is a finding.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/arguments.h"
#include "cli/commands.h"
#include "cli/python_text.h"
#include "cli/units.h"
#include "modelcut/error.h"

namespace {

using namespace modelcut::cli;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz: %s\n", what.c_str());
  std::abort();
}

// Each parser, on one text: a refusal is fine; what it accepts must be in range.
void read_quantities(const std::string& text) {
  try {
    const double rate = units::parse_rate(text, "--bandwidth");
    if (!std::isfinite(rate) || rate <= 0) finding("parse_rate accepted a rate that is not > 0 and finite");
    (void)units::format_rate(rate);
  } catch (const modelcut::Error&) {
  }
  try {
    const double seconds = units::parse_seconds(text, "--rtt");
    if (!std::isfinite(seconds) || seconds < 0) finding("parse_seconds accepted a duration < 0 or not finite");
    (void)units::format_seconds(seconds);
  } catch (const modelcut::Error&) {
  }
  try {
    const std::uint64_t bytes = units::parse_bytes(text, "--max-stage-params");
    if (bytes >= (std::uint64_t{1} << 63)) finding("parse_bytes accepted a size of 2**63 or more");
    (void)units::format_bytes(static_cast<double>(bytes));
  } catch (const modelcut::Error&) {
  }
  try {
    for (const double rate : units::parse_rates(text, "--sweep")) {
      if (!std::isfinite(rate) || rate <= 0) finding("parse_rates accepted a rate that is not > 0 and finite");
    }
  } catch (const modelcut::Error&) {
  }
}

void parse_words(const CommandSpec& spec, const std::vector<std::string>& words) {
  Arguments arguments;
  try {
    arguments = parse_command(spec, words);
  } catch (const UsageError&) {
    return;
  }
  for (const auto& [dest, values] : arguments.values) {
    for (const std::string& value : values) {
      if (code_point_count(value) > kMaxValueLength) finding("a value over the length bound was accepted: " + dest);
    }
  }
  if (arguments.help) (void)help_text(spec);
  try {
    if (const auto value = arguments.value("bandwidth")) units::parse_rate(*value, "--bandwidth");
  } catch (const modelcut::Error&) {
  }
  try {
    if (const auto value = arguments.value("rtt")) units::parse_seconds(*value, "--rtt");
  } catch (const modelcut::Error&) {
  }
  try {
    if (const auto value = arguments.value("sweep")) units::parse_rates(*value, "--sweep");
  } catch (const modelcut::Error&) {
  }
  for (const char* cap : {"max_stage_params", "max_boundary_bytes"}) {
    try {
      if (const auto value = arguments.value(cap)) units::parse_bytes(*value, cap);
    } catch (const modelcut::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  read_quantities(text);
  const CommandSpec& (*const specs[])() = {plan_spec, split_spec, inspect_spec, merge_spec};
  std::vector<std::string> words;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find('\0', start), text.size());
    words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  parse_words(specs[data[0] % 4](), words);
  return 0;
}
