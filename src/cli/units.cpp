// See units.h; the grammar is modelcut.plan.units' regular expressions,
// scanned by hand: std::regex matches by recursion, one stack frame per
// character, and a long enough value (30,000 digits) overflowed the stack.
// Here a value is read in one pass: a number, spaces, then a suffix from a
// short fixed list.
#include "cli/units.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

#include "cli/python_text.h"
#include "modelcut/error.h"

namespace modelcut::cli::units {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// A quantity as written: `[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?`, spaces, and
// the rest of the text, which the caller looks up among its units.
struct Written {
  double number = 0;
  std::string suffix;
};

std::optional<Written> scan(const std::string& text) {
  std::size_t at = 0;
  const auto digits = [&] {
    const std::size_t begin = at;
    while (at < text.size() && is_digit(text[at])) ++at;
    return at - begin;
  };
  const std::size_t whole = digits();
  if (at < text.size() && text[at] == '.') {
    ++at;
    if (digits() == 0) return std::nullopt;  // "5." is no number, as in the Python grammar
  } else if (whole == 0) {
    return std::nullopt;
  }
  // No unit starts with e or E, so an "e" not followed by an exponent can
  // only fail to match: taking the exponent whenever it is complete is exact.
  if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    std::size_t exponent = at + 1;
    if (exponent < text.size() && (text[exponent] == '-' || text[exponent] == '+')) ++exponent;
    if (exponent < text.size() && is_digit(text[exponent])) {
      at = exponent;
      digits();
    }
  }
  Written written;
  written.number = std::strtod(text.substr(0, at).c_str(), nullptr);
  while (at < text.size() && is_space(text[at])) ++at;
  written.suffix = text.substr(at);
  return written;
}

constexpr std::pair<const char*, double> kPrefixes[] = {
    {"Ki", 1024.0},
    {"Mi", 1024.0 * 1024},
    {"Gi", 1024.0 * 1024 * 1024},
    {"Ti", 1024.0 * 1024 * 1024 * 1024},
    {"k", 1e3},
    {"K", 1e3},
    {"M", 1e6},
    {"G", 1e9},
    {"T", 1e12},
    {"", 1},
};

// `written` in bytes (or bytes per second) when its suffix is a prefix
// followed by one of `units` (each a unit and whether it counts bits), in
// the Python package's order of operations (number * prefix, then / 8), so
// that both round alike; nullopt when the suffix is none of them.
std::optional<double> scaled(const std::optional<Written>& written,
                             std::initializer_list<std::pair<const char*, bool>> units) {
  if (!written) return std::nullopt;
  for (const auto& [prefix, scale] : kPrefixes) {
    const std::size_t length = std::char_traits<char>::length(prefix);
    if (written->suffix.compare(0, length, prefix) != 0) continue;
    for (const auto& [name, bits] : units) {
      if (written->suffix.compare(length, std::string::npos, name) != 0) continue;
      const double value = written->number * scale;
      return bits ? value / 8 : value;
    }
  }
  return std::nullopt;
}

double checked_finite(double value, const std::string& text, const std::string& option) {
  if (!std::isfinite(value)) fail(option, " ", python_repr(text), " is too large");
  return value;
}

}  // namespace

std::string strip(const std::string& text) {
  const char* space = " \t\n\v\f\r\x1c\x1d\x1e\x1f";
  const auto begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(space) - begin + 1);
}

std::uint64_t parse_bytes(const std::string& text, const std::string& option) {
  const auto bytes = scaled(scan(strip(text)), {{"B", false}, {"bit", true}, {"b", true}, {"", false}});
  if (!bytes) fail(option, " ", python_repr(text), " is not a size: write e.g. 16MB, 1GiB or 4096 (bytes)");
  const double value = checked_finite(*bytes, text, option);
  if (value >= 9223372036854775808.0) fail(option, " ", python_repr(text), " is too large");
  return static_cast<std::uint64_t>(value);
}

double parse_rate(const std::string& text, const std::string& option) {
  const auto rate = scaled(
      scan(strip(text)),
      {{"B/s", false}, {"Bps", false}, {"bit/s", true}, {"bitps", true}, {"b/s", true}, {"bps", true}, {"", false}});
  if (!rate) fail(option, " ", python_repr(text), " is not a rate: write e.g. 10MB/s, 1GiB/s or 100Mbit/s");
  const double value = checked_finite(*rate, text, option);
  if (value <= 0) fail(option, " ", python_repr(text), " must be more than 0");
  return value;
}

std::vector<double> parse_rates(const std::string& text, const std::string& option) {
  std::vector<std::string> parts;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string part = text.substr(start, comma - start);
    if (!strip(part).empty()) parts.push_back(std::move(part));
    start = comma + 1;
  }
  if (parts.empty()) fail(option, " ", python_repr(text), " lists no rate: write e.g. 1MB/s,10MB/s,100MB/s");
  std::vector<double> rates;
  for (const std::string& part : parts) rates.push_back(parse_rate(part, option));
  return rates;
}

double parse_seconds(const std::string& text, const std::string& option) {
  const auto written = scan(strip(text));
  std::optional<double> unit;
  if (written) {
    const std::pair<const char*, double> units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6},
                                                    {"ms", 1e-3}, {"s", 1.0},   {"", 1.0}};
    for (const auto& [name, seconds] : units) {
      if (written->suffix == name) unit = seconds;
    }
  }
  if (!unit) fail(option, " ", python_repr(text), " is not a duration: write e.g. 20ms, 0.5s or 300us");
  return checked_finite(written->number * *unit, text, option);
}

std::string format_number(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string format_bytes(std::optional<double> count) {
  if (!count) return "?";
  double value = *count;
  const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  for (int unit = 0; unit < 5; ++unit) {
    if (std::fabs(value) < 1024 || unit == 4) {
      return unit == 0 ? format_number("%.0f", value) + " B" : format_number("%.1f", value) + " " + names[unit];
    }
    value /= 1024;
  }
  return "?";
}

std::string format_rate(double bytes_per_second) {
  const std::pair<const char*, double> scales[] = {{"GB/s", 1e9}, {"MB/s", 1e6}, {"kB/s", 1e3}};
  for (const auto& [unit, scale] : scales) {
    if (bytes_per_second >= scale) return format_number("%.3g", bytes_per_second / scale) + " " + unit;
  }
  return format_number("%.3g", bytes_per_second) + " B/s";
}

std::string format_count(double count) {
  const std::pair<const char*, double> scales[] = {{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}};
  for (const auto& [unit, scale] : scales) {
    if (std::fabs(count) >= scale) return format_number("%.2f", count / scale) + " " + unit;
  }
  return format_number("%.0f", count);
}

std::string format_seconds(double seconds) {
  if (seconds >= 1) return format_number("%.3g", seconds) + " s";
  if (seconds >= 1e-3) return format_number("%.3g", seconds * 1e3) + " ms";
  return format_number("%.3g", seconds * 1e6) + " us";
}

}  // namespace modelcut::cli::units
