# modelcut.plan and modelcut.plan_device_server: the Python face of the C++
# planners (_core.plan_pipeline, _core.plan_device_server). Arguments are
# checked and sizes with units parsed here, so that a mistake is reported in
# the caller's terms; the plan comes back as a Plan whose `at` feeds split().
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import ExitStack

from .. import _core, api
from ..outputs import check_output
from .profile_file import read_profile
from .profiler import check_dims
from .profiler import profile as measure_profile
from .units import parse_bytes, parse_rate, parse_seconds

BALANCES = ("params", "flops", "time")

# Keys of the core's plan dict, with what a plan without them holds.
_PLAN_KEYS = {
    "kind": "",
    "objective": "",
    "cost_unit": "",
    "cuts": [],
    "stages": [],
    "bottleneck": 0.0,
    "ideal": 0.0,
    "lower_bound": 0.0,
    "optimal": True,
    "latency_s": 0.0,
    "placement": "",
    "sweep": [],
    "along": [],
    "unbound_symbols": [],
    "warnings": [],
    "plan_seconds": 0.0,
}


class Plan:
    """Where to cut a model, and what each stage costs.

    Attributes mirror the planner's result (see the README): kind
    ("pipeline" or "device-server"), objective, cost_unit, cuts, stages,
    bottleneck, ideal, lower_bound, optimal, latency_s, placement, sweep,
    along, unbound_symbols, warnings, plan_seconds; `model` and `request`
    (what was asked). `at` lists the cut specs for split().
    """

    def __init__(self, model: str, request: dict, data: Mapping) -> None:
        self.model = model
        self.request = request
        self._data = dict(data)
        for key, default in _PLAN_KEYS.items():
            setattr(self, key, self._data.get(key, default))

    @property
    def at(self) -> list[str]:
        """The cut specs, in chain order: modelcut.split(model, at=plan.at, ...)."""
        return [cut["spec"] for cut in self.cuts]

    cuts_specs = at

    def to_dict(self) -> dict:
        model = self.model if isinstance(self.model, str) else "<onnx.ModelProto>"
        return {"model": model, "request": self.request, "at": self.at, **self._data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def table(self) -> str:
        """The plan as a readable table (what `modelcut plan` prints)."""
        from .table import format_plan

        return format_plan(self)

    def plot(self, path: str | os.PathLike, *, overwrite: bool = False) -> str:
        """Draws the plan into `path` (.png, .svg or .pdf) with matplotlib."""
        from .plot import plot_plan

        return plot_plan(self, os.fspath(path), overwrite=overwrite, reads=self._files_read())

    def split(self, output_dir: str | os.PathLike, **options) -> api.SplitResult:
        """Splits the model at this plan's cuts (options as for modelcut.split)."""
        if not self.cuts:
            raise ValueError(
                f"the plan has no cut ({self.placement or '1 stage'}): there is nothing to split"
            )
        # The split checks the model's own files; the profiles are inputs too.
        check_output(output_dir, self._files_read(), bool(options.get("overwrite", False)))
        return api.split(self.model, self.at, output_dir, **options)

    def _files_read(self) -> list[str]:
        """The files this plan was made from: the model, and the profiles given by path."""
        profiles = [self.request.get(key) for key in ("profile", "device", "server")]
        model = [self.model] if isinstance(self.model, str) else []
        return model + [path for path in profiles if isinstance(path, str)]

    def __repr__(self) -> str:
        return f"Plan({self.kind}, {self.objective}, at={self.at!r})"


def _rate(value, option: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_rate(value, option)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value > 0
        or value == float("inf")
    ):
        raise ValueError(f"{option} must be a number of bytes per second > 0, not {value!r}")
    return float(value)


def _size(value, option: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_bytes(value, option)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{option} must be a number of bytes >= 0, not {value!r}")
    return value


def _seconds(value, option: str) -> float:
    if isinstance(value, str):
        return parse_seconds(value, option)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"{option} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _model_node_names(path: str, hints: list[bytes]) -> set[str]:
    """The dataflow's node names, as profiles name them."""
    return {node["name"] for node in _core.nodes(path, hints)}


def _profile_path(value, option: str, model: str, names: set[str], stack: ExitStack) -> str:
    """A profile file for the core: `value` if it is a path, or a dict
    (as modelcut.profile returns) written to a temporary file. Refuses a
    profile that names none of the model's nodes: it was recorded for
    another model, and every time would silently count as 0."""
    if isinstance(value, Mapping):
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="modelcut-plan-"))
        path = os.path.join(folder, "profile.json")
        with open(path, "w", encoding="utf-8") as file:
            json.dump(value, file, allow_nan=False)
        label = f"{option} (a dict)"
    elif isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        label = f"{option} '{path}'"
    else:
        raise ValueError(
            f"{option} must be a profile file's path or a profile dict, not {type(value).__name__}"
        )
    if not os.path.lexists(path):
        raise ValueError(f"{label} does not exist: record one with `modelcut profile MODEL -o FILE`")
    recorded = read_profile(path)
    if recorded["nodes"] and not names.intersection(recorded["nodes"]):
        raise ValueError(
            f"{label} names none of the {len(names)} nodes of '{os.path.basename(model)}': "
            f"it was recorded for another model ('{recorded['model'] or '?'}')"
        )
    return path


