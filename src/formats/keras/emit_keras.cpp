// Writing Keras parts (see emit_keras.h).
//
// Keras finds a layer's weights by the layer's position in Model.layers: a
// .keras file names each layer's state group after its class and its rank
// among layers of that class ("layers/dense_2"), and a legacy .h5 file is
// read layer by layer in that order. Model.layers of a loaded Functional
// model is ordered by depth from the outputs, ties broken by the order of a
// depth-first walk from the outputs; keras_layer_order() computes that order
// for the part, the part's config lists its layers in it (as Keras itself
// would write them), and the weights are written under the matching names.
#include "emit_keras.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "../../util/output_files.h"
#include "hdf5_structure_copy.h"
#include "keras_part_archive.h"
#include "modelcut/error.h"

namespace modelcut::keras {
namespace fs = std::filesystem;

namespace {

std::string sanitized(const std::string& name) {
  std::string text = name;
  for (char& c : text) {
    const bool keep =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!keep) c = '_';
  }
  return text;
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
  std::string text;
  for (std::size_t i = 0; i < parts.size(); ++i) text += (i ? separator : "") + parts[i];
  return text;
}

Json shape_json(const TensorType& type) {
  Json shape = Json::array();
  for (std::int64_t dim : type.dims) shape.push_back(dim < 0 ? Json(nullptr) : Json(dim));
  return shape;
}

struct PartLayer {
  std::optional<std::size_t> source;  // index in KerasModel::layers; none for an InputLayer
  ValueId input = 0;                  // InputLayer: the tensor it receives
  std::string name;                   // its name in the part
  std::string class_name;
  bool is_layer = true;
  std::vector<NodeId> calls;  // the source's calls it makes here, in order
};

class PartWriter {
 public:
  PartWriter(const KerasModel& model, const Partition& partition, std::size_t index)
      : model_(model), dataflow_(model.dataflow), partition_(partition), index_(index), part_(partition.parts[index]) {
    collect_layers();
    assign_names();
    build_structures();
    order_ = keras_layer_order();
  }

  Json config() const {
    Json layers = Json::array();
    for (std::size_t layer : order_) layers.push_back(entry_of(layer));
    const Json& source = model_.root;
    const std::string name = model_.model_name + "_part" + std::to_string(index_ + 1);
    Json config = Json::object();
    config["name"] = name;
    const Json& source_config = source["config"];
    config["trainable"] = source_config.contains("trainable") ? source_config["trainable"] : Json(true);
    config["layers"] = std::move(layers);
    config["input_layers"] = input_structure_;
    config["output_layers"] = output_structure_;
    Json root = Json::object();
    if (model_.container == Container::Zip) {
      const bool functional = model_.model_class == "Functional" && source.contains("module");
      root["module"] = functional ? source["module"] : Json("keras.src.models.functional");
      root["class_name"] = "Functional";
      root["config"] = std::move(config);
      root["registered_name"] = "Functional";
      root["build_config"] = Json{{"input_shape", nullptr}};
      root["compile_config"] = nullptr;
    } else {
      root["class_name"] = "Functional";
      root["config"] = std::move(config);
    }
    return root;
  }

  void write(const fs::path& target) const {
    const Json root = config();
    TemporaryFile output(target);  // HDF5 and libzip write it by its name
    if (model_.container == Container::Zip) {
      std::string metadata = model_.metadata;
      if (metadata.empty()) metadata = Json{{"keras_version", model_.keras_version}}.dump();
      PartArchive archive(output.path());
      write_weights(archive, root["config"]["name"].get<std::string>());
      archive.finish(model_.weights.descriptor(), metadata, root.dump());
    } else {
      write_legacy(output.path(), root);
    }
    output.commit();
  }

