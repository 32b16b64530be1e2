// Looking up where each layer's weights are in a Keras model's HDF5 file
// (model.weights.h5 of a .keras archive, or the model_weights group of an
// .h5 file), without reading them: parts copy them from there.
#pragma once

#include "keras_model.h"

namespace modelcut::keras {

// Fills LayerInfo's weight_group / legacy_group / legacy_weights /
// weight_count and model.weight_count for a flattened model whose weights
// file is open. Throws Error when the file lacks a layer's weights or
// does not match the config.
void index_weights(KerasModel& model);

}  // namespace modelcut::keras
