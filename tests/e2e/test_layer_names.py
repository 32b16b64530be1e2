# Every layer name of real architectures resolves to that layer's output.
#
# For every module path (model.named_modules()) of torchvision resnet18 and
# mobilenet_v3_small, timm's convnext_atto and a tiny Hugging Face BERT,
# exported by both PyTorch exporters, and for every layer of Keras's
# MobileNetV2 (through tf2onnx, and natively as .keras), the name resolves
# and the value crossing the cut equals the module's own output (a forward
# hook; keras.Model(model.inputs, layer.output) for Keras), computed on ONNX
# Runtime. The exceptions must say so themselves:
# - fused: the exporter computed the layer inside another one's nodes (the
#   dynamo exporter scopes a Conv under the BatchNorm folded into it); the
#   resolution says "fused".
# - folded: the TorchScript exporter folded the BatchNorm after a Conv into
#   it; the resolution says so, and the value is that BatchNorm's output.
# - dropped: the module left no trace (Dropout, Identity, a folded BatchNorm,
#   or a module whose output depends on no input, which the exporter computes
#   ahead of time: BERT's position embeddings); the error says the exporter
#   left it out, and where it names a cut giving the same values, that cut's
#   value must equal the module's output. Modules dropped for any other
#   reason fail the test.
# An unprefixed name may match a tensor first: the dynamo exporter names
# values after FX nodes ("relu"). That is accepted only where "layer:<name>"
# gives the same value.
# tf2onnx computes in NCHW where Keras computes in NHWC: a 4-d value crossing
# a cut may be in either layout, and is compared in the one it is in.
# Treated explicitly, not compared: modules never called on their own
# (ModuleList and other containers), modules called more than once (each call
# is a layer of its own in the graph), and modules returning something other
# than one tensor (the Hugging Face layers return tuples).
import re
import time
from collections import Counter

import layer_models
import model_cache
import modelcut
import numpy as np
import pytest
import zoo

EXPORTERS = ("torchscript", "dynamo")
RTOL = 1e-4  # of the largest magnitude in the reference


@pytest.fixture(scope="module")
def torch_exports():
    """(model name) -> (model, args, feeds, hooks, {exporter: path}). The exports
    come from the test model cache (tests/model_cache.py) and are read-only;
    the model is built afresh (seeded: the weights it was exported with)."""
    cache = {}

    def get(name):
        if name not in cache:
            model, args, input_names = layer_models.TORCH_BUILDERS[name]()
            hooks = layer_models.module_outputs(model, args)
            paths = {
                exporter: model_cache.model_file(
                    f"layer_names-{name}-{exporter}",
                    f"{name}_{exporter}.onnx",
                    lambda path, exporter=exporter: layer_models.export_torch(
                        model, args, input_names, path, exporter == "dynamo"
                    ),
                    sources=[layer_models],
                )
                for exporter in EXPORTERS
            }
            feeds = {input_name: arg.numpy() for input_name, arg in zip(input_names, args)}
            cache[name] = (model, args, feeds, hooks, paths)
        return cache[name]

    return get


def assert_close(name, got, want, worst):
    assert got.shape == want.shape, f"{name}: shape {got.shape}, module output {want.shape}"
    error = float(np.max(np.abs(got - want))) if want.size else 0.0
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    assert error <= RTOL * scale, f"{name}: max abs error {error:.3g} (values up to {scale:.3g})"
    worst[0] = max(worst[0], error)


