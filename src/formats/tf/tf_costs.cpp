// Parameter bytes and multiply-accumulates (MACs) of TensorFlow nodes, with
// the conventions of the ONNX tables (src/formats/onnx/onnx_costs.cpp): one
// MAC per multiply-add of a matrix product or convolution, one per output
// element for elementwise ops, a few per element for normalisations and
// softmax, none for data movement. Shapes come from the dataflow (recorded
// _output_shapes, Const shapes, or infer_shapes).
// NB: "unknown rather than wrong": an op not in these tables, a shape that
// is not known or a count that overflows makes macs_known false.
#include <map>
#include <set>

#include "graphdef_model.h"
#include "modelcut/error.h"
#include "tf_op_kinds.h"
#include "util/checked_math.h"

namespace modelcut::tf {
namespace {

using Count = std::optional<std::uint64_t>;

Count times(Count a, Count b) { return a && b ? checked_mul(*a, *b) : std::nullopt; }

// Ops that only move, reshape, select or describe data, or order execution.
const std::set<std::string>& data_movement_ops() {
  static const std::set<std::string> ops = {"Identity",
                                            "IdentityN",
                                            "Snapshot",
                                            "StopGradient",
                                            "PreventGradient",
                                            "NoOp",
                                            "Const",
                                            "Placeholder",
                                            "PlaceholderWithDefault",
                                            "Reshape",
                                            "Squeeze",
                                            "ExpandDims",
                                            "Transpose",
                                            "ConcatV2",
                                            "Concat",
                                            "Pack",
                                            "Unpack",
                                            "Split",
                                            "SplitV",
                                            "Slice",
                                            "StridedSlice",
                                            "GatherV2",
                                            "Gather",
                                            "GatherNd",
                                            "Tile",
                                            "Pad",
                                            "PadV2",
                                            "MirrorPad",
                                            "Shape",
                                            "ShapeN",
                                            "Size",
                                            "Rank",
                                            "Cast",
                                            "Fill",
                                            "Range",
                                            "ZerosLike",
                                            "OnesLike",
                                            "BroadcastTo",
                                            "OneHot",
                                            "Where",
                                            "Bitcast",
                                            "Enter",
                                            "Exit",
                                            "Merge",
                                            "Switch",
                                            "NextIteration",
                                            "LoopCond",
                                            "Assert",
                                            "CheckNumerics",
                                            "DepthToSpace",
                                            "SpaceToDepth",
                                            "ReverseV2",
                                            "ResizeNearestNeighbor"};
  return ops;
}

// Ops computing one value per output element: the unary and broadcasting
// ones (tf_op_kinds.h) and these.
bool is_elementwise(const std::string& op) {
  static const std::set<std::string> others = {"BiasAdd", "Select", "SelectV2", "AddN", "ResizeBilinear"};
  return unary_elementwise_ops().count(op) || broadcasting_binary_ops().count(op) || others.count(op);
}

// Multiply-adds per output element (normalisations and softmax take a few
// passes; a FusedBatchNorm at inference is one scale and shift), and per
// input element for reductions.
const std::map<std::string, std::uint64_t>& per_element_ops() {
  static const std::map<std::string, std::uint64_t> ops = {
      {"FusedBatchNorm", 1}, {"FusedBatchNormV2", 1}, {"FusedBatchNormV3", 1}, {"Softmax", 3}, {"LogSoftmax", 3}};
  return ops;
}
const std::set<std::string>& reduction_ops() {
  static const std::set<std::string> ops = {"Sum", "Mean", "Max", "Min", "Prod", "ArgMax", "ArgMin", "All", "Any"};
  return ops;
}

// Sizes of the leading dimensions of a filter (its window, then its input
// channels): their product is the MACs per output element of a convolution.
Count window_size(const TensorInfo& filter, std::size_t dims, const DimSizes& sizes) {
  if (!filter.has_shape || filter.dims.size() < dims) return std::nullopt;
  Count total = 1;
  for (std::size_t i = 0; i < dims; ++i) total = times(total, sizes.size_of(filter.dims[i]));
  return total;
}

}  // namespace

std::vector<NodeCost> graphdef_node_costs(const GraphDefModel& model, const GraphDefIndex& index,
                                          const DimSizes& sizes) {
  const Dataflow& dataflow = index.dataflow;
  std::vector<NodeCost> costs(dataflow.nodes().size());
  std::set<ValueId> counted;
  for (NodeId id : dataflow.topological_order()) {
    NodeCost& cost = costs[id];
    for (ValueId input : dataflow.node(id).inputs) {
      const Value& value = dataflow.value(input);
      if (value.kind != ValueKind::Constant || !counted.insert(input).second) continue;
      cost.param_bytes += model.const_tensor(*model.find_node(value.name)).content.size();
    }

    const NodeDefRef& source = model.nodes[index.source_node[id]];
    const std::string& op = source.op;
    // The data inputs in NodeDef order (the dataflow's inputs are deduplicated).
    std::vector<const TensorInfo*> inputs;
    for (const InputRef& input : source.inputs) {
      if (input.control) continue;
      auto value = dataflow.find_value(value_name(input.node, input.slot));
      inputs.push_back(value ? &dataflow.value(*value).info : nullptr);
    }
    auto output = dataflow.find_value(source.name);
    const Count out = output ? sizes.elements(dataflow.value(*output).info) : std::nullopt;
    auto input_elements = [&](std::size_t i) {
      return i < inputs.size() && inputs[i] ? sizes.elements(*inputs[i]) : Count{};
    };
    auto input_dim = [&](std::size_t i, std::size_t from_end) -> Count {
      if (i >= inputs.size() || !inputs[i] || !inputs[i]->has_shape || inputs[i]->dims.size() < from_end) return {};
      return sizes.size_of(inputs[i]->dims[inputs[i]->dims.size() - from_end]);
    };

    auto count_macs = [&]() -> Count {
      Count macs;
      if (data_movement_ops().count(op)) {
        macs = 0;
      } else if (is_elementwise(op)) {
        macs = out;
      } else if (auto per = per_element_ops().find(op); per != per_element_ops().end()) {
        macs = times(out, per->second);
      } else if (reduction_ops().count(op)) {
        macs = input_elements(0);
      } else if (op == "MatMul") {  // out [m, n], inner size from a (transposed or not)
        macs = times(out, input_dim(0, attr_bool(source, "transpose_a", model.label) ? 2 : 1));
      } else if (op == "BatchMatMul" || op == "BatchMatMulV2" || op == "BatchMatMulV3") {
        macs = times(out, input_dim(0, attr_bool(source, "adj_x", model.label) ? 2 : 1));
      } else if ((op == "Conv2D" || op == "Conv3D") && inputs.size() >= 2 && inputs[1]) {
        // Filter [window..., in / groups, out]: each output element reads the window over its group's inputs.
        macs = times(out, window_size(*inputs[1], op == "Conv2D" ? 3 : 4, sizes));
      } else if (op == "DepthwiseConv2dNative" && inputs.size() >= 2 && inputs[1]) {
        macs = times(out, window_size(*inputs[1], 2, sizes));  // filter [h, w, in, multiplier]
      } else if ((op == "Conv2DBackpropInput" || op == "Conv3DBackpropInputV2") && inputs.size() >= 3 && inputs[1]) {
        // A transposed convolution: each element of the gradient input (input 2)
        // is spread over the window times the output channels (filter [window..., out, in]).
        macs = times(input_elements(2), window_size(*inputs[1], op == "Conv2DBackpropInput" ? 3 : 4, sizes));
      } else if (op == "MaxPool" || op == "AvgPool" || op == "MaxPool3D" || op == "AvgPool3D") {
        Count window = 1;
        for (std::int64_t size : attr_ints(source, "ksize", model.label)) {
          window = size > 0 ? times(window, static_cast<std::uint64_t>(size)) : std::nullopt;
        }
        macs = times(out, window);
      }
      return macs;
    };
    Count macs;
    try {
      macs = count_macs();
    } catch (const Error&) {
      macs = std::nullopt;  // a damaged attr: not counted here; split names it when it matters
    }
    cost.macs_known = macs.has_value();
    cost.macs = macs.value_or(0);
  }
  return costs;
}

}  // namespace modelcut::tf
