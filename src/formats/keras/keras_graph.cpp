// Flattening a Keras model config into a Dataflow (see keras_graph.h).
//
// The config is walked the way Keras rebuilds a model from it: each model's
// layers are created in list order and their inbound nodes (calls) are made
// once the tensors they read exist; a nested model's call expands the nested
// model's own config with its inputs bound to the call's arguments. Node
// indices in references follow the file's dialect: tf-keras counts a nested
// model's construction node (so its first call is node 1, everywhere), Keras
// 3 counts it only in input_layers/output_layers of Functional models.
#include "keras_graph.h"

#include <algorithm>
#include <set>

#include "keras_config.h"
#include "modelcut/error.h"

namespace modelcut::keras {
namespace {

class Builder {
 public:
  explicit Builder(KerasModel& model) : model_(model) {}

  std::map<ValueId, TensorType> recorded_types() && { return std::move(recorded_); }

  void build() {
    Json& root = model_.root;
    const std::string class_name = string_or(root, "class_name");
    model_.model_class = class_name;
    const Kind kind = kind_of(root);
    if (kind != Kind::Functional && kind != Kind::Sequential) {
      if (root.contains("config") && root["config"].is_object() && root["config"].contains("layers")) {
        fail(where(), ": the model is a '", class_name,
             "', a subclass modelcut does not know; only Sequential and Functional models can be cut");
      }
      fail(where(), ": the model is a subclassed model ('", class_name.empty() ? "?" : class_name,
           "') whose config holds no layer graph; only Sequential and Functional models can be cut");
    }
    model_.model_name = entry_name(root);
    check_layer_entries(root, where());
    find_input_template(root);

    if (kind == Kind::Functional) {
      expand_functional(root, {}, nullptr);
    } else {
      expand_sequential(root, {}, nullptr);
    }
    if (kind == Kind::Sequential) synthesize_structures();
    finish();
  }

 private:
  struct Tensor {
    NodeId call = kNoNode;        // producer, or kNoNode for a graph input
    std::uint32_t index = 0;      // output index
    const Json* input = nullptr;  // the InputLayer entry of a graph input
  };

  std::string where() const { return quoted(model_.path.string()); }

  void find_input_template(const Json& model_entry) {
    if (model_.input_template != nullptr) return;
    for (const Json& entry : model_entry["config"]["layers"]) {
      const Kind kind = kind_of(entry);
      if (kind == Kind::Input) {
        model_.input_template = &entry;
        return;
      }
      if (kind == Kind::Functional || kind == Kind::Sequential) {
        check_layer_entries(entry, where());
        find_input_template(entry);
      }
    }
  }

  std::uint32_t new_tensor(Tensor tensor) {
    if (tensors_.size() >= kMaxTensors) fail(where(), ": the model has more than ", kMaxTensors, " tensors");
    tensors_.push_back(tensor);
    return static_cast<std::uint32_t>(tensors_.size() - 1);
  }

  std::uint32_t output_of(NodeId call, std::uint32_t index) {
    auto [it, inserted] = call_outputs_.emplace(std::make_pair(call, index), 0);
    if (inserted) it->second = new_tensor(Tensor{call, index, nullptr});
    return it->second;
  }

  std::uint32_t new_graph_input(const Json& entry) {
    const std::uint32_t id = new_tensor(Tensor{kNoNode, 0, &entry});
    graph_inputs_.push_back(id);
    TensorType type;
    const Json& config = entry["config"];
    for (const char* key : {"batch_shape", "batch_input_shape"}) {
      if (config.contains(key) && parse_shape(config[key], type.dims)) type.has_shape = true;
    }
    type.dtype = input_dtype(config);
    type.sparse = config.contains("sparse") && config["sparse"].is_boolean() && config["sparse"].get<bool>();
    recorded_[id] = type;
    return id;
  }

