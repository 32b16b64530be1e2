// Tests of resolving a user's cut name (resolve_cut, LayerIndex): tensors,
// nodes, and layers by full path, trailing part, PyTorch dotted path (at any
// depth, for both PyTorch exporters) or Keras 3 call suffix; explicit
// prefixes; match tiers; fused, folded and dropped layers; and the messages
// for ambiguous and unknown names.
#include <gtest/gtest.h>

#include "support/graphs.h"

namespace modelcut::test {
namespace {

// Two Keras-style dense layers under "model".
constexpr const char* kDense = R"(
  <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
  g (float[N, 4] x) => (float[N, 4] y) <float[4] weight = {1, 2, 3, 4}> {
    ["model/fc1/MatMul"] h1 = Mul(x, weight)
    ["model/fc1/Relu"] a1 = Relu(h1)
    ["model/fc2/MatMul"] h2 = Abs(a1)
    ["model/fc2/BiasAdd"] y = Exp(h2)
  }
)";

// A PyTorch ResNet-like naming (TorchScript exporter).
constexpr const char* kTorch = R"(
  <ir_version: 8, opset_import: ["" : 17], producer_name: "pytorch">
  g (float[N] x) => (float[N] y) {
    ["/layer1/layer1.0/conv1/Conv"] a = Relu(x)
    ["/layer1/layer1.0/relu/Relu"] b = Neg(a)
    ["/layer1/layer1.1/conv1/Conv"] c = Abs(b)
    ["/fc/Gemm"] y = Exp(c)
  }
)";

CutPoint resolve(const Graph& g, const std::string& spec) {
  const LayerIndex layers(g.dataflow);
  return resolve_cut(g.dataflow, layers, spec);
}

std::string resolve_error(const Graph& g, const std::string& spec) {
  return error_from([&] { resolve(g, spec); });
}

TEST(Resolve, ATensorName) {
  const Graph g = graph_from_text(kDense);
  const CutPoint cut = resolve(g, "a1");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Tensor);
  EXPECT_EQ(cut.spec, "a1");
  EXPECT_EQ(cut.resolved_name, "a1");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"a1"}));
  EXPECT_STREQ(to_string(cut.kind), "tensor");
}

TEST(Resolve, ANodeNameGivesAllItsOutputs) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 2] y) {
      [split] lo, hi = Split <axis = 1, num_outputs = 2> (x)
      [add] y = Add(hi, lo)
    }
  )");
  const CutPoint cut = resolve(g, "split");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Node);
  EXPECT_EQ(cut.resolved_name, "split");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"lo", "hi"}));
}

TEST(Resolve, AScopedNodeName) {
  const Graph g = graph_from_text(kDense);
  const CutPoint cut = resolve(g, "model/fc1/Relu");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Node);
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"a1"}));
}

TEST(Resolve, ALayerByItsFullPath) {
  const Graph g = graph_from_text(kDense);
  const CutPoint cut = resolve(g, "model/fc1");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Layer);
  EXPECT_EQ(cut.resolved_name, "model/fc1");
  // h1 is read only inside fc1; a1 leaves it.
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"a1"}));
}

TEST(Resolve, ALayerByATrailingPartOfItsPath) {
  const Graph g = graph_from_text(kDense);
  const CutPoint cut = resolve(g, "fc2");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Layer);
  EXPECT_EQ(cut.spec, "fc2");
  EXPECT_EQ(cut.resolved_name, "model/fc2");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"y"}));  // a graph output
}

TEST(Resolve, ALayerByItsPyTorchModulePath) {
  const Graph g = graph_from_text(kTorch);
  CutPoint cut = resolve(g, "layer1.0.conv1");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Layer);
  EXPECT_EQ(cut.resolved_name, "layer1.0.conv1");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"a"}));

  cut = resolve(g, "layer1.0");
  EXPECT_EQ(cut.resolved_name, "layer1.0");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"b"}));

  // The same path written with slashes, and a trailing part of it.
  EXPECT_EQ(resolve(g, "layer1/0/conv1").resolved_name, "layer1.0.conv1");
  EXPECT_EQ(resolve(g, "1.conv1").resolved_name, "layer1.1.conv1");
}

