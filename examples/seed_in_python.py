"""The seed's question answered in Python: cut after "fc2", then check that
model_b(model_a(x)) == model(x) and add noise at the cut.

    python examples/seed_in_python.py seed_keras.onnx
"""

import sys
import tempfile

import modelcut
import numpy as np
import onnxruntime as ort


def main(model_path: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        parts = modelcut.split(model_path, at="fc2", output_dir=f"{folder}/parts")
        model = ort.InferenceSession(model_path)
        model_a, model_b = (ort.InferenceSession(path) for path in parts.paths)

        x = np.array([[1.0, 2.0]], dtype=np.float32)
        (y1,) = model.run(None, {model.get_inputs()[0].name: x})
        boundary = model_a.run(None, {model_a.get_inputs()[0].name: x})
        (y2,) = model_b.run(None, dict(zip([i.name for i in model_b.get_inputs()], boundary)))
        print("y1 =", y1, " y2 =", y2, " equal:", np.array_equal(y1, y2))

        noisy = modelcut.run_chain(
            parts.paths, {model.get_inputs()[0].name: x}, intervention=modelcut.gaussian_noise(0.1, seed=0)
        )
        print("with noise N(0, 0.1^2) at the cut:", next(iter(noisy.values())))


if __name__ == "__main__":
    main(sys.argv[1])
