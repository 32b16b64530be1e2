# Asks the C++ core where to cut a live Keras model: the model's config, as
# Keras writes it into a .keras archive's config.json, is resolved and
# partitioned exactly as the saved file would be, so names ("fc2",
# "backbone/block_6_expand", "tensors:A,B") mean the same for both.
from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

from .. import _core


def _stub_config(layer):
    """A get_config for a layer whose own fails: the graph needs only its name."""
    return lambda: {"name": layer.name, "trainable": layer.trainable}


def _serialized(model) -> dict:
    """The model's config. NB: a custom layer that Keras cannot describe (its
    constructor took values that are not serialisable, and it defines no
    get_config) still runs; only the core needs its config, and only its name
    and calls, so such a layer is described by its name for the time of the
    call (an instance attribute, removed after)."""
    import keras

    with contextlib.suppress(Exception):  # a layer's get_config may raise anything
        return keras.saving.serialize_keras_object(model)
    stubbed = []
    try:
        for layer in model._flatten_layers(include_self=False, recursive=True):
            try:
                keras.saving.serialize_keras_object(layer)
            except Exception:
                object.__setattr__(layer, "get_config", _stub_config(layer))
                stubbed.append(layer)
        try:
            return keras.saving.serialize_keras_object(model)
        except Exception as error:
            raise _core.Error(
                f"model '{model.name}': Keras cannot describe its layer graph "
                f"(serialize_keras_object fails: {type(error).__name__}: {error})"
            ) from error
    finally:
        for layer in stubbed:
            object.__delattr__(layer, "get_config")


def _config_text(model) -> str:
    # Only the graph matters to the core: a layer setting that JSON cannot
    # hold (an array, a function) is written as a placeholder.
    return json.dumps(_serialized(model), default=lambda value: f"<{type(value).__name__}>")


def core_cut(model, cuts: Sequence[str]) -> dict:
    """The core's cuts, calls, values and parts for `model` (see keras_live_cut)."""
    return _core.keras_live_cut(_config_text(model), f"{model.name} (live Keras model)", list(cuts))