TEST(Resolve, ALayerWithoutItsKeras3CallSuffix) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N] x) => (float[N] y) {
      ["functional_1/fc1_1/MatMul"] a = Relu(x)
      ["functional_1/fc2_1/MatMul"] b = Neg(a)
      ["functional_1/fc2_1/BiasAdd"] c = Abs(b)
      ["functional_1/out_1/MatMul"] y = Exp(c)
    }
  )");
  CutPoint cut = resolve(g, "fc2");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Layer);
  EXPECT_EQ(cut.resolved_name, "functional_1/fc2_1");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"c"}));
  EXPECT_EQ(resolve(g, "functional/fc2").resolved_name, "functional_1/fc2_1");
  EXPECT_EQ(resolve(g, "fc2_1").resolved_name, "functional_1/fc2_1");
}

TEST(Resolve, PrefixesSayWhatTheNameIs) {
  // "fc1" is both a tensor and (a trailing part of) a layer.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N] x) => (float[N] y) {
      ["model/fc1/MatMul"] fc1 = Relu(x)
      ["model/fc1/Relu"] a1 = Neg(fc1)
      ["model/fc2/MatMul"] y = Abs(a1)
    }
  )");
  // Unprefixed, a tensor name wins.
  EXPECT_EQ(resolve(g, "fc1").kind, CutPoint::Kind::Tensor);

  CutPoint cut = resolve(g, "layer:fc1");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Layer);
  EXPECT_EQ(cut.spec, "layer:fc1");
  EXPECT_EQ(cut.resolved_name, "model/fc1");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"a1"}));

  cut = resolve(g, "tensor:fc1");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Tensor);
  EXPECT_EQ(cut.resolved_name, "fc1");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"fc1"}));

  cut = resolve(g, "node:model/fc1/Relu");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Node);
  EXPECT_EQ(cut.resolved_name, "model/fc1/Relu");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"a1"}));

  // A prefix restricts the search to its kind.
  EXPECT_TRUE(mentions(resolve_error(g, "tensor:model/fc1"), {"no tensor named 'model/fc1'"}));
  EXPECT_TRUE(mentions(resolve_error(g, "node:fc1"), {"no node named 'fc1'"}));
  EXPECT_TRUE(mentions(resolve_error(g, "layer:a1"), {"no layer named 'a1'"}));
  EXPECT_TRUE(mentions(resolve_error(g, "layer:"), {"empty cut name", "'layer:'"}));
}

TEST(Resolve, AFullPathBeatsATrailingPart) {
  // "fc2" is the full path of one layer and the trailing part of another.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N] x) => (float[N] y) {
      ["fc2/MatMul"] a = Relu(x)
      ["model/fc2/MatMul"] y = Neg(a)
    }
  )");
  const LayerIndex layers(g.dataflow);
  ASSERT_EQ(layers.match("fc2").size(), 1u);
  EXPECT_EQ(layers.match("fc2").front()->name, "fc2");
  const CutPoint cut = resolve(g, "fc2");
  EXPECT_EQ(cut.resolved_name, "fc2");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"a"}));
}

TEST(Resolve, AnExactTrailingPartBeatsAStrippedCallSuffix) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N] x) => (float[N] y) {
      ["enc/fc2_1/MatMul"] a = Relu(x)
      ["dec/fc2/MatMul"] y = Neg(a)
    }
  )");
  EXPECT_EQ(resolve(g, "fc2").resolved_name, "dec/fc2");
}

TEST(Resolve, AnAmbiguousNameListsTheCandidates) {
  const Graph g = graph_from_text(kTorch);
  const std::string message = resolve_error(g, "conv1");
  EXPECT_TRUE(mentions(message, {"'conv1'", "matches 2 layers", "'layer1.0.conv1'", "'layer1.1.conv1'", "full path"}));
}

TEST(Resolve, AVeryAmbiguousNameListsFiveCandidates) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N] x) => (float[N] y) {
      ["b0/fc/Op"] a0 = Relu(x)
      ["b1/fc/Op"] a1 = Relu(a0)
      ["b2/fc/Op"] a2 = Relu(a1)
      ["b3/fc/Op"] a3 = Relu(a2)
      ["b4/fc/Op"] a4 = Relu(a3)
      ["b5/fc/Op"] y = Relu(a4)
    }
  )");
  const std::string message = resolve_error(g, "fc");
  EXPECT_TRUE(mentions(message, {"matches 6 layers", "'b0/fc'", "'b4/fc'", "..."}));
  EXPECT_FALSE(mentions(message, {"'b5/fc'"}));
}

