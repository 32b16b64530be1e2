// Python's json.dump(indent=2) layout and escapes; see json_output.h.
#include "cli/json_output.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "cli/python_text.h"

namespace modelcut::cli {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_u_escape(std::string& out, std::uint32_t unit) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(unit >> shift) & 0xf];
}

// json's ensure_ascii encoder: " and \ escaped, \n \r \t \b \f by name,
// everything else outside printable ASCII as \uXXXX (UTF-16 pairs above
// U+FFFF).
void append_string(std::string& out, const std::string& bytes) {
  out += '"';
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::uint32_t code = next_code_point(bytes, i);
    switch (code) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (code >= 0x20 && code < 0x7f) {
          out += static_cast<char>(code);
        } else if (code > 0xffff) {
          const std::uint32_t rest = code - 0x10000;
          append_u_escape(out, 0xd800 + (rest >> 10));
          append_u_escape(out, 0xdc00 + (rest & 0x3ff));
        } else {
          append_u_escape(out, code);
        }
    }
  }
  out += '"';
}

}  // namespace

// The shortest digits that read back to `number` (std::to_chars), laid out
// as Python's float_repr_style "short": positional when the decimal point
// falls within -4 < decpt <= 16 of the first digit, else d.ddde+XX.
std::string python_float_repr(double number) {
  if (std::isnan(number)) return "nan";
  if (std::isinf(number)) return number > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::scientific);
  std::string text(buffer, result.ptr);  // "-1.2345e+05", "5e-01", "0e+00"
  std::string out;
  if (text[0] == '-') {
    out = "-";
    text.erase(0, 1);
  }
  const std::size_t e = text.find('e');
  std::string digits;
  for (std::size_t i = 0; i < e; ++i) {
    if (text[i] != '.') digits += text[i];
  }
  const long decpt = std::strtol(text.c_str() + e + 1, nullptr, 10) + 1;
  const auto count = static_cast<long>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
    } else if (decpt >= count) {
      out += digits + std::string(static_cast<std::size_t>(decpt - count), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<std::size_t>(decpt)) + "." + digits.substr(static_cast<std::size_t>(decpt));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (count > 1) out += "." + digits.substr(1);
  const long exponent = decpt - 1;
  const std::string magnitude = std::to_string(std::labs(exponent));
  out += (exponent < 0 ? "e-" : "e+") + std::string(magnitude.size() < 2 ? 1 : 0, '0') + magnitude;
  return out;
}

Json::Json(double number) : kind_(Kind::Number) {
  // json.dumps writes the non-finite floats as JavaScript names them.
  if (std::isnan(number)) {
    text_ = "NaN";
  } else if (std::isinf(number)) {
    text_ = number > 0 ? "Infinity" : "-Infinity";
  } else {
    text_ = python_float_repr(number);
  }
}

Json::Json(const std::vector<std::string>& texts) : kind_(Kind::Array) {
  for (const std::string& text : texts) push(Json(text));
}

Json& Json::set(const std::string& key, Json value) {
  for (auto& member : members_) {
    if (member.first == key) {
      member.second = std::move(value);
      return *this;
    }
  }
  members_.emplace_back(key, std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  members_.emplace_back(std::string(), std::move(value));
  return *this;
}

std::string Json::dump() const {
  std::string out;
  write(out, 0);
  return out;
}

void Json::write(std::string& out, int indent) const {
  switch (kind_) {
    case Kind::Null:
      out += "null";
      return;
    case Kind::Number:
      out += text_;
      return;
    case Kind::Text:
      append_string(out, text_);
      return;
    case Kind::Array:
    case Kind::Object:
      break;
  }
  const bool object = kind_ == Kind::Object;
  if (members_.empty()) {
    out += object ? "{}" : "[]";
    return;
  }
  out += object ? "{" : "[";
  const std::string inner(static_cast<std::size_t>(indent + 2), ' ');
  for (std::size_t i = 0; i < members_.size(); ++i) {
    out += i == 0 ? "\n" : ",\n";
    out += inner;
    if (object) {
      append_string(out, members_[i].first);
      out += ": ";
    }
    members_[i].second.write(out, indent + 2);
  }
  out += "\n" + std::string(static_cast<std::size_t>(indent), ' ') + (object ? "}" : "]");
}

}  // namespace modelcut::cli
