"""Keras models the TensorFlow tests export: a subclassed model with a
residual connection, fc3(fc2(h) + h) with h = fc1(x). Subclassed, its
config has no layer graph, so only model.export() reaches modelcut."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras


class Residual(keras.Model):
    def __init__(self, name: str = "residual"):
        super().__init__(name=name)
        self.fc1 = keras.layers.Dense(16, activation="relu", name="fc1")
        self.fc2 = keras.layers.Dense(16, activation="relu", name="fc2")
        self.fc3 = keras.layers.Dense(4, name="fc3")

    def call(self, x):
        hidden = self.fc1(x)
        return self.fc3(self.fc2(hidden) + hidden)
