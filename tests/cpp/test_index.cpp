// Tests of loading an ONNX model and indexing its main graph as a Dataflow
// (OnnxModel::from_bytes + index_onnx): producers and consumers, topological
// order, graph inputs and outputs, stored constants, subgraphs' implicit
// inputs, layer scopes recovered from exporters' names, and malformed graphs.
#include <gtest/gtest.h>

#include "support/graphs.h"

namespace modelcut::test {
namespace {

TEST(Index, LinksProducersAndConsumers) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 4] y) {
      [relu] a = Relu(x)
      [neg] b = Neg(a)
      [add] y = Add(a, b)
    }
  )");
  const Dataflow& df = g.dataflow;
  ASSERT_EQ(df.nodes().size(), 3u);

  const Value& a = df.value(g.value("a"));
  EXPECT_EQ(a.kind, ValueKind::Computed);
  EXPECT_EQ(a.producer, g.node("relu"));
  EXPECT_EQ(node_names(df, a.consumers), (Names{"neg", "add"}));
  EXPECT_FALSE(a.is_graph_output);

  const Value& x = df.value(g.value("x"));
  EXPECT_EQ(x.kind, ValueKind::GraphInput);
  EXPECT_EQ(x.producer, kNoNode);
  EXPECT_EQ(node_names(df, x.consumers), (Names{"relu"}));

  const Node& add = df.node(g.node("add"));
  EXPECT_EQ(add.op, "Add");
  EXPECT_EQ(value_names(df, add.inputs), (Names{"a", "b"}));
  EXPECT_EQ(value_names(df, add.outputs), (Names{"y"}));
  EXPECT_TRUE(df.value(g.value("y")).is_graph_output);
  EXPECT_TRUE(df.value(g.value("y")).consumers.empty());
}

TEST(Index, RecordsOutputSlotsOfMultiOutputNodes) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 2] y) {
      [split] lo, hi = Split <axis = 1, num_outputs = 2> (x)
      [add] y = Add(hi, lo)
    }
  )");
  const Value& hi = g.dataflow.value(g.value("hi"));
  EXPECT_EQ(hi.producer, g.node("split"));
  EXPECT_EQ(hi.output_slot, 1u);
  EXPECT_EQ(g.dataflow.value(g.value("lo")).output_slot, 0u);
}

TEST(Index, SkipsOmittedOptionalInputsAndNamesUnnamedNodes) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x, float hi) => (float[N] y) {
      [first] a = Relu(x)
      y = Clip(a, , hi)
    }
  )");
  const Dataflow& df = g.dataflow;
  EXPECT_FALSE(df.find_value("").has_value());
  // An unnamed node gets a stable placeholder name from its position.
  const Node& clip = df.node(1);
  EXPECT_EQ(clip.name, "#1");
  EXPECT_EQ(df.find_node("#1").value_or(kNoNode), 1u);
  EXPECT_EQ(value_names(df, clip.inputs), (Names{"a", "hi"}));
}

TEST(Index, OrdersNodesListedOutOfOrder) {
  // The Add is listed first although it reads what the other two compute.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] y) {
      [add] y = Add(a, b)
      [relu] a = Relu(x)
      [neg] b = Neg(x)
    }
  )");
  const Dataflow& df = g.dataflow;
  EXPECT_EQ(node_names(df, df.topological_order()), (Names{"relu", "neg", "add"}));
  EXPECT_EQ(df.position_of(g.node("add")), 2u);
  EXPECT_EQ(df.position_of(g.node("relu")), 0u);
  EXPECT_EQ(df.value(g.value("a")).producer, g.node("relu"));
}

TEST(Index, KeepsTheSourceOrderWhenItIsTopological) {
  // Two independent branches written interleaved stay interleaved.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] y) {
      [a1] a = Relu(x)
      [b1] b = Neg(x)
      [a2] c = Abs(a)
      [b2] d = Exp(b)
      [join] y = Add(c, d)
    }
  )");
  EXPECT_EQ(node_names(g.dataflow, g.dataflow.topological_order()), (Names{"a1", "b1", "a2", "b2", "join"}));
}

