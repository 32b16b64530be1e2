"""Test model zoo: small, randomly initialised models exported with the real exporters.

Every builder takes an output path, exports the model there and returns the path.
Nothing is downloaded: all weights are random with fixed seeds, so a given
builder produces the same numbers on every run.

Exporters covered:

* Keras 3 -> ONNX through tf2onnx (``tf2onnx.convert.from_function`` on a
  ``tf.function`` wrapping the model; ``from_keras`` does not work with Keras 3
  in tf2onnx 1.17).
* PyTorch -> ONNX through the TorchScript exporter (``dynamo=False``) and the
  torch.export based exporter (``dynamo=True``).

``ZOO`` maps a model name to a :class:`ZooEntry` carrying the builder, the
graph inputs (for :func:`make_inputs`) and suggested cut points in the
framework's own layer naming.

TensorFlow/Keras/tf2onnx are imported lazily (only when a Keras model is
built), so tests that only need the torch models do not pay for them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Quiet TensorFlow before it is ever imported (it is only imported lazily below).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# Tolerance used when checking the exported model against the framework output.
ATOL = 1e-4
RTOL = 1e-3


# --------------------------------------------------------------------------- #
# Registry types
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class InputSpec:
    """One graph input. ``shape`` excludes the (dynamic) batch dimension."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"  # "float32", "int64" or "bool"
    kind: str = "normal"  # "normal", "tokens" (ints in [0, high)), "padding_mask"
    high: int = 0  # upper bound for kind == "tokens"


@dataclass(frozen=True)
class ZooEntry:
    name: str
    framework: str  # "keras" or "torch"
    exporter: str  # "tf2onnx", "torchscript" or "dynamo"
    build: Callable[[str | os.PathLike], Path]
    inputs: tuple[InputSpec, ...]
    cut_points: tuple[str, ...]
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


def make_inputs(name: str, batch: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic example feeds (graph input name -> array) for zoo model ``name``."""
    return _feeds(ZOO[name].inputs, batch, seed)


def _feeds(inputs: tuple[InputSpec, ...], batch: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for spec in inputs:
        shape = (batch, *spec.shape)
        if spec.kind == "tokens":
            feeds[spec.name] = rng.integers(0, spec.high, size=shape, dtype=np.int64)
        elif spec.kind == "padding_mask":
            # True marks padding: pad a random tail of each row but never a whole row
            # (an all-padding row gives NaN in attention); row 0 has no padding.
            seq = spec.shape[-1]
            lengths = rng.integers(1, seq + 1, size=batch)
            lengths[0] = seq
            feeds[spec.name] = np.arange(seq)[None, :] >= lengths[:, None]
        else:
            feeds[spec.name] = rng.standard_normal(shape).astype(spec.dtype)
    return feeds


def check_onnx(
    path: str | os.PathLike,
    feeds: dict[str, np.ndarray] | None = None,
    expected: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Full ONNX checker pass plus an onnxruntime run; optionally compare outputs."""
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if feeds is None:
        return []
    got = sess.run(None, feeds)
    if expected is not None:
        if len(got) != len(expected):
            raise AssertionError(f"{path}: {len(got)} outputs, expected {len(expected)}")
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL, err_msg=str(path))
    return got


# --------------------------------------------------------------------------- #
# Keras (Keras 3 on TensorFlow) via tf2onnx
# --------------------------------------------------------------------------- #


def _keras():
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return keras, tf


def _randomize_keras_bn(model, seed: int) -> None:
    """Give BatchNormalization layers non-trivial gamma/beta/moving statistics."""
    keras, _ = _keras()
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            new = []
            for w in layer.get_weights():
                # order: gamma, beta, moving_mean, moving_variance
                new.append(rng.uniform(0.5, 1.5, w.shape).astype(w.dtype))
            if len(new) == 4:
                new[1] = (new[1] - 1.0).astype(new[1].dtype)
                new[2] = (new[2] - 1.0).astype(new[2].dtype)
            layer.set_weights(new)


