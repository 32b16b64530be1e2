// Tests of writing parts and merging them back: onnx::emit_part and
// onnx::merge_parts on models in memory, then the public API (split_model,
// merge_parts) on files in a temporary directory. Each part must load again,
// carry only what it uses, and merge back into the original graph.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "formats/onnx/emit_onnx.h"
#include "formats/onnx/wire.h"
#include "modelcut/modelcut.h"
#include "support/graphs.h"
#include "util/mapped_file.h"

namespace modelcut::test {
namespace {

namespace fs = std::filesystem;

// A chain with weights, typed intermediate values with a symbolic batch
// size, a local function calling another one, and an unused function and
// initializer.
constexpr const char* kNet = R"(
  <ir_version: 8, opset_import: ["" : 17, "local" : 1], producer_name: "test",
   metadata_props: ["origin" : "unit test"]>
  g (float[N, 4] x) => (float[N, 4] y)
    <float[4] w1 = {1, 2, 3, 4}, float[4] w2 = {5, 6, 7, 8}, float[4] spare = {0, 0, 0, 0},
     float[N, 4] h, float[N, 4] a, float[N, 4] b> {
    [n1] h = Add(x, w1)
    [n2] a = local.Twice(h)
    [n3] b = Relu(a)
    [n4] y = Mul(b, w2)
  }
  <domain: "local", opset_import: ["" : 17, "local" : 1]>
  Twice (t) => (u) { u = local.Double(t) }
  <domain: "local", opset_import: ["" : 17]>
  Double (t) => (u) { u = Add(t, t) }
  <domain: "local", opset_import: ["" : 17]>
  Unused (t) => (u) { u = Neg(t) }
)";

// The same without anything unused, for round trips.
constexpr const char* kRoundTrip = R"(
  <ir_version: 8, opset_import: ["" : 17, "local" : 1], producer_name: "test">
  g (float[N, 4] x, float[N, 4] mask) => (float[N, 4] y)
    <float[4] w1 = {1, 2, 3, 4}, float[4] w2 = {5, 6, 7, 8},
     float[N, 4] s, float[N, 4] h, float[N, 4] r, float[N, 4] t, float[N, 4] u> {
    [two] k = Constant <value = float {2}> ()
    [stem] s = Add(x, w1)
    [conv1] h = local.Double(s)
    [conv2] r = Mul(h, k)
    [add] t = Sum(r, s, w2)
    [scale] u = Mul(t, k)
    [out] y = Mul(u, mask)
  }
  <domain: "local", opset_import: ["" : 17]>
  Double (t) => (u) { u = Add(t, t) }
)";

struct Parts {
  Graph source;
  Partition partition;
  std::vector<std::string> bytes;  // one serialized ModelProto per part
};

// Part `index` as a serialized ModelProto, weights inline.
std::string emit(const onnx::OnnxModel& model, const Dataflow& dataflow, const Partition& partition,
                 std::size_t index) {
  WeightOptions weights;
  weights.mode = WeightMode::Inline;
  return onnx::emit_part(model, dataflow, partition, index, weights, "part.onnx").model.to_string();
}

Parts split_text(const char* text, const std::vector<std::string>& specs) {
  Parts parts{graph_from_text(text), {}, {}};
  parts.partition = partition_dataflow(parts.source.dataflow, cuts_at(parts.source.dataflow, specs));
  for (std::size_t k = 0; k < parts.partition.parts.size(); ++k) {
    parts.bytes.push_back(emit(*parts.source.model, parts.source.dataflow, parts.partition, k));
  }
  return parts;
}

std::unique_ptr<onnx::OnnxModel> load(const std::string& bytes, const std::string& label = "part.onnx") {
  return onnx::OnnxModel::from_bytes(bytes, label);
}

Names initializer_names(const onnx::OnnxModel& model) {
  Names names;
  for (const auto& tensor : model.initializers) names.push_back(tensor.name);
  return names;
}

Names function_names(const onnx::OnnxModel& model) {
  Names names;
  for (const auto& function : model.functions) names.push_back(function.domain + "." + function.name);
  return names;
}

