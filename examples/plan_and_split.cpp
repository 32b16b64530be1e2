// Plans a pipeline and splits a model by it through modelcut's C++ API,
// opening the model once:
//
//   plan_and_split MODEL STAGES OUTPUT_DIR
//
// e.g. `plan_and_split resnet50.onnx 4 parts/` balances 4 stages by
// parameter bytes, prints each stage and writes the parts.
#include <iostream>
#include <string>

#include "modelcut/plan.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: plan_and_split MODEL STAGES OUTPUT_DIR\n";
    return 2;
  }
  try {
    const modelcut::Model model = modelcut::Model::open(argv[1]);
    modelcut::PipelineOptions options;
    options.stages = std::stoul(argv[2]);
    options.balance = modelcut::Balance::Params;
    const modelcut::Plan plan = model.plan_pipeline(options);
    for (std::size_t k = 0; k < plan.stages.size(); ++k) {
      const modelcut::StagePlan& stage = plan.stages[k];
      std::cout << "stage " << k + 1 << ": " << stage.first_layer << " .. " << stage.last_layer << ", "
                << stage.param_bytes << " parameter bytes\n";
      if (k < plan.cuts.size()) {
        std::cout << "  cut " << plan.cuts[k].spec << " (" << plan.cuts[k].crossing_bytes << " bytes cross)\n";
      }
    }
    modelcut::SplitOptions split;
    for (const modelcut::PlanCut& cut : plan.cuts) split.cuts.push_back(cut.spec);
    split.output_dir = argv[3];
    for (const modelcut::PartSummary& part : model.split(split).parts) std::cout << part.path.string() << "\n";
  } catch (const modelcut::Error& error) {
    std::cerr << "plan_and_split: error: " << error.what() << "\n";
    return 2;
  } catch (const std::logic_error&) {
    std::cerr << "plan_and_split: error: STAGES must be a number\n";
    return 2;
  }
  return 0;
}
