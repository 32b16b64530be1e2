"""Cutting Keras models: each part loads with Keras, holds exactly its layers'
weights, and the chain of parts computes what the model computes, bit for
bit (eager Keras runs the same kernels on the same values)."""

from __future__ import annotations

import io
import json
import zipfile

import h5py
import numpy as np
import pytest
from keras_builders import MOBILENET, ScaledDense
from keras_checks import assert_bit_exact, assert_same_weights, load, random_input, split


def part_config(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def weight_datasets(path) -> list[str]:
    """Names of the weight arrays in a .keras archive."""
    with zipfile.ZipFile(path) as archive:
        weights = archive.read("model.weights.h5")
    names = []
    with h5py.File(io.BytesIO(weights), "r") as h5:
        h5.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
    return names


def test_seed_model_cut_at_fc2(keras_model, tmp_path):
    source = keras_model("seed.keras")
    paths = split(source, "fc2", tmp_path / "parts")
    assert [path.name for path in paths] == ["seed.part1.keras", "seed.part2.keras"]
    model = load(source)
    part_a, part_b = (load(path) for path in paths)
    # The Input's name depends on how many models Keras made before in this
    # process ("input_layer", "input_layer_1", ...).
    assert part_a.layers[0].name.startswith("input_layer")
    assert [layer.name for layer in part_a.layers[1:]] == ["fc1", "fc2"]
    assert [layer.name for layer in part_b.layers] == ["fc2", "fc3", "fc4"]
    assert tuple(part_b.inputs[0].shape) == (None, 8)
    x = random_input(model, batch=5)
    assert np.array_equal(np.asarray(part_b(part_a(x))), np.asarray(model(x)))
    assert_same_weights(model, [part_a, part_b])
    # Each part's weights file holds its own layers' weights and nothing else.
    expected = [f"layers/dense{suffix}/vars/{i}" for suffix in ("", "_1") for i in (0, 1)]
    assert sorted(weight_datasets(paths[0])) == expected
    assert len(weight_datasets(paths[1])) == 4


def test_parts_are_plain_functional_models_without_compile_state(keras_model, tmp_path):
    paths = split(keras_model("seed.keras"), ["fc1", "fc3"], tmp_path / "parts")
    configs = [part_config(path) for path in paths]
    assert [config["class_name"] for config in configs] == ["Functional"] * 3
    assert [config["config"]["name"] for config in configs] == [f"sequential_part{i}" for i in (1, 2, 3)]
    assert all(config["compile_config"] is None for config in configs)
    # Strict chain: part k+1's inputs are part k's outputs, named after them.
    assert configs[1]["config"]["input_layers"] == ["fc1", 0, 0]
    assert configs[0]["config"]["output_layers"] == ["fc1", 0, 0]


def test_residual_cut_inside_the_skip_connection(keras_model, tmp_path):
    source = keras_model("residual.keras")
    result_paths = split(source, "d2", tmp_path / "parts")
    model = load(source)
    parts = [load(path) for path in result_paths]
    # Both d2's output and the skipped d1 output cross, the cut's own first.
    assert [tensor.name for tensor in parts[1].inputs] == ["d2", "d1"]
    assert len(parts[0].outputs) == 2
    assert_bit_exact(model, parts, random_input(model))
    assert_same_weights(model, parts)


@pytest.mark.parametrize(
    "cuts",
    [["block_6_project_BN"], ["block_5_add", "block_12_add"]],
    ids=["2-parts", "3-parts"],
)
def test_mobilenet_v2(keras_model, tmp_path, cuts):
    source = keras_model("mobilenet_v2.keras")
    paths = split(source, cuts, tmp_path / "parts")
    assert len(paths) == len(cuts) + 1
    model = load(source)
    parts = [load(path) for path in paths]
    assert_bit_exact(model, parts, random_input(model, batch=2))
    assert_same_weights(model, parts)
    assert sum(len(part.weights) for part in parts) == len(model.weights)


@pytest.mark.parametrize(
    "cuts",
    [["conv2_block3_out"], ["conv3_block4_out", "conv4_block6_out"]],
    ids=["2-parts", "3-parts"],
)
def test_resnet50(keras_model, tmp_path, cuts):
    source = keras_model("resnet50.keras")
    paths = split(source, cuts, tmp_path / "parts")
    model = load(source)
    parts = [load(path) for path in paths]
    assert_bit_exact(model, parts, random_input(model, batch=2))
    assert_same_weights(model, parts)
    assert sum(len(part.weights) for part in parts) == len(model.weights)


@pytest.mark.parametrize(
    "cuts",
    [
        [f"{MOBILENET}/block_6_project_BN"],  # inside the backbone, by path
        ["block_6_project_BN"],  # inside the backbone, by the layer's own name
        [MOBILENET],  # at the backbone's boundary
        ["block_3_project_BN", MOBILENET],  # inside, then at the boundary
    ],
    ids=["path", "short-name", "boundary", "inside-and-boundary"],
)
def test_nested_backbone(keras_model, tmp_path, cuts):
    source = keras_model("classifier.keras")
    paths = split(source, cuts, tmp_path / "parts")
    model = load(source)
    parts = [load(path) for path in paths]
    assert_bit_exact(model, parts, random_input(model, batch=2))
    assert_same_weights(model, parts)
    # The backbone is flattened into the parts: its layers are theirs.
    assert MOBILENET not in [layer.name for part in parts for layer in part.layers]
    assert "block_6_project_BN" in [layer.name for part in parts for layer in part.layers]


@pytest.mark.parametrize("cut", ["enc", "encoder", "blk_dense", "block"])
def test_nested_models_called_twice(keras_model, tmp_path, cut):
    source = keras_model("nested.keras")
    paths = split(source, cut, tmp_path / "parts")
    model = load(source)
    parts = [load(path) for path in paths]
    assert_bit_exact(model, parts, random_input(model))
    assert_same_weights(model, parts)


def test_flattened_layer_renamed_when_its_name_is_taken(keras_model, tmp_path):
    source = keras_model("colliding.keras")
    paths = split(source, "mid", tmp_path / "parts")
    model = load(source)
    parts = [load(path) for path in paths]
    assert [layer.name for layer in parts[0].layers] == ["x", "encoder_proj", "proj", "mid"]
    assert_bit_exact(model, parts, random_input(model))
    assert_same_weights(model, parts)


def test_custom_layer_passes_through(keras_model, tmp_path):
    source = keras_model("custom.keras")
    paths = split(source, ["a", "scaled"], tmp_path / "parts")
    objects = {"ScaledDense": ScaledDense}
    model = load(source, custom_objects=objects)
    parts = [load(path, custom_objects=objects) for path in paths]
    assert_bit_exact(model, parts, random_input(model))
    assert_same_weights(model, parts)
    # Its config is copied as it is (only the graph wiring is rewritten).
    original = next(layer for layer in part_config(source)["config"]["layers"] if layer["name"] == "scaled")
    copied = next(layer for layer in part_config(paths[1])["config"]["layers"] if layer["name"] == "scaled")
    assert {k: v for k, v in copied.items() if k != "inbound_nodes"} == {
        k: v for k, v in original.items() if k != "inbound_nodes"
    }
    assert "layers/scaled_dense/inner/vars/0" in weight_datasets(paths[1])


def test_lambda_config_is_copied_never_run(keras_model, tmp_path):
    source = keras_model("lambda.keras")
    paths = split(source, "pre", tmp_path / "parts")
    original = next(layer for layer in part_config(source)["config"]["layers"] if layer["name"] == "affine")
    copied = next(layer for layer in part_config(paths[1])["config"]["layers"] if layer["name"] == "affine")
    assert copied["config"] == original["config"]
    model = load(source, safe_mode=False)
    parts = [load(path, safe_mode=False) for path in paths]
    assert_bit_exact(model, parts, random_input(model))


def test_shared_layer_goes_to_both_parts(keras_model, tmp_path):
    source = keras_model("shared.keras")
    paths = split(source, "mid", tmp_path / "parts")
    model = load(source)
    parts = [load(path) for path in paths]
    assert all("shared" in [layer.name for layer in part.layers] for part in parts)
    assert_bit_exact(model, parts, random_input(model))
    assert_same_weights(model, parts)


def test_ops_keyword_tensors_and_dict_io(keras_model, tmp_path):
    source = keras_model("ops.keras")
    paths = split(source, "mha", tmp_path / "parts")
    model = load(source)
    parts = [load(path) for path in paths]
    rng = np.random.default_rng(0)
    inputs = {"a": rng.standard_normal((2, 4, 8)).astype("float32"), "m": rng.random((2, 4, 4)) > 0.3}
    assert_bit_exact(model, parts, inputs)
    assert_same_weights(model, parts)


def test_keras3_legacy_h5(keras_model, tmp_path):
    source = keras_model("keras3.h5")
    paths = split(source, "fc2", tmp_path / "parts")
    assert [path.suffix for path in paths] == [".h5", ".h5"]
    model = load(source)
    parts = [load(path) for path in paths]
    assert_bit_exact(model, parts, random_input(model))
    assert_same_weights(model, parts)


@pytest.mark.parametrize("cuts", [["relu1"], ["conv2", "pool"], ["fc"], ["head"]])
def test_tf_keras_legacy_h5(keras_model, tmp_path, cuts):
    source = keras_model("legacy.h5")
    paths = split(source, cuts, tmp_path / "parts")
    model = load(source, legacy=True)
    parts = [load(path, legacy=True) for path in paths]
    assert_bit_exact(model, parts, random_input(model))
    assert_same_weights(model, parts)
    assert sum(len(part.weights) for part in parts) == len(model.weights)


def test_inspect_lists_keras_layers_and_cut_points(keras_model):
    import modelcut

    report = modelcut.inspect(str(keras_model("classifier.keras")))
    assert report["format"] == "keras"
    names = [layer["name"] for layer in report["layers"]]
    assert MOBILENET in names and f"{MOBILENET}/block_6_project_BN" in names and "logits" in names
    points = {point["value"]["name"]: point for point in report["cut_points"]}
    point = points[f"{MOBILENET}/block_6_project_BN"]
    assert point["value"]["type"] == "float32[batch,2,2,24]"
    assert point["crossing_bytes"] == 2 * 2 * 24 * 4
    assert f"{MOBILENET}/block_5_add" in points


def test_keras_files_written_before_state_groups_had_names(keras_model, tmp_path):
    """Older Keras 3 versions store no layer name with a state group and
    write groups only for layers with variables: modelcut goes by position."""
    source = tmp_path / "old.keras"
    with zipfile.ZipFile(keras_model("residual.keras")) as original, zipfile.ZipFile(source, "w") as target:
        for name in ("metadata.json", "config.json"):
            target.writestr(name, original.read(name))
        weights = tmp_path / "weights.h5"
        weights.write_bytes(original.read("model.weights.h5"))
        with h5py.File(weights, "a") as h5:
            empty = []

            def strip(name, item):
                if isinstance(item, h5py.Group):
                    item.attrs.pop("name", None)
                    if name.endswith("vars") and len(item) == 0:
                        empty.append(name)

            h5.visititems(strip)
            for name in empty:
                del h5[name.rsplit("/", 1)[0]]
        target.write(weights, "model.weights.h5")
    paths = split(source, "d2", tmp_path / "parts")
    model = load(source)
    parts = [load(path) for path in paths]
    assert_bit_exact(model, parts, random_input(model))
    assert_same_weights(model, parts)
