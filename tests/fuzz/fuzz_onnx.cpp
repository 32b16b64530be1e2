// libFuzzer target: the ONNX reader and everything behind it. The input is
// read as a model file (inspect_model and the pipeline walk of
// fuzz_support.h: index, type propagation, node costs, layer index, cut
// resolution, partitioning), then again from memory, with its own
// structure-only copy as type hints, costed, cut in the middle and emitted
// part by part in memory; each emitted part must read back.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "formats/onnx/emit_onnx.h"
#include "formats/onnx/onnx_costs.h"
#include "formats/onnx/onnx_model.h"
#include "fuzz_support.h"
#include "modelcut/error.h"
#include "modelcut/partition.h"
#include "modelcut/resolve.h"

namespace {

using namespace modelcut;

void cut_and_emit_in_memory(std::string bytes) {
  std::unique_ptr<onnx::OnnxModel> model;
  try {
    model = onnx::OnnxModel::from_bytes(std::move(bytes), "fuzz.onnx");
    model->add_type_hints(onnx::structure_only(*model));
  } catch (const Error&) {
    return;
  }
  Dataflow dataflow = onnx::index_onnx(*model);
  // Costs have no error to report: whatever does not fit is unknown.
  try {
    onnx::onnx_node_costs(*model, dataflow, DimSizes(dataflow, DimBindings{}));
  } catch (const Error& error) {
    std::fprintf(stderr, "fuzz: node costs threw: %s\n", error.what());
    std::abort();
  }
  const LayerIndex layers(dataflow);
  const auto& order = dataflow.topological_order();
  if (order.size() < 2) return;
  const Node& middle = dataflow.node(order[order.size() / 2 - 1]);
  Partition partition;
  try {
    partition = partition_dataflow(dataflow, {resolve_cut(dataflow, layers, "node:" + middle.name)});
  } catch (const Error&) {
    return;
  }
  for (std::size_t index = 0; index < partition.parts.size(); ++index) {
    const std::string file_name = "part" + std::to_string(index + 1) + ".onnx";
    onnx::EmittedPart part;
    try {
      part = onnx::emit_part(*model, dataflow, partition, index, WeightOptions{WeightMode::Inline}, file_name);
    } catch (const Error&) {
      continue;
    }
    // A part modelcut wrote must be a model modelcut reads.
    try {
      auto reread = onnx::OnnxModel::from_bytes(part.model.to_string(), file_name);
      onnx::index_onnx(*reread);
    } catch (const Error& error) {
      std::fprintf(stderr, "fuzz: emitted %s does not read back: %s\n", file_name.c_str(), error.what());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = modelcut::fuzz::write_input(data, size, "model.onnx");
  modelcut::fuzz::exercise_pipeline(path);
  modelcut::fuzz::check_nothing_left_behind(path);
  try {
    cut_and_emit_in_memory(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const modelcut::Error&) {
  }
  return 0;
}