TEST(Resolve, AnUnknownNameSuggestsTheClosestNames) {
  const Graph g = graph_from_text(kDense);
  const LayerIndex layers(g.dataflow);
  const std::vector<std::string> closest = closest_names(g.dataflow, layers, "fc3");
  ASSERT_GE(closest.size(), 2u);
  EXPECT_EQ(closest[0], "model/fc1");
  EXPECT_EQ(closest[1], "model/fc2");
  EXPECT_LE(closest.size(), 5u);
  EXPECT_EQ(closest_names(g.dataflow, layers, "fc3", 1), (Names{"model/fc1"}));

  const std::string message = resolve_error(g, "fc3");
  EXPECT_TRUE(mentions(message, {"no tensor, node or layer named 'fc3'", "did you mean 'model/fc1', 'model/fc2'"}));
  EXPECT_TRUE(mentions(resolve_error(g, "layer:fc3"), {"no layer named 'fc3'", "did you mean"}));
}

TEST(Resolve, SuggestionsLeaveOutStoredConstants) {
  // Initializers cannot be cut at, so they are never suggested.
  const Graph g = graph_from_text(kDense);
  const LayerIndex layers(g.dataflow);
  for (const std::string& name : closest_names(g.dataflow, layers, "weigh", 100)) EXPECT_NE(name, "weight");
  EXPECT_TRUE(mentions(resolve_error(g, "h3"), {"'h1'", "'h2'"}));
}

TEST(Resolve, ALayerReadByNothingOutsideIt) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N] x) => (float[N] y) {
      ["model/dead/Neg"] d = Neg(x)
      ["model/live/Relu"] y = Relu(x)
    }
  )");
  EXPECT_TRUE(mentions(resolve_error(g, "dead"), {"'model/dead'", "no output"}));
}

// tf2onnx folded the batch norm "bn" into the convolution before it: bn has
// no node of its own, only a weight read by the convolution's BiasAdd.
constexpr const char* kFused = R"(
  <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
  g (float[N, 2] x) => (float[N, 2] y)
    <float[2] "model/conv/kernel:0" = {1, 2}, float[2] "model/bn/beta:0" = {3, 4}> {
    ["model/conv/Conv2D"] c = Mul(x, "model/conv/kernel:0")
    ["model/conv/BiasAdd"] cb = Add(c, "model/bn/beta:0")
    ["model/relu/Relu"] y = Relu(cb)
  }
)";

TEST(Resolve, ALayerFusedAwayResolvesToTheNodesReadingItsWeights) {
  const Graph g = graph_from_text(kFused);
  const CutPoint cut = resolve(g, "bn");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Layer);
  EXPECT_TRUE(mentions(cut.resolved_name, {"model/bn", "fused"}));
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"cb"}));

  const LayerIndex layers(g.dataflow);
  const auto matches = layers.match("model/bn");
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_TRUE(matches.front()->fused);
  EXPECT_EQ(node_names(g.dataflow, matches.front()->nodes), (Names{"model/conv/BiasAdd"}));
  EXPECT_FALSE(layers.match("model/conv").front()->fused);
  // Fused layers are not offered as suggestions.
  for (const std::string& name : closest_names(g.dataflow, layers, "model/bm", 100)) EXPECT_NE(name, "model/bn");
}

TEST(Resolve, ALayerWithNodesBeatsAFusedOne) {
  // "bn" is only a stripped call suffix of head/bn_1, but head/bn_1 has nodes.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N, 2] x) => (float[N, 2] y) <float[2] "model/bn/beta:0" = {3, 4}> {
      ["model/conv/BiasAdd"] cb = Add(x, "model/bn/beta:0")
      ["head/bn_1/Relu"] y = Relu(cb)
    }
  )");
  EXPECT_EQ(resolve(g, "bn").resolved_name, "head/bn_1");
  EXPECT_TRUE(mentions(resolve(g, "model/bn").resolved_name, {"fused"}));
}

