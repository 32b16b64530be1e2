// The device/server planner: which nodes run on the device and which on the
// server so that the predicted end-to-end latency is least,
//   device time(A) + (bytes sent A -> B + graph outputs computed in B, sent
//   back) / bandwidth + server time(B) + rtt (when B is not empty),
// over ALL valid 2-way partitions: A (the device part) closed under
// predecessors; graph inputs start on the device.
//
// Solved exactly as a minimum s-t cut (as DADS does): s = device side, t =
// server side; a node pays its server time on s->node and its device time on
// node->t; an infinite edge reader->producer forbids a server node feeding a
// device node; each value sent over the link gets one auxiliary vertex, so
// that it is paid once however many server nodes read it. Capacities are
// integer nanoseconds; the cut is found by push-relabel (plan/min_cut.h).
// The round trip is added to the best cut and compared with running on the
// device alone. Nodes that no graph output needs are left out (split puts
// them in the last part); Constant nodes are free (copied where read).
#include <algorithm>
#include <cmath>
#include <map>

#include "modelcut/error.h"
#include "plan/min_cut.h"
#include "plan/planners.h"
#include "util/checked_math.h"

namespace modelcut {
namespace {

using namespace plan_detail;

// A placement at one bandwidth.
struct Placement {
  std::vector<char> on_device;  // per NodeId, for live nodes
  std::uint64_t latency_ns = 0;
  std::uint64_t upload_bytes = 0, return_bytes = 0;
  std::vector<ValueId> cut_values;  // computed on the device, read on the server or graph outputs
  std::string kind;                 // "device only", "server only" or "split"
};

class PlacementProblem {
 public:
  PlacementProblem(const Dataflow& dataflow, const DimSizes& sizes, const std::vector<std::uint64_t>& device,
                   const std::vector<std::uint64_t>& server, std::uint64_t rtt_ns)
      : dataflow_(dataflow), device_(device), server_(server), rtt_ns_(rtt_ns), live_(find_live_nodes(dataflow)) {
    bytes_.resize(dataflow.values().size(), 0);
    for (ValueId id = 0; id < dataflow.values().size(); ++id) {
      const auto bytes = sizes.bytes(dataflow.value(id).info);
      if (bytes) bytes_[id] = *bytes;
      if (!bytes && can_travel(id)) ++unknown_sizes_;
    }
  }

  std::size_t unknown_sizes() const { return unknown_sizes_; }
  bool is_live(NodeId id) const { return live_[id] != 0; }

