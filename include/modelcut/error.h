// Errors that modelcut reports to its users.
//
// Bad input (a file that is not a model, an unknown name, a cut that leaves a
// part empty) is normal for a tool that reads files from strangers: it is
// reported as a modelcut::Error whose message is one line naming the file,
// node or tensor involved. Asserts are kept for our own bugs.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace modelcut {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The UTF-8 sequence starting at text[i]: its length (2 to 4) with its code
// point in `code`, or 0 when the bytes there are not well-formed UTF-8 (an
// ASCII byte, a stray continuation byte, an overlong form, a surrogate,
// above U+10FFFF or cut short).
inline std::size_t utf8_sequence(std::string_view text, std::size_t i, std::uint32_t& code) {
  const auto byte = static_cast<unsigned char>(text[i]);
  // Its length from the lead byte, and the range its second byte must lie
  // in to be neither overlong, a surrogate nor above U+10FFFF.
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;
  code = 0;
  if (byte >= 0xc2 && byte <= 0xdf) {
    length = 2, code = byte & 0x1fu;
  } else if (byte >= 0xe0 && byte <= 0xef) {
    length = 3, code = byte & 0x0fu;
    if (byte == 0xe0) low = 0xa0;
    if (byte == 0xed) high = 0x9f;
  } else if (byte >= 0xf0 && byte <= 0xf4) {
    length = 4, code = byte & 0x07u;
    if (byte == 0xf0) low = 0x90;
    if (byte == 0xf4) high = 0x8f;
  }
  if (length == 0 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if (k == 1 ? (next < low || next > high) : (next < 0x80 || next > 0xbf)) return 0;
    code = (code << 6) | (next & 0x3fu);
  }
  return length;
}

// Makes `text` printable on one line: control characters (\n, \t, \x00,
// \x7f, C1 controls as \u0085), line and paragraph separators and
// bidirectional overrides (\u2028, \u202e) and bytes that are not UTF-8
// (\xff) are escaped; other UTF-8 is kept, so names in any script read as
// written. With `escape_quotes`, ' and \ are escaped too, so that a quoted
// name says exactly which name it is.
inline std::string printable(std::string_view text, bool escape_quotes = false) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  auto escape_byte = [&](unsigned char byte) {
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (byte == '\n') {
        out += "\\n";
      } else if (byte == '\r') {
        out += "\\r";
      } else if (byte == '\t') {
        out += "\\t";
      } else if (byte < 0x20 || byte == 0x7f) {
        escape_byte(byte);
      } else if (escape_quotes && (byte == '\'' || byte == '\\')) {
        out += '\\';
        out += static_cast<char>(byte);
      } else {
        out += static_cast<char>(byte);
      }
      ++i;
      continue;
    }
    std::uint32_t code = 0;
    const std::size_t length = utf8_sequence(text, i, code);
    if (length == 0) {
      escape_byte(byte);
      ++i;
      continue;
    }
    const bool invisible = (code >= 0x80 && code <= 0x9f) || code == 0x2028 || code == 0x2029 ||
                           (code >= 0x200e && code <= 0x200f) || (code >= 0x202a && code <= 0x202e) ||
                           (code >= 0x2066 && code <= 0x2069);
    if (invisible) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(code >> shift) & 0xf];
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

// Quotes a name for an error message: 'name', escaped as printable() does
// with quotes, whatever bytes the name holds. NB: takes a std::string, so
// that it stays a better match than std::quoted, which argument-dependent
// lookup also finds for a std::string argument.
inline std::string quoted(const std::string& name) { return "'" + printable(name, true) + "'"; }

// Builds a one-line message from its arguments and throws it as an Error.
// Parts that were not quoted (file labels, say) are made printable too.
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(printable(message.str()));
}

}  // namespace modelcut
