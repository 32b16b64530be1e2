# The Python API over the C++ core: split, merge and inspect, accepting paths
# or onnx.ModelProto; live Keras models are passed on to modelcut.live.
# Before cutting, ONNX shape inference runs on the model's structure (weights
# left out, so memory stays bounded) to give a type and shape to values the
# exporter recorded none for; the core uses them only where the model itself
# says nothing.
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from . import _core

if TYPE_CHECKING:
    import onnx

# onnx (with numpy and protobuf) and Keras are imported only where a call
# needs them: `modelcut split model.keras` starts in a tenth of the time.
ModelArg = Union[str, os.PathLike, "onnx.ModelProto"]


class ArgumentTypeError(_core.Error, TypeError):
    """An argument of the wrong type: a modelcut.Error like every bad input,
    and a TypeError for code that catches those."""


def cut_names(at, what: str = "at") -> list[str]:
    """`at` as a list of names: one name, or a list or tuple of names."""
    names = [at] if isinstance(at, str) else list(at) if isinstance(at, (list, tuple)) else None
    if names is None or not all(isinstance(name, str) for name in names):
        raise ArgumentTypeError(f"{what} must be a name or a list of names (str), not {_kind(at)}")
    return names


def path_arg(value, what: str) -> str:
    """A file or folder argument as a str path."""
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentTypeError(f"{what} must be a path (str or os.PathLike), not {_kind(value)}")
    return os.fspath(value)


def _kind(value) -> str:
    return f"a {type(value).__name__}"


def _is_model_proto(value) -> bool:
    onnx = sys.modules.get("onnx")  # a ModelProto exists only once onnx is imported
    return onnx is not None and isinstance(value, onnx.ModelProto)


def _is_live_keras(value) -> bool:
    if isinstance(value, (str, os.PathLike)) or _is_model_proto(value):
        return False
    from .live import is_live_keras

    return is_live_keras(value)


@dataclass
class SplitResult:
    """What split() made: the parts in chain order, and what each cut matched.

    `paths` are the part files written; `models` the live keras.Model parts
    when a live Keras model was cut (then no file is written and `paths` is
    empty)."""

    parts: list[dict]
    cuts: list[dict]
    models: list[Any] = field(default_factory=list)
    paths: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.paths = [part["path"] for part in self.parts if part.get("path") is not None]

    def to_dict(self) -> dict:
        return {"cuts": self.cuts, "parts": self.parts}


@contextmanager
def _as_path(model: ModelArg, signature: str = "serving_default") -> Iterator[str]:
    """Yields a file path for a path or an in-memory ModelProto; for a
    SavedModel directory, the path of its signature frozen into a .pb."""
    if is_saved_model(model):
        from .tf.saved_model import freeze

        frozen = freeze(model, signature)
        with tempfile.TemporaryDirectory(prefix="modelcut-") as folder:
            path = os.path.join(folder, os.path.basename(os.path.normpath(os.fspath(model))) + ".pb")
            with open(path, "wb") as file:
                file.write(frozen.graph_def)
            yield path
    elif _is_model_proto(model):
        import onnx

        with tempfile.TemporaryDirectory(prefix="modelcut-") as folder:
            path = os.path.join(folder, (model.graph.name or "model") + ".onnx")
            onnx.save(model, path)
            yield path
    else:
        if not isinstance(model, (str, os.PathLike)):
            raise _core.Error(_not_a_model(model))
        path = os.fspath(model)
        _core.check_input_file(path)  # before anything opens it: a FIFO would block the open
        yield path


def _not_a_model(model) -> str:
    kind = f"{type(model).__module__}.{type(model).__name__}"
    if kind.startswith(("tf_keras.", "keras.src.engine.", "tensorflow.python.keras.")):
        return (
            f"a {kind} is a tf-keras (Keras 2) model; modelcut cuts live Keras 3 models: "
            "save it (model.save('model.h5')) and cut the file"
        )
    return f"expected a model file path, an onnx.ModelProto or a live Keras model, not a {kind}"


