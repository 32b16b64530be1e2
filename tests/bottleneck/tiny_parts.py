"""A tiny conv model with weights drawn from a seeded numpy generator, so that
every Keras backend builds exactly the same model, cut live after its conv."""

from __future__ import annotations

import keras
import modelcut
import numpy as np


def tiny_parts(seed: int = 0) -> tuple[keras.Model, keras.Model]:
    rng = np.random.default_rng(seed)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1), name="image"),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(3, name="logits"),
        ]
    )
    model.get_layer("conv").set_weights(
        [rng.normal(0, 0.5, (3, 3, 1, 4)).astype(np.float32), np.full(4, 0.1, np.float32)]
    )
    model.get_layer("logits").set_weights(
        [rng.normal(0, 0.3, (144, 3)).astype(np.float32), np.zeros(3, np.float32)]
    )
    return modelcut.split(model, at="conv").models


def tiny_images(count: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((count, 6, 6, 1), dtype=np.float32)
