// KerasModel::from_config: a model indexed from its config.json text alone
// must have the dataflow that opening the .keras archive with that config
// gives (same nodes, values, scopes and types), with no weights, and the
// format-neutral pipeline (resolve, partition) must work on it. The
// archives are the fuzz seeds, made by real Keras 3 (tests/fuzz/make_corpus.py).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "formats/keras/hdf5_file.h"
#include "formats/keras/keras_model.h"
#include "formats/keras/keras_source.h"
#include "formats/keras/zip_archive.h"
#include "modelcut/error.h"
#include "modelcut/partition.h"
#include "modelcut/resolve.h"

namespace modelcut::keras {
namespace {

namespace fs = std::filesystem;

fs::path corpus(const std::string& name) {
  return fs::path(MODELCUT_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "fuzz_keras" / name;
}

std::string config_text(const fs::path& archive) { return ZipReader(archive).read("config.json", 1 << 24); }

void expect_same_dataflow(const Dataflow& expected, const Dataflow& actual) {
  ASSERT_EQ(expected.nodes().size(), actual.nodes().size());
  ASSERT_EQ(expected.values().size(), actual.values().size());
  for (NodeId id = 0; id < expected.nodes().size(); ++id) {
    const Node& a = expected.node(id);
    const Node& b = actual.node(id);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.op, b.op) << a.name;
    EXPECT_EQ(a.scope, b.scope) << a.name;
    EXPECT_EQ(a.inputs, b.inputs) << a.name;
    EXPECT_EQ(a.outputs, b.outputs) << a.name;
  }
  for (ValueId id = 0; id < expected.values().size(); ++id) {
    const Value& a = expected.value(id);
    const Value& b = actual.value(id);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.kind, b.kind) << a.name;
    EXPECT_EQ(a.info.describe(), b.info.describe()) << a.name;
  }
  EXPECT_EQ(expected.graph_inputs(), actual.graph_inputs());
  EXPECT_EQ(expected.graph_outputs(), actual.graph_outputs());
  EXPECT_EQ(expected.topological_order(), actual.topological_order());
}

class FromConfig : public testing::TestWithParam<const char*> {};

TEST_P(FromConfig, IndexesTheDataflowOfTheArchive) {
  const fs::path archive = corpus(GetParam());
  std::unique_ptr<KerasModel> opened, configured;
  {
    std::lock_guard<std::mutex> lock(h5::library_lock());
    opened = KerasModel::open(archive);
    configured = KerasModel::from_config(config_text(archive), "live model");
  }
  expect_same_dataflow(opened->dataflow, configured->dataflow);
  EXPECT_EQ(opened->model_name, configured->model_name);
  EXPECT_EQ(opened->model_class, configured->model_class);
  ASSERT_EQ(opened->layers.size(), configured->layers.size());
  for (std::size_t i = 0; i < opened->layers.size(); ++i) {
    EXPECT_EQ(opened->layers[i].path, configured->layers[i].path);
    EXPECT_EQ(configured->layers[i].weight_count, 0u);
  }
  EXPECT_GT(opened->weight_count, 0u);
  EXPECT_EQ(configured->weight_count, 0u);
  EXPECT_TRUE(opened->has_weights);
  EXPECT_FALSE(configured->has_weights);
  std::lock_guard<std::mutex> lock(h5::library_lock());
  opened.reset();
  configured.reset();
}

INSTANTIATE_TEST_SUITE_P(Keras3, FromConfig,
                         testing::Values("seed.keras", "nested.keras", "residual.keras", "ops.keras", "lambda.keras",
                                         "shared.keras"));

// The pipeline on a model from config text: a layer of a nested model
// resolves and the partition has two parts; writing a part says why not.
TEST(FromConfigSource, ResolvesAndPartitionsButWritesNoParts) {
  auto source = open_keras_config_source(config_text(corpus("nested.keras")), "live model");
  const Dataflow& dataflow = source->dataflow();
  const LayerIndex layers(dataflow);
  const std::string first_leaf = dataflow.node(dataflow.topological_order().front()).name;
  const CutPoint cut = resolve_cut(dataflow, layers, first_leaf);
  const Partition partition = partition_dataflow(dataflow, {cut});
  ASSERT_EQ(partition.parts.size(), 2u);
  EXPECT_FALSE(partition.parts[0].nodes.empty());
  EXPECT_FALSE(partition.parts[1].nodes.empty());
  EXPECT_EQ(source->facts().format, "keras");
  EXPECT_EQ(source->facts().weight_count, 0u);
  EXPECT_TRUE(source->input_files().empty());
  const fs::path target = fs::temp_directory_path() / ("modelcut-from-config-" + std::to_string(::getpid()) + ".keras");
  try {
    source->write_part(partition, 0, target, WriteOptions{});
    ADD_FAILURE() << "write_part wrote a part of a model without weights";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("no weights"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("'live model'"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(target));
}

TEST(FromConfigErrors, OneLineNamingTheOrigin) {
  auto message_of = [](const std::string& text) {
    try {
      KerasModel::from_config(text, "my model");
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of("{not json").find("'my model': the model config is not valid JSON"), std::string::npos);
  EXPECT_NE(message_of("[1, 2]").find("'my model': the model config has no \"config\" object"), std::string::npos);
  EXPECT_NE(message_of(R"({"class_name": "MyModel", "config": {}})").find("subclassed model"), std::string::npos);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_NE(message_of(deep).find("nested more than"), std::string::npos);
}

}  // namespace
}  // namespace modelcut::keras
