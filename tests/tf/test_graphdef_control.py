"""Control dependencies across a cut, in graphs built with tf.compat.v1 and
run by TensorFlow.

What modelcut does with a control input `^p` of a node w (w waits for p),
as src/formats/tf/emit_graphdef.h states:
- p and w in one part: kept as it is.
- p in an earlier part than w: dropped from w. The earlier part has run
  completely before the later one starts (the parts are a strict chain), so
  the chain itself honours the wait.
- p in a later part than w: refused, with one line naming w and p, and
  nothing written. Only a node that nothing reads (a probe, an Assert) can
  land after its waiter, because split puts such nodes in the last part.
(Waits for stored weights are not waits: they are dropped, or kept with the
part that reads the weight.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import modelcut
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf


def control_graph(probe_read_later: bool) -> tf.compat.v1.GraphDef:
    """x -> a/Relu; b waits for a/probe (an Identity of a/Relu * 2) and for
    a/check (an Assert that a/Relu >= 0); c/out = (relu(h + 1) + h) * 3,
    plus the probe when `probe_read_later`."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        with tf.name_scope("a"):
            h = tf.nn.relu(x)
            probe = tf.identity(h * 2.0, name="probe")
            check = tf.debugging.Assert(tf.reduce_all(h >= 0.0), [h], name="check")
        with tf.name_scope("b"):
            with tf.control_dependencies([probe, check]):
                y = tf.nn.relu(h + 1.0)
            y = y + h
        with tf.name_scope("c"):
            tf.identity(y * 3.0 + (probe if probe_read_later else 0.0), name="out")
    return graph.as_graph_def(add_shapes=True)


def run(graph_def, feeds: dict[str, np.ndarray], fetches: list[str]) -> list[np.ndarray]:
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run(
            [f"{name}:0" for name in fetches], {f"{name}:0": value for name, value in feeds.items()}
        )


def load_graph_def(path) -> tf.compat.v1.GraphDef:
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as file:
        graph_def.ParseFromString(file.read())
    return graph_def


def split_and_chain(graph_def, path, at, tmp_path):
    path.write_bytes(graph_def.SerializeToString())
    result = modelcut.split(str(path), at=at, output_dir=tmp_path / "parts")
    parts = [load_graph_def(part["path"]) for part in result.parts]
    for part in parts:  # every input, control inputs included, names a node of the part
        names = {node.name for node in part.node}
        for node in part.node:
            assert all(name.lstrip("^").split(":")[0] in names for name in node.input), node
    values = {"x": np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)}
    for part, summary in zip(parts, result.parts):
        names = [output["name"] for output in summary["outputs"]]
        values.update(zip(names, run(part, {i["name"]: values[i["name"]] for i in summary["inputs"]}, names)))
    (whole,) = run(graph_def, {"x": values["x"]}, ["c/out"])
    np.testing.assert_array_equal(values["c/out"], whole)
    return parts


def waits(graph_def, on: str) -> set[str]:
    return {node.name for node in graph_def.node if f"^{on}" in node.input}


def test_waits_kept_in_the_part_of_the_waiter(tmp_path):
    graph_def = control_graph(probe_read_later=False)
    assert waits(graph_def, "a/probe") and waits(graph_def, "a/probe") == waits(
        graph_def, "a/check/AssertGuard/Identity"
    )
    # The probe and the Assert, read by nothing, go to the last part with
    # the nodes waiting for them; the waits stay.
    first, second = split_and_chain(graph_def, tmp_path / "control.pb", "a/Relu", tmp_path)
    assert "a/probe" not in {node.name for node in first.node}
    assert waits(second, "a/probe") == waits(graph_def, "a/probe")
    assert waits(second, "a/check/AssertGuard/Identity") == waits(graph_def, "a/probe")


def test_wait_on_an_earlier_part_is_honoured_by_the_chain(tmp_path):
    graph_def = control_graph(probe_read_later=True)
    # Cut after layer a: a/Relu and a/probe cross; the probe ran in part 1.
    first, second = split_and_chain(graph_def, tmp_path / "control.pb", "a", tmp_path)
    assert "a/probe" in {node.name for node in first.node}
    assert second.node and not waits(second, "a/probe")
    assert {node.op for node in second.node if node.name == "a/probe"} == {"Placeholder"}


def test_wait_on_a_later_part_is_refused_naming_both_nodes(tmp_path):
    path = tmp_path / "control.pb"
    path.write_bytes(control_graph(probe_read_later=False).SerializeToString())
    # After b/Relu: b's nodes are in part 1, the unread Assert they wait for
    # in the last part.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelcut.cli",
            "split",
            str(path),
            "--at",
            "b/Relu",
            "-o",
            str(tmp_path / "parts"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "waits for node 'a/" in lines[0] and "(a control input)" in lines[0], lines[0]
    assert "in part 2, after the node waiting for it in part 1" in lines[0], lines[0]
    assert not (tmp_path / "parts").exists()
