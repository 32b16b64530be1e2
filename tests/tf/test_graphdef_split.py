"""Frozen TensorFlow graphs cut by modelcut and run by TensorFlow.

The seed model (Dense 2->4->8->16->2, fc1..fc4) is frozen with
convert_variables_to_constants_v2, cut at fc2 by its Keras layer name, and
the two GraphDef parts are run chained in TensorFlow sessions: the result
must equal the whole frozen graph's (and Keras's) bit for bit. A TF1 while
loop (Enter/Exit frames) is refused when cut inside and chains when cut
after it.
"""

from __future__ import annotations

import os

import modelcut
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)


def seed_model():
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((2,)),
            layers.Dense(4, name="fc1"),
            layers.Dense(8, name="fc2"),
            layers.Dense(16, name="fc3"),
            layers.Dense(2, name="fc4"),
        ],
        name="sequential",
    )


def freeze(model) -> tf.compat.v1.GraphDef:
    function = tf.function(lambda x: model(x))
    concrete = function.get_concrete_function(tf.TensorSpec([None, 2], tf.float32, name="x"))
    return convert_variables_to_constants_v2(concrete).graph.as_graph_def()


def load_graph_def(path) -> tf.compat.v1.GraphDef:
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as file:
        graph_def.ParseFromString(file.read())
    return graph_def


def run(graph_def, feeds: dict[str, np.ndarray], fetches: list[str]) -> list[np.ndarray]:
    """Runs a GraphDef: `feeds` and `fetches` are node names (output 0)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        feed_dict = {f"{name}:0": value for name, value in feeds.items()}
        return session.run([f"{name}:0" for name in fetches], feed_dict)


def test_seed_frozen_graph_cut_at_fc2_chains_bit_for_bit(tmp_path):
    model = seed_model()
    graph_def = freeze(model)
    path = tmp_path / "seed.pb"
    path.write_bytes(graph_def.SerializeToString())
    inputs = [node.name for node in graph_def.node if node.op == "Placeholder"]
    assert inputs == ["x"]

    result = modelcut.split(str(path), at="fc2", output_dir=tmp_path / "parts")
    assert [cut["kind"] for cut in result.cuts] == ["layer"]
    # Keras 3 names the scopes "sequential_1/fc2_1": found by "fc2" all the same.
    assert result.cuts[0]["resolved_name"].split("/")[-1] in ("fc2", "fc2_1")
    (boundary,) = result.cuts[0]["values"]
    assert boundary.startswith(result.cuts[0]["resolved_name"] + "/")

    first, second = (load_graph_def(part["path"]) for part in result.parts)
    first_names = {node.name for node in first.node}
    second_ops = {node.name: node.op for node in second.node}
    assert boundary in first_names
    assert second_ops[boundary] == "Placeholder"
    assert not any("fc3" in name or "fc4" in name for name in first_names)
    assert not any("fc1" in name for name in second_ops)
    # The weights of fc1 and fc2 went to part 1 byte for byte.
    source_consts = {
        node.name: node.attr["value"].tensor.SerializeToString()
        for node in graph_def.node
        if node.op == "Const"
    }
    for node in first.node:
        if node.op == "Const":
            assert node.attr["value"].tensor.SerializeToString() == source_consts[node.name]

    assert [output["name"] for output in result.parts[-1]["outputs"]] == ["Identity"]
    x = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32)
    (whole,) = run(graph_def, {"x": x}, ["Identity"])
    (middle,) = run(first, {"x": x}, [boundary])
    (chained,) = run(second, {boundary: middle}, ["Identity"])
    np.testing.assert_array_equal(chained, whole)
    np.testing.assert_array_equal(chained, model(x).numpy())


def tf1_while_loop_graph() -> tf.compat.v1.GraphDef:
    """x -> relu -> while (i < 3): v = v * 2 + 1 -> relu -> * 3, as TF1 control flow."""
    tf.compat.v1.disable_control_flow_v2()
    try:
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
            with tf.name_scope("pre"):
                h = tf.nn.relu(x)
            _, looped = tf.compat.v1.while_loop(
                lambda i, v: i < 3, lambda i, v: (i + 1, v * 2.0 + 1.0), [tf.constant(0), h], name="loop"
            )
            with tf.name_scope("post"):
                y = tf.nn.relu(looped)
            tf.identity(y * 3.0, name="out")
        return graph.as_graph_def()
    finally:
        tf.compat.v1.enable_control_flow_v2()


def test_tf1_while_loop_cut_inside_refused_after_it_chains(tmp_path):
    graph_def = tf1_while_loop_graph()
    assert {"Enter", "Exit", "Merge", "NextIteration"} <= {node.op for node in graph_def.node}
    path = tmp_path / "loop.pb"
    path.write_bytes(graph_def.SerializeToString())

    with pytest.raises(modelcut.Error, match="a cut falls inside the while loop 'loop/while_context'"):
        modelcut.split(str(path), at="loop/add_1", output_dir=tmp_path / "inside")
    assert not (tmp_path / "inside").exists()

    result = modelcut.split(str(path), at="post", output_dir=tmp_path / "after")
    assert result.cuts[0]["values"] == ["post/Relu"]
    first, second = (load_graph_def(part["path"]) for part in result.parts)
    assert {"loop/Exit", "loop/Exit_1", "loop/NextIteration"} <= {node.name for node in first.node}
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    (whole,) = run(graph_def, {"x": x}, ["out"])
    (middle,) = run(first, {"x": x}, ["post/Relu"])
    (chained,) = run(second, {"post/Relu": middle}, ["out"])
    np.testing.assert_array_equal(chained, whole)
    np.testing.assert_array_equal(whole, np.maximum(np.maximum(x, 0) * 8 + 7, 0) * 3)
