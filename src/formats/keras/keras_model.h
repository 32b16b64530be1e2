// A Keras model read from a ".keras" archive (Keras 3: config.json,
// metadata.json, model.weights.h5) or a legacy ".h5" file (tf-keras/Keras 2,
// or Keras 3's legacy writer: a `model_config` attribute and a
// `model_weights` group), indexed as a format-neutral Dataflow.
//
// Only the model's config (JSON) is parsed; nothing in it is deserialised or
// executed, so custom layers and Lambda layers pass through as opaque
// configs. Nested Sequential and Functional models are flattened into the
// dataflow: every node is one call of a leaf layer, its scope the layer's
// path ({"mobilenetv2_1.00_224", "block_6_project_BN"}). Values are Keras
// tensors: a graph input is named after its InputLayer, a layer call's output
// after the layer's path ("backbone/bn"), with "@k" for call k of a layer
// called several times and ":t" for output t of a multi-output call.
//
// Weights are not read: only where each layer's weights are in the HDF5
// file, so that parts can copy them (emit_keras.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hdf5_file.h"
#include "modelcut/dataflow.h"

namespace modelcut::keras {

// Key order is kept, so configs copied into parts read as in the source.
using Json = nlohmann::ordered_json;

enum class Container { Zip, Hdf5 };

// What the config says (or modelcut infers) of a tensor.
struct TensorType {
  std::string dtype;  // "float32"; empty when unknown
  bool has_shape = false;
  std::vector<std::int64_t> dims;  // -1 for None (the batch dimension, or unknown)
  bool sparse = false;
};

struct LayerInfo {
  std::vector<std::string> path;  // nested model names, then the layer's name
  const Json* entry = nullptr;    // its entry in its model's "layers" list
  std::string name;
  std::string class_name;
  bool is_layer = true;  // false for Keras 3 operations (keras.ops calls), which Model.layers leaves out
  // Where its weights are in the source's HDF5 file.
  std::string weight_group;                 // .keras: its state group ("layers/dense_1"); "" if none
  std::string legacy_group;                 // .h5: the group holding its weights ("model_weights/fc1")
  std::vector<std::string> legacy_weights;  // .h5: their names under legacy_group, in loading order
  std::size_t weight_count = 0;
  std::vector<NodeId> calls;  // its calls, in the order Keras makes them
};

// One call of a leaf layer: a node of the dataflow (same index).
struct CallInfo {
  std::size_t layer = 0;
  const Json* node_data = nullptr;  // its inbound node in the config; nullptr for a Sequential step
  std::vector<ValueId> refs;        // tensors read, in the order they appear in node_data
  // Indices into refs in the order Keras flattens the call's arguments
  // (positional first, keyword arguments by name).
  std::vector<std::size_t> flat_order;
  std::uint32_t output_count = 1;
};

class KerasModel {
 public:
  // Throws Error with one line naming the file for anything that is not a
  // Keras model modelcut can cut.
  static std::unique_ptr<KerasModel> open(const std::filesystem::path& path);
  // Indexes a model from its config text alone: exactly what Keras 3 writes
  // as a .keras archive's config.json
  // (json.dumps(keras.saving.serialize_keras_object(model))). No file is
  // read and there are no weights: the dataflow, layers, calls and types
  // are as open() gives them for an archive with that config, but every
  // layer's weight_count is 0 and no part can be written (has_weights).
  // Messages name `origin`. Throws Error like open().
  static std::unique_ptr<KerasModel> from_config(const std::string& config_json, const std::string& origin);

  std::filesystem::path path;  // the file, or the origin given to from_config
  bool has_weights = false;    // false for a model made by from_config
  Container container = Container::Zip;
  // Config dialect: Keras 3 (inbound nodes as {"args", "kwargs"} with
  // "__keras_tensor__" objects) or tf-keras 2 (lists of [layer, node, tensor, kwargs]).
  bool keras3 = true;
  std::string keras_version;  // as recorded in the file; may be empty
  Json root;                  // config.json, or the model_config attribute
  std::string metadata;       // metadata.json as it is (.keras)
  std::string backend;        // the backend attribute (.h5)
  std::string model_name;
  std::string model_class;  // "Sequential", "Functional", ...
  // The HDF5 file with the weights. For a .keras archive, read in place
  // inside it when stored (as Keras writes it), else extracted to an
  // unnamed temporary file.
  h5::File weights;
  bool weights_have_names = false;  // .keras: state groups carry the layer's name (Keras >= 3.10 or so)

  Dataflow dataflow;
  std::vector<LayerInfo> layers;
  std::vector<CallInfo> calls;                   // indexed by NodeId
  std::vector<TensorType> types;                 // indexed by ValueId
  std::map<ValueId, const Json*> input_entries;  // graph input -> its InputLayer entry
  // The top-level model's input_layers and output_layers, and the tensors
  // their references name, in walking order (see for_each_structure_ref).
  Json input_structure, output_structure;
  std::vector<ValueId> input_refs, output_refs;
  const Json* input_template = nullptr;  // an InputLayer entry to model new inputs on
  std::size_t weight_count = 0;

  // Configs modelcut made (InputLayers for models that had none), owned here.
  std::vector<std::unique_ptr<Json>> owned;
};

// The tensor references of an input_layers/output_layers structure: lists
// [layer, node_index, tensor_index], in lists or dicts (dicts by key).
std::vector<Json*> structure_refs(Json& structure);

// The tensor references of an inbound node, in the order CallInfo::refs
// lists them: {"class_name": "__keras_tensor__", ...} objects (Keras 3) or
// [layer, node, tensor(, kwargs)] lists (tf-keras), as pointers to the
// reference's [layer, node, tensor] list (keras_history) so that a caller can
// rewrite them in place.
struct NodeRefs {
  std::vector<Json*> refs;           // keras_history lists
  std::vector<const Json*> tensors;  // Keras 3: the whole "__keras_tensor__" object (for its shape); else null
  std::vector<bool> positional;      // is it in the positional arguments
  std::vector<std::size_t> flat_order;
};
NodeRefs node_refs(Json& node_data, bool keras3);

// Keras's snake_case of a class name, as used for the state groups of a .keras
// file ("BatchNormalization" -> "batch_normalization", "ReLU" -> "re_lu").
std::string snake_case(const std::string& class_name);

// Output type of a layer call, inferred from its config and input types for
// common layers (used where the file records no shape); nullopt otherwise.
std::optional<TensorType> infer_output_type(const std::string& class_name, const Json& config,
                                            const std::vector<TensorType>& inputs, std::uint32_t output_index);
// The dtype a layer computes in, from its "dtype" config ("float32", a policy).
std::string compute_dtype(const Json& config);

}  // namespace modelcut::keras
