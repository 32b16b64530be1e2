// Writing ONNX models: one part of a partitioned model, or parts composed
// back into one model. Both return Ropes whose large chunks are views into
// the source files, so weights are copied once, straight to the output file
// (or not at all, in place).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "modelcut/modelcut.h"
#include "modelcut/partition.h"
#include "onnx_model.h"
#include "wire.h"

namespace modelcut::onnx {

struct EmittedPart {
  wire::Rope model;           // the ModelProto
  wire::Rope data;            // the external data file, when weights go to one
  std::string data_location;  // its name, beside the model ("" when none)
};

// Part `index`: its nodes, the initializers and local functions they use,
// typed inputs and outputs, the source's ir_version, opsets and metadata;
// weights placed as `weights` says. `file_name` is the part's own file name
// (external data is named after it). Throws Error when a value crossing the
// cut has no known type, or when weights cannot be placed as asked.
EmittedPart emit_part(const OnnxModel& model, const Dataflow& dataflow, const Partition& partition, std::size_t index,
                      const WeightOptions& weights, const std::string& file_name);

// One model from a strict chain of parts (each part's inputs are outputs of
// the one before). Constant nodes that the split copied into several parts
// are kept once. Weights in external files stay there, so the merged model
// must be written beside the parts that have some. Throws Error when the
// parts do not chain.
wire::Rope merge_parts(const std::vector<std::unique_ptr<OnnxModel>>& parts, const std::filesystem::path& output);

}  // namespace modelcut::onnx
