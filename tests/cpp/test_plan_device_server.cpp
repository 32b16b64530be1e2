// Tests of the device/server planner: on seeded random DAGs its latency
// equals brute force over every device part closed under predecessors; on a
// chain whose activations shrink, the cut moves earlier as the link gets
// faster, and is the brute-force optimum at every bandwidth; its cuts split.
#include <gtest/gtest.h>

#include "support/graphs.h"
#include "test_plan_graphs.h"

namespace modelcut::test {
namespace {

Plan plan_of(const PlanGraph& g, const DeviceServerOptions& options) {
  const LayerIndex layers(g.dataflow);
  const DimSizes sizes(g.dataflow, options.dims);
  return plan_device_server(g.dataflow, layers, g.costs, sizes, options);
}

DeviceServerOptions options_for(const PlanGraph& g, double bandwidth, double rtt) {
  DeviceServerOptions options;
  options.device = g.device;
  options.server = g.server;
  options.bandwidth = bandwidth;
  options.rtt = rtt;
  return options;
}

// The device part split_model makes of the plan's cut, as a NodeId mask.
std::vector<char> device_part(const PlanGraph& g, const Plan& plan) {
  std::vector<char> on_device(g.dataflow.nodes().size(), plan.placement == "device only");
  if (plan.placement != "split") return on_device;
  EXPECT_EQ(plan.cuts.size(), 1u);
  const Partition partition = partition_dataflow(g.dataflow, cuts_at(g.dataflow, {plan.cuts[0].spec}));
  EXPECT_TRUE(is_valid_chain(g.dataflow, partition));
  for (NodeId id : partition.parts[0].nodes) on_device[id] = 1;
  return on_device;
}

TEST(PlanDeviceServer, EqualsBruteForceOnRandomGraphs) {
  int splits = 0;
  for (unsigned seed = 1; seed <= 80; ++seed) {
    const PlanGraph g = random_graph(seed, 5 + static_cast<int>(seed % 7));
    const double bandwidth = std::pow(10.0, 5 + seed % 3);
    const double rtt = seed % 3 == 0 ? 0.0 : 0.0001;
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Plan plan = plan_of(g, options_for(g, bandwidth, rtt));
    const std::uint64_t rtt_ns = std::llround(rtt * 1e9);
    const std::uint64_t best = oracle_device_server(g, bandwidth, rtt_ns);
    EXPECT_NEAR(plan.latency_s, static_cast<double>(best) / 1e9, 1e-12);
    // The placement split_model makes of the plan has that latency.
    EXPECT_EQ(latency_ns(g, device_part(g, plan), bandwidth, rtt_ns), best);
    EXPECT_EQ(plan.stages.size(), 2u);
    EXPECT_FALSE(plan.sweep.empty());
    splits += plan.placement == "split";
  }
  EXPECT_GT(splits, 10);  // (the chain below has the other placements win)
}

// A chain whose values shrink: a slow device, a server ten times faster.
PlanGraph shrinking_chain(unsigned seed) {
  std::mt19937 rng(seed);
  PlanGraph g;
  Dataflow& df = g.dataflow;
  ValueId previous = df.add_value("x", ValueKind::GraphInput);
  df.mutable_value(previous).info = float_tensor(100000);
  df.mark_graph_input(previous);
  std::int64_t elements = 100000;
  for (int i = 0; i < 9; ++i) {
    Node node;
    node.name = "n" + std::to_string(i);
    node.op = "Conv";
    node.inputs = {previous};
    node.outputs = {df.add_value("v" + std::to_string(i), ValueKind::Computed)};
    elements = elements * 2 / 5 + 1;
    df.mutable_value(node.outputs[0]).info = float_tensor(elements);
    previous = node.outputs[0];
    const double device_us = 1000 + static_cast<double>(rng() % 9000);
    g.device.microseconds[node.name] = device_us;
    g.server.microseconds[node.name] = device_us / 10;
    df.add_node(std::move(node));
    g.costs.push_back(NodeCost{});
  }
  df.mark_graph_output(previous);
  df.build_index();
  return g;
}

TEST(PlanDeviceServer, TheCutMovesEarlierAsTheLinkGetsFaster) {
  for (unsigned seed = 1; seed <= 10; ++seed) {
    const PlanGraph g = shrinking_chain(seed);
    std::size_t device_nodes = SIZE_MAX;
    std::set<std::string> placements;
    for (double bandwidth = 1e4; bandwidth <= 1e11; bandwidth *= 2) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", bandwidth " + std::to_string(bandwidth));
      const Plan plan = plan_of(g, options_for(g, bandwidth, 0.001));
      const std::uint64_t best = oracle_device_server(g, bandwidth, 1000000);
      EXPECT_NEAR(plan.latency_s, static_cast<double>(best) / 1e9, 1e-12);
      const std::vector<char> on_device = device_part(g, plan);
      const auto count = static_cast<std::size_t>(std::count(on_device.begin(), on_device.end(), 1));
      EXPECT_LE(count, device_nodes);
      device_nodes = count;
      placements.insert(plan.placement);
    }
    // From keeping everything on the device to sending the input away.
    EXPECT_TRUE(placements.count("device only"));
    EXPECT_TRUE(placements.count("server only"));
  }
}

