// The partition algorithm: assigns every node to a part and finds the values
// that cross each boundary. Linear in the size of the dataflow.
//
// A node belongs to the first part whose cut values depend on it; the sets of
// ancestors are closed under "depends on", so no node ever reads a value that
// a later part computes, and every cut is valid by construction. The checks
// below only reject cuts that would surprise the user.
#include "modelcut/partition.h"

#include <algorithm>
#include <set>

#include "modelcut/error.h"
#include "util/checked_math.h"

namespace modelcut {
namespace {

constexpr std::uint32_t kUnassigned = UINT32_MAX;

void check_cut_values(const Dataflow& dataflow, const CutPoint& cut) {
  if (cut.values.empty()) fail("the cut ", quoted(cut.spec), " names no value");
  for (ValueId id : cut.values) {
    const Value& value = dataflow.value(id);
    if (value.kind == ValueKind::GraphInput) {
      fail("cannot cut at ", quoted(value.name), " (from ", quoted(cut.spec),
           "): it is a graph input, so nothing comes before it");
    }
    if (value.kind == ValueKind::Constant || dataflow.node(value.producer).is_constant) {
      fail("cannot cut at ", quoted(value.name), " (from ", quoted(cut.spec),
           "): it is a constant stored in the model, not computed by it");
    }
  }
}

// Marks with `part` every unassigned node that `cut`'s values depend on.
void assign_ancestors(const Dataflow& dataflow, const CutPoint& cut, std::uint32_t part,
                      const std::vector<CutPoint>& cuts, std::vector<std::uint32_t>& part_of) {
  std::vector<NodeId> pending;
  for (ValueId id : cut.values) {
    const NodeId producer = dataflow.value(id).producer;
    if (part_of[producer] != kUnassigned) {
      fail("the cut ", quoted(cut.spec), " is not after the cut ", quoted(cuts[part_of[producer]].spec),
           ": give the cuts in the order the model computes them, each later than the one before");
    }
    pending.push_back(producer);
  }
  while (!pending.empty()) {
    const NodeId id = pending.back();
    pending.pop_back();
    const Node& node = dataflow.node(id);
    if (part_of[id] != kUnassigned || node.is_constant) continue;
    part_of[id] = part;
    for (ValueId input : node.inputs) {
      const NodeId producer = dataflow.value(input).producer;
      if (producer != kNoNode && part_of[producer] == kUnassigned) pending.push_back(producer);
    }
  }
}

// Parts that read each constant node's outputs (it is copied into each of
// them), directly or through other constant nodes: a weight-only chain such
// as DequantizeLinear -> Transpose is copied whole. Filled in reverse
// topological order, so a constant reader's parts are known before its
// producer's.
std::vector<std::set<std::uint32_t>> parts_reading_constants(const Dataflow& dataflow,
                                                             const std::vector<std::uint32_t>& part_of,
                                                             std::uint32_t last_part) {
  std::vector<std::set<std::uint32_t>> parts(dataflow.nodes().size());
  const auto& order = dataflow.topological_order();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node& node = dataflow.node(*it);
    if (!node.is_constant) continue;
    std::set<std::uint32_t>& reading = parts[*it];
    for (ValueId output : node.outputs) {
      const Value& value = dataflow.value(output);
      if (value.is_graph_output) reading.insert(last_part);
      for (NodeId consumer : value.consumers) {
        if (dataflow.node(consumer).is_constant) {
          reading.insert(parts[consumer].begin(), parts[consumer].end());
        } else {
          reading.insert(part_of[consumer]);
        }
      }
    }
    if (reading.empty()) reading.insert(last_part);
  }
  return parts;
}

}  // namespace

std::uint64_t bytes_of(const Dataflow& dataflow, const std::vector<ValueId>& values, bool* all_known) {
  std::uint64_t total = 0;
  bool known = true;
  for (ValueId id : values) {
    const auto bytes = dataflow.value(id).info.bytes_per_item();
    // Each count fits in 64 bits; a sum of several huge ones from a crafted
    // file might not, and is then unknown rather than wrapped.
    const auto sum = bytes ? checked_add(total, *bytes) : std::nullopt;
    known = known && sum.has_value();
    if (sum) total = *sum;
  }
  if (all_known) *all_known = known;
  return total;
}

