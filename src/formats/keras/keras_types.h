// The type (dtype, shape) of every tensor of a flattened Keras model: as the
// config records it (Keras 3 tensor references, InputLayers), else from the
// build shape of the one layer reading it, else inferred from its producer
// for common layers. A later part needs the type of every tensor crossing a
// cut; a tensor whose type stays unknown is refused there, not here.
#pragma once

#include <map>

#include "keras_model.h"

namespace modelcut::keras {

// Fills model.types and the TensorInfo of every value of model.dataflow
// (which must be indexed); `recorded` is what flatten_graph() returned.
void propagate_types(KerasModel& model, const std::map<ValueId, TensorType>& recorded);

}  // namespace modelcut::keras