 private:
  void collect_layers() {
    std::set<NodeId> in_part(part_.nodes.begin(), part_.nodes.end());
    for (NodeId id : part_.nodes) {
      const std::size_t source = model_.calls[id].layer;
      if (part_layer_of_source_.count(source)) continue;
      part_layer_of_source_[source] = layers_.size();
      PartLayer layer;
      layer.source = source;
      layer.class_name = model_.layers[source].class_name;
      layer.is_layer = model_.layers[source].is_layer;
      for (NodeId call : model_.layers[source].calls) {
        if (in_part.count(call)) {
          call_position_[call] = {layers_.size(), static_cast<std::uint32_t>(layer.calls.size())};
          layer.calls.push_back(call);
        }
      }
      layers_.push_back(std::move(layer));
    }
    for (ValueId value : part_.inputs) {
      input_layer_of_[value] = layers_.size();
      PartLayer layer;
      layer.input = value;
      layer.class_name = "InputLayer";
      layers_.push_back(std::move(layer));
      const TensorType& type = model_.types[value];
      if (!type.has_shape || type.dtype.empty()) {
        const Value& info = dataflow_.value(value);
        std::string through;
        if (info.producer != kNoNode) {
          const LayerInfo& producer = model_.layers[model_.calls[info.producer].layer];
          through = " through layer " + quoted(joined(producer.path, "/")) + " (" + producer.class_name + ")";
        }
        fail("cannot cut before part ", index_ + 1, ": the ", type.has_shape ? "dtype" : "shape", " of ",
             quoted(info.name), ", which crosses the cut, is not recorded in ", quoted(model_.path.filename().string()),
             " and modelcut cannot infer it", through,
             "; cut elsewhere, or save the model with Keras 3 as a .keras file");
      }
    }
  }

  void claim(PartLayer& layer, const std::vector<std::string>& candidates) {
    for (const std::string& candidate : candidates) {
      if (!candidate.empty() && taken_.insert(candidate).second) {
        layer.name = candidate;
        return;
      }
    }
    for (int suffix = 2;; ++suffix) {
      const std::string candidate = candidates.front() + "_" + std::to_string(suffix);
      if (taken_.insert(candidate).second) {
        layer.name = candidate;
        return;
      }
    }
  }

  // Top-level layers and the model's own inputs keep their names; layers of
  // flattened nested models keep theirs unless taken (then their path,
  // joined with '_'); a new InputLayer is named after the layer that made
  // its tensor.
  void assign_names() {
    for (PartLayer& layer : layers_) {
      if (layer.source && model_.layers[*layer.source].path.size() == 1) {
        claim(layer, {model_.layers[*layer.source].name});
      }
    }
    for (PartLayer& layer : layers_) {
      if (!layer.source && dataflow_.value(layer.input).kind == ValueKind::GraphInput) {
        claim(layer, {dataflow_.value(layer.input).name});
      }
    }
    for (PartLayer& layer : layers_) {
      if (layer.source && model_.layers[*layer.source].path.size() > 1) {
        const LayerInfo& source = model_.layers[*layer.source];
        claim(layer, {source.name, sanitized(joined(source.path, "_"))});
      }
    }
    for (PartLayer& layer : layers_) {
      if (layer.source || dataflow_.value(layer.input).kind == ValueKind::GraphInput) continue;
      const Value& value = dataflow_.value(layer.input);
      const CallInfo& call = model_.calls[value.producer];
      const LayerInfo& producer = model_.layers[call.layer];
      std::string base = producer.name;
      std::string full = joined(producer.path, "_");
      if (producer.calls.size() > 1) {
        const auto position =
            std::find(producer.calls.begin(), producer.calls.end(), value.producer) - producer.calls.begin();
        base += "_call" + std::to_string(position);
        full += "_call" + std::to_string(position);
      }
      if (call.output_count > 1) {
        base += "_out" + std::to_string(value.output_slot);
        full += "_out" + std::to_string(value.output_slot);
      }
      claim(layer, {sanitized(base), sanitized(full)});
    }
  }

  Json ref_json(ValueId value) const {
    auto input = input_layer_of_.find(value);
    if (input != input_layer_of_.end()) return Json::array({layers_[input->second].name, 0, 0});
    const Value& info = dataflow_.value(value);
    auto position = call_position_.find(info.producer);
    if (position == call_position_.end()) {
      fail("internal error: part ", index_ + 1, " reads ", quoted(info.name), ", which it neither makes nor receives");
    }
    return Json::array({layers_[position->second.first].name, position->second.second, info.output_slot});
  }

