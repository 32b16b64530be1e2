"""modelcut.split on live Keras models: the parts are live keras.Models
sharing the model's layers; chained they give the model's output bit for
bit, and gradients through the second part match those through the whole
model (TensorFlow backend, real Keras)."""

from __future__ import annotations

import live_models
import modelcut
import numpy as np
import pytest
import tensorflow as tf

CASES = {
    "seed": live_models.seed_model,
    "residual": live_models.residual_model,
    "nested_backbone": live_models.nested_backbone,
    "custom_registered": lambda: live_models.custom_layers(registered=True),
    "custom_unregistered": lambda: live_models.custom_layers(registered=False),
}


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    return CASES[request.param]()


def test_chained_parts_equal_the_model_bit_for_bit(case):
    result = modelcut.split(case.model, at=case.at)
    model_a, model_b = result.models
    assert result.paths == []  # nothing written
    expected = np.asarray(case.model(case.inputs))
    chained = np.asarray(model_b(model_a(case.inputs)))
    assert np.array_equal(chained, expected), np.max(np.abs(chained - expected))
    # The cut's own value crosses first, under the core's name.
    assert result.parts[1]["inputs"][0]["name"] == result.cuts[0]["values"][0]


def test_parts_share_the_models_layers_and_weights(case):
    model_a, model_b = modelcut.split(case.model, at=case.at).models
    original = {id(variable) for variable in case.model.weights}
    shared = [variable for part in (model_a, model_b) for variable in part.weights]
    assert shared and all(id(variable) in original for variable in shared)
    assert len(shared) == len(case.model.weights)
    # A change of the model's weights shows in the parts at once.
    first = case.model.weights[0]
    before = np.asarray(model_b(model_a(case.inputs)))
    first.assign(first.numpy() * 0.5)
    after = np.asarray(model_b(model_a(case.inputs)))
    assert np.array_equal(after, np.asarray(case.model(case.inputs)))
    assert not np.array_equal(before, after)


def test_gradient_at_the_cut_matches_the_whole_model(case):
    model_a, model_b = modelcut.split(case.model, at=case.at).models
    expected_value, expected_output = case.probe(case.inputs)
    weights = tf.constant(np.random.default_rng(7).normal(size=expected_output.shape).astype("float32"))

    with tf.GradientTape() as tape:
        value, output = case.probe(case.inputs)
        loss = tf.reduce_sum(output * weights)
    through_model = tape.gradient(loss, value)

    crossing = [tf.convert_to_tensor(x) for x in _as_list(model_a(case.inputs))]
    assert np.array_equal(crossing[0].numpy(), np.asarray(expected_value))
    with tf.GradientTape() as tape:
        tape.watch(crossing[0])
        output = model_b(crossing[0] if len(crossing) == 1 else crossing)
        loss = tf.reduce_sum(output * weights)
    through_part = tape.gradient(loss, crossing[0])

    assert through_part is not None and np.any(through_part.numpy() != 0)
    np.testing.assert_allclose(through_part.numpy(), through_model.numpy(), rtol=1e-6, atol=1e-7)


def test_gradients_reach_the_weights_of_both_parts(case):
    model_a, model_b = modelcut.split(case.model, at=case.at).models
    variables = model_a.trainable_variables + model_b.trainable_variables
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(model_b(model_a(case.inputs))))
    gradients = tape.gradient(loss, variables)
    assert model_a.trainable_variables and model_b.trainable_variables
    assert all(gradient is not None for gradient in gradients)


def test_nested_cut_names_the_value_as_the_saved_file_does(tmp_path):
    case = live_models.nested_backbone()
    path = tmp_path / "classifier.keras"
    case.model.save(path)
    assert modelcut.resolve(case.model, case.at) == modelcut.resolve(path, case.at)
    result = modelcut.split(case.model, at=case.at)
    written = modelcut.split(path, at=case.at, output_dir=tmp_path / "parts")
    assert result.cuts == written.cuts
    assert [part["inputs"] for part in result.parts] == [part["inputs"] for part in written.parts]
    assert [part["outputs"] for part in result.parts] == [part["outputs"] for part in written.parts]


