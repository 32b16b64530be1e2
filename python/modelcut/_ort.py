# Shared ONNX Runtime helpers for running and checking model parts:
# deterministic CPU sessions, input specs, seeded random feeds and loading
# feeds from .npy/.npz. A "model" is a path, an onnx.ModelProto or serialized
# bytes; models must fit ORT's protobuf limit (2 GB) when given in memory.
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort

from . import _core

ModelLike = str | os.PathLike | bytes | onnx.ModelProto
Dim = int | str | None

# Integer inputs are often masks, ids or indices; a small non-negative range
# keeps them valid for embedding lookups and Gather-like ops.
INT_INPUT_HIGH = 4

# The element types that random feeds and feed checks support, as ONNX codes;
# the numpy dtypes and ONNX Runtime's type names ("tensor(float)") follow from
# them through onnx's own tables.
_INPUT_TYPES = (
    onnx.TensorProto.FLOAT,
    onnx.TensorProto.DOUBLE,
    onnx.TensorProto.FLOAT16,
    onnx.TensorProto.INT8,
    onnx.TensorProto.INT16,
    onnx.TensorProto.INT32,
    onnx.TensorProto.INT64,
    onnx.TensorProto.UINT8,
    onnx.TensorProto.UINT16,
    onnx.TensorProto.UINT32,
    onnx.TensorProto.UINT64,
    onnx.TensorProto.BOOL,
)
_ONNX_TO_NUMPY = {code: onnx.helper.tensor_dtype_to_np_dtype(code) for code in _INPUT_TYPES}
ORT_TO_NUMPY = {
    f"tensor({onnx.TensorProto.DataType.Name(code).lower()})": dtype for code, dtype in _ONNX_TO_NUMPY.items()
}


@dataclass(frozen=True)
class InputSpec:
    """One graph input: dims is None when the rank is unknown; a dim is an
    int (fixed), a str (symbolic) or None (unnamed unknown)."""

    name: str
    dtype: np.dtype
    dims: tuple[Dim, ...] | None


# ---------------------------------------------------------------- sessions


def make_session(model: ModelLike, optimize: bool = False, threads: int = 1) -> ort.InferenceSession:
    """CPU session; graph optimisation is off by default so that fusions
    across a cut cannot make the chain and the original compute differently.
    More than one thread per op is faster but may change the last bits of
    reductions from run to run."""
    options = ort.SessionOptions()
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    # One thread (the default) and sequential execution: reductions then run in a fixed
    # order, so repeated runs give bit-identical results.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.use_deterministic_compute = True
    return ort.InferenceSession(_session_source(model), options, providers=["CPUExecutionProvider"])


def ensure_session(model: ModelLike | ort.InferenceSession, optimize: bool = False) -> ort.InferenceSession:
    """Reuse a ready session as is; build one for anything else."""
    if isinstance(model, ort.InferenceSession):
        return model
    return make_session(model, optimize)


def _session_source(model: ModelLike) -> str | bytes:
    if isinstance(model, onnx.ModelProto):
        return model.SerializeToString()
    if isinstance(model, bytes):
        return model
    if isinstance(model, (str, os.PathLike)):
        return _regular_file(model)
    from .api import ArgumentTypeError

    raise ArgumentTypeError(
        f"expected a model path, onnx.ModelProto, bytes or an ONNX Runtime session, "
        f"not a {type(model).__name__}"
    )


# ------------------------------------------------------------- input specs


def input_specs(model: ModelLike | ort.InferenceSession) -> list[InputSpec]:
    """Graph inputs that must be fed (initializers excluded).

    Read from the ONNX graph when possible: ORT reports an unknown rank as
    [] (same as a scalar), so for a session a [] shape is taken as a scalar."""
    if isinstance(model, ort.InferenceSession):
        return [_spec_from_node_arg(arg) for arg in model.get_inputs()]
    return _specs_from_graph(_load_graph_only(model).graph)


