// The two planners and what they share, on a dataflow with given costs.
// Model (src/pipeline.cpp) calls them with its format adapter's costs; the
// tests call them with costs of their own on graphs they build.
//
// Both plans count what the real partition does: a node that no graph output
// needs ("dead") lands in the last part, and a Constant node, copied into
// every part that reads it, is counted once, in the first part holding it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modelcut/dataflow.h"
#include "modelcut/partition.h"
#include "modelcut/plan.h"
#include "modelcut/resolve.h"

namespace modelcut {

Plan plan_pipeline(const Dataflow& dataflow, const LayerIndex& layers, const std::vector<NodeCost>& costs,
                   const DimSizes& sizes, const PipelineOptions& options);

Plan plan_device_server(const Dataflow& dataflow, const LayerIndex& layers, const std::vector<NodeCost>& costs,
                        const DimSizes& sizes, const DeviceServerOptions& options);

namespace plan_detail {

// The innermost layer of a node (its scope joined), or its name without one.
std::string layer_of(const Dataflow& dataflow, NodeId node);

// Nodes that some graph input reaches: the others compute from stored
// weights alone (see planning_order).
std::vector<char> find_input_dependent_nodes(const Dataflow& dataflow);

// Per position j of `sequence` (a topological order of some of the nodes):
// 1 when a cut after position j would separate nodes that must stay
// together (Node::keep_together).
std::vector<char> splits_kept_together(const Dataflow& dataflow, const std::vector<NodeId>& sequence);

// Computing (non-Constant) nodes from which some graph output is reachable.
std::vector<char> find_live_nodes(const Dataflow& dataflow);

// Per node (by NodeId), nanoseconds from a profile; appends warnings for
// profile names the model lacks and computing nodes the profile lacks.
// Throws Error for a negative or non-finite time.
std::vector<std::uint64_t> node_times_ns(const Dataflow& dataflow, const NodeTimes& times,
                                         std::vector<std::string>& warnings);

// Nanoseconds to send `bytes` at `bandwidth` bytes per second, rounded.
std::uint64_t transfer_ns(std::uint64_t bytes, double bandwidth);

// Throws Error unless `bandwidth` is finite and positive; `what` names it.
void check_bandwidth(double bandwidth, const char* what);

// Sum of the values' sizes with `sizes`; `known` false when one is unknown
// (not counted) or the sum does not fit.
std::uint64_t bytes_with(const Dataflow& dataflow, const DimSizes& sizes, const std::vector<ValueId>& values,
                         bool& known);

// The cut after `values` (computed values, in this order) as a spec that
// resolve_cut maps back to exactly these values: the name alone when it
// resolves so, "tensor:NAME" when the name also means something else, and
// "tensors:a,b,..." for several. `resolved` receives the resolved cut.
// Throws Error when a name cannot be written in a tensors: list.
PlanCut describe_cut(const Dataflow& dataflow, const LayerIndex& layers, const std::vector<ValueId>& values,
                     CutPoint& resolved);

// Fills in what crosses a cut: `crossing` is the boundary the partition made.
void describe_crossing(const Dataflow& dataflow, const DimSizes& sizes, const std::vector<ValueId>& crossing,
                       PlanCut& cut);

// Adds up a part's nodes; Constant nodes already counted by an earlier part
// (`counted`) are skipped and marked otherwise. `times` may be empty.
StagePlan summarize_part(const Dataflow& dataflow, const Part& part, const std::vector<NodeCost>& costs,
                         const std::vector<std::uint64_t>& times, std::vector<char>& counted);

// Warnings about nodes whose MACs the adapter does not know.
void warn_unknown_macs(const Dataflow& dataflow, const std::vector<NodeCost>& costs,
                       std::vector<std::string>& warnings);

// One entry per node in topological order: `cost` (per NodeId, in the
// plan's unit) and the bytes crossing a cut placed right after the node.
std::vector<PositionCost> costs_along(const Dataflow& dataflow, const DimSizes& sizes, const std::vector<double>& cost);

}  // namespace plan_detail
}  // namespace modelcut
