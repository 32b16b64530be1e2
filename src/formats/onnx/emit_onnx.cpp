// Emitting ONNX parts and merging them back (see emit_onnx.h).
//
// Nodes, initializers, value_info entries and functions are copied byte for
// byte from the source; only graph inputs and outputs for values crossing a
// cut are written anew. NB: graph fields are written in one fixed order, so
// the same source and cut always give the same bytes.
#include "emit_onnx.h"

#include <algorithm>
#include <set>

#include "infer_types.h"
#include "modelcut/error.h"

namespace modelcut::onnx {
namespace {

wire::Rope value_info_message(const std::string& name, std::string_view type) {
  wire::Rope info;
  info.add_bytes_field(field::kValueInfoName, name);
  info.add_view_field(field::kValueInfoType, type);
  return info;
}

wire::Rope value_info_message(const std::string& name, const std::string& owned_type) {
  wire::Rope info;
  info.add_bytes_field(field::kValueInfoName, name);
  info.add_bytes_field(field::kValueInfoType, owned_type);
  return info;
}

// Local functions called, directly or through other functions, by `ops`.
std::set<OpRef> functions_needed(const std::vector<FunctionRef>& functions, std::vector<OpRef> ops) {
  std::set<OpRef> needed;
  while (!ops.empty()) {
    OpRef op = std::move(ops.back());
    ops.pop_back();
    for (const FunctionRef& function : functions) {
      if (function.domain == op.first && function.name == op.second && needed.insert(op).second) {
        ops.insert(ops.end(), function.called_ops.begin(), function.called_ops.end());
      }
    }
  }
  return needed;
}

// The ModelProto around a graph: every source field in file order, the graph
// replaced, functions filtered, training information dropped (it refers to
// the whole model's initializers).
wire::Rope model_message(const OnnxModel& model, wire::Rope&& graph, const std::set<OpRef>& functions) {
  wire::Rope out;
  std::size_t function_index = 0;
  for (const wire::Field& model_field : model.model_fields) {
    switch (model_field.number) {
      case field::kModelGraph:
        out.add_message_field(field::kModelGraph, std::move(graph));
        break;
      case field::kModelTrainingInfo:
        break;
      case field::kModelFunctions: {
        const FunctionRef& function = model.functions[function_index++];
        if (functions.count({function.domain, function.name})) out.append_view(model_field.raw);
        break;
      }
      default:
        out.append_view(model_field.raw);
        break;
    }
  }
  return out;
}

// Places initializers' bytes as the weight mode says, rewriting each
// TensorProto's data fields (raw_data, external_data, data_location) and
// copying the rest of it unchanged.
class WeightWriter {
 public:
  WeightWriter(const OnnxModel& model, WeightMode mode, const WeightOptions& options, EmittedPart& part,
               const std::string& file_name)
      : model_(model), mode_(mode), options_(options), part_(part), file_name_(file_name) {}

  void add(wire::Rope& graph, std::uint32_t number, const TensorRef& tensor) {
    const TensorBytes source = model_.tensor_bytes(tensor);
    const bool small = source.bytes.size() < options_.small_tensor_bytes;
    const bool typed_fields = !tensor.external && tensor.raw_data.empty();  // float_data, ...: small by nature
    if (typed_fields || (!tensor.external && (mode_ == WeightMode::Inline || small))) {
      return graph.add_view_field(number, tensor.payload, model_.mapping());
    }
    wire::Rope rewritten = header_of(tensor);
    if (mode_ == WeightMode::Inline || small) {
      rewritten.add_view_field(field::kTensorRawData, source.bytes, source.file);
    } else if (mode_ == WeightMode::External) {
      if (part_.data_location.empty()) part_.data_location = file_name_ + ".data";
      // Aligned so that runtimes can map the weights straight from the file.
      const std::uint64_t offset = (part_.data.size() + kAlignment - 1) / kAlignment * kAlignment;
      part_.data.append_owned(std::string(offset - part_.data.size(), '\0'));
      part_.data.append_view(source.bytes, source.file);
      add_external(rewritten, part_.data_location, offset, source.bytes.size());
    } else {
      // In place: the part lies beside the model and refers to the model's
      // own weight file(s), or to the model file itself for inline weights.
      const std::string location = tensor.external ? tensor.external_ref.location : model_.path.filename().string();
      add_external(rewritten, location, source.file->offset_of(source.bytes), source.bytes.size());
    }
    graph.add_message_field(number, std::move(rewritten));
  }

 private:
  static constexpr std::uint64_t kAlignment = 4096;

  wire::Rope header_of(const TensorRef& tensor) const {
    wire::Rope header;
    wire::Reader reader(tensor.payload, model_.label);
    wire::Field field;
    while (reader.next(field)) {
      if (field.number != field::kTensorRawData && field.number != field::kTensorExternalData &&
          field.number != field::kTensorDataLocation) {
        header.append_view(field.raw, model_.mapping());
      }
    }
    return header;
  }

