"""A tiny conv model in two parts with weights drawn from a seeded numpy
generator, so that every Keras backend builds exactly the same parts."""

from __future__ import annotations

import keras
import numpy as np


def tiny_parts(seed: int = 0) -> tuple[keras.Model, keras.Model]:
    rng = np.random.default_rng(seed)
    image = keras.Input((6, 6, 1), name="image")
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")
    part_a = keras.Model(image, conv(image), name="part_a")
    cut_value = keras.Input((6, 6, 4), name="cut_value")
    dense = keras.layers.Dense(3, name="logits")
    part_b = keras.Model(cut_value, dense(keras.layers.Flatten()(cut_value)), name="part_b")
    conv.set_weights([rng.normal(0, 0.5, (3, 3, 1, 4)).astype(np.float32), np.full(4, 0.1, np.float32)])
    dense.set_weights([rng.normal(0, 0.3, (144, 3)).astype(np.float32), np.zeros(3, np.float32)])
    return part_a, part_b


def tiny_images(count: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((count, 6, 6, 1), dtype=np.float32)
