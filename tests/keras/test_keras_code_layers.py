"""Keras model files with layers that run code (a Lambda layer's function is
Python bytecode marshalled into the config) are refused before Keras opens
them, legacy tf-keras .h5 files as Keras 3 files, by every command and API
function that loads a Keras file, unless the user says the file is trusted
(--unsafe, safe_mode=False). The Lambda of these models writes a marker
file when it runs: the marker shows whether any code of the file ran."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import modelcut
import numpy as np
import pytest
from keras_checks import run_cli
from modelcut.verify_keras import code_layers

# Written in a child process: the Lambda's function must not be defined in
# this one, or loading would find the marker written by a stray call here.
_WRITE_MODEL = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    path, marker, legacy = sys.argv[1], sys.argv[2], sys.argv[3] == "legacy"
    if legacy:
        import tf_keras as keras
    else:
        import keras

    def mark(t, marker=marker):
        import pathlib
        pathlib.Path(marker).write_text("the Lambda ran")
        return t * 2.0

    x = keras.Input((3,), name="x")
    h = keras.layers.Dense(3, name="pre")(x)
    h = keras.layers.Lambda(mark, name="marker")(h)
    out = keras.layers.Dense(2, name="post")(h)
    keras.Model(x, out, name="marking").save(path)
""")


def _write(folder: Path, name: str, legacy: bool) -> tuple[Path, Path]:
    path, marker = folder / name, folder / f"{name}.ran"
    kind = "legacy" if legacy else "keras3"
    subprocess.run(
        [sys.executable, "-c", _WRITE_MODEL, str(path), str(marker), kind],
        check=True,
        capture_output=True,
        timeout=300,
    )
    if marker.exists():
        marker.unlink()  # saving may trace the function; what counts is what loading does
    return path, marker


@pytest.fixture(scope="module")
def marking(tmp_path_factory):
    """{kind: (model path, marker path)} for a tf-keras .h5, a Keras 3 .h5 and a .keras file."""
    folder = tmp_path_factory.mktemp("marking")
    return {
        "legacy": _write(folder, "legacy.h5", True),
        "keras3_h5": _write(folder, "keras3.h5", False),
        "keras": _write(folder, "model.keras", False),
    }


def _refused(result, path) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "layer 'marker' is a Lambda layer" in lines[0] and str(path) in lines[0]
    assert "--unsafe" in lines[0] and "safe_mode=False" in lines[0]
    return lines[0]


@pytest.mark.parametrize("kind", ["legacy", "keras3_h5", "keras"])
def test_verify_refuses_a_lambda_without_unsafe(marking, kind, both_commands):
    path, marker = marking[kind]
    _refused(run_cli("verify", path, path), path)
    assert not marker.exists()


def test_run_refuses_a_lambda_part(marking, both_commands):
    path, marker = marking["legacy"]
    result = run_cli("run", path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not marker.exists()


def test_verify_with_unsafe_runs_the_lambda(marking, both_commands):
    path, marker = marking["legacy"]
    result = run_cli("verify", path, path, "--unsafe")
    assert result.returncode == 0, result.stderr
    assert marker.exists()
    marker.unlink()


@pytest.mark.parametrize("kind", ["legacy", "keras"])
def test_api_refuses_a_lambda_unless_safe_mode_false(marking, kind):
    path, marker = marking[kind]
    feeds = {"x": np.ones((2, 3), np.float32)}
    for call in (lambda: modelcut.verify(path, [path]), lambda: modelcut.run_chain([path, path], feeds)):
        with pytest.raises(modelcut.Error, match="layer 'marker' is a Lambda layer") as raised:
            call()
        assert "\n" not in str(raised.value)
        assert not marker.exists()
    if kind == "legacy":  # Keras 3 saves a named function by name, not its code: no other process can load it
        assert modelcut.verify(path, [path], safe_mode=False).ok
        assert marker.exists()
        marker.unlink()


def test_split_copies_the_lambda_never_runs_it(marking, tmp_path):
    path, marker = marking["legacy"]
    result = modelcut.split(path, "pre", tmp_path / "parts")
    assert len(result.paths) == 2 and not marker.exists()
    # The part holding the Lambda is refused like the model.
    with pytest.raises(modelcut.Error, match="Lambda"):
        modelcut.verify(path, result.paths)
    assert not marker.exists()


@pytest.mark.parametrize(
    "config, found",
    [
        (
            {
                "class_name": "Functional",
                "config": {
                    "name": "m",
                    "layers": [
                        {
                            "class_name": "TimeDistributed",
                            "config": {
                                "name": "td",
                                "layer": {
                                    "class_name": "Lambda",
                                    "config": {
                                        "name": "inner",
                                        "function": ["4wAAAA==", None, None],
                                        "function_type": "lambda",
                                    },
                                },
                            },
                        }
                    ],
                },
            },
            [("inner", "a Lambda layer")],
        ),
        (
            {"class_name": "TFOpLambda", "config": {"name": "w", "function": "io.write_file"}},
            [("w", "a TFOpLambda layer calling tf.io.write_file")],
        ),
        (
            {"class_name": "TFOpLambda", "config": {"name": "l", "function": "load_op_library"}},
            [("l", "a TFOpLambda layer calling tf.load_op_library")],
        ),
        (
            {"class_name": "Custom", "config": {"name": "c", "fn": {"function_type": "lambda"}}},
            [("c", "a layer with Python code marshalled into its config")],
        ),
        ({"class_name": "TFOpLambda", "config": {"name": "ok", "function": "compat.v1.nn.relu"}}, []),
        (
            {"class_name": "SlicingOpLambda", "config": {"name": "ok", "function": "__operators__.getitem"}},
            [],
        ),
        ({"class_name": "TFOpLambda", "config": {"name": "ok", "function": "reshape"}}, []),
    ],
)
def test_code_layers_in_configs(config, found):
    assert code_layers(config) == found
