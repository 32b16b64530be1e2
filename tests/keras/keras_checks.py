"""Helpers for the Keras tests: cut with modelcut, load parts with Keras,
run chains and compare."""

from __future__ import annotations

from pathlib import Path

import modelcut
import numpy as np
from cli_support import run_cli  # noqa: F401 - the Keras tests import it from here


def split(model: Path, at, output: Path) -> list[Path]:
    """Cuts with the Python API and returns the part paths."""
    result = modelcut.split(str(model), at, str(output))
    return [Path(path) for path in result.paths]


def load(path, legacy: bool = False, **kwargs):
    if legacy:
        import tf_keras

        return tf_keras.models.load_model(str(path), compile=False, **kwargs)
    import keras

    return keras.models.load_model(str(path), compile=False, **kwargs)


def as_list(result) -> list[np.ndarray]:
    if isinstance(result, dict):
        return [np.asarray(result[key]) for key in sorted(result)]
    if isinstance(result, (list, tuple)):
        return [np.asarray(value) for value in result]
    return [np.asarray(result)]


def chain(parts, inputs):
    """parts[-1](...parts[1](parts[0](inputs)))"""
    values = inputs
    for part in parts:
        values = part(values)
    return values


def random_input(model, batch: int = 3, seed: int = 0) -> np.ndarray:
    shape = [batch] + [size or 4 for size in tuple(model.inputs[0].shape)[1:]]
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def assert_bit_exact(model, parts, inputs) -> None:
    expected = as_list(model(inputs))
    actual = as_list(chain(parts, inputs))
    assert len(expected) == len(actual)
    for want, got in zip(expected, actual):
        assert want.shape == got.shape and want.dtype == got.dtype
        assert np.array_equal(want, got), f"max abs error {np.max(np.abs(want - got))}"


def _is_nested_model(layer) -> bool:
    return type(layer).__name__ in ("Functional", "Sequential") and bool(getattr(layer, "layers", None))


def weights_by_layer(model) -> dict[str, list[np.ndarray]]:
    """Weights of every leaf layer, by name, nested models included; a
    nested layer whose name is taken is keyed "<nested model>_<name>", as
    modelcut names it when it flattens the nested model."""
    found = {layer.name: layer.get_weights() for layer in model.layers if not _is_nested_model(layer)}
    for layer in model.layers:
        if _is_nested_model(layer):
            for name, weights in weights_by_layer(layer).items():
                found[name if name not in found else f"{layer.name}_{name}"] = weights
    return found


def assert_same_weights(model, parts) -> None:
    """Every layer of every part holds the weights of the source layer of its name."""
    source = weights_by_layer(model)
    for part in parts:
        for name, weights in weights_by_layer(part).items():
            if not weights:
                continue
            assert name in source, f"part layer {name!r} has no source layer of that name"
            assert len(weights) == len(source[name]), name
            for got, want in zip(weights, source[name]):
                assert np.array_equal(got, want), f"layer {name!r} got another layer's weights"
