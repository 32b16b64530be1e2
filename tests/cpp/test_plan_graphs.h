// Graphs for the planner tests: seeded random DAGs (several graph inputs and
// outputs, skip connections, a Constant node, nodes with two outputs) with
// random costs, times and value sizes, built directly as a Dataflow, and the
// brute-force oracles the planners are checked against.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "modelcut/dataflow.h"
#include "modelcut/error.h"
#include "modelcut/partition.h"
#include "modelcut/plan.h"
#include "modelcut/resolve.h"
#include "plan/planners.h"

namespace modelcut::test {

inline TensorInfo float_tensor(std::int64_t elements) {
  TensorInfo info;
  info.known = true;
  info.dtype = "float32";
  info.element_bits = 32;
  info.has_shape = true;
  info.dims = {Dim{elements, ""}};
  return info;
}

// Adds a graph input of `elements` floats.
inline ValueId add_input(Dataflow& df, const std::string& name, std::int64_t elements) {
  const ValueId id = df.add_value(name, ValueKind::GraphInput);
  df.mutable_value(id).info = float_tensor(elements);
  df.mark_graph_input(id);
  return id;
}

// Adds a node reading the named values and writing one of `elements` floats.
inline void add_node(Dataflow& df, const std::string& name, const std::vector<std::string>& inputs,
                     const std::string& output, std::int64_t elements) {
  Node node;
  node.name = name;
  node.op = "Op";
  for (const std::string& input : inputs) node.inputs.push_back(df.value_named(input));
  node.outputs = {df.add_value(output, ValueKind::Computed)};
  df.mutable_value(node.outputs[0]).info = float_tensor(elements);
  df.add_node(std::move(node));
}

struct PlanGraph {
  Dataflow dataflow;
  std::vector<NodeCost> costs;  // by NodeId
  NodeTimes device, server;
};

// A random DAG of `node_count` computing nodes plus one Constant node. Every
// value nothing reads is a graph output, so every node is needed by one.
inline PlanGraph random_graph(unsigned seed, int node_count) {
  std::mt19937 rng(seed);
  auto uniform = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); };
  PlanGraph g;
  Dataflow& df = g.dataflow;
  g.device.source = "device.json";
  g.server.source = "server.json";
  std::vector<ValueId> available;
  const int inputs = uniform(1, 2);
  for (int i = 0; i < inputs; ++i) {
    const ValueId id = df.add_value("in" + std::to_string(i), ValueKind::GraphInput);
    df.mutable_value(id).info = float_tensor(uniform(1, 64));
    df.mark_graph_input(id);
    available.push_back(id);
  }
  std::vector<char> read;
  std::vector<NodeCost> costs;
  const int constant_at = uniform(0, node_count - 1);
  ValueId last = available.back();
  for (int i = 0; i < node_count; ++i) {
    if (i == constant_at) {
      Node constant;
      constant.name = "k";
      constant.op = "Constant";
      constant.is_constant = true;
      constant.outputs = {df.add_value("kv", ValueKind::Computed)};
      df.mutable_value(constant.outputs[0]).info = float_tensor(uniform(1, 8));
      df.add_node(std::move(constant));
      costs.push_back(NodeCost{static_cast<std::uint64_t>(uniform(0, 50)), 0, true});
      available.push_back(df.value_named("kv"));
    }
    Node node;
    node.name = "n" + std::to_string(i);
    node.op = i % 2 ? "Conv" : "Add";
    node.scope = {"block" + std::to_string(i / 3)};
    const int reads = uniform(1, 3);
    for (int r = 0; r < reads; ++r) {
      // Mostly the latest value (a chain), else any: skip connections.
      const ValueId input = uniform(0, 9) < 5 ? last : available[uniform(0, static_cast<int>(available.size()) - 1)];
      if (std::find(node.inputs.begin(), node.inputs.end(), input) == node.inputs.end()) {
        node.inputs.push_back(input);
      }
    }
    node.outputs = {df.add_value("v" + std::to_string(i), ValueKind::Computed)};
    if (uniform(0, 9) < 2) node.outputs.push_back(df.add_value("w" + std::to_string(i), ValueKind::Computed));
    for (ValueId output : node.outputs) {
      df.mutable_value(output).info = float_tensor(uniform(1, 64));
      available.push_back(output);
    }
    last = node.outputs.front();
    const double device_us = uniform(1, 4000) / 4.0;
    g.device.microseconds[node.name] = device_us;
    // Some nodes run faster on the server, some slower.
    g.server.microseconds[node.name] = device_us * uniform(1, 30) / 10.0;
    costs.push_back(
        NodeCost{static_cast<std::uint64_t>(uniform(0, 1000)), static_cast<std::uint64_t>(uniform(0, 100000)), true});
    df.add_node(std::move(node));
  }
  read.assign(df.values().size(), 0);
  for (const Node& node : df.nodes()) {
    for (ValueId input : node.inputs) read[input] = 1;
  }
  for (ValueId id = 0; id < df.values().size(); ++id) {
    if (df.value(id).kind == ValueKind::Computed && !read[id] && id != df.value_named("kv")) {
      df.mark_graph_output(id);
    }
  }
  df.build_index();
  g.costs = std::move(costs);
  return g;
}

