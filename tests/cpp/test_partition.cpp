// Tests of partition_dataflow: which nodes go to which part and which values
// cross each boundary (skip connections, graph inputs and outputs passing
// through, Constant nodes copied, initializers never crossing), the strict
// chain between parts, and the cuts it refuses.
#include <gtest/gtest.h>

#include "support/graphs.h"

namespace modelcut::test {
namespace {

constexpr const char* kChain = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[N, 4] x) => (float[N, 4] y) {
    [n1] a = Relu(x)
    [n2] b = Neg(a)
    [n3] c = Abs(b)
    [n4] y = Sigmoid(c)
  }
)";

Partition partition_at(const Graph& g, const std::vector<std::string>& specs) {
  return partition_dataflow(g.dataflow, cuts_at(g.dataflow, specs));
}

std::string partition_error(const Graph& g, const std::vector<std::string>& specs) {
  return error_from([&] { partition_at(g, specs); });
}

TEST(Partition, TwoPartsOfAChain) {
  const Graph g = graph_from_text(kChain);
  const Dataflow& df = g.dataflow;
  const Partition p = partition_at(g, {"b"});
  ASSERT_EQ(p.parts.size(), 2u);
  EXPECT_EQ(node_names(df, p.parts[0].nodes), (Names{"n1", "n2"}));
  EXPECT_EQ(value_names(df, p.parts[0].inputs), (Names{"x"}));
  EXPECT_EQ(value_names(df, p.parts[0].outputs), (Names{"b"}));
  EXPECT_EQ(node_names(df, p.parts[1].nodes), (Names{"n3", "n4"}));
  EXPECT_EQ(value_names(df, p.parts[1].inputs), (Names{"b"}));
  EXPECT_EQ(value_names(df, p.parts[1].outputs), (Names{"y"}));
  EXPECT_EQ(value_names(df, p.boundary(0)), (Names{"b"}));
  EXPECT_TRUE(is_valid_chain(df, p));
}

TEST(Partition, ThreePartsOfAChain) {
  const Graph g = graph_from_text(kChain);
  const Dataflow& df = g.dataflow;
  const Partition p = partition_at(g, {"a", "c"});
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(node_names(df, p.parts[0].nodes), (Names{"n1"}));
  EXPECT_EQ(node_names(df, p.parts[1].nodes), (Names{"n2", "n3"}));
  EXPECT_EQ(node_names(df, p.parts[2].nodes), (Names{"n4"}));
  EXPECT_EQ(value_names(df, p.boundary(0)), (Names{"a"}));
  EXPECT_EQ(value_names(df, p.boundary(1)), (Names{"c"}));
  EXPECT_TRUE(is_valid_chain(df, p));
}

TEST(Partition, ANodeCutSplitsAfterTheNode) {
  const Graph g = graph_from_text(kChain);
  const Partition p = partition_at(g, {"n3"});
  EXPECT_EQ(node_names(g.dataflow, p.parts[1].nodes), (Names{"n4"}));
  EXPECT_EQ(value_names(g.dataflow, p.boundary(0)), (Names{"c"}));
}

TEST(Partition, ASkipConnectionCrossesACutInsideTheBlock) {
  // A residual block; the cut inside it leaves the skip tensor s in flight.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 4] y) {
      [stem] s = Relu(x)
      [conv1] h = Neg(s)
      [conv2] r = Abs(h)
      [add] y = Add(r, s)
    }
  )");
  const Dataflow& df = g.dataflow;
  const Partition p = partition_at(g, {"h"});
  EXPECT_EQ(node_names(df, p.parts[0].nodes), (Names{"stem", "conv1"}));
  EXPECT_EQ(node_names(df, p.parts[1].nodes), (Names{"conv2", "add"}));
  // The cut's own value first, although s is computed before it.
  EXPECT_EQ(value_names(df, p.boundary(0)), (Names{"h", "s"}));
  EXPECT_EQ(value_names(df, p.parts[1].inputs), (Names{"h", "s"}));
  EXPECT_TRUE(is_valid_chain(df, p));
}

TEST(Partition, CutValuesComeInTheOrderTheCutNamesThem) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 2] y) {
      [pre] p = Relu(x)
      [split] lo, hi = Split <axis = 1, num_outputs = 2> (p)
      [mix] m = Sub(hi, lo)
      [add] y = Add(m, p)
    }
  )");
  CutPoint cut;
  cut.spec = "hi,lo";
  cut.values = {g.value("hi"), g.value("lo")};
  const Partition p = partition_dataflow(g.dataflow, {cut});
  // The named values in the given order, then p (the other crossing value).
  EXPECT_EQ(value_names(g.dataflow, p.boundary(0)), (Names{"hi", "lo", "p"}));
  EXPECT_TRUE(is_valid_chain(g.dataflow, p));
}

