// libFuzzer target: the frozen TensorFlow GraphDef reader and everything
// behind it. The input is read as a ".pb" model file (inspect_model and the
// pipeline walk of fuzz_support.h), then again from memory, indexed, cut in
// the middle and emitted part by part in memory; each emitted part must read
// back as a GraphDef.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "formats/tf/emit_graphdef.h"
#include "formats/tf/graphdef_model.h"
#include "fuzz_support.h"
#include "modelcut/error.h"
#include "modelcut/partition.h"
#include "modelcut/resolve.h"

namespace {

using namespace modelcut;

void cut_and_emit_in_memory(std::string bytes) {
  std::unique_ptr<tf::GraphDefModel> model;
  std::unique_ptr<tf::GraphDefIndex> index;
  try {
    model = tf::GraphDefModel::from_bytes(std::move(bytes), "fuzz.pb");
    index = std::make_unique<tf::GraphDefIndex>(tf::index_graphdef(*model));
  } catch (const Error&) {
    return;
  }
  const Dataflow& dataflow = index->dataflow;
  const LayerIndex layers(dataflow);
  const auto& order = dataflow.topological_order();
  if (order.size() < 2) return;
  const Node& middle = dataflow.node(order[order.size() / 2 - 1]);
  Partition partition;
  try {
    partition = partition_dataflow(dataflow, {resolve_cut(dataflow, layers, "node:" + middle.name)});
    tf::check_loop_frames(*model, *index, partition);
  } catch (const Error&) {
    return;
  }
  for (std::size_t part_index = 0; part_index < partition.parts.size(); ++part_index) {
    const std::string file_name = "part" + std::to_string(part_index + 1) + ".pb";
    std::string part;
    try {
      part = tf::emit_graphdef_part(*model, *index, partition, part_index).to_string();
    } catch (const Error&) {
      continue;
    }
    // A part modelcut wrote must be a graph modelcut reads.
    try {
      auto reread = tf::GraphDefModel::from_bytes(part, file_name);
      tf::index_graphdef(*reread);
    } catch (const Error& error) {
      std::fprintf(stderr, "fuzz: emitted %s does not read back: %s\n", file_name.c_str(), error.what());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = modelcut::fuzz::write_input(data, size, "model.pb");
  modelcut::fuzz::exercise_pipeline(path);
  modelcut::fuzz::check_nothing_left_behind(path);
  try {
    cut_and_emit_in_memory(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const modelcut::Error&) {
  }
  return 0;
}
