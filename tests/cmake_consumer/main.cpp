// Links against modelcut and reports a clean error for a missing model,
// proving the public headers and the target work from another project.
#include <iostream>

#include "modelcut/modelcut.h"

int main() {
  try {
    modelcut::inspect_model("no-such-model.onnx");
  } catch (const modelcut::Error& error) {
    std::cout << "modelcut says: " << error.what() << "\n";
    return 0;
  }
  return 1;
}
