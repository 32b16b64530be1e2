"""SavedModels cut into SavedModels, run and checked by TensorFlow.

Real exporters only: keras.applications.MobileNetV2 (random weights) and a
subclassed Keras model with a residual connection, both written with
Keras's own model.export(). The parts are loaded with tf.saved_model.load
and chained through their serving_default signatures; the values at each
cut are checked against the layer's output as Keras computes it.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from cli_support import run_cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import model_cache
import modelcut
import tensorflow as tf
import tf_models

MOBILENET_CUTS = ["block_2_add", "block_13_expand_relu"]


def modelcut_cli(*args: str, subprocess: bool = False):
    """cli_support.run_cli: the Python command, in this process unless `subprocess`."""
    return run_cli(*args, subprocess=subprocess)


# The SavedModels come from the test model cache (tests/model_cache.py) and
# are read-only; the Keras models beside them are rebuilt from the same seed.
@pytest.fixture(scope="module")
def mobilenet():
    folder = model_cache.entry("tf-mobilenet", tf_models.export_mobilenet, sources=[tf_models])
    return tf_models.mobilenet(), str(folder / "mobilenet")


@pytest.fixture(scope="module")
def residual():
    folder = model_cache.entry("tf-residual", tf_models.export_residual, sources=[tf_models])
    return tf_models.residual(1), str(folder / "residual")


def serving(folder: str):
    return tf.saved_model.load(folder).signatures["serving_default"]


def chain(folders: list[str], feeds: dict) -> list[dict]:
    """Each part's outputs, each part fed the previous one's by key."""
    values, results = feeds, []
    for folder in folders:
        values = {key: value.numpy() for key, value in serving(folder)(**values).items()}
        results.append(values)
    return results


def tree_files(folder: str) -> dict[str, bytes]:
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                files[os.path.relpath(path, folder)] = file.read()
    return files


@pytest.fixture(scope="module")
def mobilenet_parts(mobilenet, tmp_path_factory):
    """MobileNetV2 cut at two layers by the command: three SavedModel directories."""
    _, folder = mobilenet
    out = tmp_path_factory.mktemp("mobilenet_parts")
    split = modelcut_cli(
        "split", folder, "--at", MOBILENET_CUTS[0], "--at", MOBILENET_CUTS[1], "-o", str(out)
    )
    assert split.returncode == 0, split.stderr
    assert "freezing signature 'serving_default'" in split.stderr
    return split.stdout.split()


def test_mobilenet_cut_twice_into_three_savedmodels(mobilenet, mobilenet_parts):
    model, folder = mobilenet
    assert [os.path.basename(path) for path in mobilenet_parts] == [f"mobilenet.part{k}" for k in (1, 2, 3)]
    assert all(modelcut.tf.is_saved_model(path) for path in mobilenet_parts)

    x = np.random.default_rng(0).standard_normal((2, 96, 96, 3)).astype(np.float32)
    (input_key,) = serving(folder).structured_input_signature[1]
    whole = {key: value.numpy() for key, value in serving(folder)(**{input_key: x}).items()}
    first, second, last = chain(mobilenet_parts, {input_key: x})
    assert list(last) == list(whole)
    for key in whole:
        np.testing.assert_array_equal(last[key], whole[key])

    # Each boundary is what Keras computes for the layer: a sub-model's output.
    for cut, crossing in zip(MOBILENET_CUTS, (first, second)):
        (value,) = crossing.values()  # one value crosses after these layers
        truth = keras.Model(model.inputs, model.get_layer(cut).output)([x])
        np.testing.assert_allclose(value, np.asarray(truth), rtol=1e-5, atol=1e-5)


def test_mobilenet_verified_by_the_command(mobilenet, mobilenet_parts):
    _, folder = mobilenet
    verify = modelcut_cli("verify", folder, *mobilenet_parts, "--batch", "2")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "OK: 1/1 outputs" in verify.stdout
    assert "yes" in verify.stdout  # bit-identical

    # A chain missing its middle part does not pass.
    broken = modelcut_cli("verify", folder, mobilenet_parts[0], mobilenet_parts[2])
    assert broken.returncode != 0


def test_subclassed_residual_cut_across_the_skip(residual, tmp_path):
    model, folder = residual
    result = modelcut.split(folder, at="fc2", output_dir=tmp_path / "parts")
    part1, part2 = result.parts
    # fc2's output and fc1's (the skip) both cross the cut, keyed alike on both sides.
    assert len(part1["outputs"]) == 2
    assert part1["signature"]["outputs"] == part2["signature"]["inputs"]
    assert part1["signature"]["inputs"] == ["args_0"] and part2["signature"]["outputs"] == ["output_0"]

    x = np.random.default_rng(2).standard_normal((5, 8)).astype(np.float32)
    crossing, out = chain(result.paths, {"args_0": x})
    np.testing.assert_array_equal(out["output_0"], serving(folder)(args_0=x)["output_0"].numpy())
    np.testing.assert_allclose(out["output_0"], np.asarray(model(x)), rtol=1e-6, atol=1e-6)
    hidden = np.asarray(model.fc1(x))
    by_layer = {name.split("_fc")[-1][0]: value for name, value in crossing.items()}  # '1' and '2'
    np.testing.assert_array_equal(by_layer["1"], hidden)
    np.testing.assert_allclose(by_layer["2"], np.asarray(model.fc2(hidden)), rtol=1e-6, atol=1e-6)


def test_parts_are_deterministic(residual, tmp_path):
    _, folder = residual
    first = modelcut.split(folder, at="fc2", output_dir=tmp_path / "a").paths
    second = modelcut.split(folder, at="fc2", output_dir=tmp_path / "b").paths
    for one, two in zip(first, second):
        assert tree_files(one) == tree_files(two)


def test_inspect_names_the_signature(residual):
    _, folder = residual
    shown = modelcut_cli("inspect", folder)
    assert shown.returncode == 0, shown.stderr
    assert "SavedModel signature 'serving_default'" in shown.stdout
    assert "(key output_0)" in shown.stdout
    report = modelcut.inspect(folder)
    assert report["signature"]["inputs"] == {"args_0": "args_0"}
    assert report["path"] == folder


def test_bad_savedmodels_exit_2_and_write_nothing(residual, tmp_path):
    _, folder = residual
    before = tree_files(folder)

    empty = tmp_path / "empty"
    empty.mkdir()
    # A process of its own: TensorFlow logs nothing before the one line.
    result = modelcut_cli("split", str(empty), "--at", "fc2", "-o", str(tmp_path / "o1"), subprocess=True)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "o1").exists()

    result = modelcut_cli("split", folder, "--at", "fc2", "--signature", "nope", "-o", str(tmp_path / "o2"))
    assert result.returncode == 2
    assert "no signature 'nope'" in result.stderr and "serving_default" in result.stderr
    assert not any((tmp_path / "o2").glob("residual.part*"))

    result = modelcut_cli("split", folder, "--at", "no_such_layer", "-o", str(tmp_path / "o3"))
    assert result.returncode == 2
    assert "no_such_layer" in result.stderr
    assert not any((tmp_path / "o3").glob("*")), "a failed cut leaves nothing in the output directory"

    # Parts written inside the model's own directory are refused.
    result = modelcut_cli("split", folder, "--at", "fc2", "-o", folder)
    assert result.returncode == 2 and "would overwrite the model" in result.stderr

    # An existing part is kept unless --force.
    assert modelcut_cli("split", folder, "--at", "fc2", "-o", str(tmp_path / "o4")).returncode == 0
    again = modelcut_cli("split", folder, "--at", "fc2", "-o", str(tmp_path / "o4"))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert modelcut_cli("split", folder, "--at", "fc2", "-o", str(tmp_path / "o4"), "--force").returncode == 0

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff not a SavedModel")
    result = modelcut_cli("split", str(corrupt), "--at", "fc2", "-o", str(tmp_path / "o5"))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("modelcut:")]
    assert len(errors) == 1 and "saved_model.pb cannot be read" in errors[0], result.stderr
    assert not any((tmp_path / "o5").glob("*"))
    assert tree_files(folder) == before


class Loop(tf.Module):
    """A TF2 tf.while_loop between two ops; freezing lowers it to a TF1 frame."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.random.default_rng(3).standard_normal((4, 4)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def __call__(self, x):
        h = tf.nn.relu(tf.matmul(x, self.w), name="pre")
        _, y = tf.while_loop(
            lambda i, v: i < 3, lambda i, v: (i + 1, v * 0.5 + 1.0), [tf.constant(0), h], name="loop"
        )
        return {"y": tf.nn.relu(y, name="post") * 2.0}