  void build_structures() {
    const bool last = index_ + 1 == partition_.parts.size();
    auto listed = [&](const std::vector<ValueId>& values) {
      if (model_.keras3 && values.size() == 1) return ref_json(values.front());
      Json list = Json::array();
      for (ValueId value : values) list.push_back(ref_json(value));
      return list;
    };
    auto rewritten = [&](Json structure, const std::vector<ValueId>& values) {
      const auto refs = structure_refs(structure);
      for (std::size_t i = 0; i < refs.size(); ++i) *refs[i] = ref_json(values[i]);
      return structure;
    };
    if (index_ == 0) {
      input_structure_ = rewritten(model_.input_structure, model_.input_refs);
      input_values_ = model_.input_refs;
    } else {
      input_structure_ = listed(part_.inputs);
      input_values_ = part_.inputs;
    }
    if (last) {
      output_structure_ = rewritten(model_.output_structure, model_.output_refs);
      output_values_ = model_.output_refs;
    } else {
      output_structure_ = listed(part_.outputs);
      output_values_ = part_.outputs;
    }
  }

  Json keras_tensor(ValueId value) const {
    const TensorType& type = model_.types[value];
    Json config = Json::object();
    config["shape"] = type.has_shape ? shape_json(type) : Json::array();
    config["dtype"] = type.dtype.empty() ? "float32" : type.dtype;
    config["keras_history"] = ref_json(value);
    return Json{{"class_name", "__keras_tensor__"}, {"config", config}};
  }

  Json node_json(NodeId id) const {
    const CallInfo& call = model_.calls[id];
    if (call.node_data == nullptr) {  // a step of a Sequential model: one tensor in
      const ValueId input = call.refs.front();
      if (model_.keras3) return Json{{"args", Json::array({keras_tensor(input)})}, {"kwargs", Json::object()}};
      Json ref = ref_json(input);
      ref.push_back(Json::object());
      return Json::array({ref});
    }
    Json node = *call.node_data;
    NodeRefs refs = node_refs(node, model_.keras3);
    if (refs.refs.size() != call.refs.size())
      fail("internal error: the inbound node of ", quoted(dataflow_.node(id).name), " changed");
    for (std::size_t i = 0; i < refs.refs.size(); ++i) {
      const Json ref = ref_json(call.refs[i]);
      for (std::size_t k = 0; k < 3; ++k) (*refs.refs[i])[k] = ref[k];
    }
    return node;
  }

  Json entry_of(std::size_t index) const {
    const PartLayer& layer = layers_[index];
    Json entry;
    if (layer.source) {
      entry = *model_.layers[*layer.source].entry;
    } else if (dataflow_.value(layer.input).kind == ValueKind::GraphInput) {
      entry = *model_.input_entries.at(layer.input);
    } else {
      entry = new_input_entry(layer.input);
    }
    // Each layer of a part is its own object (Keras would share objects
    // with the same id).
    entry.erase("shared_object_id");
    if (entry.contains("config") && entry["config"].is_object()) entry["config"]["name"] = layer.name;
    entry["name"] = layer.name;
    Json nodes = Json::array();
    for (NodeId call : layer.calls) nodes.push_back(node_json(call));
    entry["inbound_nodes"] = std::move(nodes);
    return entry;
  }

  Json new_input_entry(ValueId value) const {
    const TensorType& type = model_.types[value];
    Json entry = model_.input_template ? *model_.input_template : Json{{"class_name", "InputLayer"}};
    if (!entry.contains("config") || !entry["config"].is_object()) entry["config"] = Json::object();
    Json& config = entry["config"];
    const char* shape_key = config.contains("batch_input_shape") ? "batch_input_shape"
                            : config.contains("batch_shape")     ? "batch_shape"
                            : model_.keras3                      ? "batch_shape"
                                                                 : "batch_input_shape";
    config.erase("shape");
    config.erase("input_shape");
    config[shape_key] = shape_json(type);
    config["dtype"] = type.dtype;
    config["sparse"] = type.sparse;
    if (config.contains("ragged")) config["ragged"] = false;
    if (config.contains("optional")) config["optional"] = false;
    return entry;
  }

