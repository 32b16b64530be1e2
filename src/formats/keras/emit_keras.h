// Writing one part of a partitioned Keras model as a Keras model of its own,
// in the source's format: a ".keras" archive for a ".keras" source, a legacy
// ".h5" file for an ".h5" source.
//
// A part is always a Functional model. Its layers are the source's layers
// whose calls it holds, configs copied as they are (custom layers included)
// with their inbound nodes rewritten; nested models are flattened (their
// layers become the part's own, renamed only where a name is already taken).
// Each tensor the part receives from the part before gets an InputLayer
// named after the layer that made it; the part's outputs are the tensors
// crossing the next cut, in the partition's order (the last part keeps the
// model's outputs). Weights are copied group by group from the source's HDF5
// file into the part's, under the names Keras will look for when it loads
// the part; in a .keras part, the datasets' bytes are copied raw, straight
// into the output archive (keras_part_archive.h). Parts carry no optimizer
// state and no compile config.
#pragma once

#include <filesystem>

#include "keras_model.h"
#include "modelcut/partition.h"

namespace modelcut::keras {

// Writes part `index` to `target` (a new file). Throws Error when a tensor
// crossing a cut has no known shape or dtype.
void write_part(const KerasModel& model, const Partition& partition, std::size_t index,
                const std::filesystem::path& target);

// Weight arrays (HDF5 datasets) part `index` carries.
std::size_t part_weight_count(const KerasModel& model, const Partition& partition, std::size_t index);

}  // namespace modelcut::keras
