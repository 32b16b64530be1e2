# Times every layer call of a Keras model in Keras itself: the functional
# graph is run call by call on real intermediate values (nested Functional
# and Sequential models flattened, as modelcut's dataflow flattens them), each
# call timed with a monotonic clock, and the median per call over the runs
# kept. A call is named as the dataflow names it: the layer's path joined
# with '/', plus "@k" for the k-th call of a layer called several times.
# Relies on Keras 3's Functional internals (_nodes_by_depth, Node.arguments),
# the same ones Functional.call runs through.
from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from .._ort import read_feeds
from ..verify_keras import _input_specs, _keras_module, load_keras_model
from .profile_file import median
from .sample_inputs import sample_inputs

Progress = Callable[[int, int], None]


class _Recorder:
    """Times per call, keyed by (layer path, order key); order keys sort the
    calls of one layer path the way the dataflow numbers them."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, tuple[int, ...]], list[float]] = {}
        self.order: list[tuple[str, tuple[int, ...]]] = []  # first run's call order

    def add(self, path: str, key: tuple[int, ...], seconds: float) -> None:
        entry = (path, key)
        if entry not in self.times:
            self.times[entry] = []
            self.order.append(entry)
        self.times[entry].append(seconds)


def _is_functional(layer) -> bool:
    from keras.src.models.functional import Functional

    return isinstance(layer, Functional)


def _is_sequential(layer) -> bool:
    import keras

    return isinstance(layer, keras.Sequential)


def _wait(values) -> None:
    """Returns once `values` are computed: TensorFlow's and torch's CPU eager
    ops are synchronous already, JAX dispatches asynchronously."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        jax.block_until_ready(values)


class _Walker:
    def __init__(self, recorder: _Recorder | None) -> None:
        self.recorder = recorder  # None: a warm-up run, not recorded

    def call(self, layer, path: list[str], key: tuple[int, ...], args, kwargs):
        from keras import tree

        if _is_functional(layer) or _is_sequential(layer):
            # A nested model's inputs are its positional tensors (keyword
            # arguments such as training= or mask=None are not flattened).
            flat = [value for value in tree.flatten(args) if value is not None]
            return self.run_model(layer, flat, path, key)
        start = time.perf_counter()
        outputs = layer(*args, **kwargs)
        _wait(outputs)
        elapsed = time.perf_counter() - start
        if self.recorder is not None:
            self.recorder.add("/".join(path), key, elapsed)
        return outputs

    def run_model(self, model, inputs: list, path: list[str], key: tuple[int, ...]):
        if _is_sequential(model):
            current = inputs[0] if len(inputs) == 1 else inputs
            for layer in model.layers:
                current = self.call(layer, [*path, layer.name], key, (current,), {})
            return current
        return self.run_functional(model, inputs, path, key)

    def run_functional(self, model, inputs: list, path: list[str], key: tuple[int, ...]):
        from keras import tree

        values = {id(tensor): value for tensor, value in zip(model.inputs, inputs)}
        in_graph = {id(node) for nodes in model._nodes_by_depth.values() for node in nodes}
        for depth in sorted(model._nodes_by_depth, reverse=True):
            for node in model._nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(tensor) not in values for tensor in node.input_tensors):
                    continue  # not computable from the inputs, as Functional.call skips it
                layer = node.operation
                # The k-th call of this layer in this model, as the saved config orders them.
                calls = [other for other in layer._inbound_nodes if id(other) in in_graph]
                args, kwargs = node.arguments.fill_in(values)
                outputs = self.call(layer, [*path, layer.name], (*key, calls.index(node)), args, kwargs)
                for tensor, value in zip(node.outputs, tree.flatten(outputs)):
                    values[id(tensor)] = value
        return [values[id(tensor)] for tensor in model.outputs]


def _node_names(recorder: _Recorder) -> dict[tuple[str, tuple[int, ...]], str]:
    by_path: dict[str, list[tuple[int, ...]]] = {}
    for path, key in recorder.order:
        by_path.setdefault(path, []).append(key)
    names = {}
    for path, keys in by_path.items():
        for index, key in enumerate(sorted(keys)):
            names[(path, key)] = f"{path}@{index}" if len(keys) > 1 else path
    return names


def profile_keras(
    path: str,
    runs: int,
    warmup: int,
    threads: int,
    batch: int,
    dims: dict[str, int],
    inputs: str | None,
    progress: Progress | None,
) -> tuple[dict[str, float], float, str, dict]:
    """(median microseconds per node, median microseconds per whole run, runtime, extra fields)."""
    module = _keras_module(path)
    if module.__name__ != "keras":
        raise ValueError(
            f"'{path}' was written by tf-keras 2; modelcut profiles Keras 3 models (load it "
            "with Keras 3 and save it as .keras, or profile its ONNX export)"
        )
    _limit_threads(threads)
    model = load_keras_model(path)
    specs = _input_specs(model)
    feeds = read_feeds(inputs, specs) if inputs else sample_inputs(specs, batch, dims)
    import keras

    tensors = [keras.ops.convert_to_tensor(np.asarray(feeds[spec.name])) for spec in specs]
    recorder = _Recorder()
    totals = []
    for run in range(warmup + runs):
        walker = _Walker(recorder if run >= warmup else None)
        start = time.perf_counter()
        if _is_sequential(model) or _is_functional(model):
            walker.run_model(model, tensors, [], ())
        else:
            raise ValueError(
                f"'{path}' is a subclassed Keras model; modelcut profiles Functional "
                "and Sequential models (their config holds the layer graph)"
            )
        if run >= warmup:
            totals.append(time.perf_counter() - start)
        if progress is not None:
            progress(run + 1, warmup + runs)
    names = _node_names(recorder)
    times = {names[entry]: median(recorder.times[entry]) * 1e6 for entry in recorder.order}
    runtime = f"keras {module.__version__}"
    extra = {
        "backend": module.backend.backend(),
        "input_shapes": {name: list(np.shape(value)) for name, value in feeds.items()},
    }
    return times, median(totals) * 1e6, runtime, extra


def _limit_threads(threads: int) -> None:
    """Keras's backend may use `threads` threads per op (TensorFlow takes it
    only before its first op; later the setting it has stays)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except (ImportError, RuntimeError):
        pass  # no TensorFlow, or already initialised
