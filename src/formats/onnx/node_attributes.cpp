// Attributes of an ONNX node, read from the NodeProto's bytes on demand (see
// node_attributes.h).
#include "node_attributes.h"

#include "modelcut/error.h"

namespace modelcut::onnx {
namespace {

// AttributeProto fields.
constexpr std::uint32_t kAttributeInt = 3, kAttributeString = 4, kAttributeTensor = 5, kAttributeInts = 8;

}  // namespace

Attribute find_attribute(const NodeRef& node, const std::string& name) {
  wire::Reader reader(node.payload, "node " + quoted(node.name));
  wire::Field field;
  while (reader.next(field)) {
    if (field.number != field::kNodeAttribute || field.type != wire::WireType::Bytes) continue;
    wire::Reader inner(field.bytes, "node " + quoted(node.name) + ": attribute");
    wire::Field part;
    Attribute candidate;
    std::string attribute_name;
    while (inner.next(part)) {
      switch (part.number) {
        case field::kAttributeName:
          attribute_name = std::string(part.bytes);
          break;
        case kAttributeInt:
          candidate.has_i = part.type == wire::WireType::Varint;
          candidate.i = static_cast<std::int64_t>(part.varint);
          break;
        case kAttributeInts:
          candidate.has_ints = true;
          wire::append_int64s(part, candidate.ints, "node " + quoted(node.name) + ": attribute");
          break;
        case kAttributeString:
          candidate.has_s = true;
          candidate.s = std::string(part.bytes);
          break;
        case kAttributeTensor:
          candidate.has_tensor = true;
          candidate.tensor = part.bytes;
          break;
        default:
          break;
      }
    }
    if (attribute_name == name) {
      candidate.present = true;
      return candidate;
    }
  }
  return Attribute{};
}

std::optional<std::int64_t> int_attribute(const NodeRef& node, const std::string& name, std::int64_t fallback) {
  const Attribute attribute = find_attribute(node, name);
  if (!attribute.present) return fallback;
  if (!attribute.has_i) return std::nullopt;
  return attribute.i;
}

std::optional<std::vector<std::int64_t>> ints_attribute(const NodeRef& node, const std::string& name) {
  const Attribute attribute = find_attribute(node, name);
  if (attribute.present && !attribute.has_ints) return std::nullopt;
  return attribute.ints;
}

}  // namespace modelcut::onnx
