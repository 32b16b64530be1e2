// What both planners share: which nodes matter to the outputs, profile times
// per node, transfer time, and turning a set of values and a real partition
// into a cut spec and stage summaries that split_model agrees with.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "modelcut/error.h"
#include "plan/planners.h"
#include "util/checked_math.h"

namespace modelcut {

std::vector<NodeId> planning_order(const Dataflow& dataflow) {
  const auto& order = dataflow.topological_order();
  const std::vector<char> from_inputs = plan_detail::find_input_dependent_nodes(dataflow);
  std::vector<NodeId> planned;
  planned.reserve(order.size());
  std::vector<char> emitted(dataflow.nodes().size(), 0);
  // Emits a weights-only node after the weights-only nodes it reads, with an
  // explicit stack: such chains can be as long as the model.
  std::vector<std::pair<NodeId, std::size_t>> stack;
  auto emit_with_producers = [&](NodeId root) {
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [id, next_input] = stack.back();
      const auto& inputs = dataflow.node(id).inputs;
      if (next_input < inputs.size()) {
        const NodeId producer = dataflow.value(inputs[next_input++]).producer;
        if (producer != kNoNode && !from_inputs[producer] && !emitted[producer]) {
          emitted[producer] = 1;
          stack.emplace_back(producer, 0);
        }
        continue;
      }
      planned.push_back(id);
      stack.pop_back();
    }
  };
  for (NodeId id : order) {
    if (!from_inputs[id] || emitted[id]) continue;
    emitted[id] = 1;
    emit_with_producers(id);
  }
  // Weights-only nodes that no input-dependent node reads (they feed graph
  // outputs only, or nothing) keep their place at the end.
  for (NodeId id : order) {
    if (emitted[id]) continue;
    emitted[id] = 1;
    emit_with_producers(id);
  }
  return planned;
}

namespace plan_detail {

std::string layer_of(const Dataflow& dataflow, NodeId id) {
  const Node& node = dataflow.node(id);
  if (node.scope.empty()) return node.name;
  std::string name;
  for (std::size_t i = 0; i < node.scope.size(); ++i) {
    if (i > 0) name += dataflow.scope_separator;
    name += node.scope[i];
  }
  return name;
}

std::vector<char> find_input_dependent_nodes(const Dataflow& dataflow) {
  std::vector<char> from_inputs(dataflow.nodes().size(), 0);
  for (NodeId id : dataflow.topological_order()) {
    for (ValueId input : dataflow.node(id).inputs) {
      const Value& value = dataflow.value(input);
      if (value.kind == ValueKind::GraphInput || (value.producer != kNoNode && from_inputs[value.producer])) {
        from_inputs[id] = 1;
      }
    }
  }
  return from_inputs;
}

std::vector<char> splits_kept_together(const Dataflow& dataflow, const std::vector<NodeId>& sequence) {
  // First and last position of each group; a cut after j splits a group
  // when first <= j < last. Summed with a difference array.
  std::map<std::uint32_t, std::pair<std::size_t, std::size_t>> span;
  for (std::size_t j = 0; j < sequence.size(); ++j) {
    const std::uint32_t group = dataflow.node(sequence[j]).keep_together;
    if (group == 0) continue;
    auto [it, added] = span.emplace(group, std::make_pair(j, j));
    if (!added) it->second.second = j;
  }
  std::vector<int> delta(sequence.size() + 1, 0);
  for (const auto& [group, range] : span) {
    ++delta[range.first];
    --delta[range.second];
  }
  std::vector<char> splits(sequence.size(), 0);
  int open = 0;
  for (std::size_t j = 0; j < sequence.size(); ++j) splits[j] = (open += delta[j]) > 0;
  return splits;
}

std::vector<char> find_live_nodes(const Dataflow& dataflow) {
  std::vector<char> live(dataflow.nodes().size(), 0);
  std::vector<NodeId> pending;
  for (ValueId id : dataflow.graph_outputs()) {
    const NodeId producer = dataflow.value(id).producer;
    if (producer != kNoNode) pending.push_back(producer);
  }
  while (!pending.empty()) {
    const NodeId id = pending.back();
    pending.pop_back();
    if (live[id] || dataflow.node(id).is_constant) continue;
    live[id] = 1;
    for (ValueId input : dataflow.node(id).inputs) {
      const NodeId producer = dataflow.value(input).producer;
      if (producer != kNoNode && !live[producer]) pending.push_back(producer);
    }
  }
  return live;
}

namespace {

std::string some_names(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < 3; ++i) text += (i ? ", " : "") + quoted(names[i]);
  if (names.size() > 3) text += ", ...";
  return text;
}

}  // namespace

std::vector<std::uint64_t> node_times_ns(const Dataflow& dataflow, const NodeTimes& times,
                                         std::vector<std::string>& warnings) {
  std::vector<std::uint64_t> ns(dataflow.nodes().size(), 0);
  std::vector<char> found(dataflow.nodes().size(), 0);
  std::vector<std::string> unknown;
  for (const auto& [name, microseconds] : times.microseconds) {
    // 1e12 us is eleven days per node: anything above is not a measurement.
    if (!std::isfinite(microseconds) || microseconds < 0 || microseconds > 1e12) {
      fail("the profile ", times.source, " gives node ", quoted(name), " the time ", microseconds,
           " us; times must be finite, non-negative microseconds");
    }
    const auto node = dataflow.find_node(name);
    if (!node) {
      unknown.push_back(name);
      continue;
    }
    ns[*node] = static_cast<std::uint64_t>(std::llround(microseconds * 1000.0));
    found[*node] = 1;
  }
  if (!unknown.empty()) {
    warnings.push_back("the profile " + times.source + " times " + std::to_string(unknown.size()) +
                       " node(s) the model does not have (" + some_names(unknown) +
                       "); was it recorded on another model?");
  }
  std::vector<std::string> missing;
  for (NodeId id = 0; id < dataflow.nodes().size(); ++id) {
    if (!found[id] && !dataflow.node(id).is_constant) missing.push_back(dataflow.node(id).name);
  }
  if (!missing.empty()) {
    warnings.push_back("the profile " + times.source + " has no time for " + std::to_string(missing.size()) +
                       " node(s) (" + some_names(missing) + "); they count 0 us");
  }
  return ns;
}