def named_cut(message):
    found = re.search(r"cutting at '([^']+)' gives the same values", message)
    return found.group(1) if found else None


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("model_name", list(layer_models.TORCH_BUILDERS))
def test_every_module_path_resolves_to_the_module_output(torch_exports, model_name, exporter):
    started = time.perf_counter()
    model, _, feeds, hooks, paths = torch_exports(model_name)
    path = paths[exporter]
    counts = Counter()
    compare = []  # (label, tensor, expected)
    for position, name in enumerate(hooks.order):
        record = hooks.records[name]
        if record.calls == 0:
            counts["not called"] += 1
            continue
        if record.calls > 1 or record.output is None:
            counts["called twice" if record.calls > 1 else "not one tensor"] += 1
            try:  # it must still resolve or fail cleanly
                modelcut.resolve(path, name, infer_shapes=False)
            except modelcut.Error:
                pass
            continue
        try:
            [cut] = modelcut.resolve(path, name, infer_shapes=False)
        except modelcut.Error as error:
            message = str(error)
            if "computes only from the model's stored weights" in message:
                # Copied into each part that reads it (a position embedding
                # at fixed positions): nothing of it can cross a cut.
                assert record.is_constant, f"{name} ({record.kind}) depends on the input: {message}"
                counts["weights only"] += 1
                continue
            assert "the exporter left it out" in message and "did you mean" in message, message
            folded_batch_norm = exporter == "torchscript" and "BatchNorm" in record.kind
            assert record.is_identity or record.is_constant or folded_batch_norm, (
                f"{name} ({record.kind}) computes something from the input: {message}"
            )
            counts["dropped"] += 1
            if named_cut(message):
                counts["dropped, with a cut named"] += 1
                [nearby] = modelcut.resolve(path, named_cut(message), infer_shapes=False)
                assert len(nearby["values"]) == 1, nearby
                compare.append(
                    (f"{name} (dropped) via {named_cut(message)}", nearby["values"][0], record.output)
                )
            continue
        if cut["kind"] == "tensor":
            [as_layer] = modelcut.resolve(path, f"layer:{name}", infer_shapes=False)
            assert as_layer["values"] == cut["values"], (cut, as_layer)
            counts["a tensor's name too"] += 1
            cut = as_layer
        assert cut["kind"] == "layer", cut
        resolved = cut["resolved_name"]
        if "fused by the exporter" in resolved:
            counts["fused"] += 1
            continue
        assert len(cut["values"]) == 1, f"{name}: {cut}"
        if "folded the layer after it" in resolved:
            # The value is the output of the BatchNorm that follows the Conv.
            following = hooks.records[hooks.order[position + 1]]
            assert "BatchNorm" in following.kind, f"{name} is followed by {following.kind}"
            counts["folded"] += 1
            compare.append((f"{name} (folded)", cut["values"][0], following.output))
            continue
        assert resolved == name, cut
        counts["resolved"] += 1
        compare.append((name, cut["values"][0], record.output))

    values = layer_models.boundary_values(path, {tensor for _, tensor, _ in compare}, feeds)
    worst = [0.0]
    for label, tensor, expected in compare:
        assert_close(label, values[tensor], expected, worst)
    # Most boundaries are compared, not explained away.
    assert len(compare) > len(hooks.order) / 3, counts
    print(
        f"\n{model_name}/{exporter}: {len(hooks.order)} module paths; {layer_models.tally(counts, 'outcomes')}; "
        f"{len(compare)} boundaries compared, max abs error {worst[0]:.3g}; "
        f"{time.perf_counter() - started:.1f}s"
    )


def test_torchscript_paths_below_nested_containers(torch_exports):
    """The issue's case: TorchScript doubled paths below a nested Sequential."""
    _, _, _, _, paths = torch_exports("resnet18")
    [cut] = modelcut.resolve(paths["torchscript"], "layer3.0.downsample.0", infer_shapes=False)
    assert cut["resolved_name"].startswith("layer3.0.downsample.0"), cut
    names = [layer["name"] for layer in modelcut.inspect(paths["torchscript"], infer_shapes=False)["layers"]]
    assert "layer3.0.downsample.0" in names
    assert not [name for name in names if "downsample.downsample" in name]


def test_a_dropped_layer_names_the_cut_with_the_same_values(torch_exports):
    _, _, _, _, paths = torch_exports("mobilenet_v3_small")
    for exporter in EXPORTERS:
        with pytest.raises(modelcut.Error) as error:
            modelcut.resolve(paths[exporter], "classifier.2", infer_shapes=False)  # a Dropout
        message = str(error.value)
        assert "drop layers that compute nothing at inference" in message
        assert named_cut(message) == "classifier.1"
        assert "did you mean" in message