TEST(LayerIndex, LayersAreEveryScopePrefixInOrderOfFirstNode) {
  const Graph g = graph_from_text(kTorch);
  const LayerIndex layers(g.dataflow);
  Names names;
  std::vector<std::size_t> depths;
  for (const Layer& layer : layers.layers()) {
    names.push_back(layer.name);
    depths.push_back(layer.path.size());
  }
  EXPECT_EQ(names,
            (Names{"layer1", "layer1.0", "layer1.0.conv1", "layer1.0.relu", "layer1.1", "layer1.1.conv1", "fc"}));
  EXPECT_EQ(depths, (std::vector<std::size_t>{1, 2, 3, 3, 2, 3, 1}));
  EXPECT_EQ(layers.layers()[0].path, (Names{"layer1"}));
  EXPECT_EQ(node_names(g.dataflow, layers.layers()[0].nodes),
            (Names{"/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/relu/Relu", "/layer1/layer1.1/conv1/Conv"}));
}

TEST(LayerIndex, ALayersOutputsAreWhatIsReadOutsideItOrReturned) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N] x) => (float[N] y, float[N] t3) {
      ["block/a/Relu"] t1 = Relu(x)
      ["block/b/Neg"] t2 = Neg(t1)
      ["block/k/Const"] k = Constant <value = float {2}> ()
      ["block/c/Abs"] t3 = Abs(t2)
      ["head/Mul"] y = Mul(t2, k)
    }
  )");
  const LayerIndex layers(g.dataflow);
  auto outputs_of = [&](const std::string& name) {
    for (const Layer& layer : layers.layers()) {
      if (layer.name == name) return value_names(g.dataflow, layer.outputs);
    }
    ADD_FAILURE() << "no layer " << name;
    return Names{};
  };
  // t1 is read only inside the block; t2 by the head; t3 is a graph output;
  // the Constant node's k never counts (it is copied wherever it is needed).
  EXPECT_EQ(outputs_of("block"), (Names{"t2", "t3"}));
  EXPECT_EQ(outputs_of("block/a"), (Names{"t1"}));
  EXPECT_EQ(outputs_of("block/b"), (Names{"t2"}));
  EXPECT_EQ(outputs_of("block/k"), (Names{}));
  EXPECT_EQ(outputs_of("head"), (Names{"y"}));
}

// Node names as PyTorch's TorchScript exporter writes them: each module's
// scope is the tail of its path from the last non-numeric atom on, so
// "downsample.0" continues "layer3.0.downsample" (torchvision resnet18), and
// "block.0.0" continues "features.1.block.0" (mobilenet_v3_small).
TEST(Resolve, TorchScriptModulePathsAtAnyDepth) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "pytorch">
    g (float[N] x) => (float[N] y) {
      ["/layer3/layer3.0/conv1/Conv"] a = Relu(x)
      ["/layer3/layer3.0/downsample/downsample.0/Conv"] b = Neg(x)
      ["/layer3/layer3.0/Add"] c = Add(a, b)
      ["/features/features.1/block/block.0/block.0.0/Conv"] d = Abs(c)
      ["/features/features.1/block/block.1/fc1/Conv"] e = Abs(d)
      ["/encoder/layer.0/attention/self/query/MatMul"] f = Abs(e)
      ["/0/0.1/Relu"] y = Relu(f)
    }
  )");
  const Dataflow& df = g.dataflow;
  EXPECT_EQ(df.node(1).scope, (Names{"layer3", "0", "downsample", "0"}));
  EXPECT_EQ(df.node(3).scope, (Names{"features", "1", "block", "0", "0"}));
  EXPECT_EQ(df.node(4).scope, (Names{"features", "1", "block", "1", "fc1"}));
  // A ModuleList is never called, so it has no scope of its own.
  EXPECT_EQ(df.node(5).scope, (Names{"encoder", "layer", "0", "attention", "self", "query"}));
  // A model that is itself a Sequential: every atom of the path is a number.
  EXPECT_EQ(df.node(6).scope, (Names{"0", "1"}));

  EXPECT_EQ(value_names(df, resolve(g, "layer3.0.downsample.0").values), (Names{"b"}));
  EXPECT_EQ(value_names(df, resolve(g, "layer3.0.downsample").values), (Names{"b"}));
  EXPECT_EQ(value_names(df, resolve(g, "layer3.0").values), (Names{"c"}));
  EXPECT_EQ(value_names(df, resolve(g, "features.1.block.0.0").values), (Names{"d"}));
  EXPECT_EQ(value_names(df, resolve(g, "encoder.layer.0.attention.self.query").values), (Names{"f"}));
  EXPECT_EQ(resolve(g, "0.1").resolved_name, "0.1");
  EXPECT_TRUE(mentions(resolve_error(g, "layer3.0.downsample.downsample.0"), {"no tensor, node or layer"}));
}

