// Crafted ONNX models of every crash class an outside tester found: loading
// and type propagation must give a modelcut::Error or no shape, never a
// crash, a huge allocation or a wrong shape. Meant to be run under the
// sanitizers too: cmake -B build/asan -DMODELCUT_BUILD_TESTS=ON
// -DCMAKE_CXX_FLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer'.
#include <gtest/gtest.h>

#include "formats/onnx/wire.h"
#include "support/graphs.h"

namespace modelcut::test {
namespace {

const TensorInfo& info_of(const Graph& g, const std::string& name) { return g.dataflow.value(g.value(name)).info; }

// The type recorded for `a`, an intermediate value with no value_info.
std::string type_of_a(std::string_view body, std::string_view inputs = "float[2, 3] x") {
  const std::string text = "<ir_version: 8, opset_import: [\"\" : 17]>\ng (" + std::string(inputs) +
                           ") => (float y) {\n" + std::string(body) + "\n y = Identity(x)\n}";
  const Graph g = graph_from_text(text);
  return info_of(g, "a").describe();
}

TEST(UntrustedAttributes, OutOfRangeAxesGiveNoShape) {
  EXPECT_EQ(type_of_a("a = Concat <axis = 5> (x, x)"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Concat <axis = -3> (x, x)"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Flatten <axis = 7> (x)"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Flatten <axis = -9223372036854775807> (x)"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Gather <axis = 2> (x, i)", "float[2, 3] x, int64[4] i"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Gather <axis = -3> (x, i)", "float[2, 3] x, int64[4] i"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Transpose <perm = [0, 5]> (x)"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Transpose <perm = [0, 0]> (x)"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Transpose <perm = [1, 0, 2]> (x)"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Unsqueeze (x, axes)", "float[2, 3] x, int64[1] axes"), "float32[?]");
  EXPECT_EQ(type_of_a("a = ReduceSum <keepdims = 0> (x, axes)", "float[2, 3] x, int64[1] axes"), "float32[?]");
  EXPECT_EQ(type_of_a("a = ArgMax <axis = 4> (x)"), "int64[?]");
  EXPECT_EQ(type_of_a("a = Split <axis = 9, num_outputs = 2> (x)"), "float32[?]");
  // The same operators with valid attributes do get a shape.
  EXPECT_EQ(type_of_a("a = Concat <axis = -1> (x, x)"), "float32[2,6]");
  EXPECT_EQ(type_of_a("a = Flatten <axis = 2> (x)"), "float32[6,1]");
  EXPECT_EQ(type_of_a("a = Gather <axis = -1> (x, i)", "float[2, 3] x, int64[4] i"), "float32[2,4]");
  EXPECT_EQ(type_of_a("a = Transpose <perm = [1, 0]> (x)"), "float32[3,2]");
}

TEST(UntrustedAttributes, InvalidPoolingAndConvolutionGiveNoShape) {
  const std::string image = "float[1, 4, 8, 8] x, float[4, 4, 3, 3] w";
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [2, 2], strides = [0, 0]> (x)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [0, 2]> (x)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [-2, 2]> (x)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [2, 2], dilations = [0, 1]> (x)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [2, 2], pads = [-5, 0, 0, 0]> (x)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = AveragePool <kernel_shape = [20, 2]> (x)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [2, 2], strides = [-1, 1]> (x)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = Conv <group = 0> (x, w)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = Conv <group = 2> (x, w)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = Conv <strides = [0, 0]> (x, w)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = Conv <kernel_shape = [5, 5]> (x, w)", image), "float32[?]");
  EXPECT_EQ(type_of_a("a = GlobalAveragePool (x)", "float[3] x"), "float32[?]");
  // Huge sizes do not overflow: the dim is left unknown.
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [2, 2], dilations = [4611686018427387904, 1]> (x)",
                      "float[1, 4, 9223372036854775807, 8] x"),
            "float32[1,4,?,7]");
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (x)", image), "float32[1,4,4,4]");
  EXPECT_EQ(type_of_a("a = Conv <pads = [1, 1, 1, 1]> (x, w)", image), "float32[1,4,8,8]");
}

TEST(UntrustedAttributes, CeilModeCountsALastWindowOnlyWhereRuntimesAgree) {
  const std::string image = "float[1, 4, 8, 8] x";
  // (8 - 3) / 2 rounds up: a fourth window, starting inside the input (as ONNX shape inference says).
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [3, 3], strides = [2, 2], ceil_mode = 1> (x)", image),
            "float32[1,4,4,4]");
  EXPECT_EQ(type_of_a("a = AveragePool <kernel_shape = [3, 3], strides = [2, 2], ceil_mode = 1> (x)", image),
            "float32[1,4,4,4]");
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [3, 3], strides = [2, 2]> (x)", image), "float32[1,4,3,3]");
  // Dividing exactly, ceil_mode changes nothing.
  EXPECT_EQ(type_of_a("a = MaxPool <kernel_shape = [2, 2], strides = [2, 2], ceil_mode = 1> (x)", image),
            "float32[1,4,4,4]");
  // The last window would start in the end padding (at 8 of 8 + 2): ONNX
  // shape inference counts it, ONNX Runtime does not, so no size is given.
  EXPECT_EQ(
      type_of_a("a = MaxPool <kernel_shape = [3, 3], strides = [4, 4], pads = [0, 0, 2, 2], ceil_mode = 1> (x)", image),
      "float32[1,4,?,?]");
}

TEST(UntrustedShapes, ShapeDataReachesConstantOfShapeReshapeAndExpand) {
  const std::string batch = "float[N, 8] x";
  EXPECT_EQ(type_of_a("s = Shape(x)\n a = ConstantOfShape(s)", batch), "float32[N,8]");
  // Gather, Mul and Concat of shape elements: numbers give numbers.
  EXPECT_EQ(type_of_a("s = Shape(x)\n i = Constant <value = int64[1] {1}> ()\n g = Gather(s, i)\n"
                      " m = Constant <value = int64[1] {4}> ()\n p = Mul(g, m)\n t = Concat <axis = 0> (p, m)\n"
                      " a = ConstantOfShape(t)",
                      batch),
            "float32[32,4]");
  // A symbol times a number is not known.
  EXPECT_EQ(type_of_a("s = Shape(x)\n m = Constant <value = int64[1] {2}> ()\n a = ConstantOfShape(p)\n"
                      " p = Mul(s, m)",
                      batch),
            "float32[?,16]");
  // Reshape: a symbol is kept, -1 is worked out only where all else is fixed.
  const std::string gather_first =
      "s = Shape(x)\n i = Constant <value = int64[1] {0}> ()\n g = Gather(s, i)\n"
      " m = Constant <value = int64[1] {-1}> ()\n t = Concat <axis = 0> (g, m)\n";
  EXPECT_EQ(type_of_a(gather_first + " a = Reshape(x, t)", batch), "float32[N,?]");
  EXPECT_EQ(type_of_a(gather_first + " a = Reshape(x, t)", "float[2, 8] x"), "float32[2,8]");
  EXPECT_EQ(type_of_a("s = Shape(x)\n a = Expand(z, s)", "float[N, 8] x, float[1, 8] z"), "float32[N,8]");
  // Shape's start and end, and Slice of its elements.
  EXPECT_EQ(type_of_a("s = Shape <start = -1> (x)\n a = ConstantOfShape(s)", batch), "float32[8]");
  EXPECT_EQ(type_of_a("s = Shape(x)\n b = Constant <value = int64[1] {1}> ()\n e = Constant <value = int64[1] {9}> ()\n"
                      " t = Slice(s, b, e)\n a = ConstantOfShape(t)",
                      batch),
            "float32[8]");
  // Bad contents give no data: an index out of range leaves only the rank,
  // a negative size no shape at all.
  auto shape_of_a = [](const std::string& body) {
    const Graph g = graph_from_text("<ir_version: 8, opset_import: [\"\" : 17]>\ng (float[N, 8] x) => (float y) {\n" +
                                    body + "\n y = Identity(x)\n}");
    const TensorInfo& info = info_of(g, "a");
    return info.has_shape ? static_cast<int>(info.dims.size()) : -1;
  };
  EXPECT_EQ(shape_of_a("s = Shape(x)\n i = Constant <value = int64[1] {5}> ()\n g = Gather(s, i)\n"
                       " a = ConstantOfShape(g)"),
            1);
  EXPECT_EQ(shape_of_a("s = Shape(x)\n m = Constant <value = int64[1] {-3}> ()\n t = Concat <axis = 0> (s, m)\n"
                       " a = ConstantOfShape(t)"),
            -1);
  EXPECT_EQ(shape_of_a("s = Shape(x)\n m = Constant <value = int64[1] {3}> ()\n t = Concat <axis = 0> (s, m)\n"
                       " a = ConstantOfShape(t)"),
            3);
}

TEST(UntrustedShapes, HugeRanksAndSizesAllocateNothing) {
  // A rank of 10^12 read from the shape input's own shape.
  EXPECT_EQ(type_of_a("a = ConstantOfShape (s)", "float[2, 3] x, int64[1000000000000] s"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Reshape (x, s)", "float[2, 3] x, int64[1000000000000] s"), "float32[?]");
  EXPECT_EQ(type_of_a("a = Expand (x, s)", "float[2, 3] x, int64[1000000000000] s"), "float32[?]");
  // Constant shapes of huge sizes are shapes, but with no byte count.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2, 3] x) => (float y) {
      s = Constant <value = int64[3] {4294967296, 4294967296, 16}> ()
      a = ConstantOfShape (s)
      y = Identity(x)
    }
  )");
  EXPECT_EQ(info_of(g, "a").describe(), "float32[4294967296,4294967296,16]");
  EXPECT_FALSE(info_of(g, "a").bytes_per_item().has_value());
  // A recorded type of rank 2000 is read as unknown, not allocated.
  std::string dims = "1";
  for (int i = 1; i < 2000; ++i) dims += ", 1";
  const Graph deep = graph_from_text("<ir_version: 8, opset_import: [\"\" : 17]>\ng (float[" + dims +
                                     "] x) => (float y) {\n y = Identity(x)\n}");
  EXPECT_EQ(info_of(deep, "x").describe(), "float32[?]");
  // Negative sizes are no shape at all.
  EXPECT_EQ(type_of_a("s = Constant <value = int64[2] {-4, 2}> ()\n a = ConstantOfShape (s)"), "float32[?]");
}

TEST(UntrustedShapes, ByteCountsDoNotWrap) {
  TensorInfo info;
  info.known = true;
  info.dtype = "float32";
  info.element_bits = 32;
  info.has_shape = true;
  info.dims = {Dim{std::int64_t{1} << 32, {}}, Dim{std::int64_t{1} << 30, {}}};
  EXPECT_FALSE(info.bytes_per_item().has_value());  // 2^62 elements of 4 bytes
  info.dims = {Dim{std::int64_t{1} << 31, {}}, Dim{std::int64_t{1} << 29, {}}};
  EXPECT_EQ(info.bytes_per_item(), std::optional<std::uint64_t>(std::uint64_t{1} << 62));
}

TEST(UntrustedShapes, MatMulBroadcastsOrGivesNoShape) {
  EXPECT_EQ(type_of_a("a = MatMul (p, q)", "float[3, 4] p, float[5, 4, 6] q, float x"), "float32[5,3,6]");
  EXPECT_EQ(type_of_a("a = MatMul (p, q)", "float[2, 1, 3, 4] p, float[5, 4, 6] q, float x"), "float32[2,5,3,6]");
  EXPECT_EQ(type_of_a("a = MatMul (p, q)", "float[4] p, float[5, 4, 6] q, float x"), "float32[5,6]");
  EXPECT_EQ(type_of_a("a = MatMul (p, q)", "float[3, 4] p, float[4] q, float x"), "float32[3]");
  EXPECT_EQ(type_of_a("a = MatMul (p, q)", "float[3, 4] p, float[5, 6] q, float x"), "float32[?]");
  EXPECT_EQ(type_of_a("a = MatMul (p, q)", "float[2, 3, 4] p, float[5, 4, 6] q, float x"), "float32[?]");
}

TEST(UntrustedShapes, RulesThatChangedWithTheOpsetAreNotGuessed) {
  // Dropout's mask is bool from opset 10 on, the input's type before.
  const Graph old = graph_from_text(R"(
    <ir_version: 3, opset_import: ["" : 7]>
    g (float[2, 3] x) => (float y) {
      a, mask = Dropout (x)
      y = Identity(a)
    }
  )");
  EXPECT_EQ(info_of(old, "a").describe(), "float32[2,3]");
  EXPECT_FALSE(info_of(old, "mask").known);
  EXPECT_EQ(type_of_a("a, mask = Dropout (x)\n z = Identity(mask)"), "float32[2,3]");
}

// ModelProto bytes around one graph (GraphProto bytes).
std::string model_with_graph(wire::Rope&& graph) {
  wire::Rope model;
  model.add_varint_field(onnx::field::kModelIrVersion, 8);
  wire::Rope opset;
  opset.add_varint_field(onnx::field::kOpsetVersion, 17);
  model.add_message_field(onnx::field::kModelOpsetImport, std::move(opset));
  model.add_message_field(onnx::field::kModelGraph, std::move(graph));
  return model.to_string();
}

wire::Rope tensor_message(const std::vector<std::int64_t>& dims, int data_type, const std::string& raw) {
  wire::Rope tensor;
  for (std::int64_t size : dims) tensor.add_varint_field(onnx::field::kTensorDims, static_cast<std::uint64_t>(size));
  tensor.add_varint_field(onnx::field::kTensorDataType, static_cast<std::uint64_t>(data_type));
  tensor.add_bytes_field(onnx::field::kTensorName, "w");
  tensor.add_bytes_field(onnx::field::kTensorRawData, raw);
  return tensor;
}

std::string error_loading(wire::Rope&& graph) {
  return error_from([&] { graph_from_bytes(model_with_graph(std::move(graph)), "crafted.onnx"); });
}

TEST(UntrustedTensors, RawDataMustMatchDimsAndType) {
  wire::Rope graph;
  graph.add_message_field(onnx::field::kGraphInitializer, tensor_message({2, 3}, 1, std::string(20, '\0')));
  EXPECT_TRUE(mentions(error_loading(std::move(graph)), {"crafted.onnx", "'w'", "20 bytes", "need 24"}));

  wire::Rope fits;
  fits.add_message_field(onnx::field::kGraphInitializer, tensor_message({2, 3}, 1, std::string(24, '\0')));
  EXPECT_NO_THROW(graph_from_bytes(model_with_graph(std::move(fits))));
}

TEST(UntrustedTensors, DimsWhoseProductWrapsAreRefused) {
  wire::Rope graph;
  graph.add_message_field(onnx::field::kGraphInitializer,
                          tensor_message({std::int64_t{1} << 32, std::int64_t{1} << 32, 16}, 1, ""));
  EXPECT_TRUE(mentions(error_loading(std::move(graph)), {"'w'", "64 bits"}));

  // 0 does not hide an overflow of the other dims.
  wire::Rope with_zero;
  with_zero.add_message_field(onnx::field::kGraphInitializer,
                              tensor_message({std::int64_t{1} << 40, std::int64_t{1} << 40, 0}, 1, ""));
  EXPECT_TRUE(mentions(error_loading(std::move(with_zero)), {"'w'", "64 bits"}));

  wire::Rope negative;
  negative.add_message_field(onnx::field::kGraphInitializer, tensor_message({-2, 3}, 1, ""));
  EXPECT_TRUE(mentions(error_loading(std::move(negative)), {"'w'", "negative"}));
}

TEST(UntrustedStructure, DeeplyNestedSubgraphsAreRefusedWhileParsing) {
  // If nodes nested 1000 deep: each level a graph holding one If whose
  // then_branch is the next level.
  wire::Rope inner;
  wire::Rope identity;
  identity.add_bytes_field(onnx::field::kNodeInput, "c");
  identity.add_bytes_field(onnx::field::kNodeOutput, "z");
  identity.add_bytes_field(onnx::field::kNodeOpType, "Identity");
  inner.add_message_field(onnx::field::kGraphNode, std::move(identity));
  for (int level = 0; level < 1000; ++level) {
    wire::Rope attribute;
    attribute.add_bytes_field(onnx::field::kAttributeName, "then_branch");
    attribute.add_message_field(onnx::field::kAttributeGraph, std::move(inner));
    wire::Rope node;
    node.add_bytes_field(onnx::field::kNodeInput, "c");
    node.add_bytes_field(onnx::field::kNodeOutput, "z");
    node.add_bytes_field(onnx::field::kNodeOpType, "If");
    node.add_message_field(onnx::field::kNodeAttribute, std::move(attribute));
    wire::Rope graph;
    graph.add_message_field(onnx::field::kGraphNode, std::move(node));
    inner = std::move(graph);
  }
  EXPECT_TRUE(mentions(error_loading(std::move(inner)), {"crafted.onnx", "nested more than 64 deep"}));
}

}  // namespace
}  // namespace modelcut::test
