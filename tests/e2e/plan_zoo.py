"""Models for planning cuts (issue 8), shared by bench/plan_bench.py and test_plan_models.py.

Random weights, nothing downloaded. Each builder writes into a folder, keeps a
model that is already there (written under a temporary name and renamed, so
an interrupted build leaves nothing that looks finished) and returns its path.
Each model also comes with its *layer list*: the coarse units a pipeline user
splits at (ResNet-50's stem, 16 bottleneck blocks and head; the transformer's
embedding, 24 layers and head), each with the name modelcut resolves to the
unit's output and the unit's parameter count as PyTorch counts it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# NB: torchvision must be imported before TensorFlow: imported after it (in the
# same process, as the bench and the tests do), its import crashes the process.
import torch
import torchvision

# The transformer: hidden 256, 4 heads, feed-forward 1024, 24 post-norm
# layers, a 32000-token embedding and an untied 32000-way output head (a
# language model's), batch 1, sequence 128. Embedding and head hold half the
# parameters; the head also costs as much time as ~9 layers, the embedding
# next to none: a model where neither layer count nor parameter count says
# where the time goes.
VOCAB, D_MODEL, HEADS, FF, LAYERS, SEQ = 32000, 256, 4, 1024, 24, 128
IMAGE = 224  # ResNet-50 and the Keras CNN: 1 x 3 x 224 x 224 (NHWC for Keras)
CHAIN_NODES = 20000


@dataclass(frozen=True)
class Unit:
    """One coarse layer of a model: `cut` is the name a cut after it uses."""

    cut: str
    params: int


def _finish(tmp: Path, path: Path) -> Path:
    os.replace(tmp, path)
    return path


def _torch_export(model, args, path: Path, input_names: list[str]) -> None:

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The TorchScript exporter keeps PyTorch's module paths as layer names
        # ("layer2.3", "encoder.layers.5"); shapes stay fixed (batch 1).
        torch.onnx.export(
            model,
            args,
            str(path),
            dynamo=False,
            input_names=input_names,
            output_names=["output"],
            opset_version=17,
        )


# --------------------------------------------------------------------------- #
# ResNet-50 (torchvision, weights=None)
# --------------------------------------------------------------------------- #


def resnet50_module():

    import zoo

    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None)
    # Trained-like BatchNorm statistics: with the initial ones every folded
    # bias of a width is the same zero vector, which the exporter stores once
    # behind Identity nodes, a graph no trained model gives.
    zoo._randomize_torch_bn(model, 0)
    return model.eval()


def resnet50_units(model=None) -> list[Unit]:
    """Stem (conv1, bn1, relu, maxpool), the 16 bottleneck blocks, head (avgpool, fc)."""
    model = model or resnet50_module()

    def count(*modules):
        return sum(p.numel() for m in modules for p in m.parameters())

    units = [Unit("maxpool", count(model.conv1, model.bn1))]
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        for index, block in enumerate(getattr(model, stage)):
            units.append(Unit(f"{stage}.{index}", count(block)))
    units.append(Unit("fc", count(model.fc)))
    return units


def build_resnet50(folder: str | os.PathLike) -> Path:

    path = Path(folder) / "resnet50.onnx"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad():
        _torch_export(resnet50_module(), (torch.zeros(1, 3, IMAGE, IMAGE),), tmp, ["input"])
    return _finish(tmp, path)


def resnet50_feeds(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"input": rng.standard_normal((1, 3, IMAGE, IMAGE)).astype(np.float32)}


# --------------------------------------------------------------------------- #
# 24-layer transformer language model (nn.TransformerEncoder)
# --------------------------------------------------------------------------- #


def transformer_module():
    from torch import nn

    class TransformerLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, D_MODEL)
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = nn.Linear(D_MODEL, VOCAB)

        def forward(self, tokens):
            return self.head(self.encoder(self.embed(tokens)))

    torch.manual_seed(0)
    model = TransformerLM().eval()
    # nn.TransformerEncoder deep-copies one layer: without fresh values the
    # exporter would store identical weights once and the layers would share them.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(("norm1.weight", "norm2.weight")):
                param.normal_(1.0, 0.02)
            elif name.endswith("bias"):
                param.normal_(0.0, 0.02)
            else:
                param.normal_(0.0, 1.0 / param.shape[-1] ** 0.5)
    return model


def transformer_units(model=None) -> list[Unit]:
    """Embedding, the 24 encoder layers, head."""
    model = model or transformer_module()

    def count(module):
        return sum(p.numel() for p in module.parameters())

    units = [Unit("embed", count(model.embed))]
    units += [Unit(f"encoder.layers.{i}", count(layer)) for i, layer in enumerate(model.encoder.layers)]
    units.append(Unit("head", count(model.head)))
    return units


def build_transformer(folder: str | os.PathLike) -> Path:

    path = Path(folder) / "transformer24.onnx"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    # Not under no_grad: there nn.TransformerEncoderLayer takes its fused fast
    # path, an operator the exporter cannot write.
    _torch_export(transformer_module(), (torch.zeros(1, SEQ, dtype=torch.int64),), tmp, ["tokens"])
    return _finish(tmp, path)


def transformer_feeds(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"tokens": rng.integers(0, VOCAB, size=(1, SEQ), dtype=np.int64)}


# --------------------------------------------------------------------------- #
# Keras CNN (keras.applications.MobileNetV2, weights=None): .keras and tf2onnx
# --------------------------------------------------------------------------- #


def build_keras_cnn(folder: str | os.PathLike) -> tuple[Path, Path]:
    """(model.keras, model.onnx): MobileNetV2 224x224x3, 1000 classes, random BN statistics.

    The .onnx is converted by tf2onnx the way the test zoo converts (zoo.keras_to_onnx,
    which also checks ONNX Runtime against Keras)."""
    import zoo

    folder = Path(folder)
    keras_path, onnx_path = folder / "mobilenetv2.keras", folder / "mobilenetv2.onnx"
    if keras_path.exists() and onnx_path.exists():
        return keras_path, onnx_path
    folder.mkdir(parents=True, exist_ok=True)
    keras, _ = zoo._keras()
    keras.utils.clear_session()
    keras.utils.set_random_seed(5)
    model = keras.applications.MobileNetV2(input_shape=(IMAGE, IMAGE, 3), weights=None, classes=1000)
    zoo._randomize_keras_bn(model, 5)
    tmp_keras = folder / "mobilenetv2.tmp.keras"
    model.save(tmp_keras)
    tmp_onnx = folder / "mobilenetv2.tmp.onnx"
    zoo.keras_to_onnx(model, tmp_onnx, ["input"], check_batch=1)
    _finish(tmp_onnx, onnx_path)
    return _finish(tmp_keras, keras_path), onnx_path


def keras_cnn_units(keras_path: str | os.PathLike) -> list[Unit]:
    """Stem (Conv1, bn_Conv1, Conv1_relu), the 17 inverted-residual blocks, head (Conv_1 ... predictions).

    A unit's cut is its last layer (block_2_add, or block_1_project_BN for a
    block without a residual); the parameters are Keras's count_params."""
    from modelcut.verify_keras import load_keras_model

    groups: dict[str, list] = {}
    for layer in load_keras_model(keras_path).layers:
        name = layer.name
        if type(layer).__name__ == "InputLayer":
            continue
        if name.startswith("block_"):
            key = "_".join(name.split("_")[:2])
        elif name.startswith("expanded_conv"):
            key = "expanded_conv"
        elif name in ("Conv1", "bn_Conv1", "Conv1_relu"):
            key = "stem"
        else:
            key = "head"
        groups.setdefault(key, []).append(layer)
    return [
        Unit(layers[-1].name, sum(layer.count_params() for layer in layers)) for layers in groups.values()
    ]


