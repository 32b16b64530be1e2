// The pipeline planner: K stages whose most expensive stage is as cheap as
// possible, by parameter bytes, MACs or profiled time (plus, with a
// bandwidth, the time to send each stage's outgoing boundary).
//
// Search space: the K-1 cut positions of ONE topological order
// (planning_order: the dataflow's, with weights-only nodes moved next to
// their readers). A cut after position p puts every node up to p before the
// boundary; the values crossing it are all those alive there, however many,
// so cuts inside residual blocks and between parallel branches are
// considered too. Partitions that interleave branches differently from that
// order are not. Within the space the search is exact: a binary search on
// the bottleneck over integer costs, each step an O(K n) feasibility check.
#include <algorithm>
#include <cmath>
#include <limits>

#include "modelcut/error.h"
#include "plan/planners.h"
#include "util/checked_math.h"

namespace modelcut {

const char* to_string(Balance balance) {
  switch (balance) {
    case Balance::Params:
      return "params";
    case Balance::Flops:
      return "flops";
    case Balance::Time:
      return "time";
  }
  return "?";
}

namespace {

using namespace plan_detail;
// 128-bit sums: a sum of 64-bit sizes and costs cannot wrap.
__extension__ typedef unsigned __int128 Wide;
__extension__ typedef __int128 SignedWide;
constexpr std::uint32_t kNone = UINT32_MAX;
constexpr std::uint64_t kUnlimited = UINT64_MAX;

std::uint64_t add_or_fail(std::uint64_t a, std::uint64_t b) {
  const auto sum = checked_add(a, b);
  if (!sum) fail("the costs of the model's nodes add up to more than 2^64");
  return *sum;
}

// The model as the search sees it: its live computing nodes in topological
// order (the positions), what each position costs, and what crosses a cut
// placed right after it. Dead nodes and Constant nodes read by no live node
// cost in the last stage (the "tail"), as the real partition places them.
struct Sequence {
  std::vector<NodeId> nodes;
  std::vector<std::uint32_t> position;      // per NodeId; kNone for others
  std::vector<std::uint64_t> cost, params;  // prefix sums, size m + 1
  std::uint64_t tail_cost = 0, tail_params = 0;
  std::vector<std::uint32_t> needed_until;  // per ValueId: first position no longer needing it
  std::vector<std::uint64_t> alive_bytes;   // per position
  std::vector<char> alive_known;            // per position
  std::vector<std::uint64_t> transfer;      // per position, ns (0 without a bandwidth)
  // Per position: a cut may follow it. Not after a node computed from
  // weights alone: that would send a weight across as if it were an
  // activation, where the node belongs with its reader; nor inside nodes
  // that must stay together (a while loop), which split refuses.
  std::vector<char> cuttable;
  std::uint64_t size() const { return nodes.size(); }
};

Sequence build_sequence(const Dataflow& dataflow, const std::vector<std::uint64_t>& unit_cost,
                        const std::vector<NodeCost>& costs, const DimSizes& sizes,
                        const std::optional<double>& bandwidth) {
  Sequence seq;
  const std::vector<char> live = find_live_nodes(dataflow);
  seq.position.assign(dataflow.nodes().size(), kNone);
  for (NodeId id : planning_order(dataflow)) {
    if (!live[id]) continue;
    seq.position[id] = static_cast<std::uint32_t>(seq.nodes.size());
    seq.nodes.push_back(id);
  }
  const auto m = static_cast<std::uint32_t>(seq.nodes.size());
  const std::vector<char> from_inputs = find_input_dependent_nodes(dataflow);
  const std::vector<char> splits = splits_kept_together(dataflow, seq.nodes);
  for (std::uint32_t j = 0; j < m; ++j) seq.cuttable.push_back(from_inputs[seq.nodes[j]] && !splits[j]);

  // Where each node's cost falls: its own position, a Constant node's first
  // live reader, or the tail.
  std::vector<std::uint64_t> cost(m, 0), params(m, 0);
  for (NodeId id = 0; id < dataflow.nodes().size(); ++id) {
    std::uint32_t at = seq.position[id];
    if (dataflow.node(id).is_constant) {
      for (ValueId output : dataflow.node(id).outputs) {
        for (NodeId reader : dataflow.value(output).consumers) at = std::min(at, seq.position[reader]);
      }
    }
    if (at == kNone) {
      seq.tail_cost = add_or_fail(seq.tail_cost, unit_cost[id]);
      seq.tail_params = add_or_fail(seq.tail_params, costs[id].param_bytes);
    } else {
      cost[at] = add_or_fail(cost[at], unit_cost[id]);
      params[at] = add_or_fail(params[at], costs[id].param_bytes);
    }
  }
  seq.cost.assign(m + 1, 0);
  seq.params.assign(m + 1, 0);
  for (std::uint32_t i = 0; i < m; ++i) {
    seq.cost[i + 1] = add_or_fail(seq.cost[i], cost[i]);
    seq.params[i + 1] = add_or_fail(seq.params[i], params[i]);
  }
  add_or_fail(seq.cost[m], seq.tail_cost);
  add_or_fail(seq.params[m], seq.tail_params);

  // A value is alive after positions [start, needed_until): from its live
  // producer (graph inputs: from the start) until its last live reader;
  // graph outputs and values read by dead nodes (which go to the last part)
  // are needed to the end. Summed with difference arrays.
  const auto& values = dataflow.values();
  seq.needed_until.assign(values.size(), 0);
  std::vector<SignedWide> delta(m + 1, 0);
  std::vector<std::int64_t> unknown_delta(m + 1, 0);
  for (ValueId id = 0; id < values.size(); ++id) {
    const Value& value = values[id];
    std::uint32_t start = kNone;
    if (value.kind == ValueKind::GraphInput) start = 0;
    if (value.kind == ValueKind::Computed && seq.position[value.producer] != kNone) {
      start = seq.position[value.producer];
    }
    if (start == kNone) continue;
    std::uint32_t until = value.is_graph_output ? m : 0;
    for (NodeId reader : value.consumers) {
      if (dataflow.node(reader).is_constant) continue;
      until = std::max(until, seq.position[reader] == kNone ? m : seq.position[reader]);
    }
    seq.needed_until[id] = until;
    if (until <= start) continue;
    const auto bytes = sizes.bytes(value.info);
    if (bytes) {
      delta[start] += *bytes;
      delta[until] -= *bytes;
    } else {
      ++unknown_delta[start];
      --unknown_delta[until];
    }
  }
  seq.alive_bytes.assign(m, 0);
  seq.alive_known.assign(m, 1);
  seq.transfer.assign(m, 0);
  SignedWide running = 0;
  std::int64_t unknown = 0;
  for (std::uint32_t j = 0; j < m; ++j) {
    running += delta[j];
    unknown += unknown_delta[j];
    const bool fits = running <= static_cast<SignedWide>(UINT64_MAX);
    seq.alive_bytes[j] = fits ? static_cast<std::uint64_t>(running) : UINT64_MAX;
    seq.alive_known[j] = unknown == 0 && fits;
    if (bandwidth) seq.transfer[j] = transfer_ns(seq.alive_bytes[j], *bandwidth);
  }
  return seq;
}

// Why the check below is exact.
//
// A stage covering positions [s, e] costs C(s, e) = cost[e+1] - cost[s] +
// extra(e), where extra(e) is the time to send the boundary after e (0
// without a bandwidth) for an inner stage and the tail for the last stage;
// its parameters are params[e+1] - params[s] (+ the tail's for the last).
// Costs are non-negative, so the prefix sums never decrease and, for a fixed
// end e, both are non-increasing in s: the starts that keep a stage within a
// limit T and a parameter cap form an interval [earliest(e), e], found by
// binary search on the prefix sums. The transfer term depends on the stage's
// end only (a stage pays for what it sends, not for what it receives), which
// is what keeps this an interval.
//
// Stage k can end at e iff stage k-1 can end at some b with b + 1 in
// [earliest(e), e]; among the reachable starts up to e, some lies in the
// interval iff the latest one does. So one left-to-right pass per stage,
// carrying the latest reachable start, decides every end: O(K n) per limit.
// Feasibility is monotone in T (a larger limit widens every interval), so
// the least feasible integer T, found by binary search over integer costs,
// is the optimum over all choices of K-1 positions.
class BottleneckSearch {
 public:
  BottleneckSearch(const Sequence& seq, std::size_t stages) : seq_(seq), stages_(stages) {}