def test_multi_input_multi_output_cut_at_several_tensors():
    model, feeds = live_models.multi_io_model()
    result = modelcut.split(model, at="tensors:shared@0,shared@1")
    model_a, model_b = result.models
    assert result.cuts[0]["values"] == ["shared@0", "shared@1"]
    assert [value["name"] for value in result.parts[1]["inputs"]] == ["shared@0", "shared@1"]
    expected = model(feeds)
    chained = model_b(model_a(feeds))
    assert sorted(chained) == sorted(expected) == ["narrow", "wide"]
    for name in expected:
        assert np.array_equal(np.asarray(chained[name]), np.asarray(expected[name])), name


def test_three_parts_pass_a_skip_value_through_the_middle_part():
    case = live_models.residual_model()
    result = modelcut.split(case.model, at=["d2", "act"])
    assert [[value["name"] for value in part["inputs"]] for part in result.parts] == [
        ["x"],
        ["d2", "d1"],
        ["act", "d1"],
    ]
    current = case.inputs
    for part in result.models:
        current = part(current)
    assert np.array_equal(np.asarray(current), np.asarray(case.model(case.inputs)))


def test_a_nested_model_called_twice_is_cut_at_one_of_its_calls():
    import keras
    from keras import layers

    keras.utils.set_random_seed(5)
    encoder_input = keras.Input((4,), name="encoder_input")
    encoded = layers.Dense(5, name="b")(layers.Dense(5, name="a")(encoder_input))
    encoder = keras.Model(encoder_input, encoded, name="encoder")
    p, q = keras.Input((4,), name="p"), keras.Input((4,), name="q")
    model = keras.Model(
        [p, q], layers.Dense(1, name="score")(layers.Subtract(name="sub")([encoder(p), encoder(q)]))
    )
    feeds = [np.random.default_rng(5).normal(size=(3, 4)).astype("float32") for _ in range(2)]
    for at in ("encoder/a@1", "tensors:encoder/b@0,encoder/b@1"):
        model_a, model_b = modelcut.split(model, at=at).models
        assert np.array_equal(np.asarray(model_b(model_a(feeds))), np.asarray(model(feeds))), at


class Shifted(__import__("keras").layers.Layer):
    """Unregistered, and built from values Keras cannot serialise (an array
    and a function) without a get_config: Keras cannot save it, but it runs."""

    def __init__(self, table, function, **kwargs):
        super().__init__(**kwargs)
        self.table = np.asarray(table, dtype="float32")
        self.function = function

    def call(self, x):
        return self.function(x) + self.table


def test_a_layer_keras_cannot_describe_is_cut_and_left_as_it_was():
    import keras
    from keras import layers

    keras.utils.set_random_seed(6)
    x = keras.Input((3,), name="x")
    shifted = Shifted(np.arange(3), keras.ops.tanh, name="shifted")
    model = keras.Model(x, layers.Dense(2, name="out")(shifted(layers.Dense(3, name="d")(x))))
    inputs = np.random.default_rng(6).normal(size=(2, 3)).astype("float32")
    with pytest.raises(NotImplementedError):
        shifted.get_config()
    model_a, model_b = modelcut.split(model, at="shifted").models
    assert np.array_equal(np.asarray(model_b(model_a(inputs))), np.asarray(model(inputs)))
    with pytest.raises(NotImplementedError):  # its own get_config again
        shifted.get_config()


def test_no_file_is_written(tmp_path, monkeypatch):
    import tempfile

    case = live_models.seed_model()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    model_a, model_b = modelcut.split(case.model, at="fc2").models
    modelcut.merge([model_a, model_b])
    modelcut.run_chain(
        [model_a, model_b], {"input_layer": case.inputs}, intervention=modelcut.gaussian_noise(0.1)
    )
    assert list(tmp_path.iterdir()) == []


