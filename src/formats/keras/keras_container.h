// Opening the container of a Keras model: a Keras 3 ".keras" zip archive
// (config.json, metadata.json, model.weights.h5) or a legacy HDF5 ".h5" file
// (a model_config attribute and a model_weights group). Reads the config
// text, the metadata and opens the weights file; the config is not walked
// here (keras_graph.h).
#pragma once

#include <filesystem>

#include "keras_model.h"

namespace modelcut::keras {

// A file in the system's temporary folder that has no name there: made
// with O_TMPFILE (or mkstemp, then unlinked at once) and opened again
// through /proc/self/fd/N. Nothing is left in the temporary folder however
// the process ends, a crash or SIGKILL included. Without /proc the file
// keeps its name until destruction.
class ScratchFile {
 public:
  ScratchFile();
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  int descriptor() const { return descriptor_; }
  const std::filesystem::path& path() const { return path_; }  // a path that opens the file

 private:
  int descriptor_ = -1;
  std::filesystem::path path_;
  bool named_ = false;
};

// Fills model's container, root, metadata, keras_version, backend, keras3
// and weights from the file at `path`. Throws Error with one line naming
// the file for anything that is not a Keras model file.
void open_container(KerasModel& model, const std::filesystem::path& path);

// The config of the Keras model file at `path` (config.json, or the
// model_config attribute), read and parsed within the config limits, its
// layers not walked: what a check of the layers runs on before Keras itself
// opens the file. Throws Error like open_container.
Json read_model_config(const std::filesystem::path& path);

}  // namespace modelcut::keras