  static void add_external(wire::Rope& tensor, const std::string& location, std::uint64_t offset,
                           std::uint64_t length) {
    for (const auto& [key, value] : {std::pair<const char*, std::string>{"location", location},
                                     {"offset", std::to_string(offset)},
                                     {"length", std::to_string(length)}}) {
      wire::Rope entry;
      entry.add_bytes_field(field::kEntryKey, key);
      entry.add_bytes_field(field::kEntryValue, value);
      tensor.add_message_field(field::kTensorExternalData, std::move(entry));
    }
    tensor.add_varint_field(field::kTensorDataLocation, 1);
  }

  const OnnxModel& model_;
  WeightMode mode_;
  const WeightOptions& options_;
  EmittedPart& part_;
  const std::string& file_name_;
};

// Auto resolves to Inline or External by the part's weight bytes.
WeightMode mode_for(const OnnxModel& model, const std::set<std::string>& used, const WeightOptions& options) {
  if (options.mode != WeightMode::Auto) return options.mode;
  std::uint64_t total = 0;
  for (const TensorRef& tensor : model.initializers) {
    if (used.count(tensor.name)) total += model.tensor_bytes(tensor).bytes.size();
  }
  return total > options.external_threshold ? WeightMode::External : WeightMode::Inline;
}

void fail_if_external(const OnnxModel& model, const TensorRef& tensor) {
  if (tensor.external) {
    fail(model.label, ": the sparse initializer ", quoted(tensor.name),
         " is stored in an external data file, which modelcut does not cut yet");
  }
}

}  // namespace

EmittedPart emit_part(const OnnxModel& model, const Dataflow& dataflow, const Partition& partition, std::size_t index,
                      const WeightOptions& weights, const std::string& file_name) {
  const Part& part = partition.parts[index];
  std::set<std::string> used;      // names read by the part, or returned by it
  std::set<std::string> computed;  // names produced by its nodes
  std::vector<OpRef> ops;
  for (NodeId id : part.nodes) {
    const NodeRef& node = model.nodes[id];
    used.insert(node.inputs.begin(), node.inputs.end());
    used.insert(node.outer_reads.begin(), node.outer_reads.end());
    computed.insert(node.outputs.begin(), node.outputs.end());
    ops.insert(ops.end(), node.called_ops.begin(), node.called_ops.end());
  }
  std::set<std::string> boundary;
  for (ValueId id : part.inputs) boundary.insert(dataflow.value(id).name);
  for (ValueId id : part.outputs) {
    used.insert(dataflow.value(id).name);
    boundary.insert(dataflow.value(id).name);
  }

  EmittedPart emitted;
  WeightWriter weight_writer(model, mode_for(model, used, weights), weights, emitted, file_name);
  wire::Rope graph;
  for (NodeId id : part.nodes) graph.add_view_field(field::kGraphNode, model.nodes[id].payload, model.mapping());
  graph.add_bytes_field(field::kGraphName, model.graph_name);
  for (const TensorRef& tensor : model.initializers) {
    if (used.count(tensor.name)) weight_writer.add(graph, field::kGraphInitializer, tensor);
  }
  for (const wire::Field& annotation : model.graph_annotations) graph.append_view(annotation.raw);

  std::map<std::string, std::string_view> source_io;
  for (const auto* list : {&model.inputs, &model.outputs}) {
    for (const ValueInfoRef& info : *list) source_io.emplace(info.name, info.payload);
  }
  auto add_io = [&](std::uint32_t number, ValueId id) {
    const std::string& name = dataflow.value(id).name;
    if (auto it = source_io.find(name); it != source_io.end()) return graph.add_view_field(number, it->second);
    if (auto type = model.types.find(name); type != model.types.end()) {
      return graph.add_message_field(number, value_info_message(name, type->second));
    }
    const TensorInfo& inferred = dataflow.value(id).info;
    if (!inferred.known || data_type_code(inferred.dtype) == 0) {
      fail(model.label, ": no type is known for ", quoted(name),
           ", which crosses a cut; the model records none for it (run ONNX shape inference on it first)");
    }
    graph.add_message_field(number, value_info_message(name, type_proto_from_info(inferred)));
  };
  for (ValueId id : part.inputs) add_io(field::kGraphInput, id);
  for (ValueId id : part.outputs) add_io(field::kGraphOutput, id);
  for (const ValueInfoRef& info : model.value_info) {
    if (computed.count(info.name) && !boundary.count(info.name))
      graph.add_view_field(field::kGraphValueInfo, info.payload);
  }
  for (const auto& [tensor_name, annotation] : model.quantization_annotations) {
    if (used.count(tensor_name) || computed.count(tensor_name)) graph.append_view(annotation.raw);
  }
  for (const TensorRef& tensor : model.sparse_initializers) {
    if (!used.count(tensor.name)) continue;
    fail_if_external(model, tensor);
    graph.add_view_field(field::kGraphSparseInitializer, tensor.payload);
  }
  emitted.model = model_message(model, std::move(graph), functions_needed(model.functions, ops));
  return emitted;
}

wire::Rope merge_parts(const std::vector<std::unique_ptr<OnnxModel>>& parts, const std::filesystem::path& output) {
  if (parts.empty()) fail("no parts to merge");
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path output_folder = fs::weakly_canonical(fs::absolute(output).parent_path(), error);
  for (const auto& part : parts) {
    const bool has_external = std::any_of(part->initializers.begin(), part->initializers.end(),
                                          [](const TensorRef& tensor) { return tensor.external; });
    if (has_external && fs::weakly_canonical(fs::absolute(part->path).parent_path(), error) != output_folder) {
      fail(part->label, " keeps weights in external data files, which stay where they are: write the merged model ",
           "into the same folder");
    }
  }
  for (std::size_t k = 1; k < parts.size(); ++k) {
    std::set<std::string> provided;
    for (const ValueInfoRef& output : parts[k - 1]->outputs) provided.insert(output.name);
    for (const ValueInfoRef& input : parts[k]->inputs) {
      if (!provided.count(input.name)) {
        fail("the parts do not chain: ", parts[k]->label, " needs ", quoted(input.name), ", which ",
             parts[k - 1]->label, " does not output");
      }
    }
  }

  const OnnxModel& first = *parts.front();
  const OnnxModel& last = *parts.back();
  std::set<std::string> final_outputs, first_inputs;
  for (const ValueInfoRef& output : last.outputs) final_outputs.insert(output.name);
  for (const ValueInfoRef& input : first.inputs) first_inputs.insert(input.name);

  wire::Rope graph;
  std::map<std::string, std::string_view> producer_payload;  // first node writing each name
  for (const auto& part : parts) {
    for (const NodeRef& node : part->nodes) {
      bool duplicate = false;
      for (const std::string& output : node.outputs) {
        auto [it, inserted] = producer_payload.emplace(output, node.payload);
        if (inserted || output.empty()) continue;
        if (it->second != node.payload) {
          fail("the parts do not come from one model: ", quoted(output), " is computed differently in two parts (",
               part->label, ")");
        }
        duplicate = true;
      }
      if (!duplicate) graph.add_view_field(field::kGraphNode, node.payload, part->mapping());
    }
  }
  graph.add_bytes_field(field::kGraphName, first.graph_name);
  std::set<std::string> seen;
  for (const auto& part : parts) {
    for (const TensorRef& tensor : part->initializers) {
      if (seen.insert(tensor.name).second)
        graph.add_view_field(field::kGraphInitializer, tensor.payload, part->mapping());
    }
  }
  for (const wire::Field& annotation : first.graph_annotations) graph.append_view(annotation.raw);
  for (const ValueInfoRef& input : first.inputs) graph.add_view_field(field::kGraphInput, input.payload);
  for (const ValueInfoRef& output : last.outputs) graph.add_view_field(field::kGraphOutput, output.payload);
  // Values that crossed a cut become internal again; keep their types.
  seen.clear();
  for (const auto& part : parts) {
    for (const auto* list : {&part->value_info, &part->outputs}) {
      for (const ValueInfoRef& info : *list) {
        if (final_outputs.count(info.name) || first_inputs.count(info.name)) continue;
        if (seen.insert(info.name).second) graph.add_view_field(field::kGraphValueInfo, info.payload);
      }
    }
  }
  seen.clear();
  for (const auto& part : parts) {
    for (const auto& [tensor_name, annotation] : part->quantization_annotations) {
      if (seen.insert(tensor_name).second) graph.append_view(annotation.raw);
    }
  }
  seen.clear();
  for (const auto& part : parts) {
    for (const TensorRef& tensor : part->sparse_initializers) {
      if (seen.insert(tensor.name).second) graph.add_view_field(field::kGraphSparseInitializer, tensor.payload);
    }
  }

  // Functions: every distinct one of every part, in order of appearance.
  wire::Rope out;
  std::set<OpRef> functions_seen;
  for (const wire::Field& model_field : first.model_fields) {
    if (model_field.number == field::kModelGraph) {
      out.add_message_field(field::kModelGraph, std::move(graph));
    } else if (model_field.number != field::kModelFunctions) {
      out.append_view(model_field.raw);
    }
  }
  for (const auto& part : parts) {
    for (const FunctionRef& function : part->functions) {
      if (functions_seen.insert({function.domain, function.name}).second) out.append_view(function.field.raw);
    }
  }
  return out;
}

}  // namespace modelcut::onnx
