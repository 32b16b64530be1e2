"""Small models for the planning tests, made by the real exporters and saved
once per session: a torch CNN whose stages differ in cost (exported to ONNX
with torch's TorchScript exporter), a Keras residual CNN and a Keras model
with a shared layer and a nested Sequential model (saved by Keras 3), and an
ONNX model written in text with unnamed and repeated node names."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import onnx
import onnx.parser


def torch_cnn(path: str) -> str:
    """Convolutions of growing width and shrinking size, a skip connection
    and a linear head: per-node costs that differ by orders of magnitude."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1)
            self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1)
            self.skip = nn.Conv2d(channels_in, channels_out, 1, stride)

        def forward(self, x):
            return torch.relu(self.conv2(torch.relu(self.conv1(x))) + self.skip(x))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, 1, 1)
            self.block1 = Block(8, 16, 2)
            self.block2 = Block(16, 32, 2)
            self.block3 = Block(32, 64, 2)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            x = self.block3(self.block2(self.block1(torch.relu(self.stem(x)))))
            return self.head(x.mean(dim=(2, 3)))

    torch.manual_seed(0)
    model = Net().eval()
    with warnings.catch_warnings():  # the TorchScript exporter announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.randn(1, 3, 32, 32),),
            path,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
            opset_version=17,
        )
    return path


UNNAMED = """
<ir_version: 10, opset_import: ["" : 17]>
unnamed (float[N, 4] x) => (float[N, 4] y)
<float[4, 4] w = {1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1}>
{
  h = MatMul(x, w)
  a = Relu(h)
  b = Sigmoid(a)
  y = Add(b, x)
}
"""


def onnx_unnamed(path: str) -> str:
    """Nodes without names ("#0", "#3" to modelcut) and two nodes that share one name."""
    model = onnx.parser.parse_model(UNNAMED)
    model.graph.node[1].name = "act"
    model.graph.node[2].name = "act"
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return path


def keras_residual(path: str) -> str:
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    image = keras.Input((16, 16, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(image)
    for block in (1, 2):
        y = layers.Conv2D(8, 3, padding="same", activation="relu", name=f"block{block}_conv1")(x)
        y = layers.Conv2D(8, 3, padding="same", name=f"block{block}_conv2")(y)
        x = layers.ReLU(name=f"block{block}_out")(layers.Add(name=f"block{block}_add")([x, y]))
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    output = layers.Dense(4, name="logits")(layers.Dense(32, activation="relu", name="fc")(x))
    keras.Model(image, output, name="residual").save(path)
    return path


def keras_shared(path: str) -> str:
    """A layer called twice and a nested Sequential model called twice: node
    names with "@k" and paths through the nested model."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    inner = keras.Sequential(
        [keras.Input((6,)), layers.Dense(6, name="a"), layers.Dense(6, name="b")], name="inner"
    )
    x = keras.Input((6,), name="x")
    shared = layers.Dense(6, name="shared")
    h = shared(shared(x))
    y = inner(inner(h))
    keras.Model(x, layers.Add(name="add")([y, h]), name="top").save(path)
    return path


BUILDERS = {
    "cnn.onnx": torch_cnn,
    "unnamed.onnx": onnx_unnamed,
    "residual.keras": keras_residual,
    "shared.keras": keras_shared,
}
# Made by an exporter (cached between runs, tests/model_cache.py); the rest is written from text.
EXPORTED = {"cnn.onnx", "residual.keras", "shared.keras"}
