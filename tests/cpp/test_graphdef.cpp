// Tests of the frozen TensorFlow GraphDef adapter (src/formats/tf): reading
// nodes, inputs and Const spans, layer names from name scopes, parts written
// through the public API (split_model) and read back, control inputs across
// a cut, cuts inside while loops, and damaged files. Graphs are written in
// the tests with a small protobuf encoder that follows graph.proto.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "formats/tf/emit_graphdef.h"
#include "formats/tf/graphdef_model.h"
#include "modelcut/error.h"
#include "modelcut/file_type.h"
#include "modelcut/modelcut.h"
#include "modelcut/partition.h"
#include "modelcut/plan.h"
#include "modelcut/resolve.h"

namespace modelcut::test {
namespace {

namespace fs = std::filesystem;
using tf::GraphDefModel;

// ---- A minimal protobuf writer for GraphDef, NodeDef, AttrValue, TensorProto.

std::string varint(std::uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}
std::string bytes_field(std::uint32_t number, const std::string& payload) {
  return varint(number << 3 | 2) + varint(payload.size()) + payload;
}
std::string varint_field(std::uint32_t number, std::uint64_t value) { return varint(number << 3) + varint(value); }

constexpr int kFloat = 1, kInt32 = 3;

std::string shape(const std::vector<std::int64_t>& dims) {
  std::string out;
  for (std::int64_t size : dims) out += bytes_field(2, varint_field(1, static_cast<std::uint64_t>(size)));
  return out;
}
std::string type_attr(int dtype) { return varint_field(6, static_cast<std::uint64_t>(dtype)); }
std::string shape_attr(const std::vector<std::int64_t>& dims) { return bytes_field(7, shape(dims)); }
std::string string_attr(const std::string& text) { return bytes_field(2, text); }
std::string tensor_attr(int dtype, const std::vector<std::int64_t>& dims, const std::string& content) {
  return bytes_field(
      8, varint_field(1, static_cast<std::uint64_t>(dtype)) + bytes_field(2, shape(dims)) + bytes_field(4, content));
}

using Attrs = std::vector<std::pair<std::string, std::string>>;

std::string node(const std::string& name, const std::string& op, const std::vector<std::string>& inputs = {},
                 const Attrs& attrs = {}) {
  std::string out = bytes_field(1, name) + bytes_field(2, op);
  for (const std::string& input : inputs) out += bytes_field(3, input);
  for (const auto& [key, value] : attrs) out += bytes_field(5, bytes_field(1, key) + bytes_field(2, value));
  return bytes_field(1, out);
}
std::string graph(const std::vector<std::string>& nodes) {
  std::string out;
  for (const std::string& one : nodes) out += one;
  return out + bytes_field(4, varint_field(1, 1234));  // versions { producer: 1234 }
}

std::string floats(std::initializer_list<float> values) {
  std::string out;
  for (float value : values) out.append(reinterpret_cast<const char*>(&value), sizeof value);
  return out;
}

std::string placeholder(const std::string& name, const std::vector<std::int64_t>& dims) {
  return node(name, "Placeholder", {}, {{"dtype", type_attr(kFloat)}, {"shape", shape_attr(dims)}});
}
std::string weight(const std::string& name, const std::string& content, const std::vector<std::int64_t>& dims) {
  return node(name, "Const", {}, {{"dtype", type_attr(kFloat)}, {"value", tensor_attr(kFloat, dims, content)}});
}
std::string op(const std::string& name, const std::string& op_name, const std::vector<std::string>& inputs) {
  return node(name, op_name, inputs, {{"T", type_attr(kFloat)}});
}

// A Keras-like dense stack frozen by TensorFlow: x -> fc1 -> fc2 -> fc3,
// with fc3's MatMul waiting for fc1's Relu through a control input.
std::string dense_stack() {
  return graph({
      placeholder("x", {-1, 2}),
      weight("model/fc1/MatMul/ReadVariableOp", floats({1, 2, 3, 4, 5, 6, 7, 8}), {2, 4}),
      op("model/fc1/MatMul", "MatMul", {"x", "model/fc1/MatMul/ReadVariableOp"}),
      weight("model/fc1/BiasAdd/ReadVariableOp", floats({0.5, 0.25, 0, -1}), {4}),
      op("model/fc1/BiasAdd", "BiasAdd", {"model/fc1/MatMul", "model/fc1/BiasAdd/ReadVariableOp"}),
      op("model/fc1/Relu", "Relu", {"model/fc1/BiasAdd"}),
      weight("model/fc2/MatMul/ReadVariableOp", floats({1, 0, 0, 1, 1, 0, 0, 1}), {4, 2}),
      op("model/fc2/MatMul", "MatMul", {"model/fc1/Relu:0", "model/fc2/MatMul/ReadVariableOp"}),
      op("model/fc2/Relu", "Relu", {"model/fc2/MatMul"}),
      weight("model/fc3/MatMul/ReadVariableOp", floats({2, 3}), {2, 1}),
      op("model/fc3/MatMul", "MatMul", {"model/fc2/Relu", "model/fc3/MatMul/ReadVariableOp", "^model/fc1/Relu"}),
      // As convert_variables_to_constants_v2 leaves it: the output waits for
      // a NoOp that waits for the weights.
      node("NoOp", "NoOp", {"^model/fc1/MatMul/ReadVariableOp", "^model/fc3/MatMul/ReadVariableOp"}),
      op("Identity", "Identity", {"model/fc3/MatMul", "^NoOp"}),
  });
}

// A TF1 while loop (i = x; while i < 10: i = i + 1) with a node after it.
std::string while_loop() {
  const Attrs frame = {{"T", type_attr(kFloat)}, {"frame_name", string_attr("loop/while_context")}};
  return graph({
      placeholder("x", {}),
      node("loop/Enter", "Enter", {"x"}, frame),
      node("loop/Merge", "Merge", {"loop/Enter", "loop/NextIteration"},
           {{"T", type_attr(kFloat)}, {"N", varint_field(3, 2)}}),
      node("loop/Less/y", "Const", {"^loop/Merge"},
           {{"dtype", type_attr(kFloat)}, {"value", tensor_attr(kFloat, {}, floats({10}))}}),
      op("loop/Less", "Less", {"loop/Merge", "loop/Less/y"}),
      node("loop/LoopCond", "LoopCond", {"loop/Less"}),
      op("loop/Switch", "Switch", {"loop/Merge", "loop/LoopCond"}),
      op("loop/Identity", "Identity", {"loop/Switch:1"}),
      node("loop/add/y", "Const", {"^loop/Identity"},
           {{"dtype", type_attr(kFloat)}, {"value", tensor_attr(kFloat, {}, floats({1}))}}),
      op("loop/add", "AddV2", {"loop/Identity", "loop/add/y"}),
      op("loop/NextIteration", "NextIteration", {"loop/add"}),
      op("loop/Exit", "Exit", {"loop/Switch"}),
      // A counter that runs along, whose Exit nothing reads.
      node("start", "Const", {}, {{"dtype", type_attr(kFloat)}, {"value", tensor_attr(kFloat, {}, floats({0}))}}),
      node("loop/Enter_1", "Enter", {"start"}, frame),
      node("loop/Merge_1", "Merge", {"loop/Enter_1", "loop/NextIteration_1"}, {{"T", type_attr(kFloat)}}),
      op("loop/Switch_1", "Switch", {"loop/Merge_1", "loop/LoopCond"}),
      op("loop/Identity_1", "Identity", {"loop/Switch_1:1"}),
      op("loop/add_1", "AddV2", {"loop/Identity_1", "loop/add/y"}),
      op("loop/NextIteration_1", "NextIteration", {"loop/add_1"}),
      op("loop/Exit_1", "Exit", {"loop/Switch_1"}),
      op("after/Relu", "Relu", {"loop/Exit"}),
      op("after/Neg", "Neg", {"after/Relu"}),
  });
}

class GraphDefTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("modelcut_graphdef_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  static std::string read(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), {}};
  }
  // Splits `model` at `cuts` into a new folder; returns the parts' paths.
  std::vector<fs::path> split(const fs::path& model, const std::vector<std::string>& cuts, const std::string& out) {
    SplitOptions options;
    options.cuts = cuts;
    options.output_dir = dir_ / out;
    std::vector<fs::path> paths;
    for (const PartSummary& part : split_model(model, options).parts) paths.push_back(part.path);
    return paths;
  }
  static std::vector<std::string> node_names(const GraphDefModel& model) {
    std::vector<std::string> names;
    for (const auto& one : model.nodes) names.push_back(one.name);
    return names;
  }
  static const tf::NodeDefRef& node_named(const GraphDefModel& model, const std::string& name) {
    auto index = model.find_node(name);
    if (!index) throw std::runtime_error("no node " + name);
    return model.nodes[*index];
  }