TEST(Resolve, DynamoModulePathsAreSplitAtDots) {
  std::string bytes = modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 9, opset_import: ["" : 18], producer_name: "pytorch">
    g (float[N] x) => (float[N] y) {
      [node_MatMul_0] a = Relu(x)
      [node_Conv_1] y = Neg(a)
    }
  )");
  bytes = with_node_metadata(bytes, "node_MatMul_0", "pkg.torch.onnx.name_scopes",
                             "['', 'encoder', 'encoder.layer.0', 'encoder.layer.0.attention', 'linear']");
  bytes = with_node_metadata(bytes, "node_Conv_1", "pkg.torch.onnx.name_scopes",
                             "['', 'layer3', 'layer3.0', 'layer3.0.downsample', 'layer3.0.downsample.1', 'conv']");
  const Graph g = graph_from_bytes(bytes);
  EXPECT_EQ(g.dataflow.node(0).scope, (Names{"encoder", "layer", "0", "attention"}));
  EXPECT_EQ(g.dataflow.node(1).scope, (Names{"layer3", "0", "downsample", "1"}));
  EXPECT_EQ(value_names(g.dataflow, resolve(g, "encoder.layer.0").values), (Names{"a"}));
}

// The issue's case: the squeeze-excitation block "features.4.block.2" has
// nodes of its own, and its weights name it too. The name must give the
// block's output (after its Mul), never the fused-layer cut inside it.
TEST(Resolve, ANameWithNodesOfItsOwnNeverFallsThroughToTheFusedRule) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "pytorch">
    g (float[N, 2] x) => (float[N, 2] y)
      <float[2] "features.4.block.2.fc1.weight" = {1, 2}, float[2] "features.4.block.2.fc2.weight" = {3, 4}> {
      ["/features/features.4/block/block.2/avgpool/GlobalAveragePool"] p = Relu(x)
      ["/features/features.4/block/block.2/fc1/Conv"] s1 = Mul(p, "features.4.block.2.fc1.weight")
      ["/features/features.4/block/block.2/fc2/Conv"] s2 = Mul(s1, "features.4.block.2.fc2.weight")
      ["/features/features.4/block/block.2/Mul"] m = Mul(s2, x)
      ["/features/features.4/block/block.3/block.3.0/Conv"] y = Neg(m)
    }
  )");
  for (const Node& node : g.dataflow.nodes()) EXPECT_TRUE(node.weight_scopes.empty()) << node.name;
  const CutPoint cut = resolve(g, "features.4.block.2");
  EXPECT_EQ(cut.resolved_name, "features.4.block.2");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"m"}));
  for (const Layer& layer : LayerIndex(g.dataflow).layers()) EXPECT_FALSE(layer.fused) << layer.name;
}

TEST(Resolve, AFusedLayerNeverShadowsALayerWithNodesWhateverTheTier) {
  // "bn" matches the fused layer "bn" by its full path, and the layer with
  // nodes "head/bn_1" only without its call suffix: the latter still wins.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N, 2] x) => (float[N, 2] y) <float[2] "bn/beta:0" = {3, 4}> {
      ["conv/BiasAdd"] cb = Add(x, "bn/beta:0")
      ["head/bn_1/Relu"] y = Relu(cb)
    }
  )");
  const LayerIndex layers(g.dataflow);
  const auto matches = layers.match("bn");
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_EQ(matches.front()->name, "head/bn_1");
}

// TorchScript folds a BatchNorm into the Conv before it: the Conv reads new
// weights named "onnx::Conv_<n>", and its value is the BatchNorm's output.
constexpr const char* kFolded = R"(
  <ir_version: 8, opset_import: ["" : 17], producer_name: "pytorch">
  g (float[N, 2, 4, 4] x) => (float[N, 2, 4, 4] y)
    <float[2, 2, 1, 1] "onnx::Conv_7" = {1, 2, 3, 4}, float[2] "onnx::Conv_8" = {1, 2},
     float[2, 2, 1, 1] "layer1.0.conv2.weight" = {1, 2, 3, 4}, float[2] "layer1.0.conv2.bias" = {1, 2}> {
    ["/layer1/layer1.0/conv1/Conv"] a = Conv(x, "onnx::Conv_7", "onnx::Conv_8")
    ["/layer1/layer1.0/conv2/Conv"] b = Conv(a, "layer1.0.conv2.weight", "layer1.0.conv2.bias")
    ["/layer1/layer1.0/relu/Relu"] y = Relu(b)
  }
)";