def _load_graph_only(model: ModelLike) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, bytes):
        return onnx.load_from_string(model)
    # External weights are not needed to read input types.
    return onnx.load(_regular_file(model), load_external_data=False)


def _regular_file(path) -> str:
    """The path, once checked to be a regular file: onnx and ONNX Runtime
    would block forever opening a FIFO."""
    path = os.fspath(path)
    _core.check_input_file(path)
    return path


def _specs_from_graph(graph: onnx.GraphProto) -> list[InputSpec]:
    initializers = {init.name for init in graph.initializer}
    return [_spec_from_value_info(value) for value in graph.input if value.name not in initializers]


def _spec_from_value_info(value: onnx.ValueInfoProto) -> InputSpec:
    if value.type.WhichOneof("value") != "tensor_type":
        raise _core.Error(f"input '{value.name}' is not a tensor; only tensor inputs are supported")
    tensor = value.type.tensor_type
    dtype = _ONNX_TO_NUMPY.get(tensor.elem_type)
    if dtype is None:
        type_name = onnx.TensorProto.DataType.Name(tensor.elem_type)
        raise _core.Error(f"input '{value.name}' has unsupported element type {type_name}")
    dims = None
    if tensor.HasField("shape"):
        dims = tuple(_dim_from_proto(dim) for dim in tensor.shape.dim)
    return InputSpec(value.name, np.dtype(dtype), dims)


def _dim_from_proto(dim: onnx.TensorShapeProto.Dimension) -> Dim:
    kind = dim.WhichOneof("value")
    if kind == "dim_value":
        return dim.dim_value
    if kind == "dim_param":
        return dim.dim_param
    return None


def _spec_from_node_arg(arg) -> InputSpec:
    dtype = ORT_TO_NUMPY.get(arg.type)
    if dtype is None:
        raise _core.Error(f"input '{arg.name}' has unsupported type {arg.type}")
    return InputSpec(arg.name, np.dtype(dtype), tuple(arg.shape))


# ------------------------------------------------------------ random feeds


