# Costs per node against the frameworks' own counts.
#
# MACs: torchvision resnet18 and a 2-layer nn.TransformerEncoder, exported by
# the dynamo exporter (unoptimised, so BatchNorms stay nodes and every node
# records its module path), against torch.utils.flop_counter.FlopCounterMode
# on the same input: FLOPs = 2 x MACs of the matrix-product nodes (Conv, Gemm,
# MatMul, Einsum), per module at every depth and in total. Attention runs on
# the math SDPA backend, whose batched products the counter sees (the fused
# CPU kernel it does not count).
# Parameter bytes: exactly the module's parameters, plus the buffers the ONNX
# model keeps (BatchNorm statistics) and the Constant nodes' values.
# Keras: MobileNetV2 saved as .keras and .h5 holds count_params() x 4 bytes;
# every Conv2D, DepthwiseConv2D and Dense costs what its config and shapes
# say; the same model through tf2onnx costs the same per layer.
import logging
import warnings
from collections import defaultdict

import model_cache
import numpy as np
import onnx
import pytest
import torch
from modelcut import _core
from modelcut.api import inferred_types
from onnx import numpy_helper
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

MATRIX_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum"}
TOLERANCE = 0.02  # relative, per module


def export_dynamo(model, example, path):
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    batch = torch.export.Dim("batch", min=1, max=1024)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=True,
            input_names=["input"],
            output_names=["output"],
            dynamic_shapes=({0: batch},),
            external_data=False,
            optimize=False,
            verbose=False,
        )
    return onnx.load(str(path))


def module_paths(node):
    """Module paths a dynamo-exported node was computed in, outermost first."""
    namespace = {p.key: p.value for p in node.metadata_props}.get("namespace", "")
    segments = namespace.split("/")
    return [segment.split(":")[0].strip() for segment in segments[1:-1]]


def torch_flops_per_module(model, example):
    # Grad mode keeps nn.TransformerEncoderLayer off its fused fast path.
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(example)
    root = type(model).__name__
    flops = {}
    for key, per_op in counter.get_flop_counts().items():
        if key == "Global":
            continue
        flops[key[len(root) + 1 :] if key != root else ""] = sum(per_op.values())
    return flops, counter.get_total_flops()


def modelcut_flops_per_module(onnx_model, costs):
    by_name = {c["name"]: c for c in costs}
    flops = defaultdict(int)
    for node in onnx_model.graph.node:
        cost = by_name[node.name]
        assert cost["macs_known"], f"{node.name} ({node.op_type}): MACs unknown"
        if node.op_type not in MATRIX_OPS:
            continue
        paths = module_paths(node)
        for path in set([""] + paths):
            flops[path] += 2 * cost["macs"]
    return flops


def constant_bytes(onnx_model):
    """Bytes of the values of the Constant nodes, in whichever attribute they are."""
    total = 0
    for node in onnx_model.graph.node:
        if node.op_type != "Constant":
            continue
        for attribute in node.attribute:
            value = onnx.helper.get_attribute_value(attribute)
            if attribute.name == "value":
                total += numpy_helper.to_array(value).nbytes
            elif attribute.name in ("value_int", "value_ints"):
                total += 8 * np.size(value)
            elif attribute.name in ("value_float", "value_floats"):
                total += 4 * np.size(value)
    return total


def check_against_torch(model, example, name, modules):
    """The model's export (from the test model cache, tests/model_cache.py;
    this file builds it) costs what FlopCounterMode counts for the model."""
    path = model_cache.model_file(
        f"flops-{name}", f"{name}.onnx", lambda path: export_dynamo(model, example, path), sources=[__file__]
    )
    onnx_model = onnx.load(str(path))
    costs = _core.node_costs(str(path), inferred_types(str(path)), example.shape[0], {})
    expected, total = torch_flops_per_module(model, example)
    got = modelcut_flops_per_module(onnx_model, costs)
    compared = 0
    for module, flops in expected.items():
        if flops == 0:
            continue
        assert got[module] == pytest.approx(flops, rel=TOLERANCE), f"module {module or '(root)'}"
        compared += 1
    assert compared == modules
    assert got[""] == pytest.approx(total, rel=TOLERANCE)

    # The module's state by name; what else the exporter stored (shapes,
    # scalars) is counted from the ONNX file.
    state = dict(model.named_parameters())
    state.update((name, b) for name, b in model.named_buffers())
    kept = {t.name for t in onnx_model.graph.initializer}
    stored = sum(p.numel() * p.element_size() for p in model.parameters())
    stored += sum(b.numel() * b.element_size() for name, b in model.named_buffers() if name in kept)
    others = sum(numpy_helper.to_array(t).nbytes for t in onnx_model.graph.initializer if t.name not in state)
    assert sum(c["param_bytes"] for c in costs) == stored + others + constant_bytes(onnx_model)
    return got[""], total


