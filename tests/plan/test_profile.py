"""`modelcut profile`: real runs on ONNX Runtime and Keras, a file whose node
names are the dataflow's, written atomically and never over an input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from cli_support import run_cli
from modelcut import _core
from modelcut.api import inferred_types
from plan_support import assert_one_line_error


def dataflow_names(path: str) -> list[str]:
    return [node["name"] for node in _core.nodes(path, inferred_types(path))]


def profile_cli(model: str, output, *options, subprocess=False):
    return run_cli(
        "profile", model, "-o", output, "--runs", "3", "--warmup", "1", *options, subprocess=subprocess
    )


def test_onnx_profile_covers_every_node(model, tmp_path):
    source = model("cnn.onnx")
    output = tmp_path / "times.json"
    result = profile_cli(source, output)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "slowest" in result.stdout
    data = json.loads(output.read_text())
    assert data["format"] == "modelcut-profile" and data["version"] == 1
    assert data["model"] == "cnn.onnx" and data["runs"] == 3 and data["threads"] == 1
    assert data["runtime"].startswith("onnxruntime ")
    names = dataflow_names(source)
    assert list(data["nodes"]) == names  # every node, in the dataflow's order
    ran = [name for name in names if name not in data["not_run"]]
    assert all(data["nodes"][name] >= 0 for name in names)
    convs = [node["name"] for node in _core.nodes(source, []) if node["op"] == "Conv"]
    assert len(convs) == 10 and all(data["nodes"][name] > 0 for name in convs)
    assert set(data["not_run"]) <= set(names) and len(ran) > len(names) // 2
    assert 0 < sum(data["nodes"].values()) <= 3 * data["total_us"]
    assert data["input_shapes"] == {"image": [1, 3, 32, 32]}
    assert [name for name in os.listdir(tmp_path) if name != "times.json"] == []  # no temporary file left
    mask = os.umask(0)
    os.umask(mask)
    assert output.stat().st_mode & 0o777 == 0o666 & ~mask  # as any new file, not tempfile's 0600


def test_unnamed_and_repeated_nodes_get_the_dataflow_names(model, tmp_path):
    source = model("unnamed.onnx")
    output = tmp_path / "times.json"
    assert profile_cli(source, output, "--batch", "3").returncode == 0
    data = json.loads(output.read_text())
    assert list(data["nodes"]) == ["#0", "act", "#3"]
    assert set(data["nodes"]) == set(dataflow_names(source))
    assert data["batch"] == 3 and data["input_shapes"] == {"x": [3, 4]}


def test_keras_profile_names_every_layer_call(model, tmp_path):
    source = model("shared.keras")
    output = tmp_path / "times.json"
    # A process of its own: profiling sets TensorFlow's thread count, which a process takes only once.
    result = profile_cli(source, output, subprocess=True)
    assert result.returncode == 0, result.stderr
    data = json.loads(output.read_text())
    assert data["runtime"].startswith("keras 3.")
    assert sorted(data["nodes"]) == sorted(dataflow_names(source))
    assert {"shared@0", "shared@1", "inner/a@0", "inner/b@1", "add"} <= set(data["nodes"])
    assert all(value > 0 for value in data["nodes"].values())


def test_keras_residual_profile(model, tmp_path):
    source = model("residual.keras")
    output = tmp_path / "times.json"
    assert profile_cli(source, output, "--batch", "2", subprocess=True).returncode == 0  # as above
    data = json.loads(output.read_text())
    assert list(data["nodes"]) == dataflow_names(source)
    assert data["input_shapes"] == {"image": [2, 16, 16, 3]}


def test_profile_on_given_inputs(model, tmp_path):
    source = model("cnn.onnx")
    feeds = tmp_path / "feeds.npz"
    np.savez(feeds, image=np.ones((2, 3, 32, 32), np.float32))
    output = tmp_path / "times.json"
    result = profile_cli(source, output, "--inputs", feeds, "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == json.loads(output.read_text())
    assert printed["input_shapes"] == {"image": [2, 3, 32, 32]} and printed["inputs"] == "feeds.npz"


def test_refuses_an_existing_output_and_the_model(model, tmp_path):
    source = model("unnamed.onnx")
    output = tmp_path / "times.json"
    output.write_text("keep")
    assert_one_line_error(profile_cli(source, output), "exists", "--force")
    assert output.read_text() == "keep"
    before = Path(source).read_bytes()
    assert_one_line_error(profile_cli(source, source, "--force"), "never replaces a file it reads")
    assert Path(source).read_bytes() == before
    assert profile_cli(source, output, "--force").returncode == 0
    assert json.loads(output.read_text())["format"] == "modelcut-profile"


@pytest.mark.parametrize(
    "options, fragment",
    [
        (["--runs", "0"], "--runs '0'"),
        (["--threads", "x"], "--threads 'x'"),
        (["--dim", "seq"], "NAME=SIZE"),
        (["--batch", "-1"], "--batch"),
    ],
)
def test_bad_options(model, tmp_path, options, fragment):
    result = profile_cli(model("unnamed.onnx"), tmp_path / "times.json", *options)
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "times.json").exists()


def test_not_a_model(tmp_path):
    text = tmp_path / "model.onnx"
    text.write_text("not a model")
    assert_one_line_error(run_cli("profile", text, "-o", tmp_path / "t.json"))
    assert not (tmp_path / "t.json").exists()
