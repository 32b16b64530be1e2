// Tests of find_single_value_cuts: on hand-written graphs, what it finds and
// why; then the same answer as the algorithm it replaced (a sweep confirmed
// by running partition_dataflow once per candidate, kept here as the
// reference) on text graphs and on many seeded random dataflows.
#include <gtest/gtest.h>

#include <random>

#include "support/graphs.h"

namespace modelcut::test {
namespace {

using Cuts = std::vector<std::pair<ValueId, std::vector<ValueId>>>;

Cuts found_cuts(const Dataflow& dataflow) {
  Cuts cuts;
  for (const SingleValueCut& cut : find_single_value_cuts(dataflow)) cuts.emplace_back(cut.value, cut.crossing);
  return cuts;
}

// The algorithm inspect used before: positions where exactly one computed
// value is alive, each confirmed by partitioning the whole graph there.
// Quadratic, and the definition of the right answer. `refused` counts the
// positions the sweep found that the partition turned down: [0] with an
// error, [1] for sending other computed values across.
Cuts reference_cuts(const Dataflow& dataflow, std::size_t* refused = nullptr) {
  std::size_t ignored[2] = {0, 0};
  if (refused == nullptr) refused = ignored;
  const auto& order = dataflow.topological_order();
  std::vector<std::uint32_t> last_read(dataflow.values().size(), 0);
  for (ValueId id = 0; id < dataflow.values().size(); ++id) {
    const Value& value = dataflow.value(id);
    if (value.is_graph_output) last_read[id] = static_cast<std::uint32_t>(order.size());
    for (NodeId consumer : value.consumers) last_read[id] = std::max(last_read[id], dataflow.position_of(consumer));
  }
  Cuts cuts;
  std::set<ValueId> alive;
  for (std::uint32_t position = 0; position + 1 < order.size(); ++position) {
    const Node& node = dataflow.node(order[position]);
    if (node.is_constant) continue;
    for (ValueId output : node.outputs) alive.insert(output);
    for (auto it = alive.begin(); it != alive.end();) it = last_read[*it] <= position ? alive.erase(it) : std::next(it);
    if (alive.size() != 1 || node.outputs.size() != 1 || *alive.begin() != node.outputs.front()) continue;
    const ValueId candidate = *alive.begin();
    const std::string& name = dataflow.value(candidate).name;
    Partition partition;
    try {
      partition = partition_dataflow(dataflow, {CutPoint{name, CutPoint::Kind::Tensor, name, {candidate}}});
    } catch (const Error&) {
      ++refused[0];
      continue;
    }
    const auto& crossing = partition.boundary(0);
    const bool only_candidate = std::all_of(crossing.begin(), crossing.end(), [&](ValueId id) {
      return id == candidate || dataflow.value(id).kind == ValueKind::GraphInput;
    });
    if (only_candidate) {
      cuts.emplace_back(candidate, crossing);
    } else {
      ++refused[1];
    }
  }
  return cuts;
}

Names cut_names(const Dataflow& dataflow) {
  Names names;
  for (const SingleValueCut& cut : find_single_value_cuts(dataflow)) {
    std::string entry = dataflow.value(cut.value).name;
    for (std::size_t i = 1; i < cut.crossing.size(); ++i) entry += "+" + dataflow.value(cut.crossing[i]).name;
    names.push_back(entry);
  }
  return names;
}

// ---- what it finds, on graphs small enough to read -------------------------

TEST(CutCandidates, EveryInnerValueOfAChain) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 4] y) {
      a = Relu(x)
      b = Neg(a)
      y = Abs(b)
    }
  )");
  EXPECT_EQ(cut_names(g.dataflow), (Names{"a", "b"}));
}

TEST(CutCandidates, NotInsideAResidualBlock) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 4] y) {
      s = Relu(x)
      h = Neg(s)
      r = Abs(h)
      t = Add(r, s)
      y = Exp(t)
    }
  )");
  EXPECT_EQ(cut_names(g.dataflow), (Names{"s", "t"}));
}

TEST(CutCandidates, AGraphInputReadLaterPassesThrough) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x, float[N, 4] mask) => (float[N, 4] y) {
      a = Relu(x)
      b = Mul(a, mask)
      y = Neg(b)
    }
  )");
  EXPECT_EQ(cut_names(g.dataflow), (Names{"a+mask", "b"}));
}