def is_keras_file(path) -> bool:
    """A Keras model: a .keras zip archive or an HDF5 (legacy .h5) file."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    return _core.file_type(os.fspath(path)) in ("keras-zip", "hdf5")


def is_saved_model(path) -> bool:
    """A TensorFlow SavedModel: a directory holding saved_model.pb."""
    from .tf.saved_model import is_saved_model as check

    return check(path)


def is_tf_model(path) -> bool:
    """A TensorFlow model: a SavedModel directory or a frozen GraphDef (.pb)."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    return is_saved_model(path) or (
        os.path.isfile(path) and _core.file_type(os.fspath(path)) == "tf-graphdef"
    )


def inferred_types(path: str) -> list[bytes]:
    """Types from ONNX shape inference, as a serialized model, or [] if it fails.

    Shape inference runs on the structure only; a model it cannot handle
    (custom operators, say) is still cut, with the types it records itself.
    Keras models need none: their config records the types.
    """
    if _core.file_type(path) != "onnx":
        return []
    import onnx

    try:
        structure = onnx.load_from_string(_core.structure_only(path))
        inferred = onnx.shape_inference.infer_shapes(structure, data_prop=True)
    except _core.Error:
        raise
    except Exception:
        return []
    return [inferred.SerializeToString()]


def split(
    model: ModelArg,
    at: str | Sequence[str],
    output_dir: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
    infer_shapes: bool = True,
    weights: str = "auto",
    external_threshold: int = 1 << 30,
    progress: Callable[[int, int, int], None] | None = None,
    signature: str = "serving_default",
    status: Callable[[str], None] | None = None,
) -> SplitResult:
    """Cuts `model` after each name in `at` and writes the parts into `output_dir`.

    A live Keras model (Functional or Sequential) is cut in memory instead:
    no file is written and the result's `models` are live keras.Model parts
    that share the model's layers and weights:

        model_a, model_b = modelcut.split(model, at="fc2").models
        y = model_b(model_a(x))                 # equals model(x), bit for bit
        z = model_b(model_a(x) + noise)         # anything between the halves, differentiable

    A name is a tensor, a node, or a layer as the exporting framework called
    it ("fc2", "layer3.1", "block_6_expand"). K names give K+1 parts that form a
    strict chain: part k+1 takes exactly part k's outputs, by name.

    `weights` says where each part's weights go: "inline" (in the .onnx file),
    "external" (a .onnx.data file beside each part), "in-place" (not copied:
    the parts are written beside the model, `output_dir` None, and read the
    model's own weight files), or "auto" (inline, external once a part's
    weights exceed `external_threshold`).
    `progress(part_index, bytes_written, bytes_total)` is called while writing.

    A TensorFlow SavedModel directory is cut through its `signature`: frozen
    by TensorFlow, cut by the core, and each part written as a SavedModel
    directory with a `serving_default` signature (see modelcut.tf);
    `status(text)` is told of each step.
    """
    if _is_live_keras(model):
        from . import live

        if output_dir is not None:
            raise _core.Error(
                "a live Keras model is cut in memory: leave out output_dir "
                "(save it with model.save and cut the file to get part files)"
            )
        return live.split_live(model, cut_names(at))
    cuts = cut_names(at)
    if output_dir is not None:
        output_dir = path_arg(output_dir, "output_dir")
    if weights not in ("auto", "inline", "external", "in-place"):
        raise _core.Error(f"weights={weights!r}: choose 'auto', 'inline', 'external' or 'in-place'")
    if type(external_threshold) is not int or external_threshold < 0:
        raise _core.Error(f"external_threshold={external_threshold!r}: give a number of bytes >= 0")
    if progress is not None and not callable(progress):
        raise ArgumentTypeError(f"progress must be a callable, not {_kind(progress)}")
    if is_saved_model(model):
        from .tf.saved_model import split_saved_model

        if output_dir is None:
            raise _core.Error("a SavedModel's parts are new SavedModel directories: give an output directory")
        if weights not in ("auto", "inline"):
            raise _core.Error(
                f"weights={weights!r}: a SavedModel part holds its weights in its graph (weights='auto')"
            )
        result = split_saved_model(
            model, cuts, output_dir, overwrite=overwrite, signature=signature, status=status
        )
        return SplitResult(parts=result["parts"], cuts=result["cuts"])
    with _as_path(model) as path:
        hints = inferred_types(path) if infer_shapes else []
        result = _core.split(
            path, cuts, os.fspath(output_dir or ""), overwrite, hints, weights, external_threshold, progress
        )
    return SplitResult(parts=result["parts"], cuts=result["cuts"])


