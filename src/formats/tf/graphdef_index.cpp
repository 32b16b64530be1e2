// The format-neutral dataflow of a frozen GraphDef (see index_graphdef in
// graphdef_model.h). Layer names come from TensorFlow name scopes, which
// Keras writes as its layer names: "sequential/fc2/BiasAdd" is in layer
// "sequential/fc2", found by "fc2" as well (see src/resolve).
#include <algorithm>
#include <optional>
#include <set>
#include <string_view>

#include "graphdef_model.h"
#include "modelcut/error.h"

namespace modelcut::tf {
namespace {

std::vector<std::string> scope_of(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t end; (end = name.find('/', start)) != std::string::npos; start = end + 1) {
    if (end > start) parts.push_back(name.substr(start, end - start));
  }
  return parts;  // the last component names the op, not a scope
}

// TensorFlow inlines a function call node X (a StatefulPartitionedCall
// that SavedModels and Keras' model.export() put around the model) by
// renaming the function body's nodes "X/..." and passing values through
// Identity nodes "Func/X/input/_0", "Func/X/output/_7" (and NoOps
// ".../input_control_node/_1", ".../output_control_node/_8"). Those nodes
// compute nothing; returns X when `name` is one of them.
std::optional<std::string> inlined_call_of(const std::string& name) {
  static constexpr std::string_view kPrefix = "Func/";
  if (name.compare(0, kPrefix.size(), kPrefix) != 0) return std::nullopt;
  const std::size_t last = name.rfind('/');
  if (last == std::string::npos || last + 2 > name.size() || name[last + 1] != '_') return std::nullopt;
  for (std::size_t i = last + 2; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
  }
  const std::size_t role = name.rfind('/', last - 1);
  if (role == std::string::npos || role < kPrefix.size()) return std::nullopt;
  const std::string_view kind(name.data() + role + 1, last - role - 1);
  if (kind != "input" && kind != "output" && kind != "input_control_node" && kind != "output_control_node") {
    return std::nullopt;
  }
  return name.substr(kPrefix.size(), role - kPrefix.size());
}

// The layer path of a node: its name scopes, without the scaffolding of
// inlined calls. The body of an inlined call X keeps its own scopes ("X/res_1/fc2_1/MatMul" is in layer
// "res_1/fc2_1", as Keras named it), and the pass-through nodes are in no
// layer: neither is something the user wrote.
std::vector<std::string> layer_path_of(const std::string& name, const std::vector<std::vector<std::string>>& calls) {
  if (inlined_call_of(name)) return {};
  std::vector<std::string> scope = scope_of(name);
  for (const std::vector<std::string>& call : calls) {  // longest first, so nested calls go whole
    if (scope.size() >= call.size() && std::equal(call.begin(), call.end(), scope.begin())) {
      scope.erase(scope.begin(), scope.begin() + static_cast<std::ptrdiff_t>(call.size()));
      break;
    }
  }
  return scope;
}

// Ops that have no outputs: a node of one that nothing reads is no graph output.
bool has_no_outputs(const std::string& op) { return op == "NoOp" || op == "Assert" || op == "PrintV2"; }

// Pure ops whose result is fixed when their inputs are stored weights:
// copied into each part that reads them, like the Const they read (frozen
// graphs keep an Identity after many weights).
bool is_pure_layout_op(const std::string& op) {
  return op == "Identity" || op == "Cast" || op == "Reshape" || op == "Transpose" || op == "ExpandDims" ||
         op == "Squeeze" || op == "Pack" || op == "ConcatV2";
}

}  // namespace

