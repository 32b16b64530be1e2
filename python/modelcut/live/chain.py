# run_chain for Keras parts (live keras.Model parts, or .keras/.h5 part
# files loaded with Keras): each part is called on the values its inputs
# name, and at each boundary the intervention sees and may replace those
# values, as for ONNX parts. A boundary's values are named by the inputs of
# the part after it (port_names.py): the core's value names for parts that
# split made from a live model, InputLayer names for part files.
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from ..intervene import ChainError, Intervention, Values
from .flat_graph import is_live_keras
from .port_names import port_names


def is_keras_part(part) -> bool:
    from ..api import is_keras_file

    return is_live_keras(part) or (isinstance(part, (str, os.PathLike)) and is_keras_file(part))


def _call(model, arrays: list[np.ndarray]) -> list[np.ndarray]:
    import keras

    from ..verify_keras import _structured

    result = model(_structured(model, arrays), training=False)
    return [np.asarray(keras.ops.convert_to_numpy(x)) for x in keras.tree.flatten(result)]


def run_keras_chain(
    parts: Sequence,
    feeds: Mapping[str, np.ndarray],
    intervention: Intervention | None = None,
    custom_objects: Mapping[str, object] | None = None,
    safe_mode: bool = True,
) -> Values:
    """Runs Keras parts in order and returns the last part's outputs by name."""
    from ..verify_keras import load_keras_model

    models = [
        part if is_live_keras(part) else load_keras_model(part, custom_objects, safe_mode) for part in parts
    ]
    values: Mapping[str, np.ndarray] = feeds
    for index, model in enumerate(models):
        needed, given = port_names(model)
        if index > 0 and intervention is not None:
            changed = intervention(index - 1, values)
            values = values if changed is None else changed
        missing = [name for name in needed if name not in values]
        if missing:
            source = "the feeds" if index == 0 else f"the outputs of part {index - 1}"
            raise ChainError(
                f"part {index} needs input(s) {missing}, which are not among {source}: {sorted(values)}"
            )
        try:
            outputs = _call(model, [np.asarray(values[name]) for name in needed])
        except Exception as error:
            raise ChainError(f"part {index} cannot run on its inputs: {error}") from error
        if index + 1 < len(models):
            following = port_names(models[index + 1])[0]
            if len(following) == len(outputs):
                given = following  # the strict chain: part k+1 takes part k's outputs in order
        values = dict(zip(given, outputs))
    return dict(values)