  // One layer object in two models (a nested model and its parent) is
  // written twice with one shared_object_id; flattening would make it two
  // layers with one set of weights.
  void check_not_shared(const Json& entry, const std::vector<std::string>& path) {
    auto id = entry.find("shared_object_id");
    if (id == entry.end() || kind_of(entry) == Kind::Input) return;
    auto [it, inserted] = shared_objects_.emplace(id->dump(), path);
    if (!inserted && it->second != path) {
      fail(where(), ": layer ", quoted(join(path, '/')), " is the same layer object as ", quoted(join(it->second, '/')),
           " (one layer in a nested model and in its parent); modelcut cannot cut "
           "models that share a layer across nesting levels");
    }
  }

  std::size_t layer_for(const Json& entry, const std::vector<std::string>& path) {
    auto [it, inserted] = layer_of_entry_.emplace(&entry, model_.layers.size());
    if (inserted) {
      LayerInfo layer;
      layer.path = path;
      layer.entry = &entry;
      layer.name = path.back();
      layer.class_name = string_or(entry, "class_name");
      layer.is_layer = !is_operation(entry);
      model_.layers.push_back(std::move(layer));
    }
    return it->second;
  }

  NodeId new_call(std::size_t layer, const Json* node_data, std::vector<std::uint32_t> refs,
                  std::vector<std::size_t> flat_order) {
    if (model_.calls.size() >= kMaxCalls) {
      fail(where(), ": the model makes more than ", kMaxCalls,
           " layer calls once its nested models are expanded (a nested model called many times?)");
    }
    const auto id = static_cast<NodeId>(model_.calls.size());
    CallInfo call;
    call.layer = layer;
    call.node_data = node_data;
    call.refs.assign(refs.begin(), refs.end());
    call.flat_order = std::move(flat_order);
    model_.calls.push_back(std::move(call));
    model_.layers[layer].calls.push_back(id);
    return id;
  }

  // Records the shape and dtype a Keras 3 reference states for a tensor.
  void record_type(std::uint32_t tensor, const Json* reference) {
    if (reference == nullptr || recorded_.count(tensor)) return;
    const Json& config = (*reference)["config"];
    TensorType type;
    if (config.contains("shape")) type.has_shape = parse_shape(config["shape"], type.dims);
    type.dtype = string_or(config, "dtype");
    type.sparse = config.contains("sparse") && config["sparse"].is_boolean() && config["sparse"].get<bool>();
    if (type.has_shape || !type.dtype.empty()) recorded_[tensor] = type;
  }

  // State of one layer of one model during one expansion of that model.
  struct Local {
    const Json* entry = nullptr;
    Kind kind = Kind::Layer;
    std::string name;
    std::uint32_t input_tensor = UINT32_MAX;          // Kind::Input
    std::vector<NodeId> calls;                        // Kind::Layer: this expansion's calls, in node order
    std::vector<std::vector<std::uint32_t>> outputs;  // nested models: outputs of each call
    std::size_t next_node = 0;
  };

  // The node index a reference gives, as a call index of the layer; -1
  // for the construction node of a nested model.
  long call_index(const Local& target, long node_index, bool in_structure) const {
    if (target.kind == Kind::Functional || target.kind == Kind::Sequential) {
      bool offset;
      if (model_.keras3) {
        offset = in_structure && target.kind == Kind::Functional;
      } else {
        const Json& layers = (*target.entry)["config"]["layers"];
        offset = target.kind == Kind::Functional || (!layers.empty() && kind_of(layers[0]) == Kind::Input);
      }
      if (offset) return node_index - 1;
    }
    return node_index;
  }

  // Each expansion of a model (the top-level one, or a nested one per call)
  // walks its whole layer list: nesting and the total work are bounded here,
  // as a model called twice in a model called twice ... grows exponentially.
  void enter_model(const Json& model_entry, const std::vector<std::string>& path) {
    if (path.size() > kMaxModelNesting) {
      fail(where(), ": models are nested more than ", kMaxModelNesting, " deep (at ", quoted(join(path, '/')), ")");
    }
    check_layer_entries(model_entry, where());
    expanded_layers_ += model_entry["config"]["layers"].size() + 1;
    if (expanded_layers_ > kMaxCalls) {
      fail(where(), ": expanding the nested models of the model takes more than ", kMaxCalls,
           " layers (a nested model called many times?)");
    }
  }