GraphDefIndex index_graphdef(const GraphDefModel& model) {
  GraphDefIndex index;
  Dataflow& dataflow = index.dataflow;
  dataflow.scope_separator = '/';
  const std::size_t count = model.nodes.size();

  // Which outputs of each node are read, and whether anything reads it at all.
  std::vector<std::set<std::uint32_t>> read_slots(count);
  std::vector<bool> read(count, false);
  for (const NodeDefRef& node : model.nodes) {
    for (const InputRef& input : node.inputs) {
      const std::uint32_t producer = *model.find_node(input.node);
      read[producer] = true;
      if (!input.control) read_slots[producer].insert(input.slot);
    }
  }
  auto is_source = [&](std::uint32_t id) {
    return model.nodes[id].op == "Placeholder" || model.nodes[id].op == "Const";
  };
  auto is_exit = [&](std::uint32_t id) { return model.nodes[id].op == "Exit" || model.nodes[id].op == "RefExit"; };
  // NB: an Exit that nothing reads (a loop counter's) is no model output.
  auto is_sink = [&](std::uint32_t id) {
    return !read[id] && !is_source(id) && !has_no_outputs(model.nodes[id].op) && !is_exit(id);
  };

  // The scope paths of inlined calls, longest first.
  std::vector<std::vector<std::string>> calls;
  for (const NodeDefRef& node : model.nodes) {
    if (auto call = inlined_call_of(node.name)) {
      std::vector<std::string> path = scope_of(*call + "/");
      if (!path.empty() && std::find(calls.begin(), calls.end(), path) == calls.end()) calls.push_back(path);
    }
  }
  std::stable_sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });

  for (std::uint32_t id = 0; id < count; ++id) {
    const NodeDefRef& node = model.nodes[id];
    if (node.op == "Placeholder") dataflow.mark_graph_input(dataflow.add_value(node.name, ValueKind::GraphInput));
    if (node.op == "Const") dataflow.add_value(node.name, ValueKind::Constant);
  }
  // A loop is cut as a whole or not at all, so its nodes must be ancestors
  // of whatever reads its results: every Exit of a frame reads the frame's
  // NextIteration nodes (the body) and the frame's other nodes that no data
  // input reads (a NoOp the body waits on, as TF2's lowered loops have), and
  // every Exit that something reads also reads the frame's unread Exits (a
  // loop counter's).
  std::vector<std::vector<std::uint32_t>> next_iterations(model.frames.size()), unread_exits(model.frames.size());
  for (std::uint32_t id = 0; id < count; ++id) {
    const std::string& op = model.nodes[id].op;
    if (model.frame_of[id] == kNoFrame) continue;
    const bool data_read = !read_slots[id].empty();
    if (op == "NextIteration" || op == "RefNextIteration" || (!data_read && !is_exit(id) && !is_source(id))) {
      next_iterations[model.frame_of[id]].push_back(id);
    }
    if (is_exit(id) && !read[id]) unread_exits[model.frame_of[id]].push_back(id);
  }
  for (const auto* lists : {&next_iterations, &unread_exits}) {
    for (const auto& list : *lists) {
      for (std::uint32_t id : list) read_slots[id].insert(0);
    }
  }
  for (std::uint32_t id = 0; id < count; ++id) {
    if (is_source(id)) continue;
    const NodeDefRef& source = model.nodes[id];
    Node node;
    node.name = source.name;
    node.op = source.op;
    node.scope = layer_path_of(source.name, calls);
    // A loop goes to one part whole: grouped by its outermost frame.
    for (std::uint32_t frame = model.frame_of[id]; frame != kNoFrame;
         frame = model.frames[frame].parent.value_or(kNoFrame)) {
      node.keep_together = frame + 1;
    }
    auto add_input = [&](const std::string& name) {
      const ValueId value = dataflow.value_named(name);
      if (std::find(node.inputs.begin(), node.inputs.end(), value) == node.inputs.end()) node.inputs.push_back(value);
    };
    const bool merge = source.op == "Merge" || source.op == "RefMerge";
    for (const InputRef& input : source.inputs) {
      if (input.control) continue;
      const std::string& producer_op = model.nodes[*model.find_node(input.node)].op;
      if (merge && (producer_op == "NextIteration" || producer_op == "RefNextIteration")) continue;  // back edge
      add_input(value_name(input.node, input.slot));
    }
    if (is_exit(id) && model.frame_of[id] != kNoFrame) {
      for (std::uint32_t next : next_iterations[model.frame_of[id]]) add_input(model.nodes[next].name);
      if (read[id]) {
        for (std::uint32_t exit : unread_exits[model.frame_of[id]]) add_input(model.nodes[exit].name);
      }
    }
    std::set<std::uint32_t> slots = read_slots[id];
    if (is_sink(id)) slots.insert(0);
    for (std::uint32_t slot : slots) node.outputs.push_back(dataflow.value_named(value_name(source.name, slot)));
    dataflow.add_node(std::move(node));
    index.source_node.push_back(id);
  }
  for (std::uint32_t id = 0; id < count; ++id) {
    if (is_sink(id)) dataflow.mark_graph_output(*dataflow.find_value(model.nodes[id].name));
  }
  dataflow.build_index();

  for (NodeId id : dataflow.topological_order()) {
    const NodeDefRef& source = model.nodes[index.source_node[id]];
    Node& node = dataflow.mutable_node(id);
    if (!is_pure_layout_op(source.op) || model.frame_of[index.source_node[id]] != kNoFrame) continue;
    bool from_weights =
        std::none_of(source.inputs.begin(), source.inputs.end(), [](const InputRef& input) { return input.control; });
    for (ValueId input : node.inputs) {
      const Value& value = dataflow.value(input);
      from_weights = from_weights && (value.kind == ValueKind::Constant ||
                                      (value.kind == ValueKind::Computed && dataflow.node(value.producer).is_constant));
    }
    node.is_constant = from_weights;
  }

  for (std::uint32_t id = 0; id < count; ++id) {
    const NodeDefRef& node = model.nodes[id];
    const std::string what = model.label + ": node " + modelcut::quoted(node.name);
    if (node.op == "Const") {
      dataflow.mutable_value(*dataflow.find_value(node.name)).info = tensor_info(model.const_tensor(id));
      continue;
    }
    const std::uint32_t slots = node.op == "Placeholder" ? 1 : 0;
    for (std::uint32_t slot : slots ? std::set<std::uint32_t>{0} : read_slots[id]) {
      if (auto value = dataflow.find_value(value_name(node.name, slot))) {
        const OutputType type = output_type(model, id, slot);
        dataflow.mutable_value(*value).info = tensor_info(type.dtype, type.shape, what);
      }
    }
    if (is_sink(id)) {
      const OutputType type = output_type(model, id, 0);
      dataflow.mutable_value(*dataflow.find_value(node.name)).info = tensor_info(type.dtype, type.shape, what);
    }
  }
  infer_shapes(model, index);
  return index;
}

}  // namespace modelcut::tf
