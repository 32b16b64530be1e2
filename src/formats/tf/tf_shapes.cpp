// Shapes of TensorFlow values that the file does not record. A GraphDef
// written without add_shapes=True has no _output_shapes, so only Const and
// Placeholder shapes are known. TensorFlow's shape functions are not at
// hand; the few ops whose output shape follows from their inputs' shapes
// alone (elementwise, broadcasting, matrix products) are propagated here in
// topological order, and every other value keeps an unknown shape.
// NB: "unknown rather than wrong": shapes that do not fit the op leave the
// output unknown.
#include <algorithm>
#include <set>

#include "graphdef_model.h"
#include "modelcut/error.h"
#include "tf_op_kinds.h"

namespace modelcut::tf {
namespace {

using Dims = std::vector<Dim>;

// Ops whose output 0 has the shape of their first input: the unary
// elementwise ones (tf_op_kinds.h) and these.
bool preserves_shape(const std::string& op) {
  static const std::set<std::string> others = {
      "Identity", "Snapshot",       "StopGradient",     "PreventGradient", "CheckNumerics",
      "Cast",     "Softmax",        "LogSoftmax",       "BiasAdd",         "ZerosLike",
      "OnesLike", "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"};
  return unary_elementwise_ops().count(op) || others.count(op);
}

// One broadcast dimension, or nullopt when the sizes cannot broadcast.
std::optional<Dim> broadcast_dim(const Dim& a, const Dim& b) {
  if (a.is_fixed() && b.is_fixed()) {
    if (a.size == b.size || b.size == 1) return a;
    if (a.size == 1) return b;
    return std::nullopt;
  }
  if (a.is_fixed()) return a.size == 1 ? b : a;  // an unknown size broadcasts to a fixed one other than 1
  if (b.is_fixed()) return b.size == 1 ? a : b;
  if (a.symbol == b.symbol) return a;
  return Dim{};  // two different unknowns: unknown
}

std::optional<Dims> broadcast(const Dims& a, const Dims& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const Dim one{1, {}};
    const Dim& x = i < rank - a.size() ? one : a[i - (rank - a.size())];
    const Dim& y = i < rank - b.size() ? one : b[i - (rank - b.size())];
    auto dim = broadcast_dim(x, y);
    if (!dim) return std::nullopt;
    out[i] = *dim;
  }
  return out;
}

bool same_size(const Dim& a, const Dim& b) {
  return (a.is_fixed() && b.is_fixed() && a.size == b.size) || !a.is_fixed() || !b.is_fixed();
}

// The product of [..., m, k] and [..., k, n] (after the transpositions),
// with the leading (batch) dimensions broadcast.
std::optional<Dims> matrix_product(Dims a, Dims b, bool transpose_a, bool transpose_b, bool batched) {
  if (a.size() < 2 || b.size() < 2 || (!batched && (a.size() != 2 || b.size() != 2))) return std::nullopt;
  if (transpose_a) std::swap(a[a.size() - 1], a[a.size() - 2]);
  if (transpose_b) std::swap(b[b.size() - 1], b[b.size() - 2]);
  if (!same_size(a.back(), b[b.size() - 2])) return std::nullopt;
  auto out = broadcast(Dims(a.begin(), a.end() - 2), Dims(b.begin(), b.end() - 2));
  if (!out) return std::nullopt;
  out->push_back(a[a.size() - 2]);
  out->push_back(b.back());
  return out;
}

}  // namespace

void infer_shapes(const GraphDefModel& model, GraphDefIndex& index) {
  Dataflow& dataflow = index.dataflow;
  for (NodeId id : dataflow.topological_order()) {
    const NodeDefRef& source = model.nodes[index.source_node[id]];
    const std::string what = model.label + ": node " + modelcut::quoted(source.name);
    auto output = dataflow.find_value(source.name);
    if (!output || dataflow.value(*output).info.has_shape) continue;
    // The shapes of the data inputs, in NodeDef order; nullopt when unknown.
    std::vector<std::optional<Dims>> inputs;
    for (const InputRef& input : source.inputs) {
      if (input.control) continue;
      auto value = dataflow.find_value(value_name(input.node, input.slot));
      const TensorInfo* info = value ? &dataflow.value(*value).info : nullptr;
      inputs.push_back(info && info->has_shape ? std::optional<Dims>(info->dims) : std::nullopt);
    }
    std::optional<Dims> shape;
    const std::string& op = source.op;
    if (preserves_shape(op) && !inputs.empty()) {
      shape = inputs[0];
    } else if (broadcasting_binary_ops().count(op) && inputs.size() == 2 && inputs[0] && inputs[1]) {
      shape = broadcast(*inputs[0], *inputs[1]);
    } else if (op == "MatMul" && inputs.size() == 2 && inputs[0] && inputs[1]) {
      shape = matrix_product(*inputs[0], *inputs[1], attr_bool(source, "transpose_a", what),
                             attr_bool(source, "transpose_b", what), false);
    } else if ((op == "BatchMatMul" || op == "BatchMatMulV2" || op == "BatchMatMulV3") && inputs.size() == 2 &&
               inputs[0] && inputs[1]) {
      shape = matrix_product(*inputs[0], *inputs[1], attr_bool(source, "adj_x", what), attr_bool(source, "adj_y", what),
                             true);
    }
    if (!shape) continue;
    TensorInfo& info = dataflow.mutable_value(*output).info;
    info.has_shape = true;
    info.dims = std::move(*shape);
  }
}

}  // namespace modelcut::tf
