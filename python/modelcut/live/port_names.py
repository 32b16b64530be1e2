# The names of the values a Keras part takes and gives, as run_chain names
# them to interventions. A live part made by split remembers the core's value
# names ("backbone/block_6_expand"), which Keras cannot use as layer names; a
# part loaded from a file names its inputs after its InputLayers and its
# outputs after the layers that make them.
from __future__ import annotations

import weakref

_names: weakref.WeakKeyDictionary[object, tuple[list[str], list[str]]] = weakref.WeakKeyDictionary()


def set_port_names(model, inputs: list[str], outputs: list[str]) -> None:
    _names[model] = (list(inputs), list(outputs))


def recorded_port_names(model) -> tuple[list[str], list[str]] | None:
    """The core's names for a part that split made, else None."""
    return _names.get(model)


def port_names(model) -> tuple[list[str], list[str]]:
    """(input names, output names) of a Keras part, in the order of
    model.inputs and model.outputs."""
    if model in _names:
        return _names[model]
    inputs = [tensor._keras_history[0].name for tensor in model.inputs]
    try:
        outputs = list(model.output_names or [])
    except (AttributeError, ValueError):
        outputs = []
    if len(outputs) != len(model.outputs):
        outputs = [tensor._keras_history[0].name for tensor in model.outputs]
    return inputs, outputs
