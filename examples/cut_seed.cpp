// Cuts a model through modelcut's C++ API, with no Python involved:
//
//   cut_seed MODEL.onnx CUT OUTPUT_DIR
//
// e.g. `cut_seed seed_keras.onnx fc2 parts/` cuts the seed's Keras model
// (converted by tf2onnx) after its layer "fc2" and prints what crosses the cut.
#include <iostream>

#include "modelcut/modelcut.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: cut_seed MODEL.onnx CUT OUTPUT_DIR\n";
    return 2;
  }
  try {
    modelcut::SplitOptions options;
    options.cuts = {argv[2]};
    options.output_dir = argv[3];
    const modelcut::SplitResult result = modelcut::split_model(argv[1], options);
    const modelcut::CutSummary& cut = result.cuts.front();
    std::cout << "cut at " << cut.kind << " " << cut.resolved_name << "\n";
    for (const modelcut::PartSummary& part : result.parts) {
      std::cout << part.path.string() << ": " << part.node_count << " nodes\n";
      for (const modelcut::ValueSummary& output : part.outputs) {
        std::cout << "  -> " << output.name << " " << output.type << "\n";
      }
    }
  } catch (const modelcut::Error& error) {
    std::cerr << "cut_seed: error: " << error.what() << "\n";
    return 2;
  }
  return 0;
}
