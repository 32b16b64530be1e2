// What each node of an ONNX model costs: the bytes of the stored weights it
// reads (initializers and Constant values, each counted once, at its first
// reader in topological order) and its multiply-accumulates, from the
// shapes recorded or propagated in the dataflow and the node's attributes.
#pragma once

#include <vector>

#include "modelcut/plan.h"
#include "onnx_model.h"

namespace modelcut::onnx {

// One entry per node of `dataflow` (indexed by NodeId), which must be
// index_onnx(model). Never throws for what the file holds: a node whose
// attributes or shapes do not make sense, or whose count overflows 64 bits,
// gets macs_known = false.
std::vector<NodeCost> onnx_node_costs(const OnnxModel& model, const Dataflow& dataflow, const DimSizes& dims);

}  // namespace modelcut::onnx
