// Sizes, rates and durations as `modelcut plan` reads and prints them, with
// the rules of the Python package's modelcut.plan.units so that both
// commands accept the same words and print the same figures: "16MB",
// "1GiB", "10MB/s", "100Mbit/s", "20ms". Decimal prefixes are powers of
// 1000, binary ones (KiB, MiB, ...) powers of 1024; "b"/"bit" is a bit, "B"
// a byte. Parsers throw modelcut::Error naming the option.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace modelcut::cli::units {

std::uint64_t parse_bytes(const std::string& text, const std::string& option);        // "16MB", "1GiB", "512"
double parse_rate(const std::string& text, const std::string& option);                // bytes/s, > 0
std::vector<double> parse_rates(const std::string& text, const std::string& option);  // "1MB/s,10MB/s"
double parse_seconds(const std::string& text, const std::string& option);             // "20ms", >= 0

std::string format_bytes(std::optional<double> count);  // 1536 -> "1.5 KiB"; nullopt -> "?"
std::string format_rate(double bytes_per_second);       // 1.25e6 -> "1.25 MB/s"
std::string format_count(double count);                 // 1.2e9 -> "1.20 G"
std::string format_seconds(double seconds);             // 0.0123 -> "12.3 ms"

// printf-style formatting of one double ("%.3g", "%.2f"): glibc rounds
// exactly, as Python's format() does.
std::string format_number(const char* format, double value);

// str.strip(): leading and trailing ASCII whitespace.
std::string strip(const std::string& text);

}  // namespace modelcut::cli::units
