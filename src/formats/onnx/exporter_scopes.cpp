// Layer paths recovered from what ONNX exporters leave behind: PyTorch's
// dynamo exporter records module paths in node metadata
// ("pkg.torch.onnx.name_scopes"); the TorchScript exporter and tf2onnx put
// scopes in node names ("/layer1/layer1.0/conv1/Conv", "model/fc2/BiasAdd").
#include "exporter_scopes.h"

#include <algorithm>
#include <map>

namespace modelcut::onnx {

namespace {

std::vector<std::string> split_at(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find(separator, start)) != std::string::npos; start = end + 1) {
    parts.push_back(text.substr(start, end - start));
  }
  parts.push_back(text.substr(start));
  return parts;
}

bool is_exporter_constant(const std::string& name) { return name.compare(0, 6, "onnx::") == 0; }

bool is_number(const std::string& atom) {
  return !atom.empty() && atom.find_first_not_of("0123456789") == std::string::npos;
}

// Full module path of a TorchScript scope component under its parent's path.
// The exporter names each module by the tail of its dotted path from the last
// non-numeric atom on ("layer3.0.downsample.0" -> "downsample.0", "layer3.0"
// -> "layer3.0", "features.1.block" -> "block"). So a component that extends
// the tail of the parent's path ("downsample.0" under "layer3.0.downsample")
// continues the parent: it replaces that tail. Any other component is a child
// attribute, or a child reached through a container that was never called
// itself (a ModuleList: "layer.0" under "encoder"), and is appended.
// NB: a module named like its own parent attribute and reached through an
// uncalled container ("foo.foo.0", whose component "foo.0" under "foo") is
// read as "foo.0": the names alone cannot tell the two apart.
void append_torch_component(std::vector<std::string>& path, const std::string& component) {
  const std::vector<std::string> atoms = split_at(component, '.');
  std::size_t tail = path.size();
  while (tail > 0 && is_number(path[tail - 1])) --tail;
  if (tail > 0) --tail;  // the last non-numeric atom; 0 when every atom is a number
  const std::size_t tail_size = path.size() - tail;
  if (tail < path.size() && atoms.size() > tail_size &&
      std::equal(path.begin() + static_cast<long>(tail), path.end(), atoms.begin())) {
    path.resize(tail);
  }
  path.insert(path.end(), atoms.begin(), atoms.end());
}

}  // namespace

// "/layer3/layer3.0/downsample/downsample.0/Conv" -> {"layer3", "0",
// "downsample", "0"} for PyTorch (`torch_paths`), "model/fc2/BiasAdd" ->
// {"model", "fc2"} otherwise: the last part names the operator.
std::vector<std::string> scope_from_node_name(const std::string& name, bool torch_paths) {
  if (name.find('/') == std::string::npos) return {};
  std::vector<std::string> parts;
  for (std::string& part : split_at(name, '/')) {
    if (!part.empty()) parts.push_back(std::move(part));
  }
  if (parts.size() <= 1) return {};
  parts.pop_back();
  if (!torch_paths) return parts;
  std::vector<std::string> scope;
  for (const std::string& part : parts) append_torch_component(scope, part);
  return scope;
}

// Parses the dynamo exporter's name scopes, a Python list literal of
// qualified module paths ending with the FX node's own name, such as
// "['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'convolution']".
std::vector<std::string> scope_from_name_scopes(const std::string& text) {
  std::vector<std::string> items;
  std::size_t position = 0;
  while ((position = text.find_first_of("'\"", position)) != std::string::npos) {
    const char quote = text[position];
    const std::size_t end = text.find(quote, position + 1);
    if (end == std::string::npos) break;
    items.push_back(text.substr(position + 1, end - position - 1));
    position = end + 1;
  }
  if (!items.empty()) items.pop_back();  // the FX node, not a module
  std::vector<std::string> scope;
  std::string qualified;
  for (const std::string& item : items) {
    if (item.empty()) continue;
    const bool nested = !qualified.empty() && item.compare(0, qualified.size() + 1, qualified + ".") == 0;
    for (std::string& atom : split_at(nested ? item.substr(qualified.size() + 1) : item, '.')) {
      scope.push_back(std::move(atom));
    }
    qualified = nested || qualified.empty() ? item : qualified + "." + item;
  }
  return scope;
}