// The cost of a node in a pipeline plan's integer unit (time in ns).
inline std::uint64_t unit_cost(const PlanGraph& g, NodeId id, Balance balance) {
  const Node& node = g.dataflow.node(id);
  switch (balance) {
    case Balance::Params:
      return g.costs[id].param_bytes;
    case Balance::Flops:
      return g.costs[id].macs;
    case Balance::Time: {
      const auto found = g.device.microseconds.find(node.name);
      return found == g.device.microseconds.end() ? 0 : std::llround(found->second * 1000.0);
    }
  }
  return 0;
}

inline std::uint64_t value_bytes(const Dataflow& df, ValueId id) { return *df.value(id).info.bytes_per_item(); }

// Brute force over the pipeline plan's search space: every choice of K-1
// positions of the planning order, each cut after the values computed
// since the previous cut that are still needed, each stage costed from the
// real partition. The least bottleneck in the plan's unit; -1 when no choice
// meets the caps.
inline double oracle_pipeline(const PlanGraph& g, const PipelineOptions& options) {
  const Dataflow& df = g.dataflow;
  const std::vector<NodeId> order = planning_order(df);
  std::vector<std::size_t> position_of(order.size());
  for (std::size_t p = 0; p < order.size(); ++p) position_of[order[p]] = p;
  const std::size_t n = order.size(), k = options.stages;
  std::vector<std::size_t> positions(k - 1);
  std::uint64_t best = UINT64_MAX;
  std::function<void(std::size_t, std::size_t)> choose = [&](std::size_t index, std::size_t from) {
    if (index == k - 1) {
      std::vector<CutPoint> cuts;
      std::size_t previous = 0;
      for (std::size_t c = 0; c < k - 1; ++c) {
        CutPoint cut;
        cut.spec = "cut" + std::to_string(c);
        for (std::size_t q = c == 0 ? 0 : previous + 1; q <= positions[c]; ++q) {
          if (df.node(order[q]).is_constant) continue;
          for (ValueId output : df.node(order[q]).outputs) {
            bool later = df.value(output).is_graph_output;
            for (NodeId reader : df.value(output).consumers) later = later || position_of[reader] > positions[c];
            if (later) cut.values.push_back(output);
          }
        }
        if (cut.values.empty()) return;
        cuts.push_back(cut);
        previous = positions[c];
      }
      Partition partition;
      try {
        partition = partition_dataflow(df, cuts);
      } catch (const Error&) {
        return;
      }
      std::vector<char> counted(df.nodes().size(), 0);
      std::uint64_t worst = 0;
      for (std::size_t part = 0; part < partition.parts.size(); ++part) {
        std::uint64_t cost = 0, params = 0;
        for (NodeId id : partition.parts[part].nodes) {
          if (counted[id]) continue;
          counted[id] = 1;
          cost += unit_cost(g, id, options.balance);
          params += g.costs[id].param_bytes;
        }
        if (part + 1 < partition.parts.size()) {
          std::uint64_t bytes = 0;
          for (ValueId id : partition.boundary(part)) bytes += value_bytes(df, id);
          if (options.max_boundary_bytes && bytes > *options.max_boundary_bytes) return;
          if (options.bandwidth) cost += plan_detail::transfer_ns(bytes, *options.bandwidth);
        }
        if (options.max_stage_param_bytes && params > *options.max_stage_param_bytes) return;
        worst = std::max(worst, cost);
      }
      best = std::min(best, worst);
      return;
    }
    for (std::size_t p = from; p + 1 < n; ++p) {
      positions[index] = p;
      choose(index + 1, p + 1);
    }
  };
  choose(0, 0);
  if (best == UINT64_MAX) return -1;
  return options.balance == Balance::Time ? static_cast<double>(best) / 1000.0 : static_cast<double>(best);
}

