// Reading a Keras model config (config.json, or an .h5 file's model_config):
// the limits a config must keep, parsing it, what kind of thing each layer
// entry is, and the tensor references in inbound nodes and in
// input_layers/output_layers. Shared by the graph flattening, the weight
// lookup and the part writer; nothing here knows about files.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "keras_model.h"

namespace modelcut::keras {

// Limits on what a config may ask of modelcut, each far above what Keras
// writes for real models (a 1000-layer model has a config of a few MB, JSON
// nesting below 50 and models nested a few deep), so that a crafted file
// gets a clear error instead of exhausting memory, time or the stack. They
// are enforced while the config is parsed and walked, never afterwards.
inline constexpr std::uint64_t kMaxConfigBytes = std::uint64_t{64} << 20;
inline constexpr std::uint64_t kMaxMetadataBytes = std::uint64_t{1} << 20;
inline constexpr int kMaxJsonDepth = 512;  // the recursive walks stay far from the stack's end
inline constexpr std::size_t kMaxJsonValues = std::size_t{1} << 22;  // a parsed value costs ~50 bytes or more
inline constexpr std::size_t kMaxModelNesting = 32;                  // models in models
inline constexpr std::size_t kMaxCalls = std::size_t{1} << 20;       // layer calls after nested models are expanded
inline constexpr std::size_t kMaxTensors = std::size_t{1} << 21;
inline constexpr std::int64_t kMaxNodeIndex = std::int64_t{1} << 30;
inline constexpr std::int64_t kMaxTensorIndex = std::int64_t{1} << 16;  // outputs of one call

// Parses JSON with its nesting depth and number of values limited while
// parsing; errors name `origin` (a file, or what the text came from).
Json parse_json(const std::string& text, const std::string& what, const std::string& origin);

// A [layer, node_index, tensor_index(, kwargs)] reference list.
bool is_ref_list(const Json& json);

// Calls f on the values of an object in key order (as Keras flattens dicts).
template <typename F>
void for_each_sorted(Json& object, F&& f) {
  std::vector<std::string> keys;
  for (auto& item : object.items()) keys.push_back(item.key());
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) f(object[key]);
}

std::string string_or(const Json& json, const char* key, const std::string& fallback = "");

enum class Kind { Input, Functional, Sequential, Layer };
Kind kind_of(const Json& entry);
std::string entry_name(const Json& entry);

// Every entry of every model's layer list is an object with a class name
// and a config object, so that the walks can index them freely.
void check_layer_entries(const Json& model_entry, const std::string& where);

// Keras 3 operations (keras.ops calls on symbolic tensors) are in the
// config's layer list but are not layers: no state, not in Model.layers.
bool is_operation(const Json& entry);

std::string join(const std::vector<std::string>& parts, char separator);

// A shape as a config records it; false (shape unknown) unless every
// dimension is None or a size below 2^40 and the rank is plausible, so
// that sizes computed from it cannot overflow.
bool parse_shape(const Json& json, std::vector<std::int64_t>& dims);

// The dtype of an InputLayer's tensor (float32 when the config says none).
std::string input_dtype(const Json& config);

// The major version of a "3.10.0"-like string; 0 when there is none.
int major_version(const std::string& version);

// Whether any inbound node is in the Keras 3 {"args", "kwargs"} form.
bool has_keras3_nodes(const Json& model_entry);

}  // namespace modelcut::keras
