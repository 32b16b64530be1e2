// Layer paths recovered from what ONNX exporters leave behind: PyTorch's
// dynamo exporter records module paths in node metadata
// ("pkg.torch.onnx.name_scopes"); the TorchScript exporter and tf2onnx put
// scopes in node names ("/layer1/layer1.0/conv1/Conv", "model/fc2/BiasAdd").
#include "exporter_scopes.h"

#include <map>

namespace modelcut::onnx {

// "/layer1/layer1.0/conv1/Conv" -> {"layer1", "0", "conv1"}: the last part
// names the operator; a part that repeats its parent's qualified name as a
// prefix (PyTorch's "layer1.0" under "layer1") is reduced to its own name.
std::vector<std::string> scope_from_node_name(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t slash = name.find('/', start);
    const std::size_t end = slash == std::string::npos ? name.size() : slash;
    if (end > start) parts.push_back(name.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() <= 1 || name.find('/') == std::string::npos) return {};
  parts.pop_back();
  std::vector<std::string> scope;
  std::string qualified;
  for (const std::string& part : parts) {
    if (!qualified.empty() && part.size() > qualified.size() + 1 && part.compare(0, qualified.size(), qualified) == 0 &&
        part[qualified.size()] == '.') {
      scope.push_back(part.substr(qualified.size() + 1));
      qualified = part;
    } else {
      scope.push_back(part);
      qualified = qualified.empty() ? part : qualified + "." + part;
    }
  }
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
    scope.push_back(nested ? item.substr(qualified.size() + 1) : item);
    qualified = nested || qualified.empty() ? item : qualified + "." + item;
  }
  return scope;
}

// Layer path named by a weight: "model/block_6_expand_1/convolution/w:0" or
// PyTorch's "layer2.0.conv1.weight" (dotted names only for PyTorch models).
std::vector<std::string> scope_from_weight_name(const std::string& name, bool dotted) {
  if (name.find('/') != std::string::npos) return scope_from_node_name(name);
  if (!dotted) return {};
  std::vector<std::string> scope;
  std::size_t start = 0;
  for (std::size_t dot; (dot = name.find('.', start)) != std::string::npos; start = dot + 1) {
    scope.push_back(name.substr(start, dot - start));
  }
  return scope;
}

std::vector<std::string> scope_of(const NodeRef& node) {
  for (const auto& [key, value] : node.metadata) {
    if (key == "pkg.torch.onnx.name_scopes") return scope_from_name_scopes(value);
  }
  return scope_from_node_name(node.name);
}

// Records, on each node, the layer paths named by the weights it reads.
// Scalars are left out: exporters share them between unrelated layers.
void add_weight_scopes(const OnnxModel& model, Dataflow& dataflow) {
  const bool dotted = model.producer_name == "pytorch";
  std::map<std::string, std::vector<std::string>> scope_of_weight;
  for (const TensorRef& tensor : model.initializers) {
    std::int64_t elements = 1;
    for (std::int64_t size : tensor.dims) elements *= size;
    if (elements <= 1) continue;
    auto scope = scope_from_weight_name(tensor.name, dotted);
    if (!scope.empty()) scope_of_weight.emplace(tensor.name, std::move(scope));
  }
  for (NodeId id = 0; id < dataflow.nodes().size(); ++id) {
    Node& node = dataflow.mutable_node(id);
    for (ValueId input : node.inputs) {
      auto it = scope_of_weight.find(dataflow.value(input).name);
      if (it != scope_of_weight.end() && it->second != node.scope) node.weight_scopes.push_back(it->second);
    }
  }
}

}  // namespace modelcut::onnx