def plan(
    model: api.ModelArg,
    stages: int = 2,
    balance: str = "params",
    *,
    profile: str | os.PathLike | Mapping | None = None,
    bandwidth: float | str | None = None,
    max_stage_params: int | str | None = None,
    max_boundary_bytes: int | str | None = None,
    batch: int = 1,
    dims: Mapping[str, int] | None = None,
    infer_shapes: bool = True,
    profile_runs: int = 20,
) -> Plan:
    """Cuts `model` into `stages` pipeline stages whose most expensive stage
    is as cheap as possible.

    `balance`: "params" (parameter bytes), "flops" (MACs from shapes) or
    "time" (measured: `profile` is a file or dict from modelcut.profile; if
    None, the model is profiled here first, `profile_runs` runs).
    `bandwidth` (bytes/s, or a string such as "1GB/s") adds each stage's
    outgoing transfer to its time. `max_stage_params` and
    `max_boundary_bytes` (bytes, or "1GiB") cap each stage's weights and the
    bytes crossing each cut. `batch` and `dims` size symbolic dimensions.
    The search is exact over every cut of one topological order of the model.
    """
    if isinstance(stages, bool) or not isinstance(stages, int) or stages < 1:
        raise ValueError(f"stages must be an integer >= 1, not {stages!r}")
    if balance not in BALANCES:
        raise ValueError(f"unknown balance {balance!r}: choose params, flops or time")
    if profile is not None and balance != "time":
        raise ValueError(f"a profile gives times: use it with balance 'time', not {balance!r}")
    rate = _rate(bandwidth, "bandwidth")
    if rate is not None and balance != "time":
        raise ValueError("bandwidth adds transfer time to stage times: use it with balance 'time'")
    stage_cap = _size(max_stage_params, "max_stage_params")
    boundary_cap = _size(max_boundary_bytes, "max_boundary_bytes")
    dims = check_dims(dims)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be an integer >= 1, not {batch!r}")
    with ExitStack() as stack:
        path = stack.enter_context(api._as_path(model))
        hints = api.inferred_types(path) if infer_shapes else []
        profile_path = None
        if balance == "time":
            if profile is None:
                profile = measure_profile(path, runs=profile_runs, batch=batch, dims=dims)
            profile_path = _profile_path(profile, "profile", path, _model_node_names(path, hints), stack)
        data = _core.plan_pipeline(
            path, hints, stages, balance, profile_path, rate, stage_cap, boundary_cap, batch, dims
        )
        request = {
            "stages": stages,
            "balance": balance,
            "profile": _describe(profile),
            "bandwidth": rate,
            "max_stage_params": stage_cap,
            "max_boundary_bytes": boundary_cap,
            "batch": batch,
            "dims": dims,
        }
        return Plan(_kept(model), request, data)


def plan_device_server(
    model: api.ModelArg,
    device: str | os.PathLike | Mapping,
    server: str | os.PathLike | Mapping,
    bandwidth: float | str,
    *,
    rtt: float | str = 0.0,
    sweep: Sequence[float | str] | None = None,
    batch: int = 1,
    dims: Mapping[str, int] | None = None,
    infer_shapes: bool = True,
) -> Plan:
    """The 2-way partition of `model` with the least predicted latency:
    device time of what runs on the device (`device`: a profile recorded
    there), the bytes crossing the cut over a link of `bandwidth` bytes/s
    plus `rtt` seconds, and server time of the rest (`server` profile).

    Every valid partition of the graph is considered (a minimum s-t cut),
    also where several values cross. `sweep` lists the bandwidths of the
    table of best plans (default: a range around `bandwidth`).
    """
    rate = _rate(bandwidth, "bandwidth")
    if rate is None:
        raise ValueError("a device/server plan needs the link's bandwidth")
    delay = _seconds(rtt, "rtt")
    rates = [_rate(value, "sweep") for value in (sweep or [])]
    dims = check_dims(dims)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be an integer >= 1, not {batch!r}")
    with ExitStack() as stack:
        path = stack.enter_context(api._as_path(model))
        hints = api.inferred_types(path) if infer_shapes else []
        names = _model_node_names(path, hints)
        device_path = _profile_path(device, "device profile", path, names, stack)
        server_path = _profile_path(server, "server profile", path, names, stack)
        data = _core.plan_device_server(
            path, hints, device_path, server_path, rate, delay, rates, batch, dims
        )
        request = {
            "device": _describe(device),
            "server": _describe(server),
            "bandwidth": rate,
            "rtt": delay,
            "sweep": rates,
            "batch": batch,
            "dims": dims,
        }
        return Plan(_kept(model), request, data)


def _kept(model: api.ModelArg):
    """What the plan keeps to split later: the path, or the in-memory model."""
    return model if api._is_model_proto(model) else os.fspath(model)


def _describe(profile) -> str | dict | None:
    """How a profile is named in the request: its path, or, for a profile
    given as a dict, where it was measured."""
    if profile is None:
        return None
    if isinstance(profile, Mapping):
        return {key: profile.get(key) for key in ("runtime", "machine", "runs", "threads")}
    return os.fspath(profile)