  // A node or tensor index of a reference, in [0, limit).
  std::int64_t index_in(const Json& value, std::int64_t limit, const char* what, const std::string& layer) const {
    const bool in_range = value.is_number_unsigned()
                              ? value.get<std::uint64_t>() < static_cast<std::uint64_t>(limit)
                              : value.get<std::int64_t>() >= 0 && value.get<std::int64_t>() < limit;
    if (!in_range) {
      fail(where(), ": a reference to layer ", quoted(layer), " has ", what, " index ", value.dump(), ", outside [0, ",
           limit, ")");
    }
    return value.get<std::int64_t>();
  }

  // The tensor a reference names, or nullopt when its call is not made yet.
  std::optional<std::uint32_t> resolve(std::map<std::string, Local>& locals, const std::string& model_name,
                                       const Json& ref, bool in_structure) {
    const std::string name = ref[0].get<std::string>();
    auto it = locals.find(name);
    if (it == locals.end()) {
      fail(where(), ": model ", quoted(model_name), " refers to a layer ", quoted(name), " that it does not have");
    }
    Local& target = it->second;
    // Indices are checked against fixed bounds before any use: a tensor
    // index makes that many outputs exist (finish()), so 10^8 would be 10^8
    // tensors.
    const std::int64_t node_index = index_in(ref[1], kMaxNodeIndex, "node", name);
    const std::int64_t tensor = index_in(ref[2], kMaxTensorIndex, "tensor", name);
    const long index = call_index(target, static_cast<long>(node_index), in_structure);
    switch (target.kind) {
      case Kind::Input:
        if (target.input_tensor == UINT32_MAX) {
          fail(where(), ": model ", quoted(model_name), " reads input ", quoted(name),
               ", which is not one of its inputs");
        }
        return target.input_tensor;
      case Kind::Layer:
        if (index < 0) fail(where(), ": bad node index in a reference to ", quoted(name));
        if (static_cast<std::size_t>(index) >= target.calls.size()) return std::nullopt;
        return output_of(target.calls[static_cast<std::size_t>(index)], static_cast<std::uint32_t>(tensor));
      case Kind::Functional:
      case Kind::Sequential: {
        if (index < 0) fail(where(), ": bad node index in a reference to ", quoted(name));
        if (static_cast<std::size_t>(index) >= target.outputs.size()) return std::nullopt;
        const auto& outputs = target.outputs[static_cast<std::size_t>(index)];
        if (static_cast<std::size_t>(tensor) >= outputs.size()) {
          fail(where(), ": a reference to output ", tensor, " of nested model ", quoted(name), ", which has ",
               outputs.size());
        }
        return outputs[static_cast<std::size_t>(tensor)];
      }
    }
    return std::nullopt;
  }

