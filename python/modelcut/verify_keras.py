# Check that a chain of Keras parts computes what the original Keras model
# computes: load each with Keras (tf_keras for a legacy .h5 written by
# tf-keras 2), run model.predict on the same inputs, feed each part's outputs
# to the next part, and compare every output of the original with the last
# part's. Every Keras file is loaded through load_keras_model, which first
# checks the config as the core reads it for layers that carry code (see
# check_no_code_layers): tf-keras loads a legacy .h5 file with no safe mode.
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import _core
from ._ort import InputSpec
from .api import is_keras_file  # noqa: F401 - re-exported for callers
from .intervene import ChainError
from .verification import VerifyReport, compare_output, resolve_feeds

PathLike = str | os.PathLike


def _keras_module(path: str):
    """keras, or tf_keras for an .h5 file written by tf-keras 2."""
    # TensorFlow's C++ start-up logging would bury the report; a caller who
    # set the level keeps it.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if _core.file_type(path) == "hdf5":
        import h5py

        with h5py.File(path, "r") as h5:
            version = h5.attrs.get("keras_version", "")
        if isinstance(version, bytes):
            version = version.decode("utf-8", "replace")
        if str(version).startswith("2."):
            try:
                import tf_keras
            except ImportError as error:
                raise _core.Error(
                    f"{path}: written by tf-keras {version}; loading it needs the tf_keras package"
                ) from error
            return tf_keras
    import keras

    return keras


UNSAFE_HINT = "load it only if you trust the file: --unsafe on the command line, safe_mode=False in Python"

# Layers whose config names a TensorFlow function for tf-keras to look up and
# call (TFOpLambda, SlicingOpLambda; ClassMethod a class's method): any
# public TensorFlow symbol, tf.io.write_file and tf.load_op_library included.
# Those of the namespaces below compute on tensors only; the rest count as code.
_TF_SYMBOL_LAYERS = ("TFOpLambda", "SlicingOpLambda")
_TENSOR_NAMESPACES = (
    "math",
    "nn",
    "linalg",
    "__operators__",
    "image",
    "signal",
    "bitwise",
    "random",
    "sparse",
    "ragged",
    "strings",
)
_TENSOR_FUNCTIONS = frozenset(
    """
    abs add add_n argmax argmin argsort boolean_mask broadcast_to cast clip_by_norm clip_by_value concat cos
    cumsum divide einsum equal exp expand_dims eye fill floor gather gather_nd greater greater_equal identity
    less less_equal linspace logical_and logical_not logical_or matmul maximum meshgrid minimum multiply
    negative not_equal one_hot ones ones_like pad pow range rank reduce_all reduce_any reduce_logsumexp
    reduce_max reduce_mean reduce_min reduce_prod reduce_std reduce_sum repeat reshape reverse roll round
    scatter_nd shape sigmoid sign sin size slice sort split sqrt square squeeze stack stop_gradient
    strided_slice subtract tanh tensordot tile transpose truediv unstack where zeros zeros_like
""".split()
)
_TENSOR_CLASSES = frozenset({"RaggedTensor", "SparseTensor"})


def _tensor_symbol(symbol) -> bool:
    """A TensorFlow API name ("math.add", "compat.v1.nn.relu") of a function on tensors."""
    if not isinstance(symbol, str):
        return False
    for prefix in ("compat.v1.", "compat.v2."):
        symbol = symbol.removeprefix(prefix)
    namespace, dot, _ = symbol.partition(".")
    return namespace in _TENSOR_NAMESPACES if dot else symbol in _TENSOR_FUNCTIONS


def _code_in(entry: dict) -> str | None:
    """Why the config object `entry` makes Keras run code, or None."""
    kind = entry.get("class_name")
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    if kind == "Lambda":
        return "a Lambda layer"
    if kind == "__lambda__" or "lambda" in (entry.get("function_type"), entry.get("output_shape_type")):
        return "a layer with Python code marshalled into its config"
    if kind in _TF_SYMBOL_LAYERS and not _tensor_symbol(config.get("function")):
        return f"a {kind} layer calling tf.{config.get('function')}"
    if kind == "ClassMethod" and config.get("cls_symbol") not in _TENSOR_CLASSES:
        return f"a ClassMethod layer calling tf.{config.get('cls_symbol')}.{config.get('method_name')}"
    return None


def code_layers(config) -> list[tuple[str, str]]:
    """(layer name, why) for each layer of a Keras model config that runs
    code when Keras loads or calls it, nested models and wrapped layers
    (TimeDistributed, Bidirectional) included, in config order."""
    found = []
    stack = [(config, "?")]
    while stack:  # the core's parse already bounds the depth and size
        item, layer = stack.pop()
        if isinstance(item, list):
            stack.extend((value, layer) for value in reversed(item))
            continue
        if not isinstance(item, dict):
            continue
        inner = item.get("config")
        if "class_name" in item and isinstance(inner, dict) and isinstance(inner.get("name"), str):
            layer = inner["name"]
        why = _code_in(item)
        if why:
            found.append((layer, why))
            continue
        stack.extend((value, layer) for value in reversed(list(item.values())))
    return found


def check_no_code_layers(path: PathLike) -> None:
    """Refuses, before Keras opens it, a Keras model file with a layer that
    would run code on loading or calling: a Lambda layer (its function is
    Python bytecode in the config), or a tf-keras op layer naming a
    TensorFlow function that is not tensor math. The config is read by the
    core (within its limits), not by Keras or h5py. Keras 3's safe mode
    refuses Lambda layers of .keras files; tf-keras has none for .h5 files,
    so every Keras file is checked here alike."""
    path = os.fspath(path)
    found = code_layers(json.loads(_core.keras_config(path)))
    if found:
        layer, why = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise _core.Error(f"{path}: layer '{layer}' is {why}, code that Keras would run{more}; {UNSAFE_HINT}")


