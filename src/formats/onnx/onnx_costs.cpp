// Parameter bytes and multiply-accumulates (MACs) of ONNX nodes.
//
// One MAC is one multiply-add of a matrix product or convolution (FLOPs are
// 2 x MACs there); elementwise ops and activations count one per output
// element, normalisations and softmax a small constant per element (see
// kPerElement). Data movement (Reshape, Gather, Concat, ...) costs nothing.
// NB: the rule is "unknown rather than wrong": an op not in these tables, a
// shape that is not known, an attribute that does not fit the shapes or a
// count that overflows 64 bits makes macs_known false, never a guess.
#include "onnx_costs.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>

#include "modelcut/error.h"
#include "node_attributes.h"
#include "util/checked_math.h"

namespace modelcut::onnx {
namespace {

using Count = std::optional<std::uint64_t>;
using Shape = std::vector<std::uint64_t>;

Count times(Count a, Count b) { return a && b ? checked_mul(*a, *b) : std::nullopt; }
Count plus(Count a, Count b) { return a && b ? checked_add(*a, *b) : std::nullopt; }

Count product(const std::optional<Shape>& shape, std::size_t begin = 0) {
  if (!shape) return std::nullopt;
  Count total = 1;
  for (std::size_t axis = begin; axis < shape->size(); ++axis) total = times(total, (*shape)[axis]);
  return total;
}

// Ops that only move, reshape or select data, or describe it.
const std::set<std::string>& data_movement_ops() {
  static const std::set<std::string> ops = {"Identity",
                                            "Reshape",
                                            "Flatten",
                                            "Squeeze",
                                            "Unsqueeze",
                                            "Transpose",
                                            "Concat",
                                            "Split",
                                            "Slice",
                                            "Gather",
                                            "GatherElements",
                                            "GatherND",
                                            "Scatter",
                                            "ScatterElements",
                                            "ScatterND",
                                            "Expand",
                                            "Tile",
                                            "Pad",
                                            "Shape",
                                            "Size",
                                            "Cast",
                                            "CastLike",
                                            "Constant",
                                            "ConstantOfShape",
                                            "Range",
                                            "Dropout",
                                            "DepthToSpace",
                                            "SpaceToDepth",
                                            "EyeLike",
                                            "NonZero",
                                            "OneHot",
                                            "ReverseSequence",
                                            "Compress",
                                            "Trilu",
                                            "SequenceConstruct",
                                            "SequenceAt",
                                            "SequenceInsert",
                                            "SequenceEmpty",
                                            "SequenceLength",
                                            "SplitToSequence",
                                            "ConcatFromSequence",
                                            "Optional",
                                            "OptionalGetElement",
                                            "OptionalHasElement",
                                            "CenterCropPad",
                                            "Col2Im"};
  return ops;
}

// Ops computing one value per output element from one per input.
const std::set<std::string>& elementwise_ops() {
  static const std::set<std::string> ops = {"Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Pow",
                                            "Sqrt",
                                            "Exp",
                                            "Log",
                                            "Relu",
                                            "LeakyRelu",
                                            "PRelu",
                                            "Sigmoid",
                                            "HardSigmoid",
                                            "Tanh",
                                            "Erf",
                                            "Gelu",
                                            "HardSwish",
                                            "Mish",
                                            "Elu",
                                            "Selu",
                                            "Celu",
                                            "Softplus",
                                            "Softsign",
                                            "Clip",
                                            "Abs",
                                            "Neg",
                                            "Reciprocal",
                                            "Floor",
                                            "Ceil",
                                            "Round",
                                            "Sign",
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
                                            "Not",
                                            "And",
                                            "Or",
                                            "Xor",
                                            "Equal",
                                            "Greater",
                                            "Less",
                                            "GreaterOrEqual",
                                            "LessOrEqual",
                                            "Where",
                                            "Mod",
                                            "BitShift",
                                            "BitwiseAnd",
                                            "BitwiseOr",
                                            "BitwiseXor",
                                            "BitwiseNot",
                                            "IsNaN",
                                            "IsInf",
                                            "ThresholdedRelu",
                                            "Shrink",
                                            "Swish",
                                            "QuantizeLinear",
                                            "DequantizeLinear",
                                            "DynamicQuantizeLinear",
                                            "Resize",
                                            "Upsample",
                                            "Binarizer"};
  return ops;
}

// Ops of Microsoft's contrib domain (ONNX Runtime's fusions) that are
// elementwise too.
const std::set<std::string>& microsoft_elementwise_ops() {
  static const std::set<std::string> ops = {"Gelu",    "FastGelu",       "BiasGelu",        "QuickGelu",
                                            "BiasAdd", "QuantizeLinear", "DequantizeLinear"};
  return ops;
}

// Multiply-adds per element of the input for ops that take a few passes over
// it. Normalisations: mean, variance, normalise, scale and shift; a
// BatchNormalization at inference is one multiply-add once its statistics
// are folded into a scale and a shift, as runtimes do. Softmax: subtract the
// maximum, exponentiate, sum and divide.
const std::map<std::string, std::uint64_t>& per_element_ops() {
  static const std::map<std::string, std::uint64_t> ops = {{"BatchNormalization", 1},
                                                           {"LayerNormalization", 4},
                                                           {"GroupNormalization", 4},
                                                           {"InstanceNormalization", 4},
                                                           {"MeanVarianceNormalization", 4},
                                                           {"RMSNormalization", 3},
                                                           {"SimplifiedLayerNormalization", 3},
                                                           {"LpNormalization", 2},
                                                           {"Softmax", 3},
                                                           {"LogSoftmax", 3},
                                                           {"Hardmax", 1},
                                                           {"ReduceSum", 1},
                                                           {"ReduceMean", 1},
                                                           {"ReduceMax", 1},
                                                           {"ReduceMin", 1},
                                                           {"ReduceProd", 1},
                                                           {"ReduceL1", 1},
                                                           {"ReduceL2", 1},
                                                           {"ReduceSumSquare", 1},
                                                           {"ReduceLogSum", 1},
                                                           {"ReduceLogSumExp", 1},
                                                           {"ArgMax", 1},
                                                           {"ArgMin", 1},
                                                           {"CumSum", 1},
                                                           {"GlobalAveragePool", 1},
                                                           {"GlobalMaxPool", 1},
                                                           {"GlobalLpPool", 1}};
  return ops;
}

const std::map<std::string, std::uint64_t>& microsoft_per_element_ops() {
  static const std::map<std::string, std::uint64_t> ops = {{"SkipLayerNormalization", 5},
                                                           {"SkipSimplifiedLayerNormalization", 4},
                                                           {"SimplifiedLayerNormalization", 3},
                                                           {"LayerNormalization", 4}};
  return ops;
}

// An einsum equation is a few dozen characters; anything far longer is not
// one a model means.
constexpr std::size_t kMaxEquationLength = 1024;

class NodeCounter {
 public:
  NodeCounter(const OnnxModel& model, const Dataflow& dataflow, const DimSizes& dims)
      : model_(model), dataflow_(dataflow), dims_(dims) {}