TEST(Index, GraphInputsAndOutputsInDeclaredOrderWithTypes) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x, int64[2] shape) => (float[M, 2] y, float[N, 4] z) {
      z = Relu(x)
      y = Reshape(z, shape)
    }
  )");
  const Dataflow& df = g.dataflow;
  EXPECT_EQ(value_names(df, df.graph_inputs()), (Names{"x", "shape"}));
  EXPECT_EQ(value_names(df, df.graph_outputs()), (Names{"y", "z"}));
  EXPECT_EQ(df.value(g.value("x")).info.describe(), "float32[N,4]");
  EXPECT_EQ(df.value(g.value("shape")).info.describe(), "int64[2]");
  EXPECT_EQ(df.value(g.value("y")).info.describe(), "float32[M,2]");
  // z is an output read by another node: both facts are kept.
  EXPECT_TRUE(df.value(g.value("z")).is_graph_output);
  EXPECT_EQ(df.value(g.value("z")).consumers.size(), 1u);
}

TEST(Index, InitializersAreStoredConstants) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2, 3] x) => (float[2, 3] y) <float[3] w = {1, 2, 3}> {
      y = Add(x, w)
    }
  )");
  const Dataflow& df = g.dataflow;
  const Value& w = df.value(g.value("w"));
  EXPECT_EQ(w.kind, ValueKind::Constant);
  EXPECT_EQ(w.producer, kNoNode);
  EXPECT_EQ(value_names(df, df.graph_inputs()), (Names{"x"}));
  // With no value_info, its type comes from the tensor itself.
  EXPECT_EQ(w.info.describe(), "float32[3]");
  EXPECT_EQ(w.info.bytes_per_item().value_or(0), 12u);
}

TEST(Index, AnInitializerNamedLikeAGraphInputIsItsDefault) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x, float[2] bias = {1, 2}) => (float[2] y) {
      y = Add(x, bias)
    }
  )");
  ASSERT_EQ(g.model->initializers.size(), 1u);
  EXPECT_EQ(g.dataflow.value(g.value("bias")).kind, ValueKind::GraphInput);
  EXPECT_EQ(value_names(g.dataflow, g.dataflow.graph_inputs()), (Names{"x", "bias"}));
}

TEST(Index, TypeHintsFillOnlyWhatTheModelLacks) {
  auto model = onnx::OnnxModel::from_bytes(modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17, "custom" : 1]>
    g (float[N] x) => (float[N] y) <float[] a, float[N] b> {
      a = custom.Op1(x)
      b = custom.Op2(a)
      c = custom.Op3(b)
      y = custom.Op4(c)
    }
  )"),
                                           "test.onnx");
  model->add_type_hints(modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17, "custom" : 1]>
    g (float[N] x) => (float[N] y) <float[N] a, float[7] b, int8[N, 2] c> {
      a = custom.Op1(x)
      b = custom.Op2(a)
      c = custom.Op3(b)
      y = custom.Op4(c)
    }
  )"));
  const Dataflow df = onnx::index_onnx(*model);
  EXPECT_EQ(df.value(*df.find_value("a")).info.describe(), "float32[N]");  // had no shape
  EXPECT_EQ(df.value(*df.find_value("b")).info.describe(), "float32[N]");  // kept
  EXPECT_EQ(df.value(*df.find_value("c")).info.describe(), "int8[N,2]");   // had no type
}

TEST(Index, OuterValuesReadBySubgraphsAreImplicitInputsOfTheIf) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[2] x) => (float[2] y) {
      [relu] a = Relu(x)
      [neg] n = Neg(x)
      [if] y = If(c) <
        then_branch = then_g () => (float[2] t) { t = Add(a, a) },
        else_branch = else_g () => (float[2] e) { e2 = Abs(n)
                                                 e = Mul(e2, e2) }>
    }
  )");
  const Dataflow& df = g.dataflow;
  const Node& if_node = df.node(g.node("if"));
  // c explicitly; a and n only through the branches. Names local to the
  // branches (t, e, e2) are not values of the main graph.
  EXPECT_EQ(value_names(df, if_node.inputs), (Names{"c", "a", "n"}));
  EXPECT_FALSE(df.find_value("e2").has_value());
  EXPECT_FALSE(df.find_value("t").has_value());
  EXPECT_EQ(node_names(df, df.value(g.value("a")).consumers), (Names{"if"}));
  EXPECT_EQ(node_names(df, df.topological_order()), (Names{"relu", "neg", "if"}));
}