TEST(CutCandidates, ADeadBranchOffThePathGoesAfterTheCut) {
  // The partition puts the unused Shape after any cut at or past it, so at
  // b it would read a across the cut: b is no candidate. At c it is again.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 4] y) {
      a = Relu(x)
      unused = Shape(a)
      b = Neg(a)
      c = Abs(b)
      y = Exp(c)
    }
  )");
  EXPECT_EQ(cut_names(g.dataflow), (Names{"a"}));
  EXPECT_EQ(found_cuts(g.dataflow), reference_cuts(g.dataflow));
}

TEST(CutCandidates, ADeadBranchOnAGraphInputMakesItPassThrough) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 4] y) {
      unused = Shape(x)
      a = Relu(x)
      b = Neg(a)
      y = Abs(b)
    }
  )");
  EXPECT_EQ(cut_names(g.dataflow), (Names{"a+x", "b+x"}));
}

TEST(CutCandidates, AnEarlyGraphOutputIsNoCandidateAndBlocksTheRest) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] early, float[N] y) {
      a = Relu(x)
      early = Sigmoid(a)
      b = Neg(early)
      y = Exp(b)
    }
  )");
  // early stays alive to the end, so only early itself is ever alone.
  EXPECT_EQ(cut_names(g.dataflow), (Names{"a", "early"}));
}

TEST(CutCandidates, NoneOnAGraphWhoseLastPartWouldBeEmpty) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] y) {
      y = Relu(x)
      [k] c = Constant <value = float {2}> ()
    }
  )");
  EXPECT_EQ(cut_names(g.dataflow), Names{});
}

// ---- the same answer as the reference ---------------------------------------

TEST(CutCandidates, SameAsTheReferenceOnTextGraphs) {
  const std::vector<const char*> texts = {
      R"(<ir_version: 8, opset_import: ["" : 17]>
         g (float[N] x) => (float[N] y, float[N] z) {
           [side] z = Exp(x)
           [n1] a = Relu(x)
           [n2] y = Neg(a)
         })",
      R"(<ir_version: 8, opset_import: ["" : 17]>
         g (float[N, 4] x) => (float[N, 2] y) {
           [pre] p = Relu(x)
           [split] lo, hi = Split <axis = 1, num_outputs = 2> (p)
           [mix] m = Sub(hi, lo)
           [add] q = Add(m, m)
           [out] y = Relu(q)
         })",
      R"(<ir_version: 8, opset_import: ["" : 17]>
         g (float[N] x) => (float[N] y, float one) {
           [two] k = Constant <value = float {2}> ()
           [n1] a = Relu(x)
           [returned] one = Constant <value = float {1}> ()
           [n2] b = Mul(a, k)
           [n3] y = Mul(b, k)
         })",
      R"(<ir_version: 8, opset_import: ["" : 17]>
         g (float[2] x) => (float[2] y) <float[2] w = {1, 2}> {
           [n1] a = Add(x, w)
           [n2] b = Relu(a)
           [n3] y = Mul(b, w)
         })",
      R"(<ir_version: 8, opset_import: ["" : 17]>
         g (bool c, float[2] x) => (float[2] y) {
           [n1] a = Relu(x)
           [n2] b = Neg(a)
           [if] i = If(c) <then_branch = then_g () => (float[2] t) { t = Add(a, b) },
                           else_branch = else_g () => (float[2] e) { e = Identity(b) }>
           [n3] y = Abs(i)
         })",
      R"(<ir_version: 8, opset_import: ["" : 17]>
         g (float[N] x, float[N] late) => (float[N] y) {
           [n1] a = Relu(x)
           [dead] d = Neg(a)
           [n2] b = Abs(a)
           [n3] c = Add(b, late)
           [n4] y = Exp(c)
         })",
      R"(<ir_version: 8, opset_import: ["" : 17]>
         g (float[N] x) => (float[N] x, float[N] y) {
           [n1] a = Relu(x)
           [n2] y = Abs(a)
         })",
  };
  for (const char* text : texts) {
    const Graph g = graph_from_text(text);
    EXPECT_EQ(found_cuts(g.dataflow), reference_cuts(g.dataflow)) << text;
  }
}

