# Replaying leaf calls of a flat graph (flat_graph.py) on new symbolic
# tensors: each call is made again on the same layer object, with the same
# non-tensor arguments, so a model built from the results shares the
# original's layers and weights and computes what the original computes.
# Keras records each replayed call as a new node of the layer, as for any
# functional call; the original model's own graph is not changed.
from __future__ import annotations

from collections.abc import Iterable

from .. import _core
from .flat_graph import LeafCall, ValueKey, ValueRef


def replay(
    calls: Iterable[LeafCall], values: dict[ValueKey, object], replacements: dict[int, object]
) -> None:
    """Makes `calls` (in a topological order) on the tensors in `values`,
    adding every output to `values` under its key. An operation with an
    entry in `replacements` (by id, see renamed.unique_operations) is called
    through it instead."""
    import keras

    def fill(argument):
        return values[argument.key] if isinstance(argument, ValueRef) else argument

    for call in calls:
        args = keras.tree.map_structure(fill, call.args)
        kwargs = keras.tree.map_structure(fill, call.kwargs)
        operation = replacements.get(id(call.operation), call.operation)
        outputs = [x for x in keras.tree.flatten(operation(*args, **kwargs)) if x is not None]
        if len(outputs) != call.output_count:
            name = "/".join(call.path)
            raise _core.Error(
                f"layer '{name}' gives {len(outputs)} outputs when called again, "
                f"{call.output_count} in the model"
            )
        for index, tensor in enumerate(outputs):
            values[(call.path, call.position, index)] = tensor


def input_like(tensor, name: str):
    """A new keras.Input with the shape, dtype and sparseness of `tensor`."""
    import keras

    return keras.Input(
        batch_shape=tuple(tensor.shape), dtype=tensor.dtype, sparse=bool(tensor.sparse), name=name
    )


def structured(model, attribute: str, flat: list):
    """`flat` in the structure that `model` takes ("_inputs_struct") or gives
    ("_outputs_struct"), such as a dict of named inputs; else a single tensor
    alone, several as a list."""
    import keras

    structure = getattr(model, attribute, None)
    if structure is not None:
        try:
            return keras.tree.pack_sequence_as(structure, flat)
        except (TypeError, ValueError):
            pass
    return flat[0] if len(flat) == 1 else list(flat)
