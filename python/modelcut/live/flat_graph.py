# A live Keras model as the flat graph of leaf calls that the C++ core
# indexes for its config (src/formats/keras/keras_model.h): nested Functional
# and Sequential models are inlined, and every call of a leaf layer (or
# keras.ops operation) is keyed as the core names it: the leaf's path (nested
# model names, then its own name) and its position among that leaf's calls,
# the "@k" of value names. Nothing is called or built here; the walk only
# reads the Keras graph (Node objects, their arguments and output tensors).
#
# NB: the core numbers a leaf's calls in the order it expands the config:
# each expansion of a nested model (once per call of it, in the order of its
# inbound nodes in its parent) makes all the leaf's calls in that model, in
# inbound-node order. So position = expansion * calls_per_expansion + node,
# where "node" is the node's index in the config, which Keras writes with only
# the nodes that belong to the model (a layer also called outside the model
# has more nodes live than in the config).
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from .. import _core

Path = tuple[str, ...]
# ("input", name) for a graph input; (path, position, output index) for the
# output of a leaf call.
ValueKey = tuple


@dataclass(frozen=True)
class ValueRef:
    """Stands for a value in a leaf call's arguments until it is replayed."""

    key: ValueKey


@dataclass
class LeafCall:
    path: Path
    position: int  # among the calls of this leaf layer
    operation: Any  # the live layer or operation, called again when replayed
    args: Any  # the call's positional arguments with ValueRefs for tensors
    kwargs: Any  # its keyword arguments, likewise
    output_count: int


@dataclass
class FlatGraph:
    inputs: list[tuple[str, Any]] = field(default_factory=list)  # (InputLayer name, KerasTensor)
    calls: dict[tuple[Path, int], LeafCall] = field(default_factory=dict)  # in a topological order
    outputs: list[ValueKey] = field(default_factory=list)


def is_live_keras(obj) -> bool:
    """Whether `obj` is a Keras 3 model object (without importing Keras)."""
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.Model)


def _graph_classes():
    from keras.src.models.functional import Functional
    from keras.src.models.sequential import Sequential

    return Functional, Sequential


def is_graph_model(obj) -> bool:
    """A model whose config is a layer graph: Keras writes it as
    "Functional" or "Sequential" (subclasses keep their own class name and are
    leaves for the core, as for Keras's own loader)."""
    return type(obj) in _graph_classes()


def check_graph_model(model) -> None:
    """Raises modelcut.Error unless `model` is a Functional or Sequential model."""
    functional, sequential = _graph_classes()
    if is_graph_model(model):
        if type(model) is sequential and not model.built:
            raise _core.Error(
                f"Sequential model '{model.name}' has not been built, so it has no graph yet: give it an "
                "input (keras.Input(shape) as its first layer) or build it (model.build((None, ...)))"
            )
        return
    name = type(model).__name__
    kind = "subclasses Functional" if isinstance(model, functional) else "is a subclassed keras.Model"
    raise _core.Error(
        f"'{model.name}' ({name}) {kind}: its call() is Python code, not a layer graph that modelcut can "
        "cut. "
        "Build the model with the functional API (inputs = keras.Input(...); outputs = ... layer calls ...; "
        "keras.Model(inputs, outputs)) or as a keras.Sequential, reusing its layers; or export it "
        "(model.export, then tf2onnx) and cut the ONNX file"
    )


def _flat_tensors(structure) -> list:
    import keras

    return [x for x in keras.tree.flatten(structure) if isinstance(x, keras.KerasTensor)]


