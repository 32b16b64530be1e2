// Tests of the pipeline planner: on seeded random DAGs its bottleneck equals
// brute force over every choice of K-1 positions of the topological order
// (its search space), by parameters, MACs and time, with transfer time and
// with caps; its cuts resolve and split as planned; its errors.
#include <gtest/gtest.h>

#include "support/graphs.h"
#include "test_plan_graphs.h"

namespace modelcut::test {
namespace {

Plan plan_of(const PlanGraph& g, const PipelineOptions& options) {
  const LayerIndex layers(g.dataflow);
  const DimSizes sizes(g.dataflow, options.dims);
  return plan_pipeline(g.dataflow, layers, g.costs, sizes, options);
}

// The plan's cuts, resolved by name as split_model will, partition validly
// into the plan's stages, with the crossing values the plan reports.
void expect_plan_splits(const PlanGraph& g, const Plan& plan) {
  std::vector<std::string> specs;
  for (const PlanCut& cut : plan.cuts) specs.push_back(cut.spec);
  const Partition partition = partition_dataflow(g.dataflow, cuts_at(g.dataflow, specs));
  EXPECT_TRUE(is_valid_chain(g.dataflow, partition));
  ASSERT_EQ(partition.parts.size(), plan.stages.size());
  for (std::size_t k = 0; k < plan.cuts.size(); ++k) {
    EXPECT_EQ(value_names(g.dataflow, partition.boundary(k)).size(), plan.cuts[k].crossing.size());
    std::uint64_t bytes = 0;
    for (ValueId id : partition.boundary(k)) bytes += value_bytes(g.dataflow, id);
    EXPECT_EQ(plan.cuts[k].crossing_bytes, bytes);
  }
  for (std::size_t k = 0; k < plan.stages.size(); ++k) {
    EXPECT_EQ(plan.stages[k].node_count, partition.parts[k].nodes.size());
  }
}

TEST(PlanPipeline, EqualsBruteForceOnRandomGraphs) {
  for (unsigned seed = 1; seed <= 60; ++seed) {
    const PlanGraph g = random_graph(seed, 5 + static_cast<int>(seed % 7));
    for (std::size_t stages : {2u, 3u}) {
      for (Balance balance : {Balance::Params, Balance::Flops, Balance::Time}) {
        PipelineOptions options;
        options.stages = stages;
        options.balance = balance;
        options.times = g.device;
        if (balance == Balance::Time && seed % 2 == 0) options.bandwidth = 1e6 * (seed % 5 + 1);
        SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(stages) + " stages by " +
                     to_string(balance));
        const Plan plan = plan_of(g, options);
        EXPECT_EQ(plan.bottleneck, oracle_pipeline(g, options));
        EXPECT_EQ(plan.stages.size(), stages);
        EXPECT_TRUE(plan.optimal);
        EXPECT_LE(plan.lower_bound, plan.bottleneck);
        double worst = 0;
        for (const StagePlan& stage : plan.stages) worst = std::max(worst, stage.cost);
        EXPECT_EQ(worst, plan.bottleneck);
        EXPECT_EQ(plan.along.size(), g.dataflow.nodes().size());
        expect_plan_splits(g, plan);
      }
    }
  }
}

TEST(PlanPipeline, CapsAreHonouredAndEqualBruteForce) {
  int planned = 0, refused = 0;
  for (unsigned seed = 100; seed < 160; ++seed) {
    const PlanGraph g = random_graph(seed, 6 + static_cast<int>(seed % 5));
    PipelineOptions options;
    options.stages = 2 + seed % 2;
    options.balance = seed % 3 == 0 ? Balance::Flops : Balance::Params;
    std::uint64_t total_params = 0;
    for (const NodeCost& cost : g.costs) total_params += cost.param_bytes;
    if (seed % 2 == 0) options.max_stage_param_bytes = total_params * (seed % 5 + 2) / 10;
    if (seed % 3 != 1) options.max_boundary_bytes = 40 + seed % 7 * 20;
    SCOPED_TRACE("seed " + std::to_string(seed));
    const double expected = oracle_pipeline(g, options);
    if (expected < 0) {
      const std::string message = error_from([&] { plan_of(g, options); });
      EXPECT_TRUE(message.find("max_stage_param_bytes") != std::string::npos ||
                  message.find("max_boundary_bytes") != std::string::npos)
          << message;
      ++refused;
      continue;
    }
    const Plan plan = plan_of(g, options);
    EXPECT_EQ(plan.bottleneck, expected);
    for (const StagePlan& stage : plan.stages) {
      if (options.max_stage_param_bytes) EXPECT_LE(stage.param_bytes, *options.max_stage_param_bytes);
    }
    for (const PlanCut& cut : plan.cuts) {
      if (options.max_boundary_bytes) EXPECT_LE(cut.crossing_bytes, *options.max_boundary_bytes);
    }
    expect_plan_splits(g, plan);
    ++planned;
  }
  // Both outcomes were exercised.
  EXPECT_GT(planned, 10);
  EXPECT_GT(refused, 3);
}

constexpr const char* kResidual = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[1, 4] x) => (float[1, 4] y) {
    [stem] s = Relu(x)
    [conv1] h = Neg(s)
    [conv2] r = Abs(h)
    [add] y = Add(r, s)
  }
)";

PlanGraph from_text(const char* text, std::vector<std::uint64_t> params) {
  Graph parsed = graph_from_text(text);
  PlanGraph g;
  g.dataflow = std::move(parsed.dataflow);
  for (std::uint64_t bytes : params) g.costs.push_back(NodeCost{bytes, 0, true});
  return g;
}