  Count macs(const NodeRef& node) const {
    const std::string& op = node.op_type;
    if (node.domain == "com.microsoft") return microsoft_macs(node);
    if (!node.domain.empty()) return std::nullopt;
    if (data_movement_ops().count(op)) return 0;
    if (elementwise_ops().count(op)) return elements(output(node, 0));
    if (op == "Sum" || op == "Mean" || op == "Max" || op == "Min") {
      // One per output element for each input after the first.
      const std::uint64_t inputs = node.inputs.size();
      return times(elements(output(node, 0)), inputs > 1 ? inputs - 1 : 1);
    }
    if (auto found = per_element_ops().find(op); found != per_element_ops().end()) {
      return times(elements(input(node, 0)), found->second);
    }
    if (op == "Conv" || op == "ConvInteger") return convolution(node, 1);
    if (op == "QLinearConv") return convolution(node, 3);
    if (op == "ConvTranspose") return times(elements(input(node, 0)), product(input(node, 1), 1));
    if (op == "Gemm") return gemm(node);
    if (op == "MatMul" || op == "MatMulInteger") return matmul(node, 0, false);
    if (op == "QLinearMatMul") return matmul(node, 0, false);
    if (op == "Einsum") return einsum(node);
    if (op == "MaxPool" || op == "AveragePool" || op == "LpPool") return pooling(node);
    if (op == "LSTM" || op == "GRU" || op == "RNN") return recurrent(node);
    if (op == "Attention") return attention(node);
    return std::nullopt;
  }

