# Check that a chain of Keras parts computes what the original Keras model
# computes: load each with Keras (tf_keras for a legacy .h5 written by
# tf-keras 2), run model.predict on the same inputs, feed each part's outputs
# to the next part, and compare every output of the original with the last
# part's. Loading runs the usual Keras deserialisation, with Keras's safe
# mode on by default (Lambda layers are refused unless safe_mode=False).
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

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
                raise ValueError(
                    f"{path}: written by tf-keras {version}; loading it needs the tf_keras package"
                ) from error
            return tf_keras
    import keras

    return keras


def load_keras_model(path: PathLike, custom_objects: Mapping[str, Any] | None = None, safe_mode: bool = True):
    """Loads a .keras or .h5 model, uncompiled, with the Keras that wrote it."""
    path = os.fspath(path)
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
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds
        raise ChainError(f"part 0 cannot run on the model's inputs: {error}") from error
    for index in range(1, len(models)):
        produced = current if isinstance(current, (list, tuple)) else [current]
        needed = len(models[index].inputs)
        if isinstance(current, dict) or len(produced) != needed:
            count = len(current) if isinstance(current, dict) else len(produced)
            raise ChainError(f"part {index} takes {needed} input(s) but part {index - 1} gives {count}")
        try:
            current = _predict(models[index], _structured(models[index], [np.asarray(x) for x in produced]))
        except Exception as error:  # noqa: BLE001 - Keras raises many kinds
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
