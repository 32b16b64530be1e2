#!/usr/bin/env bash
# The built-in example: the seed's model (Input 2 -> Dense fc1 4 -> fc2 8 ->
# fc3 16 -> fc4 2) built with real Keras and converted with tf2onnx, and the
# same model exported from PyTorch; each is cut after the layer "fc2" by its
# framework name, verified on ONNX Runtime, and run once with noise at the
# cut. Sets the machine up first (scripts/setup.sh). Writes into build/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

demo=build/demo
rm -rf "$demo"
mkdir -p "$demo"
export PATH="$PWD/.venv/bin:$PATH"

step() { printf '\n$ %s\n' "$*"; "$@"; }

step python examples/seed_models.py "$demo"
for model in seed_keras seed_torch; do
  step modelcut inspect "$demo/$model.onnx"
  step modelcut split "$demo/$model.onnx" --at fc2 -o "$demo/${model}_parts"
  step modelcut verify "$demo/$model.onnx" "$demo/${model}_parts/$model.part1.onnx" "$demo/${model}_parts/$model.part2.onnx"
  step modelcut run "$demo/${model}_parts/$model.part1.onnx" "$demo/${model}_parts/$model.part2.onnx" \
    --noise 0.1 --reference "$demo/$model.onnx"
done
step python examples/seed_in_python.py "$demo/seed_keras.onnx"

# The same cut through the C++ API alone (no Python involved).
cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/cpp --target cut_seed >/dev/null
step build/cpp/cut_seed "$demo/seed_keras.onnx" fc2 "$demo/cpp_parts"
