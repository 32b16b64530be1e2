// Type and shape propagation for values an ONNX model records no type for.
//
// Exporters often leave value_info empty (tf2onnx, PyTorch's TorchScript
// exporter), yet every value crossing a cut needs a type to become a graph
// input. The Python layer runs ONNX's own shape inference first; this is the
// fallback that lets the C++ library cut such models on its own. It knows
// the element type rules of the standard operators and the shapes of the
// common ones; where it cannot tell a shape it gives the element type alone,
// which is still a valid ONNX graph input. Symbolic dimensions ("batch") are
// carried through where an operator passes a dimension on unchanged.
#include "infer_types.h"

#include <cstring>
#include <set>

#include "modelcut/error.h"

namespace modelcut::onnx {
namespace {

struct Attribute {
  bool present = false;
  std::int64_t i = 0;
  std::vector<std::int64_t> ints;
  std::string s;
  std::string_view tensor;  // TensorProto payload
};

Attribute find_attribute(const NodeRef& node, const std::string& name) {
  Attribute attribute;
  wire::Reader reader(node.payload, "node " + node.name);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number != field::kNodeAttribute) continue;
    wire::Reader inner(field.bytes, "attribute");
    wire::Field part;
    Attribute candidate;
    std::string attribute_name;
    while (inner.next(part)) {
      if (part.number == field::kAttributeName) attribute_name = std::string(part.bytes);
      if (part.number == 3) candidate.i = static_cast<std::int64_t>(part.varint);
      if (part.number == 8) wire::append_int64s(part, candidate.ints, "attribute");
      if (part.number == 4) candidate.s = std::string(part.bytes);
      if (part.number == 5) candidate.tensor = part.bytes;
    }
    if (attribute_name == name) {
      candidate.present = true;
      return candidate;
    }
  }
  return attribute;
}

// Values of a small int64/int32 tensor (shapes, axes), or nullopt.
std::optional<std::vector<std::int64_t>> tensor_ints(std::string_view payload) {
  TensorRef tensor;
  std::vector<std::int64_t> values;
  std::string_view raw;
  wire::Reader reader(payload, "tensor");
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == field::kTensorDataType) tensor.data_type = static_cast<int>(field.varint);
    if (field.number == field::kTensorDataLocation && field.varint == 1) return std::nullopt;
    if (field.number == field::kTensorRawData) raw = field.bytes;
    if (field.number == 7 || field.number == 5) wire::append_int64s(field, values, "tensor");  // int64_data, int32_data
  }
  const int width = tensor.data_type == 7 ? 8 : tensor.data_type == 6 ? 4 : 0;
  if (width == 0) return std::nullopt;
  if (!raw.empty()) {
    values.clear();
    for (std::size_t offset = 0; offset + width <= raw.size(); offset += width) {
      if (width == 8) {
        std::int64_t value;
        std::memcpy(&value, raw.data() + offset, 8);
        values.push_back(value);
      } else {
        std::int32_t value;
        std::memcpy(&value, raw.data() + offset, 4);
        values.push_back(value);
      }
    }
  }
  return values;
}

TensorInfo tensor_of(const std::string& dtype, int bits) {
  TensorInfo info;
  info.known = true;
  info.dtype = dtype;
  info.element_bits = bits;
  return info;
}

TensorInfo with_shape(TensorInfo info, std::vector<Dim> dims) {
  info.has_shape = true;
  info.dims = std::move(dims);
  return info;
}

TensorInfo without_shape(TensorInfo info) {
  info.has_shape = false;
  info.dims.clear();
  return info;
}

Dim fixed(std::int64_t size) { return Dim{size, {}}; }

std::int64_t normalize_axis(std::int64_t axis, std::size_t rank) {
  return axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis;
}

// Numpy-style broadcasting of known shapes; nullopt when it cannot be told.
std::optional<std::vector<Dim>> broadcast(const std::vector<const TensorInfo*>& operands) {
  std::size_t rank = 0;
  for (const TensorInfo* info : operands) {
    if (!info->has_shape) return std::nullopt;
    rank = std::max(rank, info->dims.size());
  }
  std::vector<Dim> dims(rank, fixed(1));
  for (std::size_t axis = 0; axis < rank; ++axis) {
    std::optional<Dim> result;
    for (const TensorInfo* info : operands) {
      const std::size_t offset = rank - info->dims.size();
      if (axis < offset) continue;
      const Dim& dim = info->dims[axis - offset];
      if (dim.is_fixed() && dim.size == 1) continue;
      if (!result) {
        result = dim;
      } else if (!(result->is_fixed() && dim.is_fixed() && result->size == dim.size) &&
                 !(!result->is_fixed() && !dim.is_fixed() && result->symbol == dim.symbol && !dim.symbol.empty())) {
        if (!result->is_fixed() || !dim.is_fixed()) {
          result = Dim{};  // unknown
        } else {
          return std::nullopt;
        }
      }
    }
    dims[axis] = result.value_or(fixed(1));
  }
  return dims;
}