// Predicted latency in ns of running the computing nodes marked in
// `on_device` on the device and the rest on the server.
inline std::uint64_t latency_ns(const PlanGraph& g, const std::vector<char>& on_device, double bandwidth,
                                std::uint64_t rtt_ns) {
  const Dataflow& df = g.dataflow;
  auto ns = [](const NodeTimes& times, const std::string& name) {
    const auto found = times.microseconds.find(name);
    return found == times.microseconds.end() ? 0 : static_cast<std::uint64_t>(std::llround(found->second * 1000.0));
  };
  std::uint64_t total = 0;
  bool server_used = false;
  for (NodeId id = 0; id < df.nodes().size(); ++id) {
    if (df.node(id).is_constant) continue;
    total += on_device[id] ? ns(g.device, df.node(id).name) : ns(g.server, df.node(id).name);
    server_used = server_used || !on_device[id];
  }
  for (ValueId id = 0; id < df.values().size(); ++id) {
    const Value& value = df.value(id);
    bool device_has = true;  // graph inputs start on the device
    if (value.kind == ValueKind::Constant) continue;
    if (value.kind == ValueKind::Computed) {
      if (df.node(value.producer).is_constant) continue;  // copied where read
      device_has = on_device[value.producer];
    }
    bool server_reads = false;
    for (NodeId reader : value.consumers)
      server_reads = server_reads || (!df.node(reader).is_constant && !on_device[reader]);
    if (device_has && server_reads) total += plan_detail::transfer_ns(value_bytes(df, id), bandwidth);
    if (!device_has && value.is_graph_output) total += plan_detail::transfer_ns(value_bytes(df, id), bandwidth);
  }
  return total + (server_used ? rtt_ns : 0);
}

// Brute force over every device part closed under predecessors.
inline std::uint64_t oracle_device_server(const PlanGraph& g, double bandwidth, std::uint64_t rtt_ns) {
  const Dataflow& df = g.dataflow;
  std::vector<NodeId> computing;
  for (NodeId id = 0; id < df.nodes().size(); ++id) {
    if (!df.node(id).is_constant) computing.push_back(id);
  }
  std::uint64_t best = UINT64_MAX;
  for (std::uint64_t mask = 0; mask < (std::uint64_t{1} << computing.size()); ++mask) {
    std::vector<char> on_device(df.nodes().size(), 0);
    for (std::size_t i = 0; i < computing.size(); ++i) on_device[computing[i]] = (mask >> i) & 1;
    bool closed = true;
    for (NodeId id : computing) {
      if (!on_device[id]) continue;
      for (ValueId input : df.node(id).inputs) {
        const NodeId producer = df.value(input).producer;
        if (producer != kNoNode && !df.node(producer).is_constant && !on_device[producer]) closed = false;
      }
    }
    if (closed) best = std::min(best, latency_ns(g, on_device, bandwidth, rtt_ns));
  }
  return best;
}

}  // namespace modelcut::test
