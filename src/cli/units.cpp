// See units.h; the grammar is modelcut.plan.units' regular expressions.
#include "cli/units.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>

#include "cli/python_text.h"
#include "modelcut/error.h"

namespace modelcut::cli::units {
namespace {

#define MODELCUT_NUMBER "([0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
#define MODELCUT_PREFIX "(Ki|Mi|Gi|Ti|k|K|M|G|T|)"

double prefix_scale(const std::string& prefix) {
  if (prefix == "k" || prefix == "K") return 1e3;
  if (prefix == "M") return 1e6;
  if (prefix == "G") return 1e9;
  if (prefix == "T") return 1e12;
  if (prefix == "Ki") return 1024.0;
  if (prefix == "Mi") return 1024.0 * 1024;
  if (prefix == "Gi") return 1024.0 * 1024 * 1024;
  if (prefix == "Ti") return 1024.0 * 1024 * 1024 * 1024;
  return 1;
}

double scaled(const std::smatch& match, bool bits, const std::string& text, const std::string& option) {
  double number = std::strtod(match[1].str().c_str(), nullptr) * prefix_scale(match[2].str());
  if (bits) number /= 8;
  if (!std::isfinite(number)) fail(option, " ", python_repr(text), " is too large");
  return number;
}

}  // namespace

std::string strip(const std::string& text) {
  const char* space = " \t\n\v\f\r\x1c\x1d\x1e\x1f";
  const auto begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(space) - begin + 1);
}

std::uint64_t parse_bytes(const std::string& text, const std::string& option) {
  static const std::regex size(MODELCUT_NUMBER "\\s*" MODELCUT_PREFIX "(B|bit|b|)");
  const std::string stripped = strip(text);
  std::smatch match;
  if (!std::regex_match(stripped, match, size)) {
    fail(option, " ", python_repr(text), " is not a size: write e.g. 16MB, 1GiB or 4096 (bytes)");
  }
  const double value = scaled(match, match[3].str() == "b" || match[3].str() == "bit", text, option);
  if (value >= 9223372036854775808.0) fail(option, " ", python_repr(text), " is too large");
  return static_cast<std::uint64_t>(value);
}

double parse_rate(const std::string& text, const std::string& option) {
  static const std::regex rate(MODELCUT_NUMBER "\\s*" MODELCUT_PREFIX "(?:(B|bit|b)(?:/s|ps)|(bps)|)");
  const std::string stripped = strip(text);
  std::smatch match;
  if (!std::regex_match(stripped, match, rate)) {
    fail(option, " ", python_repr(text), " is not a rate: write e.g. 10MB/s, 1GiB/s or 100Mbit/s");
  }
  const bool bits = match[3].str() == "b" || match[3].str() == "bit" || match[4].matched;
  const double value = scaled(match, bits, text, option);
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
  static const std::regex duration(MODELCUT_NUMBER "\\s*(ns|us|\xc2\xb5s|ms|s|)");
  const std::string stripped = strip(text);
  std::smatch match;
  if (!std::regex_match(stripped, match, duration)) {
    fail(option, " ", python_repr(text), " is not a duration: write e.g. 20ms, 0.5s or 300us");
  }
  const std::string unit = match[2].str();
  const double scale = unit == "ns" ? 1e-9 : unit == "ms" ? 1e-3 : (unit == "us" || unit == "\xc2\xb5s") ? 1e-6 : 1.0;
  const double value = std::strtod(match[1].str().c_str(), nullptr) * scale;
  if (!std::isfinite(value)) fail(option, " ", python_repr(text), " is too large");
  return value;
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
