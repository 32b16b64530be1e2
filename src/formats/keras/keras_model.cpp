// Loading and indexing Keras models (see keras_model.h): the container is
// opened (keras_container.h), or the config text taken as given; then the
// config is flattened into the dataflow (keras_graph.h), types propagated
// (keras_types.h) and, when there is a weights file, each layer's weights
// located in it (keras_weights.h).
#include "keras_model.h"

#include "keras_config.h"
#include "keras_container.h"
#include "keras_graph.h"
#include "keras_types.h"
#include "keras_weights.h"
#include "modelcut/error.h"

namespace modelcut::keras {
namespace fs = std::filesystem;
namespace {

// Everything after the config is parsed; the same for a file and for
// config text alone.
void index_model(KerasModel& model) {
  const std::string where = quoted(model.path.string());
  if (!model.root.is_object() || !model.root.contains("config") || !model.root["config"].is_object()) {
    fail(where, ": the model config has no \"config\" object");
  }
  try {
    const auto recorded = flatten_graph(model);
    propagate_types(model, recorded);
  } catch (const Json::exception& error) {
    fail(where, ": unexpected model config (", error.what(), ")");
  }
  if (!model.has_weights) return;
  try {
    index_weights(model);
  } catch (const Json::exception& error) {
    fail(where, ": unexpected model config (", error.what(), ")");
  }
}

}  // namespace

std::unique_ptr<KerasModel> KerasModel::open(const fs::path& path) {
  auto model = std::make_unique<KerasModel>();
  model->path = path;
  std::error_code error;
  if (!fs::is_regular_file(path, error)) fail("cannot open ", quoted(path.string()), ": no such file");
  open_container(*model, path);
  model->has_weights = true;
  index_model(*model);
  return model;
}

std::unique_ptr<KerasModel> KerasModel::from_config(const std::string& config_json, const std::string& origin) {
  auto model = std::make_unique<KerasModel>();
  model->path = origin;
  if (config_json.size() > kMaxConfigBytes) {
    fail(quoted(origin), ": the model config is ", config_json.size(), " bytes, more than the ", kMaxConfigBytes,
         " accepted");
  }
  // The text of a .keras archive's config.json: Keras 3, as if from a zip.
  model->container = Container::Zip;
  model->keras3 = true;
  model->root = parse_json(config_json, "the model config", origin);
  model->has_weights = false;
  index_model(*model);
  return model;
}

}  // namespace modelcut::keras