TEST(Index, LoopBodiesAndNestedSubgraphsReadOuterValuesToo) {
  // The Loop body defines its own inputs (i, cond, v) and reads `scale` from
  // the main graph inside an If nested in the body; `inner` is defined in the
  // body, so it is no implicit input of the Loop.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64 trips, bool go, float[2] x) => (float[2] y) {
      [scale_node] scale = Relu(x)
      [loop] y = Loop(trips, go, x) <body = body_g (int64 i, bool cond, float[2] v) => (bool cond_out, float[2] v_out) {
        cond_out = Identity(cond)
        inner = Neg(v)
        v_out = If(cond) <
          then_branch = t_g () => (float[2] r) { r = Mul(inner, scale) },
          else_branch = e_g () => (float[2] s) { s = Identity(inner) }>
      }>
    }
  )");
  const Dataflow& df = g.dataflow;
  EXPECT_EQ(value_names(df, df.node(g.node("loop")).inputs), (Names{"trips", "go", "x", "scale"}));
  EXPECT_FALSE(df.find_value("inner").has_value());
  EXPECT_EQ(node_names(df, df.topological_order()), (Names{"scale_node", "loop"}));
}

TEST(Index, ASubgraphMayReturnAnOuterValueDirectly) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[2] x) => (float[2] y) {
      [relu] a = Relu(x)
      [if] y = If(c) <then_branch = then_g () => (float[2] a) {},
                      else_branch = else_g () => (float[2] e) { e = Neg(x) }>
    }
  )");
  EXPECT_EQ(value_names(g.dataflow, g.dataflow.node(g.node("if")).inputs), (Names{"c", "a", "x"}));
}

TEST(Index, FlagsConstantNodes) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x, int64[1] shape) => (float[N] y, float[M] z) {
      [two] k = Constant <value = float {2}> ()
      [filled] f = ConstantOfShape(shape)
      [mul] y = Mul(x, k)
      [custom] c = custom.Constant()
      z = Add(f, c)
    }
  )");
  const Dataflow& df = g.dataflow;
  EXPECT_TRUE(df.node(g.node("two")).is_constant);
  EXPECT_FALSE(df.node(g.node("filled")).is_constant);  // computed from an input
  EXPECT_FALSE(df.node(g.node("mul")).is_constant);
  EXPECT_FALSE(df.node(g.node("custom")).is_constant);  // not the ONNX operator
  // The output of a Constant node is still a computed value, not a stored one.
  EXPECT_EQ(df.value(g.value("k")).kind, ValueKind::Computed);
}

TEST(Index, ScopesFromTorchScriptNodeNames) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "pytorch">
    g (float[N] x) => (float[N] y) {
      ["/layer1/layer1.0/conv1/Conv"] a = Relu(x)
      ["/layer1/layer1.0/Add"] b = Neg(a)
      ["/Relu"] c = Relu(b)
      ["Abs_3"] y = Abs(c)
    }
  )");
  const Dataflow& df = g.dataflow;
  EXPECT_EQ(df.scope_separator, '.');
  EXPECT_EQ(df.node(0).scope, (Names{"layer1", "0", "conv1"}));
  EXPECT_EQ(df.node(1).scope, (Names{"layer1", "0"}));
  EXPECT_TRUE(df.node(2).scope.empty());  // top-level operator
  EXPECT_TRUE(df.node(3).scope.empty());  // no scope in the name at all
}

TEST(Index, ScopesFromTf2onnxNodeNames) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N] x) => (float[N] y) {
      ["model/fc2/MatMul"] a = Relu(x)
      ["model/fc2/BiasAdd"] b = Neg(a)
      ["model/block.1/conv/Conv2D"] y = Abs(b)
    }
  )");
  const Dataflow& df = g.dataflow;
  EXPECT_EQ(df.scope_separator, '/');
  EXPECT_EQ(df.node(0).scope, (Names{"model", "fc2"}));
  EXPECT_EQ(df.node(1).scope, (Names{"model", "fc2"}));
  // A dot is only split off when it repeats the parent's path, as PyTorch does.
  EXPECT_EQ(df.node(2).scope, (Names{"model", "block.1", "conv"}));
}

