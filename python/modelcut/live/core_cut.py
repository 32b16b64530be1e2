# Asks the C++ core where to cut a live Keras model: the model's config, as
# Keras writes it into a .keras archive's config.json, is resolved and
# partitioned exactly as the saved file would be, so names ("fc2",
# "backbone/block_6_expand", "tensors:A,B") mean the same for both.
from __future__ import annotations

import json
from collections.abc import Sequence

from .. import _core


def _config_text(model) -> str:
    import keras

    try:
        config = keras.saving.serialize_keras_object(model)
    except Exception as error:
        raise _core.Error(
            f"model '{model.name}': Keras cannot describe its layer graph "
            f"(serialize_keras_object fails: {type(error).__name__}: {error})"
        ) from error
    # Only the graph matters to the core: a layer setting that JSON cannot
    # hold (an array, a function) is written as a placeholder.
    return json.dumps(config, default=lambda value: f"<{type(value).__name__}>")


def core_cut(model, cuts: Sequence[str]) -> dict:
    """The core's cuts, calls, values and parts for `model` (see keras_live_cut)."""
    _config_text(model)
    import os  # TEMPORARY until KerasModel::from_config lands
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        return _core.keras_live_cut(path, f"model '{model.name}'", list(cuts))
