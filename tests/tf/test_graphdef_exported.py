"""A subclassed Keras model (fc1, fc2, fc3 with a residual fc3(fc2(h) + h))
exported with model.export(), loaded and frozen from its serving_default
signature, as users of SavedModels freeze them. Such a graph is framed by
function-inlining scaffolding (Func/StatefulPartitionedCall/input/_0 ...,
everything else under StatefulPartitionedCall/) and holds control inputs
(StatefulPartitionedCall/NoOp waits on every weight read, the final Identity
on ^NoOp). `modelcut inspect` must show the Keras layers and no scaffolding;
cuts by Keras layer name, across the residual and in the middle, must chain
in TensorFlow to the whole graph's result bit for bit on CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys

import modelcut
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import model_cache
import tensorflow as tf
import tf_models


@pytest.fixture(scope="module")
def exported():
    """(path of the frozen graph with _output_shapes, path without, GraphDef),
    from the test model cache (tests/model_cache.py): read-only."""
    folder = model_cache.entry("tf-residual-frozen", tf_models.freeze_residual, sources=[tf_models])
    return folder / "res.pb", folder / "res_noshapes.pb", load_graph_def(folder / "res.pb")


def load_graph_def(path) -> tf.compat.v1.GraphDef:
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(path.read_bytes() if hasattr(path, "read_bytes") else open(path, "rb").read())
    return graph_def


def run(graph_def, feeds: dict[str, np.ndarray], fetches: list[str]) -> list[np.ndarray]:
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run(
            [f"{name}:0" for name in fetches], {f"{name}:0": value for name, value in feeds.items()}
        )


def run_chain(result, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    values = dict(feeds)
    for part in result.parts:
        names = [output["name"] for output in part["outputs"]]
        outputs = run(
            load_graph_def(part["path"]), {i["name"]: values[i["name"]] for i in part["inputs"]}, names
        )
        values.update(zip(names, outputs))
    return values


def test_inspect_shows_keras_layers_not_inlining_scaffolding(exported):
    path, _, graph_def = exported
    assert any(node.name.startswith("Func/StatefulPartitionedCall/input/_") for node in graph_def.node)
    result = subprocess.run(
        [sys.executable, "-m", "modelcut.cli", "inspect", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    producer = graph_def.versions.producer
    assert (
        lines[0] == f"{path}: TensorFlow GraphDef, {len(graph_def.node)} nodes, 6 Const weights, "
        f"producer version {producer}"
    )
    assert "ir_version" not in result.stdout
    layers = lines[lines.index("layers (depth <= 2; --depth N for more):") + 1 :]
    layers = layers[: layers.index("")]
    assert [line.split("  ->")[0].strip() for line in layers] == [
        "res_1",
        "res_1/fc1_1",
        "res_1/fc2_1",
        "res_1/fc3_1",
    ]
    assert "res_1/fc2_1  -> StatefulPartitionedCall/res_1/fc2_1/Relu float32[?,16]" in result.stdout
    points = [line.split()[0] for line in lines[lines.index("") + len(layers) + 2 :] if line.startswith("  ")]
    # Neither the Identity after the input nor the Identity chain before the
    # output is a place to cut: one part would compute nothing.
    assert points == [
        f"StatefulPartitionedCall/res_1/{name}"
        for name in ("fc1_1/MatMul", "fc1_1/BiasAdd", "fc1_1/Relu", "add", "fc3_1/MatMul")
    ]
    report = modelcut.inspect(str(path))
    assert report["format"] == "tf-graphdef" and report["format_version"] == producer


def test_resolve_keras_names_with_recorded_shapes(exported):
    path, _, _ = exported
    (cut,) = modelcut.resolve(str(path), ["fc2"])
    assert cut["resolved_name"] == "res_1/fc2_1"
    assert cut["values"] == ["StatefulPartitionedCall/res_1/fc2_1/Relu"]


@pytest.mark.parametrize("at", [["fc2"], ["fc1", "StatefulPartitionedCall/res_1/add"], ["fc3"]])
def test_cuts_chain_bit_for_bit_in_tensorflow(exported, tmp_path, at):
    path, _, graph_def = exported
    result = modelcut.split(str(path), at=at, output_dir=tmp_path / "parts")
    assert len(result.parts) == len(at) + 1
    x = np.random.default_rng(0).standard_normal((7, 8)).astype(np.float32)
    (whole,) = run(graph_def, {"args_0": x}, ["Identity"])
    chained = run_chain(result, {"args_0": x})
    np.testing.assert_array_equal(chained["Identity"], whole)
    # Each part's placeholders carry the recorded shapes (batch unknown).
    for part in result.parts[1:]:
        for node in load_graph_def(part["path"]).node:
            if node.op == "Placeholder":
                assert [dim.size for dim in node.attr["shape"].shape.dim] in ([-1, 16], [-1, 4])
    # The control input that waits on every weight read stays in the part
    # that reads them, never points at a node of another part.
    for part in result.parts:
        names = {node.name for node in load_graph_def(part["path"]).node}
        for node in load_graph_def(part["path"]).node:
            assert all(name.lstrip("^").split(":")[0] in names for name in node.input), node


def test_cut_across_the_residual_sends_both_values(exported, tmp_path):
    path, _, _ = exported
    result = modelcut.split(str(path), at="fc2", output_dir=tmp_path / "parts")
    assert sorted(value["name"] for value in result.parts[1]["inputs"]) == [
        "StatefulPartitionedCall/res_1/fc1_1/Relu",
        "StatefulPartitionedCall/res_1/fc2_1/Relu",
    ]


def test_graph_without_shapes_still_chains(exported, tmp_path):
    _, path, graph_def = exported
    result = modelcut.split(str(path), at="StatefulPartitionedCall/res_1/add", output_dir=tmp_path / "parts")
    assert result.parts[0]["outputs"][0]["type"].startswith("float32[")
    x = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    (whole,) = run(graph_def, {"args_0": x}, ["Identity"])
    np.testing.assert_array_equal(run_chain(result, {"args_0": x})["Identity"], whole)
