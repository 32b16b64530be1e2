// The ONNX format adapter: an OnnxModel seen as a SourceModel.
#include <set>

#include "../../util/output_files.h"
#include "../source_model.h"
#include "emit_onnx.h"
#include "modelcut/error.h"
#include "onnx_costs.h"
#include "onnx_model.h"

namespace modelcut::onnx {
namespace {

class OnnxSource final : public SourceModel {
 public:
  OnnxSource(std::unique_ptr<OnnxModel> model) : model_(std::move(model)), dataflow_(index_onnx(*model_)) {}

  const Dataflow& dataflow() const override { return dataflow_; }

  ModelFacts facts() const override {
    ModelFacts facts;
    facts.format = "onnx";
    facts.producer = model_->producer_name;
    facts.format_version = model_->ir_version;
    for (const Opset& opset : model_->opsets) facts.opsets.emplace_back(opset.domain, opset.version);
    facts.node_count = model_->nodes.size();
    facts.weight_count = model_->initializers.size() + model_->sparse_initializers.size();
    return facts;
  }

  std::string part_extension() const override { return ".onnx"; }

  void write_part(const Partition& partition, std::size_t index, const std::filesystem::path& target,
                  const WriteOptions& options) const override {
    const EmittedPart part =
        emit_part(*model_, dataflow_, partition, index, options.weights, target.filename().string());
    // Protobuf readers (onnx, ONNX Runtime) refuse messages of 2 GiB or more.
    constexpr std::uint64_t kProtobufLimit = (std::uint64_t{1} << 31) - 1;
    if (part.model.size() > kProtobufLimit) {
      fail("part ", index + 1, " would be a ", part.model.size() >> 20,
           " MiB .onnx file, over protobuf's 2 GiB limit that ONNX readers enforce; use --weights external or auto");
    }
    const std::uint64_t total = part.model.size() + part.data.size();
    auto report = [&](std::uint64_t before) {
      return [&, before](std::uint64_t written) {
        if (options.progress) options.progress(before + written, total);
      };
    };
    if (!part.data_location.empty()) {
      write_file_atomically_to_fd(target.parent_path() / part.data_location,
                                  [&](int fd) { return part.data.write_to(fd, report(0)); });
    }
    write_file_atomically_to_fd(target, [&](int fd) { return part.model.write_to(fd, report(part.data.size())); });
  }

  std::vector<std::filesystem::path> input_files() const override {
    // The external data files as tensor_bytes() resolved and opened them
    // (OnnxModel::open has already checked and mapped every one).
    std::vector<std::filesystem::path> files{model_->path};
    std::set<std::filesystem::path> seen;
    for (const auto* list : {&model_->initializers, &model_->sparse_initializers}) {
      for (const TensorRef& tensor : *list) {
        if (!tensor.external) continue;
        const std::filesystem::path& file = model_->tensor_bytes(tensor).file->path();
        if (seen.insert(file).second) files.push_back(file);
      }
    }
    return files;
  }

  std::size_t part_weight_count(const Partition& partition, std::size_t index) const override {
    std::set<ValueId> weights;
    for (NodeId id : partition.parts[index].nodes) {
      for (ValueId input : dataflow_.node(id).inputs) {
        if (dataflow_.value(input).kind == ValueKind::Constant) weights.insert(input);
      }
    }
    return weights.size();
  }

  std::vector<NodeCost> node_costs(const DimSizes& dims) const override {
    return onnx_node_costs(*model_, dataflow_, dims);
  }

 private:
  std::unique_ptr<OnnxModel> model_;
  Dataflow dataflow_;
};

}  // namespace

std::unique_ptr<SourceModel> open_onnx_source(const std::filesystem::path& path,
                                              const std::vector<std::string>& type_hints) {
  auto model = OnnxModel::open(path);
  for (const std::string& hint : type_hints) model->add_type_hints(hint);
  return std::make_unique<OnnxSource>(std::move(model));
}

std::pair<std::size_t, std::size_t> merge_onnx_files(const std::vector<std::filesystem::path>& paths,
                                                     const std::filesystem::path& output) {
  std::vector<std::unique_ptr<OnnxModel>> parts;
  for (const auto& path : paths) parts.push_back(OnnxModel::open(path));
  const wire::Rope message = merge_parts(parts, output);
  write_file_atomically_to_fd(output, [&](int fd) { return message.write_to(fd); });
  const auto merged = OnnxModel::open(output);
  return {merged->nodes.size(), merged->initializers.size() + merged->sparse_initializers.size()};
}

}  // namespace modelcut::onnx