TEST(PlanPipeline, CutsInsideAResidualBlockWhereTwoValuesCross) {
  // Heavy conv1 and conv2: the balanced cut lies between them, where both h
  // and the skip s cross.
  const PlanGraph g = from_text(kResidual, {1, 100, 100, 1});
  PipelineOptions options;
  options.stages = 2;
  const Plan plan = plan_of(g, options);
  ASSERT_EQ(plan.cuts.size(), 1u);
  EXPECT_EQ(plan.cuts[0].spec, "tensors:s,h");
  EXPECT_EQ(plan.cuts[0].values, (Names{"s", "h"}));
  EXPECT_EQ(plan.cuts[0].crossing_bytes, 32u);
  EXPECT_EQ(plan.bottleneck, 101);
  EXPECT_EQ(plan.stages[0].first_layer, "stem");
  EXPECT_EQ(plan.stages[1].last_layer, "add");
  expect_plan_splits(g, plan);
}

TEST(PlanPipeline, ABoundaryCapMovesTheCutToWhereOneValueCrosses) {
  const PlanGraph g = from_text(kResidual, {1, 100, 100, 1});
  PipelineOptions options;
  options.stages = 2;
  options.max_boundary_bytes = 16;
  const Plan plan = plan_of(g, options);
  EXPECT_EQ(plan.cuts[0].spec, "s");
  EXPECT_EQ(plan.bottleneck, 201);
}

TEST(PlanPipeline, ADeadNodeCountsInTheLastStage) {
  // n_dead reads a but feeds no output: split puts it in the last part.
  const PlanGraph g = from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1, 4] x) => (float[1, 4] y) {
      [n1] a = Relu(x)
      [n_dead] d = Neg(a)
      [n2] b = Abs(a)
      [n3] y = Sigmoid(b)
    }
  )",
                                {10, 7, 10, 1});
  PipelineOptions options;
  options.stages = 2;
  const Plan plan = plan_of(g, options);
  EXPECT_EQ(plan.cuts[0].spec, "a");
  EXPECT_EQ(plan.stages[1].param_bytes, 18u);
  EXPECT_EQ(plan.bottleneck, 18);
  expect_plan_splits(g, plan);
}

TEST(PlanPipeline, ErrorsSayWhatIsWrong) {
  const PlanGraph g = from_text(kResidual, {1, 100, 100, 1});
  PipelineOptions options;
  options.stages = 1;
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options); }), {"at least 2 stages"}));
  options.stages = 5;
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options); }), {"at most 4 stages, not 5"}));
  options.stages = 2;
  options.balance = Balance::Time;
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options); }), {"needs a profile", "modelcut profile"}));
  options.balance = Balance::Params;
  options.bandwidth = 1e6;
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options); }), {"balancing by time"}));
  options.bandwidth.reset();
  options.max_stage_param_bytes = 100;
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options); }),
                       {"max_stage_param_bytes = 100 bytes", "least achievable is 101 bytes"}));
  options.max_stage_param_bytes.reset();
  options.max_boundary_bytes = 8;
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options); }),
                       {"max_boundary_bytes = 8 bytes", "least achievable is 16 bytes"}));
}

TEST(PlanPipeline, ProfileNamesAreCheckedAgainstTheModel) {
  const PlanGraph g = from_text(kResidual, {1, 100, 100, 1});
  PipelineOptions options;
  options.balance = Balance::Time;
  options.times = NodeTimes{"'t.json'", {{"stem", 5}, {"conv1", 50}, {"conv2", 40}, {"other", 1}}};
  const Plan plan = plan_of(g, options);
  ASSERT_EQ(plan.warnings.size(), 2u);
  EXPECT_TRUE(mentions(plan.warnings[0], {"'t.json'", "1 node(s) the model does not have", "'other'"}));
  EXPECT_TRUE(mentions(plan.warnings[1], {"no time for 1 node(s)", "'add'"}));
  EXPECT_EQ(plan.cost_unit, "us");
  EXPECT_EQ(plan.bottleneck, 55);
  options.times->microseconds["stem"] = -1;
  EXPECT_TRUE(mentions(error_from([&] { plan_of(g, options); }), {"'stem'", "non-negative"}));
}

TEST(PlanPipeline, TwentyThousandNodeChainPlansExactly) {
  // Not timed here (the benchmark does that); big enough that a quadratic
  // search would show.
  PlanGraph g;
  Dataflow& df = g.dataflow;
  ValueId previous = df.add_value("x", ValueKind::GraphInput);
  df.mutable_value(previous).info = float_tensor(16);
  df.mark_graph_input(previous);
  constexpr int kNodes = 20000;
  for (int i = 0; i < kNodes; ++i) {
    Node node;
    node.name = "n" + std::to_string(i);
    node.op = "Relu";
    node.inputs = {previous};
    node.outputs = {df.add_value("v" + std::to_string(i), ValueKind::Computed)};
    df.mutable_value(node.outputs[0]).info = float_tensor(16);
    previous = node.outputs[0];
    df.add_node(std::move(node));
    g.costs.push_back(NodeCost{static_cast<std::uint64_t>(i % 10 + 1), 0, true});
  }
  df.mark_graph_output(previous);
  df.build_index();
  PipelineOptions options;
  options.stages = 8;
  const Plan plan = plan_of(g, options);
  // 110000 bytes in all: 13750 per stage is reachable exactly, in whole
  // decades of 55.
  EXPECT_EQ(plan.bottleneck, 13750);
  EXPECT_EQ(plan.ideal, 13750);
}

}  // namespace
}  // namespace modelcut::test
