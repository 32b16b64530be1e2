// Layer paths recovered from what ONNX exporters leave behind: PyTorch's
// dynamo exporter records module paths in node metadata
// ("pkg.torch.onnx.name_scopes"); the TorchScript exporter and tf2onnx put
// scopes in node names ("/layer1/layer1.0/conv1/Conv", "model/fc2/BiasAdd").
//
// A scope is a list of components, outermost first, that the format-neutral
// resolver (src/resolve) turns into layer names.
#pragma once

#include <string>
#include <vector>

#include "modelcut/dataflow.h"
#include "onnx_model.h"

namespace modelcut::onnx {

// Scope of a node named like "/layer1/layer1.0/conv1/Conv" (TorchScript,
// `torch_paths`: components are rebuilt into full module paths, split at dots)
// or "model/fc2/BiasAdd" (tf2onnx); empty for names without a scope.
std::vector<std::string> scope_from_node_name(const std::string& name, bool torch_paths);

// Scope from the dynamo exporter's "pkg.torch.onnx.name_scopes" metadata,
// the module path split at dots.
std::vector<std::string> scope_from_name_scopes(const std::string& text);

// Layer path named by a weight; `dotted` allows PyTorch's "layer2.0.conv1.weight".
std::vector<std::string> scope_from_weight_name(const std::string& name, bool dotted);

// A layout node (Transpose, Reshape, Squeeze, Unsqueeze) that tf2onnx's
// optimizers made and named after another node ("<node>__<n>").
bool is_moved_layout_node(const NodeRef& node);

// The scope of a node: its name-scope metadata when present, else its name
// (`torch_paths` for models exported by PyTorch).
std::vector<std::string> scope_of(const NodeRef& node, bool torch_paths);

// A Conv into which PyTorch's TorchScript exporter folded the BatchNorm after it.
bool is_folded_convolution(const NodeRef& node);

// Takes their scope from layout nodes that tf2onnx moved out of it (see
// is_moved_layout_node) and that read no value of that scope. Needs
// build_index() done; runs before add_weight_scopes.
void clear_borrowed_scopes(const OnnxModel& model, Dataflow& dataflow);

// Records, on each node, the layer paths named by the weights it reads, and
// (for PyTorch models) whether it holds a layer folded into it.
void add_weight_scopes(const OnnxModel& model, Dataflow& dataflow);

}  // namespace modelcut::onnx
