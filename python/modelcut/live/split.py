# modelcut.split for a live Keras model: the core resolves and partitions
# the model's config (core_cut.py), and each part is a new keras.Model made
# by replaying the part's leaf calls (replay.py) on new keras.Inputs: part 0
# on inputs like the model's, part k+1 on inputs shaped like part k's
# outputs. No file is written and no layer is deserialised or copied.
from __future__ import annotations

import re
from collections.abc import Sequence

from .. import _core
from .core_cut import core_cut
from .flat_graph import flatten_model
from .port_names import set_port_names
from .renamed import unique_operations
from .replay import input_like, replay, structured


def _input_names(names: list[str], taken: set[str]) -> list[str]:
    """Keras names for inputs carrying the core's value names: Keras refuses
    '/' in names, so other characters become '_', and a name taken by a layer
    of the part or an earlier input gets a numbered suffix."""
    out = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_.\-]", "_", name) or "input"
        candidate, suffix = base, 1
        while candidate in taken:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(candidate)
        out.append(candidate)
    return out


def split_live(model, at: str | Sequence[str]):
    """Cuts a live Functional or Sequential Keras model after each name in
    `at`; returns a SplitResult whose .models are the live parts."""
    import keras

    from ..api import SplitResult

    cuts = [at] if isinstance(at, str) else list(at)
    graph = flatten_model(model)
    plan = core_cut(model, cuts)

    calls = []
    key_of = {name: ("input", name) for name in plan["graph_inputs"]}
    for node in plan["nodes"]:
        call = graph.calls.get((tuple(node["path"]), node["call"]))
        if call is None or call.output_count < len(node["outputs"]):
            raise _core.InternalError(
                f"the call {node['name']} of the model's config is not in the live model"
            )
        calls.append(call)
        for index, name in enumerate(node["outputs"]):
            key_of[name] = (call.path, call.position, index)

    original_inputs = {name: tensor for name, tensor in graph.inputs}
    graph_inputs = [name for name, _ in graph.inputs]
    graph_outputs = list(graph.outputs)
    models, parts = [], []
    previous: dict[str, object] = {}  # value name -> the previous part's output tensor
    for index, part in enumerate(plan["parts"]):
        in_names = [value["name"] for value in part["inputs"]]
        out_names = [value["name"] for value in part["outputs"]]
        part_calls = [calls[node] for node in part["nodes"]]
        if index == 0:
            inputs = [input_like(original_inputs[name], name) for name in in_names]
        else:
            taken = {call.operation.name for call in part_calls}
            keras_names = _input_names(in_names, taken)
            inputs = [
                input_like(previous[name], keras_name) for name, keras_name in zip(in_names, keras_names)
            ]
        values = {key_of[name]: tensor for name, tensor in zip(in_names, inputs)}
        replay(part_calls, values, unique_operations(part_calls, {tensor.name for tensor in inputs}))
        outputs = [values[key_of[name]] for name in out_names]

        if index == 0 and in_names == graph_inputs:
            structured_inputs = structured(model, "_inputs_struct", inputs)
        else:
            structured_inputs = inputs[0] if len(inputs) == 1 else inputs
        last = index == len(plan["parts"]) - 1
        if last and [key_of[name] for name in out_names] == graph_outputs:
            structured_outputs = structured(model, "_outputs_struct", outputs)
        else:
            structured_outputs = outputs[0] if len(outputs) == 1 else outputs
        part_model = keras.Model(structured_inputs, structured_outputs, name=f"{model.name}_part{index + 1}")
        set_port_names(part_model, in_names, out_names)
        models.append(part_model)
        parts.append(
            {
                "path": None,
                "nodes": len(part_calls),
                "initializers": len(part_model.weights),
                "inputs": part["inputs"],
                "outputs": part["outputs"],
            }
        )
        previous = dict(zip(out_names, outputs))
    return SplitResult(parts=parts, cuts=plan["cuts"], models=models)


def resolve_live(model, cuts: Sequence[str]) -> list[dict]:
    """What each name in `cuts` resolves to in a live model, as split_live cuts there."""
    flatten_model(model)  # the same refusals as split_live
    return core_cut(model, cuts)["cuts"]