TEST(PlanDeviceServer, TheSweepIsTheBestPlanAtEachBandwidth) {
  const PlanGraph g = shrinking_chain(3);
  DeviceServerOptions options = options_for(g, 1e6, 0.001);
  const Plan plan = plan_of(g, options);
  ASSERT_EQ(plan.sweep.size(), 9u);  // 1/100x to 100x
  EXPECT_DOUBLE_EQ(plan.sweep.front().bandwidth, 1e4);
  EXPECT_DOUBLE_EQ(plan.sweep.back().bandwidth, 1e8);
  for (const BandwidthRow& row : plan.sweep) {
    const Plan at = plan_of(g, options_for(g, row.bandwidth, 0.001));
    EXPECT_EQ(row.latency_s, at.latency_s);
    EXPECT_EQ(row.placement, at.placement);
    EXPECT_EQ(row.cut_values, at.cuts.empty() ? Names{} : at.cuts[0].values);
  }
  options.sweep_bandwidths = {1e5, 1e9};
  EXPECT_EQ(plan_of(g, options).sweep.size(), 2u);
}

TEST(PlanDeviceServer, SeveralValuesCrossOnABranchingGraph) {
  // Two cheap branches that shrink the input, then a join that is slow on
  // the device: the best cut sends both branch outputs.
  PlanGraph g;
  add_input(g.dataflow, "x", 1000);
  add_node(g.dataflow, "stem", {"x"}, "s", 1000);
  add_node(g.dataflow, "a1", {"s"}, "p", 1);
  add_node(g.dataflow, "b1", {"s"}, "q", 1);
  add_node(g.dataflow, "join", {"p", "q"}, "y", 2);
  g.dataflow.mark_graph_output(g.dataflow.value_named("y"));
  g.dataflow.build_index();
  g.costs.assign(4, NodeCost{});
  g.device = NodeTimes{"d", {{"stem", 10}, {"a1", 10}, {"b1", 10}, {"join", 5000}}};
  g.server = NodeTimes{"s", {{"stem", 1}, {"a1", 1}, {"b1", 1}, {"join", 10}}};
  const Plan plan = plan_of(g, options_for(g, 1e6, 0));
  EXPECT_EQ(plan.placement, "split");
  ASSERT_EQ(plan.cuts.size(), 1u);
  EXPECT_EQ(plan.cuts[0].spec, "tensors:p,q");
  EXPECT_EQ(plan.cuts[0].crossing_bytes, 8u);
  EXPECT_EQ(latency_ns(g, device_part(g, plan), 1e6, 0), oracle_device_server(g, 1e6, 0));
}

TEST(PlanDeviceServer, ErrorsSayWhatIsWrong) {
  const PlanGraph g = shrinking_chain(1);
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options_for(g, 0, 0)); }), {"bandwidth", "positive"}));
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options_for(g, NAN, 0)); }), {"bandwidth"}));
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options_for(g, 1e6, -1)); }), {"round-trip time"}));
}

}  // namespace
}  // namespace modelcut::test
