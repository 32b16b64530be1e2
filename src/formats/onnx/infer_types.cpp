// Type and shape propagation for values an ONNX model records no type for.
//
// Exporters often leave value_info empty (tf2onnx, PyTorch's TorchScript
// exporter), yet every value crossing a cut needs a type to become a graph
// input. The Python layer runs ONNX's own shape inference first; this is the
// fallback that lets the C++ library cut such models on its own. It knows
// the element type rules of a list of standard operators and the shapes of
// the common ones. Symbolic dimensions ("batch") are carried through where
// an operator passes a dimension on unchanged. Like ONNX's data propagation,
// the contents of small integer tensors computed from shapes (Shape, Gather,
// Concat, ...) are followed too, so that ConstantOfShape, Reshape and Expand
// fed by them get their sizes.
//
// NB: a shape recorded here becomes a part's declared input, so the rule is
// "no answer rather than a wrong one": every attribute and constant read from
// the file is checked before use (axes in range, strides positive, ranks and
// sizes within limits, arithmetic without overflow), and wherever an operator
// is unknown, its inputs are inconsistent or the result depends on values
// not known here, the shape (or the whole type) is left unknown.
// tests/e2e/test_type_propagation.py checks this against ONNX's own shape
// inference.
#include "infer_types.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "modelcut/error.h"
#include "node_attributes.h"
#include "util/checked_math.h"

namespace modelcut::onnx {
namespace {

// Ranks above this are refused (no shape): a rank read from a file sizes a
// vector, and no real tensor comes near it.
constexpr std::int64_t kMaxRank = 1024;

struct TensorHeader {
  int data_type = 0;
  std::vector<std::int64_t> dims;
  bool external = false;
};

TensorHeader tensor_header(std::string_view payload) {
  TensorHeader tensor;
  wire::Reader reader(payload, "tensor");
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == field::kTensorDims) wire::append_int64s(field, tensor.dims, "tensor");
    if (field.number == field::kTensorDataType) tensor.data_type = static_cast<int>(field.varint);
    if (field.number == field::kTensorDataLocation && field.varint == 1) tensor.external = true;
  }
  return tensor;
}

// Values of a small int64/int32 tensor (shapes, axes), or nullopt when it is
// of another type, stored elsewhere, or its data does not match its dims.
std::optional<std::vector<std::int64_t>> tensor_ints(std::string_view payload) {
  constexpr std::uint32_t kInt32Data = 5, kInt64Data = 7;
  const TensorHeader header = tensor_header(payload);
  const int width = header.data_type == 7 ? 8 : header.data_type == 6 ? 4 : 0;
  if (width == 0 || header.external) return std::nullopt;
  const auto count = element_count(header.dims);
  if (!count) return std::nullopt;
  std::vector<std::int64_t> values;
  std::optional<std::string_view> raw;
  wire::Reader reader(payload, "tensor");
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == field::kTensorRawData) raw = field.bytes;
    if (field.number == (width == 8 ? kInt64Data : kInt32Data)) wire::append_int64s(field, values, "tensor");
  }
  if (raw) {
    if (raw->size() / width != *count || raw->size() % width != 0) return std::nullopt;
    values.clear();
    for (std::size_t offset = 0; offset < raw->size(); offset += width) {
      if (width == 8) {
        std::int64_t value;
        std::memcpy(&value, raw->data() + offset, 8);
        values.push_back(value);
      } else {
        std::int32_t value;
        std::memcpy(&value, raw->data() + offset, 4);
        values.push_back(value);
      }
    }
  } else if (width == 4) {
    // int32_data holds varints of the sign-extended value: bring them back to 32 bits.
    for (std::int64_t& value : values) value = static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
  }
  if (values.size() != *count) return std::nullopt;
  return values;
}

TensorInfo tensor_of(int data_type) {
  TensorInfo info;
  const int bits = element_bits_of(data_type);
  if (bits == 0 && data_type != 8) return info;  // not a tensor type we know (8 is string)
  info.known = true;
  info.dtype = dtype_name(data_type);
  info.element_bits = bits;
  return info;
}

// The element type of a plain tensor, without its shape; unknown for
// sequences, maps and other non-tensor types.
TensorInfo element_of(const TensorInfo& info) {
  if (!info.known || (info.element_bits == 0 && info.dtype != "string")) return TensorInfo{};
  TensorInfo out = info;
  out.has_shape = false;
  out.dims.clear();
  return out;
}

TensorInfo with_shape(TensorInfo info, std::optional<std::vector<Dim>> dims) {
  if (!dims || static_cast<std::int64_t>(dims->size()) > kMaxRank) return info;
  info.has_shape = true;
  info.dims = std::move(*dims);
  return info;
}

Dim fixed(std::int64_t size) { return Dim{size, {}}; }

bool same_dim(const Dim& a, const Dim& b) {
  if (a.is_fixed() || b.is_fixed()) return a.is_fixed() && b.is_fixed() && a.size == b.size;
  return !a.symbol.empty() && a.symbol == b.symbol;
}

// Two dims that must be equal: the better known of them, or nullopt when
// both are fixed and differ.
std::optional<Dim> unify(const Dim& a, const Dim& b) {
  if (a.is_fixed() && b.is_fixed()) return a.size == b.size ? std::optional<Dim>(a) : std::nullopt;
  if (a.is_fixed()) return a;
  if (b.is_fixed()) return b;
  return same_dim(a, b) ? a : Dim{};
}

// An axis attribute in [-rank, rank) made non-negative; nullopt when out of range.
std::optional<std::size_t> checked_axis(std::int64_t axis, std::size_t rank) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) return std::nullopt;
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

// A list of distinct axes in [-rank, rank), made non-negative.
std::optional<std::set<std::size_t>> checked_axes(const std::vector<std::int64_t>& axes, std::size_t rank) {
  std::set<std::size_t> out;
  for (std::int64_t axis : axes) {
    auto checked = checked_axis(axis, rank);
    if (!checked || !out.insert(*checked).second) return std::nullopt;
  }
  return out;
}

// The product of dims, or an unknown dim when one is not fixed or the
// product overflows.
Dim product_of(const std::vector<Dim>& dims, std::size_t begin, std::size_t end) {
  if (end - begin == 1) return dims[begin];
  std::int64_t size = 1;
  for (std::size_t i = begin; i < end; ++i) {
    if (!dims[i].is_fixed()) return Dim{};
    auto next = checked_mul(size, dims[i].size);
    if (!next) return Dim{};
    size = *next;
  }
  return fixed(size);
}

