// libFuzzer target: the Keras reader on a legacy ".h5" HDF5 file (a
// model_config attribute, a model_weights group), through inspect_model and
// the pipeline walk of fuzz_support.h. The reader needs a file path, so the
// input is written to the process's scratch folder; whatever the outcome,
// nothing else may be left there.
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = modelcut::fuzz::write_input(data, size, "model.h5");
  modelcut::fuzz::exercise_pipeline(path);
  modelcut::fuzz::check_nothing_left_behind(path);
  return 0;
}