def resolve(
    model: ModelArg, at: str | Sequence[str], *, infer_shapes: bool = True, signature: str = "serving_default"
) -> list[dict]:
    """What each name in `at` resolves to, as split() would cut there, without writing anything.

    One dict per name: "spec", "kind" ("tensor", "node" or "layer"),
    "resolved_name" and "values" (the tensors crossing the cut). Raises
    modelcut.Error for the first name that does not resolve.
    """
    cuts = cut_names(at)
    if _is_live_keras(model):
        from . import live

        return live.resolve_live(model, cuts)
    with _as_path(model, signature) as path:
        hints = inferred_types(path) if infer_shapes else []
        return _core.resolve(path, cuts, hints)


def merge(
    parts: Sequence[ModelArg],
    output: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
    custom_objects: dict | None = None,
):
    """Composes a chain of parts back into one model written to `output`.

    Live Keras parts give a live keras.Model (no file; `output` must be
    None), flat, with the parts' layers; Keras part files (.keras, .h5) are
    loaded with Keras (with `custom_objects` for unregistered custom layers)
    and composed into a .keras file written by Keras."""
    if isinstance(parts, (str, os.PathLike)) or not isinstance(parts, Sequence):
        raise ArgumentTypeError(f"parts must be a list of parts, not {_kind(parts)}")
    if len(parts) < 2:
        raise _core.Error("merge needs at least two parts")  # the core's words, for live parts too
    if parts and all(_is_live_keras(part) for part in parts):
        from . import live

        if output is not None:
            raise _core.Error(
                "live Keras parts merge into a live keras.Model: leave out the output "
                "(save the result with model.save)"
            )
        return live.merge_live(parts)
    if any(_is_live_keras(part) for part in parts):
        raise _core.Error("merge takes either live Keras parts or part files, not both")
    if output is None:
        raise _core.Error("no output file given")
    output = path_arg(output, "output")
    for part in parts:
        if not _is_model_proto(part):
            # Before its type is sniffed: a FIFO would block the read.
            _core.check_input_file(path_arg(part, "each part"))
    keras_files = [is_keras_file(part) for part in parts]
    if parts and all(keras_files):
        from . import live

        return live.merge_keras_files(parts, output, overwrite=overwrite, custom_objects=custom_objects)
    if any(keras_files):
        raise _core.Error("merge takes parts of one format: these are Keras and ONNX files")
    paths = []
    with tempfile.TemporaryDirectory(prefix="modelcut-") as folder:
        for index, part in enumerate(parts):
            if _is_model_proto(part):
                import onnx

                path = os.path.join(folder, f"part{index}.onnx")
                onnx.save(part, path)
                paths.append(path)
            else:
                paths.append(os.fspath(part))
        return _core.merge(paths, os.fspath(output), overwrite)


def inspect(model: ModelArg, *, infer_shapes: bool = True, signature: str = "serving_default") -> dict:
    """Inputs, outputs, layers (with output shapes) and candidate cut points.

    A SavedModel is inspected as its `signature` frozen: the report's
    "signature" maps the signature's keys to the graph's values."""
    if _is_live_keras(model):
        raise _core.Error(
            "inspect reads model files: save the live model (model.save('model.keras')) and "
            "inspect the file; split and resolve take the live model itself"
        )
    if is_saved_model(model):
        from .tf.saved_model import freeze

        frozen = freeze(model, signature)
        with tempfile.TemporaryDirectory(prefix="modelcut-") as folder:
            path = os.path.join(folder, "frozen.pb")
            with open(path, "wb") as file:
                file.write(frozen.graph_def)
            report = _core.inspect(path, [])
        report["path"] = os.fspath(model)
        report["signature"] = {"name": signature, "inputs": frozen.inputs, "outputs": frozen.outputs}
        return report
    with _as_path(model) as path:
        hints = inferred_types(path) if infer_shapes else []
        return _core.inspect(path, hints)
