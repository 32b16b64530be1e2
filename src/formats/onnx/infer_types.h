// Type and shape propagation for values an ONNX model records no type for
// (see infer_types.cpp for what it covers and why).
#pragma once

#include <string>

#include "modelcut/dataflow.h"
#include "onnx_model.h"

namespace modelcut::onnx {

// Fills in TensorInfo of computed values that have none (or no shape),
// in topological order. Never overrides what the model records.
void infer_missing_types(const OnnxModel& model, Dataflow& dataflow);

// A serialized TypeProto for a tensor type (shape included when known).
std::string type_proto_from_info(const TensorInfo& info);

}  // namespace modelcut::onnx
