// Python's repr() and the byte-count format of the Python command; see
// python_text.h.
#include "cli/python_text.h"

#include <cstdio>

#include "modelcut/error.h"

namespace modelcut::cli {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// str.isprintable() for one code point outside ASCII: false for the
// categories Cc, Cf, Cs, Co, Zl, Zp and Zs (all but the space). NB:
// unassigned code points (Cn) are not in this table, so a name holding one
// prints as itself here and escaped by Python (a listed gap: such names do
// not come from exporters).
bool is_printable(std::uint32_t code) {
  struct Range {
    std::uint32_t first, last;
  };
  static constexpr Range kUnprintable[] = {
      {0x80, 0xa0},       {0xad, 0xad},        {0x600, 0x605},     {0x61c, 0x61c},     {0x6dd, 0x6dd},
      {0x70f, 0x70f},     {0x890, 0x891},      {0x8e2, 0x8e2},     {0x1680, 0x1680},   {0x180e, 0x180e},
      {0x2000, 0x200f},   {0x2028, 0x202f},    {0x205f, 0x2064},   {0x2066, 0x206f},   {0x3000, 0x3000},
      {0xd800, 0xf8ff},   {0xfeff, 0xfeff},    {0xfff9, 0xfffb},   {0xfffe, 0xffff},   {0x110bd, 0x110bd},
      {0x110cd, 0x110cd}, {0x13430, 0x1343f},  {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
      {0xe0020, 0xe007f}, {0xf0000, 0x10ffff},
  };
  for (const Range& range : kUnprintable) {
    if (code >= range.first && code <= range.last) return false;
  }
  return true;
}

void append_hex(std::string& out, std::uint32_t code, int digits) {
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kHex[(code >> shift) & 0xf];
}

}  // namespace

std::uint32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto byte = static_cast<unsigned char>(text[i]);
  std::uint32_t code = byte;
  const std::size_t length = byte < 0x80 ? 1 : utf8_sequence(text, i, code);
  if (length == 0) {
    ++i;
    return 0xdc00u + byte;  // surrogateescape
  }
  i += length;
  return code;
}

std::size_t code_point_count(std::string_view bytes) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < bytes.size(); ++count) next_code_point(bytes, i);
  return count;
}

std::string python_repr(std::string_view bytes) {
  const bool has_single = bytes.find('\'') != std::string_view::npos;
  const bool has_double = bytes.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::size_t start = i;
    const std::uint32_t code = next_code_point(bytes, i);
    if (code == static_cast<unsigned char>(quote) || code == '\\') {
      out += '\\';
      out += static_cast<char>(code);
    } else if (code == '\t') {
      out += "\\t";
    } else if (code == '\n') {
      out += "\\n";
    } else if (code == '\r') {
      out += "\\r";
    } else if (code < 0x20 || code == 0x7f) {
      out += "\\x";
      append_hex(out, code, 2);
    } else if (code < 0x7f) {
      out += static_cast<char>(code);
    } else if (is_printable(code)) {
      out.append(bytes.substr(start, i - start));
    } else if (code <= 0xff) {
      out += "\\x";
      append_hex(out, code, 2);
    } else if (code <= 0xffff) {
      out += "\\u";
      append_hex(out, code, 4);
    } else {
      out += "\\U";
      append_hex(out, code, 8);
    }
  }
  out += quote;
  return out;
}

std::string format_bytes(std::optional<std::uint64_t> count) {
  if (!count) return "?";
  if (*count < 1024) return std::to_string(*count) + " B";
  // The same double divisions and rounding ("%.1f") as Python's f"{x:.1f}".
  double value = static_cast<double>(*count);
  const char* units[] = {"KiB", "MiB", "GiB"};
  for (int unit = 0; unit < 3; ++unit) {
    value /= 1024;
    if (value < 1024 || unit == 2) {
      char text[64];
      std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
      return text;
    }
  }
  return "?";
}

}  // namespace modelcut::cli