@pytest.fixture(scope="module")
def loop_model(tmp_path_factory):
    module = Loop()
    folder = str(tmp_path_factory.mktemp("loop") / "loop")
    tf.saved_model.save(module, folder, signatures={"serving_default": module.__call__})
    return folder


@pytest.mark.parametrize("cut", ["StatefulPartitionedCall/pre", "StatefulPartitionedCall/post"])
def test_while_loop_cut_before_or_after_it(loop_model, tmp_path, cut):
    paths = modelcut.split(loop_model, at=cut, output_dir=tmp_path / "parts").paths
    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    (_, out) = chain(paths, {"x": x})
    np.testing.assert_array_equal(out["y"], serving(loop_model)(x=x)["y"].numpy())


def test_while_loop_cut_inside_it_is_refused(loop_model, tmp_path):
    inside = "StatefulPartitionedCall/loop/body/_5/loop/Identity_3"  # the loop body's v * 0.5 + 1.0
    result = modelcut_cli("split", loop_model, "--at", inside, "-o", str(tmp_path / "parts"))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("modelcut:")]
    assert len(errors) == 1 and "inside the while loop 'StatefulPartitionedCall/loop'" in errors[0]
    assert ".modelcut-" not in errors[0], "the error names the SavedModel, not a temporary file"
    assert not (tmp_path / "parts").exists()


def test_frozen_graph_of_a_savedmodel_verified_as_pb_parts(residual, tmp_path):
    """The .pb path: the residual model's signature frozen, cut across the skip, checked by TensorFlow."""
    _, folder = residual
    frozen = modelcut.tf.freeze(folder)
    assert frozen.inputs == {"args_0": "args_0"} and list(frozen.outputs) == ["output_0"]
    graph = tmp_path / "residual.pb"
    graph.write_bytes(frozen.graph_def)
    split = modelcut_cli("split", str(graph), "--at", "fc2", "-o", str(tmp_path / "parts"))
    assert split.returncode == 0, split.stderr
    parts = split.stdout.split()
    verify = modelcut_cli("verify", str(graph), *parts, "--batch", "3", "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert '"identical": true' in verify.stdout
    # The first part alone does not give the model's output.
    assert modelcut_cli("verify", str(graph), parts[0]).returncode != 0


def test_run_refuses_tensorflow_parts_with_a_pointer(residual, tmp_path):
    _, folder = residual
    paths = modelcut.split(folder, at="fc2", output_dir=tmp_path / "parts").paths
    result = modelcut_cli("run", *paths, subprocess=True)  # the one line, TensorFlow quiet: a new process
    assert result.returncode == 2
    assert "modelcut run runs ONNX parts" in result.stderr and len(result.stderr.strip().splitlines()) == 1