// Numpy-style broadcasting; nullopt when a shape is unknown or two fixed
// sizes cannot broadcast.
std::optional<std::vector<Dim>> broadcast(const std::vector<std::vector<Dim>>& shapes) {
  std::size_t rank = 0;
  for (const auto& dims : shapes) rank = std::max(rank, dims.size());
  std::vector<Dim> out(rank, fixed(1));
  for (std::size_t axis = 0; axis < rank; ++axis) {
    std::optional<Dim> result;
    bool any_unknown = false;
    for (const auto& dims : shapes) {
      const std::size_t offset = rank - dims.size();
      if (axis < offset) continue;
      const Dim& dim = dims[axis - offset];
      if (dim.is_fixed() && dim.size == 1) continue;
      if (!result) {
        result = dim;
      } else if (result->is_fixed() && dim.is_fixed()) {
        if (result->size != dim.size) return std::nullopt;
      } else if (!same_dim(*result, dim)) {
        any_unknown = true;
      }
    }
    // NB: a symbolic size may be 1 at run time, so it broadcasts against a
    // different symbol or a fixed size to something not known here.
    out[axis] = any_unknown ? Dim{} : result.value_or(fixed(1));
  }
  return out;
}

// Operators whose output 0 has the shape of input 0 (and, unless listed in
// element_type(), its element type).
const std::set<std::string>& same_shape_ops() {
  static const std::set<std::string> ops = {"Relu",
                                            "LeakyRelu",
                                            "PRelu",
                                            "Sigmoid",
                                            "HardSigmoid",
                                            "HardSwish",
                                            "Tanh",
                                            "Erf",
                                            "Gelu",
                                            "Elu",
                                            "Selu",
                                            "Celu",
                                            "Softplus",
                                            "Softsign",
                                            "Mish",
                                            "Exp",
                                            "Log",
                                            "Sqrt",
                                            "Reciprocal",
                                            "Neg",
                                            "Abs",
                                            "Sign",
                                            "Floor",
                                            "Ceil",
                                            "Round",
                                            "Sin",
                                            "Cos",
                                            "Tan",
                                            "Asin",
                                            "Acos",
                                            "Atan",
                                            "Sinh",
                                            "Cosh",
                                            "Asinh",
                                            "Acosh",
                                            "Atanh",
                                            "Identity",
                                            "Dropout",
                                            "Softmax",
                                            "LogSoftmax",
                                            "Hardmax",
                                            "BatchNormalization",
                                            "InstanceNormalization",
                                            "LayerNormalization",
                                            "GroupNormalization",
                                            "LpNormalization",
                                            "MeanVarianceNormalization",
                                            "LRN",
                                            "Not",
                                            "BitwiseNot",
                                            "Cast",
                                            "CastLike",
                                            "IsNaN",
                                            "IsInf",
                                            "Shrink",
                                            "ThresholdedRelu",
                                            "CumSum",
                                            "QuantizeLinear",
                                            "DequantizeLinear",
                                            "Trilu",
                                            "ReverseSequence",
                                            "ScatterND",
                                            "ScatterElements",
                                            "Scatter",
                                            "Swish",
                                            "Clip"};
  return ops;
}

// Operators whose output has the broadcast shape of all their inputs.
const std::set<std::string>& broadcast_ops() {
  static const std::set<std::string> ops = {"Add",        "Sub",       "Mul",       "Div",         "Pow",
                                            "Mod",        "Max",       "Min",       "Sum",         "Mean",
                                            "Equal",      "Less",      "Greater",   "LessOrEqual", "GreaterOrEqual",
                                            "And",        "Or",        "Xor",       "Where",       "BitShift",
                                            "BitwiseAnd", "BitwiseOr", "BitwiseXor"};
  return ops;
}

// Operators whose output 0 has the element type of input 0.
const std::set<std::string>& same_dtype_ops() {
  static const std::set<std::string> ops = {"Reshape",
                                            "Flatten",
                                            "Transpose",
                                            "Squeeze",
                                            "Unsqueeze",
                                            "Concat",
                                            "Gather",
                                            "GatherElements",
                                            "GatherND",
                                            "Slice",
                                            "Split",
                                            "Tile",
                                            "Expand",
                                            "Pad",
                                            "Resize",
                                            "Upsample",
                                            "DepthToSpace",
                                            "SpaceToDepth",
                                            "Compress",
                                            "TopK",
                                            "Conv",
                                            "ConvTranspose",
                                            "MaxPool",
                                            "AveragePool",
                                            "LpPool",
                                            "GlobalAveragePool",
                                            "GlobalMaxPool",
                                            "GlobalLpPool",
                                            "MatMul",
                                            "Gemm",
                                            "ReduceSum",
                                            "ReduceMean",
                                            "ReduceMax",
                                            "ReduceMin",
                                            "ReduceProd",
                                            "ReduceL1",
                                            "ReduceL2",
                                            "ReduceLogSum",
                                            "ReduceLogSumExp",
                                            "ReduceSumSquare",
                                            "Einsum",
                                            "Unique",
                                            "MaxRoiPool",
                                            "RoiAlign",
                                            "GridSample",
                                            "CenterCropPad",
                                            "Col2Im",
                                            "Det",
                                            "Clip",
                                            "Sum",
                                            "Mean",
                                            "Max",
                                            "Min",
                                            "Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Pow",
                                            "Mod",
                                            "BitShift",
                                            "BitwiseAnd",
                                            "BitwiseOr",
                                            "BitwiseXor",
                                            "Softmax",
                                            "Trilu",
                                            "DepthToSpace",
                                            "Celu"};
  return ops;
}

// What is known of one element of a small integer tensor computed from
// shapes: a number, a dimension's symbol, or nothing.
struct Element {
  std::optional<std::int64_t> number;
  std::string symbol;
};

// The contents of a 0-D or 1-D integer tensor, as far as known.
struct ShapeData {
  std::vector<Element> elements;
  bool scalar = false;
};

Element element_of_dim(const Dim& dim) {
  if (dim.is_fixed()) return Element{dim.size, {}};
  return Element{std::nullopt, dim.symbol};
}

// A size element as a dimension; nullopt for a negative number.
std::optional<Dim> dim_of_element(const Element& element) {
  if (element.number) {
    if (*element.number < 0) return std::nullopt;
    return fixed(*element.number);
  }
  return Dim{-1, element.symbol};
}

