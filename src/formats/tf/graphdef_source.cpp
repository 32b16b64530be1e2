// The frozen-GraphDef format adapter: a GraphDefModel seen as a SourceModel.
// Parts are GraphDef ".pb" files with their weights inline (a GraphDef has
// no external data), so the weight modes External and InPlace are refused.
#include <set>

#include "../../util/output_files.h"
#include "../source_model.h"
#include "emit_graphdef.h"
#include "graphdef_model.h"
#include "modelcut/error.h"

namespace modelcut::tf {
namespace {

class GraphDefSource final : public SourceModel {
 public:
  explicit GraphDefSource(std::unique_ptr<GraphDefModel> model)
      : model_(std::move(model)), index_(index_graphdef(*model_)) {}

  const Dataflow& dataflow() const override { return index_.dataflow; }

  ModelFacts facts() const override {
    ModelFacts facts;
    facts.format = "tf-graphdef";
    facts.producer = "tensorflow";
    facts.format_version = model_->producer_version;
    facts.node_count = model_->nodes.size();
    for (const NodeDefRef& node : model_->nodes) facts.weight_count += node.op == "Const" ? 1 : 0;
    return facts;
  }

  std::string part_extension() const override { return ".pb"; }

  void write_part(const Partition& partition, std::size_t index, const std::filesystem::path& target,
                  const WriteOptions& options) const override {
    if (options.weights.mode == WeightMode::External || options.weights.mode == WeightMode::InPlace) {
      fail(model_->label, ": a frozen GraphDef keeps its weights inside the graph; its parts cannot have them ",
           options.weights.mode == WeightMode::External ? "in external files" : "in place");
    }
    // Checked for every part, so that the first one refuses before anything is written.
    check_loop_frames(*model_, index_, partition);
    const wire::Rope part = emit_graphdef_part(*model_, index_, partition, index);
    // TensorFlow's protobuf parser refuses messages of 2 GiB or more.
    constexpr std::uint64_t kProtobufLimit = (std::uint64_t{1} << 31) - 1;
    if (part.size() > kProtobufLimit) {
      fail("part ", index + 1, " would be a ", part.size() >> 20,
           " MiB GraphDef, over protobuf's 2 GiB limit that TensorFlow enforces; cut it into smaller parts");
    }
    write_file_atomically_to_fd(target, [&](int fd) {
      return part.write_to(fd, [&](std::uint64_t written) {
        if (options.progress) options.progress(written, part.size());
      });
    });
  }

  std::vector<std::filesystem::path> input_files() const override { return {model_->path}; }

  std::size_t part_weight_count(const Partition& partition, std::size_t index) const override {
    std::set<ValueId> weights;
    for (NodeId id : partition.parts[index].nodes) {
      for (ValueId input : index_.dataflow.node(id).inputs) {
        if (index_.dataflow.value(input).kind == ValueKind::Constant) weights.insert(input);
      }
    }
    return weights.size();
  }

  std::vector<NodeCost> node_costs(const DimSizes& dims) const override {
    return graphdef_node_costs(*model_, index_, dims);
  }

 private:
  std::unique_ptr<GraphDefModel> model_;
  GraphDefIndex index_;
};

}  // namespace

std::unique_ptr<SourceModel> open_graphdef_source(const std::filesystem::path& path) {
  return std::make_unique<GraphDefSource>(GraphDefModel::open(path));
}

}  // namespace modelcut::tf
