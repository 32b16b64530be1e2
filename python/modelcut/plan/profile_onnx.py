# Times every node of an ONNX model with ONNX Runtime's profiler. The model's
# structure is loaded without its weights and every node renamed to its index
# ("__modelcut_node_<i>__"), so that ORT's events ("<name>_kernel_time")
# map back to exactly one node whatever the model's names are (missing,
# repeated, or also used inside a subgraph); external weights are read from
# the model's own folder. Graph optimisation is off, as in `modelcut verify`,
# so that no node is fused away and each event is one node of the model.
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable

import onnx
import onnxruntime as ort

from .._ort import input_specs, read_feeds
from .profile_file import median
from .sample_inputs import sample_inputs

Progress = Callable[[int, int], None]
_TOKEN_PREFIX = "__modelcut_node_"
_TOKEN_SUFFIX = "__"
_KERNEL_SUFFIX = "_kernel_time"


def dataflow_node_names(graph: onnx.GraphProto) -> list[str]:
    """The dataflow's name of each node of `graph`, in graph order: its own
    name, or "#<index>" when it has none (as modelcut's index names it)."""
    return [node.name or f"#{index}" for index, node in enumerate(graph.node)]


def _session(
    structure: onnx.ModelProto, folder: str, threads: int, profile_prefix: str
) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_profiling = True
    options.profile_file_prefix = profile_prefix
    # The renamed structure is given as bytes: ORT finds external weights here.
    options.add_session_config_entry("session.model_external_initializers_file_folder_path", folder)
    return ort.InferenceSession(structure.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _runs_of(events: list[dict]) -> list[tuple[float, float]]:
    runs = [
        (event["ts"], event["ts"] + event["dur"])
        for event in events
        if event.get("cat") == "Session" and event.get("name") == "model_run"
    ]
    return sorted(runs)


def _node_events(events: list[dict], count: int):
    """(index of the node, start, duration) for each kernel event of a top-level node."""
    for event in events:
        name = event.get("name", "")
        if event.get("cat") != "Node" or not name.endswith(_KERNEL_SUFFIX):
            continue
        token = name[: -len(_KERNEL_SUFFIX)]
        if not (token.startswith(_TOKEN_PREFIX) and token.endswith(_TOKEN_SUFFIX)):
            continue  # a node of a subgraph: its time is inside its parent's
        index = token[len(_TOKEN_PREFIX) : -len(_TOKEN_SUFFIX)]
        if index.isdigit() and int(index) < count:
            yield int(index), event["ts"], event["dur"]


def profile_onnx(
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
    structure = onnx.load(path, load_external_data=False)
    names = dataflow_node_names(structure.graph)
    specs = input_specs(structure)
    feeds = read_feeds(inputs, specs) if inputs else sample_inputs(specs, batch, dims)
    for index, node in enumerate(structure.graph.node):
        node.name = f"{_TOKEN_PREFIX}{index}{_TOKEN_SUFFIX}"
    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.TemporaryDirectory(prefix="modelcut-profile-") as scratch:
        session = _session(structure, folder, threads, os.path.join(scratch, "ort"))
        for run in range(warmup + runs):
            session.run(None, feeds)
            if progress is not None:
                progress(run + 1, warmup + runs)
        with open(session.end_profiling(), encoding="utf-8") as file:
            events = json.load(file)
    intervals = _runs_of(events)
    if len(intervals) != warmup + runs:
        raise AssertionError(f"ONNX Runtime's profile shows {len(intervals)} runs, not {warmup + runs}")
    measured = intervals[warmup:]
    per_run = [[0.0] * len(names) for _ in measured]
    ran = [False] * len(names)
    first = measured[0][0] if measured else float("inf")
    for index, start, duration in _node_events(events, len(names)):
        if start < first:
            continue  # a warm-up run
        run = _run_containing(measured, start)
        if run is not None:
            per_run[run][index] += duration
            ran[index] = True
    times: dict[str, float] = {}
    for index, name in enumerate(names):
        # A repeated name is one name to the planner: its nodes' times add up.
        times[name] = times.get(name, 0.0) + median([row[index] for row in per_run])
    total = median([end - start for start, end in measured])
    # Nodes ORT never ran: Constant nodes it turned into weights when loading.
    not_run = [name for name, did_run in zip(names, ran) if not did_run]
    shapes = {name: list(value.shape) for name, value in feeds.items()}
    return times, total, f"onnxruntime {ort.__version__}", {"input_shapes": shapes, "not_run": not_run}


def _run_containing(intervals: list[tuple[float, float]], start: float) -> int | None:
    low, high = 0, len(intervals)
    while low < high:  # the last run that starts at or before `start`
        middle = (low + high) // 2
        if intervals[middle][0] <= start:
            low = middle + 1
        else:
            high = middle
    run = low - 1
    if run >= 0 and start <= intervals[run][1]:
        return run
    return None
