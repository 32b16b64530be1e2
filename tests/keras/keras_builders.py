"""Keras test models for the Keras tests: small, randomly initialised with
fixed seeds, saved with the real Keras (and tf-keras for legacy .h5 files).

Every builder takes an output path, saves the model there and returns it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
from keras import layers

IMAGE = (32, 32, 3)  # the smallest input keras.applications accept
MOBILENET = "mobilenetv2_0.35_32"  # the name keras.applications gives it


@keras.saving.register_keras_serializable(package="modelcut_tests")
class ScaledDense(layers.Layer):
    """A custom layer with a sublayer and a weight of its own."""

    def __init__(self, units, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.scale = scale
        self.inner = layers.Dense(units, name="inner")

    def build(self, input_shape):
        self.inner.build(input_shape)
        self.gain = self.add_weight(shape=(self.units,), initializer="random_normal", name="gain")

    def call(self, x):
        return self.inner(x) * self.gain * self.scale

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale}


def seed_model(path):
    """The seed model of the issue: four Dense layers in a Sequential model."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            layers.Dense(4, name="fc1"),
            layers.Dense(8, name="fc2"),
            layers.Dense(16, name="fc3"),
            layers.Dense(2, name="fc4"),
        ]
    )
    model.save(path)
    return path


def residual_model(path):
    """A Functional model with a skip connection around d2."""
    keras.utils.set_random_seed(1)
    x = keras.Input((8,), name="x")
    d1 = layers.Dense(8, name="d1")(x)
    d2 = layers.Dense(8, activation="relu", name="d2")(d1)
    added = layers.Add(name="add")([d1, d2])
    out = layers.Dense(3, name="head")(added)
    keras.Model(x, out, name="residual").save(path)
    return path


def mobilenet_v2(path):
    keras.utils.set_random_seed(2)
    keras.applications.MobileNetV2(weights=None, input_shape=IMAGE, alpha=0.35).save(path)
    return path


def resnet50(path):
    keras.utils.set_random_seed(3)
    keras.applications.ResNet50(weights=None, input_shape=IMAGE).save(path)
    return path


def nested_backbone(path):
    """A classifier around a keras.applications backbone (a nested model)."""
    keras.utils.set_random_seed(4)
    image = keras.Input(IMAGE, name="image")
    backbone = keras.applications.MobileNetV2(weights=None, input_shape=IMAGE, alpha=0.35, include_top=False)
    assert backbone.name == MOBILENET
    x = backbone(image)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    out = layers.Dense(5, name="logits")(x)
    keras.Model(image, out, name="classifier").save(path)
    return path


def nested_small(path):
    """A Functional and a Sequential model nested in a Functional model, the
    Functional one called twice (its layers are shared by two calls)."""
    keras.utils.set_random_seed(5)
    inner_in = keras.Input((8,), name="inner_in")
    encoder = keras.Model(inner_in, layers.Dense(8, name="enc")(inner_in), name="encoder")
    block = keras.Sequential(
        [keras.Input((8,)), layers.Dense(6, name="blk_dense"), layers.BatchNormalization(name="blk_bn")],
        name="block",
    )
    x = keras.Input((8,), name="x")
    once = encoder(x)
    twice = encoder(once)
    y = block(twice)
    out = layers.Dense(2, name="out")(y)
    keras.Model(x, [out, once], name="nested").save(path)
    return path


def colliding_names(path):
    """A nested model's layer with the name of a layer of its parent."""
    keras.utils.set_random_seed(13)
    inner_in = keras.Input((8,), name="inner_in")
    encoder = keras.Model(inner_in, layers.Dense(8, name="proj")(inner_in), name="encoder")
    x = keras.Input((8,), name="x")
    h = layers.Dense(8, name="proj")(encoder(x))
    h = layers.Dense(8, name="mid")(h)
    out = layers.Dense(2, name="out")(h)
    keras.Model(x, out, name="colliding").save(path)
    return path


def custom_layer_model(path):
    keras.utils.set_random_seed(6)
    x = keras.Input((6,), name="x")
    h = layers.Dense(5, name="a")(x)
    h = ScaledDense(4, scale=3.0, name="scaled")(h)
    out = layers.Dense(2, name="b")(h)
    keras.Model(x, out, name="custom").save(path)
    return path