const std::set<std::string>& same_shape_ops() {
  static const std::set<std::string> ops = {
      "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf", "Gelu", "Elu", "Selu",
      "Celu", "Softplus", "Softsign", "Mish", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Sign", "Floor",
      "Ceil", "Round", "Sin", "Cos", "Identity", "Dropout", "Clip", "Softmax", "LogSoftmax", "Hardmax",
      "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization",
      "LpNormalization", "Not", "Cast", "CastLike", "IsNaN", "IsInf", "Shrink", "ThresholdedRelu", "CumSum",
      "QuantizeLinear", "DequantizeLinear", "Trilu", "SimplifiedLayerNormalization", "SkipLayerNormalization"};
  return ops;
}

const std::set<std::string>& broadcast_ops() {
  static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum",
                                            "Mean", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
                                            "And", "Or", "Xor", "Where", "BitShift", "BitwiseAnd", "BitwiseOr"};
  return ops;
}

// Operators whose output has the input's rank; sizes are not worked out.
const std::set<std::string>& same_rank_ops() {
  static const std::set<std::string> ops = {"Slice", "Resize", "Upsample", "Tile", "DepthToSpace", "SpaceToDepth",
                                            "TopK", "ScatterND", "ScatterElements", "GatherElements",
                                            "ReverseSequence", "Split", "Expand"};
  return ops;
}