TEST(Partition, AGraphInputNeededLaterPassesThroughEveryBoundary) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x, float[N, 4] mask) => (float[N, 4] y) {
      [n1] a = Relu(x)
      [n2] b = Neg(a)
      [n3] c = Abs(b)
      [n4] y = Mul(c, mask)
    }
  )");
  const Dataflow& df = g.dataflow;
  const Partition p = partition_at(g, {"a", "b"});
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(value_names(df, p.parts[0].inputs), (Names{"x", "mask"}));
  EXPECT_EQ(value_names(df, p.boundary(0)), (Names{"a", "mask"}));
  EXPECT_EQ(value_names(df, p.boundary(1)), (Names{"b", "mask"}));
  EXPECT_EQ(p.parts[1].inputs, p.parts[0].outputs);
  EXPECT_EQ(p.parts[2].inputs, p.parts[1].outputs);
  EXPECT_TRUE(is_valid_chain(df, p));
}

TEST(Partition, ASideBranchNotNeededByTheCutGoesAfterIt) {
  // The branch z depends only on x, so it is computed in the last part and x
  // crosses the cut for it.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] y, float[N] z) {
      [side] z = Exp(x)
      [n1] a = Relu(x)
      [n2] y = Neg(a)
    }
  )");
  const Partition p = partition_at(g, {"a"});
  EXPECT_EQ(node_names(g.dataflow, p.parts[0].nodes), (Names{"n1"}));
  EXPECT_EQ(node_names(g.dataflow, p.parts[1].nodes), (Names{"side", "n2"}));
  EXPECT_EQ(value_names(g.dataflow, p.boundary(0)), (Names{"a", "x"}));
  EXPECT_TRUE(is_valid_chain(g.dataflow, p));
}

TEST(Partition, AGraphOutputComputedEarlyPassesThroughToTheLastPart) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] early, float[N] y) {
      [n1] a = Relu(x)
      [n2] early = Sigmoid(a)
      [n3] b = Neg(early)
      [n4] c = Abs(b)
      [n5] y = Exp(c)
    }
  )");
  const Dataflow& df = g.dataflow;
  const Partition p = partition_at(g, {"b", "c"});
  EXPECT_EQ(node_names(df, p.parts[0].nodes), (Names{"n1", "n2", "n3"}));
  EXPECT_EQ(value_names(df, p.boundary(0)), (Names{"b", "early"}));
  EXPECT_EQ(value_names(df, p.boundary(1)), (Names{"c", "early"}));
  EXPECT_EQ(value_names(df, p.parts[2].outputs), (Names{"early", "y"}));
  EXPECT_TRUE(is_valid_chain(df, p));
}

TEST(Partition, AConstantNodeReadOnBothSidesIsCopiedNotSent) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] y) {
      [two] k = Constant <value = float {2}> ()
      [n1] a = Mul(x, k)
      [n2] b = Relu(a)
      [n3] y = Mul(b, k)
    }
  )");
  const Dataflow& df = g.dataflow;
  const Partition p = partition_at(g, {"b"});
  EXPECT_EQ(node_names(df, p.parts[0].nodes), (Names{"two", "n1", "n2"}));
  EXPECT_EQ(node_names(df, p.parts[1].nodes), (Names{"two", "n3"}));
  EXPECT_EQ(value_names(df, p.boundary(0)), (Names{"b"}));
  EXPECT_TRUE(is_valid_chain(df, p));
}

TEST(Partition, AConstantNodeGoesOnlyWhereItIsRead) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] y, float one) {
      [two] k = Constant <value = float {2}> ()
      [unused] u = Constant <value = float {3}> ()
      [returned] one = Constant <value = float {1}> ()
      [n1] a = Relu(x)
      [n2] y = Mul(a, k)
    }
  )");
  const Partition p = partition_at(g, {"a"});
  EXPECT_EQ(node_names(g.dataflow, p.parts[0].nodes), (Names{"n1"}));
  // Read after the cut, returned, or read by nobody: all in the last part.
  EXPECT_EQ(node_names(g.dataflow, p.parts[1].nodes), (Names{"two", "unused", "returned", "n2"}));
  EXPECT_EQ(value_names(g.dataflow, p.boundary(0)), (Names{"a"}));
  EXPECT_TRUE(is_valid_chain(g.dataflow, p));
}