  // With `record`, keeps what boundaries() needs.
  bool feasible(std::uint64_t limit, std::uint64_t param_cap, const std::vector<char>& allowed, bool record = false) {
    const auto m = static_cast<std::uint32_t>(seq_.size());
    compute_earliest(limit, param_cap);
    // Stage k (0-based) ends in [k, m - stages + k]: every stage keeps a node.
    const std::uint32_t width = m - static_cast<std::uint32_t>(stages_) + 1;
    if (record) ends_.assign(stages_, std::vector<char>(width, 0));
    previous_.assign(width, 0);
    current_.assign(width, 0);
    for (std::size_t k = 0; k < stages_; ++k) {
      const auto first_end = static_cast<std::uint32_t>(k);
      const bool last = k + 1 == stages_;
      std::uint32_t latest_start = kNone;
      bool any = false;
      for (std::uint32_t i = 0; i < width; ++i) {
        const std::uint32_t e = first_end + i;
        // Starts become reachable as e passes them: s = e is reachable when
        // the previous stage can end at e - 1.
        if (k == 0 ? e == 0 : previous_[i] != 0) latest_start = e;
        const bool may_end = last ? e == m - 1 : allowed[e] != 0;
        current_[i] = may_end && latest_start != kNone && earliest_[e] <= latest_start;
        any = any || current_[i];
      }
      if (record) ends_[k] = current_;
      if (!any) return false;
      std::swap(previous_, current_);
    }
    return previous_[width - 1] != 0;
  }