class TypeInference {
 public:
  TypeInference(const OnnxModel& model, Dataflow& dataflow) : model_(model), dataflow_(dataflow) {
    for (const TensorRef& tensor : model.initializers) initializer_payload_[tensor.name] = tensor.payload;
    for (const Opset& opset : model.opsets) {
      if (opset.domain.empty() || opset.domain == "ai.onnx") opset_ = opset.version;
    }
  }

  void run() {
    for (NodeId id : dataflow_.topological_order()) {
      const NodeRef& node = model_.nodes[id];
      if (!node.domain.empty() || node.outputs.empty()) continue;
      for (std::size_t slot = 0; slot < node.outputs.size(); ++slot) {
        if (node.outputs[slot].empty()) continue;
        Value& value = dataflow_.mutable_value(*dataflow_.find_value(node.outputs[slot]));
        if (value.info.known && value.info.has_shape) continue;
        TensorInfo inferred = infer(node, slot);
        if (!inferred.known) continue;
        // Never override what the model records: a shape is only added
        // where the recorded element type agrees.
        if (!value.info.known || (inferred.has_shape && inferred.dtype == value.info.dtype)) value.info = inferred;
      }
      propagate_data(node);
    }
  }

 private:
  const TensorInfo& input(const NodeRef& node, std::size_t index) const {
    static const TensorInfo kUnknown;
    if (index >= node.inputs.size() || node.inputs[index].empty()) return kUnknown;
    const auto id = dataflow_.find_value(node.inputs[index]);
    return id ? dataflow_.value(*id).info : kUnknown;
  }

  bool has_input(const NodeRef& node, std::size_t index) const {
    return index < node.inputs.size() && !node.inputs[index].empty();
  }

  // The shape of input `index` when known (and the input a plain tensor).
  const std::vector<Dim>* shape_of(const NodeRef& node, std::size_t index) const {
    const TensorInfo& info = input(node, index);
    if (!info.known || !info.has_shape || (info.element_bits == 0 && info.dtype != "string")) return nullptr;
    return &info.dims;
  }

  // The integer contents of input `index` when it is a constant.
  std::optional<std::vector<std::int64_t>> constant_ints(const NodeRef& node, std::size_t index) const {
    if (!has_input(node, index)) return std::nullopt;
    const std::string& name = node.inputs[index];
    if (auto it = initializer_payload_.find(name); it != initializer_payload_.end()) {
      // An initializer that is also a graph input can be overridden by the caller.
      for (const ValueInfoRef& graph_input : model_.inputs) {
        if (graph_input.name == name) return std::nullopt;
      }
      return tensor_ints(it->second);
    }
    const auto id = dataflow_.find_value(name);
    if (!id) return std::nullopt;
    const NodeId producer = dataflow_.value(*id).producer;
    if (producer == kNoNode) return std::nullopt;
    const NodeRef& constant = model_.nodes[producer];
    if (constant.op_type != "Constant" || !constant.domain.empty()) return std::nullopt;
    const Attribute value = find_attribute(constant, "value");
    return value.has_tensor ? tensor_ints(value.tensor) : std::nullopt;
  }

  // Axes given as input `index` (newer opsets) or as the attribute "axes"
  // (older ones). Outer nullopt: given but not known here.
  std::optional<std::vector<std::int64_t>> axes_of(const NodeRef& node, std::size_t index) const {
    if (has_input(node, index)) return constant_ints(node, index);
    return ints_attribute(node, "axes");
  }

  // The contents of input `index` when known: worked out from shapes
  // earlier, or a constant 0-D or 1-D integer tensor.
  std::optional<ShapeData> data_of(const NodeRef& node, std::size_t index) const {
    if (!has_input(node, index)) return std::nullopt;
    if (const auto id = dataflow_.find_value(node.inputs[index])) {
      if (auto it = data_.find(*id); it != data_.end()) return it->second;
    }
    const TensorInfo& info = input(node, index);
    if (!info.has_shape || info.dims.size() > 1) return std::nullopt;
    auto values = constant_ints(node, index);
    if (!values || static_cast<std::int64_t>(values->size()) > kMaxRank) return std::nullopt;
    if (info.dims.empty()
            ? values->size() != 1
            : !(info.dims[0].is_fixed() && info.dims[0].size == static_cast<std::int64_t>(values->size()))) {
      return std::nullopt;
    }
    ShapeData data;
    data.scalar = info.dims.empty();
    for (std::int64_t value : *values) data.elements.push_back(Element{value, {}});
    return data;
  }

  // Records what output 0 of `node` holds, for the shape operators whose
  // result is a small int64 tensor made of dimensions.
  void propagate_data(const NodeRef& node) {
    if (!node.domain.empty() || node.outputs.empty() || node.outputs[0].empty()) return;
    const auto id = dataflow_.find_value(node.outputs[0]);
    if (!id) return;
    const TensorInfo& out = dataflow_.value(*id).info;
    if (!out.known || out.dtype != "int64" || !out.has_shape || out.dims.size() > 1) return;
    auto data = computed_data(node);
    if (!data || static_cast<std::int64_t>(data->elements.size()) > kMaxRank) return;
    // The contents must fit the output's own shape.
    if (out.dims.empty() ? !(data->scalar && data->elements.size() == 1)
                         : data->scalar || (out.dims[0].is_fixed() &&
                                            out.dims[0].size != static_cast<std::int64_t>(data->elements.size()))) {
      return;
    }
    data_[*id] = std::move(*data);
  }

