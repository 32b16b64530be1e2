// The pipeline behind the public API: load -> index -> resolve the cut ->
// partition -> emit, plus merge, inspect and plan. This is the only place
// that ties a file format (src/formats/*) to the format-neutral middle
// (index, resolve, partition, plan). Model opens a file once; the free
// functions (split_model, resolve_cuts, inspect_model) open a Model and use
// it, so there is one code path for each.
#include <algorithm>
#include <set>
#include <stdexcept>

#include "formats/onnx/onnx_model.h"
#include "formats/source_model.h"
#include "modelcut/modelcut.h"
#include "modelcut/partition.h"
#include "modelcut/plan.h"
#include "modelcut/resolve.h"
#include "plan/planners.h"
#include "util/output_files.h"

namespace modelcut {
namespace fs = std::filesystem;

namespace {

ValueSummary summarize(const Dataflow& dataflow, ValueId id) {
  const Value& value = dataflow.value(id);
  return ValueSummary{value.name, value.info.describe(), value.info.bytes_per_item()};
}

// "resnet.part1.onnx", ..., zero-padded so that names sort in chain order.
std::string part_file_name(const std::string& stem, std::size_t index, std::size_t count,
                           const std::string& extension) {
  const std::size_t width = std::to_string(count).size();
  std::string number = std::to_string(index + 1);
  number.insert(0, width - number.size(), '0');
  return stem + ".part" + number + extension;
}

std::string innermost_layer(const Dataflow& dataflow, const Node& node) {
  std::string name;
  for (std::size_t i = 0; i < node.scope.size(); ++i) {
    if (i > 0) name += dataflow.scope_separator;
    name += node.scope[i];
  }
  return name;
}

// A node that passes its one input on unchanged. Exported TensorFlow
// functions frame the model with them (Func/.../input/_0 after each input,
// Identity chains before each output).
bool passes_value_on(const Node& node) {
  return node.op == "Identity" && node.inputs.size() == 1 && node.outputs.size() == 1;
}

// Computed values at which a cut would leave one part computing nothing: a
// graph input passed on by Identity nodes alone, or a value that only
// Identity nodes read on the way to graph outputs. Such cut points are noise
// in a listing of where to cut.
std::vector<bool> idle_cut_values(const Dataflow& dataflow) {
  std::vector<bool> from_input(dataflow.values().size(), false), to_outputs(dataflow.values().size(), false);
  const auto& order = dataflow.topological_order();
  for (NodeId id : order) {
    const Node& node = dataflow.node(id);
    if (!passes_value_on(node)) continue;
    const Value& input = dataflow.value(node.inputs[0]);
    from_input[node.outputs[0]] = input.kind == ValueKind::GraphInput || from_input[node.inputs[0]];
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    for (ValueId output : dataflow.node(*it).outputs) {
      const Value& value = dataflow.value(output);
      bool only_passed_on = value.is_graph_output || !value.consumers.empty();
      for (NodeId reader : value.consumers) {
        const Node& node = dataflow.node(reader);
        only_passed_on = only_passed_on && passes_value_on(node) && to_outputs[node.outputs[0]];
      }
      to_outputs[output] = only_passed_on;
    }
  }
  for (std::size_t id = 0; id < from_input.size(); ++id) from_input[id] = from_input[id] || to_outputs[id];
  return from_input;
}

// In place, parts go beside the model: ONNX runtimes and loaders read
// external data only from inside a model's own folder (and refuse links).
fs::path in_place_folder(const fs::path& model_path, const fs::path& requested) {
  std::error_code error;
  const fs::path folder = fs::absolute(model_path).parent_path();
  if (!requested.empty() && !fs::equivalent(requested, folder, error)) {
    fail("--weights in-place writes the parts beside the model, in ", quoted(folder.string()),
         ", because ONNX runtimes read external data only inside a model's own folder; leave out the output ",
         "directory or give that folder");
  }
  return requested.empty() ? model_path.parent_path() : requested;
}

CutSummary summarize_cut(const Dataflow& dataflow, const CutPoint& cut) {
  CutSummary summary{cut.spec, to_string(cut.kind), cut.resolved_name, {}};
  for (ValueId id : cut.values) summary.values.push_back(dataflow.value(id).name);
  return summary;
}

// A format adapter's costs are ours to trust only once their count matches
// the dataflow's nodes: the planners index them by NodeId.
std::vector<NodeCost> costs_checked(const Dataflow& dataflow, std::vector<NodeCost> costs) {
  if (costs.size() != dataflow.nodes().size()) {
    throw std::logic_error("node_costs gave " + std::to_string(costs.size()) + " costs for " +
                           std::to_string(dataflow.nodes().size()) + " nodes");
  }
  return costs;
}

}  // namespace

struct Model::Impl {
  fs::path path;
  std::unique_ptr<SourceModel> source;
  LayerIndex layers;