TEST(Partition, InitializersNeverCross) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) <float[2] w = {1, 2}> {
      [n1] a = Add(x, w)
      [n2] b = Relu(a)
      [n3] y = Mul(b, w)
    }
  )");
  const Partition p = partition_at(g, {"b"});
  EXPECT_EQ(value_names(g.dataflow, p.boundary(0)), (Names{"b"}));
  EXPECT_EQ(value_names(g.dataflow, p.parts[0].inputs), (Names{"x"}));
  EXPECT_TRUE(is_valid_chain(g.dataflow, p));
}

TEST(Partition, AValueReadOnlyBySubgraphsAfterTheCutCrosses) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[2] x) => (float[2] y) {
      [n1] a = Relu(x)
      [n2] b = Neg(a)
      [if] y = If(c) <then_branch = then_g () => (float[2] t) { t = Add(a, b) },
                      else_branch = else_g () => (float[2] e) { e = Identity(b) }>
    }
  )");
  const Partition p = partition_at(g, {"b"});
  EXPECT_EQ(node_names(g.dataflow, p.parts[1].nodes), (Names{"if"}));
  EXPECT_EQ(value_names(g.dataflow, p.boundary(0)), (Names{"b", "c", "a"}));
  EXPECT_TRUE(is_valid_chain(g.dataflow, p));
}

TEST(Partition, BytesOfCrossingValues) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17, "custom" : 1]>
    g (float[N, 4] x, int64[N] ids) => (float[N, 4] y) <float[N, 4] a, int64[N] b> {
      a = Relu(x)
      b = Neg(ids)
      c = custom.Mystery(a)
      y = Add(c, a)
    }
  )");
  bool known = false;
  // float32[N,4]: 16 bytes per batch item; int64[N]: 8.
  EXPECT_EQ(bytes_of(g.dataflow, {g.value("a"), g.value("b")}, &known), 24u);
  EXPECT_TRUE(known);
  // Nothing is known of c: it counts as 0 and makes the total unknown.
  EXPECT_EQ(bytes_of(g.dataflow, {g.value("a"), g.value("c")}, &known), 16u);
  EXPECT_FALSE(known);
}

// ---- cuts that are refused -------------------------------------------------

TEST(PartitionErrors, NoCut) {
  const Graph g = graph_from_text(kChain);
  EXPECT_TRUE(mentions(partition_error(g, {}), {"no cut"}));
}

TEST(PartitionErrors, ACutThatLeavesTheLastPartEmpty) {
  const Graph g = graph_from_text(kChain);
  EXPECT_TRUE(mentions(partition_error(g, {"y"}), {"'y'", "empty"}));
  EXPECT_TRUE(mentions(partition_error(g, {"a", "n4"}), {"'n4'", "empty"}));
}

TEST(PartitionErrors, CutsOutOfOrder) {
  const Graph g = graph_from_text(kChain);
  EXPECT_TRUE(mentions(partition_error(g, {"c", "a"}), {"'a'", "is not after", "'c'"}));
  // The same cut twice is not "later" either.
  EXPECT_TRUE(mentions(partition_error(g, {"b", "b"}), {"'b'", "is not after"}));
}

TEST(PartitionErrors, ACutAtAGraphInput) {
  const Graph g = graph_from_text(kChain);
  EXPECT_TRUE(mentions(partition_error(g, {"x"}), {"'x'", "graph input"}));
}

TEST(PartitionErrors, ACutAtAStoredConstant) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) <float[2] w = {1, 2}> {
      [two] k = Constant <value = float {2}> ()
      a = Add(x, w)
      b = Mul(a, k)
      y = Relu(b)
    }
  )");
  EXPECT_TRUE(mentions(partition_error(g, {"w"}), {"'w'", "constant"}));
  EXPECT_TRUE(mentions(partition_error(g, {"k"}), {"'k'", "constant"}));
  EXPECT_TRUE(mentions(partition_error(g, {"two"}), {"'k'", "'two'", "constant"}));
}

TEST(PartitionErrors, ACutWhoseValueNothingAfterReads) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] y) {
      [n1] a = Relu(x)
      [dead] d = Neg(a)
      [n2] y = Abs(a)
    }
  )");
  EXPECT_TRUE(mentions(partition_error(g, {"d"}), {"'d'", "nothing after"}));
}

TEST(PartitionErrors, ACutNamingNoValue) {
  const Graph g = graph_from_text(kChain);
  CutPoint empty;
  empty.spec = "nothing";
  EXPECT_TRUE(mentions(error_from([&] { partition_dataflow(g.dataflow, {empty}); }), {"'nothing'", "no value"}));
}

}  // namespace
}  // namespace modelcut::test