  // The inner boundaries of a plan within the limit of the last recorded
  // feasible() call. Every start in [earliest(e), e] from which the stages
  // before can still finish keeps the bottleneck; among them, going from
  // the last stage back, each stage takes the start that brings its cost
  // closest to an equal share of what is left, so that stages other than
  // the bottleneck come out even too (a large head or embedding otherwise
  // leaves some stages nearly empty).
  std::vector<std::uint32_t> boundaries() const {
    const auto m = static_cast<std::uint32_t>(seq_.size());
    std::vector<std::uint32_t> ends(stages_ - 1);
    std::uint32_t e = m - 1;
    for (std::size_t k = stages_ - 1; k > 0; --k) {
      const Wide extra = e + 1 == m ? seq_.tail_cost : seq_.transfer[e];
      const Wide share = (Wide(seq_.cost[e + 1]) + extra) / (k + 1);
      std::uint32_t best = kNone;
      Wide best_gap = 0;
      // The stages before need a position each: s - 1 >= k - 1.
      for (std::uint32_t s = e; s >= std::max<std::uint32_t>(earliest_[e], static_cast<std::uint32_t>(k)); --s) {
        if (!ends_[k - 1][s - k]) continue;
        const Wide stage = Wide(seq_.cost[e + 1]) - seq_.cost[s] + extra;
        const Wide gap = stage > share ? stage - share : share - stage;
        if (best == kNone || gap < best_gap) {
          best = s;
          best_gap = gap;
        }
      }
      if (best == kNone) throw std::logic_error("pipeline plan: no start within the feasible limit");
      ends[k - 1] = best - 1;
      e = best - 1;
    }
    return ends;
  }

