// Writing ONNX models: one part of a partitioned model, or parts composed
// back into one model. Both return a Rope whose large chunks are views into
// the source models, so weights are copied once, straight to the output file.
#pragma once

#include <memory>
#include <vector>

#include "modelcut/partition.h"
#include "onnx_model.h"
#include "wire.h"

namespace modelcut::onnx {

// The ModelProto of part `index`: its nodes, the initializers and local
// functions they use, typed inputs and outputs, the source's ir_version,
// opsets and metadata. Throws Error when a value crossing the cut has no
// known type.
wire::Rope emit_part(const OnnxModel& model, const Dataflow& dataflow, const Partition& partition, std::size_t index);

// One model from a strict chain of parts (each part's inputs are outputs of
// the one before). Constant nodes that the split copied into several parts
// are kept once. Throws Error when the parts do not chain.
wire::Rope merge_parts(const std::vector<std::unique_ptr<OnnxModel>>& parts);

}  // namespace modelcut::onnx