// Layer path named by a weight: "model/block_6_expand_1/convolution/w:0" or
// PyTorch's "layer2.0.conv1.weight" (dotted names only for PyTorch models).
std::vector<std::string> scope_from_weight_name(const std::string& name, bool dotted) {
  if (name.find('/') != std::string::npos) return scope_from_node_name(name, false);
  if (!dotted) return {};
  std::vector<std::string> scope;
  std::size_t start = 0;
  for (std::size_t dot; (dot = name.find('.', start)) != std::string::npos; start = dot + 1) {
    scope.push_back(name.substr(start, dot - start));
  }
  return scope;
}

bool is_moved_layout_node(const NodeRef& node) {
  const bool layout = node.op_type == "Transpose" || node.op_type == "Reshape" || node.op_type == "Squeeze" ||
                      node.op_type == "Unsqueeze";
  if (!layout || !node.domain.empty()) return false;
  const std::size_t marker = node.name.rfind("__");
  return marker != std::string::npos && marker + 2 < node.name.size() &&
         node.name.find_first_not_of("0123456789", marker + 2) == std::string::npos;
}

std::vector<std::string> scope_of(const NodeRef& node, bool torch_paths) {
  for (const auto& [key, value] : node.metadata) {
    if (key == "pkg.torch.onnx.name_scopes") return scope_from_name_scopes(value);
  }
  return scope_from_node_name(node.name, torch_paths);
}

// PyTorch's TorchScript exporter folds a BatchNorm in eval mode into the Conv
// before it (and drops the BatchNorm's nodes and weights). The folded weight
// and bias are new tensors, which the exporter names "onnx::Conv_<n>", where
// an unfolded Conv reads its module's "<path>.weight" and "<path>.bias". A
// computed weight alone (weight standardisation) leaves the bias alone, so
// both must be new. The dynamo exporter keeps the names and scopes the folded
// node under the BatchNorm instead (its name scopes), so it needs no mark.
bool is_folded_convolution(const NodeRef& node) {
  if (node.op_type != "Conv" || !node.domain.empty() || node.inputs.size() < 3) return false;
  for (const auto& entry : node.metadata) {
    if (entry.first == "pkg.torch.onnx.name_scopes") return false;
  }
  return is_exporter_constant(node.inputs[1]) && is_exporter_constant(node.inputs[2]);
}

// tf2onnx's optimizers move layout Transposes through the graph (turning
// some into Reshape, Squeeze or Unsqueeze) and name each after the node it
// was made from ("<that node>__<n>"), so the name's scope need not be where
// it computes: a Transpose of the model's input named
// ".../bn_Conv1_1/batchnorm/mul_1__6" would otherwise be taken for the output
// of the layer "bn_Conv1". Such a node keeps its scope only when it reads a
// value of that same scope (the Squeeze closing a pooling layer).
void clear_borrowed_scopes(const OnnxModel& model, Dataflow& dataflow) {
  if (model.producer_name == "pytorch") return;
  for (NodeId id : dataflow.topological_order()) {
    if (id >= model.nodes.size() || !is_moved_layout_node(model.nodes[id])) continue;
    Node& node = dataflow.mutable_node(id);
    if (node.scope.empty() || node.inputs.empty()) continue;
    const Value& data = dataflow.value(node.inputs.front());
    const bool reads_own_scope = data.producer != kNoNode && dataflow.node(data.producer).scope == node.scope;
    if (!reads_own_scope) node.scope.clear();
  }
}

// Records, on each node, the layer paths named by the weights it reads.
// Scalars are left out: exporters share them between unrelated layers.
void add_weight_scopes(const OnnxModel& model, Dataflow& dataflow) {
  const bool dotted = model.producer_name == "pytorch";
  std::map<std::string, std::vector<std::string>> scope_of_weight;
  for (const TensorRef& tensor : model.initializers) {
    // More than one element, decided without multiplying sizes read from the file.
    const bool empty = std::any_of(tensor.dims.begin(), tensor.dims.end(), [](std::int64_t size) { return size <= 0; });
    const bool single =
        std::all_of(tensor.dims.begin(), tensor.dims.end(), [](std::int64_t size) { return size == 1; });
    if (empty || single) continue;
    auto scope = scope_from_weight_name(tensor.name, dotted);
    if (!scope.empty()) scope_of_weight.emplace(tensor.name, std::move(scope));
  }
  for (NodeId id = 0; id < dataflow.nodes().size(); ++id) {
    Node& node = dataflow.mutable_node(id);
    for (ValueId input : node.inputs) {
      auto it = scope_of_weight.find(dataflow.value(input).name);
      if (it != scope_of_weight.end() && it->second != node.scope) node.weight_scopes.push_back(it->second);
    }
    if (dotted && id < model.nodes.size()) node.folds_following_layer = is_folded_convolution(model.nodes[id]);
  }
}

}  // namespace modelcut::onnx