 private:
  std::optional<Shape> shape_of(const std::string& name) const {
    if (name.empty()) return std::nullopt;
    const auto id = dataflow_.find_value(name);
    if (!id) return std::nullopt;
    const TensorInfo& info = dataflow_.value(*id).info;
    if (!info.has_shape) return std::nullopt;
    Shape shape;
    shape.reserve(info.dims.size());
    for (const Dim& dim : info.dims) shape.push_back(dims_.size_of(dim));
    return shape;
  }
  std::optional<Shape> input(const NodeRef& node, std::size_t index) const {
    return index < node.inputs.size() ? shape_of(node.inputs[index]) : std::nullopt;
  }
  std::optional<Shape> output(const NodeRef& node, std::size_t index) const {
    return index < node.outputs.size() ? shape_of(node.outputs[index]) : std::nullopt;
  }
  bool has_input(const NodeRef& node, std::size_t index) const {
    return index < node.inputs.size() && !node.inputs[index].empty();
  }
  Count elements(const std::optional<Shape>& shape) const { return product(shape); }

  // Each output element sums C_in/group x kernel products: the weight's
  // shape [C_out, C_in/group, k...] past its first dimension.
  Count convolution(const NodeRef& node, std::size_t weight_index) const {
    const auto weight = input(node, weight_index);
    if (!weight || weight->size() < 2) return std::nullopt;
    return times(elements(output(node, 0)), product(weight, 1));
  }

  Count gemm(const NodeRef& node) const {
    const auto a = input(node, 0);
    const auto trans_a = int_attribute(node, "transA", 0);
    if (!a || a->size() != 2 || !trans_a) return std::nullopt;
    return times(elements(output(node, 0)), (*a)[*trans_a != 0 ? 0 : 1]);
  }

  // Each output element is a dot product over A's last (or, transposed,
  // second to last) dimension; batching and broadcasting are in the
  // output's shape.
  Count matmul(const NodeRef& node, std::size_t a_index, bool transposed_a) const {
    const auto a = input(node, a_index);
    if (!a || a->empty()) return std::nullopt;
    if (transposed_a && a->size() < 2) return std::nullopt;
    const std::uint64_t inner = transposed_a ? (*a)[a->size() - 2] : a->back();
    return times(elements(output(node, 0)), inner);
  }

  Count pooling(const NodeRef& node) const {
    const auto kernel = ints_attribute(node, "kernel_shape");
    if (!kernel || kernel->empty()) return std::nullopt;
    Count window = 1;
    for (std::int64_t size : *kernel) {
      if (size <= 0) return std::nullopt;
      window = times(window, static_cast<std::uint64_t>(size));
    }
    return times(elements(output(node, 0)), window);
  }

  // Per step and batch item, every gate multiplies the input and the
  // hidden state by its weights: W [dirs, gates x H, I] and R [dirs, gates x
  // H, H], so steps x batch x (|W| + |R|).
  Count recurrent(const NodeRef& node) const {
    const auto x = input(node, 0);
    const auto w = input(node, 1);
    const auto r = input(node, 2);
    if (!x || x->size() != 3 || !w || w->size() != 3 || !r || r->size() != 3) return std::nullopt;
    return times(times((*x)[0], (*x)[1]), plus(product(w), product(r)));
  }

