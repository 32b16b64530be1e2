// Scratch files and the shared pipeline walk of the fuzz targets (see
// fuzz_support.h).
#include "fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <vector>

#include "formats/source_model.h"
#include "modelcut/error.h"
#include "modelcut/modelcut.h"
#include "modelcut/partition.h"
#include "modelcut/resolve.h"

namespace modelcut::fuzz {
namespace fs = std::filesystem;
namespace {

// Removed at a clean exit; scripts/fuzz.sh removes those of processes that
// crashed (sanitizers end a process without running exit handlers). Never
// destroyed, so that the exit handler can still read it.
const fs::path& scratch_folder() {
  static const fs::path* folder = [] {
    const fs::path shm = "/dev/shm";
    const fs::path base = access(shm.c_str(), W_OK) == 0 ? shm : fs::temp_directory_path();
    auto* path = new fs::path(base / ("modelcut-fuzz-" + std::to_string(getpid())));
    fs::create_directories(*path);
    setenv("TMPDIR", path->c_str(), 1);
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(scratch_folder(), ignored);
    });
    return path;
  }();
  return *folder;
}

// The cut a user might ask for after `layer`, then partition there.
void try_cut(const Dataflow& dataflow, const LayerIndex& layers, const std::string& spec) {
  try {
    const CutPoint cut = resolve_cut(dataflow, layers, spec);
    const Partition partition = partition_dataflow(dataflow, {cut});
    for (std::size_t k = 0; k + 1 < partition.parts.size(); ++k) {
      bool all_known = false;
      bytes_of(dataflow, partition.boundary(k), &all_known);
    }
  } catch (const Error&) {
  }
}

}  // namespace

fs::path write_input(const std::uint8_t* data, std::size_t size, const std::string& file_name) {
  const fs::path path = scratch_folder() / file_name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

void check_nothing_left_behind(const fs::path& input) {
  for (const auto& entry : fs::directory_iterator(input.parent_path())) {
    if (entry.path() != input) {
      std::fprintf(stderr, "fuzz: %s was left behind in the temporary folder\n", entry.path().c_str());
      std::abort();
    }
  }
}

void exercise_pipeline(const fs::path& model) {
  try {
    inspect_model(model);
  } catch (const Error&) {
    return;  // opening failed: the rest would fail the same way
  }
  std::unique_ptr<SourceModel> source;
  try {
    source = open_source_model(model, {});
  } catch (const Error&) {
    return;
  }
  const Dataflow& dataflow = source->dataflow();
  // Costs never fail on a model that opened: every size is checked and
  // whatever does not fit is unknown. A batch near 2^63 and a bound symbol
  // make the overflow paths reachable.
  for (std::uint64_t batch : {std::uint64_t{1}, std::uint64_t{1} << 62}) {
    DimBindings bindings;
    bindings.batch = batch;
    bindings.symbols["N"] = batch;
    std::vector<NodeCost> costs;
    try {
      costs = source->node_costs(DimSizes(dataflow, bindings));
    } catch (const Error& error) {
      std::fprintf(stderr, "fuzz: node_costs threw: %s\n", error.what());
      std::abort();
    }
    if (costs.size() != dataflow.nodes().size()) {
      std::fprintf(stderr, "fuzz: node_costs gave %zu costs for %zu nodes\n", costs.size(), dataflow.nodes().size());
      std::abort();
    }
  }
  const LayerIndex layers(dataflow);
  // A few places spread over the model rather than all of them: each cut
  // costs a partition of the whole graph.
  const auto& all_layers = layers.layers();
  for (std::size_t i : {std::size_t{0}, all_layers.size() / 2, all_layers.size() - 1}) {
    if (i < all_layers.size()) try_cut(dataflow, layers, "layer:" + all_layers[i].name);
  }
  const auto& order = dataflow.topological_order();
  if (!order.empty()) {
    const Node& middle = dataflow.node(order[order.size() / 2]);
    try_cut(dataflow, layers, "node:" + middle.name);
    if (!middle.outputs.empty()) try_cut(dataflow, layers, dataflow.value(middle.outputs.front()).name);
  }
  // An unknown name: the "did you mean" search over every name.
  try_cut(dataflow, layers, all_layers.empty() ? std::string("x") : all_layers.front().name + "_typo");
}

}  // namespace modelcut::fuzz
