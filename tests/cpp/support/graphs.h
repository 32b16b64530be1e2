// Shared helpers for the C++ unit tests: load a model stated in ONNX text
// syntax and index it as the library does, read results back as names, check
// error messages, and patch what the text syntax cannot express (node
// metadata_props).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/onnx/onnx_model.h"
#include "formats/onnx/wire.h"
#include "modelcut/dataflow.h"
#include "modelcut/error.h"
#include "modelcut/partition.h"
#include "modelcut/resolve.h"
#include "support/onnx_text.h"

namespace modelcut::test {

// A model loaded from bytes and indexed, as the pipeline does it.
struct Graph {
  std::unique_ptr<onnx::OnnxModel> model;
  Dataflow dataflow;

  ValueId value(const std::string& name) const {
    auto id = dataflow.find_value(name);
    if (!id) throw std::runtime_error("test graph has no value named '" + name + "'");
    return *id;
  }
  NodeId node(const std::string& name) const {
    auto id = dataflow.find_node(name);
    if (!id) throw std::runtime_error("test graph has no node named '" + name + "'");
    return *id;
  }
};

inline Graph graph_from_bytes(std::string bytes, const std::string& label = "test.onnx") {
  Graph graph;
  graph.model = onnx::OnnxModel::from_bytes(std::move(bytes), label);
  graph.dataflow = onnx::index_onnx(*graph.model);
  return graph;
}

inline Graph graph_from_text(std::string_view text) {
  return graph_from_bytes(modelcut::testing::onnx_model_from_text(text));
}

inline std::vector<std::string> value_names(const Dataflow& dataflow, const std::vector<ValueId>& ids) {
  std::vector<std::string> names;
  for (ValueId id : ids) names.push_back(dataflow.value(id).name);
  return names;
}

inline std::vector<std::string> node_names(const Dataflow& dataflow, const std::vector<NodeId>& ids) {
  std::vector<std::string> names;
  for (NodeId id : ids) names.push_back(dataflow.node(id).name);
  return names;
}

using Names = std::vector<std::string>;

// Resolves every spec as the pipeline does.
inline std::vector<CutPoint> cuts_at(const Dataflow& dataflow, const std::vector<std::string>& specs) {
  const LayerIndex layers(dataflow);
  std::vector<CutPoint> cuts;
  for (const std::string& spec : specs) cuts.push_back(resolve_cut(dataflow, layers, spec));
  return cuts;
}

// Runs `action` and returns the message of the modelcut::Error it throws; a
// test failure (and "") when it throws nothing.
template <typename Action>
std::string error_from(Action&& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a modelcut::Error, but nothing was thrown";
  return "";
}

// EXPECT_TRUE(mentions(message, {"'x'", "cycle"})): every part occurs in message.
inline ::testing::AssertionResult mentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) {
    if (message.find(part) == std::string::npos) {
      return ::testing::AssertionFailure() << "message does not mention \"" << part << "\": " << message;
    }
  }
  return ::testing::AssertionSuccess();
}

// The structural promises of partition_dataflow, checked on any result: the
// parts form a strict chain, every computing node is in exactly one part,
// every node reads only what its part has (inputs, stored constants, values
// computed earlier in the part), and every output is available in its part.
inline ::testing::AssertionResult is_valid_chain(const Dataflow& dataflow, const Partition& partition) {
  const auto& parts = partition.parts;
  if (parts.size() < 2) return ::testing::AssertionFailure() << "fewer than two parts";
  if (parts.front().inputs != dataflow.graph_inputs()) return ::testing::AssertionFailure() << "first inputs";
  if (parts.back().outputs != dataflow.graph_outputs()) return ::testing::AssertionFailure() << "last outputs";
  std::vector<int> owners(dataflow.nodes().size(), 0);
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k + 1 < parts.size() && parts[k + 1].inputs != parts[k].outputs) {
      return ::testing::AssertionFailure() << "part " << k + 1 << "'s inputs are not part " << k << "'s outputs";
    }
    std::set<ValueId> available(parts[k].inputs.begin(), parts[k].inputs.end());
    for (NodeId id : parts[k].nodes) {
      const Node& node = dataflow.node(id);
      if (!node.is_constant) ++owners[id];
      for (ValueId input : node.inputs) {
        if (dataflow.value(input).kind != ValueKind::Constant && available.count(input) == 0) {
          return ::testing::AssertionFailure() << "node '" << node.name << "' in part " << k << " reads '"
                                               << dataflow.value(input).name << "', which the part does not have";
        }
      }
      available.insert(node.outputs.begin(), node.outputs.end());
    }
    for (ValueId output : parts[k].outputs) {
      if (available.count(output) == 0) {
        return ::testing::AssertionFailure()
               << "part " << k << " outputs '" << dataflow.value(output).name << "', which it does not have";
      }
    }
  }
  for (NodeId id = 0; id < owners.size(); ++id) {
    if (!dataflow.node(id).is_constant && owners[id] != 1) {
      return ::testing::AssertionFailure()
             << "node '" << dataflow.node(id).name << "' is in " << owners[id] << " parts";
    }
  }
  return ::testing::AssertionSuccess();
}

// The model with a metadata_props entry added to the graph node named
// `node_name` (the text syntax has no way to write node metadata).
inline std::string with_node_metadata(const std::string& model, const std::string& node_name, const std::string& key,
                                      const std::string& value) {
  namespace field = onnx::field;
  bool found = false;
  wire::Rope graph;
  wire::Rope out;
  wire::Reader model_reader(model, "patched model");
  wire::Field model_field;
  while (model_reader.next(model_field)) {
    if (model_field.number != field::kModelGraph) {
      out.append_view(model_field.raw);
      continue;
    }
    wire::Reader graph_reader(model_field.bytes, "patched graph");
    wire::Field graph_field;
    while (graph_reader.next(graph_field)) {
      std::string name;
      if (graph_field.number == field::kGraphNode) {
        wire::Reader node_reader(graph_field.bytes, "patched node");
        wire::Field node_field;
        while (node_reader.next(node_field)) {
          if (node_field.number == field::kNodeName) name = std::string(node_field.bytes);
        }
      }
      if (graph_field.number != field::kGraphNode || name != node_name) {
        graph.append_view(graph_field.raw);
        continue;
      }
      found = true;
      wire::Rope node;
      node.append_view(graph_field.bytes);
      wire::Rope entry;
      entry.add_bytes_field(field::kEntryKey, key);
      entry.add_bytes_field(field::kEntryValue, value);
      node.add_message_field(field::kNodeMetadataProps, std::move(entry));
      graph.add_message_field(field::kGraphNode, std::move(node));
    }
    out.add_message_field(field::kModelGraph, std::move(graph));
  }
  if (!found) throw std::runtime_error("with_node_metadata: no node named '" + node_name + "'");
  return out.to_string();
}

// Payloads of a model's nodes or initializers, sorted, for comparing as multisets.
inline std::vector<std::string> node_payloads(const onnx::OnnxModel& model) {
  std::vector<std::string> payloads;
  for (const auto& node : model.nodes) payloads.emplace_back(node.payload);
  std::sort(payloads.begin(), payloads.end());
  return payloads;
}

inline std::vector<std::string> initializer_payloads(const onnx::OnnxModel& model) {
  std::vector<std::string> payloads;
  for (const auto& tensor : model.initializers) payloads.emplace_back(tensor.payload);
  std::sort(payloads.begin(), payloads.end());
  return payloads;
}

}  // namespace modelcut::test
