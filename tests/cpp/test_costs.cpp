// Costs per node of ONNX models stated in ONNX text: the MAC formula of each
// op family with sizes worked out by hand, parameter bytes counted once at
// the first reader, and hostile shapes and attributes giving "unknown"
// rather than a wrapped or made-up number.
#include <gtest/gtest.h>

#include "formats/onnx/onnx_costs.h"
#include "support/graphs.h"

namespace modelcut::test {
namespace {

struct Costed {
  Graph graph;
  std::vector<NodeCost> costs;
  const NodeCost& of(const std::string& node) const { return costs.at(graph.node(node)); }
};

Costed costs_of(std::string_view text, DimBindings bindings = {}) {
  Costed result{graph_from_text(text), {}};
  const DimSizes dims(result.graph.dataflow, bindings);
  result.costs = onnx::onnx_node_costs(*result.graph.model, result.graph.dataflow, dims);
  return result;
}

// The MACs of the one node "n" of a graph with these inputs, outputs and node.
NodeCost one_node(const std::string& inputs, const std::string& outputs, const std::string& node,
                  DimBindings bindings = {}) {
  const std::string text = "<ir_version: 9, opset_import: [\"\" : 23, \"com.microsoft\" : 1]>\ng (" + inputs +
                           ") => (" + outputs + ") {\n [n] " + node + "\n}";
  return costs_of(text, bindings).of("n");
}

std::uint64_t macs_of(const std::string& inputs, const std::string& outputs, const std::string& node,
                      DimBindings bindings = {}) {
  const NodeCost cost = one_node(inputs, outputs, node, bindings);
  EXPECT_TRUE(cost.macs_known) << node;
  return cost.macs;
}

bool known(const std::string& inputs, const std::string& outputs, const std::string& node, DimBindings bindings = {}) {
  const NodeCost cost = one_node(inputs, outputs, node, bindings);
  if (!cost.macs_known) EXPECT_EQ(cost.macs, 0u);
  return cost.macs_known;
}

TEST(OnnxCosts, Convolutions) {
  // Output 2x4x8x8 elements, each 3 input channels x 3x3.
  EXPECT_EQ(macs_of("float[2,3,8,8] x, float[4,3,3,3] w", "float[2,4,8,8] y", "y = Conv <pads = [1, 1, 1, 1]> (x, w)"),
            2u * 4 * 8 * 8 * 27);
  // Depthwise: one input channel per output channel.
  EXPECT_EQ(macs_of("float[1,8,8,8] x, float[8,1,3,3] w", "float[1,8,8,8] y",
                    "y = Conv <group = 8, pads = [1, 1, 1, 1]> (x, w)"),
            8u * 8 * 8 * 9);
  // Transposed: each input element spreads over C_out/group x kernel outputs.
  EXPECT_EQ(macs_of("float[1,4,5,5] x, float[4,2,3,3] w", "float[1,2,7,7] y", "y = ConvTranspose (x, w)"), 100u * 18);
}

TEST(OnnxCosts, MatrixProducts) {
  // Gemm with A transposed: A is [K=3, M=2].
  EXPECT_EQ(macs_of("float[3,2] a, float[3,4] b", "float[2,4] y", "y = Gemm <transA = 1> (a, b)"), 2u * 4 * 3);
  EXPECT_EQ(macs_of("float[2,3] a, float[3,4] b, float[4] c", "float[2,4] y", "y = Gemm (a, b, c)"), 2u * 4 * 3);
  // Batched and broadcast: [2,1,4,3] x [5,3,6] -> [2,5,4,6].
  EXPECT_EQ(macs_of("float[2,1,4,3] a, float[5,3,6] b", "float[2,5,4,6] y", "y = MatMul (a, b)"), 2u * 5 * 4 * 6 * 3);
  // A vector times a matrix.
  EXPECT_EQ(macs_of("float[3] a, float[3,6] b", "float[6] y", "y = MatMul (a, b)"), 18u);
}

TEST(OnnxCosts, EinsumFromTheEquation) {
  EXPECT_EQ(
      macs_of("float[2,3,4] a, float[2,4,5] b", "float[2,3,5] y", "y = Einsum <equation = \"bij,bjk->bik\"> (a, b)"),
      2u * 3 * 4 * 5);
  // Ellipsis broadcast: [7,2,3] and [1,3,4] give batch 7.
  EXPECT_EQ(macs_of("float[7,2,3] a, float[1,3,4] b", "float[7,2,4] y",
                    "y = Einsum <equation = \"...ij,...jk->...ik\"> (a, b)"),
            7u * 2 * 3 * 4);
  // One operand: a sum over j reads every element once.
  EXPECT_EQ(macs_of("float[6,5] a", "float[6] y", "y = Einsum <equation = \"ij->i\"> (a)"), 30u);
  // Sizes that disagree, too few operands, letters beyond the rank.
  EXPECT_FALSE(known("float[2,3] a, float[4,5] b", "float[2,5] y", "y = Einsum <equation = \"ij,jk->ik\"> (a, b)"));
  EXPECT_FALSE(known("float[2,3] a, float[3,5] b", "float[2,5] y", "y = Einsum <equation = \"ij->ij\"> (a, b)"));
  EXPECT_FALSE(known("float[2,3] a, float[3,5] b", "float[2,5] y", "y = Einsum <equation = \"ijk,jk->i\"> (a, b)"));
  EXPECT_FALSE(known("float[2,3] a, float[3,5] b", "float[2,5] y", "y = Einsum <equation = \"i1,1k->ik\"> (a, b)"));
  EXPECT_FALSE(known("float[2,3] a, float[3,5] b", "float[2,5] y", "y = Einsum (a, b)"));
}

TEST(OnnxCosts, Attention) {
  // Q [2,4,8,16], K [2,4,10,16], V [2,4,10,8]: 2x8x10 scores per head, a
  // dot product over 16 and one over 8 each, and a softmax (3 per score).
  const std::uint64_t scores = 2 * 8 * 10;
  EXPECT_EQ(macs_of("float[2,4,8,16] q, float[2,4,10,16] k, float[2,4,10,8] v", "float[2,4,8,8] y",
                    "y = Attention (q, k, v)"),
            scores * 4 * (16 + 8) + scores * 4 * 3);
  // The same as [B, S, heads x width], with two key/value heads for four
  // query heads (grouped): each query head reads a value head of width 8.
  EXPECT_EQ(macs_of("float[2,8,64] q, float[2,10,32] k, float[2,10,16] v", "float[2,8,32] y",
                    "y = Attention <q_num_heads = 4, kv_num_heads = 2> (q, k, v)"),
            scores * (64 + 4 * 8) + scores * 4 * 3);
  EXPECT_FALSE(known("float[2,8,64] q, float[2,10,32] k, float[2,10,16] v", "float[2,8,32] y",
                     "y = Attention <q_num_heads = 4, kv_num_heads = 0> (q, k, v)"));
  EXPECT_FALSE(known("float[2,8,64] q, float[2,10,32] k, float[2,10,16] v", "float[2,8,32] y",
                     "y = Attention <q_num_heads = 4, kv_num_heads = 3> (q, k, v)"));
  // com.microsoft MultiHeadAttention: query [2,8,32], key and value [2,10,32].
  EXPECT_EQ(macs_of("float[2,8,32] q, float[2,10,32] k, float[2,10,32] v", "float[2,8,32] y",
                    "y = com.microsoft.MultiHeadAttention <num_heads = 4> (q, k, v)"),
            scores * (32 + 32) + scores * 4 * 3);
  // com.microsoft Attention: the QKV projection [2x8 tokens, 32 -> 96], then attention over 8.
  EXPECT_EQ(macs_of("float[2,8,32] x, float[32,96] w, float[96] b", "float[2,8,32] y",
                    "y = com.microsoft.Attention <num_heads = 4> (x, w, b)"),
            16u * 32 * 96 + 2 * 8 * 8 * (32 + 32) + 2 * 8 * 8 * 4 * 3);
}

TEST(OnnxCosts, NormalisationsPoolingAndElementwise) {
  EXPECT_EQ(macs_of("float[2,10] x, float[10] s, float[10] b", "float[2,10] y", "y = LayerNormalization (x, s, b)"),
            20u * 4);
  EXPECT_EQ(macs_of("float[1,4,2,2] x, float[4] s, float[4] b, float[4] m, float[4] v", "float[1,4,2,2] y",
                    "y = BatchNormalization (x, s, b, m, v)"),
            16u);
  EXPECT_EQ(
      macs_of("float[1,4,8,8] x", "float[1,4,3,3] y", "y = MaxPool <kernel_shape = [3, 3], strides = [2, 2]> (x)"),
      36u * 9);
  EXPECT_EQ(macs_of("float[1,4,8,8] x", "float[1,4,1,1] y", "y = GlobalAveragePool (x)"), 256u);
  EXPECT_EQ(macs_of("float[3,5] x", "float[3,5] y", "y = Relu (x)"), 15u);
  EXPECT_EQ(macs_of("float[3,5] x, float[5] z", "float[3,5] y", "y = Add (x, z)"), 15u);
  EXPECT_EQ(macs_of("float[3,5] x, float[3,5] z", "float[3,5] y", "y = Sum (x, z, x)"), 30u);
  EXPECT_EQ(macs_of("float[3,5] x", "float[3,5] y", "y = Softmax (x)"), 45u);
  EXPECT_EQ(macs_of("float[3,5] x, int64[1] a", "float[3,1] y", "y = ReduceMean (x, a)"), 15u);
  EXPECT_EQ(macs_of("float[3,5] x, int64[1] s", "float[15] y", "y = Reshape (x, s)"), 0u);
  // LSTM: 5 steps x 2 batch items x (|W| 1x16x3 + |R| 1x16x4).
  EXPECT_EQ(macs_of("float[5,2,3] x, float[1,16,3] w, float[1,16,4] r", "float[5,1,2,4] y",
                    "y = LSTM <hidden_size = 4> (x, w, r)"),
            5u * 2 * (48 + 64));
}

TEST(OnnxCosts, SymbolicDimensionsAreBound) {
  DimBindings bindings;
  bindings.batch = 4;
  bindings.symbols["seq"] = 16;
  EXPECT_EQ(macs_of("float[N,seq,8] x, float[8,2] w", "float[N,seq,2] y", "y = MatMul (x, w)", bindings),
            4u * 16 * 2 * 8);
  // torch.export names derived sizes by their formula.
  EXPECT_EQ(macs_of("float[N,seq,8] x, float[8,2] w", "float[\"16*N\",2] y", "y = MatMul (x, w)", bindings),
            64u * 2 * 8);
  EXPECT_EQ(macs_of("float[N,seq,8] x", "float[\"((seq - 1)//2) + 1\",8] y", "y = Relu (x)", bindings), 8u * 8);
}

TEST(OnnxCosts, UnknownRatherThanWrong) {
  // No shape, an op not in the tables, an unknown domain.
  EXPECT_FALSE(known("float[] a, float[3,4] b", "float[] y", "y = MatMul (a, b)"));
  EXPECT_FALSE(known("float[2,3] a", "float[2,3] y", "y = Frobnicate (a)"));
  EXPECT_FALSE(known("float[2,3] a", "float[2,3] y", "y = custom.Relu (a)"));
  // Attributes that do not fit.
  EXPECT_FALSE(known("float[1,4,8,8] x", "float[1,4,3,3] y", "y = MaxPool <kernel_shape = [0, 3]> (x)"));
  EXPECT_FALSE(known("float[1,4,8,8] x", "float[1,4,3,3] y", "y = MaxPool <kernel_shape = [-3, 3]> (x)"));
  EXPECT_FALSE(known("float[1,4,8,8] x", "float[1,4,3,3] y", "y = MaxPool (x)"));
  EXPECT_FALSE(known("float[3,2] a, float[3,4] b", "float[2,4] y", "y = Gemm <transA = \"yes\"> (a, b)"));
  EXPECT_FALSE(known("float[3] a, float[3,4] b", "float[4] y", "y = Gemm (a, b)"));
  EXPECT_FALSE(known("float[2,3,8,8] x, float[4] w", "float[2,4,8,8] y", "y = Conv (x, w)"));
}

TEST(OnnxCosts, OverflowIsUnknownNotAWrap) {
  // 2^62 x 2^62 elements, a 2^40-sized window, a batch of 2^62.
  EXPECT_FALSE(known("float[1,3,8,8] x, float[4,3,3,3] w", "float[4611686018427387904,4611686018427387904,8,8] y",
                     "y = Conv (x, w)"));
  EXPECT_FALSE(known("float[1,4,8,8] x", "float[1,4,4194304,4194304] y",
                     "y = MaxPool <kernel_shape = [1099511627776, 1099511627776]> (x)"));
  DimBindings huge;
  huge.batch = std::uint64_t{1} << 62;
  EXPECT_FALSE(known("float[N,64] x, float[64,64] w", "float[N,64] y", "y = MatMul (x, w)", huge));
  EXPECT_FALSE(known("float[N,64,64] q, float[N,64,64] k, float[N,64,64] v", "float[N,64,64] y",
                     "y = Attention <q_num_heads = 4, kv_num_heads = 4> (q, k, v)", huge));
  EXPECT_FALSE(
      known("float[N,64] a, float[N,64] b", "float[N,N] y", "y = Einsum <equation = \"ik,jk->ij\"> (a, b)", huge));
  // A formula for a size that overflows is no size (and then counts as 1).
  DimBindings big;
  big.batch = std::uint64_t{1} << 62;
  EXPECT_EQ(macs_of("float[N,4] x", "float[\"4*N\",1] y", "y = Relu (x)", big), 1u);
}

TEST(OnnxCosts, ParameterBytesOnceAtTheFirstReader) {
  const Costed model = costs_of(R"(
    <ir_version: 9, opset_import: ["" : 17]>
    g (float[2,3] x) => (float[2,3] y) <float[3] w = {1, 2, 3}, float16[2] h = {15360, 15360}> {
      [first] a = Mul (x, w)
      [c] k = Constant <value = float[2,3] {1, 2, 3, 4, 5, 6}> ()
      [second] b = Add (a, w)
      [third] d = Add (b, k)
      [fourth] y = Sub (d, k)
      [halves] z = Cast (h)
    }
  )");
  EXPECT_EQ(model.of("first").param_bytes, 12u);
  EXPECT_EQ(model.of("second").param_bytes, 0u);
  EXPECT_EQ(model.of("c").param_bytes, 0u);  // a Constant's value belongs to whoever reads it
  EXPECT_EQ(model.of("third").param_bytes, 24u);
  EXPECT_EQ(model.of("fourth").param_bytes, 0u);
  EXPECT_EQ(model.of("halves").param_bytes, 4u);
  EXPECT_TRUE(model.of("c").macs_known);
  EXPECT_EQ(model.of("c").macs, 0u);
}

}  // namespace
}  // namespace modelcut::test