def test_resnet18_macs_and_parameters_match_torch():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    example = torch.randn(2, 3, 224, 224)
    ours, theirs = check_against_torch(model, example, "resnet18", 37)
    print(f"resnet18, batch 2: modelcut {ours} FLOPs (2 x MACs), FlopCounterMode {theirs}")


def test_transformer_macs_and_parameters_match_torch():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0, batch_first=True)
    model = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    example = torch.randn(3, 16, 64)
    ours, theirs = check_against_torch(model, example, "encoder", 9)
    print(f"transformer encoder, batch 3: modelcut {ours} FLOPs, FlopCounterMode {theirs}")


# --------------------------------------------------------------------------- Keras


@pytest.fixture(scope="module")
def mobilenet():
    """(model, folder of model.keras, model.h5 and model.onnx by tf2onnx); the
    files from the test model cache (tests/model_cache.py), read-only."""
    import zoo

    keras, _ = zoo._keras()
    keras.utils.clear_session()
    keras.utils.set_random_seed(3)
    model = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=10)

    def save(folder):
        model.save(folder / "model.keras")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("absl").setLevel(logging.ERROR)
            model.save(folder / "model.h5")
        zoo.keras_to_onnx(model, folder / "model.onnx", ["input"])

    return model, model_cache.entry("flops-keras_mobilenetv2", save, sources=[__file__, zoo])


def hand_macs(layer):
    """MACs of a Conv2D, DepthwiseConv2D or Dense layer from its config and shapes."""
    config = layer.get_config()
    inputs, outputs = layer.input.shape, layer.output.shape
    positions = int(np.prod(outputs[1:]))
    kind = type(layer).__name__
    if kind == "Dense":
        return positions * inputs[-1]
    window = int(np.prod(config["kernel_size"]))
    if kind == "DepthwiseConv2D":
        return positions * window
    return positions * window * inputs[-1] // config["groups"]


MATRIX_LAYERS = ("Conv2D", "DepthwiseConv2D", "Dense")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_mobilenet_parameters_and_macs(mobilenet, suffix):
    model, folder = mobilenet
    costs = _core.node_costs(str(folder / f"model{suffix}"), [], 1, {})
    assert all(c["macs_known"] for c in costs), [c["name"] for c in costs if not c["macs_known"]]
    assert sum(c["param_bytes"] for c in costs) == model.count_params() * 4
    by_name = {c["name"]: c for c in costs}
    checked = 0
    for layer in model.layers:
        if type(layer).__name__ in MATRIX_LAYERS:
            assert by_name[layer.name]["macs"] == hand_macs(layer), layer.name
            checked += 1
    assert checked == 53


def test_keras_mobilenet_through_tf2onnx_costs_the_same(mobilenet):
    model, folder = mobilenet
    keras_costs = _core.node_costs(str(folder / "model.keras"), [], 1, {})
    path = str(folder / "model.onnx")
    onnx_costs = _core.node_costs(path, inferred_types(path), 1, {})
    keras_matrix = [c for c in keras_costs if c["op"] in MATRIX_LAYERS]
    # tf2onnx writes a Dense as a MatMul (and its bias as an Add); the model
    # is a chain, so the products come in the same order.
    onnx_matrix = [c for c in onnx_costs if c["op"] in MATRIX_OPS]
    assert len(onnx_matrix) == len(keras_matrix)
    for ours, theirs in zip(keras_matrix, onnx_matrix):
        assert theirs["macs"] == pytest.approx(ours["macs"], rel=TOLERANCE), (ours["name"], theirs["name"])
    assert all(c["macs_known"] for c in onnx_costs), [c["op"] for c in onnx_costs if not c["macs_known"]]
    print(
        f"MobileNetV2 0.35/96: {sum(c['macs'] for c in keras_matrix)} MACs in .keras, "
        f"{sum(c['macs'] for c in onnx_matrix)} through tf2onnx"
    )
