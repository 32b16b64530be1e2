// The interface between the format-neutral pipeline and a file format.
//
// A format adapter loads a file into a SourceModel, which exposes the model's
// dataflow (for resolving and partitioning) and writes a part of it back in
// the same format. The pipeline (src/pipeline.cpp) knows formats only through
// this interface and open_source_model().
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "modelcut/dataflow.h"
#include "modelcut/modelcut.h"
#include "modelcut/partition.h"
#include "modelcut/plan.h"

namespace modelcut {

struct WriteOptions {
  WeightOptions weights;
  // (bytes written, bytes to write) for the part being written.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

struct ModelFacts {
  std::string format;    // "onnx", "keras"
  std::string producer;  // exporter or framework
  std::int64_t format_version = 0;
  std::vector<std::pair<std::string, std::int64_t>> opsets;
  std::size_t node_count = 0;
  std::size_t weight_count = 0;
};

class SourceModel {
 public:
  virtual ~SourceModel() = default;
  virtual const Dataflow& dataflow() const = 0;
  virtual ModelFacts facts() const = 0;
  // File name extension of parts, e.g. ".onnx" or ".keras".
  virtual std::string part_extension() const = 0;
  // Writes part `index` to `target` (a new file; companion files such as
  // external data go beside it). Throws Error.
  virtual void write_part(const Partition& partition, std::size_t index, const std::filesystem::path& target,
                          const WriteOptions& options) const = 0;
  // Every file of the user's that this model reads: the model file and the
  // files its weights lie in, each once. The pipeline never writes over or
  // deletes any of them (see check_output_path).
  virtual std::vector<std::filesystem::path> input_files() const = 0;
  // Weights (initializers, layer weights) part `index` carries.
  virtual std::size_t part_weight_count(const Partition& partition, std::size_t index) const = 0;
  // What every node costs (indexed by NodeId): parameter bytes and MACs, with
  // symbolic dimensions sized by `dims`. The format knows its ops' meaning;
  // the planners (src/plan) only add these up.
  virtual std::vector<NodeCost> node_costs(const DimSizes& dims) const = 0;
};

// Opens a model by its content and file name. `type_hints` are serialized
// models with value types (ONNX only). Throws Error naming the file.
std::unique_ptr<SourceModel> open_source_model(const std::filesystem::path& path,
                                               const std::vector<std::string>& type_hints);

// Merges parts of one format into `output`; returns (nodes, weights) counts.
// One node's costs with its name and op, for reports.
struct NodeCostSummary {
  std::string name, op;
  NodeCost cost;
};

// Opens a model and lists what each node costs, in topological order, with
// symbolic dimensions sized by `dims` (modelcut._core.node_costs). Throws
// Error naming the file.
std::vector<NodeCostSummary> node_costs_report(const std::filesystem::path& path,
                                               const std::vector<std::string>& type_hints, const DimBindings& dims);

std::pair<std::size_t, std::size_t> merge_source_parts(const std::vector<std::filesystem::path>& parts,
                                                       const std::filesystem::path& output);

}  // namespace modelcut