  // Every index letter of the equation runs over its size once per
  // combination: the product of all sizes, times one multiply per extra
  // operand. Sizes come from the operands' shapes, broadcast where one is 1.
  Count einsum(const NodeRef& node) const {
    const Attribute equation_attribute = find_attribute(node, "equation");
    if (!equation_attribute.has_s || equation_attribute.s.size() > kMaxEquationLength) return std::nullopt;
    std::string equation;
    for (char c : equation_attribute.s) {
      if (c != ' ') equation += c;
    }
    const std::string lhs = equation.substr(0, equation.find("->"));
    std::vector<std::string> terms{""};
    for (char c : lhs) {
      if (c == ',') {
        terms.emplace_back();
      } else {
        terms.back() += c;
      }
    }
    if (terms.size() != node.inputs.size()) return std::nullopt;
    std::map<char, std::uint64_t> sizes;
    Shape ellipsis;  // broadcast, aligned to the right
    auto merge = [](std::uint64_t& into, std::uint64_t size) {
      if (into == size || size == 1) return true;
      if (into == 1) {
        into = size;
        return true;
      }
      return false;
    };
    for (std::size_t index = 0; index < terms.size(); ++index) {
      const auto shape = input(node, index);
      if (!shape) return std::nullopt;
      const std::string& term = terms[index];
      const std::size_t dots = term.find("...");
      const std::string letters = dots == std::string::npos ? term : term.substr(0, dots) + term.substr(dots + 3);
      if (letters.size() > shape->size()) return std::nullopt;
      const std::size_t ellipsis_rank = shape->size() - letters.size();
      if (dots == std::string::npos && ellipsis_rank != 0) return std::nullopt;
      const std::size_t before = dots == std::string::npos ? letters.size() : dots;
      for (std::size_t i = 0; i < letters.size(); ++i) {
        const char letter = letters[i];
        if (!std::isalpha(static_cast<unsigned char>(letter))) return std::nullopt;
        const std::uint64_t size = (*shape)[i < before ? i : i + ellipsis_rank];
        auto [it, inserted] = sizes.emplace(letter, size);
        if (!inserted && !merge(it->second, size)) return std::nullopt;
      }
      if (ellipsis_rank > ellipsis.size()) ellipsis.insert(ellipsis.begin(), ellipsis_rank - ellipsis.size(), 1);
      for (std::size_t i = 0; i < ellipsis_rank; ++i) {
        if (!merge(ellipsis[ellipsis.size() - ellipsis_rank + i], (*shape)[before + i])) return std::nullopt;
      }
    }
    Count total = product(ellipsis);
    for (const auto& entry : sizes) total = times(total, entry.second);
    const std::uint64_t operands = terms.size();
    return times(total, operands > 1 ? operands - 1 : 1);
  }

  // Scores Q.K^T and their weighted sum of V: for each of `scores` (batch x
  // query positions x key positions) a dot product over the query width and
  // one over the value width, all heads together; then a softmax over the
  // scores of each head.
  static Count attention_core(Count scores, Count widths, Count heads) {
    return plus(times(scores, widths), times(times(scores, heads), per_element_ops().at("Softmax")));
  }