TEST(Index, ScopesFromDynamoNameScopesMetadata) {
  std::string bytes = modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 9, opset_import: ["" : 18], producer_name: "pytorch">
    g (float[N] x) => (float[N] y) {
      [node_Conv_0] a = Relu(x)
      [node_Relu_1] b = Neg(a)
      [node_add_2] c = Abs(b)
      [node_Abs_3] y = Abs(c)
    }
  )");
  // Qualified module paths, ending with the FX node's own name (not a module).
  bytes = with_node_metadata(bytes, "node_Conv_0", "pkg.torch.onnx.name_scopes",
                             "['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'convolution']");
  bytes = with_node_metadata(bytes, "node_Relu_1", "pkg.torch.onnx.name_scopes", "['', 'layer1', 'layer1.0', 'relu']");
  bytes = with_node_metadata(bytes, "node_add_2", "pkg.torch.onnx.name_scopes", "['', 'add']");
  bytes = with_node_metadata(bytes, "node_Abs_3", "pkg.torch.onnx.class_hierarchy", "['Model', 'Abs']");
  const Graph g = graph_from_bytes(bytes);
  const Dataflow& df = g.dataflow;
  EXPECT_EQ(df.node(0).scope, (Names{"layer1", "0", "conv1"}));
  EXPECT_EQ(df.node(1).scope, (Names{"layer1", "0"}));
  EXPECT_TRUE(df.node(2).scope.empty());  // computed by the model itself, in no module
  EXPECT_TRUE(df.node(3).scope.empty());  // other metadata is not a scope
}

TEST(Index, NameScopesMetadataOverridesTheNodeName) {
  std::string bytes = modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 9, opset_import: ["" : 18], producer_name: "pytorch">
    g (float[N] x) => (float[N] y) {
      ["/encoder/Relu"] y = Relu(x)
    }
  )");
  bytes = with_node_metadata(bytes, "/encoder/Relu", "pkg.torch.onnx.name_scopes", "['', 'decoder', 'relu']");
  EXPECT_EQ(graph_from_bytes(bytes).dataflow.node(0).scope, (Names{"decoder"}));
}

TEST(Index, WeightNamesGiveTheScopesOfFusedLayers) {
  // tf2onnx folded the batch norm "bn" into the convolution: its weights are
  // read by a node of "conv". Scalars name no layer (exporters share them).
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N, 2] x) => (float[N, 2] y)
      <float[2] "model/conv/kernel:0" = {1, 2}, float[2] "model/bn/beta:0" = {3, 4},
       float "model/other/eps:0" = {1}> {
      ["model/conv/Conv2D"] c = Mul(x, "model/conv/kernel:0")
      ["model/conv/BiasAdd"] cb = Add(c, "model/bn/beta:0")
      ["model/relu/Relu"] y = Add(cb, "model/other/eps:0")
    }
  )");
  const Dataflow& df = g.dataflow;
  EXPECT_TRUE(df.node(0).weight_scopes.empty());  // its own layer's weight
  EXPECT_EQ(df.node(1).weight_scopes, (std::vector<Names>{{"model", "bn"}}));
  EXPECT_TRUE(df.node(2).weight_scopes.empty());
}

TEST(Index, PyTorchWeightNamesAreDottedPaths) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "pytorch">
    g (float[N, 2] x) => (float[N, 2] y) <float[2] "layer1.0.bn1.weight" = {1, 2}> {
      ["/layer1/layer1.0/conv1/Conv"] y = Mul(x, "layer1.0.bn1.weight")
    }
  )");
  EXPECT_EQ(g.dataflow.node(0).weight_scopes, (std::vector<Names>{{"layer1", "0", "bn1"}}));
}

// ---- malformed graphs ------------------------------------------------------

TEST(IndexErrors, AValueReadButNeverProduced) {
  const std::string message = error_from([] {
    graph_from_text(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[N] x) => (float[N] y) {
        [add] y = Add(x, ghost)
      }
    )");
  });
  EXPECT_TRUE(mentions(message, {"'add'", "'ghost'"}));
}

