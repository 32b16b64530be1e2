"""Build the two seed models used by the README demo.

    python examples/seed_models.py OUTDIR [--dynamo]

writes OUTDIR/seed_keras.onnx (Keras 3, converted with tf2onnx) and
OUTDIR/seed_torch.onnx (the same architecture in PyTorch, exported with the
TorchScript exporter, or with the dynamo exporter when --dynamo is given).

Both are Dense/Linear 2 -> 4 -> 8 -> 16 -> 2 with layers named fc1..fc4 and
random weights from a fixed seed. The ONNX graph input is ``input`` with a
dynamic batch dimension.
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # silence TensorFlow's C++ logging
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # and its oneDNN notice


def build_keras_seed_onnx(path) -> Path:
    """Keras seed model -> ONNX via tf2onnx. Returns the path."""
    import keras
    import tensorflow as tf
    import tf2onnx

    tf.get_logger().setLevel("ERROR")
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(4, name="fc1"),
            keras.layers.Dense(8, name="fc2"),
            keras.layers.Dense(16, name="fc3"),
            keras.layers.Dense(2, name="fc4"),
        ],
        name="sequential",
    )
    # tf2onnx.convert.from_keras does not support Keras 3 models; convert a
    # tf.function that calls the model instead. The dict key names the output.
    spec = [tf.TensorSpec((None, 2), tf.float32, name="input")]

    @tf.function(input_signature=spec)
    def forward(x):
        return {"fc4": model(x, training=False)}

    path = Path(path)
    tf2onnx.convert.from_function(forward, input_signature=spec, output_path=str(path))
    x = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    _check(path, x, np.asarray(model(x, training=False)))
    return path


def _torch_seed_module():
    import torch
    from torch import nn

    class SeedMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 4)
            self.fc2 = nn.Linear(4, 8)
            self.fc3 = nn.Linear(8, 16)
            self.fc4 = nn.Linear(16, 2)

        def forward(self, x):
            return self.fc4(self.fc3(self.fc2(self.fc1(x))))

    torch.manual_seed(0)
    return SeedMLP().eval()


def build_torch_seed_onnx(path, dynamo: bool = False) -> Path:
    """Torch seed model (nn.Linear fc1..fc4) -> ONNX. Returns the path."""
    import logging

    import torch

    model = _torch_seed_module()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32))
    path = Path(path)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(
                model,
                (x,),
                str(path),
                dynamo=True,
                input_names=["input"],
                output_names=["output"],
                external_data=False,
                verbose=False,
                dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},),
            )
        else:
            torch.onnx.export(
                model,
                (x,),
                str(path),
                dynamo=False,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            )
    with torch.no_grad():
        ref = model(x).numpy()
    _check(path, x.numpy(), ref)
    return path


def _check(path: Path, x: np.ndarray, expected: np.ndarray) -> None:
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument(
        "--dynamo", action="store_true", help="export the torch model with the dynamo exporter"
    )
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    print(build_keras_seed_onnx(args.outdir / "seed_keras.onnx"))
    print(build_torch_seed_onnx(args.outdir / "seed_torch.onnx", dynamo=args.dynamo))


if __name__ == "__main__":
    main()
