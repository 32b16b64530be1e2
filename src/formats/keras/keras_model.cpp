// Loading and indexing Keras models (see keras_model.h).
//
// The config is walked the way Keras rebuilds a model from it: each model's
// layers are created in list order and their inbound nodes (calls) are made
// once the tensors they read exist; a nested model's call expands the nested
// model's own config with its inputs bound to the call's arguments. Node
// indices in references follow the file's dialect: tf-keras counts a nested
// model's construction node (so its first call is node 1, everywhere), Keras
// 3 counts it only in input_layers/output_layers of Functional models.
#include "keras_model.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "formats/dtypes.h"
#include "modelcut/error.h"
#include "modelcut/file_type.h"
#include "zip_archive.h"

namespace modelcut::keras {
namespace fs = std::filesystem;

namespace {

// Limits on what a file may ask of modelcut, each far above what Keras
// writes for real models (a 1000-layer model has a config of a few MB, JSON
// nesting below 50 and models nested a few deep), so that a crafted file
// gets a clear error instead of exhausting memory, time or the stack. They
// are enforced while the config is parsed and walked, never afterwards.
constexpr std::uint64_t kMaxConfigBytes = std::uint64_t{64} << 20;
constexpr std::uint64_t kMaxMetadataBytes = std::uint64_t{1} << 20;
constexpr int kMaxJsonDepth = 512;                            // the recursive walks below stay far from the stack's end
constexpr std::size_t kMaxJsonValues = std::size_t{1} << 22;  // a parsed value costs ~50 bytes or more
constexpr std::size_t kMaxModelNesting = 32;                  // models in models
constexpr std::size_t kMaxCalls = std::size_t{1} << 20;       // layer calls after nested models are expanded
constexpr std::size_t kMaxTensors = std::size_t{1} << 21;
constexpr std::int64_t kMaxNodeIndex = std::int64_t{1} << 30;
constexpr std::int64_t kMaxTensorIndex = std::int64_t{1} << 16;  // outputs of one call
constexpr const char* kConstantValue = "_CONSTANT_VALUE";

// ------------------------------------------------------------------ JSON

bool is_ref_list(const Json& json) {
  return json.is_array() && (json.size() == 3 || json.size() == 4) && json[0].is_string() &&
         json[1].is_number_integer() && json[2].is_number_integer() && json[0].get<std::string>() != kConstantValue;
}

// Calls f on the values of an object in key order (as Keras flattens dicts).
template <typename F>
void for_each_sorted(Json& object, F&& f) {
  std::vector<std::string> keys;
  for (auto& item : object.items()) keys.push_back(item.key());
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) f(object[key]);
}

std::string string_or(const Json& json, const char* key, const std::string& fallback = "") {
  if (!json.is_object()) return fallback;
  auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get<std::string>() : fallback;
}

void push_ref(NodeRefs& out, Json* ref, const Json* tensor, bool positional) {
  out.refs.push_back(ref);
  out.tensors.push_back(tensor);
  out.positional.push_back(positional);
}

void walk_keras3(Json& json, bool positional, NodeRefs& out) {
  if (json.is_array()) {
    for (Json& element : json) walk_keras3(element, positional, out);
    return;
  }
  if (!json.is_object()) return;
  const std::string class_name = string_or(json, "class_name");
  if (class_name == "__keras_tensor__") {
    auto config = json.find("config");
    if (config == json.end() || !config->is_object() || !config->contains("keras_history") ||
        !is_ref_list((*config)["keras_history"])) {
      fail("a tensor reference in the config has no valid keras_history");
    }
    push_ref(out, &(*config)["keras_history"], &json, positional);
    return;
  }
  if (class_name == "__tuple__") {
    auto config = json.find("config");
    if (config != json.end() && config->is_object() && config->contains("value")) {
      walk_keras3((*config)["value"], positional, out);
    }
    return;
  }
  for_each_sorted(json, [&](Json& value) { walk_keras3(value, positional, out); });
}

void walk_legacy_kwargs(Json& json, NodeRefs& out) {
  if (is_ref_list(json) && json.size() == 3) {
    push_ref(out, &json, nullptr, false);
  } else if (json.is_array()) {
    for (Json& element : json) walk_legacy_kwargs(element, out);
  } else if (json.is_object()) {
    for_each_sorted(json, [&](Json& value) { walk_legacy_kwargs(value, out); });
  }
}

// The first argument of a tf-keras call: [layer, node, tensor, kwargs]
// entries, possibly nested; the kwargs of the last entry are the call's.
void walk_legacy(Json& json, NodeRefs& out, std::pair<std::size_t, std::size_t>& last_kwargs) {
  const bool constant =
      json.is_array() && json.size() == 4 && json[0].is_string() && json[0].get<std::string>() == kConstantValue;
  if (is_ref_list(json) || constant) {
    if (!constant) push_ref(out, &json, nullptr, true);
    if (json.size() == 4) {
      const std::size_t begin = out.refs.size();
      walk_legacy_kwargs(json[3], out);
      last_kwargs = {begin, out.refs.size()};
    }
    return;
  }
  if (json.is_array()) {
    for (Json& element : json) walk_legacy(element, out, last_kwargs);
  } else if (json.is_object()) {
    for_each_sorted(json, [&](Json& value) { walk_legacy(value, out, last_kwargs); });
  }
}

// ---------------------------------------------------------------- layers

enum class Kind { Input, Functional, Sequential, Layer };

Kind kind_of(const Json& entry) {
  const std::string class_name = string_or(entry, "class_name");
  if (class_name == "InputLayer") return Kind::Input;
  const Json* config = entry.contains("config") ? &entry["config"] : nullptr;
  if (config == nullptr || !config->is_object()) return Kind::Layer;
  const bool has_layers = config->contains("layers") && (*config)["layers"].is_array();
  if (class_name == "Sequential" && has_layers) return Kind::Sequential;
  if ((class_name == "Functional" || class_name == "Model") && has_layers && config->contains("input_layers") &&
      config->contains("output_layers")) {
    return Kind::Functional;
  }
  return Kind::Layer;
}

std::string entry_name(const Json& entry) {
  std::string name = string_or(entry, "name");
  if (name.empty() && entry.contains("config")) name = string_or(entry["config"], "name");
  return name;
}

// Every entry of every model's layer list is an object with a class name
// and a config object, so that the walks below can index them freely.
void check_layer_entries(const Json& model_entry, const std::string& where) {
  for (const Json& entry : model_entry["config"]["layers"]) {
    if (!entry.is_object() || !entry.contains("class_name") || !entry["class_name"].is_string() ||
        !entry.contains("config") || !entry["config"].is_object()) {
      fail(where, ": a layer entry of model ", quoted(string_or(model_entry["config"], "name", "?")),
           " lacks a class_name or a config");
    }
    if (entry.contains("inbound_nodes") && !entry["inbound_nodes"].is_array()) {
      fail(where, ": the inbound_nodes of layer ", quoted(string_or(entry["config"], "name", "?")), " are not a list");
    }
  }
}

// Keras 3 operations (keras.ops calls on symbolic tensors) are in the
// config's layer list but are not layers: no state, not in Model.layers.
bool is_operation(const Json& entry) { return string_or(entry, "module").rfind("keras.src.ops", 0) == 0; }

std::string join(const std::vector<std::string>& parts, char separator) {
  std::string text;
  for (std::size_t i = 0; i < parts.size(); ++i) text += (i ? std::string(1, separator) : "") + parts[i];
  return text;
}

// A shape as a config records it; false (shape unknown) unless every
// dimension is None or a size below 2^40 and the rank is plausible, so
// that sizes computed from it cannot overflow.
bool parse_shape(const Json& json, std::vector<std::int64_t>& dims) {
  constexpr std::size_t kMaxRank = 32;
  constexpr std::int64_t kMaxDim = std::int64_t{1} << 40;
  if (!json.is_array() || json.size() > kMaxRank) return false;
  dims.clear();
  for (const Json& dim : json) {
    if (dim.is_null()) {
      dims.push_back(-1);
    } else if (dim.is_number_unsigned() && dim.get<std::uint64_t>() < static_cast<std::uint64_t>(kMaxDim)) {
      dims.push_back(dim.get<std::int64_t>());
    } else if (dim.is_number_integer() && !dim.is_number_unsigned() && dim.get<std::int64_t>() >= 0 &&
               dim.get<std::int64_t>() < kMaxDim) {
      dims.push_back(dim.get<std::int64_t>());
    } else {
      return false;
    }
  }
  return true;
}

std::string input_dtype(const Json& config) {
  const Json* dtype = config.contains("dtype") ? &config["dtype"] : nullptr;
  if (dtype == nullptr || dtype->is_null()) return "float32";
  return compute_dtype(config);
}

// ----------------------------------------------------------------- build

class Builder {
 public:
  explicit Builder(KerasModel& model) : model_(model) {}

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
    infer_types();
  }

