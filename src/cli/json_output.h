// JSON as the Python command prints it (json.dump(data, indent=2) and a
// newline): keys in insertion order, two-space indentation, non-ASCII and
// control characters as \uXXXX escapes (ensure_ascii), bytes that are not
// UTF-8 as the surrogate escapes (\udcXX) Python decodes them to, and
// floating point as Python's repr() writes it (the shortest digits that
// read back to the same double: 0.5, 1e-05, 1e+16, 123.0).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace modelcut::cli {

// Python's repr() of a float: "0.5", "123.0", "1e-05", "1.5e+16", "inf", "nan".
std::string python_float_repr(double number);

class Json {
 public:
  static Json null() { return Json(Kind::Null); }
  static Json object() { return Json(Kind::Object); }
  static Json array() { return Json(Kind::Array); }
  Json(const std::string& text) : kind_(Kind::Text), text_(text) {}
  Json(const char* text) : kind_(Kind::Text), text_(text) {}
  Json(std::uint64_t number) : kind_(Kind::Number), text_(std::to_string(number)) {}
  Json(std::int64_t number) : kind_(Kind::Number), text_(std::to_string(number)) {}
  Json(std::optional<std::uint64_t> number) : Json(number ? Json(*number) : null()) {}
  Json(double number);
  Json(bool value) : kind_(Kind::Number), text_(value ? "true" : "false") {}
  Json(const std::vector<std::string>& texts);

  // For an object: adds `key`, or replaces its value in place when present
  // (as assigning to a Python dict key does).
  Json& set(const std::string& key, Json value);
  Json& push(Json value);  // for an array

  // json.dumps(self, indent=2)
  std::string dump() const;

 private:
  enum class Kind { Null, Text, Number, Array, Object };
  explicit Json(Kind kind) : kind_(kind) {}
  void write(std::string& out, int indent) const;

  Kind kind_;
  std::string text_;
  std::vector<std::pair<std::string, Json>> members_;  // arrays: empty keys
};

}  // namespace modelcut::cli