Names io_names(const std::vector<onnx::ValueInfoRef>& list) {
  Names names;
  for (const auto& info : list) names.push_back(info.name);
  return names;
}

std::string type_of(const onnx::OnnxModel& model, const std::string& name) {
  auto it = model.types.find(name);
  if (it == model.types.end()) return "(no type)";
  return onnx::tensor_info_from_type(it->second, model.label).describe();
}

std::string merged_bytes(const std::vector<std::string>& part_bytes) {
  std::vector<std::unique_ptr<onnx::OnnxModel>> models;
  for (std::size_t k = 0; k < part_bytes.size(); ++k) {
    models.push_back(load(part_bytes[k], "part" + std::to_string(k + 1) + ".onnx"));
  }
  return onnx::merge_parts(models, "merged.onnx").to_string();
}

TEST(EmitPart, EachPartLoadsAndIndexesAgain) {
  const Parts parts = split_text(kNet, {"h"});
  ASSERT_EQ(parts.bytes.size(), 2u);
  for (const std::string& bytes : parts.bytes) {
    const Graph part = graph_from_bytes(bytes);  // throws on a malformed graph
    EXPECT_FALSE(part.dataflow.nodes().empty());
  }
  const auto first = load(parts.bytes[0]);
  const auto second = load(parts.bytes[1]);
  EXPECT_EQ(first->nodes.size(), 1u);
  EXPECT_EQ(first->nodes[0].name, "n1");
  EXPECT_EQ(io_names(first->inputs), (Names{"x"}));
  EXPECT_EQ(io_names(first->outputs), (Names{"h"}));
  EXPECT_EQ(second->nodes.size(), 3u);
  EXPECT_EQ(io_names(second->inputs), (Names{"h"}));
  EXPECT_EQ(io_names(second->outputs), (Names{"y"}));
  EXPECT_EQ(first->graph_name, "g");
}