  std::vector<std::uint32_t> expand_functional(const Json& model_entry, const std::vector<std::string>& path,
                                               const std::vector<std::uint32_t>* bound) {
    enter_model(model_entry, path);
    Json& config = const_cast<Json&>(model_entry)["config"];
    const std::string model_name = path.empty() ? model_.model_name : path.back();
    std::map<std::string, Local> locals;
    std::vector<Local*> order;
    for (const Json& entry : config["layers"]) {
      Local local;
      local.entry = &entry;
      local.kind = kind_of(entry);
      local.name = entry_name(entry);
      if (local.name.empty()) fail(where(), ": a layer of model ", quoted(model_name), " has no name");
      auto [it, inserted] = locals.emplace(local.name, local);
      if (!inserted) fail(where(), ": model ", quoted(model_name), " has two layers named ", quoted(local.name));
      std::vector<std::string> layer_path = path;
      layer_path.push_back(local.name);
      check_not_shared(entry, layer_path);
      order.push_back(&it->second);
    }

    // Inputs: bound to the call's arguments, or new graph inputs.
    Json& input_layers = config["input_layers"];
    const auto input_refs = structure_refs(input_layers);
    if (bound != nullptr && bound->size() != input_refs.size()) {
      fail(where(), ": nested model ", quoted(model_name), " takes ", input_refs.size(), " inputs but is called with ",
           bound->size(), " tensors");
    }
    std::vector<std::uint32_t> inputs;
    for (std::size_t i = 0; i < input_refs.size(); ++i) {
      const std::string name = (*input_refs[i])[0].get<std::string>();
      auto it = locals.find(name);
      if (it == locals.end() || it->second.kind != Kind::Input) {
        fail(where(), ": input ", quoted(name), " of model ", quoted(model_name), " is not an InputLayer");
      }
      if (it->second.input_tensor == UINT32_MAX) {
        it->second.input_tensor = bound ? (*bound)[i] : new_graph_input(*it->second.entry);
      }
      inputs.push_back(it->second.input_tensor);
      if (!bound) model_.input_entries[it->second.input_tensor] = it->second.entry;
    }
    if (path.empty()) {
      model_.input_structure = input_layers;
      model_.input_refs.assign(inputs.begin(), inputs.end());
    }

    // Calls, in the order Keras makes them.
    for (;;) {
      bool pending = false;
      bool progress = false;
      for (Local* local : order) {
        if (local->kind == Kind::Input) continue;
        Json& entry = const_cast<Json&>(*local->entry);
        if (!entry.contains("inbound_nodes") || !entry["inbound_nodes"].is_array()) continue;
        Json& nodes = entry["inbound_nodes"];
        while (local->next_node < nodes.size()) {
          Json& node_data = nodes[local->next_node];
          if (node_data.empty()) {
            ++local->next_node;  // a call without tensor arguments is not in the graph
            continue;
          }
          NodeRefs refs = node_refs(node_data, model_.keras3);
          std::vector<std::uint32_t> tensors;
          bool ready = true;
          for (std::size_t i = 0; i < refs.refs.size() && ready; ++i) {
            const auto tensor = resolve(locals, model_name, *refs.refs[i], false);
            if (!tensor) {
              ready = false;
            } else {
              tensors.push_back(*tensor);
              record_type(*tensor, refs.tensors[i]);
            }
          }
          if (!ready) break;
          std::vector<std::string> layer_path = path;
          layer_path.push_back(local->name);
          if (local->kind == Kind::Layer) {
            local->calls.push_back(
                new_call(layer_for(*local->entry, layer_path), &node_data, tensors, refs.flat_order));
          } else {
            std::vector<std::uint32_t> arguments;
            for (std::size_t i = 0; i < tensors.size(); ++i) {
              if (!refs.positional[i]) {
                fail(where(), ": nested model ", quoted(join(layer_path, '/')),
                     " is called with a tensor as a keyword argument; modelcut cannot flatten such a call");
              }
            }
            for (std::size_t index : refs.flat_order) {
              if (refs.positional[index]) arguments.push_back(tensors[index]);
            }
            local->outputs.push_back(local->kind == Kind::Functional
                                         ? expand_functional(*local->entry, layer_path, &arguments)
                                         : expand_sequential(*local->entry, layer_path, &arguments));
          }
          ++local->next_node;
          progress = true;
        }
        if (local->next_node < nodes.size()) pending = true;
      }
      if (!pending) break;
      if (!progress) {
        for (Local* local : order) {
          if (local->kind != Kind::Input && local->entry->contains("inbound_nodes") &&
              local->next_node < (*local->entry)["inbound_nodes"].size()) {
            fail(where(), ": the call ", local->next_node, " of layer ", quoted(local->name), " in model ",
                 quoted(model_name), " reads a tensor no call makes (a cycle or a broken config)");
          }
        }
      }
    }

    Json& output_layers = config["output_layers"];
    std::vector<std::uint32_t> outputs;
    for (Json* ref : structure_refs(output_layers)) {
      const auto tensor = resolve(locals, model_name, *ref, true);
      if (!tensor) {
        fail(where(), ": output ", quoted((*ref)[0].get<std::string>()), " of model ", quoted(model_name),
             " names a call that does not exist");
      }
      outputs.push_back(*tensor);
    }
    if (path.empty()) {
      model_.output_structure = output_layers;
      model_.output_refs.assign(outputs.begin(), outputs.end());
    }
    return outputs;
  }