  // ONNX Attention (opset 23): Q, K, V as [B, H, S, D], or [B, S, H x D]
  // with q_num_heads and kv_num_heads.
  Count attention(const NodeRef& node) const {
    const auto q = input(node, 0);
    const auto k = input(node, 1);
    const auto v = input(node, 2);
    if (!q || !k || !v || q->size() != k->size() || q->size() != v->size()) return std::nullopt;
    // With a past key and value the scores span the present length.
    std::uint64_t kv_length = 0;
    const std::size_t sequence_axis = q->size() == 4 ? 2 : 1;
    if (has_input(node, 4)) {
      const auto present = output(node, 1);
      if (!present || present->size() != 4) return std::nullopt;
      kv_length = (*present)[2];
    } else if (k->size() == 3 || k->size() == 4) {
      kv_length = (*k)[sequence_axis];
    }
    if (q->size() == 4) {
      const Count scores = times(times((*q)[0], (*q)[2]), kv_length);
      return attention_core(scores, times((*q)[1], plus((*q)[3], (*v)[3])), (*q)[1]);
    }
    if (q->size() != 3) return std::nullopt;
    const auto q_heads = int_attribute(node, "q_num_heads", 0);
    const auto kv_heads = int_attribute(node, "kv_num_heads", 0);
    if (!q_heads || !kv_heads || *q_heads <= 0 || *kv_heads <= 0) return std::nullopt;
    const auto kv_head_count = static_cast<std::uint64_t>(*kv_heads);
    if ((*v)[2] % kv_head_count != 0) return std::nullopt;
    // Grouped heads: each query head reads the value head of its group.
    const Count value_width = times(static_cast<std::uint64_t>(*q_heads), (*v)[2] / kv_head_count);
    const Count scores = times(times((*q)[0], (*q)[1]), kv_length);
    return attention_core(scores, plus((*q)[2], value_width), static_cast<std::uint64_t>(*q_heads));
  }

  Count microsoft_macs(const NodeRef& node) const {
    const std::string& op = node.op_type;
    if (microsoft_elementwise_ops().count(op)) return elements(output(node, 0));
    if (auto found = microsoft_per_element_ops().find(op); found != microsoft_per_element_ops().end()) {
      return times(elements(input(node, 0)), found->second);
    }
    if (op == "FusedConv") return convolution(node, 1);
    if (op == "FusedMatMul") {
      const auto trans_a = int_attribute(node, "transA", 0);
      if (!trans_a) return std::nullopt;
      return matmul(node, 0, *trans_a != 0);
    }
    if (op == "MatMulNBits" || op == "MatMulIntegerToFloat" || op == "DynamicQuantizeMatMul") {
      return matmul(node, 0, false);
    }
    if (op == "Attention") return microsoft_attention(node);
    if (op == "MultiHeadAttention") return microsoft_multi_head_attention(node);
    return std::nullopt;
  }

  // com.microsoft Attention: input [B, S, I] projected by weights [I, Q+K+V]
  // (qkv_hidden_sizes, or three equal parts), then attention over S.
  Count microsoft_attention(const NodeRef& node) const {
    const auto x = input(node, 0);
    const auto weights = input(node, 1);
    const auto heads = int_attribute(node, "num_heads", 0);
    if (!x || x->size() != 3 || !weights || weights->size() != 2 || !heads || *heads <= 0) return std::nullopt;
    if (has_input(node, 4) || has_input(node, 6)) return std::nullopt;  // past state: lengths not in the shapes
    const auto hidden = ints_attribute(node, "qkv_hidden_sizes");
    if (!hidden) return std::nullopt;
    std::uint64_t q_width = (*weights)[1] / 3, v_width = q_width;
    if (hidden->size() == 3) {
      if ((*hidden)[0] < 0 || (*hidden)[2] < 0) return std::nullopt;
      q_width = static_cast<std::uint64_t>((*hidden)[0]);
      v_width = static_cast<std::uint64_t>((*hidden)[2]);
    } else if (!hidden->empty() || (*weights)[1] % 3 != 0) {
      return std::nullopt;
    }
    const Count tokens = times((*x)[0], (*x)[1]);
    const Count projection = times(tokens, product(weights));
    return plus(projection,
                attention_core(times(tokens, (*x)[1]), plus(q_width, v_width), static_cast<std::uint64_t>(*heads)));
  }

