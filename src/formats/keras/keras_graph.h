// Flattening a Keras model's config into the model's Dataflow: nested
// Sequential and Functional models are expanded call by call, so every node
// is one call of a leaf layer (see keras_model.h for the names). Fills
// KerasModel's dataflow, layers, calls, input/output structures and input
// entries; types and weights are left to keras_types.h and keras_weights.h.
#pragma once

#include <map>

#include "keras_model.h"

namespace modelcut::keras {

// Expects model.root to be a config object and model.path to name its
// origin in messages. Returns the types the config records for tensors
// (Keras 3 tensor references, InputLayers), by value id. Throws Error (or
// nlohmann's exceptions on a config of unexpected shape).
std::map<ValueId, TensorType> flatten_graph(KerasModel& model);

}  // namespace modelcut::keras
