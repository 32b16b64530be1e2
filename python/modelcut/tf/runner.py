# Runs a frozen GraphDef (.pb) or a SavedModel's serving signature with
# TensorFlow on the CPU, by names: a graph's values by the names the core
# gives them (node, or node:k), a SavedModel's by its signature keys.
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from .. import _core
from .._ort import InputSpec
from .saved_model import DEFAULT_SIGNATURE, _tensor_name, import_tensorflow, is_saved_model, load_saved_model


def _dims(shape) -> tuple | None:
    """TensorFlow shape -> InputSpec dims: unknown sizes become symbols
    (the first axis "batch"), so that random feeds can be made."""
    if shape.rank is None:
        return None
    return tuple(int(size) if size is not None else None for size in shape.as_list())


def _named_dims(name: str, dims: tuple | None) -> tuple | None:
    if dims is None:
        return None
    return tuple(
        size if size is not None else ("batch" if axis == 0 else f"{name}:dim{axis}")
        for axis, size in enumerate(dims)
    )


class TfGraph:
    """A model TensorFlow runs: `inputs` (InputSpec per input), `outputs`
    (names), and run(feeds, fetch) -> {name: array}."""

    def __init__(self, path: str | os.PathLike, signature: str = DEFAULT_SIGNATURE) -> None:
        self.path = os.fspath(path)
        self.tf = import_tensorflow()
        if is_saved_model(self.path):
            self._load_saved_model(signature)
        else:
            self._load_graph_def()

    # A SavedModel: its signature function, called with its keys.
    def _load_saved_model(self, signature: str) -> None:
        loaded = load_saved_model(self.tf, self.path)
        if signature not in loaded.signatures:
            have = ", ".join(sorted(loaded.signatures)) or "none"
            raise _core.Error(f"{self.path}: no signature '{signature}' (it has: {have})")
        self._loaded = loaded  # the signature function needs its object alive
        self._function = loaded.signatures[signature]
        specs = self._function.structured_input_signature[1]
        self.inputs = [
            InputSpec(
                key, np.dtype(specs[key].dtype.as_numpy_dtype), _named_dims(key, _dims(specs[key].shape))
            )
            for key in sorted(specs)
        ]
        self.outputs = sorted(self._function.structured_outputs)
        self._session = None

    # A GraphDef: placeholders in, the core's graph outputs out, by a session.
    def _load_graph_def(self) -> None:
        tf = self.tf
        report = _core.inspect(self.path, [])  # checks the file and names its outputs
        with open(self.path, "rb") as file:
            definition = tf.compat.v1.GraphDef.FromString(file.read())
        self._graph = tf.Graph()
        with self._graph.as_default():
            tf.graph_util.import_graph_def(definition, name="")
        self.inputs = []
        for value in report["inputs"]:
            tensor = self._graph.get_tensor_by_name(_tensor_name(value["name"]))
            dims = _dims(tensor.shape)
            self.inputs.append(
                InputSpec(
                    value["name"], np.dtype(tensor.dtype.as_numpy_dtype), _named_dims(value["name"], dims)
                )
            )
        self.outputs = [value["name"] for value in report["outputs"]]
        self._session = tf.compat.v1.Session(graph=self._graph)

    def has_value(self, name: str) -> bool:
        """Whether the graph has a tensor of this name (a GraphDef only)."""
        if self._session is None:
            return False
        try:
            self._graph.get_tensor_by_name(_tensor_name(name))
        except (KeyError, ValueError):
            return False
        return True

    def run(
        self, feeds: Mapping[str, np.ndarray], fetch: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        fetch = list(self.outputs if fetch is None else fetch)
        if self._session is None:
            result = self._function(**{name: self.tf.constant(value) for name, value in feeds.items()})
            return {name: result[name].numpy() for name in fetch}
        tensors = {name: self._graph.get_tensor_by_name(_tensor_name(name)) for name in fetch}
        feed_dict = {_tensor_name(name): value for name, value in feeds.items()}
        return self._session.run(tensors, feed_dict=feed_dict)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def load_graph(path: str | os.PathLike, signature: str = DEFAULT_SIGNATURE) -> TfGraph:
    return TfGraph(path, signature)
