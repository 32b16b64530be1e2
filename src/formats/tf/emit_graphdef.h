// Writing one part of a partitioned frozen GraphDef as a GraphDef of its own.
//
// A part holds its nodes and the Const nodes they read, copied byte for byte
// (weights are views of the source file, copied once to the output); only
// the inputs of nodes that read a value computed by an earlier part are
// rewritten, to read that part's placeholder. Each value crossing into the
// part gets a Placeholder (dtype and shape attrs) named by
// boundary_node_name(); a value crossing out that is not output 0 of its
// node gets an Identity of that same name, so that part k+1's placeholders
// are fed by part k's tensors "<boundary node name>:0" (a strict chain).
//
// Control inputs ("^name"): kept when `name` is in the part; dropped when it
// ran in an earlier part (its effects are done before this part starts), is
// a graph input, or is a Const or weight-only node the part does not read
// otherwise (it has no effect to wait for); a cut that would run `name`
// after the node waiting for it is refused, naming both nodes. NB: that
// happens only to a node that nothing reads (a probe, an Assert): split puts
// such nodes in the last part, and reordering parts to honour a wait is not
// attempted; the user cuts elsewhere (tests/tf/test_graphdef_control.py).
// A cut that splits a TF1 while loop's frame (the nodes from its Enter to
// its Exit) is refused. The same source and cut always give the
// same bytes.
#pragma once

#include <cstddef>
#include <string>

#include "../onnx/wire.h"
#include "graphdef_model.h"
#include "modelcut/partition.h"

namespace modelcut::tf {

// The node whose output 0 is `value` in the parts: the value's own node for
// an output 0 or a graph input, "<node>/output_<k>" for output k > 0
// (with '_' appended while a node of the source has that name).
std::string boundary_node_name(const GraphDefModel& model, const Dataflow& dataflow, ValueId value);

// Throws Error when a cut splits a while loop's frame, or separates a Merge
// from the NextIteration that feeds it back.
void check_loop_frames(const GraphDefModel& model, const GraphDefIndex& index, const Partition& partition);

// The GraphDef of part `index`. Throws Error when a crossing value's element
// type is unknown or a control input cannot be kept (see above).
wire::Rope emit_graphdef_part(const GraphDefModel& model, const GraphDefIndex& index, const Partition& partition,
                              std::size_t part_index);

}  // namespace modelcut::tf
