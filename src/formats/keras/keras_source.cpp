// The Keras format adapter: a KerasModel seen as a SourceModel.
#include "keras_source.h"

#include "emit_keras.h"
#include "keras_costs.h"
#include "keras_model.h"
#include "modelcut/error.h"

namespace modelcut::keras {
namespace {

class KerasSource final : public SourceModel {
 public:
  explicit KerasSource(std::unique_ptr<KerasModel> model) : model_(std::move(model)) {}
  ~KerasSource() override {
    std::lock_guard<std::mutex> lock(h5::library_lock());
    model_.reset();
  }

  const Dataflow& dataflow() const override { return model_->dataflow; }

  ModelFacts facts() const override {
    ModelFacts facts;
    facts.format = "keras";
    const bool tf_keras = !model_->keras3;
    facts.producer = (tf_keras ? "tf-keras " : "keras ") + model_->keras_version;
    if (model_->keras_version.empty()) facts.producer = tf_keras ? "tf-keras" : "keras";
    try {
      facts.format_version = model_->keras_version.empty() ? 0 : std::stoll(model_->keras_version);
    } catch (...) {
      facts.format_version = 0;
    }
    facts.node_count = model_->calls.size();
    facts.weight_count = model_->weight_count;
    return facts;
  }

  std::string part_extension() const override {
    if (model_->container == Container::Zip) return ".keras";
    const std::string extension = model_->path.extension().string();
    return extension == ".hdf5" ? extension : ".h5";
  }

  void write_part(const Partition& partition, std::size_t index, const std::filesystem::path& target,
                  const WriteOptions& options) const override {
    if (options.weights.mode == WeightMode::External || options.weights.mode == WeightMode::InPlace) {
      fail(
          "Keras parts always hold their own weights: the weight modes 'external' and 'in-place' apply to ONNX "
          "models only");
    }
    try {
      std::lock_guard<std::mutex> lock(h5::library_lock());
      keras::write_part(*model_, partition, index, target);
    } catch (const Json::exception& error) {
      fail(quoted(model_->path.string()), ": unexpected model config (", error.what(), ")");
    }
    if (options.progress) {
      std::error_code error;
      const auto size = std::filesystem::file_size(target, error);
      if (!error) options.progress(size, size);
    }
  }

  std::vector<std::filesystem::path> input_files() const override {
    if (!model_->has_weights) return {};  // from config text: no file of the user's is read
    // A .h5 holds its weights; a .keras archive's weights are read inside
    // it, or from a temporary copy of our own when compressed.
    return {model_->path};
  }

  std::size_t part_weight_count(const Partition& partition, std::size_t index) const override {
    return keras::part_weight_count(*model_, partition, index);
  }

  std::vector<NodeCost> node_costs(const DimSizes& dims) const override {
    std::lock_guard<std::mutex> lock(h5::library_lock());
    return keras_node_costs(*model_, dims);
  }

 private:
  std::unique_ptr<KerasModel> model_;
};

}  // namespace

std::unique_ptr<SourceModel> open_keras_source(const std::filesystem::path& path) {
  std::unique_lock<std::mutex> lock(h5::library_lock());
  auto model = KerasModel::open(path);  // on failure, closes what it opened under the lock
  lock.unlock();
  return std::make_unique<KerasSource>(std::move(model));
}

std::unique_ptr<SourceModel> open_keras_config_source(const std::string& config_json, const std::string& origin) {
  // No HDF5 call is made, but the model's (empty) weights file is closed
  // under the lock like any other.
  std::unique_lock<std::mutex> lock(h5::library_lock());
  auto model = KerasModel::from_config(config_json, origin);
  lock.unlock();
  return std::make_unique<KerasSource>(std::move(model));
}

}  // namespace modelcut::keras