class TypeInference {
 public:
  TypeInference(const OnnxModel& model, Dataflow& dataflow) : model_(model), dataflow_(dataflow) {
    for (const TensorRef& tensor : model.initializers) initializer_payload_[tensor.name] = tensor.payload;
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
        if (inferred.known && (!value.info.known || inferred.has_shape)) value.info = inferred;
      }
    }
  }

 private:
  const TensorInfo& input(const NodeRef& node, std::size_t index) const {
    static const TensorInfo kUnknown;
    if (index >= node.inputs.size() || node.inputs[index].empty()) return kUnknown;
    const auto id = dataflow_.find_value(node.inputs[index]);
    return id ? dataflow_.value(*id).info : kUnknown;
  }

  // The integer contents of input `index` when it is a constant.
  std::optional<std::vector<std::int64_t>> constant_ints(const NodeRef& node, std::size_t index) const {
    if (index >= node.inputs.size()) return std::nullopt;
    const std::string& name = node.inputs[index];
    if (auto it = initializer_payload_.find(name); it != initializer_payload_.end()) return tensor_ints(it->second);
    const auto id = dataflow_.find_value(name);
    if (!id) return std::nullopt;
    const NodeId producer = dataflow_.value(*id).producer;
    if (producer == kNoNode || model_.nodes[producer].op_type != "Constant") return std::nullopt;
    const Attribute value = find_attribute(model_.nodes[producer], "value");
    return value.present ? tensor_ints(value.tensor) : std::nullopt;
  }

  TensorInfo element_type(const NodeRef& node, std::size_t slot) const {
    const std::string& op = node.op_type;
    static const std::set<std::string> to_bool = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
                                                  "Not", "And", "Or", "Xor", "IsNaN", "IsInf"};
    static const std::set<std::string> to_int64 = {"Shape", "Size", "NonZero", "ArgMax", "ArgMin"};
    if (to_bool.count(op)) return tensor_of("bool", 8);
    if (to_int64.count(op) || (op == "TopK" && slot == 1) || (op == "MaxPool" && slot == 1)) {
      return tensor_of("int64", 64);
    }
    if (op == "Cast" || op == "RandomNormal" || op == "RandomUniform" || op == "EyeLike") {
      const Attribute to = find_attribute(node, op == "Cast" ? "to" : "dtype");
      const int code = to.present ? static_cast<int>(to.i) : 1;
      return tensor_of(dtype_name(code), element_bits_of(code));
    }
    if (op == "Constant" || op == "ConstantOfShape") {
      const Attribute value = find_attribute(node, "value");
      if (!value.present) return op == "ConstantOfShape" ? tensor_of("float32", 32) : TensorInfo{};
      const TensorRef tensor = tensor_dims(value.tensor);
      return tensor_of(dtype_name(tensor.data_type), element_bits_of(tensor.data_type));
    }
    if (op == "CastLike") return without_shape(input(node, 1));
    if (op == "Where") return without_shape(input(node, 1));
    if (op == "OneHot") return without_shape(input(node, 2));
    if (op == "DequantizeLinear") return tensor_of("float32", 32);
    if (op == "QuantizeLinear") return node.inputs.size() > 2 ? without_shape(input(node, 2)) : tensor_of("uint8", 8);
    if (op == "MatMulInteger" || op == "ConvInteger") return tensor_of("int32", 32);
    if (op == "If" || op == "Loop" || op == "Scan" || op == "SequenceConstruct" || op == "Split" ||
        op == "SplitToSequence") {
      return op == "Split" ? without_shape(input(node, 0)) : TensorInfo{};
    }
    return without_shape(input(node, 0));
  }

  TensorInfo infer(const NodeRef& node, std::size_t slot) const {
    TensorInfo type = element_type(node, slot);
    if (!type.known || slot > 0) return type;
    const std::string& op = node.op_type;
    const TensorInfo& x = input(node, 0);
    if (same_shape_ops().count(op)) return x.has_shape ? with_shape(type, x.dims) : type;
    if (broadcast_ops().count(op)) {
      std::vector<const TensorInfo*> operands;
      for (std::size_t i = 0; i < node.inputs.size(); ++i) operands.push_back(&input(node, i));
      auto dims = broadcast(operands);
      return dims ? with_shape(type, *dims) : type;
    }
    if (op == "Constant") {
      const TensorRef tensor = tensor_dims(find_attribute(node, "value").tensor);
      std::vector<Dim> dims;
      for (std::int64_t size : tensor.dims) dims.push_back(fixed(size));
      return with_shape(type, dims);
    }
    if (op == "Shape" && x.has_shape) return with_shape(type, {fixed(static_cast<std::int64_t>(x.dims.size()))});
    if (op == "ConstantOfShape" && x.has_shape && x.dims.size() == 1 && x.dims[0].is_fixed()) {
      auto sizes = constant_ints(node, 0);
      std::vector<Dim> dims(static_cast<std::size_t>(x.dims[0].size));
      if (sizes && sizes->size() == dims.size()) {
        for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = fixed((*sizes)[i]);
      }
      return with_shape(type, dims);
    }
    if (op == "Range") return with_shape(type, {Dim{}});
    if (op == "Reshape") {
      auto target = constant_ints(node, 1);
      const TensorInfo& target_info = input(node, 1);
      if (!target || !x.has_shape) {
        // Computed target shape (or unknown input): only the rank is known.
        if (!target_info.has_shape || target_info.dims.size() != 1 || !target_info.dims[0].is_fixed()) return type;
        return with_shape(type, std::vector<Dim>(static_cast<std::size_t>(target_info.dims[0].size)));
      }
      std::vector<Dim> dims;
      std::int64_t known_product = 1;
      std::size_t infer_axis = SIZE_MAX;
      for (std::size_t i = 0; i < target->size(); ++i) {
        const std::int64_t size = (*target)[i];
        if (size == 0 && i < x.dims.size()) {
          dims.push_back(x.dims[i]);
        } else if (size == -1) {
          infer_axis = i;
          dims.push_back(Dim{});
        } else {
          dims.push_back(fixed(size));
        }
        if (dims.back().is_fixed()) known_product *= dims.back().size;
      }
      if (infer_axis != SIZE_MAX) {
        // Only when every other dimension is fixed, and the input's too.
        std::int64_t total = 1;
        bool all_fixed = true;
        for (const Dim& dim : x.dims) {
          all_fixed = all_fixed && dim.is_fixed();
          total *= dim.is_fixed() ? dim.size : 1;
        }
        bool others_fixed = true;
        for (std::size_t i = 0; i < dims.size(); ++i) others_fixed = others_fixed && (i == infer_axis || dims[i].is_fixed());
        if (all_fixed && others_fixed && known_product > 0) dims[infer_axis] = fixed(total / known_product);
      }
      return with_shape(type, dims);
    }
    if (!x.has_shape) return type;
    const std::size_t rank = x.dims.size();

    if (op == "MatMul") {
      const TensorInfo& w = input(node, 1);
      if (!w.has_shape || rank < 1 || w.dims.size() < 2) return type;
      std::vector<Dim> dims(x.dims.begin(), x.dims.end() - 1);
      dims.push_back(w.dims.back());
      return with_shape(type, dims);
    }
    if (op == "Gemm") {
      const TensorInfo& w = input(node, 1);
      if (!w.has_shape || rank != 2 || w.dims.size() != 2) return type;
      const bool trans_a = find_attribute(node, "transA").i != 0;
      const bool trans_b = find_attribute(node, "transB").i != 0;
      return with_shape(type, {x.dims[trans_a ? 1 : 0], w.dims[trans_b ? 0 : 1]});
    }
    if (op == "Flatten") {
      std::int64_t axis = find_attribute(node, "axis").present ? find_attribute(node, "axis").i : 1;
      axis = normalize_axis(axis, rank);
      auto product = [&](std::size_t begin, std::size_t end) -> Dim {
        if (end - begin == 1) return x.dims[begin];
        std::int64_t size = 1;
        for (std::size_t i = begin; i < end; ++i) {
          if (!x.dims[i].is_fixed()) return Dim{};
          size *= x.dims[i].size;
        }
        return fixed(size);
      };
      return with_shape(type, {product(0, static_cast<std::size_t>(axis)), product(static_cast<std::size_t>(axis), rank)});
    }
    if (op == "Transpose") {
      Attribute perm = find_attribute(node, "perm");
      std::vector<Dim> dims;
      for (std::size_t i = 0; i < rank; ++i) {
        const std::size_t from = perm.ints.size() == rank ? static_cast<std::size_t>(perm.ints[i]) : rank - 1 - i;
        if (from >= rank) return type;
        dims.push_back(x.dims[from]);
      }
      return with_shape(type, dims);
    }
    if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
      std::vector<Dim> dims(x.dims.begin(), x.dims.begin() + std::min<std::size_t>(2, rank));
      while (dims.size() < rank) dims.push_back(fixed(1));
      return with_shape(type, dims);
    }
    if (op == "Conv" || op == "MaxPool" || op == "AveragePool") return with_shape(type, pooled_dims(node, x));
    if (op == "Concat") {
      const std::int64_t axis = normalize_axis(find_attribute(node, "axis").i, rank);
      std::vector<Dim> dims = x.dims;
      std::int64_t total = 0;
      bool total_known = true;
      for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const TensorInfo& part = input(node, i);
        if (!part.has_shape || part.dims.size() != rank || !part.dims[axis].is_fixed()) {
          total_known = false;
        } else {
          total += part.dims[axis].size;
        }
      }
      dims[axis] = total_known ? fixed(total) : Dim{};
      return with_shape(type, dims);
    }
    if (op == "Pad") {
      auto pads = constant_ints(node, 1);
      if (node.inputs.size() < 2) pads = find_attribute(node, "pads").ints;
      std::vector<Dim> dims = x.dims;
      const bool all_axes = node.inputs.size() < 4 || node.inputs[3].empty();
      for (std::size_t i = 0; i < rank; ++i) {
        if (!pads || pads->size() != 2 * rank || !all_axes) {
          dims[i] = Dim{};
        } else if ((*pads)[i] != 0 || (*pads)[i + rank] != 0) {
          dims[i] = dims[i].is_fixed() ? fixed(dims[i].size + (*pads)[i] + (*pads)[i + rank]) : Dim{};
        }
      }
      return with_shape(type, dims);
    }
    if (same_rank_ops().count(op)) return with_shape(type, std::vector<Dim>(rank));
    if (op == "Unsqueeze" || op == "Squeeze") {
      auto axes = node.inputs.size() > 1 ? constant_ints(node, 1) : std::optional(find_attribute(node, "axes").ints);
      if (!axes) return type;
      std::vector<Dim> dims;
      if (op == "Unsqueeze") {
        const std::size_t out_rank = rank + axes->size();
        std::set<std::int64_t> inserted;
        for (std::int64_t axis : *axes) inserted.insert(normalize_axis(axis, out_rank));
        std::size_t next = 0;
        for (std::size_t i = 0; i < out_rank; ++i) {
          if (inserted.count(static_cast<std::int64_t>(i))) {
            dims.push_back(fixed(1));
          } else if (next < rank) {
            dims.push_back(x.dims[next++]);
          }
        }
      } else {
        std::set<std::int64_t> removed;
        for (std::int64_t axis : *axes) removed.insert(normalize_axis(axis, rank));
        for (std::size_t i = 0; i < rank; ++i) {
          const bool drop = removed.empty() ? (x.dims[i].is_fixed() && x.dims[i].size == 1)
                                            : removed.count(static_cast<std::int64_t>(i)) > 0;
          if (!drop) dims.push_back(x.dims[i]);
        }
      }
      return with_shape(type, dims);
    }
    if (op.rfind("Reduce", 0) == 0) {
      const Attribute keep = find_attribute(node, "keepdims");
      const bool keepdims = !keep.present || keep.i != 0;
      auto axes = node.inputs.size() > 1 ? constant_ints(node, 1) : std::optional(find_attribute(node, "axes").ints);
      if (!axes) return type;
      std::set<std::int64_t> reduced;
      for (std::int64_t axis : *axes) reduced.insert(normalize_axis(axis, rank));
      std::vector<Dim> dims;
      for (std::size_t i = 0; i < rank; ++i) {
        const bool is_reduced = reduced.empty() || reduced.count(static_cast<std::int64_t>(i));
        if (!is_reduced) {
          dims.push_back(x.dims[i]);
        } else if (keepdims) {
          dims.push_back(fixed(1));
        }
      }
      return with_shape(type, dims);
    }
    if (op == "Gather") {
      const TensorInfo& indices = input(node, 1);
      if (!indices.has_shape) return type;
      const std::int64_t axis = normalize_axis(find_attribute(node, "axis").i, rank);
      std::vector<Dim> dims(x.dims.begin(), x.dims.begin() + axis);
      dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
      dims.insert(dims.end(), x.dims.begin() + axis + 1, x.dims.end());
      return with_shape(type, dims);
    }
    return type;
  }

  // Output shape of Conv and pooling: batch passes through, channels from
  // the weight (Conv) or the input (pooling), spatial sizes from the
  // attributes when the input's are fixed.
  std::vector<Dim> pooled_dims(const NodeRef& node, const TensorInfo& x) const {
    const std::size_t rank = x.dims.size();
    if (rank < 3) return {};
    std::vector<Dim> dims = {x.dims[0], x.dims[1]};
    std::vector<std::int64_t> kernel = find_attribute(node, "kernel_shape").ints;
    if (node.op_type == "Conv") {
      const TensorInfo& w = input(node, 1);
      if (!w.has_shape || w.dims.size() != rank) return {};
      dims[1] = w.dims[0];
      if (kernel.empty()) {
        for (std::size_t i = 2; i < rank; ++i) kernel.push_back(w.dims[i].is_fixed() ? w.dims[i].size : -1);
      }
    }
    const std::size_t spatial = rank - 2;
    if (kernel.size() != spatial) return {};
    auto list = [&](const char* name, std::int64_t fallback, std::size_t count) {
      std::vector<std::int64_t> values = find_attribute(node, name).ints;
      if (values.size() != count) values.assign(count, fallback);
      return values;
    };
    const auto strides = list("strides", 1, spatial);
    const auto dilations = list("dilations", 1, spatial);
    const auto pads = list("pads", 0, 2 * spatial);
    const std::string auto_pad = find_attribute(node, "auto_pad").s;
    const bool ceil_mode = find_attribute(node, "ceil_mode").i != 0;
    for (std::size_t i = 0; i < spatial; ++i) {
      const Dim& in = x.dims[i + 2];
      if (!in.is_fixed() || kernel[i] < 0) {
        dims.push_back(Dim{});
        continue;
      }
      if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        dims.push_back(fixed((in.size + strides[i] - 1) / strides[i]));
        continue;
      }
      const std::int64_t padded = in.size + (auto_pad == "VALID" ? 0 : pads[i] + pads[i + spatial]);
      const std::int64_t span = dilations[i] * (kernel[i] - 1) + 1;
      const std::int64_t numerator = padded - span;
      std::int64_t size = (ceil_mode ? (numerator + strides[i] - 1) / strides[i] : numerator / strides[i]) + 1;
      dims.push_back(fixed(size));
    }
    return dims;
  }

  static TensorRef tensor_dims(std::string_view payload) {
    TensorRef tensor;
    if (payload.empty()) return tensor;
    wire::Reader reader(payload, "tensor");
    wire::Field field;
    while (reader.next(field)) {
      if (field.number == field::kTensorDims) wire::append_int64s(field, tensor.dims, "tensor");
      if (field.number == field::kTensorDataType) tensor.data_type = static_cast<int>(field.varint);
    }
    return tensor;
  }

  const OnnxModel& model_;
  Dataflow& dataflow_;
  std::map<std::string, std::string_view> initializer_payload_;
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
