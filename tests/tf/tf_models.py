"""Keras models the TensorFlow tests export: a subclassed model with a
residual connection, fc3(fc2(h) + h) with h = fc1(x). Subclassed, its
config has no layer graph, so only model.export() reaches modelcut.
Also the exports themselves, each into a folder (the tests take them from
the test model cache, tests/model_cache.py), and the models they export,
rebuilt from the same seed with the same weights."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
import numpy as np


class Residual(keras.Model):
    def __init__(self, name: str = "residual"):
        super().__init__(name=name)
        self.fc1 = keras.layers.Dense(16, activation="relu", name="fc1")
        self.fc2 = keras.layers.Dense(16, activation="relu", name="fc2")
        self.fc3 = keras.layers.Dense(4, name="fc3")

    def call(self, x):
        hidden = self.fc1(x)
        return self.fc3(self.fc2(hidden) + hidden)


def residual(seed: int, name: str = "residual") -> Residual:
    """The residual model, built, with weights drawn from `seed`."""
    keras.utils.set_random_seed(seed)
    model = Residual(name=name)
    model(np.zeros((1, 8), np.float32))
    return model


def export_residual(folder: Path) -> None:
    """folder/residual: the SavedModel of residual(1), from model.export()."""
    residual(1).export(str(folder / "residual"), verbose=False)


def mobilenet() -> keras.Model:
    """keras.applications.MobileNetV2, 96x96, 10 classes, random weights from seed 0."""
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=10)


def export_mobilenet(folder: Path) -> None:
    """folder/mobilenet: the SavedModel of mobilenet(), from model.export()."""
    mobilenet().export(str(folder / "mobilenet"), verbose=False)


def freeze_residual(folder: Path) -> None:
    """folder/res.pb and folder/res_noshapes.pb: the residual model (seed 0,
    named "res", in a fresh Keras session) exported, loaded and frozen from its
    serving_default signature, as users of SavedModels freeze them; res.pb
    with _output_shapes, res_noshapes.pb without."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    keras.utils.clear_session()
    model = residual(0, name="res")
    with tempfile.TemporaryDirectory() as scratch:
        model.export(os.path.join(scratch, "saved"))
        loaded = tf.saved_model.load(
            os.path.join(scratch, "saved")
        )  # kept alive: the signature reads its variables
        frozen = convert_variables_to_constants_v2(loaded.signatures["serving_default"])
        (folder / "res.pb").write_bytes(frozen.graph.as_graph_def(add_shapes=True).SerializeToString())
        (folder / "res_noshapes.pb").write_bytes(frozen.graph.as_graph_def().SerializeToString())