TEST(Resolve, AConvWithAFoldedBatchNormSaysItsCutIsAfterTheBatchNorm) {
  const Graph g = graph_from_text(kFolded);
  const CutPoint cut = resolve(g, "layer1.0.conv1");
  EXPECT_TRUE(mentions(cut.resolved_name, {"layer1.0.conv1", "folded the layer after it", "BatchNorm"}));
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"a"}));
  EXPECT_EQ(resolve(g, "layer1.0.conv2").resolved_name, "layer1.0.conv2");  // its own weights
  EXPECT_EQ(resolve(g, "layer1.0").resolved_name, "layer1.0");              // ends after it anyway
}

TEST(Resolve, ADroppedLayerInANumberedContainerNamesTheCutBeforeIt) {
  // torchvision's classifier: Linear, Hardswish, Dropout (dropped), Linear.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "pytorch">
    g (float[N] x) => (float[N] y) {
      ["/classifier/classifier.0/Gemm"] a = Relu(x)
      ["/classifier/classifier.1/HardSwish"] b = Neg(a)
      ["/classifier/classifier.3/Gemm"] y = Abs(b)
    }
  )");
  std::string message = resolve_error(g, "classifier.2");
  EXPECT_TRUE(mentions(message, {"no tensor, node or layer named 'classifier.2'", "the exporter left it out",
                                 "drop layers that compute nothing at inference",
                                 "cutting at 'classifier.1' gives the same values", "did you mean"}))
      << message;
  EXPECT_TRUE(mentions(resolve_error(g, "layer:classifier.2"), {"cutting at 'classifier.1'"}));
  // A name without a container: the reason, but no cut can be named.
  message = resolve_error(g, "dropout");
  EXPECT_TRUE(mentions(message, {"the exporter left it out", "did you mean"})) << message;
  EXPECT_EQ(message.find("cutting at"), std::string::npos);
  // Not a numbered position: no cut can be named.
  EXPECT_EQ(resolve_error(g, "classifier.0x").find("cutting at"), std::string::npos);
  // A path whose parent is no layer either is a misspelling, not a dropped layer.
  EXPECT_EQ(resolve_error(g, "clasifier.2").find("left it out"), std::string::npos);
  // Tensor and node names are never layers.
  EXPECT_EQ(resolve_error(g, "tensor:classifier.2").find("left it out"), std::string::npos);
}

TEST(Resolve, ATransposeMovedByTf2onnxBelongsToNoLayer) {
  // tf2onnx named the input's layout Transpose after a node of bn_Conv1 and
  // folded that batch norm into the Conv: bn_Conv1 is known from its weight.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N, 2] x) => (float[N, 2] y) <float[2] "model/bn_Conv1/batchnorm/sub:0" = {3, 4}> {
      ["model/bn_Conv1/batchnorm/mul_1__6"] t = Transpose(x)
      ["Conv__339"] c = Add(t, "model/bn_Conv1/batchnorm/sub:0")
      ["model/Conv1_relu/Relu6"] y = Relu(c)
    }
  )");
  EXPECT_TRUE(g.dataflow.node(0).scope.empty());
  const CutPoint cut = resolve(g, "bn_Conv1");
  EXPECT_TRUE(mentions(cut.resolved_name, {"model/bn_Conv1", "fused"}));
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"c"}));
}

TEST(Resolve, ALayoutNodeMadeInsideItsOwnLayerStaysThere) {
  // The Squeeze tf2onnx adds after a global pooling reads the pooling's own
  // value: the layer's output is the squeezed one, as in Keras.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "tf2onnx">
    g (float[N, 2, 1, 1] x) => (float[N, 2] y) {
      ["model/pool/Mean"] m = Relu(x)
      ["model/pool/Mean_Squeeze__669"] s = Squeeze(m)
      ["model/fc/MatMul"] y = Abs(s)
    }
  )");
  EXPECT_EQ(g.dataflow.node(1).scope, (Names{"model", "pool"}));
  EXPECT_EQ(value_names(g.dataflow, resolve(g, "pool").values), (Names{"s"}));
}