TEST(EmitPart, NodesAreCopiedByteForByte) {
  const Parts parts = split_text(kNet, {"h"});
  const auto second = load(parts.bytes[1]);
  ASSERT_EQ(second->nodes.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(second->nodes[i].payload, parts.source.model->nodes[i + 1].payload);
}

TEST(EmitPart, APartCarriesOnlyTheInitializersItUses) {
  const Parts parts = split_text(kNet, {"h"});
  EXPECT_EQ(initializer_names(*load(parts.bytes[0])), (Names{"w1"}));
  EXPECT_EQ(initializer_names(*load(parts.bytes[1])), (Names{"w2"}));
  EXPECT_EQ(load(parts.bytes[0])->initializers[0].payload, parts.source.model->initializers[0].payload);
}

TEST(EmitPart, BoundaryValuesAreTypedWithSymbolicDimsKept) {
  const Parts parts = split_text(kNet, {"h"});
  const auto first = load(parts.bytes[0]);
  const auto second = load(parts.bytes[1]);
  EXPECT_EQ(type_of(*first, "x"), "float32[N,4]");
  EXPECT_EQ(type_of(*first, "h"), "float32[N,4]");
  EXPECT_EQ(type_of(*second, "h"), "float32[N,4]");
  const TensorInfo h = onnx::tensor_info_from_type(second->types.at("h"), "");
  ASSERT_EQ(h.dims.size(), 2u);
  EXPECT_EQ(h.dims[0].symbol, "N");
  EXPECT_FALSE(h.dims[0].is_fixed());
  EXPECT_EQ(h.dims[1].size, 4);
  // A graph input keeps its original declaration.
  EXPECT_EQ(first->inputs[0].payload, parts.source.model->inputs[0].payload);
}

TEST(EmitPart, KeepsValueInfoOfInternalValuesOnly) {
  const Parts parts = split_text(kNet, {"h"});
  // h is an input of the second part, so its type is on the input, not in value_info.
  EXPECT_EQ(io_names(load(parts.bytes[0])->value_info), (Names{}));
  EXPECT_EQ(io_names(load(parts.bytes[1])->value_info), (Names{"a", "b"}));
}

TEST(EmitPart, KeepsModelHeaderAndOnlyTheFunctionsUsed) {
  const Parts parts = split_text(kNet, {"h"});
  const auto first = load(parts.bytes[0]);
  const auto second = load(parts.bytes[1]);
  for (const auto* part : {first.get(), second.get()}) {
    EXPECT_EQ(part->ir_version, 8);
    EXPECT_EQ(part->producer_name, "test");
    ASSERT_EQ(part->opsets.size(), 2u);
    EXPECT_EQ(part->opsets[0].domain, "");
    EXPECT_EQ(part->opsets[0].version, 17);
    EXPECT_EQ(part->opsets[1].domain, "local");
    EXPECT_EQ(part->opsets[1].version, 1);
    const bool has_metadata = std::any_of(part->model_fields.begin(), part->model_fields.end(),
                                          [](const wire::Field& f) { return f.number == 14; });
    EXPECT_TRUE(has_metadata);
  }
  // The first part calls no function; the second calls Twice, which calls Double.
  EXPECT_EQ(function_names(*first), (Names{}));
  EXPECT_EQ(function_names(*second), (Names{"local.Twice", "local.Double"}));
  EXPECT_EQ(second->functions[0].field.raw, parts.source.model->functions[0].field.raw);

  const Parts later = split_text(kNet, {"a"});
  EXPECT_EQ(function_names(*load(later.bytes[0])), (Names{"local.Twice", "local.Double"}));
  EXPECT_EQ(function_names(*load(later.bytes[1])), (Names{}));
}

TEST(EmitPart, FunctionsCalledFromSubgraphsAreKept) {
  const Parts parts = split_text(R"(
    <ir_version: 8, opset_import: ["" : 17, "local" : 1]>
    g (bool c, float[2] x) => (float[2] y) <float[2] a> {
      [n1] a = Relu(x)
      [if] y = If(c) <then_branch = then_g () => (float[2] t) { t = local.Double(a) },
                      else_branch = else_g () => (float[2] e) { e = Identity(a) }>
    }
    <domain: "local", opset_import: ["" : 17]>
    Double (t) => (u) { u = Add(t, t) }
  )",
                                 {"a"});
  EXPECT_EQ(function_names(*load(parts.bytes[0])), (Names{}));
  EXPECT_EQ(function_names(*load(parts.bytes[1])), (Names{"local.Double"}));
  EXPECT_EQ(io_names(load(parts.bytes[1])->inputs), (Names{"a", "c"}));
}

TEST(EmitPart, InitializersReadOnlyInsideSubgraphsAreCarried) {
  const Parts parts = split_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[2] x) => (float[2] y) <float[2] w = {1, 2}, float[2] v = {3, 4}, float[2] a> {
      [n1] a = Add(x, v)
      [if] y = If(c) <then_branch = then_g () => (float[2] t) { t = Mul(a, w) },
                      else_branch = else_g () => (float[2] e) { e = Identity(a) }>
    }
  )",
                                 {"a"});
  EXPECT_EQ(initializer_names(*load(parts.bytes[0])), (Names{"v"}));
  EXPECT_EQ(initializer_names(*load(parts.bytes[1])), (Names{"w"}));
}

TEST(EmitPart, DropsTrainingInfo) {
  // training_info refers to the whole model's initializers, so no part keeps it.
  std::string bytes = modelcut::testing::onnx_model_from_text(kNet);
  wire::put_varint(bytes, (20u << 3) | 2u);  // ModelProto.training_info, an empty TrainingInfoProto
  wire::put_varint(bytes, 0);
  const Graph source = graph_from_bytes(bytes);
  auto has_training_info = [](const onnx::OnnxModel& model) {
    return std::any_of(model.model_fields.begin(), model.model_fields.end(),
                       [](const wire::Field& f) { return f.number == 20; });
  };
  ASSERT_TRUE(has_training_info(*source.model));
  const Partition p = partition_dataflow(source.dataflow, cuts_at(source.dataflow, {"h"}));
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_FALSE(has_training_info(*load(emit(*source.model, source.dataflow, p, k))));
  }
}

