// The format-neutral view of a model's dataflow: nodes (ONNX nodes, Keras
// layer calls, ...) that read and write named values, plus the index that the
// cut resolver and the partitioner need (producer and consumers of every value,
// a topological order, graph inputs and outputs).
//
// Format adapters (src/formats/*) build a Dataflow from a file; everything in
// the middle of the pipeline works on this type only and knows no file format.
// Ownership: the Dataflow owns its nodes and values; NodeId and ValueId are
// indices into it and stay valid for its lifetime (it is never mutated after
// build_index()).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modelcut {

using NodeId = std::uint32_t;
using ValueId = std::uint32_t;
inline constexpr NodeId kNoNode = UINT32_MAX;

// One dimension of a shape: a fixed size, a named symbolic size ("batch"), or
// unknown.
struct Dim {
  std::int64_t size = -1;  // >= 0 when fixed
  std::string symbol;      // non-empty when symbolic
  bool is_fixed() const { return size >= 0; }
};

// What is known of a value's type. Shapes are optional: an exporter may not
// record them for intermediate values.
struct TensorInfo {
  bool known = false;    // element type known
  std::string dtype;     // numpy-style name: "float32", "int64", ...
  int element_bits = 0;  // 0 when not a plain tensor (sequence, map, ...)
  bool has_shape = false;
  std::vector<Dim> dims;

  // Size in bytes with every symbolic or unknown dimension taken as 1 (so
  // "per batch item" for a batch dimension); nullopt when the shape or
  // element size is unknown, or the size does not fit in 64 bits.
  std::optional<std::uint64_t> bytes_per_item() const;
  // "float32[batch,64,56,56]" or "float32[?]" or "?".
  std::string describe() const;
};

enum class ValueKind : std::uint8_t {
  GraphInput,  // fed by the caller
  Constant,    // stored in the model (initializer, weight): never crosses a cut
  Computed,    // produced by a node
};

struct Value {
  std::string name;
  ValueKind kind = ValueKind::Computed;
  NodeId producer = kNoNode;      // for Computed values
  std::uint32_t output_slot = 0;  // which output of the producer
  std::vector<NodeId> consumers;  // nodes that read it (in topological order)
  bool is_graph_output = false;
  TensorInfo info;
};

struct Node {
  std::string name;             // may be empty in the source; then a stable placeholder
  std::string op;               // "Conv", "Dense", ...
  std::vector<ValueId> inputs;  // explicit and implicit (values read by nested subgraphs)
  std::vector<ValueId> outputs;
  // Layer path from outermost to innermost, e.g. {"layer1", "0", "conv1"}
  // for a PyTorch module or {"model", "fc2"} for a Keras/tf2onnx scope.
  std::vector<std::string> scope;
  // Layer paths named by the weights this node reads. Exporters fuse layers
  // (a BatchNorm into the Conv before it) and the fused layer then survives
  // only in weight names; these let a user still cut "after" it.
  std::vector<std::vector<std::string>> weight_scopes;
  // The exporter folded the layer that follows this node's own layer into
  // this node (TorchScript folds a BatchNorm into the Conv before it): what
  // the node computes is that following layer's output, not its own layer's.
  bool folds_following_layer = false;
  // A node whose output is the same wherever it is computed (an ONNX
  // Constant, or a deterministic op that reads only stored weights and other
  // constant nodes): it is copied into every part that needs it instead of
  // sending its value across a cut.
  bool is_constant = false;
  // Nodes with the same nonzero group must go to one part: the format cannot
  // cut between them (a TensorFlow 1 while loop, whose frame is one unit of
  // execution). Planners never offer a cut that separates them; 0 for none.
  std::uint32_t keep_together = 0;
};

class Dataflow {
 public:
  Dataflow() = default;
  Dataflow(const Dataflow&) = delete;
  Dataflow& operator=(const Dataflow&) = delete;
  Dataflow(Dataflow&&) = default;
  Dataflow& operator=(Dataflow&&) = default;

  // Building (done by a format adapter, then build_index() once).
  ValueId add_value(std::string name, ValueKind kind);
  // Returns the value with this name, creating it as Computed if new.
  ValueId value_named(const std::string& name);
  NodeId add_node(Node node);
  void mark_graph_input(ValueId value);
  void mark_graph_output(ValueId value);
  // Links producers and consumers, computes the topological order and checks
  // that every value read is produced exactly once. Throws Error naming the
  // value or node at fault.
  void build_index();

  // Reading.
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Value>& values() const { return values_; }
  const Node& node(NodeId id) const { return nodes_[id]; }
  const Value& value(ValueId id) const { return values_[id]; }
  // For format adapters annotating the dataflow after build_index() (types,
  // weight scopes); the structure (inputs, outputs) must not change.
  Value& mutable_value(ValueId id) { return values_[id]; }
  Node& mutable_node(NodeId id) { return nodes_[id]; }
  const std::vector<ValueId>& graph_inputs() const { return graph_inputs_; }
  const std::vector<ValueId>& graph_outputs() const { return graph_outputs_; }
  // Nodes in a topological order that keeps the source order where it can.
  const std::vector<NodeId>& topological_order() const { return topo_order_; }
  // Position of a node in topological_order().
  std::uint32_t position_of(NodeId node) const { return topo_position_[node]; }
  std::optional<ValueId> find_value(const std::string& name) const;
  std::optional<NodeId> find_node(const std::string& name) const;
  // How scope components are joined for display: '.' for PyTorch module
  // paths, '/' for Keras and TensorFlow scopes.
  char scope_separator = '/';

 private:
  std::vector<Node> nodes_;
  std::vector<Value> values_;
  std::vector<ValueId> graph_inputs_;
  std::vector<ValueId> graph_outputs_;
  std::vector<NodeId> topo_order_;
  std::vector<std::uint32_t> topo_position_;
  std::map<std::string, ValueId> value_by_name_;
  std::map<std::string, NodeId> node_by_name_;
};

}  // namespace modelcut