void check_bandwidth(double bandwidth, const char* what) {
  if (!std::isfinite(bandwidth) || bandwidth <= 0) {
    fail("the ", what, " must be a positive number of bytes per second, not ", bandwidth);
  }
}

std::uint64_t transfer_ns(std::uint64_t bytes, double bandwidth) {
  const double ns = std::round(static_cast<double>(bytes) / bandwidth * 1e9);
  // Beyond 2^62 ns (146 years) a transfer is as good as impossible; capping
  // it keeps sums of a few of them in range.
  constexpr double kLimit = 4.6e18;
  return ns >= kLimit ? static_cast<std::uint64_t>(kLimit) : static_cast<std::uint64_t>(ns);
}

std::uint64_t bytes_with(const Dataflow& dataflow, const DimSizes& sizes, const std::vector<ValueId>& values,
                         bool& known) {
  std::uint64_t total = 0;
  known = true;
  for (ValueId id : values) {
    const auto bytes = sizes.bytes(dataflow.value(id).info);
    const auto sum = bytes ? checked_add(total, *bytes) : std::nullopt;
    if (sum) total = *sum;
    known = known && sum.has_value();
  }
  return total;
}

PlanCut describe_cut(const Dataflow& dataflow, const LayerIndex& layers, const std::vector<ValueId>& values,
                     CutPoint& resolved) {
  auto resolves_to_values = [&](const std::string& spec) {
    try {
      resolved = resolve_cut(dataflow, layers, spec);
      return resolved.values == values;
    } catch (const Error&) {
      return false;
    }
  };
  PlanCut cut;
  for (ValueId id : values) cut.values.push_back(dataflow.value(id).name);
  if (values.size() == 1) {
    cut.spec = cut.values.front();
    if (resolves_to_values(cut.spec)) return cut;
    cut.spec = "tensor:" + cut.values.front();
  } else {
    cut.spec = "tensors:";
    for (std::size_t i = 0; i < cut.values.size(); ++i) {
      if (cut.values[i].find(',') != std::string::npos) {
        fail("the best cut is after several values, one of them ", quoted(cut.values[i]),
             ", whose name has a ',' in it, so no tensors: cut can name it");
      }
      cut.spec += (i ? "," : "") + cut.values[i];
    }
  }
  if (!resolves_to_values(cut.spec)) {
    throw std::logic_error("the plan's cut " + cut.spec + " does not resolve to the values it was made of");
  }
  return cut;
}

void describe_crossing(const Dataflow& dataflow, const DimSizes& sizes, const std::vector<ValueId>& crossing,
                       PlanCut& cut) {
  cut.crossing.clear();
  for (ValueId id : crossing) {
    const Value& value = dataflow.value(id);
    cut.crossing.push_back(ValueSummary{value.name, value.info.describe(), sizes.bytes(value.info)});
  }
  cut.crossing_bytes = bytes_with(dataflow, sizes, crossing, cut.bytes_known);
}

StagePlan summarize_part(const Dataflow& dataflow, const Part& part, const std::vector<NodeCost>& costs,
                         const std::vector<std::uint64_t>& times, std::vector<char>& counted) {
  StagePlan stage;
  stage.node_count = part.nodes.size();
  std::uint64_t time_ns = 0;
  bool first = true;
  for (NodeId id : part.nodes) {
    const Node& node = dataflow.node(id);
    if (!node.is_constant) {
      if (first) stage.first_layer = layer_of(dataflow, id);
      stage.last_layer = layer_of(dataflow, id);
      first = false;
    }
    if (counted[id]) continue;
    counted[id] = 1;
    const NodeCost& cost = costs[id];
    const auto params = checked_add(stage.param_bytes, cost.param_bytes);
    const auto macs = checked_add(stage.macs, cost.macs);
    if (!params || !macs) fail("the costs of the model's nodes add up to more than 2^64");
    stage.param_bytes = *params;
    stage.macs = *macs;
    stage.macs_known = stage.macs_known && cost.macs_known;
    if (!times.empty()) time_ns += times[id];
  }
  stage.time_us = static_cast<double>(time_ns) / 1000.0;
  return stage;
}

void warn_unknown_macs(const Dataflow& dataflow, const std::vector<NodeCost>& costs,
                       std::vector<std::string>& warnings) {
  std::size_t count = 0;
  std::set<std::string> ops;
  for (NodeId id = 0; id < costs.size(); ++id) {
    if (costs[id].macs_known || dataflow.node(id).is_constant) continue;
    ++count;
    ops.insert(dataflow.node(id).op);
  }
  if (count == 0) return;
  std::string names;
  std::size_t shown = 0;
  for (const std::string& op : ops) {
    if (shown++ == 5) {
      names += ", ...";
      break;
    }
    names += (names.empty() ? "" : ", ") + op;
  }
  warnings.push_back(std::to_string(count) + " node(s) have unknown MACs, counted as 0 (ops: " + names + ")");
}

}  // namespace plan_detail
}  // namespace modelcut
