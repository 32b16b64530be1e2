// Element types and shapes of TensorFlow values: TF DataType codes mapped to
// modelcut's dtype table (through the ONNX code of the same type), and the
// output type of a node read from its attrs. TensorFlow's op registry is not
// at hand, so an output's type comes from the attr conventions the ops
// follow (out_type, DstT, dtype, T, ...); where they do not tell, the type
// stays unknown and a cut there is refused when the part is written.
#include <utility>

#include "../dtypes.h"
#include "graphdef_model.h"
#include "modelcut/error.h"

namespace modelcut::tf {
namespace {

// TF DataType -> ONNX TensorProto.DataType, for the types both have.
int onnx_code_of(int tf_dtype) {
  switch (tf_dtype % 100) {  // reference types (DT_FLOAT_REF = 101, ...) hold the same elements
    case 1:
      return 1;  // float
    case 2:
      return 11;  // double
    case 3:
      return 6;  // int32
    case 4:
      return 2;  // uint8
    case 5:
      return 5;  // int16
    case 6:
      return 3;  // int8
    case 7:
      return 8;  // string
    case 8:
      return 14;  // complex64
    case 9:
      return 7;  // int64
    case 10:
      return 9;  // bool
    case 14:
      return 16;  // bfloat16
    case 17:
      return 4;  // uint16
    case 18:
      return 15;  // complex128
    case 19:
      return 10;  // half
    case 22:
      return 12;  // uint32
    case 23:
      return 13;  // uint64
    default:
      return 0;
  }
}

constexpr int kInt32 = 3;

// The integers of field `item_field` in the list attribute `key`
// (AttrValue.list): its types (ListValue.type) or its ints (ListValue.i).
std::vector<std::int64_t> list_attr_ints(const NodeDefRef& node, const std::string& key, std::uint32_t item_field,
                                         const std::string& what) {
  std::vector<std::int64_t> values;
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) return values;
  wire::Reader reader(it->second, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number != field::kAttrList || field.type != wire::WireType::Bytes) continue;
    wire::Reader list(field.bytes, what);
    wire::Field item;
    while (list.next(item)) {
      if (item.number == item_field) wire::append_int64s(item, values, what);
    }
  }
  return values;
}

std::vector<std::int64_t> list_types(const NodeDefRef& node, const std::string& key, const std::string& what) {
  return list_attr_ints(node, key, field::kListType, what);
}

std::optional<std::string_view> listed_shape(const NodeDefRef& node, const std::string& key, std::uint32_t slot,
                                             const std::string& what) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) return std::nullopt;
  wire::Reader reader(it->second, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number != field::kAttrList || field.type != wire::WireType::Bytes) continue;
    wire::Reader list(field.bytes, what);
    wire::Field item;
    std::uint32_t index = 0;
    while (list.next(item)) {
      if (item.number != field::kListShape || item.type != wire::WireType::Bytes) continue;
      if (index++ == slot) return item.bytes;
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> shape_attr(const NodeDefRef& node, const std::string& key, const std::string& what) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) return std::nullopt;
  wire::Reader reader(it->second, what);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == field::kAttrShape && field.type == wire::WireType::Bytes) return field.bytes;
  }
  return std::nullopt;
}

// Ops whose every output has the type of the single type attr (Split's
// pieces, Switch's two branches, ...).
bool outputs_share_type(const std::string& op) {
  return op == "Split" || op == "SplitV" || op == "Unpack" || op == "Switch" || op == "RefSwitch";
}

}  // namespace

int attr_type(const NodeDefRef& node, const std::string& key, const std::string& what) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) return 0;
  wire::Reader reader(it->second, what);
  wire::Field field;
  int type = 0;
  while (reader.next(field)) {
    if (field.number == field::kAttrType && field.type == wire::WireType::Varint) {
      type = static_cast<int>(field.varint & 0x7fffffff);
    }
  }
  return type;
}

namespace {
constexpr std::uint32_t kAttrString = 2, kAttrBool = 5, kListInt = 3;
}  // namespace

