// Partitioning a dataflow at K cut points into K+1 parts that form a strict
// chain: part k+1 takes exactly part k's outputs, by name.
//
// Part k holds the nodes needed to compute cut k's values that no earlier part
// holds; the last part holds everything else. Every value produced before a
// boundary and read after it (skip connections, masks, shape computations,
// graph inputs needed later) crosses the boundary; stored constants never
// cross (each part carries its own copy), and Constant nodes are copied into
// every part that reads them.
#pragma once

#include <cstdint>
#include <vector>

#include "modelcut/dataflow.h"
#include "modelcut/resolve.h"

namespace modelcut {

struct Part {
  std::vector<NodeId> nodes;     // topological order
  std::vector<ValueId> inputs;   // first part: the graph inputs; then the previous part's outputs
  std::vector<ValueId> outputs;  // last part: the graph outputs; before: the values crossing the next boundary
};

struct Partition {
  std::vector<Part> parts;
  // Values crossing boundary k (between parts k and k+1) are parts[k].outputs:
  // the cut's own values first, in the order the cut names them, then the
  // others in the order the model computes them.
  const std::vector<ValueId>& boundary(std::size_t k) const { return parts[k].outputs; }
};

// Throws Error when a cut is a graph input or stored constant, when cuts are
// given out of order, when a part would be empty, or when nothing after a cut
// reads its values (it cuts nothing).
Partition partition_dataflow(const Dataflow& dataflow, const std::vector<CutPoint>& cuts);

// A place where the model can be cut with a single computed value crossing.
struct SingleValueCut {
  ValueId value;  // the computed value crossing
  // What partition_dataflow puts at the boundary of a cut at `value`: the
  // value first, then the graph inputs read after the cut, in declared order.
  std::vector<ValueId> crossing;
};

// Every value v such that partition_dataflow(dataflow, {cut at v}) succeeds
// and sends no computed value but v across the cut, where v is the only
// output of its node and the only computed value alive at that node's
// position in the topological order. In that order. One pass, without
// partitioning: O((nodes + edges) log(graph inputs) + size of the result).
std::vector<SingleValueCut> find_single_value_cuts(const Dataflow& dataflow);

// Total size of values, in bytes per batch item; `all_known` is false when some
// value's shape or type is unknown (its size is then not counted).
std::uint64_t bytes_of(const Dataflow& dataflow, const std::vector<ValueId>& values, bool* all_known = nullptr);

}  // namespace modelcut