  std::optional<ShapeData> computed_data(const NodeRef& node) const {
    const std::string& op = node.op_type;
    if (op == "Shape") {
      const auto* x = shape_of(node, 0);
      if (!x) return std::nullopt;
      const auto r = static_cast<std::int64_t>(x->size());
      auto start = int_attribute(node, "start", 0);
      auto end = int_attribute(node, "end", r);
      if (!start || !end) return std::nullopt;
      auto clamp = [r](std::int64_t index) {
        if (index < 0) index = index < -r ? 0 : index + r;
        return std::min(index, r);
      };
      ShapeData data;
      for (std::int64_t i = clamp(*start); i < clamp(*end); ++i) data.elements.push_back(element_of_dim((*x)[i]));
      return data;
    }
    if (op == "Identity" || op == "Squeeze" || op == "Unsqueeze" || op == "Cast") {
      // The elements stay; propagate_data checks them against the new rank.
      auto data = data_of(node, 0);
      if (!data || data->elements.size() != 1) return data;
      const auto id = dataflow_.find_value(node.outputs[0]);
      data->scalar = dataflow_.value(*id).info.dims.empty();
      return data;
    }
    if (op == "Gather") {
      auto data = data_of(node, 0);
      auto indices = data_of(node, 1);
      auto axis = int_attribute(node, "axis", 0);
      if (!data || data->scalar || !indices || !axis || (*axis != 0 && *axis != -1)) return std::nullopt;
      const auto size = static_cast<std::int64_t>(data->elements.size());
      ShapeData picked;
      picked.scalar = indices->scalar;
      for (const Element& index : indices->elements) {
        if (!index.number || *index.number < -size || *index.number >= size) return std::nullopt;
        picked.elements.push_back(data->elements[*index.number < 0 ? *index.number + size : *index.number]);
      }
      return picked;
    }
    if (op == "Concat") {
      auto axis = int_attribute(node, "axis", 0);
      if (!axis || (*axis != 0 && *axis != -1)) return std::nullopt;
      ShapeData joined;
      for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        auto data = data_of(node, i);
        if (!data || data->scalar) return std::nullopt;
        joined.elements.insert(joined.elements.end(), data->elements.begin(), data->elements.end());
        if (static_cast<std::int64_t>(joined.elements.size()) > kMaxRank) return std::nullopt;
      }
      return joined;
    }
    if (op == "Slice") {
      // Only the plain case: one axis, step 1, constant bounds.
      auto data = data_of(node, 0);
      auto starts = constant_ints(node, 1);
      auto ends = constant_ints(node, 2);
      auto axes = has_input(node, 3) ? constant_ints(node, 3)
                                     : std::optional<std::vector<std::int64_t>>(std::vector<std::int64_t>{0});
      auto steps = has_input(node, 4) ? constant_ints(node, 4)
                                      : std::optional<std::vector<std::int64_t>>(std::vector<std::int64_t>{1});
      if (!data || data->scalar || !starts || !ends || !axes || !steps || starts->size() != 1 || ends->size() != 1 ||
          axes->size() != 1 || steps->size() != 1 || ((*axes)[0] != 0 && (*axes)[0] != -1) || (*steps)[0] != 1) {
        return std::nullopt;
      }
      const auto size = static_cast<std::int64_t>(data->elements.size());
      auto clamp = [size](std::int64_t index) {
        if (index < 0) index = index < -size ? 0 : index + size;
        return std::min(index, size);
      };
      const std::int64_t begin = clamp((*starts)[0]), end = clamp((*ends)[0]);
      ShapeData sliced;
      for (std::int64_t i = begin; i < end; ++i) sliced.elements.push_back(data->elements[i]);
      return sliced;
    }
    if (op == "Add" || op == "Sub" || op == "Mul") {
      // Element by element (one side may be a single element): numbers give
      // numbers; anything with a symbol in it is unknown.
      auto a = data_of(node, 0);
      auto b = data_of(node, 1);
      if (!a || !b) return std::nullopt;
      const std::size_t count = std::max(a->elements.size(), b->elements.size());
      if ((a->elements.size() != count && a->elements.size() != 1) ||
          (b->elements.size() != count && b->elements.size() != 1)) {
        return std::nullopt;
      }
      ShapeData result;
      result.scalar = a->scalar && b->scalar;
      for (std::size_t i = 0; i < count; ++i) {
        const Element& x = a->elements[a->elements.size() == 1 ? 0 : i];
        const Element& y = b->elements[b->elements.size() == 1 ? 0 : i];
        Element element;
        if (x.number && y.number) {
          if (op == "Add") element.number = checked_add(*x.number, *y.number);
          if (op == "Sub" && *y.number != std::numeric_limits<std::int64_t>::min()) {
            element.number = checked_add(*x.number, -*y.number);
          }
          if (op == "Mul") element.number = checked_mul(*x.number, *y.number);
        }
        result.elements.push_back(element);
      }
      return result;
    }
    return std::nullopt;
  }

  TensorInfo element_type(const NodeRef& node, std::size_t slot) const {
    const std::string& op = node.op_type;
    static const std::set<std::string> to_bool = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not",
                                                  "And",   "Or",   "Xor",     "IsNaN",       "IsInf"};
    static const std::set<std::string> to_int64 = {"Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression"};
    if (op == "Split") return element_of(input(node, 0));
    if ((op == "TopK" || op == "MaxPool") && slot == 1) return tensor_of(7);
    // Dropout's mask has been bool since opset 10, the input's type before.
    if (op == "Dropout" && slot == 1) return opset_ >= 10 ? tensor_of(9) : TensorInfo{};
    if (slot > 0) return TensorInfo{};
    if (to_bool.count(op)) return tensor_of(9);
    if (to_int64.count(op)) return tensor_of(7);
    if (op == "Cast") {
      const Attribute to = find_attribute(node, "to");
      return to.has_i ? tensor_of(static_cast<int>(to.i)) : TensorInfo{};
    }
    if (op == "EyeLike" || op == "RandomNormalLike" || op == "RandomUniformLike" || op == "Bernoulli") {
      const Attribute dtype = find_attribute(node, "dtype");
      if (dtype.present) return dtype.has_i ? tensor_of(static_cast<int>(dtype.i)) : TensorInfo{};
      return element_of(input(node, 0));
    }
    if (op == "RandomNormal" || op == "RandomUniform") {
      const Attribute dtype = find_attribute(node, "dtype");
      if (!dtype.present) return tensor_of(1);
      return dtype.has_i ? tensor_of(static_cast<int>(dtype.i)) : TensorInfo{};
    }
    if (op == "Constant" || op == "ConstantOfShape") {
      const Attribute value = find_attribute(node, "value");
      if (!value.present) return op == "ConstantOfShape" ? tensor_of(1) : TensorInfo{};
      if (!value.has_tensor) return TensorInfo{};
      return tensor_of(tensor_header(value.tensor).data_type);
    }
    if (op == "CastLike" || op == "Where") return element_of(input(node, 1));
    if (op == "OneHot") return element_of(input(node, 2));
    if (op == "DequantizeLinear") {
      const Attribute output_dtype = find_attribute(node, "output_dtype");
      if (output_dtype.has_i && output_dtype.i != 0) return tensor_of(static_cast<int>(output_dtype.i));
      return element_of(input(node, 1));  // the scale's type (float32 before opset 19)
    }
    if (op == "QuantizeLinear") {
      const Attribute output_dtype = find_attribute(node, "output_dtype");
      if (output_dtype.has_i && output_dtype.i != 0) return tensor_of(static_cast<int>(output_dtype.i));
      return has_input(node, 2) ? element_of(input(node, 2)) : tensor_of(2);
    }
    if (op == "MatMulInteger" || op == "ConvInteger") return tensor_of(6);
    if (same_shape_ops().count(op) || same_dtype_ops().count(op)) return element_of(input(node, 0));
    return TensorInfo{};  // an operator whose typing rule is not known here
  }

  TensorInfo infer(const NodeRef& node, std::size_t slot) const {
    TensorInfo type = element_type(node, slot);
    if (!type.known) return type;
    if (slot == 0) return with_shape(type, shape(node));
    if ((node.op_type == "Dropout" || node.op_type == "MaxPool" || node.op_type == "TopK") &&
        !node.outputs[0].empty()) {
      // The mask and the indices have the shape of output 0.
      const auto id = dataflow_.find_value(node.outputs[0]);
      const TensorInfo& first = dataflow_.value(*id).info;
      if (first.has_shape) return with_shape(type, first.dims);
    }
    return type;
  }

  // Output 0's shape; nullopt when it is not known for sure.
  std::optional<std::vector<Dim>> shape(const NodeRef& node) const {
    const std::string& op = node.op_type;
    if (op == "Constant") {
      const Attribute value = find_attribute(node, "value");
      if (!value.has_tensor) return std::nullopt;
      const TensorHeader tensor = tensor_header(value.tensor);
      if (!element_count(tensor.dims)) return std::nullopt;
      std::vector<Dim> dims;
      for (std::int64_t size : tensor.dims) dims.push_back(fixed(size));
      return dims;
    }
    if (op == "ConstantOfShape") return constant_of_shape(node);
    if (op == "Range") return std::vector<Dim>{Dim{}};
    if (op == "Reshape") return reshape(node);
    if (op == "Expand") return expand(node);
    if (broadcast_ops().count(op)) {
      std::vector<std::vector<Dim>> shapes;
      for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const auto* dims = shape_of(node, i);
        if (!dims) return std::nullopt;
        shapes.push_back(*dims);
      }
      if (shapes.empty()) return std::nullopt;
      return broadcast(shapes);
    }

    const std::vector<Dim>* x_shape = shape_of(node, 0);
    if (!x_shape) return std::nullopt;
    const std::vector<Dim>& x = *x_shape;
    const std::size_t rank = x.size();

    if (same_shape_ops().count(op)) {
      if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax" || op == "CumSum" || op == "LpNormalization") &&
          rank == 0) {
        return std::nullopt;
      }
      return x;
    }
    if (op == "Shape") return shape_of_shape(node, rank);
    if (op == "Size") return std::vector<Dim>{};
    if (op == "MatMul" || op == "MatMulInteger") return matmul(node, x);
    if (op == "Gemm") return gemm(node, x);
    if (op == "Flatten") {
      auto axis_value = int_attribute(node, "axis", 1);
      // Flatten's axis may equal the rank: everything goes to the first dim.
      if (!axis_value || *axis_value < -static_cast<std::int64_t>(rank) ||
          *axis_value > static_cast<std::int64_t>(rank)) {
        return std::nullopt;
      }
      const auto axis =
          static_cast<std::size_t>(*axis_value < 0 ? *axis_value + static_cast<std::int64_t>(rank) : *axis_value);
      return std::vector<Dim>{axis == 0 ? fixed(1) : product_of(x, 0, axis),
                              axis == rank ? fixed(1) : product_of(x, axis, rank)};
    }
    if (op == "Transpose") {
      auto perm = ints_attribute(node, "perm");
      if (!perm) return std::nullopt;
      if (perm->empty()) {
        for (std::size_t i = 0; i < rank; ++i) perm->push_back(static_cast<std::int64_t>(rank - 1 - i));
      }
      if (perm->size() != rank) return std::nullopt;
      std::vector<bool> used(rank, false);
      std::vector<Dim> dims;
      for (std::int64_t from : *perm) {
        if (from < 0 || from >= static_cast<std::int64_t>(rank) || used[from]) return std::nullopt;
        used[from] = true;
        dims.push_back(x[from]);
      }
      return dims;
    }
    if (op == "GlobalAveragePool" || op == "GlobalMaxPool" || op == "GlobalLpPool") {
      if (rank < 3) return std::nullopt;
      std::vector<Dim> dims = {x[0], x[1]};
      dims.resize(rank, fixed(1));
      return dims;
    }
    if (op == "Conv" || op == "MaxPool" || op == "AveragePool" || op == "LpPool") return pooled(node, x);
    if (op == "Concat") return concat(node, x);
    if (op == "Pad") return pad(node, x);
    if (op == "Unsqueeze") return unsqueeze(node, x);
    if (op == "Squeeze") return squeeze(node, x);
    if (op.rfind("Reduce", 0) == 0 || op == "ArgMax" || op == "ArgMin") return reduce(node, x);
    if (op == "Gather") {
      const auto* indices = shape_of(node, 1);
      auto axis_value = int_attribute(node, "axis", 0);
      if (!indices || !axis_value) return std::nullopt;
      auto axis = checked_axis(*axis_value, rank);
      if (!axis) return std::nullopt;
      std::vector<Dim> dims(x.begin(), x.begin() + *axis);
      dims.insert(dims.end(), indices->begin(), indices->end());
      dims.insert(dims.end(), x.begin() + *axis + 1, x.end());
      return dims;
    }
    if (op == "GatherElements") {
      const auto* indices = shape_of(node, 1);
      auto axis_value = int_attribute(node, "axis", 0);
      if (!indices || indices->size() != rank || !axis_value || !checked_axis(*axis_value, rank)) return std::nullopt;
      return *indices;
    }
    if (op == "Slice" || op == "Resize" || op == "Upsample" || op == "Tile" || op == "TopK" || op == "DepthToSpace" ||
        op == "SpaceToDepth") {
      // Same rank; the sizes depend on values not worked out here.
      if (rank == 0 || ((op == "DepthToSpace" || op == "SpaceToDepth") && rank != 4)) return std::nullopt;
      return std::vector<Dim>(rank);
    }
    if (op == "Split") {
      auto axis_value = int_attribute(node, "axis", 0);
      if (!axis_value || !checked_axis(*axis_value, rank)) return std::nullopt;
      return std::vector<Dim>(rank);
    }
    return std::nullopt;
  }

  std::optional<std::vector<Dim>> shape_of_shape(const NodeRef& node, std::size_t rank) const {
    auto start = int_attribute(node, "start", 0);
    auto end = int_attribute(node, "end", static_cast<std::int64_t>(rank));
    if (!start || !end) return std::nullopt;
    const auto r = static_cast<std::int64_t>(rank);
    auto clamp = [r](std::int64_t index) {
      if (index < 0) index = index < -r ? 0 : index + r;  // NB: no r + index overflow for huge negatives
      return std::min(index, r);
    };
    return std::vector<Dim>{fixed(std::max<std::int64_t>(0, clamp(*end) - clamp(*start)))};
  }

  // A 1-D shape input's length, when fixed and within limits.
  std::optional<std::size_t> shape_length(const NodeRef& node, std::size_t index) const {
    const auto* dims = shape_of(node, index);
    if (!dims || dims->size() != 1 || !(*dims)[0].is_fixed() || (*dims)[0].size > kMaxRank) return std::nullopt;
    return static_cast<std::size_t>((*dims)[0].size);
  }

  std::optional<std::vector<Dim>> constant_of_shape(const NodeRef& node) const {
    if (auto sizes = constant_ints(node, 0)) {
      if (static_cast<std::int64_t>(sizes->size()) > kMaxRank) return std::nullopt;
      std::vector<Dim> dims;
      for (std::int64_t size : *sizes) {
        if (size < 0) return std::nullopt;
        dims.push_back(fixed(size));
      }
      return dims;
    }
    if (auto data = data_of(node, 0); data && !data->scalar) {
      std::vector<Dim> dims;
      for (const Element& element : data->elements) {
        auto dim = dim_of_element(element);
        if (!dim) return std::nullopt;
        dims.push_back(*dim);
      }
      return dims;
    }
    auto length = shape_length(node, 0);
    if (!length) return std::nullopt;
    return std::vector<Dim>(*length);
  }

  std::optional<std::vector<Dim>> reshape(const NodeRef& node) const {
    const auto* x = shape_of(node, 0);
    auto target = constant_ints(node, 1);
    auto allow_zero = int_attribute(node, "allowzero", 0);
    if (!allow_zero) return std::nullopt;
    if (!target) {
      auto data = data_of(node, 1);
      if (data && !data->scalar) return reshape_to(x, data->elements, *allow_zero);
      // A computed target not followed here: only the rank is known.
      auto length = shape_length(node, 1);
      if (!length) return std::nullopt;
      return std::vector<Dim>(*length);
    }
    if (static_cast<std::int64_t>(target->size()) > kMaxRank) return std::nullopt;
    std::vector<Dim> dims;
    std::optional<std::size_t> infer_axis;
    for (std::size_t i = 0; i < target->size(); ++i) {
      const std::int64_t size = (*target)[i];
      if (size == 0 && *allow_zero == 0) {
        if (x && i >= x->size()) return std::nullopt;
        dims.push_back(x ? (*x)[i] : Dim{});
      } else if (size == -1) {
        if (infer_axis) return std::nullopt;  // at most one -1
        infer_axis = i;
        dims.push_back(Dim{});
      } else if (size < 0) {
        return std::nullopt;
      } else {
        dims.push_back(fixed(size));
      }
    }
    if (!x) {
      // Without the input's shape, a -1 or a copied dim stays unknown.
      return dims;
    }
    // Element counts must agree; where all is fixed, check it (a wrong
    // target is an invalid model: no shape).
    const Dim total = product_of(*x, 0, x->size());
    std::int64_t known = 1;
    bool others_fixed = true;
    for (std::size_t i = 0; i < dims.size(); ++i) {
      if (infer_axis && i == *infer_axis) continue;
      if (!dims[i].is_fixed()) {
        others_fixed = false;
        continue;
      }
      auto next = checked_mul(known, dims[i].size);
      if (!next) return std::nullopt;
      known = *next;
    }
    if (!total.is_fixed() || !others_fixed) return dims;
    if (infer_axis) {
      if (known == 0 || total.size % known != 0) return std::nullopt;
      dims[*infer_axis] = fixed(total.size / known);
    } else if (known != total.size) {
      return std::nullopt;
    }
    return dims;
  }

  // Reshape to a computed target: numbers follow the constant rules, a
  // symbol is that dimension, an unknown element an unknown one (it may be
  // 0 or -1 at run time, but only its own dimension depends on it).
  std::optional<std::vector<Dim>> reshape_to(const std::vector<Dim>* x, const std::vector<Element>& target,
                                             std::int64_t allow_zero) const {
    std::vector<Dim> dims;
    std::optional<std::size_t> infer_axis;
    bool others_fixed = true;
    std::int64_t known = 1;
    for (std::size_t i = 0; i < target.size(); ++i) {
      const Element& element = target[i];
      if (!element.number) {
        dims.push_back(Dim{-1, element.symbol});
        others_fixed = false;
        continue;
      }
      const std::int64_t size = *element.number;
      if (size == 0 && allow_zero == 0) {
        if (x && i >= x->size()) return std::nullopt;
        dims.push_back(x ? (*x)[i] : Dim{});
        if (!dims.back().is_fixed()) others_fixed = false;
      } else if (size == -1) {
        if (infer_axis) return std::nullopt;
        infer_axis = i;
        dims.push_back(Dim{});
        continue;
      } else if (size < 0) {
        return std::nullopt;
      } else {
        dims.push_back(fixed(size));
      }
      if (dims.back().is_fixed()) {
        auto next = checked_mul(known, dims.back().size);
        if (!next) return std::nullopt;
        known = *next;
      }
    }
    if (!x) return dims;
    const Dim total = product_of(*x, 0, x->size());
    if (!total.is_fixed() || !others_fixed) return dims;
    if (infer_axis) {
      if (known == 0 || total.size % known != 0) return std::nullopt;
      dims[*infer_axis] = fixed(total.size / known);
    } else if (known != total.size) {
      return std::nullopt;
    }
    return dims;
  }

  std::optional<std::vector<Dim>> expand(const NodeRef& node) const {
    const auto* x = shape_of(node, 0);
    if (!x) return std::nullopt;
    if (auto sizes = constant_ints(node, 1)) {
      if (static_cast<std::int64_t>(sizes->size()) > kMaxRank) return std::nullopt;
      std::vector<Dim> target;
      for (std::int64_t size : *sizes) {
        if (size < 0) return std::nullopt;
        target.push_back(fixed(size));
      }
      return broadcast({*x, target});
    }
    if (auto data = data_of(node, 1); data && !data->scalar) {
      std::vector<Dim> target;
      for (const Element& element : data->elements) {
        auto dim = dim_of_element(element);
        if (!dim) return std::nullopt;
        target.push_back(*dim);
      }
      return broadcast({*x, target});
    }
    auto length = shape_length(node, 1);
    if (!length) return std::nullopt;
    return std::vector<Dim>(std::max(*length, x->size()));
  }

  std::optional<std::vector<Dim>> matmul(const NodeRef& node, std::vector<Dim> a) const {
    const auto* b_shape = shape_of(node, 1);
    if (!b_shape || a.empty() || b_shape->empty()) return std::nullopt;
    std::vector<Dim> b = *b_shape;
    // Numpy's rules: a 1-D operand is a row (a) or a column (b) vector whose
    // extra dimension is dropped from the result.
    const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
    if (a_vector) a.insert(a.begin(), fixed(1));
    if (b_vector) b.push_back(fixed(1));
    const Dim& k_a = a.back();
    const Dim& k_b = b[b.size() - 2];
    if (k_a.is_fixed() && k_b.is_fixed() && k_a.size != k_b.size) return std::nullopt;
    auto batch = broadcast({std::vector<Dim>(a.begin(), a.end() - 2), std::vector<Dim>(b.begin(), b.end() - 2)});
    if (!batch) return std::nullopt;
    std::vector<Dim> dims = std::move(*batch);
    if (!a_vector) dims.push_back(a[a.size() - 2]);
    if (!b_vector) dims.push_back(b.back());
    return dims;
  }

  std::optional<std::vector<Dim>> gemm(const NodeRef& node, const std::vector<Dim>& a) const {
    const auto* b = shape_of(node, 1);
    auto trans_a = int_attribute(node, "transA", 0);
    auto trans_b = int_attribute(node, "transB", 0);
    if (!b || a.size() != 2 || b->size() != 2 || !trans_a || !trans_b) return std::nullopt;
    const Dim& m = a[*trans_a ? 1 : 0];
    const Dim& k_a = a[*trans_a ? 0 : 1];
    const Dim& k_b = (*b)[*trans_b ? 1 : 0];
    const Dim& n = (*b)[*trans_b ? 0 : 1];
    if (k_a.is_fixed() && k_b.is_fixed() && k_a.size != k_b.size) return std::nullopt;
    return std::vector<Dim>{m, n};
  }

  // Output shape of Conv and pooling: batch passes through, channels from
  // the weight (Conv) or the input (pooling), spatial sizes from the
  // attributes when the input's are fixed. Invalid attributes give no shape.
  std::optional<std::vector<Dim>> pooled(const NodeRef& node, const std::vector<Dim>& x) const {
    const std::size_t rank = x.size();
    if (rank < 3) return std::nullopt;
    const std::size_t spatial = rank - 2;
    std::vector<Dim> dims = {x[0], x[1]};
    auto kernel = ints_attribute(node, "kernel_shape");
    if (!kernel) return std::nullopt;
    if (node.op_type == "Conv") {
      const auto* w = shape_of(node, 1);
      auto group = int_attribute(node, "group", 1);
      if (!w || w->size() != rank || !group || *group <= 0) return std::nullopt;
      dims[1] = (*w)[0];
      // Input channels must be the weight's times the group count.
      if (x[1].is_fixed() && (*w)[1].is_fixed()) {
        auto channels = checked_mul((*w)[1].size, *group);
        if (!channels || *channels != x[1].size) return std::nullopt;
      }
      if (kernel->empty()) {
        for (std::size_t i = 2; i < rank; ++i) kernel->push_back((*w)[i].is_fixed() ? (*w)[i].size : -1);
      } else if (kernel->size() == spatial) {
        for (std::size_t i = 0; i < spatial; ++i) {
          if ((*w)[i + 2].is_fixed() && (*w)[i + 2].size != (*kernel)[i]) return std::nullopt;
        }
      }
    } else {
      for (std::int64_t size : *kernel) {
        if (size <= 0) return std::nullopt;
      }
    }
    if (kernel->size() != spatial) return std::nullopt;
    auto list = [&](const char* name, std::int64_t fallback, std::size_t count,
                    std::int64_t minimum) -> std::optional<std::vector<std::int64_t>> {
      auto values = ints_attribute(node, name);
      if (!values) return std::nullopt;
      if (values->empty()) values->assign(count, fallback);
      if (values->size() != count) return std::nullopt;
      for (std::int64_t value : *values) {
        if (value < minimum) return std::nullopt;
      }
      return values;
    };
    const auto strides = list("strides", 1, spatial, 1);
    const auto dilations = list("dilations", 1, spatial, 1);
    const auto pads = list("pads", 0, 2 * spatial, 0);
    const Attribute auto_pad_attribute = find_attribute(node, "auto_pad");
    const std::string auto_pad = auto_pad_attribute.present ? auto_pad_attribute.s : "NOTSET";
    auto ceil_mode = int_attribute(node, "ceil_mode", 0);
    if (!strides || !dilations || !pads || !ceil_mode) return std::nullopt;
    if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
      return std::nullopt;
    }
    // NB: sizes are bounded so that nothing below overflows: a size past
    // 2^40 is left unknown.
    constexpr std::int64_t kLarge = std::int64_t{1} << 40;
    for (std::size_t i = 0; i < spatial; ++i) {
      const Dim& in = x[i + 2];
      const std::int64_t k = (*kernel)[i], s = (*strides)[i], d = (*dilations)[i];
      if (!in.is_fixed() || k <= 0 || in.size > kLarge || k > kLarge || s > kLarge || d > kLarge ||
          (*pads)[i] > kLarge || (*pads)[i + spatial] > kLarge) {
        dims.push_back(Dim{});
        continue;
      }
      if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        dims.push_back(fixed((in.size + s - 1) / s));
        continue;
      }
      const std::int64_t pad_sum = auto_pad == "NOTSET" ? (*pads)[i] + (*pads)[i + spatial] : 0;
      const auto stretched = checked_mul(d, k - 1);
      if (!stretched || *stretched > kLarge) {
        dims.push_back(Dim{});
        continue;
      }
      const std::int64_t span = *stretched + 1;
      const std::int64_t numerator = in.size + pad_sum - span;
      if (numerator < 0) return std::nullopt;  // the window does not fit
      if (*ceil_mode != 0 && numerator % s != 0) {
        // Rounding up adds a last, partial window. ONNX shape inference
        // always counts it; ONNX Runtime drops it when it would start in
        // the end padding. Known only where both agree: it starts inside
        // the input or the begin padding.
        const std::int64_t windows = numerator / s + 2;
        const bool starts_inside = (windows - 1) * s < in.size + (auto_pad == "NOTSET" ? (*pads)[i] : 0);
        dims.push_back(starts_inside ? fixed(windows) : Dim{});
        continue;
      }
      dims.push_back(fixed(numerator / s + 1));
    }
    return dims;
  }

  std::optional<std::vector<Dim>> concat(const NodeRef& node, const std::vector<Dim>& x) const {
    const std::size_t rank = x.size();
    const Attribute axis_attribute = find_attribute(node, "axis");
    if (!axis_attribute.has_i) return std::nullopt;
    auto axis = checked_axis(axis_attribute.i, rank);
    if (!axis) return std::nullopt;
    std::vector<Dim> dims = x;
    std::int64_t total = 0;
    bool total_known = true;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const auto* part = shape_of(node, i);
      if (!part) {
        // Its rank is unknown, so no other dim can be checked against it.
        total_known = false;
        continue;
      }
      if (part->size() != rank) return std::nullopt;
      for (std::size_t d = 0; d < rank; ++d) {
        if (d == *axis) continue;
        auto merged = unify(dims[d], (*part)[d]);
        if (!merged) return std::nullopt;
        dims[d] = *merged;
      }
      const Dim& size = (*part)[*axis];
      auto next = size.is_fixed() ? checked_add(total, size.size) : std::nullopt;
      if (!next) total_known = false;
      total = next.value_or(0);
    }
    dims[*axis] = total_known ? fixed(total) : Dim{};
    return dims;
  }

  std::optional<std::vector<Dim>> pad(const NodeRef& node, const std::vector<Dim>& x) const {
    const std::size_t rank = x.size();
    std::optional<std::vector<std::int64_t>> pads =
        has_input(node, 1) ? constant_ints(node, 1) : ints_attribute(node, "pads");
    std::vector<Dim> dims(rank);
    if (!pads || has_input(node, 3)) return dims;  // pads not known, or only on some axes
    if (pads->size() != 2 * rank) return std::nullopt;
    for (std::size_t i = 0; i < rank; ++i) {
      const std::int64_t begin = (*pads)[i], end = (*pads)[i + rank];
      if (begin == 0 && end == 0) {
        dims[i] = x[i];
        continue;
      }
      if (!x[i].is_fixed()) continue;
      auto grown = checked_add(x[i].size, begin);
      if (grown) grown = checked_add(*grown, end);
      if (!grown) continue;
      if (*grown < 0) return std::nullopt;
      dims[i] = fixed(*grown);
    }
    return dims;
  }

  std::optional<std::vector<Dim>> unsqueeze(const NodeRef& node, const std::vector<Dim>& x) const {
    auto axes = axes_of(node, 1);
    if (!axes || axes->empty() || static_cast<std::int64_t>(axes->size()) > kMaxRank) return std::nullopt;
    const std::size_t out_rank = x.size() + axes->size();
    auto inserted = checked_axes(*axes, out_rank);
    if (!inserted) return std::nullopt;
    std::vector<Dim> dims;
    std::size_t next = 0;
    for (std::size_t i = 0; i < out_rank; ++i) dims.push_back(inserted->count(i) ? fixed(1) : x[next++]);
    return dims;
  }

  std::optional<std::vector<Dim>> squeeze(const NodeRef& node, const std::vector<Dim>& x) const {
    auto axes = axes_of(node, 1);
    if (!axes) return std::nullopt;
    std::vector<Dim> dims;
    if (axes->empty()) {
      // Every dim of size 1 goes: only known when every dim is fixed.
      for (const Dim& dim : x) {
        if (!dim.is_fixed()) return std::nullopt;
        if (dim.size != 1) dims.push_back(dim);
      }
      return dims;
    }
    auto removed = checked_axes(*axes, x.size());
    if (!removed) return std::nullopt;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!removed->count(i)) {
        dims.push_back(x[i]);
      } else if (x[i].is_fixed() && x[i].size != 1) {
        return std::nullopt;  // squeezing a dim that is not 1
      }
    }
    return dims;
  }

  std::optional<std::vector<Dim>> reduce(const NodeRef& node, const std::vector<Dim>& x) const {
    const std::size_t rank = x.size();
    auto keepdims = int_attribute(node, "keepdims", 1);
    if (!keepdims) return std::nullopt;
    std::set<std::size_t> reduced;
    if (node.op_type == "ArgMax" || node.op_type == "ArgMin") {
      auto axis_value = int_attribute(node, "axis", 0);
      auto axis = axis_value ? checked_axis(*axis_value, rank) : std::nullopt;
      if (!axis) return std::nullopt;
      reduced.insert(*axis);
    } else {
      auto noop = int_attribute(node, "noop_with_empty_axes", 0);
      auto axes = axes_of(node, 1);
      if (!noop) return std::nullopt;
      if (!axes) {
        // Axes computed at run time: with keepdims the rank is still known.
        if (*keepdims == 0) return std::nullopt;
        return std::vector<Dim>(rank);
      }
      if (axes->empty()) {
        if (*noop != 0) return x;
        for (std::size_t i = 0; i < rank; ++i) reduced.insert(i);
      } else {
        auto checked = checked_axes(*axes, rank);
        if (!checked) return std::nullopt;
        reduced = std::move(*checked);
      }
    }
    std::vector<Dim> dims;
    for (std::size_t i = 0; i < rank; ++i) {
      if (!reduced.count(i)) {
        dims.push_back(x[i]);
      } else if (*keepdims != 0) {
        dims.push_back(fixed(1));
      }
    }
    return dims;
  }

  const OnnxModel& model_;
  Dataflow& dataflow_;
  std::map<std::string, std::string_view> initializer_payload_;
  std::map<ValueId, ShapeData> data_;  // contents worked out, by value
  std::int64_t opset_ = 0;             // of the default domain
};

}  // namespace

void infer_missing_types(const OnnxModel& model, Dataflow& dataflow) { TypeInference(model, dataflow).run(); }

std::string type_proto_from_info(const TensorInfo& info) {
  wire::Rope tensor;
  tensor.add_varint_field(1, static_cast<std::uint64_t>(data_type_code(info.dtype)));
  if (info.has_shape) {
    wire::Rope shape;
    for (const Dim& dim : info.dims) {
      wire::Rope dimension;
      if (dim.is_fixed()) dimension.add_varint_field(1, static_cast<std::uint64_t>(dim.size));
      if (!dim.is_fixed() && !dim.symbol.empty()) dimension.add_bytes_field(2, dim.symbol);
      shape.add_message_field(1, std::move(dimension));
    }
    tensor.add_message_field(2, std::move(shape));
  }
  wire::Rope type;
  type.add_message_field(1, std::move(tensor));
  return type.to_string();
}

}  // namespace modelcut::onnx
