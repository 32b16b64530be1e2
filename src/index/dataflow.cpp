// Indexing of a format-neutral dataflow: producer and consumers of every
// value, and a topological order that keeps the source order wherever the
// source order is already topological (so emitted parts list nodes in the
// order the exporter wrote them).
#include "modelcut/dataflow.h"

#include <queue>

#include "modelcut/error.h"
#include "util/checked_math.h"

namespace modelcut {

std::optional<std::uint64_t> TensorInfo::bytes_per_item() const {
  if (!known || !has_shape || element_bits == 0) return std::nullopt;
  std::uint64_t count = 1;
  for (const Dim& dim : dims) {
    if (!dim.is_fixed()) continue;
    // Dims come from the file: a product past 2^64 is no size at all.
    auto next = checked_mul(count, static_cast<std::uint64_t>(dim.size));
    if (!next) return std::nullopt;
    count = *next;
  }
  return packed_bytes(count, static_cast<std::uint64_t>(element_bits));
}

std::string TensorInfo::describe() const {
  if (!known) return "?";
  std::string text = dtype;
  if (!has_shape) return text + "[?]";
  text += "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += ",";
    if (dims[i].is_fixed()) {
      text += std::to_string(dims[i].size);
    } else {
      text += dims[i].symbol.empty() ? "?" : dims[i].symbol;
    }
  }
  return text + "]";
}

ValueId Dataflow::add_value(std::string name, ValueKind kind) {
  auto [it, inserted] = value_by_name_.emplace(name, static_cast<ValueId>(values_.size()));
  if (!inserted) fail("the name ", quoted(name), " is defined twice in the model");
  Value value;
  value.name = std::move(name);
  value.kind = kind;
  values_.push_back(std::move(value));
  return it->second;
}

ValueId Dataflow::value_named(const std::string& name) {
  auto it = value_by_name_.find(name);
  if (it != value_by_name_.end()) return it->second;
  return add_value(name, ValueKind::Computed);
}

NodeId Dataflow::add_node(Node node) {
  const auto id = static_cast<NodeId>(nodes_.size());
  if (node.name.empty()) node.name = "#" + std::to_string(id);
  // Node names should be unique; where an exporter repeated one, only the
  // first is reachable by name (a later one is still reachable by its outputs).
  node_by_name_.emplace(node.name, id);
  nodes_.push_back(std::move(node));
  return id;
}

void Dataflow::mark_graph_input(ValueId value) { graph_inputs_.push_back(value); }

void Dataflow::mark_graph_output(ValueId value) {
  if (!values_[value].is_graph_output) graph_outputs_.push_back(value);
  values_[value].is_graph_output = true;
}

std::optional<ValueId> Dataflow::find_value(const std::string& name) const {
  auto it = value_by_name_.find(name);
  if (it == value_by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<NodeId> Dataflow::find_node(const std::string& name) const {
  auto it = node_by_name_.find(name);
  if (it == node_by_name_.end()) return std::nullopt;
  return it->second;
}

void Dataflow::build_index() {
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    const Node& node = nodes_[id];
    for (std::uint32_t slot = 0; slot < node.outputs.size(); ++slot) {
      Value& value = values_[node.outputs[slot]];
      if (value.kind != ValueKind::Computed) {
        fail("node ", quoted(node.name), " writes ", quoted(value.name),
             ", which is already a graph input or a stored constant");
      }
      if (value.producer != kNoNode) {
        fail("the value ", quoted(value.name), " is produced twice, by nodes ", quoted(nodes_[value.producer].name),
             " and ", quoted(node.name));
      }
      value.producer = id;
      value.output_slot = slot;
    }
  }
  for (const Value& value : values_) {
    if (value.kind == ValueKind::Computed && value.producer == kNoNode) {
      if (value.is_graph_output) {
        fail("the graph output ", quoted(value.name), " is produced by no node");
      }
      // Find a reader to name in the message.
      for (const Node& node : nodes_) {
        for (ValueId input : node.inputs) {
          if (values_[input].name == value.name) {
            fail("node ", quoted(node.name), " reads ", quoted(value.name),
                 ", which no node, graph input or initializer provides");
          }
        }
      }
    }
  }

  // Kahn's algorithm with a min-heap on the source position: the result is
  // the source order whenever that order is already topological.
  std::vector<std::uint32_t> pending_inputs(nodes_.size(), 0);
  std::vector<std::vector<NodeId>> readers(nodes_.size());
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    for (ValueId input : nodes_[id].inputs) {
      const NodeId producer = values_[input].producer;
      if (producer == kNoNode) continue;
      ++pending_inputs[id];
      readers[producer].push_back(id);
    }
  }
  std::priority_queue<NodeId, std::vector<NodeId>, std::greater<>> ready;
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    if (pending_inputs[id] == 0) ready.push(id);
  }
  topo_order_.clear();
  topo_order_.reserve(nodes_.size());
  while (!ready.empty()) {
    const NodeId id = ready.top();
    ready.pop();
    topo_order_.push_back(id);
    for (NodeId reader : readers[id]) {
      if (--pending_inputs[reader] == 0) ready.push(reader);
    }
  }
  if (topo_order_.size() != nodes_.size()) {
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      if (pending_inputs[id] != 0) fail("the graph has a cycle through node ", quoted(nodes_[id].name));
    }
  }
  topo_position_.assign(nodes_.size(), 0);
  for (std::uint32_t position = 0; position < topo_order_.size(); ++position) {
    topo_position_[topo_order_[position]] = position;
  }
  for (Value& value : values_) value.consumers.clear();
  for (NodeId id : topo_order_) {
    for (ValueId input : nodes_[id].inputs) {
      auto& consumers = values_[input].consumers;
      if (consumers.empty() || consumers.back() != id) consumers.push_back(id);
    }
  }
}

}  // namespace modelcut
