# modelcut.profile: measure each node's time on this machine, for the
# planners' --balance time and device/server plans. ONNX models run on ONNX
# Runtime with its profiler (profile_onnx.py), Keras models in Keras call by
# call (profile_keras.py); both give the median microseconds per node per run,
# keyed by the dataflow's node names (see profile_file.py for the file).
from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from .. import _core
from .profile_file import build_profile, check_profile_path, write_profile

Progress = Callable[[int, int], None]


def _positive(value, option: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{option} must be an integer >= {minimum}, not {value!r}")
    return value


def check_dims(dims: Mapping[str, int] | None) -> dict[str, int]:
    checked = {}
    for name, size in (dims or {}).items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"--dim needs a dimension name, not {name!r}")
        checked[name] = _positive(size, f"--dim {name}")
    return checked


def model_files(path: str) -> list[str]:
    """The files that reading the model involves (never to be written)."""
    if _core.file_type(path) == "onnx":
        return list(_core.input_files(path))
    return [path]


def _in_dataflow_order(path: str, node_times: dict[str, float]) -> dict[str, float]:
    """`node_times` in the topological order the planners use, so that a
    profile reads like the model; names the dataflow lacks come last."""
    try:
        order = [node["name"] for node in _core.nodes(path, [])]
    except _core.Error:
        return node_times  # the core cannot index this model: the planners cannot use it either
    ordered = {name: node_times[name] for name in order if name in node_times}
    ordered.update((name, value) for name, value in node_times.items() if name not in ordered)
    return ordered


def profile(
    model: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    runs: int = 20,
    warmup: int = 3,
    threads: int = 1,
    batch: int = 1,
    dims: Mapping[str, int] | None = None,
    inputs: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Runs `model` `warmup` + `runs` times on sample inputs and returns the
    profile: median microseconds per node per run over the last `runs` runs.

    ONNX models run on ONNX Runtime (CPU, `threads` threads per op, graph
    optimisation off as in verify); Keras models (.keras, .h5) in Keras, one
    layer call at a time. Inputs are seeded random values (the leading
    symbolic dimension is `batch`, others from `dims`) or the arrays of
    `inputs` (.npy/.npz). With `output`, the profile is also written there as
    JSON (an existing file only with `overwrite`). `progress(done, total)` is
    called once the arguments are checked (done 0) and after each run.
    """
    path = os.fspath(model)
    _core.check_input_file(path)
    kind = _core.file_type(path)
    if kind == "tf-graphdef":
        # Timing TensorFlow graphs op by op is not built: plans of a GraphDef
        # balance its parameters or its MACs, which the core counts from shapes.
        raise ValueError(
            f"'{path}' is a TensorFlow GraphDef: profile runs ONNX and Keras models only; "
            "plan it with --balance params or --balance flops"
        )
    if kind not in ("onnx", "keras-zip", "hdf5"):
        raise ValueError(f"'{path}' is not an ONNX or Keras model")
    runs = _positive(runs, "runs")
    warmup = _positive(warmup, "warmup", minimum=0)
    threads = _positive(threads, "threads")
    batch = _positive(batch, "batch")
    dims = check_dims(dims)
    inputs = os.fspath(inputs) if inputs is not None else None
    if inputs is not None:
        _core.check_input_file(inputs)
    if output is not None:
        output = os.fspath(output)
        check_profile_path(output, model_files(path) + ([inputs] if inputs else []), overwrite)

    if progress is not None:
        progress(0, warmup + runs)
    if kind == "onnx":
        from .profile_onnx import profile_onnx as measure
    else:
        from .profile_keras import profile_keras as measure
    node_times, total_us, runtime, extra = measure(path, runs, warmup, threads, batch, dims, inputs, progress)
    node_times = _in_dataflow_order(path, node_times)
    result = build_profile(path, runtime, threads, runs, batch, dims, node_times, total_us, extra)
    if inputs is not None:
        result["inputs"] = os.path.basename(inputs)
    if output is not None:
        write_profile(result, output)
    return result