TEST(IndexErrors, AValueReadOnlyByASubgraphButNeverProduced) {
  const std::string message = error_from([] {
    graph_from_text(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (bool c, float[2] x) => (float[2] y) {
        [if] y = If(c) <then_branch = then_g () => (float[2] t) { t = Neg(ghost) },
                        else_branch = else_g () => (float[2] e) { e = Neg(x) }>
      }
    )");
  });
  EXPECT_TRUE(mentions(message, {"'if'", "'ghost'"}));
}

TEST(IndexErrors, AGraphOutputThatNothingProduces) {
  const std::string message = error_from([] {
    graph_from_text(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[N] x) => (float[N] y, float[N] missing) {
        y = Relu(x)
      }
    )");
  });
  EXPECT_TRUE(mentions(message, {"graph output", "'missing'"}));
}

TEST(IndexErrors, AValueProducedTwice) {
  const std::string message = error_from([] {
    graph_from_text(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[N] x) => (float[N] y) {
        [first] a = Relu(x)
        [second] a = Neg(x)
        y = Abs(a)
      }
    )");
  });
  EXPECT_TRUE(mentions(message, {"'a'", "produced twice", "'first'", "'second'"}));
}

TEST(IndexErrors, ANodeWritingAGraphInputOrInitializer) {
  const std::string input = error_from([] {
    graph_from_text(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[N] x) => (float[N] y) {
        [clobber] x = Relu(x)
        y = Abs(x)
      }
    )");
  });
  EXPECT_TRUE(mentions(input, {"'clobber'", "'x'"}));
  const std::string initializer = error_from([] {
    graph_from_text(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[2] x) => (float[2] y) <float[2] w = {1, 2}> {
        [clobber] w = Relu(x)
        y = Add(x, w)
      }
    )");
  });
  EXPECT_TRUE(mentions(initializer, {"'clobber'", "'w'"}));
}

TEST(IndexErrors, TwoInitializersWithOneName) {
  const std::string message = error_from([] {
    graph_from_text(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[2] x) => (float[2] y) <float[2] w = {1, 2}, float[2] w = {3, 4}> {
        y = Add(x, w)
      }
    )");
  });
  EXPECT_TRUE(mentions(message, {"'w'", "defined twice"}));
}

TEST(IndexErrors, ACycle) {
  const std::string message = error_from([] {
    graph_from_text(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[N] x) => (float[N] y) {
        [start] s = Relu(x)
        [loop_a] a = Add(s, b)
        [loop_b] b = Neg(a)
        [end] y = Abs(b)
      }
    )");
  });
  EXPECT_TRUE(mentions(message, {"cycle", "'loop_a'"}));
}

TEST(IndexErrors, ANodeReadingItsOwnOutput) {
  const std::string message = error_from([] {
    graph_from_text(R"(
      <ir_version: 8, opset_import: ["" : 17]>
      g (float[N] x) => (float[N] y) {
        [self] y = Add(x, y)
      }
    )");
  });
  EXPECT_TRUE(mentions(message, {"cycle", "'self'"}));
}

TEST(IndexErrors, BytesThatAreNotAModel) {
  EXPECT_TRUE(mentions(error_from([] { onnx::OnnxModel::from_bytes("", "empty.onnx"); }), {"empty.onnx", "empty"}));
  EXPECT_TRUE(mentions(error_from([] { onnx::OnnxModel::from_bytes("hello, world", "text.onnx"); }),
                       {"text.onnx", "not an ONNX model"}));
  // A well-formed protobuf without a graph is not a model either.
  std::string ir_only;
  wire::put_varint(ir_only, (1u << 3) | 0u);  // ir_version = 8
  wire::put_varint(ir_only, 8);
  EXPECT_TRUE(mentions(error_from([&] { onnx::OnnxModel::from_bytes(ir_only, "bare.onnx"); }), {"bare.onnx", "graph"}));
}

TEST(IndexErrors, TruncatedBytesNameTheFile) {
  const std::string bytes = modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] y) {
      y = Relu(x)
    }
  )");
  const std::string truncated = bytes.substr(0, bytes.size() - 5);
  EXPECT_TRUE(
      mentions(error_from([&] { onnx::OnnxModel::from_bytes(truncated, "cut_short.onnx"); }), {"cut_short.onnx"}));
}

}  // namespace
}  // namespace modelcut::test