def load_keras_model(path: PathLike, custom_objects: Mapping[str, Any] | None = None, safe_mode: bool = True):
    """Loads a .keras or .h5 model, uncompiled, with the Keras that wrote it.

    Unless safe_mode is False, a model with a layer that runs code is
    refused first (check_no_code_layers), whichever Keras wrote it."""
    path = os.fspath(path)
    _core.check_input_file(path)  # before anything opens it: a FIFO would block the open
    if safe_mode:
        check_no_code_layers(path)
    module = _keras_module(path)
    kwargs = {"custom_objects": dict(custom_objects or {}), "compile": False}
    if module.__name__ == "keras":
        kwargs["safe_mode"] = safe_mode
    return module.models.load_model(path, **kwargs)


def _input_specs(model) -> list[InputSpec]:
    specs = []
    for tensor in model.inputs:
        name = tensor.name.split(":")[0]
        dtype = getattr(tensor.dtype, "name", tensor.dtype)
        dims = []
        for axis, size in enumerate(tuple(tensor.shape)):
            if size is not None:
                dims.append(int(size))
            else:
                dims.append("batch" if axis == 0 else f"{name}:dim{axis}")
        specs.append(InputSpec(name, np.dtype(str(dtype)), tuple(dims)))
    return specs


def _structured(model, arrays: list[np.ndarray]):
    """Arrays (in model.inputs order) in the structure the model takes."""
    try:
        structure = model.input
    except (AttributeError, ValueError):  # a Sequential model loaded but never called
        structure = None
    if isinstance(structure, dict):
        names = [tensor.name.split(":")[0] for tensor in model.inputs]
        by_name = dict(zip(names, arrays))
        return {key: by_name[value.name.split(":")[0]] for key, value in structure.items()}
    return arrays[0] if len(arrays) == 1 else list(arrays)


def _flat_outputs(model, result) -> list[tuple[str, np.ndarray]]:
    """(name, array) for each output, in a fixed order."""
    if isinstance(result, dict):
        return [(str(key), np.asarray(result[key])) for key in sorted(result)]
    values = list(result) if isinstance(result, (list, tuple)) else [result]
    try:
        names = list(model.output_names or [])
    except (AttributeError, ValueError):
        names = []
    if len(names) != len(values) and len(values) == 1 and model.layers:
        names = [model.layers[-1].name]  # a Sequential model: its last layer
    if len(names) != len(values):
        names = [f"output_{index}" for index in range(len(values))]
    return [(name, np.asarray(value)) for name, value in zip(names, values)]


def _predict(model, inputs):
    return model.predict(inputs, verbose=0)


def verify_keras(
    original: PathLike,
    parts: Sequence[PathLike],
    feeds: Mapping[str, np.ndarray] | PathLike | None = None,
    seed: int = 0,
    batch: int = 1,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    dim_values: Mapping[str, int] | None = None,
    custom_objects: Mapping[str, Any] | None = None,
    safe_mode: bool = True,
) -> VerifyReport:
    """Run `original` and the chain of Keras `parts` with model.predict on the
    same inputs and compare every output of the original.

    feeds: a dict keyed by input name, a .npy/.npz path, or None for seeded
    random inputs (every unknown dimension takes `batch`, or dim_values)."""
    if not parts:
        raise ChainError("the chain has no parts")
    reference = load_keras_model(original, custom_objects, safe_mode)
    models = [load_keras_model(part, custom_objects, safe_mode) for part in parts]

    specs = _input_specs(reference)
    values = resolve_feeds(feeds, specs, seed, batch, dim_values)
    arrays = [values[spec.name] for spec in specs]

    problems = []
    first_inputs = [spec.name for spec in _input_specs(models[0])]
    if first_inputs != [spec.name for spec in specs]:
        problems.append(f"part 0 takes inputs {first_inputs}, the original takes {[s.name for s in specs]}")

    expected = _flat_outputs(reference, _predict(reference, _structured(reference, arrays)))
    try:
        current = _predict(models[0], _structured(models[0], arrays))
    except Exception as error:
        raise ChainError(f"part 0 cannot run on the model's inputs: {error}") from error
    for index in range(1, len(models)):
        produced = current if isinstance(current, (list, tuple)) else [current]
        needed = len(models[index].inputs)
        if isinstance(current, dict) or len(produced) != needed:
            count = len(current) if isinstance(current, dict) else len(produced)
            raise ChainError(f"part {index} takes {needed} input(s) but part {index - 1} gives {count}")
        try:
            current = _predict(models[index], _structured(models[index], [np.asarray(x) for x in produced]))
        except Exception as error:
            message = f"part {index} cannot run on the outputs of part {index - 1}: {error}"
            raise ChainError(message) from error
    actual = _flat_outputs(models[-1], current)

    if len(actual) != len(expected):
        problems.append(f"the last part has {len(actual)} outputs, the original {len(expected)}")
    expected_names = [name for name, _ in expected]
    actual_names = [name for name, _ in actual]
    if len(actual) == len(expected) and actual_names != expected_names:
        problems.append(f"the last part's outputs are named {actual_names}, the original's {expected_names}")
    checks = [
        compare_output(name, value, actual[index][1] if index < len(actual) else None, atol, rtol)
        for index, (name, value) in enumerate(expected)
    ]
    return VerifyReport(checks, atol, rtol, problems)