 private:
  // earliest_[e]: the first start s with C(s, e) <= limit and the stage's
  // parameters within the cap; e + 1 when not even [e, e] fits.
  void compute_earliest(std::uint64_t limit, std::uint64_t param_cap) {
    const auto m = static_cast<std::uint32_t>(seq_.size());
    earliest_.assign(m, 0);
    for (std::uint32_t e = 0; e < m; ++e) {
      const bool last = e + 1 == m;
      const Wide need_cost = Wide(seq_.cost[e + 1]) + (last ? seq_.tail_cost : seq_.transfer[e]);
      const Wide need_params = Wide(seq_.params[e + 1]) + (last ? seq_.tail_params : 0);
      std::uint32_t start = 0;
      start = std::max(start, first_start(seq_.cost, e, need_cost, limit));
      start = std::max(start, first_start(seq_.params, e, need_params, param_cap));
      earliest_[e] = start;
    }
  }

  // The first s <= e + 1 with need - prefix[s] <= limit.
  static std::uint32_t first_start(const std::vector<std::uint64_t>& prefix, std::uint32_t e, Wide need,
                                   std::uint64_t limit) {
    if (need <= limit) return 0;
    const Wide threshold = need - limit;
    if (threshold > prefix[e]) return e + 1;
    return static_cast<std::uint32_t>(
        std::lower_bound(prefix.begin(), prefix.begin() + e + 1, static_cast<std::uint64_t>(threshold)) -
        prefix.begin());
  }