  Impl(fs::path model_path, std::unique_ptr<SourceModel> opened)
      : path(std::move(model_path)), source(std::move(opened)), layers(source->dataflow()) {}
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Model Model::open(const fs::path& path, const std::vector<std::string>& type_hints) {
  auto source = open_source_model(path, type_hints);
  return Model(std::make_unique<Impl>(path, std::move(source)));
}

const fs::path& Model::path() const { return impl_->path; }
const Dataflow& Model::dataflow() const { return impl_->source->dataflow(); }

SplitResult Model::split(const SplitOptions& options) const {
  const fs::path& model_path = impl_->path;
  const SourceModel& model = *impl_->source;
  const bool in_place = options.weights.mode == WeightMode::InPlace;
  const fs::path folder = in_place ? in_place_folder(model_path, options.output_dir) : options.output_dir;
  if (!in_place && options.output_dir.empty()) fail("no output directory given");
  std::vector<fs::path> inputs = model.input_files();
  inputs.insert(inputs.end(), options.also_read.begin(), options.also_read.end());
  if (!in_place) check_output_path(options.output_dir, inputs, options.overwrite);
  const Dataflow& dataflow = model.dataflow();

  SplitResult result;
  std::vector<CutPoint> cuts;
  for (const std::string& spec : options.cuts) {
    cuts.push_back(resolve_cut(dataflow, impl_->layers, spec));
    result.cuts.push_back(summarize_cut(dataflow, cuts.back()));
  }
  const Partition partition = partition_dataflow(dataflow, cuts);

  std::unique_ptr<StagedDirectory> staged;
  NewFiles beside_model;
  if (!in_place) staged = std::make_unique<StagedDirectory>(options.output_dir, options.overwrite);
  const std::string stem = model_path.stem().string();
  for (std::size_t index = 0; index < partition.parts.size(); ++index) {
    const std::string file_name = part_file_name(stem, index, partition.parts.size(), model.part_extension());
    WriteOptions write_options{options.weights, {}};
    if (options.progress) {
      write_options.progress = [&, index](std::uint64_t done, std::uint64_t total) {
        options.progress(index, done, total);
      };
    }
    if (in_place) beside_model.claim(folder / file_name, inputs, options.overwrite);
    model.write_part(partition, index, (in_place ? folder : staged->staging()) / file_name, write_options);
    const Part& part = partition.parts[index];
    PartSummary summary;
    summary.path = folder / file_name;
    summary.node_count = part.nodes.size();
    summary.initializer_count = model.part_weight_count(partition, index);
    for (ValueId id : part.inputs) summary.inputs.push_back(summarize(dataflow, id));
    for (ValueId id : part.outputs) summary.outputs.push_back(summarize(dataflow, id));
    result.parts.push_back(std::move(summary));
  }
  if (staged) staged->commit();
  beside_model.keep();
  return result;
}

std::vector<CutSummary> Model::resolve(const std::vector<std::string>& cuts) const {
  std::vector<CutSummary> summaries;
  for (const std::string& spec : cuts)
    summaries.push_back(summarize_cut(dataflow(), resolve_cut(dataflow(), impl_->layers, spec)));
  return summaries;
}

InspectReport Model::inspect() const {
  const Dataflow& dataflow = this->dataflow();
  InspectReport report;
  const ModelFacts facts = impl_->source->facts();
  report.path = impl_->path.string();
  report.format = facts.format;
  report.producer = facts.producer;
  report.ir_version = facts.format_version;
  report.opsets = facts.opsets;
  report.node_count = facts.node_count;
  report.initializer_count = facts.weight_count;
  for (ValueId id : dataflow.graph_inputs()) report.inputs.push_back(summarize(dataflow, id));
  for (ValueId id : dataflow.graph_outputs()) report.outputs.push_back(summarize(dataflow, id));
  for (const Layer& layer : impl_->layers.layers()) {
    LayerSummary summary{layer.name, layer.path.size(), layer.nodes.size(), {}};
    for (ValueId id : layer.outputs) summary.outputs.push_back(summarize(dataflow, id));
    report.layers.push_back(std::move(summary));
  }

  // Candidate cut points: where one computed value alone crosses (plus graph
  // inputs still needed later), as the real partition would place the cut,
  // except where one part would compute nothing or that split refuses (inside
  // nodes kept together).
  const std::vector<bool> idle = idle_cut_values(dataflow);
  const std::vector<char> splits = plan_detail::splits_kept_together(dataflow, dataflow.topological_order());
  for (const SingleValueCut& cut : find_single_value_cuts(dataflow)) {
    if (idle[cut.value] || splits[dataflow.position_of(dataflow.value(cut.value).producer)]) continue;
    CutCandidate point;
    point.value = summarize(dataflow, cut.value);
    point.layer = innermost_layer(dataflow, dataflow.node(dataflow.value(cut.value).producer));
    for (std::size_t index = 1; index < cut.crossing.size(); ++index) {
      point.passed_through.push_back(dataflow.value(cut.crossing[index]).name);
    }
    point.crossing_bytes = bytes_of(dataflow, cut.crossing, &point.bytes_known);
    report.cut_points.push_back(std::move(point));
  }
  return report;
}

std::vector<NodeCost> Model::node_costs(const DimBindings& dims) const {
  const DimSizes sizes(dataflow(), dims);
  return costs_checked(dataflow(), impl_->source->node_costs(sizes));
}

Plan Model::plan_pipeline(const PipelineOptions& options) const {
  const DimSizes sizes(dataflow(), options.dims);
  const auto costs = costs_checked(dataflow(), impl_->source->node_costs(sizes));
  return modelcut::plan_pipeline(dataflow(), impl_->layers, costs, sizes, options);
}

Plan Model::plan_device_server(const DeviceServerOptions& options) const {
  const DimSizes sizes(dataflow(), options.dims);
  const auto costs = costs_checked(dataflow(), impl_->source->node_costs(sizes));
  return modelcut::plan_device_server(dataflow(), impl_->layers, costs, sizes, options);
}

SplitResult split_model(const fs::path& model_path, const SplitOptions& options) {
  if (options.weights.mode != WeightMode::InPlace) {
    if (options.output_dir.empty()) fail("no output directory given");
    // Early, before the model is read, for the common mistake; the files the
    // model reads are known only once it is open, and checked by split.
    std::vector<fs::path> inputs = options.also_read;
    inputs.push_back(model_path);
    check_output_path(options.output_dir, inputs, options.overwrite);
  }
  return Model::open(model_path, options.type_hints).split(options);
}

std::vector<CutSummary> resolve_cuts(const fs::path& model_path, const std::vector<std::string>& cuts,
                                     const std::vector<std::string>& type_hints) {
  return Model::open(model_path, type_hints).resolve(cuts);
}

MergeResult merge_parts(const std::vector<fs::path>& part_paths, const fs::path& output, bool overwrite) {
  if (part_paths.size() < 2) fail("merge needs at least two parts");
  check_output_path(output, part_paths, overwrite);
  // The parts and every file they read: in-place parts read the model's own
  // weight files, which the merged model must not replace.
  std::vector<fs::path> inputs;
  for (const fs::path& part : part_paths) {
    for (fs::path& file : open_source_model(part, {})->input_files()) inputs.push_back(std::move(file));
  }
  check_output_path(output, inputs, overwrite);
  const auto [nodes, weights] = merge_source_parts(part_paths, output);
  return MergeResult{output, nodes, weights};
}

InspectReport inspect_model(const fs::path& model_path, const std::vector<std::string>& type_hints) {
  return Model::open(model_path, type_hints).inspect();
}

std::vector<fs::path> input_files(const fs::path& model_path) {
  return open_source_model(model_path, {})->input_files();
}

std::string structure_only(const fs::path& model_path) {
  return onnx::structure_only(*onnx::OnnxModel::open(model_path));
}

}  // namespace modelcut