  // Model.layers as Keras will order them when it loads the part (see the
  // comment at the top of this file).
  std::vector<std::size_t> keras_layer_order() const {
    struct GraphNode {
      std::size_t layer;
      std::vector<std::size_t> parents;
    };
    std::vector<GraphNode> nodes;
    std::map<std::size_t, std::size_t> node_of_input;  // part layer -> node
    std::map<NodeId, std::size_t> node_of_call;
    for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
      if (layers_[layer].source) continue;
      node_of_input[layer] = nodes.size();
      nodes.push_back({layer, {}});
    }
    for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
      for (NodeId call : layers_[layer].calls) {
        node_of_call[call] = nodes.size();
        nodes.push_back({layer, {}});
      }
    }
    auto node_of_value = [&](ValueId value) {
      auto input = input_layer_of_.find(value);
      if (input != input_layer_of_.end()) return node_of_input.at(input->second);
      return node_of_call.at(dataflow_.value(value).producer);
    };
    for (const auto& [call, node] : node_of_call) {
      const CallInfo& info = model_.calls[call];
      for (std::size_t index : info.flat_order) nodes[node].parents.push_back(node_of_value(info.refs[index]));
    }

    // Depth-first from the outputs: post-order of nodes, pre-order of layers.
    std::vector<char> state(nodes.size(), 0);  // 0 new, 1 in progress, 2 finished
    std::vector<std::size_t> post_order;
    std::map<std::size_t, long> layer_index;
    for (ValueId output : output_values_) {
      std::vector<std::pair<std::size_t, std::size_t>> stack;
      auto enter = [&](std::size_t node) {
        if (state[node] == 2) return;
        if (state[node] == 1) fail("the part's graph has a cycle through ", quoted(layers_[nodes[node].layer].name));
        layer_index.emplace(nodes[node].layer, static_cast<long>(layer_index.size()));
        state[node] = 1;
        stack.emplace_back(node, 0);
      };
      enter(node_of_value(output));
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < nodes[node].parents.size()) {
          const std::size_t parent = nodes[node].parents[next++];
          enter(parent);
          continue;
        }
        state[node] = 2;
        post_order.push_back(node);
        stack.pop_back();
      }
    }

    // Depth: 0 at the outputs, one more than the deepest reader; a shared
    // layer takes the largest depth of its calls.
    std::vector<long> node_depth(nodes.size(), -1);
    std::vector<long> layer_depth(layers_.size(), -1);
    std::vector<std::size_t> seen_layers;  // in the order they get a depth
    for (auto it = post_order.rbegin(); it != post_order.rend(); ++it) {
      const std::size_t node = *it;
      const std::size_t layer = nodes[node].layer;
      long depth = std::max<long>(node_depth[node], 0);
      if (layer_depth[layer] < 0) {
        seen_layers.push_back(layer);
      } else {
        depth = std::max(depth, layer_depth[layer]);
      }
      layer_depth[layer] = depth;
      node_depth[node] = depth;
      for (std::size_t parent : nodes[node].parents) node_depth[parent] = std::max(node_depth[parent], depth + 1);
    }
    for (ValueId input : input_values_) {  // inputs nothing reads
      const std::size_t layer = input_layer_of_.at(input);
      if (layer_depth[layer] >= 0) continue;
      layer_depth[layer] = 0;
      layer_index[layer] = -1;
      seen_layers.push_back(layer);
    }
    std::stable_sort(seen_layers.begin(), seen_layers.end(), [&](std::size_t a, std::size_t b) {
      if (layer_depth[a] != layer_depth[b]) return layer_depth[a] > layer_depth[b];
      return layer_index.at(a) < layer_index.at(b);
    });
    if (seen_layers.size() != layers_.size())
      fail("internal error: part ", index_ + 1, " has layers its outputs do not need");
    return seen_layers;
  }

  // .keras: one state group per layer, "layers/<snake_case class>[_k]".
  // The datasets' bytes are copied raw by the archive (keras_part_archive.h);
  // a layer whose state is not plain groups and datasets goes through H5Ocopy.
  void write_weights(PartArchive& archive, const std::string& model_name) const {
    h5::File& file = archive.weights();
    if (model_.weights_have_names) {
      h5::create_group(file, "vars");
      h5::write_string_attribute(file, "vars", "name", model_name);
    }
    std::map<std::string, int> used;
    for (std::size_t index : order_) {
      const PartLayer& layer = layers_[index];
      if (!layer.is_layer) continue;
      const std::string base = snake_case(layer.class_name);
      std::string group = "layers/" + base;
      auto [it, inserted] = used.emplace(base, 0);
      if (!inserted) group += "_" + std::to_string(++it->second);
      const std::string* source_group = layer.source ? &model_.layers[*layer.source].weight_group : nullptr;
      if (source_group && !source_group->empty()) {
        // The layer's name is written below.
        const std::set<std::pair<std::string, std::string>> rewritten = {{"vars", "name"}};
        if (!h5::copy_structure(
                model_.weights, *source_group, file, group, archive.raw(),
                model_.weights_have_names ? rewritten : std::set<std::pair<std::string, std::string>>{})) {
          h5::check_copies(model_.weights, {*source_group});
          h5::copy_object(model_.weights, *source_group, file, group);
        }
        if (model_.weights_have_names && h5::is_group(file, group + "/vars")) {
          h5::write_string_attribute(file, group + "/vars", "name", layer.name);
        }
      } else if (model_.weights_have_names) {
        h5::create_group(file, group + "/vars");
        h5::write_string_attribute(file, group + "/vars", "name", layer.name);
      }
    }
  }

  // Legacy .h5: the config as an attribute, and a group per layer listing
  // its weights in loading order.
  void write_legacy(const fs::path& path, const Json& root) const {
    std::vector<std::string> copies;  // checked in one isolated child before any is made here
    for (std::size_t index : order_) {
      const PartLayer& layer = layers_[index];
      if (!layer.is_layer || !layer.source) continue;
      const LayerInfo& source = model_.layers[*layer.source];
      for (const std::string& weight : source.legacy_weights) copies.push_back(source.legacy_group + "/" + weight);
    }
    h5::check_copies(model_.weights, copies);
    h5::File file = h5::File::create(path);
    if (!model_.backend.empty()) h5::write_string_attribute(file, "", "backend", model_.backend);
    if (!model_.keras_version.empty()) h5::write_string_attribute(file, "", "keras_version", model_.keras_version);
    h5::write_string_attribute(file, "", "model_config", root.dump());
    h5::create_group(file, "model_weights");
    for (const char* name : {"backend", "keras_version"}) {
      if (auto value = h5::read_string_attribute(model_.weights, "model_weights", name)) {
        h5::write_string_attribute(file, "model_weights", name, *value);
      }
    }
    std::vector<std::string> names;
    for (std::size_t index : order_) {
      const PartLayer& layer = layers_[index];
      if (!layer.is_layer) continue;
      names.push_back(layer.name);
      const std::string group = "model_weights/" + layer.name;
      h5::create_group(file, group);
      std::vector<std::string> weights;
      if (layer.source) {
        const LayerInfo& source = model_.layers[*layer.source];
        weights = source.legacy_weights;
        for (const std::string& weight : weights) {
          h5::copy_object(model_.weights, source.legacy_group + "/" + weight, file, group + "/" + weight);
        }
      }
      h5::write_string_list_attribute(file, group, "weight_names", weights);
    }
    h5::write_string_list_attribute(file, "model_weights", "layer_names", names);
    if (h5::exists(model_.weights, "model_weights/top_level_model_weights")) {
      h5::create_group(file, "model_weights/top_level_model_weights");
      h5::write_string_list_attribute(file, "model_weights/top_level_model_weights", "weight_names", {});
    }
    file.close();
  }

  const KerasModel& model_;
  const Dataflow& dataflow_;
  const Partition& partition_;
  std::size_t index_;
  const Part& part_;
  std::vector<PartLayer> layers_;
  std::map<std::size_t, std::size_t> part_layer_of_source_;
  std::map<ValueId, std::size_t> input_layer_of_;
  std::map<NodeId, std::pair<std::size_t, std::uint32_t>> call_position_;  // call -> (part layer, node index)
  std::set<std::string> taken_;
  Json input_structure_, output_structure_;
  std::vector<ValueId> input_values_, output_values_;
  std::vector<std::size_t> order_;
};

}  // namespace

void write_part(const KerasModel& model, const Partition& partition, std::size_t index, const fs::path& target) {
  if (!model.has_weights) {
    fail(quoted(model.path.string()),
         ": the model was indexed from its config alone, with no weights, so its parts "
         "cannot be written to files");
  }
  PartWriter(model, partition, index).write(target);
}

std::size_t part_weight_count(const KerasModel& model, const Partition& partition, std::size_t index) {
  std::set<std::size_t> layers;
  for (NodeId id : partition.parts[index].nodes) layers.insert(model.calls[id].layer);
  std::size_t count = 0;
  for (std::size_t layer : layers) count += model.layers[layer].weight_count;
  return count;
}

}  // namespace modelcut::keras
