// Candidate cut points: the places where one cut sends exactly one computed
// value across (plus graph inputs still read later), as partition_dataflow
// would place that cut. One pass over the topological order, never running
// the partition itself, so `inspect` stays fast on graphs of any length.
#include <algorithm>
#include <cstdint>
#include <set>

#include "modelcut/partition.h"

namespace modelcut {

// Why one pass gives partition_dataflow's answer.
//
// A *sweep position* p holds a computing (non-Constant) node N with a single
// output v, and v is the only value computed by a computing node at or before
// p that is still read after p or is a graph output ("alive" at p). These are
// the positions looked at; the question is which of them partition cleanly.
//
// A cut at v puts in part 0 the set A(N): N and, recursively, the computing
// producers of what it reads. Part 1 holds every other computing node. The
// cut is accepted when part 1 holds a node and v is a graph output or read by
// a computing node. A value crosses when part 0 has it (a graph input, or the
// output of a node in A) and it is a graph output or read by a computing node
// outside A.
//
// (1) Only v crosses among computed values iff no computing node in
//     D(p) = {computing nodes at positions <= p} \ A(N) reads an output of A.
//     An output u != v of A is not alive at p (v is the only one), so it is no
//     graph output and all its readers are at or before p; v's readers all
//     come after p.
// (2) Let p < q be consecutive sweep positions. A node in (p, q] reads no
//     computed value from a computing node at or before p except v_p: any
//     other such value is read after p, so it would have been alive at p.
//     Hence A(N_q) = S_q, the ancestors of N_q found without leaving (p, q],
//     plus all of A(N_p) when that search reaches N_p ("chained").
// (3) Chained, D(q) = D(p) + ((p, q] \ S_q), so (1) fails at q iff it failed
//     at p or a node of (p, q] \ S_q reads an output of S_q or v_p (the only
//     value of A(N_p) read after p). Not chained, A(N_q) = S_q and nothing at
//     or before p reads S_q, so only (p, q] \ S_q needs looking at.
// (4) A graph input crosses iff it is a graph output or some computing node
//     outside A reads it: counted per graph input as readers in A against
//     all readers, updated as A grows (chained) or restarts (not chained).
//
// Each node is searched and scanned in one segment (p, q] only, and each
// count added to the graph-input tally is removed at most once, so the whole
// pass is linear in nodes and edges, plus a log factor for keeping the set of
// crossing graph inputs in declared order.
std::vector<SingleValueCut> find_single_value_cuts(const Dataflow& dataflow) {
  const auto& order = dataflow.topological_order();
  const auto& values = dataflow.values();
  const auto node_count = static_cast<std::uint32_t>(order.size());
  auto is_computing = [&](NodeId id) { return !dataflow.node(id).is_constant; };

  // A value is alive from its producer's position up to, not including, the
  // position of its last reader; a graph output stays alive to the end.
  std::vector<std::uint32_t> last_read(values.size(), 0);
  for (ValueId id = 0; id < values.size(); ++id) {
    if (values[id].is_graph_output) last_read[id] = node_count;
    for (NodeId consumer : values[id].consumers) {
      last_read[id] = std::max(last_read[id], dataflow.position_of(consumer));
    }
  }
  std::vector<std::int64_t> alive_change(node_count + 1, 0);
  std::uint32_t last_computing_position = 0;
  for (std::uint32_t position = 0; position < node_count; ++position) {
    if (!is_computing(order[position])) continue;
    last_computing_position = position;
    for (ValueId output : dataflow.node(order[position]).outputs) {
      if (last_read[output] <= position) continue;
      ++alive_change[position];
      --alive_change[last_read[output]];
    }
  }

  // (4): graph input reads by computing nodes, counted per input slot, all
  // of them and those in part 0; `crossing_inputs` holds the indices into
  // graph_inputs() (which may list a value twice) of those that cross.
  std::vector<std::uint32_t> readers(values.size(), 0);
  std::vector<std::uint32_t> readers_in_part0(values.size(), 0);
  for (NodeId id : order) {
    if (!is_computing(id)) continue;
    for (ValueId input : dataflow.node(id).inputs) {
      if (values[input].kind == ValueKind::GraphInput) ++readers[input];
    }
  }
  std::vector<std::vector<std::size_t>> listed_at(values.size());
  for (std::size_t index = 0; index < dataflow.graph_inputs().size(); ++index) {
    const ValueId input = dataflow.graph_inputs()[index];
    // Other kinds are never passed through: a stored constant never crosses.
    if (values[input].kind == ValueKind::GraphInput) listed_at[input].push_back(index);
  }
  std::set<std::size_t> crossing_inputs;
  auto update_crossing = [&](ValueId input) {
    const bool crosses = values[input].is_graph_output || readers[input] > readers_in_part0[input];
    for (std::size_t index : listed_at[input]) {
      if (crosses) {
        crossing_inputs.insert(index);
      } else {
        crossing_inputs.erase(index);
      }
    }
  };
  for (ValueId input : dataflow.graph_inputs()) update_crossing(input);
  std::vector<ValueId> counted_in_part0;  // one entry per count added since part 0 last restarted

  // State of the previous sweep position p, for (2) and (3).
  constexpr std::uint32_t kNoSegment = UINT32_MAX;
  std::vector<std::uint32_t> searched_in(dataflow.nodes().size(), kNoSegment);
  std::uint32_t segment = 0;
  std::uint32_t segment_start = 0;  // first position after p
  NodeId previous = kNoNode;
  std::size_t previous_part0_size = 0;
  bool previous_leaks = false;  // a node of D(p) reads an output of A(N_p)

  std::vector<SingleValueCut> cuts;
  std::int64_t alive = 0;
  std::uint32_t computing_so_far = 0;
  std::vector<NodeId> pending;
  std::vector<NodeId> found;
  for (std::uint32_t position = 0; position + 1 < node_count; ++position) {
    const NodeId id = order[position];
    const Node& node = dataflow.node(id);
    alive += alive_change[position];
    if (!is_computing(id)) continue;
    ++computing_so_far;
    if (node.outputs.size() != 1 || alive != 1 || last_read[node.outputs.front()] <= position) continue;
    const ValueId value = node.outputs.front();

    // (2): S_q, searching back without leaving the segment.
    bool chained = false;
    found.clear();
    pending.assign(1, id);
    searched_in[id] = segment;
    while (!pending.empty()) {
      const NodeId current = pending.back();
      pending.pop_back();
      found.push_back(current);
      for (ValueId input : dataflow.node(current).inputs) {
        const NodeId producer = values[input].producer;
        if (producer == kNoNode || !is_computing(producer)) continue;
        if (dataflow.position_of(producer) < segment_start) {
          chained = true;  // by (2), producer == previous
        } else if (searched_in[producer] != segment) {
          searched_in[producer] = segment;
          pending.push_back(producer);
        }
      }
    }

    // (3): does a node left out of part 0 read from part 0?
    bool leaks = chained && previous_leaks;
    for (std::uint32_t at = segment_start; at <= position && !leaks; ++at) {
      const NodeId other = order[at];
      if (!is_computing(other) || searched_in[other] == segment) continue;
      for (ValueId input : dataflow.node(other).inputs) {
        const NodeId producer = values[input].producer;
        if (producer == kNoNode || !is_computing(producer)) continue;
        const bool in_segment = dataflow.position_of(producer) >= segment_start;
        if ((in_segment && searched_in[producer] == segment) || (chained && producer == previous)) leaks = true;
      }
    }

    // (4): the graph-input tally for A(N_q).
    if (!chained) {
      for (ValueId input : counted_in_part0) readers_in_part0[input] = 0;
      for (ValueId input : counted_in_part0) update_crossing(input);
      counted_in_part0.clear();
    }
    for (NodeId member : found) {
      for (ValueId input : dataflow.node(member).inputs) {
        if (values[input].kind != ValueKind::GraphInput) continue;
        ++readers_in_part0[input];
        counted_in_part0.push_back(input);
        update_crossing(input);
      }
    }
    const std::size_t part0_size = found.size() + (chained ? previous_part0_size : 0);

    // The checks partition_dataflow makes: part 1 holds a node, and v is
    // read after the cut.
    const bool part1_has_node = last_computing_position > position || computing_so_far > part0_size;
    bool read_later = values[value].is_graph_output;
    for (NodeId consumer : values[value].consumers) read_later = read_later || is_computing(consumer);
    if (!leaks && part1_has_node && read_later) {
      SingleValueCut cut{value, {value}};
      for (std::size_t index : crossing_inputs) cut.crossing.push_back(dataflow.graph_inputs()[index]);
      cuts.push_back(std::move(cut));
    }

    previous = id;
    previous_part0_size = part0_size;
    previous_leaks = leaks;
    segment_start = position + 1;
    ++segment;
  }
  return cuts;
}

}  // namespace modelcut