def keras_to_onnx(
    model, path: str | os.PathLike, input_names: list[str], opset: int | None = None, check_batch: int = 2
) -> Path:
    """Convert a Keras 3 model with tf2onnx via ``from_function``.

    The graph inputs are named ``input_names``; the graph outputs are named after
    the model's output layers (what ``from_keras`` does for Keras 2 models).
    The batch dimension is dynamic.
    """
    keras, tf = _keras()
    import tf2onnx

    path = Path(path)
    specs = [
        tf.TensorSpec((None, *tuple(t.shape[1:])), t.dtype, name=n) for t, n in zip(model.inputs, input_names)
    ]
    out_names = [_keras_output_layer_name(t) for t in model.outputs]

    @tf.function(input_signature=specs)
    def fn(*args):
        outs = model(list(args) if len(args) > 1 else args[0], training=False)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        return dict(zip(out_names, outs))

    tf2onnx.convert.from_function(fn, input_signature=specs, opset=opset, output_path=str(path))

    rng = np.random.default_rng(1234)
    feeds = {
        n: rng.standard_normal((check_batch, *tuple(t.shape[1:]))).astype("float32")
        for t, n in zip(model.inputs, input_names)
    }
    ref = model(
        [feeds[n] for n in input_names] if len(input_names) > 1 else feeds[input_names[0]], training=False
    )
    ref = ref if isinstance(ref, (list, tuple)) else [ref]
    check_onnx(path, feeds, [np.asarray(r) for r in ref])
    return path


def _keras_output_layer_name(tensor) -> str:
    history = getattr(tensor, "_keras_history", None)
    if history is not None:
        return history[0].name
    return tensor.name


def build_keras_seed(path: str | os.PathLike) -> Path:
    """The seed model: Dense 2->4->8->16->2 named fc1..fc4 (zero biases, Keras defaults)."""
    keras, _ = _keras()
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((2,)),
            layers.Dense(4, name="fc1"),
            layers.Dense(8, name="fc2"),
            layers.Dense(16, name="fc3"),
            layers.Dense(2, name="fc4"),
        ],
        name="sequential",
    )
    return keras_to_onnx(model, path, ["input"])


def build_keras_mlp_bias(path: str | os.PathLike) -> Path:
    """Seed-shaped MLP with random biases and activations (so each layer is >1 ONNX node)."""
    keras, _ = _keras()
    keras.utils.clear_session()
    keras.utils.set_random_seed(1)
    layers = keras.layers
    init = keras.initializers.RandomNormal(stddev=0.5, seed=1)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            layers.Dense(4, name="fc1", activation="relu", bias_initializer=init),
            layers.Dense(8, name="fc2", activation="tanh", bias_initializer=init),
            layers.Dense(16, name="fc3", activation="relu", bias_initializer=init),
            layers.Dense(2, name="fc4", bias_initializer=init),
        ],
        name="mlp_bias",
    )
    return keras_to_onnx(model, path, ["input"])


def build_keras_residual(path: str | os.PathLike) -> Path:
    """Functional conv net with two residual blocks (Add) and a dense head, 1x32x32x3 NHWC."""
    keras, _ = _keras()
    keras.utils.clear_session()
    keras.utils.set_random_seed(2)
    L = keras.layers
    inp = keras.Input((32, 32, 3), name="image")
    x = L.Conv2D(8, 3, strides=2, padding="same", name="stem_conv")(inp)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.ReLU(name="stem_relu")(x)
    for b in (1, 2):
        y = L.Conv2D(8, 3, padding="same", name=f"block{b}_conv1")(x)
        y = L.BatchNormalization(name=f"block{b}_bn1")(y)
        y = L.ReLU(name=f"block{b}_relu1")(y)
        y = L.Conv2D(8, 3, padding="same", name=f"block{b}_conv2")(y)
        y = L.BatchNormalization(name=f"block{b}_bn2")(y)
        x = L.Add(name=f"block{b}_add")([x, y])
        x = L.ReLU(name=f"block{b}_out")(x)
    x = L.GlobalAveragePooling2D(name="pool")(x)
    x = L.Dense(16, activation="relu", name="fc1")(x)
    out = L.Dense(4, name="logits")(x)
    model = keras.Model(inp, out, name="residual")
    _randomize_keras_bn(model, 2)
    return keras_to_onnx(model, path, ["image"])