Partition partition_dataflow(const Dataflow& dataflow, const std::vector<CutPoint>& cuts) {
  if (cuts.empty()) fail("no cut given: name at least one layer, node or tensor to cut at");
  const auto last_part = static_cast<std::uint32_t>(cuts.size());
  const auto& order = dataflow.topological_order();

  std::vector<std::uint32_t> part_of(dataflow.nodes().size(), kUnassigned);
  for (std::uint32_t part = 0; part < cuts.size(); ++part) {
    check_cut_values(dataflow, cuts[part]);
    assign_ancestors(dataflow, cuts[part], part, cuts, part_of);
  }
  for (NodeId id : order) {
    if (part_of[id] == kUnassigned && !dataflow.node(id).is_constant) part_of[id] = last_part;
  }

  Partition partition;
  partition.parts.resize(cuts.size() + 1);
  std::vector<std::size_t> computing_nodes(partition.parts.size(), 0);
  const auto constant_readers = parts_reading_constants(dataflow, part_of, last_part);
  for (NodeId id : order) {
    const Node& node = dataflow.node(id);
    if (!node.is_constant) {
      partition.parts[part_of[id]].nodes.push_back(id);
      ++computing_nodes[part_of[id]];
      continue;
    }
    for (std::uint32_t part : constant_readers[id]) {
      partition.parts[part].nodes.push_back(id);
    }
  }
  if (computing_nodes[last_part] == 0) {
    fail("nothing is left after the cut ", quoted(cuts.back().spec),
         ": it is at the model's output, so the last part would be empty");
  }

  // A value crosses boundary b (after part b) when it is available by part b
  // and read in a later part; graph outputs are read by the last part.
  const std::size_t value_count = dataflow.values().size();
  std::vector<std::uint32_t> available_in(value_count, kUnassigned);
  std::vector<std::uint32_t> needed_until(value_count, 0);
  for (ValueId id = 0; id < value_count; ++id) {
    const Value& value = dataflow.value(id);
    if (value.kind == ValueKind::GraphInput) available_in[id] = 0;
    if (value.kind == ValueKind::Computed && !dataflow.node(value.producer).is_constant) {
      available_in[id] = part_of[value.producer];
    }
    if (value.is_graph_output) needed_until[id] = last_part;
    for (NodeId consumer : value.consumers) {
      if (!dataflow.node(consumer).is_constant) needed_until[id] = std::max(needed_until[id], part_of[consumer]);
    }
  }

  for (std::uint32_t part = 0; part < cuts.size(); ++part) {
    const CutPoint& cut = cuts[part];
    const bool read_later =
        std::any_of(cut.values.begin(), cut.values.end(), [&](ValueId id) { return needed_until[id] > part; });
    if (!read_later) {
      fail("nothing after the cut ", quoted(cut.spec), " reads ", quoted(dataflow.value(cut.values.front()).name),
           ", so it does not separate the model");
    }
  }

  // Canonical order of crossing values: graph inputs as declared, then
  // computed values in the order the model computes them.
  std::vector<ValueId> canonical(dataflow.graph_inputs());
  for (NodeId id : order) {
    for (ValueId output : dataflow.node(id).outputs) canonical.push_back(output);
  }
  for (std::uint32_t boundary = 0; boundary < cuts.size(); ++boundary) {
    auto crosses = [&](ValueId id) {
      return available_in[id] != kUnassigned && available_in[id] <= boundary && boundary < needed_until[id];
    };
    std::vector<ValueId>& crossing = partition.parts[boundary].outputs;
    for (ValueId id : cuts[boundary].values) {
      if (crosses(id) && std::find(crossing.begin(), crossing.end(), id) == crossing.end()) crossing.push_back(id);
    }
    for (ValueId id : canonical) {
      if (crosses(id) &&
          std::find(cuts[boundary].values.begin(), cuts[boundary].values.end(), id) == cuts[boundary].values.end()) {
        crossing.push_back(id);
      }
    }
    partition.parts[boundary + 1].inputs = crossing;
  }
  partition.parts.front().inputs = dataflow.graph_inputs();
  partition.parts.back().outputs = dataflow.graph_outputs();
  return partition;
}

}  // namespace modelcut