  const Sequence& seq_;
  std::size_t stages_;
  std::vector<std::uint32_t> earliest_;
  std::vector<std::vector<char>> ends_;
  std::vector<char> previous_, current_;
};

// The least limit in [low, high] for which `feasible` holds (it holds at high).
template <typename Feasible>
std::uint64_t least_feasible(std::uint64_t low, std::uint64_t high, Feasible&& feasible) {
  while (low < high) {
    const std::uint64_t middle = low + (high - low) / 2;
    if (feasible(middle)) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return high;
}

std::string bytes_text(std::uint64_t bytes) { return std::to_string(bytes) + " bytes"; }

// No plan meets the caps: say which cap stands in the way and what the
// least achievable value of it is.
[[noreturn]] void fail_caps(BottleneckSearch& search, const Sequence& seq, const PipelineOptions& options,
                            const std::vector<char>& allowed) {
  const std::size_t stages = options.stages;
  const std::vector<char>& all = seq.cuttable;
  const std::uint64_t param_cap = options.max_stage_param_bytes.value_or(kUnlimited);
  if (options.max_stage_param_bytes && search.feasible(kUnlimited, kUnlimited, allowed)) {
    const std::uint64_t best = least_feasible(0, seq.params[seq.size()] + seq.tail_params, [&](std::uint64_t cap) {
      return search.feasible(kUnlimited, cap, allowed);
    });
    fail("no plan of ", stages, " stages keeps every stage within max_stage_param_bytes = ", bytes_text(param_cap),
         " of parameters; the least achievable is ", bytes_text(best));
  }
  if (options.max_boundary_bytes && search.feasible(kUnlimited, param_cap, all)) {
    std::vector<std::uint64_t> levels(seq.alive_bytes.begin(), seq.alive_bytes.end());
    std::sort(levels.begin(), levels.end());
    levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
    auto allowed_at = [&](std::uint64_t cap) {
      std::vector<char> ok(seq.size());
      for (std::size_t j = 0; j < seq.size(); ++j) {
        ok[j] = seq.cuttable[j] && (!seq.alive_known[j] || seq.alive_bytes[j] <= cap);
      }
      return ok;
    };
    const std::uint64_t index = least_feasible(0, levels.size() - 1, [&](std::uint64_t i) {
      return search.feasible(kUnlimited, param_cap, allowed_at(levels[i]));
    });
    fail("no plan of ", stages,
         " stages has every boundary within max_boundary_bytes = ", bytes_text(*options.max_boundary_bytes),
         options.max_stage_param_bytes ? " (with max_stage_param_bytes)" : "", "; the least achievable is ",
         bytes_text(levels[index]));
  }
  fail("no plan of ", stages, " stages meets both max_stage_param_bytes = ", bytes_text(param_cap),
       " and max_boundary_bytes = ", bytes_text(options.max_boundary_bytes.value_or(kUnlimited)), "; raise either");
}

}  // namespace

std::vector<PositionCost> plan_detail::costs_along(const Dataflow& dataflow, const DimSizes& sizes,
                                                   const std::vector<double>& cost) {
  const std::vector<std::uint64_t> zero(dataflow.nodes().size(), 0);
  const std::vector<NodeCost> no_costs(dataflow.nodes().size());
  const Sequence seq = build_sequence(dataflow, zero, no_costs, sizes, std::nullopt);
  // A node that is not a position of the search shows the boundary of the
  // position before it (before the first: the graph inputs read).
  std::vector<ValueId> inputs;
  for (ValueId id : dataflow.graph_inputs()) {
    if (seq.needed_until[id] > 0) inputs.push_back(id);
  }
  bool alive_known = true;
  std::uint64_t alive = bytes_with(dataflow, sizes, inputs, alive_known);
  std::vector<PositionCost> along;
  for (NodeId id : planning_order(dataflow)) {
    const std::uint32_t at = seq.position[id];
    if (at != kNone) {
      alive = seq.alive_bytes[at];
      alive_known = seq.alive_known[at];
    }
    const Node& node = dataflow.node(id);
    along.push_back(PositionCost{node.name, layer_of(dataflow, id), node.op, cost[id], alive, alive_known});
  }
  return along;
}

Plan plan_pipeline(const Dataflow& dataflow, const LayerIndex& layers, const std::vector<NodeCost>& costs,
                   const DimSizes& sizes, const PipelineOptions& options) {
  const std::size_t stages = options.stages;
  if (stages < 2) fail("a pipeline plan needs at least 2 stages, not ", stages);
  if (options.balance == Balance::Time && !options.times) {
    fail("balancing by time needs a profile of the model (record one with `modelcut profile MODEL -o times.json`)");
  }
  if (options.bandwidth) {
    if (options.balance != Balance::Time) {
      fail("a bandwidth weighs transfer time into the stages' time, so it needs balancing by time, not by ",
           to_string(options.balance));
    }
    check_bandwidth(*options.bandwidth, "bandwidth");
  }

  Plan plan;
  plan.kind = "pipeline";
  plan.objective = to_string(options.balance);
  plan.cost_unit = options.balance == Balance::Params ? "bytes" : options.balance == Balance::Flops ? "MACs" : "us";
  std::vector<std::uint64_t> times;
  if (options.times) times = node_times_ns(dataflow, *options.times, plan.warnings);
  warn_unknown_macs(dataflow, costs, plan.warnings);

  // Integer costs in the plan's unit (time in ns), so that "exact" is exact.
  std::vector<std::uint64_t> unit_cost(dataflow.nodes().size(), 0);
  for (NodeId id = 0; id < unit_cost.size(); ++id) {
    unit_cost[id] = options.balance == Balance::Params  ? costs[id].param_bytes
                    : options.balance == Balance::Flops ? costs[id].macs
                                                        : times[id];
  }
  auto in_unit = [&](std::uint64_t cost) {
    return options.balance == Balance::Time ? static_cast<double>(cost) / 1000.0 : static_cast<double>(cost);
  };

  const Sequence seq = build_sequence(dataflow, unit_cost, costs, sizes, options.bandwidth);
  const std::size_t m = seq.size();
  const auto places =
      static_cast<std::size_t>(m == 0 ? 0 : std::count(seq.cuttable.begin(), seq.cuttable.end() - 1, 1));
  if (stages > places + 1) {
    fail("the model can be cut in ", places, " place(s), so into at most ", places + 1, " stages, not ", stages);
  }

  std::vector<char> allowed(seq.cuttable);
  std::size_t unknown_boundaries = 0;
  for (std::size_t j = 0; j + 1 < m; ++j) {
    if (!seq.alive_known[j]) ++unknown_boundaries;
    if (options.max_boundary_bytes && seq.alive_known[j] && seq.alive_bytes[j] > *options.max_boundary_bytes) {
      allowed[j] = 0;
    }
  }
  if (unknown_boundaries > 0 && (options.max_boundary_bytes || options.bandwidth)) {
    plan.warnings.push_back(std::to_string(unknown_boundaries) +
                            " place(s) to cut have crossing values of unknown size, counted as 0 bytes" +
                            (options.max_boundary_bytes ? " (max_boundary_bytes lets them through)" : ""));
  }

  BottleneckSearch search(seq, stages);
  const std::uint64_t param_cap = options.max_stage_param_bytes.value_or(kUnlimited);
  if (!search.feasible(kUnlimited, param_cap, allowed)) fail_caps(search, seq, options, allowed);
  // No plan beats the total over K, nor the dearest position alone.
  const std::uint64_t total_cost = add_or_fail(seq.cost[m], seq.tail_cost);
  std::uint64_t low = total_cost / stages + (total_cost % stages != 0), high = total_cost;
  for (std::size_t j = 0; j < m; ++j) {
    low = std::max(low, seq.cost[j + 1] - seq.cost[j]);
    high = std::max(high, add_or_fail(seq.cost[m], seq.transfer[j]));
  }
  const std::uint64_t best = least_feasible(
      std::min(low, high), high, [&](std::uint64_t limit) { return search.feasible(limit, param_cap, allowed); });
  search.feasible(best, param_cap, allowed, true);
  const std::vector<std::uint32_t> ends = search.boundaries();

  // The cuts: after each boundary, the values alive there that the stage
  // before it computed (older ones cross too, but belong to earlier cuts).
  std::vector<CutPoint> cut_points;
  std::uint32_t previous_end = kNone;
  for (std::uint32_t end : ends) {
    std::vector<ValueId> values;
    for (std::uint32_t q = previous_end == kNone ? 0 : previous_end + 1; q <= end; ++q) {
      for (ValueId output : dataflow.node(seq.nodes[q]).outputs) {
        if (seq.needed_until[output] > end) values.push_back(output);
      }
    }
    cut_points.emplace_back();
    plan.cuts.push_back(describe_cut(dataflow, layers, values, cut_points.back()));
    previous_end = end;
  }

  // Stages as split_model will make them.
  const Partition partition = partition_dataflow(dataflow, cut_points);
  std::vector<char> counted(dataflow.nodes().size(), 0);
  double total = 0, heaviest_node = 0;
  for (NodeId id = 0; id < unit_cost.size(); ++id) {
    total += in_unit(unit_cost[id]);
    heaviest_node = std::max(heaviest_node, in_unit(unit_cost[id]));
  }
  for (std::size_t k = 0; k < partition.parts.size(); ++k) {
    StagePlan stage = summarize_part(dataflow, partition.parts[k], costs, times, counted);
    std::uint64_t transfer = 0;
    if (k + 1 < partition.parts.size()) {
      describe_crossing(dataflow, sizes, partition.boundary(k), plan.cuts[k]);
      if (options.bandwidth) transfer = transfer_ns(plan.cuts[k].crossing_bytes, *options.bandwidth);
    }
    stage.transfer_us = static_cast<double>(transfer) / 1000.0;
    switch (options.balance) {
      case Balance::Params:
        stage.cost = static_cast<double>(stage.param_bytes);
        break;
      case Balance::Flops:
        stage.cost = static_cast<double>(stage.macs);
        break;
      case Balance::Time:
        stage.cost = static_cast<double>(std::llround(stage.time_us * 1000.0) + transfer) / 1000.0;
        break;
    }
    plan.bottleneck = std::max(plan.bottleneck, stage.cost);
    plan.stages.push_back(std::move(stage));
  }
  plan.ideal = total / static_cast<double>(stages);
  plan.lower_bound = std::max(plan.ideal, heaviest_node);
  plan.optimal = true;

  std::vector<double> along_cost(unit_cost.size());
  for (NodeId id = 0; id < unit_cost.size(); ++id) along_cost[id] = in_unit(unit_cost[id]);
  plan.along = plan_detail::costs_along(dataflow, sizes, along_cost);
  plan.unbound_symbols = sizes.unbound();
  return plan;
}

}  // namespace modelcut
