# Composing a chain of Keras parts back into one model: every part is
# flattened (flat_graph.py) and its leaf calls are replayed (replay.py), part
# k+1 on what part k gives, from new inputs like part 0's. The result is one
# flat Functional model with the parts' own layers, so merging the parts of a
# cut computes exactly what the original did. Part files are loaded with
# Keras and the merged model is saved with Keras.
from __future__ import annotations

import os
import re
from collections.abc import Sequence

from .. import _core
from ..intervene import ChainError
from ..outputs import check_output, output_file
from .flat_graph import flatten_model, is_live_keras
from .port_names import recorded_port_names
from .renamed import unique_operations
from .replay import input_like, replay, structured


def _check_chains(index: int, name: str, expected, given) -> None:
    """Part `index`'s input `name` can take the tensor the part before gives."""
    shapes_fit = len(expected.shape) == len(given.shape) and all(
        a is None or b is None or a == b for a, b in zip(expected.shape, given.shape)
    )
    if not shapes_fit or expected.dtype != given.dtype:
        raise ChainError(
            f"part {index} takes input '{name}' as {expected.dtype}{list(expected.shape)} but part "
            f"{index - 1} gives {given.dtype}{list(given.shape)}: the parts do not chain"
        )


def _check_names(index: int, before, part) -> None:
    """Parts that split made know the values they pass: those must match."""
    given, taken = recorded_port_names(before), recorded_port_names(part)
    if given is not None and taken is not None and given[1] != taken[0]:
        raise ChainError(
            f"part {index} takes {taken[0]} but part {index - 1} gives {given[1]}: the parts do not chain"
        )


def merge_live(parts: Sequence) -> object:
    """One live keras.Model computing parts[-1](...parts[0](x)), flat, with the parts' layers."""
    import keras

    if len(parts) < 2:
        raise _core.Error("merge needs at least two parts")
    graphs = [flatten_model(part) for part in parts]
    inputs = [input_like(tensor, name) for name, tensor in graphs[0].inputs]
    every_call = [call for graph in graphs for call in graph.calls.values()]
    replacements = unique_operations(every_call, {tensor.name for tensor in inputs})
    current = list(inputs)
    for index, graph in enumerate(graphs):
        if len(current) != len(graph.inputs):
            raise ChainError(
                f"part {index} takes {len(graph.inputs)} input(s) but part {index - 1} gives {len(current)}"
            )
        if index > 0:
            _check_names(index, parts[index - 1], parts[index])
        for (name, expected), given in zip(graph.inputs, current):
            _check_chains(index, name, expected, given)
        values = {("input", name): tensor for (name, _), tensor in zip(graph.inputs, current)}
        replay(graph.calls.values(), values, replacements)
        current = [values[key] for key in graph.outputs]
    name = re.sub(r"_part\d+$", "", parts[0].name) or "merged"
    return keras.Model(
        structured(parts[0], "_inputs_struct", inputs),
        structured(parts[-1], "_outputs_struct", current),
        name=name,
    )


def merge_keras_files(paths: Sequence, output, *, overwrite: bool = False, custom_objects=None) -> dict:
    """Loads Keras part files, merges them and saves the model to `output` (a .keras file)."""
    from ..verify_keras import load_keras_model

    output = os.fspath(output)
    if len(paths) < 2:
        raise _core.Error("merge needs at least two parts")
    if not output.endswith(".keras"):
        raise _core.Error(f"'{output}': Keras parts merge into a .keras file; name the output *.keras")
    paths = [os.fspath(path) for path in paths]
    for path in paths:
        _core.check_input_file(path)
    if os.path.isdir(output):
        raise _core.Error(f"'{output}' is a directory")
    check_output(output, paths, overwrite)
    models = []
    for path in paths:
        model = load_keras_model(path, custom_objects)
        if not is_live_keras(model):
            raise _core.Error(f"'{path}': written by tf-keras 2; only Keras 3 parts can be merged")
        models.append(model)
    merged = merge_live(models)
    with output_file(output) as temporary:  # named *.keras, as Keras requires
        merged.save(temporary)
    calls = sum(len(flatten_model(model).calls) for model in models)
    return {"path": output, "nodes": calls, "initializers": len(merged.weights)}