def _colliding_model():
    """A layer of a nested model named like a layer of its parent ("proj"),
    with batch normalisation inside the nested model."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(8)
    inner = keras.Input((8,), name="inner")
    encoder = keras.Model(
        inner, layers.BatchNormalization(name="norm")(layers.Dense(8, name="proj")(inner)), name="encoder"
    )
    x = keras.Input((8,), name="x")
    hidden = layers.Dense(8, name="mid")(layers.Dense(8, name="proj")(encoder(x)))
    model = keras.Model(x, layers.Dense(2, name="out")(hidden), name="colliding")
    return model, np.random.default_rng(8).normal(size=(4, 8)).astype("float32")


@pytest.mark.parametrize("at", ["encoder/norm", "proj", "mid"])
def test_flattened_layers_that_share_a_name_with_their_parents(at, tmp_path):
    import keras

    model, inputs = _colliding_model()
    model_a, model_b = modelcut.split(model, at=at).models
    assert np.array_equal(np.asarray(model_b(model_a(inputs))), np.asarray(model(inputs)))
    # Training mode reaches the nested batch normalisation (batch statistics).
    trained = np.asarray(model(inputs, training=True))
    assert not np.allclose(trained, np.asarray(model(inputs)))
    assert np.array_equal(np.asarray(model_b(model_a(inputs, training=True), training=True)), trained)
    merged = modelcut.merge([model_a, model_b])
    assert np.array_equal(np.asarray(merged(inputs)), np.asarray(model(inputs)))
    # Parts save and load like any Keras model.
    for index, part in enumerate((model_a, model_b, merged)):
        part.save(tmp_path / f"part{index}.keras")
    loaded = [keras.models.load_model(tmp_path / f"part{index}.keras") for index in range(3)]
    assert np.array_equal(np.asarray(loaded[1](loaded[0](inputs))), np.asarray(model(inputs)))
    assert np.array_equal(np.asarray(loaded[2](inputs)), np.asarray(model(inputs)))


def test_keras_operations_lambda_and_multi_output_layers():
    import keras
    from keras import layers

    class Pair(layers.Layer):
        def call(self, x):
            return x * 2.0, x - 1.0

    keras.utils.set_random_seed(9)
    x = keras.Input((5,), name="x")
    doubled, shifted = Pair(name="pair")(keras.ops.relu(layers.Dense(5, name="d")(x)))
    y = layers.Lambda(lambda t: t * 3.0, name="triple")(doubled)
    model = keras.Model(x, layers.Dense(2, name="out")(keras.ops.add(y, shifted)))
    inputs = np.random.default_rng(9).normal(size=(3, 5)).astype("float32")
    for at, crossing in [
        ("pair:0", ["pair:0", "pair:1"]),
        ("relu", ["relu"]),
        ("triple", ["triple", "pair:1"]),
    ]:
        result = modelcut.split(model, at=at)
        assert [value["name"] for value in result.parts[1]["inputs"]] == crossing
        model_a, model_b = result.models
        assert np.array_equal(np.asarray(model_b(model_a(inputs))), np.asarray(model(inputs))), at


def test_a_loaded_model_is_cut_live(tmp_path):
    import keras

    case = live_models.residual_model()
    case.model.save(tmp_path / "residual.keras")
    loaded = keras.models.load_model(tmp_path / "residual.keras")
    model_a, model_b = modelcut.split(loaded, at="d2").models
    assert np.array_equal(np.asarray(model_b(model_a(case.inputs))), np.asarray(case.model(case.inputs)))


@pytest.mark.filterwarnings("ignore:.*does not support masking")
def test_a_mask_made_before_the_cut_reaches_the_layers_after_it():
    import keras
    from keras import layers

    keras.utils.set_random_seed(10)
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    embedded = layers.Embedding(10, 4, mask_zero=True, name="embed")(tokens)
    model = keras.Model(tokens, layers.LSTM(3, name="lstm")(layers.Dense(4, name="dense")(embedded)))
    inputs = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 0]], dtype="int32")
    expected = np.asarray(model(inputs))
    unmasked = np.asarray(
        model.get_layer("lstm")(model.get_layer("dense")(model.get_layer("embed").embeddings.numpy()[inputs]))
    )
    assert not np.allclose(unmasked, expected)  # the mask matters
    for at in ("embed", "dense"):
        result = modelcut.split(model, at=at)
        model_a, model_b = result.models
        assert np.array_equal(np.asarray(model_b(model_a(inputs))), expected), at
        out = modelcut.run_chain(result.models, {"tokens": inputs})  # numpy across the cut
        assert np.array_equal(out["lstm"], expected), at