def keras_cnn_feeds(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"input": rng.standard_normal((1, IMAGE, IMAGE, 3)).astype(np.float32)}


# --------------------------------------------------------------------------- #
# A 20k-node chain, for how fast planning and inspecting are
# --------------------------------------------------------------------------- #


def build_chain(folder: str | os.PathLike, nodes: int = CHAIN_NODES) -> Path:
    """MatMul (own 16x16 weight), Add (own bias), Relu, repeated: `nodes` nodes in one chain."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    path = Path(folder) / f"chain{nodes}.onnx"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    graph_nodes, weights = [], []
    previous = "x"
    for index in range(nodes):
        out = f"v{index}"
        kind = index % 3
        if kind == 0:
            weight = f"w{index}"
            weights.append(
                numpy_helper.from_array((rng.standard_normal((16, 16)) / 4).astype(np.float32), weight)
            )
            graph_nodes.append(helper.make_node("MatMul", [previous, weight], [out], name=f"mm{index}"))
        elif kind == 1:
            bias = f"b{index}"
            weights.append(numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), bias))
            graph_nodes.append(helper.make_node("Add", [previous, bias], [out], name=f"add{index}"))
        else:
            graph_nodes.append(helper.make_node("Relu", [previous], [out], name=f"relu{index}"))
        previous = out
    graph = helper.make_graph(
        graph_nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, [1, 16])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    tmp = path.with_suffix(".tmp.onnx")
    onnx.save(model, str(tmp))
    return _finish(tmp, path)
