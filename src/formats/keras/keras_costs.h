// What each layer call of a Keras model costs: the bytes of its layer's
// weights (from the HDF5 dataset headers, the data is not read; a layer
// called several times counts them at its first call in topological order)
// and its multiply-accumulates, from the layer's config and the call's
// input and output shapes.
#pragma once

#include <vector>

#include "keras_model.h"
#include "modelcut/plan.h"

namespace modelcut::keras {

// One entry per node of model.dataflow. The caller holds h5::library_lock().
// Never throws for what the file holds: a config that does not fit the
// shapes, or a count that overflows 64 bits, gives macs_known = false.
std::vector<NodeCost> keras_node_costs(const KerasModel& model, const DimSizes& dims);

}  // namespace modelcut::keras