@pytest.fixture(scope="module")
def keras_model():
    """(model, image, layer outputs, folder of mobilenetv2.onnx by tf2onnx and
    mobilenetv2.keras), the files from the test model cache (tests/model_cache.py)
    and read-only; the model is built afresh (seeded: the weights they hold)."""
    model = layer_models.build_keras_mobilenetv2()
    image = np.random.default_rng(15).standard_normal((1, 32, 32, 3)).astype("float32")

    def save(folder):
        zoo.keras_to_onnx(model, folder / "mobilenetv2.onnx", ["input"])
        model.save(folder / "mobilenetv2.keras")

    folder = model_cache.entry("layer_names-keras_mobilenetv2", save, sources=[layer_models, zoo])
    return model, image, layer_models.keras_layer_outputs(model, image), folder


def test_every_keras_layer_resolves_through_tf2onnx(keras_model):
    started = time.perf_counter()
    model, image, outputs, folder = keras_model
    path = folder / "mobilenetv2.onnx"
    counts = Counter()
    compare = []
    for name, expected in outputs.items():
        [cut] = modelcut.resolve(path, f"layer:{name}", infer_shapes=False)
        if "fused by the exporter" in cut["resolved_name"]:
            counts["fused"] += 1  # tf2onnx folds a BatchNormalization into the convolution before it
            continue
        assert len(cut["values"]) == 1, cut
        counts["resolved"] += 1
        compare.append((name, cut["values"][0], expected))
    values = layer_models.boundary_values(path, {tensor for _, tensor, _ in compare}, {"input": image})
    worst = [0.0]
    for label, tensor, expected in compare:
        got = values[tensor]
        if got.ndim == expected.ndim == 4 and got.shape == expected.transpose(0, 3, 1, 2).shape:
            # NCHW unless the value is NHWC (where both shapes agree, the closer one).
            nchw = expected.transpose(0, 3, 1, 2)
            if got.shape != expected.shape or np.max(np.abs(got - nchw)) < np.max(np.abs(got - expected)):
                counts["compared in NCHW"] += 1
                expected = nchw
        assert_close(label, got, expected, worst)
    assert counts["resolved"] > 0.5 * len(outputs), counts
    print(
        f"\nkeras MobileNetV2/tf2onnx: {len(outputs)} layers; {layer_models.tally(counts, 'outcomes')}; "
        f"max abs error {worst[0]:.3g}; {time.perf_counter() - started:.1f}s"
    )


def test_every_keras_layer_resolves_natively(keras_model, tmp_path):
    import keras

    started = time.perf_counter()
    model, image, outputs, folder = keras_model
    path = folder / "mobilenetv2.keras"
    cuts = modelcut.resolve(path, [f"layer:{name}" for name in outputs], infer_shapes=False)
    for name, cut in zip(outputs, cuts):
        # A Keras layer's output is a value of its own, named after the layer.
        assert cut["resolved_name"] == name and cut["values"] == [name], cut
    # The values themselves, through parts written at a sample of layers.
    worst = [0.0]
    sample = list(outputs)[5:-1:25]
    for name in sample:
        result = modelcut.split(path, [name], tmp_path / f"parts_{name}")
        part = keras.models.load_model(result.paths[0])
        got = part.predict(image, verbose=0)
        got = got if isinstance(got, list) else [got]
        # The part also hands on what later layers read from before the cut.
        crossing = [value["name"] for value in result.parts[0]["outputs"]]
        assert name in crossing, crossing
        assert_close(name, np.asarray(got[crossing.index(name)]), outputs[name], worst)
    print(
        f"\nkeras MobileNetV2/native: {len(outputs)} layers resolved to their own outputs; "
        f"{len(sample)} cut and run, max abs error {worst[0]:.3g}; {time.perf_counter() - started:.1f}s"
    )
