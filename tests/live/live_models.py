"""Live Keras models for the live tests, built in memory with fixed seeds,
with the cut each test makes and a probe of the value at that cut.

Each builder returns a Case: the model, the cut, inputs, and `probe`, a
function giving (value at the cut, model output) computed through the whole
model with plain Keras (not modelcut), for checking gradients.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from keras import layers

BACKBONE = "mobilenetv2_0.35_96"  # the name keras.applications gives MobileNetV2(alpha=0.35) on 96x96


@dataclass
class Case:
    model: Any
    at: str
    inputs: Any
    probe: Callable  # inputs -> (value at the cut, output), through the whole model


def _functional_probe(model, layer_name: str) -> Callable:
    """(the layer's output, the model's output) from one Keras model with both as outputs."""
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    both = keras.Model(inputs, [model.get_layer(layer_name).output, model.outputs[0]])
    return lambda inputs: both(inputs)


def seed_model() -> Case:
    """The seed of the issue: four Dense layers in a Sequential model, cut at fc2."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,), name="input_layer"),  # named: Keras numbers its default names per process
            layers.Dense(4, name="fc1"),
            layers.Dense(8, name="fc2"),
            layers.Dense(16, name="fc3"),
            layers.Dense(2, name="fc4"),
        ]
    )
    inputs = np.array([[1.0, 2.0], [-0.5, 3.0]], dtype="float32")
    return Case(model, "fc2", inputs, _functional_probe(model, "fc2"))


def residual_model() -> Case:
    """A skip connection around d2 and its activation: a cut at d2 sends d1 across too."""
    keras.utils.set_random_seed(1)
    x = keras.Input((8,), name="x")
    h = layers.Dense(8, name="d1")(x)
    s = layers.Dense(8, name="d2")(h)
    s = layers.Activation("tanh", name="act")(s)
    y = layers.Add(name="add")([h, s])
    y = layers.Dense(3, name="out")(y)
    model = keras.Model(x, y, name="residual")
    inputs = np.random.default_rng(1).normal(size=(4, 8)).astype("float32")
    return Case(model, "d2", inputs, _functional_probe(model, "d2"))


def nested_backbone() -> Case:
    """MobileNetV2 (no weights downloaded) as a layer of an outer model, cut inside it."""
    keras.utils.set_random_seed(2)
    backbone = keras.applications.MobileNetV2(
        weights=None, input_shape=(96, 96, 3), alpha=0.35, include_top=False
    )
    assert backbone.name == BACKBONE
    image = keras.Input((96, 96, 3), name="image")
    features = layers.GlobalAveragePooling2D(name="pool")(backbone(image))
    model = keras.Model(image, layers.Dense(5, name="head")(features), name="classifier")
    inputs = np.random.default_rng(2).uniform(-1, 1, size=(2, 96, 96, 3)).astype("float32")
    inner = keras.Model(
        backbone.inputs[0], [backbone.get_layer("block_6_expand").output, backbone.outputs[0]]
    )

    def probe(batch):
        value, features = inner(batch)
        return value, model.get_layer("head")(model.get_layer("pool")(features))

    return Case(model, f"{BACKBONE}/block_6_expand", inputs, probe)


@keras.saving.register_keras_serializable(package="modelcut_live_tests")
class Gate(layers.Layer):
    """A registered custom layer with a weight of its own: x * sigmoid(w)."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="w")

    def call(self, x):
        return x * keras.ops.sigmoid(self.w)


class Scale(layers.Layer):
    """An unregistered custom layer with a constructor argument."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return keras.ops.sin(x) * self.factor


def custom_layers(registered: bool) -> Case:
    """A custom layer between Dense layers, cut just after it."""
    keras.utils.set_random_seed(3)
    x = keras.Input((6,), name="x")
    h = layers.Dense(6, name="d1")(x)
    h = (Gate(name="custom") if registered else Scale(1.5, name="custom"))(h)
    y = layers.Dense(2, name="d2")(layers.Dense(6, activation="relu", name="mid")(h))
    model = keras.Model(x, y, name="custom")
    inputs = np.random.default_rng(3).normal(size=(3, 6)).astype("float32")
    return Case(model, "custom", inputs, _functional_probe(model, "custom"))


def multi_io_model():
    """Two named inputs through one shared layer, two named outputs, and the
    shared layer also called once outside the model (so its node indices in
    the model's config differ from the live ones)."""
    keras.utils.set_random_seed(4)
    shared = layers.Dense(6, name="shared")
    shared(keras.Input((6,)))  # a call outside the model
    a = keras.Input((6,), name="a")
    b = keras.Input((6,), name="b")
    sa, sb = shared(a), shared(b)
    joined = layers.Concatenate(name="cat")([sa, layers.Activation("relu", name="relu")(sb)])
    model = keras.Model(
        {"a": a, "b": b},
        {"wide": layers.Dense(2, name="wide")(joined), "narrow": layers.Dense(3, name="narrow")(sa)},
    )
    rng = np.random.default_rng(4)
    feeds = {name: rng.normal(size=(2, 6)).astype("float32") for name in ("a", "b")}
    return model, feeds