  Placement solve(double bandwidth) const {
    const auto& nodes = dataflow_.nodes();
    const auto& values = dataflow_.values();
    constexpr std::uint32_t s = 0, t = 1;
    std::vector<std::uint32_t> vertex(nodes.size(), 0);
    std::uint32_t count = 2;
    for (NodeId id = 0; id < nodes.size(); ++id) {
      if (live_[id]) vertex[id] = count++;
    }
    // Capacities first, to size "infinite" above any finite cut.
    std::uint64_t finite = 0;
    auto add = [&](std::uint64_t capacity) {
      const auto sum = checked_add(finite, capacity);
      if (!sum) fail("the profiles' times and transfer times add up to more than 2^64 ns");
      finite = *sum;
      return capacity;
    };
    struct Pending {
      std::uint32_t from, to;
      std::uint64_t capacity;
      bool infinite;
    };
    std::vector<Pending> edges;
    std::uint64_t device_only = 0;
    for (NodeId id = 0; id < nodes.size(); ++id) {
      if (!live_[id]) continue;
      std::uint64_t to_server = server_[id];
      for (ValueId output : nodes[id].outputs) {
        if (values[output].is_graph_output) to_server = add_or_max(to_server, transfer_ns(bytes_[output], bandwidth));
      }
      edges.push_back({s, vertex[id], add(to_server), false});
      edges.push_back({vertex[id], t, add(device_[id]), false});
      device_only += device_[id];
      for (ValueId input : nodes[id].inputs) {
        const NodeId producer = values[input].producer;
        if (producer != kNoNode && live_[producer]) edges.push_back({vertex[id], vertex[producer], 0, true});
      }
    }
    // Nodes that must stay together are chained both ways with infinite
    // edges: no finite cut separates them.
    std::map<std::uint32_t, NodeId> group_member;
    for (NodeId id = 0; id < nodes.size(); ++id) {
      if (!live_[id] || nodes[id].keep_together == 0) continue;
      auto [it, added] = group_member.emplace(nodes[id].keep_together, id);
      if (added) continue;
      edges.push_back({vertex[id], vertex[it->second], 0, true});
      edges.push_back({vertex[it->second], vertex[id], 0, true});
    }
    for (ValueId id = 0; id < values.size(); ++id) {
      if (!can_travel(id)) continue;
      const std::uint64_t capacity = transfer_ns(bytes_[id], bandwidth);
      if (capacity == 0) continue;
      const std::uint32_t aux = count++;
      const NodeId producer = values[id].producer;
      edges.push_back({producer == kNoNode ? s : vertex[producer], aux, add(capacity), false});
      for (NodeId reader : values[id].consumers) {
        if (live_[reader]) edges.push_back({aux, vertex[reader], 0, true});
      }
    }
    const auto infinite = checked_add(finite, 1);
    if (!infinite) fail("the profiles' times and transfer times add up to more than 2^64 ns");
    MinCut min_cut(count);
    for (const Pending& edge : edges) min_cut.add_edge(edge.from, edge.to, edge.infinite ? *infinite : edge.capacity);
    const std::uint64_t cut = min_cut.run(s, t);
    const std::vector<char> side = min_cut.source_side();

    Placement placement;
    placement.on_device.assign(nodes.size(), 0);
    std::size_t on_device = 0, live = 0;
    for (NodeId id = 0; id < nodes.size(); ++id) {
      if (!live_[id]) continue;
      ++live;
      placement.on_device[id] = side[vertex[id]];
      on_device += side[vertex[id]];
    }
    // The cut never pays the round trip; device-only never needs it.
    const std::uint64_t split = add_or_max(cut, rtt_ns_);
    if (on_device == live || device_only <= split) {
      std::fill(placement.on_device.begin(), placement.on_device.end(), 0);
      for (NodeId id = 0; id < nodes.size(); ++id) placement.on_device[id] = live_[id];
      placement.latency_ns = device_only;
      placement.kind = "device only";
    } else {
      placement.latency_ns = split;
      placement.kind = on_device == 0 ? "server only" : "split";
    }
    account_transfers(placement);
    return placement;
  }

 private:
  static std::uint64_t add_or_max(std::uint64_t a, std::uint64_t b) {
    const auto sum = checked_add(a, b);
    return sum ? *sum : UINT64_MAX;
  }

  // Graph inputs and values computed by live nodes may cross the link.
  bool can_travel(ValueId id) const {
    const Value& value = dataflow_.value(id);
    if (value.kind == ValueKind::GraphInput) return true;
    return value.kind == ValueKind::Computed && live_[value.producer];
  }

  // What crosses the link, and the cut's values, for a placement.
  void account_transfers(Placement& placement) const {
    const auto& values = dataflow_.values();
    for (NodeId id : dataflow_.topological_order()) {
      if (!live_[id] || !placement.on_device[id]) continue;
      for (ValueId output : dataflow_.node(id).outputs) {
        if (read_on_server(output, placement) || values[output].is_graph_output) {
          placement.cut_values.push_back(output);
        }
      }
    }
    for (ValueId id = 0; id < values.size(); ++id) {
      if (!can_travel(id)) continue;
      const bool on_device = values[id].kind == ValueKind::GraphInput || placement.on_device[values[id].producer];
      if (on_device && read_on_server(id, placement)) placement.upload_bytes += bytes_[id];
      if (!on_device && values[id].is_graph_output) placement.return_bytes += bytes_[id];
    }
  }

  bool read_on_server(ValueId id, const Placement& placement) const {
    for (NodeId reader : dataflow_.value(id).consumers) {
      if (live_[reader] && !placement.on_device[reader]) return true;
    }
    return false;
  }