  std::vector<std::uint32_t> expand_sequential(const Json& model_entry, const std::vector<std::string>& path,
                                               const std::vector<std::uint32_t>* bound) {
    enter_model(model_entry, path);
    const Json& config = model_entry["config"];
    const std::string model_name = path.empty() ? model_.model_name : path.back();
    const Json& layers = config["layers"];
    if (bound != nullptr && bound->size() != 1) {
      fail(where(), ": nested Sequential model ", quoted(model_name), " is called with ", bound->size(),
           " tensors, not one");
    }
    std::size_t first = 0;
    std::uint32_t current;
    if (!layers.empty() && kind_of(layers[0]) == Kind::Input) {
      first = 1;
      if (bound) {
        current = bound->front();
      } else {
        current = new_graph_input(layers[0]);
        model_.input_entries[current] = &layers[0];
      }
    } else if (bound) {
      current = bound->front();
    } else {
      current = new_graph_input(synthesized_input(config));
      model_.input_entries[current] = model_.owned.back().get();
    }
    if (path.empty()) model_.input_refs = {current};
    std::set<std::string> names;
    for (std::size_t i = first; i < layers.size(); ++i) {
      const Json& entry = layers[i];
      const std::string name = entry_name(entry);
      if (name.empty()) fail(where(), ": a layer of model ", quoted(model_name), " has no name");
      if (!names.insert(name).second) {
        fail(where(), ": model ", quoted(model_name), " has two layers named ", quoted(name));
      }
      std::vector<std::string> layer_path = path;
      layer_path.push_back(name);
      check_not_shared(entry, layer_path);
      switch (kind_of(entry)) {
        case Kind::Input:
          fail(where(), ": Sequential model ", quoted(model_name), " has an InputLayer after its first layer");
        case Kind::Functional:
        case Kind::Sequential: {
          const std::vector<std::uint32_t> arguments{current};
          const auto outputs = kind_of(entry) == Kind::Functional ? expand_functional(entry, layer_path, &arguments)
                                                                  : expand_sequential(entry, layer_path, &arguments);
          if (outputs.size() != 1) {
            fail(where(), ": nested model ", quoted(join(layer_path, '/')), " in a Sequential model has ",
                 outputs.size(), " outputs, not one");
          }
          current = outputs.front();
          break;
        }
        case Kind::Layer:
          current = output_of(new_call(layer_for(entry, layer_path), nullptr, {current}, {0}), 0);
          break;
      }
    }
    if (path.empty()) model_.output_refs = {current};
    return {current};
  }

  // A Sequential model built without an InputLayer: its input from
  // build_input_shape.
  const Json& synthesized_input(const Json& config) {
    auto entry = std::make_unique<Json>();
    Json& input = *entry;
    input["class_name"] = "InputLayer";
    Json shape = config.contains("build_input_shape") ? config["build_input_shape"] : Json();
    if (!shape.is_array()) {
      fail(where(), ": the Sequential model has neither an InputLayer nor a build_input_shape (was it ever built?)");
    }
    input["config"] = Json::object();
    input["config"][model_.keras3 ? "batch_shape" : "batch_input_shape"] = shape;
    input["config"]["dtype"] = "float32";
    input["config"]["sparse"] = false;
    input["config"]["name"] = "input_layer";
    if (model_.keras3 && model_.container == Container::Zip) {
      input = Json{{"module", "keras.layers"},
                   {"class_name", "InputLayer"},
                   {"config", input["config"]},
                   {"registered_name", nullptr}};
    }
    model_.owned.push_back(std::move(entry));
    if (model_.input_template == nullptr) model_.input_template = model_.owned.back().get();
    return *model_.owned.back();
  }

