"""The command line on Keras models: split, verify and inspect, and bad input
(one line on stderr, exit 2, nothing written)."""

from __future__ import annotations

import json
import shutil
import zipfile

import h5py
import pytest
from keras_checks import run_cli

pytestmark = pytest.mark.usefixtures("both_commands")  # the Python command and the native executable


def assert_refused(result, output, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("modelcut: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert not output.exists()
    assert not list(output.parent.glob(f".{output.name}*"))  # no staging left behind


def test_split_and_verify(keras_model, tmp_path):
    source = keras_model("residual.keras")
    output = tmp_path / "parts"
    result = run_cli("split", source, "--at", "d2", "-o", output)
    assert result.returncode == 0, result.stderr
    parts = result.stdout.split()
    assert parts == [str(output / "residual.part1.keras"), str(output / "residual.part2.keras")]
    assert "boundary 1: d2 float32[batch,8], d1 float32[batch,8]" in result.stderr

    checked = run_cli("verify", source, *parts, "--batch", "4", "--json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] and report["outputs"][0]["name"] == "head"
    assert report["outputs"][0]["max_abs"] == 0.0


def test_verify_fails_on_a_wrong_chain(keras_model, tmp_path):
    source = keras_model("seed.keras")
    good = run_cli("split", source, "--at", "fc2", "-o", tmp_path / "a", "-q").stdout.split()
    other = run_cli("split", source, "--at", "fc3", "-o", tmp_path / "b", "-q").stdout.split()
    result = run_cli("verify", source, good[0], other[1])
    assert result.returncode == 2  # part 2 cannot take part 1's output
    assert "modelcut: error:" in result.stderr


def test_inspect(keras_model):
    result = run_cli("inspect", keras_model("seed.keras"))
    assert result.returncode == 0, result.stderr
    assert "4 layer calls, 8 weight arrays, saved by keras 3" in result.stdout
    assert "fc2  float32[batch,8]  32 B  [fc2]" in result.stdout


def test_not_a_keras_file(tmp_path):
    model = tmp_path / "model.keras"
    model.write_text("not a model\n")
    assert_refused(
        run_cli("split", model, "--at", "fc2", "-o", tmp_path / "out"), tmp_path / "out", "not a Keras file"
    )


def test_zip_without_config(tmp_path):
    model = tmp_path / "model.keras"
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("metadata.json", "{}")
    assert_refused(
        run_cli("split", model, "--at", "fc2", "-o", tmp_path / "out"), tmp_path / "out", "no config.json"
    )


def test_weights_missing_a_layer(keras_model, tmp_path):
    model = tmp_path / "model.keras"
    with zipfile.ZipFile(keras_model("seed.keras")) as source, zipfile.ZipFile(model, "w") as target:
        for name in ("metadata.json", "config.json"):
            target.writestr(name, source.read(name))
        weights = tmp_path / "weights.h5"
        weights.write_bytes(source.read("model.weights.h5"))
        with h5py.File(weights, "a") as h5:
            del h5["layers/dense_2"]  # fc3
        target.write(weights, "model.weights.h5")
    assert_refused(
        run_cli("split", model, "--at", "fc2", "-o", tmp_path / "out"),
        tmp_path / "out",
        "no weights for layer 'fc3'",
    )


def test_legacy_weights_missing_a_layer(keras_model, tmp_path):
    model = tmp_path / "model.h5"
    shutil.copy(keras_model("keras3.h5"), model)
    with h5py.File(model, "a") as h5:
        del h5["model_weights/fc2"]
    assert_refused(
        run_cli("split", model, "--at", "fc1", "-o", tmp_path / "out"),
        tmp_path / "out",
        "no group for layer 'fc2'",
    )


def test_unknown_layer_name(keras_model, tmp_path):
    assert_refused(
        run_cli("split", keras_model("seed.keras"), "--at", "fc7", "-o", tmp_path / "out"),
        tmp_path / "out",
        "no tensor, node or layer named 'fc7'",
        "did you mean",
    )


def test_shape_unknown_in_legacy_file(keras_model, tmp_path):
    # tf-keras records no shapes; modelcut cannot see through a Lambda layer.
    result = run_cli("split", keras_model("legacy_lambda.h5"), "--at", "double", "-o", tmp_path / "out")
    assert_refused(result, tmp_path / "out", "shape of 'double'", "Lambda")


@pytest.mark.parametrize("mode", ["external", "in-place"])
def test_weight_modes_are_onnx_only(keras_model, tmp_path, mode):
    model = keras_model("seed.keras")
    result = run_cli("split", model, "--at", "fc2", "-o", tmp_path / "out", "--weights", mode)
    assert_refused(result, tmp_path / "out", "ONNX")


def test_merge_of_keras_parts_writes_keras_only(keras_model, tmp_path):
    # Keras parts merge through Keras into a .keras file; another suffix is refused, nothing written.
    model = keras_model("seed.keras")
    parts = run_cli("split", model, "--at", "fc2", "-o", tmp_path / "p", "-q").stdout.split()
    assert_refused(
        run_cli("merge", *parts, "-o", tmp_path / "whole.onnx"),
        tmp_path / "whole.onnx",
        "Keras parts merge into a .keras file",
    )
    merged = tmp_path / "whole.keras"
    assert run_cli("merge", *parts, "-o", merged).returncode == 0
    assert run_cli("verify", model, merged).returncode == 0


def test_subclassed_model_is_refused(tmp_path):
    import keras
    import numpy as np

    @keras.saving.register_keras_serializable(package="modelcut_tests")
    class Tiny(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Tiny()
    model(np.zeros((1, 3), "float32"))
    model.save(tmp_path / "tiny.keras")
    assert_refused(
        run_cli("split", tmp_path / "tiny.keras", "--at", "dense", "-o", tmp_path / "out"),
        tmp_path / "out",
        "subclassed model",
        "only Sequential and Functional",
    )