// The dynamo exporter names values after FX nodes: a value and a top-level
// module can share a name. Different cuts under one name must be spelled out.
TEST(Resolve, ANameThatIsATensorAndADifferentLayerMustSayWhich) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "pytorch">
    g (float[N] x) => (float[N] y) {
      ["/relu/Relu"] a = Relu(x)
      ["/fc/Gemm"] relu = Neg(a)
      ["/out/Exp"] y = Exp(relu)
    }
  )");
  EXPECT_NE(resolve_error(g, "relu").find("is both a tensor and a layer"), std::string::npos)
      << resolve_error(g, "relu");
  EXPECT_EQ(value_names(g.dataflow, resolve(g, "tensor:relu").values), (Names{"relu"}));
  EXPECT_EQ(value_names(g.dataflow, resolve(g, "layer:relu").values), (Names{"a"}));
}

TEST(Resolve, ANameThatIsATensorAndTheSameLayerOutputIsNotAmbiguous) {
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "pytorch">
    g (float[N] x) => (float[N] y) {
      ["/relu/Relu"] relu = Relu(x)
      ["/out/Exp"] y = Exp(relu)
    }
  )");
  const CutPoint cut = resolve(g, "relu");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Tensor);
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"relu"}));
}

}  // namespace
}  // namespace modelcut::test

namespace modelcut::test {
namespace {

// ---- several tensors at once (tensors:a,b) --------------------------------

TEST(ResolveTensors, SeveralTensorsInTheGivenOrder) {
  const Graph g = graph_from_text(kDense);
  const CutPoint cut = resolve(g, "tensors:a1,h1");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Tensor);
  EXPECT_EQ(cut.resolved_name, "a1,h1");
  EXPECT_EQ(value_names(g.dataflow, cut.values), (Names{"a1", "h1"}));
  EXPECT_EQ(value_names(g.dataflow, resolve(g, "tensors:h2").values), (Names{"h2"}));
}

TEST(ResolveTensors, AnUnknownNameIsNamed) {
  const Graph g = graph_from_text(kDense);
  EXPECT_TRUE(mentions(resolve_error(g, "tensors:a1,hh2"),
                       {"no tensor named 'hh2'", "'tensors:a1,hh2'", "separated by ','", "did you mean", "'h2'"}));
  // A layer name is no tensor name.
  EXPECT_TRUE(mentions(resolve_error(g, "tensors:model/fc1,a1"), {"no tensor named 'model/fc1'"}));
}

TEST(ResolveTensors, EmptyAndRepeatedNamesAreRefused) {
  const Graph g = graph_from_text(kDense);
  EXPECT_TRUE(mentions(resolve_error(g, "tensors:"), {"empty tensor name", "'tensors:'"}));
  EXPECT_TRUE(mentions(resolve_error(g, "tensors:a1,,h1"), {"empty tensor name"}));
  EXPECT_TRUE(mentions(resolve_error(g, "tensors:a1,"), {"empty tensor name"}));
  EXPECT_TRUE(mentions(resolve_error(g, "tensors:a1,h1,a1"), {"names the tensor 'a1' twice"}));
}

TEST(ResolveTensors, PartitionPutsTheirAncestorsFirst) {
  // A residual block: a cut after both the inner value and the skip.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 4] y) {
      [stem] s = Relu(x)
      [conv1] h = Neg(s)
      [conv2] r = Abs(h)
      [add] y = Add(r, s)
    }
  )");
  const Partition p = partition_dataflow(g.dataflow, cuts_at(g.dataflow, {"tensors:h,s"}));
  EXPECT_EQ(node_names(g.dataflow, p.parts[0].nodes), (Names{"stem", "conv1"}));
  EXPECT_EQ(value_names(g.dataflow, p.boundary(0)), (Names{"h", "s"}));
  EXPECT_TRUE(is_valid_chain(g.dataflow, p));
  // A graph input among them is refused as any cut at it is.
  EXPECT_TRUE(mentions(error_from([&] { partition_dataflow(g.dataflow, cuts_at(g.dataflow, {"tensors:h,x"})); }),
                       {"'x'", "graph input"}));
}

}  // namespace
}  // namespace modelcut::test