// A random dataflow built straight through the Dataflow API: side branches,
// dead ends, nodes with several outputs, stored constants, Constant nodes,
// graph inputs read late or listed twice, graph outputs anywhere, and nodes added out of topological order.
Dataflow random_dataflow(std::uint32_t seed) {
  std::mt19937 random(seed);
  auto below = [&](std::uint32_t bound) { return static_cast<std::uint32_t>(random() % bound); };
  auto chance = [&](std::uint32_t percent) { return below(100) < percent; };

  Dataflow dataflow;
  std::vector<ValueId> inputs, constants, computed;
  const std::uint32_t input_count = 1 + below(3);
  for (std::uint32_t i = 0; i < input_count; ++i) {
    inputs.push_back(dataflow.add_value("in" + std::to_string(i), ValueKind::GraphInput));
    dataflow.mark_graph_input(inputs.back());
  }
  if (chance(5)) dataflow.mark_graph_input(inputs.front());
  for (std::uint32_t i = below(3); i > 0; --i) {
    constants.push_back(dataflow.add_value("w" + std::to_string(i), ValueKind::Constant));
  }
  // Chains are the common case: mostly read the newest values.
  const std::uint32_t node_count = 1 + below(chance(50) ? 12 : 40);
  const std::uint32_t reach = 1 + below(6);
  std::vector<Node> nodes;
  for (std::uint32_t n = 0; n < node_count; ++n) {
    Node node;
    node.name = "n" + std::to_string(n);
    node.op = "Op";
    node.is_constant = chance(10);
    // Constant nodes have no inputs (the contract of Node::is_constant).
    const std::uint32_t input_slots = node.is_constant ? 0 : 1 + below(3);
    for (std::uint32_t slot = 0; slot < input_slots; ++slot) {
      const std::uint32_t kind = below(100);
      if (!computed.empty() && kind < 75) {
        const std::uint32_t back = chance(70) ? below(std::min<std::uint32_t>(reach, computed.size()))
                                              : below(static_cast<std::uint32_t>(computed.size()));
        node.inputs.push_back(computed[computed.size() - 1 - back]);
      } else if (!constants.empty() && kind < 85) {
        node.inputs.push_back(constants[below(static_cast<std::uint32_t>(constants.size()))]);
      } else {
        node.inputs.push_back(inputs[below(static_cast<std::uint32_t>(inputs.size()))]);
      }
    }
    const std::uint32_t output_count = chance(80) ? 1 : 2 + below(2);
    for (std::uint32_t slot = 0; slot < output_count; ++slot) {
      node.outputs.push_back(dataflow.add_value(node.name + "_" + std::to_string(slot), ValueKind::Computed));
      computed.push_back(node.outputs.back());
    }
    nodes.push_back(std::move(node));
  }
  // Out of order: the index must find a topological order of its own.
  std::vector<std::uint32_t> add_order(nodes.size());
  for (std::uint32_t i = 0; i < add_order.size(); ++i) add_order[i] = i;
  if (chance(30)) std::shuffle(add_order.begin(), add_order.end(), random);
  for (std::uint32_t i : add_order) dataflow.add_node(nodes[i]);

  dataflow.mark_graph_output(nodes.back().outputs.front());
  for (std::uint32_t i = below(3); i > 0; --i) dataflow.mark_graph_output(computed[below(computed.size())]);
  if (chance(5)) dataflow.mark_graph_output(inputs.back());
  dataflow.build_index();
  return dataflow;
}

TEST(CutCandidates, SameAsTheReferenceOnRandomDataflows) {
  std::size_t graphs_with_cuts = 0, cuts = 0, cuts_with_inputs = 0, refused[2] = {0, 0};
  for (std::uint32_t seed = 1; seed <= 30000; ++seed) {
    const Dataflow dataflow = random_dataflow(seed);
    const Cuts expected = reference_cuts(dataflow, refused);
    ASSERT_EQ(found_cuts(dataflow), expected) << "seed " << seed;
    graphs_with_cuts += expected.empty() ? 0 : 1;
    cuts += expected.size();
    for (const auto& cut : expected) cuts_with_inputs += cut.second.size() > 1 ? 1 : 0;
  }
  // The generator must produce the interesting cases, not only empty answers.
  EXPECT_GT(graphs_with_cuts, 15000u);
  EXPECT_GT(cuts_with_inputs, 5000u);
  EXPECT_GT(cuts - cuts_with_inputs, 2000u);
  EXPECT_GT(refused[0], 50u);    // e.g. a graph output with only Constant nodes after it
  EXPECT_GT(refused[1], 1000u);  // the partition moves a branch that reads from part 0 after the cut
}

}  // namespace
}  // namespace modelcut::test