  // The shape of `value` as the build_config of a layer reading it records
  // it (the shape the layer was built for), if that layer has one call.
  std::optional<std::vector<std::int64_t>> build_shape(NodeId reader_id, ValueId value) const {
    const CallInfo& reader = model_.calls[reader_id];
    const LayerInfo& layer = model_.layers[reader.layer];
    if (layer.calls.size() != 1 || !layer.entry->contains("build_config")) return std::nullopt;
    const Json& build = (*layer.entry)["build_config"];
    if (!build.is_object() || !build.contains("input_shape")) return std::nullopt;
    const Json& shape = build["input_shape"];
    std::vector<std::int64_t> dims;
    if (reader.refs.size() == 1 && parse_shape(shape, dims)) return dims;
    if (shape.is_array() && shape.size() == reader.refs.size()) {
      for (std::size_t i = 0; i < reader.refs.size(); ++i) {
        if (reader.refs[i] == value && parse_shape(shape[i], dims)) return dims;
      }
    }
    return std::nullopt;
  }

  // Types: as the config records them (Keras 3 tensor references,
  // InputLayers), else from the build shape of the one layer reading it,
  // else inferred from the producer for common layers.
  void infer_types() {
    const Dataflow& dataflow = model_.dataflow;
    model_.types.assign(dataflow.values().size(), TensorType{});
    std::vector<bool> known(dataflow.values().size(), false);
    for (const auto& [id, type] : recorded_) {
      model_.types[id] = type;
      known[id] = type.has_shape && !type.dtype.empty();
    }
    for (ValueId id = 0; id < dataflow.values().size(); ++id) {
      if (known[id] || model_.types[id].has_shape) continue;
      for (NodeId reader_id : dataflow.value(id).consumers) {
        if (auto dims = build_shape(reader_id, id)) {
          model_.types[id].has_shape = true;
          model_.types[id].dims = *dims;
          break;
        }
      }
    }
    for (NodeId id : dataflow.topological_order()) {
      const CallInfo& call = model_.calls[id];
      const LayerInfo& layer = model_.layers[call.layer];
      const Json& config = (*layer.entry)["config"];
      std::vector<TensorType> inputs;
      for (std::size_t index : call.flat_order) inputs.push_back(model_.types[call.refs[index]]);
      const Node& node = dataflow.node(id);
      for (std::uint32_t slot = 0; slot < node.outputs.size(); ++slot) {
        const ValueId output = node.outputs[slot];
        if (known[output]) continue;
        TensorType& type = model_.types[output];
        if (auto inferred = infer_output_type(layer.class_name, config, inputs, slot)) {
          if (!type.has_shape && inferred->has_shape) {
            type.has_shape = true;
            type.dims = inferred->dims;
          }
          if (type.dtype.empty()) type.dtype = inferred->dtype;
        }
        if (type.dtype.empty() && config.is_object()) type.dtype = compute_dtype(config);
      }
    }
    Dataflow& mutable_flow = model_.dataflow;
    for (ValueId id = 0; id < mutable_flow.values().size(); ++id) {
      const TensorType& type = model_.types[id];
      TensorInfo& info = mutable_flow.mutable_value(id).info;
      info.known = !type.dtype.empty();
      info.dtype = type.dtype;
      info.element_bits = keras_dtype_bits(type.dtype);
      info.has_shape = type.has_shape;
      info.dims.clear();
      for (std::size_t axis = 0; axis < type.dims.size(); ++axis) {
        Dim dim;
        dim.size = type.dims[axis];
        if (dim.size < 0 && axis == 0) dim.symbol = "batch";
        info.dims.push_back(dim);
      }
    }
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

// ---------------------------------------------------------------- weights

// Layers a .keras file written before state groups carried names may leave
// out when they have no variables; these always have some.
bool has_variables(const std::string& class_name) {
  static const std::set<std::string> weighted = {"Dense",
                                                 "EinsumDense",
                                                 "Conv1D",
                                                 "Conv2D",
                                                 "Conv3D",
                                                 "Conv1DTranspose",
                                                 "Conv2DTranspose",
                                                 "Conv3DTranspose",
                                                 "DepthwiseConv1D",
                                                 "DepthwiseConv2D",
                                                 "SeparableConv1D",
                                                 "SeparableConv2D",
                                                 "BatchNormalization",
                                                 "LayerNormalization",
                                                 "GroupNormalization",
                                                 "Embedding",
                                                 "LSTM",
                                                 "GRU",
                                                 "SimpleRNN",
                                                 "MultiHeadAttention",
                                                 "PReLU"};
  return weighted.count(class_name) > 0;
}

class WeightIndex {
 public:
  WeightIndex(KerasModel& model, const std::map<const Json*, std::size_t>& layer_of_entry)
      : model_(model), layer_of_entry_(layer_of_entry) {}

  void index_zip() {
    model_.weights_have_names = h5::read_string_attribute(model_.weights, "vars", "name").has_value();
    walk_zip(model_.root, "");
  }

  void index_legacy() {
    if (!h5::is_group(model_.weights, "model_weights")) {
      fail(where(), ": the file has a model config but no model_weights group");
    }
    const Json& layers = model_.root["config"]["layers"];
    for (const Json& entry : layers) {
      const Kind kind = kind_of(entry);
      if (kind == Kind::Input) continue;
      const std::string name = entry_name(entry);
      const std::string group = "model_weights/" + name;
      if (!h5::is_group(model_.weights, group)) {
        // Keras 3 writes no group for operations (keras.ops calls), which an
        // .h5 config does not tell from layers.
        if (kind == Kind::Layer && !has_variables(string_or(entry, "class_name"))) continue;
        fail(where(), ": the weights have no group for layer ", quoted(name), " (expected ", group, ")");
      }
      auto names = h5::read_string_list_attribute(model_.weights, group, "weight_names");
      if (!names) fail(where(), ": the weights group of layer ", quoted(name), " has no weight_names");
      for (const std::string& weight : *names) {
        if (!h5::is_dataset(model_.weights, group + "/" + weight)) {
          fail(where(), ": the weights of layer ", quoted(name), " lack ", quoted(weight));
        }
      }
      if (kind == Kind::Layer) {
        LayerInfo* layer = layer_at(entry);
        if (layer == nullptr) continue;
        layer->legacy_group = group;
        layer->legacy_weights = *names;
        layer->weight_count = names->size();
        continue;
      }
      attribute_nested(entry, group, *names);
    }
  }

 private:
  std::string where() const { return quoted(model_.path.string()); }

  LayerInfo* layer_at(const Json& entry) {
    auto it = layer_of_entry_.find(&entry);
    return it == layer_of_entry_.end() ? nullptr : &model_.layers[it->second];
  }

  void walk_zip(const Json& model_entry, const std::string& prefix) {
    const bool sequential = kind_of(model_entry) == Kind::Sequential;
    const std::string layers_group = prefix.empty() ? "layers" : prefix + "/layers";
    std::map<std::string, int> used;
    for (const Json& entry : model_entry["config"]["layers"]) {
      const Kind kind = kind_of(entry);
      if (is_operation(entry) || (sequential && kind == Kind::Input)) continue;
      const std::string base = snake_case(string_or(entry, "class_name"));
      std::string name = base;
      auto [it, inserted] = used.emplace(base, 0);
      if (!inserted) name = base + "_" + std::to_string(++it->second);
      std::string group = layers_group + "/" + name;
      if (kind == Kind::Input) continue;
      const std::string layer_name = entry_name(entry);
      if (model_.weights_have_names) group = checked_group(layers_group, group, layer_name);
      if (kind == Kind::Functional || kind == Kind::Sequential) {
        walk_zip(entry, group);
        continue;
      }
      LayerInfo* layer = layer_at(entry);
      if (layer == nullptr) continue;  // a layer no call uses
      if (h5::is_group(model_.weights, group)) {
        layer->weight_group = group;
        layer->weight_count = h5::count_datasets(model_.weights, group);
      } else if (model_.weights_have_names || has_variables(layer->class_name)) {
        fail(where(), ": model.weights.h5 has no weights for layer ", quoted(join(layer->path, '/')), " (expected at ",
             group, ")");
      }
    }
  }

  // The state group of a layer: where its position puts it, checked
  // against the name Keras stores with it; if another group of the same
  // model carries the name, that one.
  std::string checked_group(const std::string& layers_group, const std::string& group, const std::string& name) {
    auto stored = h5::read_string_attribute(model_.weights, group + "/vars", "name");
    if (stored && *stored == name) return group;
    if (h5::is_group(model_.weights, layers_group)) {
      for (const std::string& child : h5::children(model_.weights, layers_group)) {
        const std::string candidate = layers_group + "/" + child;
        auto other = h5::read_string_attribute(model_.weights, candidate + "/vars", "name");
        if (other && *other == name) return candidate;
      }
    }
    if (stored) {
      fail(where(), ": model.weights.h5 does not match config.json: ", group, " holds the weights of ", quoted(*stored),
           ", not of ", quoted(name));
    }
    return group;  // reported as missing by the caller if it does not exist
  }

  // A nested model's weights are one group listing the weights of all its
  // layers; each goes to the leaf layer its name starts with.
  void attribute_nested(const Json& model_entry, const std::string& group, const std::vector<std::string>& names) {
    std::map<std::string, std::vector<LayerInfo*>> leaves;
    std::set<std::string> models;
    collect_leaves(model_entry, leaves, models);
    for (const std::string& weight : names) {
      std::vector<std::string> parts;
      std::size_t begin = 0;
      for (std::size_t end; (end = weight.find('/', begin)) != std::string::npos; begin = end + 1) {
        parts.push_back(weight.substr(begin, end - begin));
      }
      LayerInfo* owner = nullptr;
      for (const std::string& part : parts) {
        auto it = leaves.find(part);
        if (it != leaves.end()) {
          if (it->second.size() > 1) {
            fail(where(), ": nested model ", quoted(entry_name(model_entry)), " has several layers named ",
                 quoted(part), ", so its weight ", quoted(weight), " cannot be told apart");
          }
          owner = it->second.front();
          break;
        }
        if (!models.count(part)) break;
      }
      if (owner == nullptr) {
        fail(where(), ": cannot tell which layer of nested model ", quoted(entry_name(model_entry)), " the weight ",
             quoted(weight), " belongs to");
      }
      owner->legacy_group = group;
      owner->legacy_weights.push_back(weight);
      owner->weight_count += 1;
    }
  }

  void collect_leaves(const Json& model_entry, std::map<std::string, std::vector<LayerInfo*>>& leaves,
                      std::set<std::string>& models) {
    models.insert(entry_name(model_entry));
    for (const Json& entry : model_entry["config"]["layers"]) {
      const Kind kind = kind_of(entry);
      if (kind == Kind::Input) continue;
      if (kind == Kind::Functional || kind == Kind::Sequential) {
        collect_leaves(entry, leaves, models);
      } else if (LayerInfo* layer = layer_at(entry)) {
        leaves[entry_name(entry)].push_back(layer);
      }
    }
  }

  KerasModel& model_;
  const std::map<const Json*, std::size_t>& layer_of_entry_;
};

// Parses JSON with its nesting depth and number of values limited while
// parsing: nlohmann's parser itself is iterative, but the walks over the
// result recurse, and a few bytes of "[[[[" cost far more once parsed.
Json parse_json(const std::string& text, const std::string& what, const fs::path& path) {
  std::size_t values = 0;
  const Json::parser_callback_t limit = [&](int depth, Json::parse_event_t event, Json&) {
    if (event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) {
      if (depth >= kMaxJsonDepth)
        fail(quoted(path.string()), ": ", what, " is nested more than ", kMaxJsonDepth, " deep");
    }
    if (event == Json::parse_event_t::value && ++values > kMaxJsonValues) {
      fail(quoted(path.string()), ": ", what, " holds more than ", kMaxJsonValues, " values");
    }
    return true;
  };
  try {
    return Json::parse(text, limit);
  } catch (const Json::exception& error) {
    fail(quoted(path.string()), ": ", what, " is not valid JSON (", error.what(), ")");
  }
}

int major_version(const std::string& version) {
  try {
    return version.empty() ? 0 : std::stoi(version);
  } catch (...) {
    return 0;
  }
}

// Whether any inbound node is in the Keras 3 {"args", "kwargs"} form.
bool has_keras3_nodes(const Json& model_entry) {
  if (!model_entry.contains("config") || !model_entry["config"].is_object() ||
      !model_entry["config"].contains("layers") || !model_entry["config"]["layers"].is_array()) {
    return false;
  }
  for (const Json& entry : model_entry["config"]["layers"]) {
    if (entry.contains("inbound_nodes") && entry["inbound_nodes"].is_array()) {
      for (const Json& node : entry["inbound_nodes"]) {
        if (node.is_object()) return true;
      }
    }
    if (has_keras3_nodes(entry)) return true;
  }
  return false;
}

}  // namespace

// -------------------------------------------------------------- public

ScratchFile::ScratchFile() {
  std::error_code error;
  const fs::path folder = fs::temp_directory_path(error);
  if (error) fail("cannot find the temporary folder: ", error.message());
  descriptor_ = ::open(folder.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (descriptor_ < 0) {  // a file system without O_TMPFILE
    std::string pattern = (folder / "modelcut-keras-XXXXXX").string();
    descriptor_ = mkostemp(pattern.data(), O_CLOEXEC);
    if (descriptor_ < 0) fail("cannot create a temporary file in ", quoted(folder.string()));
    path_ = pattern;
    named_ = true;
  }
  const fs::path by_descriptor = "/proc/self/fd/" + std::to_string(descriptor_);
  if (fs::exists(by_descriptor, error)) {
    if (named_) ::unlink(path_.c_str());
    named_ = false;
    path_ = by_descriptor;
  } else if (!named_) {
    ::close(descriptor_);
    fail("cannot create a temporary file in ", quoted(folder.string()), " (no /proc/self/fd)");
  }
}

ScratchFile::~ScratchFile() {
  if (named_) ::unlink(path_.c_str());
  if (descriptor_ >= 0) ::close(descriptor_);
}

std::vector<Json*> structure_refs(Json& structure) {
  std::vector<Json*> refs;
  if (is_ref_list(structure) && structure.size() == 3) {
    refs.push_back(&structure);
  } else if (structure.is_array()) {
    for (Json& element : structure) {
      auto inner = structure_refs(element);
      refs.insert(refs.end(), inner.begin(), inner.end());
    }
  } else if (structure.is_object()) {
    for_each_sorted(structure, [&](Json& value) {
      auto inner = structure_refs(value);
      refs.insert(refs.end(), inner.begin(), inner.end());
    });
  }
  return refs;
}

NodeRefs node_refs(Json& node_data, bool keras3) {
  NodeRefs out;
  if (keras3 && node_data.is_object()) {
    if (node_data.contains("args")) walk_keras3(node_data["args"], true, out);
    if (node_data.contains("kwargs")) walk_keras3(node_data["kwargs"], false, out);
    for (std::size_t i = 0; i < out.refs.size(); ++i) out.flat_order.push_back(i);
    return out;
  }
  std::pair<std::size_t, std::size_t> last_kwargs{0, 0};
  walk_legacy(node_data, out, last_kwargs);
  for (std::size_t i = 0; i < out.refs.size(); ++i) {
    if (out.positional[i]) out.flat_order.push_back(i);
  }
  for (std::size_t i = last_kwargs.first; i < last_kwargs.second; ++i) out.flat_order.push_back(i);
  return out;
}

// The three substitutions of Keras's to_snake_case (drop non-word
// characters; "(.)([A-Z][a-z]+)" -> "\\1_\\2"; "([a-z])([A-Z])" -> "\\1_\\2";
// lower case), written as linear scans: std::regex recurses per character
// and overflows the stack on a long class name.
std::string snake_case(const std::string& class_name) {
  auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  std::string word;
  for (char c : class_name) {
    if (is_upper(c) || is_lower(c) || (c >= '0' && c <= '9') || c == '_') word += c;
  }
  std::string split;  // "(.)([A-Z][a-z]+)": leftmost matches, each consuming its run of lower-case letters
  for (std::size_t i = 0; i < word.size();) {
    if (i + 2 < word.size() && is_upper(word[i + 1]) && is_lower(word[i + 2])) {
      std::size_t end = i + 3;
      while (end < word.size() && is_lower(word[end])) ++end;
      split += word[i];
      split += '_';
      split.append(word, i + 1, end - i - 1);
      i = end;
    } else {
      split += word[i++];
    }
  }
  std::string name;  // "([a-z])([A-Z])"
  for (std::size_t i = 0; i < split.size();) {
    if (i + 1 < split.size() && is_lower(split[i]) && is_upper(split[i + 1])) {
      name += split[i];
      name += '_';
      name += split[i + 1];
      i += 2;
    } else {
      name += split[i++];
    }
  }
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

std::unique_ptr<KerasModel> KerasModel::open(const fs::path& path) {
  auto model = std::make_unique<KerasModel>();
  model->path = path;
  const std::string where = quoted(path.string());
  std::error_code error;
  if (!fs::is_regular_file(path, error)) fail("cannot open ", where, ": no such file");

  const bool is_zip = sniff_file_type(path) == FileType::KerasZip;

  if (is_zip) {
    model->container = Container::Zip;
    ZipReader archive(path);
    if (!archive.has("config.json")) fail(where, ": not a Keras archive: it has no config.json");
    model->root = parse_json(archive.read("config.json", kMaxConfigBytes), "config.json", path);
    if (archive.has("metadata.json")) {
      model->metadata = archive.read("metadata.json", kMaxMetadataBytes);
      const Json metadata = parse_json(model->metadata, "metadata.json", path);
      model->keras_version = string_or(metadata, "keras_version");
    }
    if (!archive.has("model.weights.h5")) {
      if (archive.has("model.weights.npz")) fail(where, ": weights stored as model.weights.npz are not supported");
      if (archive.has("model.weights.json")) fail(where, ": sharded weights (model.weights.json) are not supported");
      fail(where, ": not a Keras archive: it has no model.weights.h5");
    }
    const ScratchFile weights_file;  // HDF5 opens it again by path and keeps it open
    // Keras stores the weights uncompressed; a compressed entry (a re-zipped
    // archive) may shrink by what HDF5 padding and zero tensors allow, not
    // by the thousands a zip bomb needs. h5py writes no user block, so the
    // HDF5 signature is at offset 0.
    ZipReader::ExtractLimits limits;
    limits.max_bytes = std::uint64_t{1} << 40;
    limits.free_expansion = std::uint64_t{64} << 20;
    limits.max_ratio = 16;
    limits.magic = std::string("\x89HDF\r\n\x1a\n", 8);
    limits.kind = "an HDF5 file";
    archive.extract("model.weights.h5", weights_file.descriptor(), limits);
    try {
      model->weights = h5::File::open_read(weights_file.path(), path.string() + ":model.weights.h5");
    } catch (const Error&) {
      fail(where, ": model.weights.h5 in the archive is not an HDF5 file");
    }
    h5::refuse_outside_references(model->weights);
    model->keras3 = true;
  } else {
    model->container = Container::Hdf5;
    try {
      model->weights = h5::File::open_read(path);
    } catch (const Error&) {
      fail(where, ": not a Keras file (neither a .keras zip archive nor an HDF5 .h5 file)");
    }
    h5::refuse_outside_references(model->weights);
    auto config = h5::read_string_attribute(model->weights, "", "model_config");
    if (!config) {
      fail(where, ": an HDF5 file without a model_config attribute: weights only, not a whole Keras model");
    }
    if (config->size() > kMaxConfigBytes) {
      fail(where, ": the model_config attribute is ", config->size(), " bytes, more than the ", kMaxConfigBytes,
           " accepted");
    }
    model->root = parse_json(*config, "the model_config attribute", path);
    model->keras_version = h5::read_string_attribute(model->weights, "", "keras_version").value_or("");
    model->backend = h5::read_string_attribute(model->weights, "", "backend").value_or("");
    const int major = major_version(model->keras_version);
    model->keras3 = major >= 3 || (major == 0 && has_keras3_nodes(model->root));
  }
  if (!model->root.is_object() || !model->root.contains("config") || !model->root["config"].is_object()) {
    fail(where, ": the model config has no \"config\" object");
  }

  Builder builder(*model);
  try {
    builder.build();
  } catch (const Json::exception& error) {
    fail(where, ": unexpected model config (", error.what(), ")");
  }
  std::map<const Json*, std::size_t> layer_of_entry;
  for (std::size_t i = 0; i < model->layers.size(); ++i) layer_of_entry[model->layers[i].entry] = i;
  WeightIndex weights(*model, layer_of_entry);
  try {
    if (model->container == Container::Zip) {
      weights.index_zip();
    } else {
      weights.index_legacy();
    }
  } catch (const Json::exception& error) {
    fail(where, ": unexpected model config (", error.what(), ")");
  }
  for (const LayerInfo& layer : model->layers) model->weight_count += layer.weight_count;
  return model;
}

}  // namespace modelcut::keras