  // A Sequential model's input_layers/output_layers as a Functional model
  // would write them.
  void synthesize_structures() {
    auto ref = [&](const std::string& name) {
      Json single = Json::array({name, 0, 0});
      return model_.keras3 ? single : Json::array({single});
    };
    const Json* input_entry = model_.input_entries.at(model_.input_refs.front());
    model_.input_structure = ref(entry_name(*input_entry));
    model_.output_structure = ref("?");  // rewritten with the part's names when emitted
  }

  void finish() {
    // Every call has at least one output, also when nothing reads it.
    for (NodeId id = 0; id < model_.calls.size(); ++id) output_of(id, 0);
    std::vector<std::uint32_t> output_count(model_.calls.size(), 0);
    for (const Tensor& tensor : tensors_) {
      if (tensor.call != kNoNode) output_count[tensor.call] = std::max(output_count[tensor.call], tensor.index + 1);
    }
    for (NodeId id = 0; id < model_.calls.size(); ++id) {
      for (std::uint32_t index = 0; index < output_count[id]; ++index) output_of(id, index);
    }
    auto node_name = [&](NodeId id) {
      const LayerInfo& layer = model_.layers[model_.calls[id].layer];
      std::string name = join(layer.path, '/');
      if (layer.calls.size() > 1) {
        const auto position = std::find(layer.calls.begin(), layer.calls.end(), id) - layer.calls.begin();
        name += "@" + std::to_string(position);
      }
      return name;
    };
    // Values: graph inputs are named after their InputLayer, call outputs
    // after the layer's path.
    Dataflow& dataflow = model_.dataflow;
    dataflow.scope_separator = '/';
    for (std::uint32_t id = 0; id < tensors_.size(); ++id) {
      const Tensor& tensor = tensors_[id];
      std::string name;
      if (tensor.call == kNoNode) {
        name = entry_name(*tensor.input);
      } else {
        name = node_name(tensor.call);
        if (output_count[tensor.call] > 1) name += ":" + std::to_string(tensor.index);
      }
      const ValueId value =
          dataflow.add_value(name, tensor.call == kNoNode ? ValueKind::GraphInput : ValueKind::Computed);
      if (value != id) fail(where(), ": internal error while indexing tensors");
    }
    for (std::uint32_t id : graph_inputs_) dataflow.mark_graph_input(id);
    for (NodeId id = 0; id < model_.calls.size(); ++id) {
      CallInfo& call = model_.calls[id];
      call.output_count = output_count[id];
      Node node;
      node.name = node_name(id);
      node.op = model_.layers[call.layer].class_name;
      node.scope = model_.layers[call.layer].path;
      node.inputs = call.refs;
      for (std::uint32_t index = 0; index < call.output_count; ++index) node.outputs.push_back(output_of(id, index));
      dataflow.add_node(std::move(node));
    }
    for (std::uint32_t id : model_.output_refs) dataflow.mark_graph_output(id);
    dataflow.build_index();
  }

  KerasModel& model_;
  std::vector<Tensor> tensors_;
  std::map<std::pair<NodeId, std::uint32_t>, std::uint32_t> call_outputs_;
  std::vector<std::uint32_t> graph_inputs_;
  std::map<const Json*, std::size_t> layer_of_entry_;
  std::map<std::uint32_t, TensorType> recorded_;
  std::map<std::string, std::vector<std::string>> shared_objects_;
  std::size_t expanded_layers_ = 0;
};

}  // namespace

std::map<ValueId, TensorType> flatten_graph(KerasModel& model) {
  Builder builder(model);
  builder.build();
  return std::move(builder).recorded_types();
}

}  // namespace modelcut::keras