  fs::path dir_;
};

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST_F(GraphDefTest, ReadsInputsControlInputsAndConstSpans) {
  const auto model = GraphDefModel::from_bytes(dense_stack(), "stack.pb");
  ASSERT_EQ(model->nodes.size(), 13u);
  const auto& fc3 = node_named(*model, "model/fc3/MatMul");
  ASSERT_EQ(fc3.inputs.size(), 3u);
  EXPECT_EQ(fc3.inputs[0].node, "model/fc2/Relu");
  EXPECT_FALSE(fc3.inputs[0].control);
  EXPECT_TRUE(fc3.inputs[2].control);
  EXPECT_EQ(fc3.inputs[2].node, "model/fc1/Relu");
  EXPECT_EQ(node_named(*model, "model/fc2/MatMul").inputs[0].slot, 0u);

  // The Const's content is a view into the graph's bytes, not a copy.
  const auto fc1_weights = model->const_tensor(*model->find_node("model/fc1/MatMul/ReadVariableOp"));
  EXPECT_EQ(fc1_weights.content, floats({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(fc1_weights.dims, (std::vector<std::int64_t>{2, 4}));
  EXPECT_EQ(fc1_weights.dtype, kFloat);
  const auto& payload = node_named(*model, "model/fc1/MatMul/ReadVariableOp").payload;
  EXPECT_GE(fc1_weights.content.data(), payload.data());
  EXPECT_LE(fc1_weights.content.data() + fc1_weights.content.size(), payload.data() + payload.size());

  // Dataflow: x is the input, Consts are weights, the final Identity the output.
  const auto index = tf::index_graphdef(*model);
  const Dataflow& dataflow = index.dataflow;
  ASSERT_EQ(dataflow.graph_inputs().size(), 1u);
  EXPECT_EQ(dataflow.value(dataflow.graph_inputs()[0]).name, "x");
  ASSERT_EQ(dataflow.graph_outputs().size(), 1u);
  EXPECT_EQ(dataflow.value(dataflow.graph_outputs()[0]).name, "Identity");
  EXPECT_EQ(dataflow.value(*dataflow.find_value("model/fc2/MatMul/ReadVariableOp")).kind, ValueKind::Constant);
  EXPECT_EQ(dataflow.value(*dataflow.find_value("x")).info.describe(), "float32[?,2]");
  EXPECT_EQ(dataflow.value(*dataflow.find_value("model/fc2/Relu")).info.dtype, "float32");
  // The control input is no dataflow edge.
  const Node& fc3_node = dataflow.node(*dataflow.find_node("model/fc3/MatMul"));
  EXPECT_EQ(fc3_node.inputs.size(), 2u);
}

TEST_F(GraphDefTest, LayerNamesResolveFromNameScopes) {
  const auto model = GraphDefModel::from_bytes(dense_stack(), "stack.pb");
  const auto index = tf::index_graphdef(*model);
  const LayerIndex layers(index.dataflow);
  const CutPoint cut = resolve_cut(index.dataflow, layers, "fc2");
  EXPECT_EQ(cut.kind, CutPoint::Kind::Layer);
  EXPECT_EQ(cut.resolved_name, "model/fc2");
  ASSERT_EQ(cut.values.size(), 1u);
  EXPECT_EQ(index.dataflow.value(cut.values[0]).name, "model/fc2/Relu");
  EXPECT_EQ(resolve_cut(index.dataflow, layers, "model/fc2/MatMul").kind, CutPoint::Kind::Tensor);
}

TEST_F(GraphDefTest, DetectsGraphDefFilesByExtensionAndFirstField) {
  EXPECT_EQ(sniff_file_type(write("frozen.pb", dense_stack())), FileType::TfGraphDef);
  EXPECT_EQ(sniff_file_type(write("onnx_named.pb", std::string("\x08\x07\x12\x04", 4))), FileType::Onnx);
  EXPECT_EQ(sniff_file_type(write("saved_model.pb", std::string("\x08\x01\x12\x04", 4))), FileType::NotTfGraph);
  EXPECT_EQ(sniff_file_type(write("junk.pb", "\xff\xfe")), FileType::NotTfGraph);
  EXPECT_EQ(sniff_file_type(write("empty.pb", "")), FileType::NotTfGraph);
  EXPECT_EQ(sniff_file_type(write("frozen.bin", dense_stack())), FileType::Onnx);  // no extension, no GraphDef
  EXPECT_STREQ(to_string(FileType::TfGraphDef), "tf-graphdef");

  SplitOptions options;
  options.cuts = {"fc2"};
  options.output_dir = dir_ / "out";
  EXPECT_NE(
      error_of([&] { split_model(write("junk.pb", "\xff\xfe"), options); }).find("not a frozen TensorFlow GraphDef"),
      std::string::npos);
  EXPECT_NE(error_of([&] { split_model(write("saved_model.pb", "\x08\x01"), options); }).find("SavedModel"),
            std::string::npos);
  EXPECT_NE(error_of([&] { split_model(write("empty.pb", ""), options); }).find("empty file"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(GraphDefTest, CutAtLayerWritesChainedParts) {
  const fs::path model_path = write("stack.pb", dense_stack());
  const auto parts = split(model_path, {"fc2"}, "out");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].filename(), "stack.part1.pb");

  const auto first = GraphDefModel::open(parts[0]);
  EXPECT_EQ(node_names(*first),
            (std::vector<std::string>{"x", "model/fc1/MatMul/ReadVariableOp", "model/fc1/MatMul",
                                      "model/fc1/BiasAdd/ReadVariableOp", "model/fc1/BiasAdd", "model/fc1/Relu",
                                      "model/fc2/MatMul/ReadVariableOp", "model/fc2/MatMul", "model/fc2/Relu"}));
  const auto source = GraphDefModel::from_bytes(dense_stack(), "stack.pb");
  // Nodes and their weights are copied byte for byte.
  for (const auto& copied : first->nodes)
    EXPECT_EQ(copied.payload, node_named(*source, copied.name).payload) << copied.name;
  // GraphDef.versions is kept.
  ASSERT_EQ(first->graph_fields.size(), 1u);
  EXPECT_EQ(first->graph_fields[0].raw, source->graph_fields[0].raw);

  const auto second = GraphDefModel::open(parts[1]);
  EXPECT_EQ(node_names(*second), (std::vector<std::string>{"model/fc2/Relu", "model/fc3/MatMul/ReadVariableOp",
                                                           "model/fc3/MatMul", "NoOp", "Identity"}));
  // The NoOp's wait for fc1's weight is dropped rather than copying the
  // weight into this part; its wait for fc3's, which the part reads, stays.
  const auto& no_op = node_named(*second, "NoOp");
  ASSERT_EQ(no_op.inputs.size(), 1u);
  EXPECT_EQ(no_op.inputs[0].node, "model/fc3/MatMul/ReadVariableOp");
  EXPECT_TRUE(no_op.inputs[0].control);
  EXPECT_EQ(node_named(*second, "Identity").payload, node_named(*source, "Identity").payload);
  // The crossing value is fed by a placeholder named after it, typed from the
  // producer's attrs (float, shape unknown since the graph records none).
  const auto& fed = node_named(*second, "model/fc2/Relu");
  EXPECT_EQ(fed.op, "Placeholder");
  EXPECT_EQ(tf::attr_type(fed, "dtype", "test"), kFloat);
  EXPECT_EQ(fed.attrs.at("shape"), bytes_field(7, varint_field(3, 1)));  // unknown_rank: true
  // Its index sees it as the input, and the chain holds.
  const auto second_index = tf::index_graphdef(*second);
  ASSERT_EQ(second_index.dataflow.graph_inputs().size(), 1u);
  EXPECT_EQ(second_index.dataflow.value(second_index.dataflow.graph_inputs()[0]).name, "model/fc2/Relu");

  // Same input and cut, same bytes.
  const auto again = split(model_path, {"fc2"}, "again");
  EXPECT_EQ(read(parts[0]), read(again[0]));
  EXPECT_EQ(read(parts[1]), read(again[1]));
}

TEST_F(GraphDefTest, ControlInputFromAnEarlierPartIsDropped) {
  const auto parts = split(write("stack.pb", dense_stack()), {"fc2"}, "out");
  const auto second = GraphDefModel::open(parts[1]);
  const auto& fc3 = node_named(*second, "model/fc3/MatMul");
  ASSERT_EQ(fc3.inputs.size(), 2u);  // "^model/fc1/Relu" ran in part 1
  EXPECT_FALSE(fc3.inputs[0].control || fc3.inputs[1].control);
  // Only the inputs field changed: the rest of the node is as in the source.
  const auto source = GraphDefModel::from_bytes(dense_stack(), "stack.pb");
  EXPECT_LT(fc3.payload.size(), node_named(*source, "model/fc3/MatMul").payload.size());
  EXPECT_EQ(fc3.attrs, node_named(*source, "model/fc3/MatMul").attrs);

  // Cut earlier, the control input stays within the second part and is kept.
  const auto early = split(write("stack2.pb", dense_stack()), {"model/fc1/MatMul"}, "early");
  const auto kept = GraphDefModel::open(early[1]);
  EXPECT_EQ(node_named(*kept, "model/fc3/MatMul").inputs.size(), 3u);
}

TEST_F(GraphDefTest, ControlInputFromALaterPartIsRefused) {
  // fc2's MatMul waits for a side computation that nothing reads, which the
  // partition puts in the last part: the wait cannot be kept.
  const std::string bytes = graph({
      placeholder("x", {-1, 2}),
      op("side/Neg", "Neg", {"x"}),
      op("fc1/Relu", "Relu", {"x"}),
      op("fc2/Relu", "Relu", {"fc1/Relu", "^side/Neg"}),
      op("fc3/Relu", "Relu", {"fc2/Relu"}),
  });
  const std::string message = error_of([&] { split(write("side.pb", bytes), {"fc2"}, "out"); });
  EXPECT_NE(message.find("'fc2/Relu' waits for node 'side/Neg' (a control input)"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(GraphDefTest, CutInsideWhileLoopIsRefusedAndAfterItWorks) {
  const auto model = GraphDefModel::from_bytes(while_loop(), "loop.pb");
  ASSERT_EQ(model->frames.size(), 1u);
  EXPECT_EQ(model->frames[0].name, "loop/while_context");
  EXPECT_NE(model->frame_of[*model->find_node("loop/add")], tf::kNoFrame);
  EXPECT_NE(model->frame_of[*model->find_node("loop/Exit")], tf::kNoFrame);
  EXPECT_EQ(model->frame_of[*model->find_node("after/Relu")], tf::kNoFrame);
  const auto index = tf::index_graphdef(*model);
  ASSERT_EQ(index.dataflow.graph_outputs().size(), 1u);  // not the counter's Exit
  EXPECT_EQ(index.dataflow.value(index.dataflow.graph_outputs()[0]).name, "after/Neg");

  const fs::path path = write("loop.pb", while_loop());
  const std::string message = error_of([&] { split(path, {"loop/add"}, "inside"); });
  EXPECT_NE(message.find("a cut falls inside the while loop 'loop/while_context'"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir_ / "inside"));

  const auto parts = split(path, {"after/Relu"}, "after");
  ASSERT_EQ(parts.size(), 2u);
  const auto first = GraphDefModel::open(parts[0]);
  for (const char* name : {"loop/Enter", "loop/Merge", "loop/NextIteration", "loop/Exit", "loop/add/y", "after/Relu",
                           "loop/NextIteration_1", "loop/Exit_1"}) {
    EXPECT_TRUE(first->find_node(name)) << name;
  }
  // The Merge still reads its back edge, byte for byte.
  const auto source = GraphDefModel::from_bytes(while_loop(), "loop.pb");
  EXPECT_EQ(node_named(*first, "loop/Merge").payload, node_named(*source, "loop/Merge").payload);
  const auto second = GraphDefModel::open(parts[1]);
  EXPECT_EQ(node_names(*second), (std::vector<std::string>{"after/Relu", "after/Neg"}));
}

TEST_F(GraphDefTest, CutBetweenMergeAndItsNextIterationIsRefused) {
  // A damaged loop without Enter nodes: no frame, but still a back edge.
  const std::string bytes = graph({
      placeholder("x", {}),
      node("a/Merge", "Merge", {"x", "b/NextIteration"}, {{"T", type_attr(kFloat)}}),
      op("a/Relu", "Relu", {"a/Merge"}),
      op("b/NextIteration", "NextIteration", {"a/Relu"}),
      op("c/Neg", "Neg", {"a/Relu"}),
  });
  const std::string message = error_of([&] { split(write("merge.pb", bytes), {"a/Relu"}, "out"); });
  EXPECT_NE(message.find("a cut separates the while loop node 'a/Merge' from the NextIteration node 'b/NextIteration'"),
            std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(GraphDefTest, SecondOutputCrossesAsNamedPlaceholder) {
  const std::string bytes = graph({
      placeholder("x", {4, 6}),
      node("dim", "Const", {},
           {{"dtype", type_attr(kInt32)}, {"value", tensor_attr(kInt32, {}, std::string(4, '\0'))}}),
      node("pieces/split", "Split", {"dim", "x"}, {{"T", type_attr(kFloat)}, {"num_split", varint_field(3, 2)}}),
      op("left/Relu", "Relu", {"pieces/split"}),
      op("right/Relu", "Relu", {"pieces/split:1"}),
      op("out/Add", "AddV2", {"left/Relu", "right/Relu"}),
  });
  const auto parts = split(write("split.pb", bytes), {"tensors:pieces/split,pieces/split:1"}, "out");
  const auto first = GraphDefModel::open(parts[0]);
  const auto& named = node_named(*first, "pieces/split/output_1");
  EXPECT_EQ(named.op, "Identity");
  ASSERT_EQ(named.inputs.size(), 1u);
  EXPECT_EQ(named.inputs[0].node, "pieces/split");
  EXPECT_EQ(named.inputs[0].slot, 1u);
  const auto second = GraphDefModel::open(parts[1]);
  EXPECT_EQ(node_named(*second, "pieces/split/output_1").op, "Placeholder");
  EXPECT_EQ(node_named(*second, "right/Relu").inputs[0].node, "pieces/split/output_1");
  EXPECT_EQ(node_named(*second, "left/Relu").inputs[0].node, "pieces/split");
}

TEST_F(GraphDefTest, InspectHeaderFactsAndInliningScaffolding) {
  // An exported model's frame: Func/StatefulPartitionedCall/{input,output}/_N
  // pass values through, the body is under StatefulPartitionedCall/.
  const std::string bytes = graph({
      placeholder("args_0", {-1, 2}),
      op("Func/StatefulPartitionedCall/input/_0", "Identity", {"args_0"}),
      op("StatefulPartitionedCall/res_1/fc1_1/Relu", "Relu", {"Func/StatefulPartitionedCall/input/_0"}),
      op("StatefulPartitionedCall/res_1/fc2_1/Neg", "Neg", {"StatefulPartitionedCall/res_1/fc1_1/Relu"}),
      op("StatefulPartitionedCall/res_1/fc3_1/Neg", "Neg", {"StatefulPartitionedCall/res_1/fc2_1/Neg"}),
      op("StatefulPartitionedCall/Identity", "Identity", {"StatefulPartitionedCall/res_1/fc3_1/Neg"}),
      op("Func/StatefulPartitionedCall/output/_1", "Identity", {"StatefulPartitionedCall/Identity"}),
      op("Identity", "Identity", {"Func/StatefulPartitionedCall/output/_1"}),
  });
  const InspectReport report = inspect_model(write("res.pb", bytes), {});
  EXPECT_EQ(report.format, "tf-graphdef");
  EXPECT_EQ(report.ir_version, 1234);  // versions.producer
  std::vector<std::string> layers;
  for (const auto& layer : report.layers) layers.push_back(layer.name);
  EXPECT_EQ(layers, (std::vector<std::string>{"res_1", "res_1/fc1_1", "res_1/fc2_1", "res_1/fc3_1"}));
  std::vector<std::string> points;
  for (const auto& point : report.cut_points) points.push_back(point.value.name);
  EXPECT_EQ(points, (std::vector<std::string>{"StatefulPartitionedCall/res_1/fc1_1/Relu",
                                              "StatefulPartitionedCall/res_1/fc2_1/Neg"}));
  const auto cuts = resolve_cuts(write("res2.pb", bytes), {"fc2"}, {});
  EXPECT_EQ(cuts[0].resolved_name, "res_1/fc2_1");
}

TEST_F(GraphDefTest, ShapesPropagateAndMacsAreCounted) {
  auto output_shapes = [](const std::vector<std::int64_t>& dims) {
    return bytes_field(1, bytes_field(7, shape(dims)));
  };
  std::string zeros(4 * 3 * 3 * 3 * 16, '\0');
  const std::string bytes = graph({
      placeholder("x", {-1, 2}),
      weight("fc1/w", floats({1, 2, 3, 4, 5, 6, 7, 8}), {2, 4}),
      op("fc1/MatMul", "MatMul", {"x", "fc1/w"}),
      weight("fc1/b", floats({0, 0, 0, 0}), {4}),
      op("fc1/BiasAdd", "BiasAdd", {"fc1/MatMul", "fc1/b"}),
      op("fc1/Relu", "Relu", {"fc1/BiasAdd"}),
      placeholder("a", {2, 3, 4}),
      placeholder("b", {2, 4, 5}),
      op("bmm", "BatchMatMulV2", {"a", "b"}),
      placeholder("image", {1, 8, 8, 3}),
      weight("conv/filter", zeros, {3, 3, 3, 16}),
      node("conv/Conv2D", "Conv2D", {"image", "conv/filter"},
           {{"T", type_attr(kFloat)}, {"_output_shapes", output_shapes({1, 8, 8, 16})}}),
      weight("dw/filter", std::string(4 * 3 * 3 * 16, '\0'), {3, 3, 16, 1}),
      node("dw/depthwise", "DepthwiseConv2dNative", {"conv/Conv2D", "dw/filter"},
           {{"T", type_attr(kFloat)}, {"_output_shapes", output_shapes({1, 8, 8, 16})}}),
      op("broadcast", "AddV2", {"fc1/Relu", "fc1/b"}),
  });
  const Model model = Model::open(write("costs.pb", bytes));
  const Dataflow& dataflow = model.dataflow();
  auto type_of = [&](const std::string& name) { return dataflow.value(*dataflow.find_value(name)).info.describe(); };
  EXPECT_EQ(type_of("fc1/MatMul"), "float32[?,4]");
  EXPECT_EQ(type_of("fc1/Relu"), "float32[?,4]");
  EXPECT_EQ(type_of("bmm"), "float32[2,3,5]");
  EXPECT_EQ(type_of("broadcast"), "float32[?,4]");
  // TensorFlow's unknown batch has no name: counted as 1, as DimSizes does.
  const std::vector<NodeCost> costs = model.node_costs(DimBindings{});
  auto macs_of = [&](const std::string& name) {
    const NodeCost& cost = costs[*dataflow.find_node(name)];
    return cost.macs_known ? static_cast<std::int64_t>(cost.macs) : -1;
  };
  EXPECT_EQ(macs_of("fc1/MatMul"), 4 * 2);
  EXPECT_EQ(macs_of("fc1/BiasAdd"), 4);
  EXPECT_EQ(macs_of("bmm"), 2 * 3 * 5 * 4);
  EXPECT_EQ(macs_of("conv/Conv2D"), 8 * 8 * 16 * 3 * 3 * 3);
  EXPECT_EQ(macs_of("dw/depthwise"), 8 * 8 * 16 * 3 * 3);
  EXPECT_EQ(costs[*dataflow.find_node("fc1/MatMul")].param_bytes, 32u);
}

TEST_F(GraphDefTest, PlannersNeverCutInsideAWhileLoop) {
  const fs::path path = write("loop.pb", while_loop());
  const Model model = Model::open(path);
  const Dataflow& dataflow = model.dataflow();
  // Each part's loop nodes, by what split writes.
  auto check_split = [&](const std::vector<std::string>& cuts, const std::string& out) {
    const auto parts = split(path, cuts, out);
    ASSERT_EQ(parts.size(), cuts.size() + 1);
    const auto last = GraphDefModel::open(parts.back());
    for (const auto& one : last->nodes) {
      EXPECT_TRUE(one.op == "Placeholder" || one.name.rfind("after/", 0) == 0) << one.name;
    }
  };

  // Equal times: the balanced cut would fall in the middle of the loop.
  PipelineOptions pipeline;
  pipeline.balance = Balance::Time;
  pipeline.times = NodeTimes{"test", {}};
  for (const Node& one : dataflow.nodes()) pipeline.times->microseconds[one.name] = 10;
  const Plan plan = model.plan_pipeline(pipeline);
  ASSERT_EQ(plan.cuts.size(), 1u);
  check_split({plan.cuts[0].spec}, "pipeline");

  // The counter's add is dear on the device, the rest of the loop on the
  // server, the nodes after it on the device: without the loop kept whole,
  // the best split would put the counter on the server and the rest of the
  // loop on the device; kept whole, the loop runs on the device.
  DeviceServerOptions device_server;
  device_server.device = NodeTimes{"device", {}};
  device_server.server = NodeTimes{"server", {}};
  for (const Node& one : dataflow.nodes()) {
    const bool in_loop = one.name.rfind("loop/", 0) == 0;
    device_server.device.microseconds[one.name] = one.name == "loop/add_1" ? 1000 : in_loop ? 0 : 500;
    device_server.server.microseconds[one.name] = in_loop ? 100 : 0;
  }
  device_server.bandwidth = 1e12;
  const Plan placed = model.plan_device_server(device_server);
  EXPECT_EQ(placed.placement, "split");
  ASSERT_EQ(placed.cuts.size(), 1u);
  check_split({placed.cuts[0].spec}, "device_server");

  // Nor does inspect list a cut point inside the loop.
  for (const auto& point : inspect_model(path, {}).cut_points) {
    EXPECT_TRUE(point.value.name.rfind("loop/", 0) != 0 || point.value.name == "loop/Exit") << point.value.name;
  }
}

TEST_F(GraphDefTest, TruncatedAndCorruptBytesAreRefused) {
  const std::string good = dense_stack();
  // Every prefix either reads as a graph or fails with an Error, never worse;
  // those that end inside a field fail.
  for (std::size_t length = 0; length < good.size(); ++length) {
    try {
      GraphDefModel::from_bytes(good.substr(0, length), "cut.pb");
    } catch (const Error&) {
    }
  }
  EXPECT_NE(error_of([&] { GraphDefModel::from_bytes(good.substr(0, good.size() - 1), "cut.pb"); }).find("truncated"),
            std::string::npos);
  EXPECT_NE(error_of([&] { GraphDefModel::from_bytes("", "empty.pb"); }).find("empty file"), std::string::npos);
  // A node length far past the end (the first node is under 128 bytes: its length is one byte).
  const std::string corrupt = good.substr(0, 1) + "\xff\xff\xff\xff\x0f" + good.substr(2);
  EXPECT_NE(error_of([&] {
              GraphDefModel::from_bytes(corrupt, "bad.pb");
            }).find("bad.pb: not a TensorFlow GraphDef or damaged: truncated"),
            std::string::npos);
  // An input naming no node, a duplicate name, a bad input string, a node with no op.
  EXPECT_NE(error_of([&] {
              GraphDefModel::from_bytes(graph({op("a", "Relu", {"ghost"})}), "g.pb");
            }).find("'a' reads 'ghost', which is no node of the graph"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              GraphDefModel::from_bytes(graph({placeholder("a", {}), placeholder("a", {})}), "g.pb");
            }).find("two nodes are named 'a'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              GraphDefModel::from_bytes(graph({placeholder("a", {}), op("b", "Relu", {"a:x"})}), "g.pb");
            }).find("is not \"name\", \"name:k\" or \"^name\""),
            std::string::npos);
  EXPECT_NE(error_of([&] { GraphDefModel::from_bytes(graph({node("a", "")}), "g.pb"); }).find("has no op"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              GraphDefModel::from_bytes(graph({op("a", "Relu", {"b"}), op("b", "Relu", {"a"})}), "g.pb");
            }).find("cycle"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              GraphDefModel::from_bytes(graph({node("fc1/kernel", "VarHandleOp", {}, {{"dtype", type_attr(kFloat)}}),
                                               node("fc1/MatMul/ReadVariableOp", "ReadVariableOp", {"fc1/kernel"},
                                                    {{"dtype", type_attr(kFloat)}})}),
                                        "g.pb");
            }).find("g.pb: the graph is not frozen: node 'fc1/kernel' is a variable (VarHandleOp)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { GraphDefModel::from_bytes(bytes_field(4, varint_field(1, 1)), "g.pb"); }).find("no nodes"),
            std::string::npos);
}

}  // namespace
}  // namespace modelcut::test
