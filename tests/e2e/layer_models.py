"""Real architectures with random weights, for the systematic layer-name test.

Each torch builder returns ``(model, args, input_names)`` for a model in eval
mode whose BatchNorm statistics are randomised (default statistics make a
BatchNorm almost the identity, which would hide a boundary placed before or
after it). Nothing is downloaded: torchvision and timm models are built with
``weights=None`` / ``pretrained=False``, the Hugging Face models from a tiny
config with ``HF_HUB_OFFLINE=1``.

``module_outputs`` runs a model once with a forward hook on every module and
records what each produced; ``boundary_values`` runs an ONNX model on ONNX
Runtime with extra graph outputs, so every boundary of a model comes from one
session run.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def randomize_batch_norms(model: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)

    def uniform(tensor, low, high):
        return torch.rand(tensor.shape, generator=generator) * (high - low) + low

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.copy_(uniform(module.running_mean, -0.5, 0.5))
                module.running_var.copy_(uniform(module.running_var, 0.5, 1.5))
                if module.weight is not None:
                    module.weight.copy_(uniform(module.weight, 0.5, 1.5))
                    module.bias.copy_(uniform(module.bias, -0.5, 0.5))


def _image(seed: int) -> tuple[torch.Tensor]:
    return (torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(seed)),)


def _eval(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    model.eval()
    randomize_batch_norms(model, seed)
    return model


def build_resnet18():
    import torchvision

    torch.manual_seed(10)
    return _eval(torchvision.models.resnet18(weights=None), 10), _image(10), ["input"]


def build_mobilenet_v3_small():
    import torchvision

    torch.manual_seed(11)
    return _eval(torchvision.models.mobilenet_v3_small(weights=None), 11), _image(11), ["input"]


def build_convnext_atto():
    """timm's ConvNeXt: stages.N.blocks.M, LayerNorm2d, layer scale, many Identity modules."""
    import timm

    torch.manual_seed(12)
    return _eval(timm.create_model("convnext_atto", pretrained=False), 12), _image(12), ["input"]


class TokenIdsOnly(torch.nn.Module):
    """A Hugging Face model called with token ids only, returning both its outputs.

    transformers 5 models cannot be traced by the TorchScript exporter when
    called positionally (their forward wrapper passes ``use_cache`` twice), so
    the model sits under ``model`` and module paths start with "model.". The
    pooler output is returned too, or the exporters would drop the pooler as
    unused.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        outputs = self.model(input_ids=input_ids)
        return outputs.last_hidden_state, outputs.pooler_output


def build_bert_tiny():
    from transformers import BertConfig, BertModel

    torch.manual_seed(13)
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=100,
        max_position_embeddings=32,
    )
    ids = torch.randint(0, 100, (1, 8), generator=torch.Generator().manual_seed(13))
    return _eval(TokenIdsOnly(BertModel(config)), 13), (ids,), ["input_ids"]


TORCH_BUILDERS = {
    "resnet18": build_resnet18,
    "mobilenet_v3_small": build_mobilenet_v3_small,
    "convnext_atto": build_convnext_atto,
    "bert_tiny": build_bert_tiny,
}


def export_torch(model, args, input_names, path: Path, dynamo: bool) -> Path:
    """Exports with the default settings a user would use (static shapes)."""
    import logging

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(
                model,
                args,
                str(path),
                dynamo=True,
                input_names=input_names,
                verbose=False,
                external_data=False,
            )
        else:
            torch.onnx.export(model, args, str(path), dynamo=False, input_names=input_names, opset_version=17)
    return path


@dataclass
class ModuleRecord:
    """What one module did in one forward pass."""

    calls: int = 0
    output: np.ndarray | None = None  # when the output is a single tensor
    is_identity: bool = False  # returned its (single) input unchanged
    is_constant: bool = False  # the same output for other model inputs
    kind: str = ""  # class name


@dataclass
class ModuleOutputs:
    records: dict[str, ModuleRecord] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # named_modules() order, root left out


def module_outputs(model: torch.nn.Module, args) -> ModuleOutputs:
    """Runs `model`, recording every module's output through forward hooks.

    A second run on other inputs (the same shapes and value ranges) tells
    which modules' outputs depend on no input at all.
    """
    result = _run_with_hooks(model, args)
    other = tuple(_other_input(arg) for arg in args)
    again = _run_with_hooks(model, other)
    for name, record in result.records.items():
        repeat = again.records[name].output
        record.is_constant = (
            record.output is not None
            and repeat is not None
            and repeat.shape == record.output.shape
            and np.array_equal(repeat, record.output)
        )
    return result


def _other_input(arg: torch.Tensor) -> torch.Tensor:
    if arg.dtype.is_floating_point:
        return arg + 1.0
    return (arg + 1) % max(2, int(arg.max()) + 1)


def _run_with_hooks(model: torch.nn.Module, args) -> ModuleOutputs:
    result = ModuleOutputs()
    handles = []
    for name, module in model.named_modules():
        if not name:
            continue
        result.order.append(name)
        record = result.records[name] = ModuleRecord(kind=type(module).__name__)

        inputs_seen = {}

        def pre_hook(module, inputs, inputs_seen=inputs_seen):
            # A copy: an in-place module (ReLU(inplace=True)) overwrites its input.
            single = len(inputs) == 1 and isinstance(inputs[0], torch.Tensor)
            inputs_seen["input"] = inputs[0].detach().clone() if single else None

        def hook(module, inputs, output, record=record, inputs_seen=inputs_seen):
            record.calls += 1
            if isinstance(output, torch.Tensor):
                record.output = output.detach().numpy().copy()
                first = inputs_seen.get("input")
                record.is_identity = (
                    first is not None and first.shape == output.shape and bool(torch.equal(first, output))
                )

        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(*args)
    finally:
        for handle in handles:
            handle.remove()
    return result


def boundary_values(
    model_path: Path, tensors: set[str], feeds: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Values of `tensors` when the model runs on `feeds` (ONNX Runtime, no graph rewriting)."""
    import onnxruntime as ort

    model = onnx.load(str(model_path))
    present = {output.name for output in model.graph.output}
    for name in sorted(tensors - present):
        model.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    # Optimisations may fuse away the very values a cut exposes.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def build_keras_mobilenetv2():
    """keras.applications.MobileNetV2(alpha=0.35, 32x32, weights=None), BatchNorm statistics randomised."""
    import keras

    keras.utils.clear_session()
    keras.utils.set_random_seed(14)
    model = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10)
    rng = np.random.default_rng(14)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape).astype(gamma.dtype),
                    rng.uniform(-0.5, 0.5, beta.shape).astype(beta.dtype),
                    rng.uniform(-0.5, 0.5, mean.shape).astype(mean.dtype),
                    rng.uniform(0.5, 1.5, variance.shape).astype(variance.dtype),
                ]
            )
    return model


def keras_layer_outputs(model, image: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's output, from keras.Model(model.inputs, layer.output), in one predict."""
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(model.inputs, [layer.output for layer in layers])
    outputs = probe.predict(image, verbose=0)
    return {layer.name: np.asarray(output) for layer, output in zip(layers, outputs)}


def tally(counts: Counter, label: str) -> str:
    return f"{label}: " + ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