def build_keras_mobilenetv2(path: str | os.PathLike) -> Path:
    """keras.applications.MobileNetV2(weights=None, alpha=0.35), 1x96x96x3 NHWC, 10 classes."""
    keras, _ = _keras()
    keras.utils.clear_session()
    keras.utils.set_random_seed(3)
    model = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=10)
    _randomize_keras_bn(model, 3)
    return keras_to_onnx(model, path, ["input"])


# --------------------------------------------------------------------------- #
# PyTorch architectures (torch only; module names follow torchvision)
# --------------------------------------------------------------------------- #


class SeedMLP(nn.Module):
    """Same architecture as the Keras seed: Linear 2->4->8->16->2, fc1..fc4."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 4)
        self.fc2 = nn.Linear(4, 8)
        self.fc3 = nn.Linear(8, 16)
        self.fc4 = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc4(self.fc3(self.fc2(self.fc1(x))))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNetTiny(nn.Module):
    """ResNet-18 layout (BasicBlock, [2, 2, 2, 2]) with widths 8/16/32/64."""

    def __init__(self, widths=(8, 16, 32, 64), num_classes=10):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(widths[0], 2)
        self.layer2 = self._make_layer(widths[1], 2, stride=2)
        self.layer3 = self._make_layer(widths[2], 2, stride=2)
        self.layer4 = self._make_layer(widths[3], 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(planes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    def __init__(self, cin, ch1, ch3red, ch3, ch5red, ch5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(cin, ch1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(cin, ch3red, kernel_size=1),
            BasicConv2d(ch3red, ch3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(cin, ch5red, kernel_size=1),
            BasicConv2d(ch5red, ch5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(cin, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        outs = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(outs, 1)


class GoogLeNetTiny(nn.Module):
    """GoogLeNet layout (torchvision names) with ~1/8 of the channels, no aux heads."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = BasicConv2d(3, 8, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(8, 8, kernel_size=1)
        self.conv3 = BasicConv2d(8, 24, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(24, 8, 12, 16, 2, 4, 4)  # -> 32
        self.inception3b = Inception(32, 16, 16, 24, 4, 12, 8)  # -> 60
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(60, 24, 12, 26, 2, 6, 8)  # -> 64
        self.inception4b = Inception(64, 20, 14, 28, 3, 8, 8)  # -> 64
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(64, 32, 20, 40, 4, 16, 16)  # -> 104
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(104, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.maxpool4(self.inception4b(self.inception4a(x)))
        x = self.inception5a(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


class Conv2dNormActivation(nn.Sequential):
    def __init__(self, cin, cout, kernel_size=3, stride=1, groups=1, act=True):
        layers = [
            nn.Conv2d(cin, cout, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden, kernel_size=1))
        layers += [
            Conv2dNormActivation(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2Tiny(nn.Module):
    """torchvision MobileNetV2 layout (features.0..18, classifier) with narrow channels."""

    # t, c, n, s  -- same block counts/strides as torchvision, channels / 4
    SETTINGS = [
        [1, 8, 1, 1],
        [6, 8, 2, 2],
        [6, 8, 3, 2],
        [6, 16, 4, 2],
        [6, 24, 3, 1],
        [6, 40, 3, 2],
        [6, 80, 1, 1],
    ]

    def __init__(self, num_classes=10, last_channel=128):
        super().__init__()
        cin = 8
        features = [Conv2dNormActivation(3, cin, stride=2)]
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(Conv2dNormActivation(cin, last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last_channel, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


class TransformerTiny(nn.Module):
    """Token classifier: embedding + 3-layer nn.TransformerEncoder (d_model 32) + head.

    Inputs: ``tokens`` int64 [B, S] and ``padding_mask`` bool [B, S] (True = padding).
    """

    def __init__(self, vocab=50, seq=8, d_model=32, nhead=4, layers=3, num_classes=5):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos_embed = nn.Parameter(torch.randn(1, seq, d_model) * 0.1)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)
        # nn.TransformerEncoder deep-copies one layer, so all layers start with identical
        # weights (and the exporters then deduplicate them). Re-draw every parameter so
        # each layer is distinct, like in a trained model.
        with torch.no_grad():
            for name, p in self.encoder.named_parameters():
                if name.endswith("weight") and "norm" in name:
                    p.uniform_(0.5, 1.5)
                elif p.dim() >= 2:
                    nn.init.xavier_uniform_(p)
                else:
                    p.uniform_(-0.2, 0.2)

    def forward(self, tokens, padding_mask):
        x = self.embed(tokens) + self.pos_embed
        x = self.encoder(x, src_key_padding_mask=padding_mask)
        keep = (~padding_mask).unsqueeze(-1).to(x.dtype)
        x = (self.norm(x) * keep).sum(1) / keep.sum(1)
        return self.head(x)


TORCH_MODELS = {
    "SeedMLP": SeedMLP,
    "ResNetTiny": ResNetTiny,
    "GoogLeNetTiny": GoogLeNetTiny,
    "MobileNetV2Tiny": MobileNetV2Tiny,
    "TransformerTiny": TransformerTiny,
}


def _randomize_torch_bn(model: nn.Module, seed: int) -> None:
    """Give BatchNorm2d layers non-trivial affine parameters and running statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.rand(n, generator=g) - 0.5)
                m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)


def make_torch_model(cls_name: str, seed: int, **kw) -> nn.Module:
    torch.manual_seed(seed)
    model = TORCH_MODELS[cls_name](**kw)
    _randomize_torch_bn(model, seed)
    return model.eval()


def torch_to_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    inputs: tuple[InputSpec, ...],
    dynamo: bool,
    opset: int | None = None,
) -> Path:
    """Export ``model`` (eval mode) with a dynamic batch axis on every input and the output.

    Graph inputs are named after ``inputs``, the single graph output ``output``.
    The result is checked (full ONNX checker, onnxruntime vs. torch) for batch 2
    and run again with batch 3.
    """
    import logging

    path = Path(path)
    feeds = _feeds(inputs, batch=2, seed=0)
    args = tuple(torch.from_numpy(feeds[s.name]) for s in inputs)
    in_names = [s.name for s in inputs]
    with torch.no_grad():
        ref = model(*args)
    # the dynamo exporter logs "torchvision is not installed" warnings; keep them quiet
    onnx_logger = logging.getLogger("torch.onnx")
    old_level = onnx_logger.level
    onnx_logger.setLevel(logging.ERROR)
    try:
        _export_torch(model, args, path, in_names, dynamo, opset)
    finally:
        onnx_logger.setLevel(old_level)
    check_onnx(path, feeds, [ref.numpy()])
    check_onnx(path, _feeds(inputs, batch=3, seed=1))  # dynamic batch really works
    return path


def _export_torch(model, args, path, in_names, dynamo, opset):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            batch = torch.export.Dim("batch", min=1, max=1024)
            torch.onnx.export(
                model,
                args,
                str(path),
                dynamo=True,
                input_names=in_names,
                output_names=["output"],
                dynamic_shapes=tuple({0: batch} for _ in args),
                opset_version=opset,
                external_data=False,
                verbose=False,
            )
        else:
            axes = {n: {0: "batch"} for n in in_names}
            axes["output"] = {0: "batch"}
            torch.onnx.export(
                model,
                args,
                str(path),
                dynamo=False,
                input_names=in_names,
                output_names=["output"],
                dynamic_axes=axes,
                opset_version=opset,
            )


def _torch_builder(cls_name: str, seed: int, inputs: tuple[InputSpec, ...], dynamo: bool):
    def build(path: str | os.PathLike) -> Path:
        return torch_to_onnx(make_torch_model(cls_name, seed), path, inputs, dynamo)

    build.__name__ = f"build_{cls_name}_{'dynamo' if dynamo else 'torchscript'}"
    build.__doc__ = f"{cls_name} exported with the {'dynamo' if dynamo else 'TorchScript'} exporter."
    return build


# --------------------------------------------------------------------------- #
# Registry
# --------------------------------------------------------------------------- #

_VEC2 = (InputSpec("input", (2,)),)
_IMG64 = (InputSpec("input", (3, 64, 64)),)
_TRANSFORMER_INPUTS = (
    InputSpec("tokens", (8,), "int64", kind="tokens", high=50),
    InputSpec("padding_mask", (8,), "bool", kind="padding_mask"),
)
_SEED_CUTS = ("fc1", "fc2", "fc3")

ZOO: dict[str, ZooEntry] = {}


def _register(entry: ZooEntry) -> None:
    ZOO[entry.name] = entry


_register(
    ZooEntry(
        "keras_seed",
        "keras",
        "tf2onnx",
        build_keras_seed,
        _VEC2,
        _SEED_CUTS,
        "Seed Sequential Dense fc1..fc4 (zero biases).",
        ("seed", "mlp"),
    )
)
_register(
    ZooEntry(
        "keras_mlp_bias",
        "keras",
        "tf2onnx",
        build_keras_mlp_bias,
        _VEC2,
        _SEED_CUTS,
        "Seed-shaped MLP with random biases and activations.",
        ("mlp",),
    )
)
_register(
    ZooEntry(
        "keras_residual",
        "keras",
        "tf2onnx",
        build_keras_residual,
        (InputSpec("image", (32, 32, 3)),),
        ("stem_relu", "block1_add", "block1_out", "block2_bn1", "block2_out", "pool", "fc1"),
        "Functional conv net with Add residuals, NHWC.",
        ("residual", "conv"),
    )
)
_register(
    ZooEntry(
        "keras_mobilenetv2",
        "keras",
        "tf2onnx",
        build_keras_mobilenetv2,
        (InputSpec("input", (96, 96, 3)),),
        (
            "block_6_expand",
            "block_6_expand_relu",
            "block_5_add",
            "block_3_project_BN",
            "Conv1_relu",
            "out_relu",
            "global_average_pooling2d",
        ),
        "keras.applications.MobileNetV2 alpha=0.35, 96x96, random weights.",
        ("residual", "conv", "application"),
    )
)

# name stem, class, seed, inputs, cut points, description, tags
_TORCH = [
    (
        "seed",
        "SeedMLP",
        0,
        _VEC2,
        _SEED_CUTS,
        "Seed architecture in torch: nn.Linear fc1..fc4.",
        ("seed", "mlp"),
    ),
    (
        "resnet",
        "ResNetTiny",
        1,
        _IMG64,
        ("layer1", "layer2", "layer3.1", "layer1.0", "layer2.0.downsample", "maxpool", "layer4"),
        "ResNet-18 layout (BasicBlock x [2,2,2,2]), widths 8..64, 64x64 input.",
        ("residual", "conv"),
    ),
    (
        "googlenet",
        "GoogLeNetTiny",
        2,
        _IMG64,
        ("inception3a", "inception4a", "maxpool3", "inception4b", "conv3", "inception5a"),
        "GoogLeNet layout with inception blocks (branch1..branch4), narrow channels.",
        ("branching", "conv"),
    ),
    (
        "mobilenetv2",
        "MobileNetV2Tiny",
        3,
        _IMG64,
        ("features.7", "features.3", "features.10", "features.14", "features.0", "features.18"),
        "torchvision MobileNetV2 layout (features.0..18, classifier), narrow channels.",
        ("residual", "conv"),
    ),
    (
        "transformer",
        "TransformerTiny",
        4,
        _TRANSFORMER_INPUTS,
        ("encoder.layers.0", "encoder.layers.1", "embed"),
        "3-layer nn.TransformerEncoder, d_model 32, int64 tokens + bool padding mask.",
        ("transformer", "multi-input"),
    ),
]
for _stem, _cls, _seed, _inputs, _cuts, _desc, _tags in _TORCH:
    for _dyn in (False, True):
        _register(
            ZooEntry(
                f"torch_{_stem}{'_dynamo' if _dyn else ''}",
                "torch",
                "dynamo" if _dyn else "torchscript",
                _torch_builder(_cls, _seed, _inputs, _dyn),
                _inputs,
                _cuts,
                _desc,
                _tags,
            )
        )


def build(name: str, path: str | os.PathLike) -> Path:
    """Build zoo model ``name`` at ``path`` (parent directories are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return ZOO[name].build(path)


def build_all(outdir: str | os.PathLike, names=None, verbose: bool = True) -> dict[str, Path]:
    outdir = Path(outdir)
    result = {}
    for name in names or ZOO:
        t0 = time.perf_counter()
        result[name] = build(name, outdir / f"{name}.onnx")
        if verbose:
            print(f"{name:24s} {time.perf_counter() - t0:6.2f}s  {result[name]}")
    return result


if __name__ == "__main__":
    import sys

    build_all(sys.argv[1] if len(sys.argv) > 1 else "zoo_out", sys.argv[2:] or None)
