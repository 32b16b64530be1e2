// Tests of the public planning API on files: Model opens a model once and
// inspects, resolves, plans and splits it; a plan's cuts split the model as
// planned; read_profile refuses every malformed profile in one line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "modelcut/plan.h"
#include "support/graphs.h"

namespace modelcut::test {
namespace {

namespace fs = std::filesystem;

class PlanFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("modelcut_plan_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  fs::path dir_;
};

constexpr const char* kBlock = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[N, 4] x) => (float[N, 4] y) {
    [stem] s = Relu(x)
    [conv1] h = Neg(s)
    [conv2] r = Abs(h)
    [add] y = Add(r, s)
  }
)";

TEST_F(PlanFiles, AModelOpenedOncePlansAndSplits) {
  const fs::path model_path = write("block.onnx", modelcut::testing::onnx_model_from_text(kBlock));
  const Model model = Model::open(model_path);
  EXPECT_EQ(model.path(), model_path);
  EXPECT_EQ(model.dataflow().nodes().size(), 4u);
  EXPECT_EQ(model.inspect().node_count, 4u);
  EXPECT_EQ(model.resolve({"tensors:s,h"}).front().values, (Names{"s", "h"}));
  EXPECT_EQ(model.node_costs({}).size(), 4u);

  PipelineOptions options;
  options.balance = Balance::Time;
  options.times = NodeTimes{"t", {{"stem", 1}, {"conv1", 50}, {"conv2", 50}, {"add", 1}}};
  options.dims.batch = 8;
  const Plan plan = model.plan_pipeline(options);
  ASSERT_EQ(plan.cuts.size(), 1u);
  EXPECT_EQ(plan.cuts[0].spec, "tensors:s,h");
  // Batch 8 of float[N, 4], twice.
  EXPECT_EQ(plan.cuts[0].crossing_bytes, 2u * 8 * 4 * 4);
  EXPECT_TRUE(plan.unbound_symbols.empty());

  SplitOptions split;
  split.cuts = {plan.cuts[0].spec};
  split.output_dir = dir_ / "parts";
  const SplitResult result = model.split(split);
  ASSERT_EQ(result.parts.size(), 2u);
  EXPECT_EQ(result.parts[0].node_count, 2u);
  ASSERT_EQ(result.parts[0].outputs.size(), 2u);
  EXPECT_EQ(result.parts[0].outputs[0].name, "s");
  EXPECT_EQ(result.parts[0].outputs[1].name, "h");
  // The free function is the same path.
  EXPECT_EQ(resolve_cuts(model_path, {"tensors:s,h"}).front().values, (Names{"s", "h"}));
}

TEST_F(PlanFiles, AnUnboundSymbolIsListed) {
  const fs::path model_path = write("block.onnx", modelcut::testing::onnx_model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, seq] x) => (float[N, seq] y) {
      [a] h = Relu(x)
      [b] y = Neg(h)
    }
  )"));
  const Plan plan = Model::open(model_path).plan_pipeline(PipelineOptions{});
  EXPECT_EQ(plan.unbound_symbols, (Names{"seq"}));
  PipelineOptions bound;
  bound.dims.symbols["seq"] = 3;
  bound.dims.batch = 2;
  const Plan with_sizes = Model::open(model_path).plan_pipeline(bound);
  EXPECT_TRUE(with_sizes.unbound_symbols.empty());
  EXPECT_EQ(with_sizes.cuts[0].crossing_bytes, 2u * 3 * 4);
}

TEST_F(PlanFiles, ReadsAProfile) {
  const NodeTimes times = read_profile(write("t.json", R"({"format": "modelcut-profile", "version": 1,
      "machine": "x", "nodes": {"stem": 1.5, "conv1": 0, "#3": 20}, "total_us": 21.5})"));
  EXPECT_EQ(times.microseconds.size(), 3u);
  EXPECT_EQ(times.microseconds.at("stem"), 1.5);
  EXPECT_EQ(times.microseconds.at("#3"), 20);
  EXPECT_TRUE(mentions(times.source, {"t.json"}));
}