  // com.microsoft MultiHeadAttention with separate query [B, S, D], key
  // [B, L, D] and value [B, L, D_v] (packed and cached forms: unknown).
  Count microsoft_multi_head_attention(const NodeRef& node) const {
    const auto q = input(node, 0);
    const auto k = input(node, 1);
    const auto v = input(node, 2);
    const auto heads = int_attribute(node, "num_heads", 0);
    if (!q || !k || !v || q->size() != 3 || k->size() != 3 || v->size() != 3 || !heads || *heads <= 0) {
      return std::nullopt;
    }
    if (has_input(node, 6) || has_input(node, 7)) return std::nullopt;  // past key and value
    const Count scores = times(times((*q)[0], (*q)[1]), (*k)[1]);
    return attention_core(scores, plus((*q)[2], (*v)[2]), static_cast<std::uint64_t>(*heads));
  }

  const OnnxModel& model_;
  const Dataflow& dataflow_;
  const DimSizes& dims_;
};

// Bytes of every stored weight by name: initializers as their type and dims
// call for (sparse ones as stored), Constant nodes' values by their type.
std::map<std::string, std::uint64_t> weight_bytes(const OnnxModel& model, const Dataflow& dataflow,
                                                  const DimSizes& dims) {
  std::map<std::string, std::uint64_t> bytes;
  for (const TensorRef& tensor : model.initializers) {
    // Strings have no fixed size: what the file holds for them.
    bytes.emplace(tensor.name, tensor.expected_bytes().value_or(tensor.payload.size()));
  }
  for (const TensorRef& tensor : model.sparse_initializers) bytes.emplace(tensor.name, tensor.payload.size());
  for (const Node& node : dataflow.nodes()) {
    if (!node.is_constant || !node.inputs.empty()) continue;
    for (ValueId output : node.outputs) {
      const Value& value = dataflow.value(output);
      bytes.emplace(value.name, dims.bytes(value.info).value_or(0));
    }
  }
  return bytes;
}

}  // namespace

std::vector<NodeCost> onnx_node_costs(const OnnxModel& model, const Dataflow& dataflow, const DimSizes& dims) {
  std::vector<NodeCost> costs(dataflow.nodes().size());
  // index_onnx makes node i of the dataflow from node i of the graph.
  if (model.nodes.size() != costs.size()) {
    for (NodeCost& cost : costs) cost.macs_known = false;
    return costs;
  }
  const std::map<std::string, std::uint64_t> weights = weight_bytes(model, dataflow, dims);
  std::set<std::string> counted;
  const NodeCounter counter(model, dataflow, dims);
  for (NodeId id : dataflow.topological_order()) {
    const NodeRef& source = model.nodes[id];
    NodeCost& cost = costs[id];
    const Node& node = dataflow.node(id);
    // A Constant's value is a weight of whoever reads it; one that nobody
    // reads is its own. A node computed from weights alone (an Identity or
    // DequantizeLinear of an initializer) counts the stored weights it reads,
    // like any other node.
    const bool value_node = node.is_constant && node.inputs.empty();
    const bool unread_constant = value_node && std::all_of(node.outputs.begin(), node.outputs.end(), [&](ValueId v) {
                                   return dataflow.value(v).consumers.empty();
                                 });
    std::vector<std::string> read;
    if (!value_node) {
      read = source.inputs;
      read.insert(read.end(), source.outer_reads.begin(), source.outer_reads.end());
    } else if (unread_constant) {
      read = source.outputs;
    }
    for (const std::string& name : read) {
      const auto found = weights.find(name);
      if (found == weights.end() || !counted.insert(name).second) continue;
      // Sums of sizes that each fit in 64 bits; saturate rather than wrap.
      cost.param_bytes = checked_add(cost.param_bytes, found->second).value_or(UINT64_MAX);
    }
    Count macs;
    try {
      macs = counter.macs(source);
    } catch (const Error&) {
      macs = std::nullopt;  // a malformed attribute: no count rather than no plan
    }
    cost.macs = macs.value_or(0);
    cost.macs_known = macs.has_value();
  }
  return costs;
}

}  // namespace modelcut::onnx