bool attr_bool(const NodeDefRef& node, const std::string& key, const std::string& what) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) return false;
  wire::Reader reader(it->second, what);
  wire::Field field;
  bool value = false;
  while (reader.next(field)) {
    if (field.number == kAttrBool && field.type == wire::WireType::Varint) value = field.varint != 0;
  }
  return value;
}

std::string_view attr_string(const NodeDefRef& node, const std::string& key, const std::string& what) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) return {};
  wire::Reader reader(it->second, what);
  wire::Field field;
  std::string_view value;
  while (reader.next(field)) {
    if (field.number == kAttrString && field.type == wire::WireType::Bytes) value = field.bytes;
  }
  return value;
}

std::vector<std::int64_t> attr_ints(const NodeDefRef& node, const std::string& key, const std::string& what) {
  return list_attr_ints(node, key, kListInt, what);
}

OutputType output_type(const GraphDefModel& model, std::uint32_t index, std::uint32_t slot) {
  const NodeDefRef& node = model.nodes[index];
  const std::string what = model.label + ": node " + modelcut::quoted(node.name);
  OutputType out;
  out.shape =
      node.op == "Placeholder" ? shape_attr(node, "shape", what) : listed_shape(node, "_output_shapes", slot, what);
  // Outputs with a type of their own.
  if ((node.op == "Merge" || node.op == "RefMerge") && slot == 1) return out.dtype = kInt32, out;  // value_index
  if ((node.op == "TopKV2" || node.op == "TopK") && slot == 1) return out.dtype = kInt32, out;     // indices
  if (node.op == "Unique" && slot == 1) return out.dtype = attr_type(node, "out_idx", what), out;
  // A list of types, one per output.
  for (const char* key : {"out_types", "Tout", "T", "dtypes", "component_types"}) {
    const auto types = list_types(node, key, what);
    if (!types.empty()) {
      if (slot < types.size()) out.dtype = static_cast<int>(types[slot] & 0x7fffffff);
      return out;
    }
  }
  if (slot > 0 && !outputs_share_type(node.op)) return out;
  // One type: the attr naming the output's type wins over T, the input's.
  for (const char* key : {"DstT", "out_type", "output_type", "Tout", "dtype", "T"}) {
    if (const int type = attr_type(node, key, what)) return out.dtype = type, out;
  }
  return out;
}

TensorInfo tensor_info(int tf_dtype, const std::optional<std::string_view>& shape, const std::string& what) {
  TensorInfo info;
  const int code = onnx_code_of(tf_dtype);
  if (tf_dtype != 0) {
    info.known = true;
    info.dtype = code != 0 ? dtype_name(code) : "tf_type" + std::to_string(tf_dtype);
    info.element_bits = code != 0 ? element_bits_of(code) : 0;
  }
  if (!shape) return info;
  wire::Reader reader(*shape, what);
  wire::Field field;
  std::vector<Dim> dims;
  bool unknown_rank = false;
  while (reader.next(field)) {
    if (field.number == field::kShapeUnknownRank && field.varint != 0) unknown_rank = true;
    if (field.number != field::kShapeDim || field.type != wire::WireType::Bytes) continue;
    wire::Reader dim(field.bytes, what);
    wire::Field size;
    Dim parsed;
    while (dim.next(size)) {
      if (size.number == field::kDimSize) parsed.size = static_cast<std::int64_t>(size.varint);
    }
    if (parsed.size < -1) parsed.size = -1;  // TensorFlow writes -1 for unknown; nothing else is valid
    dims.push_back(parsed);
  }
  if (unknown_rank) return info;
  info.has_shape = true;
  info.dims = std::move(dims);
  return info;
}

TensorInfo tensor_info(const ConstTensor& tensor) {
  TensorInfo info = tensor_info(tensor.dtype, std::nullopt, {});
  info.has_shape = true;
  for (std::int64_t size : tensor.dims) info.dims.push_back(Dim{size, {}});
  return info;
}

}  // namespace modelcut::tf
