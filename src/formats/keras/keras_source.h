// The Keras format adapter: a Keras model as a SourceModel for the
// format-neutral pipeline (resolve, partition, inspect, write parts).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "../source_model.h"

namespace modelcut::keras {

// A .keras archive or a legacy .h5 file. Throws Error naming the file.
std::unique_ptr<SourceModel> open_keras_source(const std::filesystem::path& path);

// A model indexed from its config.json text alone (KerasModel::from_config):
// resolve, partition, inspect and facts work; node costs count no weight
// bytes and write_part refuses, as there are no weights. Messages name
// `origin`. Throws Error.
std::unique_ptr<SourceModel> open_keras_config_source(const std::string& config_json, const std::string& origin);

}  // namespace modelcut::keras