TEST(EmitPart, ACrossingValueTypedOnlyByPropagation) {
  // No value_info at all: the library works out a's type from Relu's input.
  const Parts parts = split_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 4] x) => (float[N, 4] y) {
      a = Relu(x)
      y = Neg(a)
    }
  )",
                                 {"a"});
  EXPECT_EQ(type_of(*load(parts.bytes[0]), "a"), type_of(*load(parts.bytes[1]), "a"));
  EXPECT_EQ(type_of(*load(parts.bytes[1]), "a").rfind("float32", 0), 0u);
}

TEST(EmitPart, ConstantNodesAreCopiedIntoEveryPartThatReadsThem) {
  // k is read by conv2 (before the cut) and by scale (after it).
  const Parts parts = split_text(kRoundTrip, {"r"});
  const auto first = load(parts.bytes[0]);
  const auto second = load(parts.bytes[1]);
  auto names = [](const onnx::OnnxModel& model) {
    Names names;
    for (const auto& node : model.nodes) names.push_back(node.name);
    return names;
  };
  EXPECT_EQ(names(*first), (Names{"two", "stem", "conv1", "conv2"}));
  EXPECT_EQ(names(*second), (Names{"two", "add", "scale", "out"}));
  EXPECT_EQ(first->nodes[0].payload, second->nodes[0].payload);
  // k itself does not cross; a graph input and a skip value do.
  EXPECT_EQ(io_names(second->inputs), (Names{"r", "mask", "s"}));
  EXPECT_EQ(type_of(*second, "mask"), "float32[N,4]");
  EXPECT_EQ(type_of(*second, "s"), "float32[N,4]");
}

TEST(EmitPart, TheSameSplitGivesTheSameBytes) {
  const Parts once = split_text(kNet, {"h"});
  const Parts twice = split_text(kNet, {"h"});
  ASSERT_EQ(once.bytes.size(), twice.bytes.size());
  for (std::size_t k = 0; k < once.bytes.size(); ++k) EXPECT_EQ(once.bytes[k], twice.bytes[k]);
  // Emitting the same part again from the same index, too.
  EXPECT_EQ(emit(*once.source.model, once.source.dataflow, once.partition, 1), once.bytes[1]);
}

TEST(EmitPart, ACrossingValueWithoutAType) {
  // b has no type in the model, and nothing can be known of a custom operator.
  const Graph g = graph_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17, "custom" : 1]>
    g (float[N] x) => (float[N] y) {
      a = Relu(x)
      b = custom.Mystery(a)
      y = Abs(b)
    }
  )");
  const Partition p = partition_dataflow(g.dataflow, cuts_at(g.dataflow, {"b"}));
  EXPECT_TRUE(mentions(error_from([&] { emit(*g.model, g.dataflow, p, 0); }),
                       {"test.onnx", "no type", "'b'", "shape inference"}));
}

TEST(EmitPart, TypeHintsFillInMissingTypes) {
  auto model = onnx::OnnxModel::from_bytes(modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17, "custom" : 1]>
    g (float[N] x) => (float[N] y) {
      a = Relu(x)
      b = custom.Mystery(a)
      y = Abs(b)
    }
  )"),
                                           "test.onnx");
  // As shape inference with the custom operator's schema would return it:
  // the same graph plus value_info.
  model->add_type_hints(modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17, "custom" : 1]>
    g (float[N] x) => (float[N] y) <float[N] a, float[N] b> {
      a = Relu(x)
      b = custom.Mystery(a)
      y = Abs(b)
    }
  )"));
  const Dataflow df = onnx::index_onnx(*model);
  EXPECT_EQ(df.value(*df.find_value("b")).info.describe(), "float32[N]");
  const Partition p = partition_dataflow(df, cuts_at(df, {"b"}));
  const auto second = load(emit(*model, df, p, 1));
  EXPECT_EQ(type_of(*second, "b"), "float32[N]");
}

// ---- merging ---------------------------------------------------------------

