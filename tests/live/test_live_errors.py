"""What a live Keras model that cannot be cut, or a bad cut, gives: one
modelcut.Error saying what is wrong and what to do."""

from __future__ import annotations

import keras
import live_models
import modelcut
import numpy as np
import pytest
from keras import layers


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.first = layers.Dense(4, name="first")
        self.second = layers.Dense(2, name="second")

    def call(self, x):
        return self.second(self.first(x))


def test_a_subclassed_model_is_refused_with_what_to_do():
    model = Subclassed()
    model(np.zeros((1, 3), dtype="float32"))
    with pytest.raises(modelcut.Error, match=r"\(Subclassed\) is a subclassed keras.Model.*functional API"):
        modelcut.split(model, at="first")


def test_an_unbuilt_sequential_model_is_refused():
    model = keras.Sequential([layers.Dense(4, name="fc1"), layers.Dense(2, name="fc2")])
    with pytest.raises(modelcut.Error, match="has not been built"):
        modelcut.split(model, at="fc1")


def test_an_unknown_name_lists_the_closest():
    case = live_models.seed_model()
    with pytest.raises(modelcut.Error, match="did you mean 'fc2'"):
        modelcut.split(case.model, at="fc22")


def test_a_cut_at_the_output_leaves_a_part_empty():
    case = live_models.seed_model()
    with pytest.raises(modelcut.Error):
        modelcut.split(case.model, at="fc4")


def test_an_output_folder_is_refused_for_a_live_model(tmp_path):
    case = live_models.seed_model()
    with pytest.raises(modelcut.Error, match="in memory"):
        modelcut.split(case.model, at="fc2", output_dir=tmp_path / "parts")
    assert not (tmp_path / "parts").exists()


def test_merge_refuses_a_mix_of_live_parts_and_files(tmp_path):
    case = live_models.seed_model()
    model_a = modelcut.split(case.model, at="fc2").models[0]
    with pytest.raises(modelcut.Error, match="not both"):
        modelcut.merge([model_a, tmp_path / "b.keras"])


def test_something_that_is_not_a_model_is_named():
    with pytest.raises(modelcut.Error, match="not a builtins.dict"):
        modelcut.split({"fc2": 1}, at="fc2", output_dir="unused")


def test_a_tf_keras_model_is_refused_with_what_to_do():
    import tf_keras

    model = tf_keras.Sequential([tf_keras.layers.Dense(2, input_shape=(3,), name="fc")])
    with pytest.raises(modelcut.Error, match=r"tf-keras \(Keras 2\) model.*save it"):
        modelcut.split(model, at="fc", output_dir="unused")


def test_the_core_refuses_a_config_that_is_not_a_keras_model():
    from modelcut import _core

    with pytest.raises(modelcut.Error, match="origin"):
        _core.keras_live_cut("[1, 2", "origin", ["fc2"])
    with pytest.raises(modelcut.Error, match="origin"):
        _core.keras_live_cut('{"class_name": "Dense", "config": {}}', "origin", ["fc2"])