def random_inputs(
    model: ModelLike | ort.InferenceSession,
    seed: int = 0,
    batch: int = 1,
    dim_values: Mapping[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """Seeded random feeds for every graph input.

    A symbolic dim takes dim_values[dim_name] if given, else `batch`. An
    unnamed unknown dim needs dim_values["<input>:<axis>"]; an input of
    unknown rank cannot be generated (give feeds instead)."""
    return random_feeds(input_specs(model), seed, batch, dim_values)


def random_feeds(
    specs: Sequence[InputSpec],
    seed: int = 0,
    batch: int = 1,
    dim_values: Mapping[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """random_inputs for already-read input specs."""
    rng = np.random.default_rng(seed)
    dim_values = dict(dim_values or {})
    return {
        spec.name: _random_array(rng, spec.dtype, _concrete_shape(spec, batch, dim_values)) for spec in specs
    }


def _concrete_shape(spec: InputSpec, batch: int, dim_values: Mapping[str, int]) -> tuple[int, ...]:
    if spec.dims is None:
        raise _core.Error(
            f"input '{spec.name}' has unknown rank, so random values cannot be made; pass feeds explicitly"
        )
    shape = []
    for axis, dim in enumerate(spec.dims):
        if isinstance(dim, int):
            shape.append(dim)
        elif isinstance(dim, str):
            shape.append(int(dim_values.get(dim, batch)))
        else:
            key = f"{spec.name}:{axis}"
            if key not in dim_values:
                raise _core.Error(
                    f"input '{spec.name}' axis {axis} has no size or name; "
                    f"pass dim_values={{'{key}': SIZE}} or feeds explicitly"
                )
            shape.append(int(dim_values[key]))
    return tuple(shape)


def _random_array(rng: np.random.Generator, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, INT_INPUT_HIGH, size=shape).astype(dtype)
    return rng.standard_normal(size=shape).astype(dtype)


# -------------------------------------------------------------- file feeds


def load_feeds(path: str | os.PathLike, model: ModelLike | ort.InferenceSession) -> dict[str, np.ndarray]:
    """Feeds from .npy (the model must have exactly one input) or .npz (one
    array per input, keyed by input name), checked against the model."""
    return read_feeds(path, input_specs(model))


def read_feeds(path: str | os.PathLike, specs: Sequence[InputSpec]) -> dict[str, np.ndarray]:
    """load_feeds for already-read input specs."""
    path = os.fspath(path)
    if path.endswith(".npy"):
        feeds = _load_npy(path, specs)
    elif path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as archive:
            feeds = {name: archive[name] for name in archive.files}
    else:
        raise _core.Error(f"{path}: feeds must be a .npy or .npz file")
    check_feeds(feeds, specs, source=path)
    return feeds


def _load_npy(path: str, specs: Sequence[InputSpec]) -> dict[str, np.ndarray]:
    if len(specs) != 1:
        names = ", ".join(spec.name for spec in specs)
        raise _core.Error(
            f"{path}: a .npy file holds one array but the model has {len(specs)} "
            f"inputs ({names}); use a .npz keyed by input name"
        )
    return {specs[0].name: np.load(path, allow_pickle=False)}


def check_feeds(feeds: Mapping[str, np.ndarray], specs: Sequence[InputSpec], source: str = "feeds") -> None:
    """Raise modelcut.Error naming the first input that is missing,
    unexpected, or of the wrong dtype or shape. A symbolic dim must have one
    size across all inputs that use it."""
    if not isinstance(feeds, Mapping):
        from .api import ArgumentTypeError

        raise ArgumentTypeError(
            f"{source}: expected a dict of arrays by input name, not a {type(feeds).__name__}"
        )
    expected = [spec.name for spec in specs]
    missing = [name for name in expected if name not in feeds]
    extra = [name for name in feeds if name not in expected]
    if missing:
        raise _core.Error(f"{source}: missing input(s) {missing}; the model expects {expected}")
    if extra:
        raise _core.Error(f"{source}: unexpected input(s) {extra}; the model expects {expected}")
    check_feed_values(feeds, specs, source)


def check_feed_values(
    feeds: Mapping[str, np.ndarray], specs: Sequence[InputSpec], source: str = "feeds"
) -> None:
    """check_feeds for the dtype and shape of each input in `feeds`."""
    symbol_sizes: dict[str, tuple[int, str]] = {}
    for spec in specs:
        if spec.name not in feeds:
            continue
        try:
            value = np.asarray(feeds[spec.name])
        except Exception as error:
            raise _core.Error(f"{source}: input '{spec.name}' is not an array ({error})") from error
        if value.dtype != spec.dtype:
            raise _core.Error(
                f"{source}: input '{spec.name}' has dtype {value.dtype}, the model expects {spec.dtype}"
            )
        _check_shape(spec, value.shape, symbol_sizes, source)


def _check_shape(
    spec: InputSpec,
    shape: tuple[int, ...],
    symbol_sizes: dict[str, tuple[int, str]],
    source: str,
) -> None:
    if spec.dims is None:
        return
    if len(shape) != len(spec.dims):
        raise _core.Error(
            f"{source}: input '{spec.name}' has shape {shape}, "
            f"the model expects rank {len(spec.dims)} {_dims_text(spec.dims)}"
        )
    for axis, (size, dim) in enumerate(zip(shape, spec.dims)):
        if isinstance(dim, int) and size != dim:
            raise _core.Error(
                f"{source}: input '{spec.name}' has shape {shape}, "
                f"the model expects {_dims_text(spec.dims)} (axis {axis})"
            )
        if isinstance(dim, str):
            seen = symbol_sizes.setdefault(dim, (size, spec.name))
            if seen[0] != size:
                raise _core.Error(
                    f"{source}: dim '{dim}' is {size} in input '{spec.name}' "
                    f"but {seen[0]} in input '{seen[1]}'"
                )


def _dims_text(dims: tuple[Dim, ...]) -> str:
    return "[" + ", ".join("?" if dim is None else str(dim) for dim in dims) + "]"