TEST(MergeParts, GivesBackTheOriginalGraph) {
  for (const std::vector<std::string>& cuts : {std::vector<std::string>{"h"}, {"s", "t"}, {"s", "h", "u"}}) {
    SCOPED_TRACE(cuts.size());
    const Parts parts = split_text(kRoundTrip, cuts);
    const auto merged = load(merged_bytes(parts.bytes), "merged.onnx");
    const onnx::OnnxModel& original = *parts.source.model;
    // The Constant node copied into several parts comes back once.
    EXPECT_EQ(node_payloads(*merged), node_payloads(original));
    EXPECT_EQ(initializer_payloads(*merged), initializer_payloads(original));
    EXPECT_EQ(io_names(merged->inputs), (Names{"x", "mask"}));
    EXPECT_EQ(io_names(merged->outputs), (Names{"y"}));
    EXPECT_EQ(merged->inputs[0].payload, original.inputs[0].payload);
    EXPECT_EQ(merged->outputs[0].payload, original.outputs[0].payload);
    EXPECT_EQ(function_names(*merged), (Names{"local.Double"}));
    EXPECT_EQ(merged->ir_version, 8);
    EXPECT_EQ(merged->opsets.size(), 2u);
    // The merged graph indexes again, with the types of the former boundaries.
    const Graph again = graph_from_bytes(merged_bytes(parts.bytes));
    EXPECT_EQ(again.dataflow.nodes().size(), original.nodes.size());
    EXPECT_EQ(type_of(*merged, "h"), "float32[N,4]");
  }
}

TEST(MergeParts, IsDeterministic) {
  const Parts parts = split_text(kRoundTrip, {"s", "t"});
  EXPECT_EQ(merged_bytes(parts.bytes), merged_bytes(parts.bytes));
}

TEST(MergeParts, PartsThatDoNotChain) {
  const Parts parts = split_text(kRoundTrip, {"h"});
  EXPECT_TRUE(mentions(error_from([&] {
                         merged_bytes({parts.bytes[1], parts.bytes[0]});
                       }),
                       {"do not chain", "part2.onnx", "part1.onnx"}));
  // The first part of one split and the second part of another.
  const Parts other = split_text(kRoundTrip, {"t"});
  EXPECT_TRUE(mentions(error_from([&] { merged_bytes({parts.bytes[0], other.bytes[1]}); }), {"do not chain", "'t'"}));
  EXPECT_TRUE(mentions(error_from([&] { merged_bytes({}); }), {"no parts"}));
}

TEST(MergeParts, PartsComputingOneValueDifferently) {
  const std::string first = modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (float[N] a) {
      t = Exp(x)
      a = Relu(t)
    }
  )");
  const std::string second = modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N] a) => (float[N] y) {
      t = Neg(a)
      y = Abs(t)
    }
  )");
  EXPECT_TRUE(mentions(error_from([&] { merged_bytes({first, second}); }), {"not come from one model", "'t'"}));
}

// ---- the public API on files -------------------------------------------------

class SplitFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ =
        fs::temp_directory_path() / ("modelcut_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_model(const char* text, const std::string& name = "net.onnx") {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << modelcut::testing::onnx_model_from_text(text);
    return path;
  }
  static std::string read(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
  static Names entries(const fs::path& dir) {
    Names names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

TEST_F(SplitFiles, SplitsIntoADirectoryAndMergesBack) {
  const fs::path model = write_model(kRoundTrip);
  SplitOptions options;
  options.cuts = {"h"};
  options.output_dir = dir_ / "parts";
  const SplitResult result = split_model(model, options);

  ASSERT_EQ(result.cuts.size(), 1u);
  EXPECT_EQ(result.cuts[0].kind, "tensor");
  EXPECT_EQ(result.cuts[0].values, (Names{"h"}));
  EXPECT_EQ(entries(options.output_dir), (Names{"net.part1.onnx", "net.part2.onnx"}));
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(result.parts[0].path, options.output_dir / "net.part1.onnx");
  EXPECT_EQ(result.parts[0].node_count, 2u);
  EXPECT_EQ(result.parts[0].initializer_count, 1u);
  ASSERT_EQ(result.parts[1].inputs.size(), 3u);
  EXPECT_EQ(result.parts[1].inputs[0].name, "h");
  EXPECT_EQ(result.parts[1].inputs[0].type, "float32[N,4]");
  EXPECT_EQ(result.parts[1].inputs[0].bytes.value_or(0), 16u);

  // The files hold what emit_part produces.
  const Parts in_memory = split_text(kRoundTrip, {"h"});
  EXPECT_EQ(read(result.parts[0].path), in_memory.bytes[0]);
  EXPECT_EQ(read(result.parts[1].path), in_memory.bytes[1]);

  const fs::path merged = dir_ / "merged.onnx";
  const MergeResult merge = merge_parts({result.parts[0].path, result.parts[1].path}, merged);
  EXPECT_EQ(merge.path, merged);
  EXPECT_EQ(merge.node_count, 7u);
  EXPECT_EQ(merge.initializer_count, 2u);
  const auto original = onnx::OnnxModel::open(model);
  const auto back = onnx::OnnxModel::open(merged);
  EXPECT_EQ(node_payloads(*back), node_payloads(*original));
  EXPECT_EQ(initializer_payloads(*back), initializer_payloads(*original));
}

TEST_F(SplitFiles, TheSameSplitWritesTheSameFiles) {
  const fs::path model = write_model(kNet);
  SplitOptions options;
  options.cuts = {"h"};
  options.output_dir = dir_ / "one";
  const SplitResult one = split_model(model, options);
  options.output_dir = dir_ / "two";
  const SplitResult two = split_model(model, options);
  for (std::size_t k = 0; k < one.parts.size(); ++k) EXPECT_EQ(read(one.parts[k].path), read(two.parts[k].path));
}

TEST_F(SplitFiles, PartNumbersArePaddedToSortInChainOrder) {
  std::string text = "<ir_version: 8, opset_import: [\"\" : 17]>\ng (float[N] v0) => (float[N] v11) <float[N] v1";
  for (int i = 2; i <= 10; ++i) text += ", float[N] v" + std::to_string(i);
  text += "> {\n";
  for (int i = 1; i <= 11; ++i) text += "  v" + std::to_string(i) + " = Relu(v" + std::to_string(i - 1) + ")\n";
  text += "}\n";
  const fs::path model = write_model(text.c_str());
  SplitOptions options;
  for (int i = 1; i <= 10; ++i) options.cuts.push_back("v" + std::to_string(i));
  options.output_dir = dir_ / "parts";
  const SplitResult result = split_model(model, options);
  ASSERT_EQ(result.parts.size(), 11u);
  const Names files = entries(options.output_dir);
  EXPECT_EQ(files.front(), "net.part01.onnx");
  EXPECT_EQ(files.back(), "net.part11.onnx");
  for (std::size_t k = 0; k < files.size(); ++k) EXPECT_EQ(result.parts[k].path.filename().string(), files[k]);
}

TEST_F(SplitFiles, AnExistingOutputDirectoryIsLeftAlone) {
  const fs::path model = write_model(kRoundTrip);
  const fs::path out = dir_ / "parts";
  fs::create_directory(out);
  std::ofstream(out / "keep.txt") << "precious";
  SplitOptions options;
  options.cuts = {"h"};
  options.output_dir = out;
  EXPECT_TRUE(mentions(error_from([&] { split_model(model, options); }), {"already exists"}));
  EXPECT_EQ(entries(out), (Names{"keep.txt"}));
  EXPECT_EQ(read(out / "keep.txt"), "precious");
  EXPECT_EQ(entries(dir_), (Names{"net.onnx", "parts"}));  // no staging left behind

  // With overwrite, the directory is replaced by the parts.
  options.overwrite = true;
  split_model(model, options);
  EXPECT_EQ(entries(out), (Names{"net.part1.onnx", "net.part2.onnx"}));
}

TEST_F(SplitFiles, AFailedSplitLeavesNothingBehind) {
  const fs::path model = write_model(kRoundTrip);
  SplitOptions options;
  options.output_dir = dir_ / "parts";
  options.cuts = {"nonexistent"};
  EXPECT_TRUE(mentions(error_from([&] { split_model(model, options); }), {"'nonexistent'"}));
  options.cuts = {"y"};  // the last part would be empty
  EXPECT_TRUE(mentions(error_from([&] { split_model(model, options); }), {"empty"}));
  EXPECT_EQ(entries(dir_), (Names{"net.onnx"}));

  // A failure while writing the parts (b has no type) removes what was written.
  const fs::path untyped = write_model(R"(
    <ir_version: 8, opset_import: ["" : 17, "custom" : 1]>
    g (float[N] x) => (float[N] y) <float[N] a> {
      a = Relu(x)
      b = custom.Mystery(a)
      y = Abs(b)
    }
  )",
                                       "untyped.onnx");
  options.cuts = {"a", "b"};
  EXPECT_TRUE(mentions(error_from([&] { split_model(untyped, options); }), {"no type", "'b'"}));
  EXPECT_EQ(entries(dir_), (Names{"net.onnx", "untyped.onnx"}));
}

TEST_F(SplitFiles, NeverWritesOverTheInput) {
  const fs::path model = write_model(kRoundTrip);
  const std::string before = read(model);
  SplitOptions options;
  options.cuts = {"h"};
  options.output_dir = dir_;  // the directory holding the model
  options.overwrite = true;
  EXPECT_TRUE(mentions(error_from([&] { split_model(model, options); }), {"holds the input"}));
  EXPECT_EQ(read(model), before);

  // Merging into one of the parts, even with overwrite.
  options.output_dir = dir_ / "parts";
  options.overwrite = false;
  const SplitResult result = split_model(model, options);
  const fs::path first = result.parts[0].path;
  const std::string first_before = read(first);
  EXPECT_TRUE(mentions(error_from([&] { merge_parts({first, result.parts[1].path}, first, true); }), {"is the input"}));
  EXPECT_EQ(read(first), first_before);
}

TEST_F(SplitFiles, MergeRefusesAnExistingOutputAndASinglePart) {
  const fs::path model = write_model(kRoundTrip);
  SplitOptions options;
  options.cuts = {"h"};
  options.output_dir = dir_ / "parts";
  const SplitResult result = split_model(model, options);
  const fs::path taken = dir_ / "taken.onnx";
  std::ofstream(taken) << "not mine";
  EXPECT_TRUE(mentions(error_from([&] {
                         merge_parts({result.parts[0].path, result.parts[1].path}, taken);
                       }),
                       {"already exists"}));
  EXPECT_EQ(read(taken), "not mine");
  EXPECT_TRUE(mentions(error_from([&] { merge_parts({result.parts[0].path}, dir_ / "one.onnx"); }), {"at least two"}));
  // Parts given in the wrong order do not chain, and no output is written.
  EXPECT_TRUE(mentions(error_from([&] {
                         merge_parts({result.parts[1].path, result.parts[0].path}, dir_ / "m.onnx");
                       }),
                       {"do not chain"}));
  EXPECT_FALSE(fs::exists(dir_ / "m.onnx"));
}

// Weight bytes go from the input file to the output by copy_file_range, or,
// where the kernel refuses (here: an output opened for appending), through
// pread and write; either way the output holds exactly the rope's bytes,
// views at offsets that share no alignment with the output's included.
TEST_F(SplitFiles, RopesWriteViewsOfAFileByEitherCopy) {
  std::string weights(3u << 20, '\0');
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<char>((i * 2654435761u) >> 13);
  const fs::path source_path = dir_ / "weights.bin";
  std::ofstream(source_path, std::ios::binary) << weights;
  const MappedFile source(source_path);
  const std::string_view mapped = source.bytes();
  wire::Rope rope;
  rope.append_owned("header");
  rope.append_view(mapped.substr(4097, (2u << 20) + 3), &source);
  rope.append_owned("middle");
  rope.append_view(mapped.substr(13, 100), &source);
  rope.append_view(mapped.substr(0, 5), &source);  // short: copied into the rope
  const std::string expected = rope.to_string();
  ASSERT_EQ(expected.size(), 6 + (2u << 20) + 3 + 6 + 100 + 5);
  for (int flags : {O_WRONLY | O_CREAT | O_TRUNC, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND}) {
    const fs::path target = dir_ / "out.bin";
    const int fd = ::open(target.c_str(), flags, 0644);
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(rope.write_to(fd));
    ::close(fd);
    EXPECT_TRUE(read(target) == expected) << "flags " << flags;
  }
}

}  // namespace
}  // namespace modelcut::test