TEST_F(PlanFiles, MalformedProfilesAreRefusedInOneLine) {
  auto error_for = [&](const std::string& text) {
    const fs::path path = write("bad.json", text);
    return error_from([&] { read_profile(path); });
  };
  EXPECT_TRUE(mentions(error_from([&] { read_profile(dir_ / "missing.json"); }), {"missing.json"}));
  EXPECT_TRUE(mentions(error_for("{\"format\": "), {"bad.json", "not valid JSON"}));
  EXPECT_TRUE(mentions(error_for("[1, 2]"), {"bad.json", "not a modelcut profile"}));
  EXPECT_TRUE(mentions(error_for(R"({"format": "other", "version": 1, "nodes": {}})"), {"not a modelcut profile"}));
  EXPECT_TRUE(
      mentions(error_for(R"({"format": "modelcut-profile", "version": 2, "nodes": {}})"), {"version 2", "version 1"}));
  EXPECT_TRUE(mentions(error_for(R"({"format": "modelcut-profile", "nodes": {}})"), {"version (none)"}));
  EXPECT_TRUE(mentions(error_for(R"({"format": "modelcut-profile", "version": 1})"), {"no \"nodes\""}));
  EXPECT_TRUE(mentions(error_for(R"({"format": "modelcut-profile", "version": 1, "nodes": {"a": -1}})"),
                       {"'a'", "-1", "non-negative"}));
  EXPECT_TRUE(mentions(error_for(R"({"format": "modelcut-profile", "version": 1, "nodes": {"a": "fast"}})"),
                       {"'a'", "numbers of microseconds"}));
  EXPECT_TRUE(
      mentions(error_for(R"({"format": "modelcut-profile", "version": 1, "nodes": {"a": 1e999}})"), {"bad.json"}));
  EXPECT_TRUE(mentions(error_for(std::string(100, '[') + std::string(100, ']')), {"nested"}));
  // A folder is not a profile.
  EXPECT_TRUE(mentions(error_from([&] { read_profile(dir_); }), {"regular file"}));
  // A time that is no number is quoted in a few bytes, whatever its size.
  const std::string long_time = error_for(R"({"format": "modelcut-profile", "version": 1, "nodes": {"a": ")" +
                                          std::string(100000, 'x') + R"("}})");
  EXPECT_TRUE(mentions(long_time, {"'a'", "xxx...", "numbers of microseconds"}));
  EXPECT_LT(long_time.size(), 300u);
  EXPECT_TRUE(mentions(error_for(R"({"format": "modelcut-profile", "version": 1, "nodes": {"a": {"b": 1}}})"),
                       {"'a'", "{...}", "numbers of microseconds"}));
}

TEST_F(PlanFiles, AProfileIsReadAsAStreamWithTheLastOfRepeatedKeys) {
  // As a JSON document reads: a key given twice has its last value, and
  // fields the planners ignore may hold anything.
  const NodeTimes times = read_profile(write("t.json", R"({"format": "other", "nodes": {"old": 1},
      "format": "modelcut-profile", "version": 1, "machine": {"cpus": [1, 2, {"x": null}]},
      "nodes": {"a": "slow", "b": 2, "a": 3.5}, "model": 7})"));
  EXPECT_EQ(times.microseconds, (std::map<std::string, double>{{"a", 3.5}, {"b", 2}}));
  EXPECT_EQ(times.model, "7");
  // A million and one nodes is more than any model has.
  std::string many = R"({"format": "modelcut-profile", "version": 1, "nodes": {)";
  for (int node = 0; node <= 1000000; ++node) many += (node ? ",\"n" : "\"n") + std::to_string(node) + "\":1";
  EXPECT_TRUE(mentions(error_from([&] { read_profile(write("many.json", many + "}}")); }),
                       {"many.json", "more than 1000000 nodes"}));
}

}  // namespace
}  // namespace modelcut::test