def shared_layer_model(path):
    """One Dense layer called before and after "mid"."""
    keras.utils.set_random_seed(7)
    x = keras.Input((4,), name="x")
    shared = layers.Dense(4, name="shared")
    h = shared(x)
    h = layers.Dense(4, activation="tanh", name="mid")(h)
    h = shared(h)
    out = layers.Dense(2, name="out")(h)
    keras.Model(x, out, name="shared_model").save(path)
    return path


def ops_model(path):
    """keras.ops calls, a tensor passed as a keyword argument, a
    multi-output operation and dict inputs and outputs."""
    keras.utils.set_random_seed(8)
    a = keras.Input((4, 8), name="a")
    mask = keras.Input((4, 4), name="m", dtype="bool")
    x = keras.ops.add(a, 1.0)
    y = layers.MultiHeadAttention(2, 4, name="mha")(x, a, attention_mask=mask)
    first, second = keras.ops.split(y, 2, axis=-1)
    out = layers.Concatenate(name="cat")([second, first])
    keras.Model({"a": a, "m": mask}, {"o": out, "p": first}, name="ops").save(path)
    return path


def lambda_model(path):
    keras.utils.set_random_seed(9)
    x = keras.Input((3,), name="x")
    h = layers.Dense(3, name="pre")(x)
    h = layers.Lambda(lambda t: t * 2.0 + 1.0, name="affine")(h)
    out = layers.Dense(2, name="post")(h)
    keras.Model(x, out, name="with_lambda").save(path)
    return path


def tf_keras_model(path):
    """A legacy .h5 written by tf-keras: convolutions, batch norm, a skip
    connection, pooling, and a Sequential model nested inside."""
    import tf_keras

    tl = tf_keras.layers
    tf_keras.utils.set_random_seed(10)
    image = tf_keras.Input((12, 12, 3), name="image")
    c1 = tl.Conv2D(8, 3, padding="same", name="conv1")(image)
    b1 = tl.BatchNormalization(name="bn1")(c1)
    r1 = tl.ReLU(name="relu1")(b1)
    c2 = tl.Conv2D(8, 3, padding="same", name="conv2")(r1)
    added = tl.Add(name="add")([b1, c2])
    pooled = tl.MaxPooling2D(name="pool")(added)
    head = tf_keras.Sequential(
        [
            tf_keras.Input((6, 6, 8)),
            tl.Flatten(name="flat"),
            tl.Dense(16, activation="relu", name="fc"),
            tl.BatchNormalization(name="bn_fc"),
        ],
        name="head",
    )
    out = tl.Dense(4, name="logits")(head(pooled))
    model = tf_keras.Model(image, out, name="legacy")
    # Non-trivial batch-norm statistics, so that a weight copied to the wrong
    # layer shows.
    for layer in [model.get_layer("bn1"), head.get_layer("bn_fc")]:
        gamma, beta, mean, variance = layer.get_weights()
        layer.set_weights([gamma * 1.5, beta + 0.1, mean + 0.2, variance * 2.0])
    model.save(path)
    return path


def tf_keras_lambda_model(path):
    """A legacy .h5 whose Lambda layer hides the shape of its output."""
    import tf_keras

    tf_keras.utils.set_random_seed(11)
    x = tf_keras.Input((3,), name="x")
    h = tf_keras.layers.Lambda(lambda t: t * 2.0, name="double")(x)
    out = tf_keras.layers.Dense(2, name="post")(h)
    tf_keras.Model(x, out, name="legacy_lambda").save(path)
    return path


def keras3_h5(path):
    """The seed model saved by Keras 3 in the legacy .h5 format."""
    keras.utils.set_random_seed(12)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            layers.Dense(4, name="fc1"),
            layers.Dense(8, name="fc2"),
            layers.Dense(2, name="fc3"),
        ]
    )
    model.save(path)
    return path


BUILDERS = {
    "seed.keras": seed_model,
    "residual.keras": residual_model,
    "mobilenet_v2.keras": mobilenet_v2,
    "resnet50.keras": resnet50,
    "classifier.keras": nested_backbone,
    "nested.keras": nested_small,
    "colliding.keras": colliding_names,
    "custom.keras": custom_layer_model,
    "shared.keras": shared_layer_model,
    "ops.keras": ops_model,
    "lambda.keras": lambda_model,
    "legacy.h5": tf_keras_model,
    "legacy_lambda.h5": tf_keras_lambda_model,
    "keras3.h5": keras3_h5,
}