class _Walker:
    def __init__(self, graph: FlatGraph):
        self.graph = graph
        self._config_nodes: dict[tuple[int, int], list] = {}

    def config_nodes(self, model, operation) -> list:
        """The nodes of `operation` that Keras writes in `model`'s config, in that order."""
        from keras.src.ops.function import make_node_key

        key = (id(model), id(operation))
        if key not in self._config_nodes:
            self._config_nodes[key] = [
                node
                for index, node in enumerate(operation._inbound_nodes)
                if make_node_key(operation, index) in model._nodes and node.input_tensors
            ]
        return self._config_nodes[key]

    def leaf(self, path: Path, position: int, operation, args, kwargs, output_count: int) -> list[ValueKey]:
        self.graph.calls[(path, position)] = LeafCall(path, position, operation, args, kwargs, output_count)
        return [(path, position, index) for index in range(output_count)]

    def walk(self, model, path: Path, expansion: int, bound: list[ValueKey]) -> list[ValueKey]:
        """Keys of `model`'s outputs when its inputs are the values `bound`."""
        _, sequential = _graph_classes()
        if type(model) is sequential:
            return self.walk_sequential(model, path, expansion, bound)
        return self.walk_functional(model, path, expansion, bound)

    def walk_sequential(self, model, path: Path, expansion: int, bound: list[ValueKey]) -> list[ValueKey]:
        if len(bound) != 1:
            raise _core.Error(
                f"Sequential model '{'/'.join(path)}' is called with {len(bound)} tensors, not one"
            )
        current = bound[0]
        for layer in model.layers:
            layer_path = (*path, layer.name)
            if is_graph_model(layer):
                outputs = self.walk(layer, layer_path, expansion, [current])
                if len(outputs) != 1:
                    raise _core.Error(
                        f"nested model '{'/'.join(layer_path)}' in a Sequential model has "
                        f"{len(outputs)} outputs, not one"
                    )
                current = outputs[0]
            else:
                # A step of a Sequential model is called with its one tensor
                # (Sequential.call does the same); the core gives it one
                # call per expansion of the model.
                current = self.leaf(layer_path, expansion, layer, (ValueRef(current),), {}, 1)[0]
        return [current]

    def walk_functional(self, model, path: Path, expansion: int, bound: list[ValueKey]) -> list[ValueKey]:
        import keras

        name = "/".join(path) or model.name
        if len(bound) != len(model.inputs):
            raise _core.Error(
                f"nested model '{name}' takes {len(model.inputs)} inputs but is called with "
                f"{len(bound)} tensors"
            )
        env = {id(tensor): key for tensor, key in zip(model.inputs, bound)}

        def ref(tensor):
            if not isinstance(tensor, keras.KerasTensor):
                return tensor
            if id(tensor) not in env:
                raise _core.Error(f"model '{name}' reads a tensor no call of it makes ({tensor.name})")
            return ValueRef(env[id(tensor)])

        for depth in sorted(model._nodes_by_depth, reverse=True):
            for node in model._nodes_by_depth[depth]:
                operation = node.operation
                if operation is None or node.is_input:
                    continue
                nodes = self.config_nodes(model, operation)
                index = next((i for i, other in enumerate(nodes) if other is node), None)
                if index is None:
                    continue  # a call without tensor arguments: not in the config, nor in the graph
                position = expansion * len(nodes) + index
                layer_path = (*path, operation.name)
                if is_graph_model(operation):
                    if _flat_tensors(node.arguments.kwargs):
                        raise _core.Error(
                            f"nested model '{'/'.join(layer_path)}' is called with a tensor as a "
                            "keyword argument; modelcut cannot flatten such a call"
                        )
                    arguments = [ref(x).key for x in _flat_tensors(node.arguments.args)]
                    keys = self.walk(operation, layer_path, position, arguments)
                    if len(keys) != len(node.outputs):
                        raise _core.Error(
                            f"nested model '{'/'.join(layer_path)}' gives {len(keys)} outputs where "
                            f"its call has {len(node.outputs)}"
                        )
                else:
                    args = keras.tree.map_structure(ref, node.arguments.args)
                    kwargs = keras.tree.map_structure(ref, node.arguments.kwargs)
                    keys = self.leaf(layer_path, position, operation, args, kwargs, len(node.outputs))
                for tensor, key in zip(node.outputs, keys):
                    env[id(tensor)] = key
        outputs = []
        for tensor in model.outputs:
            if id(tensor) not in env:
                raise _core.Error(f"an output of model '{name}' is not computed from its inputs")
            outputs.append(env[id(tensor)])
        return outputs


def model_inputs(model) -> list:
    """The model's input KerasTensors, flat, in the order Keras flattens them."""
    try:
        return list(model.inputs)
    except (AttributeError, ValueError) as error:
        raise _core.Error(f"model '{model.name}' has no inputs yet: {error}") from error


def flatten_model(model) -> FlatGraph:
    """The flat graph of a Functional or Sequential model (see the header)."""
    check_graph_model(model)
    graph = FlatGraph()
    bound = []
    for tensor in model_inputs(model):
        name = tensor._keras_history.operation.name
        key = ("input", name)
        graph.inputs.append((name, tensor))
        bound.append(key)
    graph.outputs = _Walker(graph).walk(model, (), 0, bound)
    return graph