  const Dataflow& dataflow_;
  const std::vector<std::uint64_t>& device_;
  const std::vector<std::uint64_t>& server_;
  std::uint64_t rtt_ns_;
  std::vector<char> live_;
  std::vector<std::uint64_t> bytes_;
  std::size_t unknown_sizes_ = 0;
};

std::vector<double> default_sweep(double bandwidth) {
  // 1/100x to 100x in steps of sqrt(10) (about x3).
  std::vector<double> sweep;
  for (int step = -4; step <= 4; ++step) sweep.push_back(bandwidth * std::pow(10.0, step / 2.0));
  return sweep;
}

}  // namespace

Plan plan_device_server(const Dataflow& dataflow, const LayerIndex& layers, const std::vector<NodeCost>& costs,
                        const DimSizes& sizes, const DeviceServerOptions& options) {
  check_bandwidth(options.bandwidth, "bandwidth");
  if (!std::isfinite(options.rtt) || options.rtt < 0 || options.rtt > 1e6) {
    fail("the round-trip time must be a non-negative number of seconds, not ", options.rtt);
  }
  for (double bandwidth : options.sweep_bandwidths) check_bandwidth(bandwidth, "bandwidth of the sweep");

  Plan plan;
  plan.kind = "device-server";
  plan.objective = "latency";
  plan.cost_unit = "us";
  const auto device = node_times_ns(dataflow, options.device, plan.warnings);
  const auto server = node_times_ns(dataflow, options.server, plan.warnings);
  warn_unknown_macs(dataflow, costs, plan.warnings);
  const auto rtt_ns = static_cast<std::uint64_t>(std::llround(options.rtt * 1e9));
  const PlacementProblem problem(dataflow, sizes, device, server, rtt_ns);
  std::size_t dead = 0;
  for (NodeId id = 0; id < dataflow.nodes().size(); ++id) {
    if (!dataflow.node(id).is_constant && !problem.is_live(id)) ++dead;
  }
  if (dead > 0) {
    plan.warnings.push_back(std::to_string(dead) +
                            " node(s) compute nothing that a graph output needs; they are left out of the latency");
  }
  if (problem.unknown_sizes() > 0) {
    plan.warnings.push_back(std::to_string(problem.unknown_sizes()) +
                            " value(s) that may cross the link have an unknown size, counted as 0 bytes");
  }

  const Placement best = problem.solve(options.bandwidth);
  plan.placement = best.kind;
  plan.latency_s = static_cast<double>(best.latency_ns) / 1e9;

  // The stages as split_model makes them (one part for device or server only).
  std::vector<char> counted(dataflow.nodes().size(), 0);
  StagePlan device_stage, server_stage;
  if (best.kind == "split") {
    CutPoint cut;
    plan.cuts.push_back(describe_cut(dataflow, layers, best.cut_values, cut));
    const Partition partition = partition_dataflow(dataflow, {cut});
    describe_crossing(dataflow, sizes, partition.boundary(0), plan.cuts.back());
    device_stage = summarize_part(dataflow, partition.parts[0], costs, device, counted);
    server_stage = summarize_part(dataflow, partition.parts[1], costs, server, counted);
  } else {
    Part whole;
    whole.nodes = dataflow.topological_order();
    StagePlan& stage = best.kind == "device only" ? device_stage : server_stage;
    stage = summarize_part(dataflow, whole, costs, best.kind == "device only" ? device : server, counted);
  }
  device_stage.transfer_us = static_cast<double>(transfer_ns(best.upload_bytes, options.bandwidth)) / 1000.0;
  server_stage.transfer_us = static_cast<double>(transfer_ns(best.return_bytes, options.bandwidth)) / 1000.0;
  for (StagePlan* stage : {&device_stage, &server_stage}) stage->cost = stage->time_us + stage->transfer_us;
  plan.stages = {device_stage, server_stage};

  for (double bandwidth :
       options.sweep_bandwidths.empty() ? default_sweep(options.bandwidth) : options.sweep_bandwidths) {
    const Placement row = problem.solve(bandwidth);
    BandwidthRow entry;
    entry.bandwidth = bandwidth;
    entry.latency_s = static_cast<double>(row.latency_ns) / 1e9;
    entry.placement = row.kind;
    if (row.kind == "split") {
      for (ValueId id : row.cut_values) entry.cut_values.push_back(dataflow.value(id).name);
    }
    entry.crossing_bytes = row.upload_bytes;
    plan.sweep.push_back(std::move(entry));
  }

  std::vector<double> along_cost(dataflow.nodes().size());
  for (NodeId id = 0; id < along_cost.size(); ++id) along_cost[id] = static_cast<double>(device[id]) / 1000.0;
  plan.along = costs_along(dataflow, sizes, along_cost);
  plan.optimal = true;
  plan.unbound_symbols = sizes.unbound();
  return plan;
}

}  // namespace modelcut
