// Where each layer's weights are in a Keras model's HDF5 file (see
// keras_weights.h). A .keras file names each layer's state group after its
// class and rank among layers of that class in its model ("layers/dense_2"),
// nested models below their own group; newer Keras also stores the layer's
// name there, which is checked. A legacy .h5 file has a group per top-level
// layer listing its weights by name, a nested model's group listing those of
// all its layers.
#include "keras_weights.h"

#include <map>
#include <set>

#include "keras_config.h"
#include "modelcut/error.h"

namespace modelcut::keras {
namespace {

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

}  // namespace

void index_weights(KerasModel& model) {
  std::map<const Json*, std::size_t> layer_of_entry;
  for (std::size_t i = 0; i < model.layers.size(); ++i) layer_of_entry[model.layers[i].entry] = i;
  WeightIndex weights(model, layer_of_entry);
  if (model.container == Container::Zip) {
    weights.index_zip();
  } else {
    weights.index_legacy();
  }
  for (const LayerInfo& layer : model.layers) model.weight_count += layer.weight_count;
}

}  // namespace modelcut::keras
