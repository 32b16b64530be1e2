// Reading a node's attributes (AttributeProto) from its NodeProto bytes, for
// the few attributes type propagation and cost counting need. Nothing is
// trusted: a value is returned as written and checked by its user; malformed
// bytes throw Error naming the node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "onnx_model.h"

namespace modelcut::onnx {

struct Attribute {
  bool present = false;
  bool has_i = false, has_ints = false, has_s = false, has_tensor = false;
  std::int64_t i = 0;
  std::vector<std::int64_t> ints;
  std::string s;
  std::string_view tensor;  // TensorProto payload, a view into the model
};

// The attribute named `name`; present == false when the node has none.
Attribute find_attribute(const NodeRef& node, const std::string& name);

// An integer attribute: its value, `fallback` when absent, nullopt when it is
// present but holds no integer.
std::optional<std::int64_t> int_attribute(const NodeRef& node, const std::string& name, std::int64_t fallback);

// A list-of-integers attribute: empty when absent, nullopt when it is
// present but holds no list.
std::optional<std::vector<std::int64_t>> ints_attribute(const NodeRef& node, const std::string& name);

}  // namespace modelcut::onnx
