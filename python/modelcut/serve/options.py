# How the chain is served: per stage (replicas, Ray resources that pin it to
# machines, dynamic batching, ONNX Runtime threads), per boundary (noise or a
# Python callable acting on the values crossing the cut), and for the whole
# service (address, route, timeouts, limits). They come from the Python API,
# from a YAML/JSON config file or from command-line options, which override
# the file; every bad value is refused with a line naming where it is.
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import _core
from ..plan.units import parse_bytes, parse_seconds


@dataclass
class StageOptions:
    """One stage: a Ray Serve deployment running one part.

    `resources` are Ray resources each replica reserves: "CPU" and "GPU" as
    Ray counts them, and custom ones such as {"edge": 1} that only the
    machines started with them (`ray start --resources '{"edge": 1}'`) have,
    which pins the stage there. `max_batch_size` > 1 turns on Ray Serve's
    dynamic batching (only for a part whose first dimension is symbolic)."""

    replicas: int = 1
    resources: dict[str, float] = field(default_factory=dict)
    max_batch_size: int = 0
    batch_wait_s: float = 0.005
    threads: int = 1

    @property
    def num_cpus(self) -> float:
        return self.resources.get("CPU", 1.0)

    @property
    def num_gpus(self) -> float:
        return self.resources.get("GPU", 0.0)

    @property
    def custom_resources(self) -> dict[str, float]:
        return {name: amount for name, amount in self.resources.items() if name not in ("CPU", "GPU")}

    @property
    def batching(self) -> bool:
        return self.max_batch_size > 1


@dataclass
class BoundaryOptions:
    """One cut: Gaussian noise of std `noise` on its float values (as
    `modelcut run --noise`), then `intervene(boundary_index, values)`, a
    callable returning the values to pass on (or None to pass them as is)."""

    noise: float = 0.0
    seed: int = 0
    intervene: Callable | None = None

    @property
    def active(self) -> bool:
        return self.noise > 0 or self.intervene is not None


@dataclass
class ServeOptions:
    """The service as a whole. `address` None starts a Ray instance on this
    machine (on 127.0.0.1); "auto" or "HOST:PORT" joins a running cluster.
    `shared_files` makes every replica read its part from the same path
    (a shared file system) instead of receiving it through Ray's object store."""

    name: str = "modelcut"
    host: str = "127.0.0.1"
    port: int = 8000
    route: str = "/"
    address: str | None = None
    optimize: bool = False
    shared_files: bool = False
    timeout_s: float = 60.0
    attempts: int = 5
    max_request_bytes: int = 1 << 30


# ------------------------------------------------------------ checking


def check_stage(stage: StageOptions, where: str) -> None:
    _positive_int(stage.replicas, f"{where} replicas")
    _positive_int(stage.threads, f"{where} threads")
    if (
        not isinstance(stage.max_batch_size, int)
        or isinstance(stage.max_batch_size, bool)
        or stage.max_batch_size < 0
    ):
        raise _core.Error(f"{where} max_batch_size must be a whole number >= 0, not {stage.max_batch_size!r}")
    _finite(stage.batch_wait_s, f"{where} batch_wait", minimum=0.0)
    if not isinstance(stage.resources, Mapping):
        raise _core.Error(f"{where} resources must map resource names to amounts")
    for name, amount in stage.resources.items():
        if not isinstance(name, str) or not name:
            raise _core.Error(f"{where} resources: {name!r} is not a resource name")
        _finite(amount, f"{where} resource '{name}'", minimum=0.0)


def check_boundary(boundary: BoundaryOptions, where: str) -> None:
    _finite(boundary.noise, f"{where} noise", minimum=0.0)
    if not isinstance(boundary.seed, int) or isinstance(boundary.seed, bool):
        raise _core.Error(f"{where} seed must be a whole number, not {boundary.seed!r}")
    if boundary.intervene is not None and not callable(boundary.intervene):
        raise _core.Error(f"{where} intervene must be callable, not a {type(boundary.intervene).__name__}")


def check_serve(options: ServeOptions) -> None:
    if not isinstance(options.name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", options.name):
        raise _core.Error(f"the service name {options.name!r} must be letters, digits, '_', '.' or '-'")
    if not isinstance(options.route, str) or not options.route.startswith("/"):
        raise _core.Error(f"the route {options.route!r} must start with '/'")
    if not isinstance(options.port, int) or not 0 < options.port < 65536:
        raise _core.Error(f"the port {options.port!r} is not a TCP port (1-65535)")
    _finite(options.timeout_s, "the timeout", minimum=0.001)
    _positive_int(options.attempts, "attempts")
    _positive_int(options.max_request_bytes, "max_request_bytes")


def _positive_int(value, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _core.Error(f"{what} must be a whole number >= 1, not {value!r}")


def _finite(value, what: str, minimum: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < minimum
    ):
        raise _core.Error(f"{what} must be a number >= {minimum:g}, not {value!r}")


# ------------------------------------------------------- interventions


def load_callable(spec: str, what: str = "--intervene") -> Callable:
    """`module:function` (importable) or `path/to/file.py:function`. A file's
    module is sent to the replicas by value, so it need not be installed
    on the machines of the cluster."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise _core.Error(f"{what} {spec!r}: write MODULE:FUNCTION or FILE.py:FUNCTION")
    try:
        if module_name.endswith(".py"):
            _core.check_input_file(module_name)
            name = "modelcut_intervention_" + re.sub(r"\W", "_", os.path.basename(module_name)[:-3])
            loader_spec = importlib.util.spec_from_file_location(name, module_name)
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            # No __pycache__ beside the user's file: a command writes only
            # its outputs, never into the folders it reads.
            writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
            try:
                loader_spec.loader.exec_module(module)
            finally:
                sys.dont_write_bytecode = writes_bytecode
            from ray import cloudpickle  # Ray's own copy, the one that pickles deployments

            cloudpickle.register_pickle_by_value(module)
        else:
            module = importlib.import_module(module_name)
    except _core.Error:
        raise
    except Exception as error:
        # The command imports nothing from the working directory (python -I):
        # a module of the user's own is named by its file.
        hint = ""
        if (
            isinstance(error, ModuleNotFoundError)
            and error.name
            and (module_name == error.name or module_name.startswith(error.name + "."))
        ):
            hint = f"; name a module file by its path: {module_name.replace('.', '/')}.py:{attribute}"
        raise _core.Error(
            f"{what} {spec!r}: cannot load {module_name} ({type(error).__name__}: {error}){hint}"
        ) from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise _core.Error(f"{what} {spec!r}: {module_name} has no callable '{attribute}'")
    return function


# ------------------------------------------------------ config files

_STAGE_KEYS = {"replicas", "resources", "max_batch_size", "batch_wait", "threads"}
_BOUNDARY_KEYS = {"noise", "seed", "intervene"}
_SERVE_KEYS = {
    "name",
    "host",
    "port",
    "route",
    "address",
    "optimize",
    "shared_files",
    "timeout",
    "attempts",
    "max_request_bytes",
}


@dataclass
class Config:
    stages: list[StageOptions]
    boundaries: list[BoundaryOptions]
    serve: ServeOptions


def default_config(parts: int) -> Config:
    return Config(
        [StageOptions() for _ in range(parts)], [BoundaryOptions() for _ in range(parts - 1)], ServeOptions()
    )


# A config names a few settings per stage and per cut: a larger file is not
# one, and reading it whole (YAML expands what it holds) would cost memory.
_MAX_CONFIG_BYTES = 1 << 20


def read_config(path: str, parts: int) -> Config:
    """A YAML (.yaml, .yml) or JSON config file: top-level service keys,
    `stages:` (one entry per part, in chain order) and `boundaries:` (one
    per cut). See `modelcut serve --help`."""
    _core.check_input_file(path)
    try:
        with open(path, "rb") as file:
            text = file.read(_MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise _core.Error(f"--config '{path}' cannot be read ({error.strerror})") from None
    if len(text) > _MAX_CONFIG_BYTES:
        raise _core.Error(
            f"--config '{path}' is larger than {_MAX_CONFIG_BYTES // 1024} KiB; a serve "
            "config holds a few settings per stage and cut"
        )
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            document = yaml.safe_load(text)
        else:
            document = json.loads(text)
    except Exception as error:
        raise _core.Error(f"--config '{path}' cannot be read ({type(error).__name__}: {error})") from None
    return config_from_dict(document, parts, source=f"--config '{path}'")


def config_from_dict(document: Any, parts: int, source: str = "the config") -> Config:
    config = default_config(parts)
    if document is None:
        return config
    if not isinstance(document, dict):
        raise _core.Error(f"{source}: expected a mapping of settings at the top level")
    _refuse_unknown(document, _SERVE_KEYS | {"stages", "boundaries"}, source)
    serve = config.serve
    for key in _SERVE_KEYS & document.keys():
        value = document[key]
        if key == "timeout":
            serve.timeout_s = _seconds(value, f"{source}: timeout")
        elif key == "max_request_bytes":
            serve.max_request_bytes = _bytes(value, f"{source}: max_request_bytes")
        else:
            setattr(serve, key, value)
    _check_types(serve, source)
    stages = _entries(document, "stages", parts, source)
    for index, entry in enumerate(stages):
        where = f"{source}: stages[{index}]"
        _refuse_unknown(entry, _STAGE_KEYS, where)
        stage = config.stages[index]
        for key, value in entry.items():
            if key == "batch_wait":
                stage.batch_wait_s = _seconds(value, f"{where} batch_wait")
            elif key == "resources":
                stage.resources = dict(value) if isinstance(value, dict) else value
            else:
                setattr(stage, key, value)
        check_stage(stage, where)
    boundaries = _entries(document, "boundaries", parts - 1, source)
    for index, entry in enumerate(boundaries):
        where = f"{source}: boundaries[{index}]"
        _refuse_unknown(entry, _BOUNDARY_KEYS, where)
        boundary = config.boundaries[index]
        for key, value in entry.items():
            if key == "intervene":
                if not isinstance(value, str):
                    raise _core.Error(f"{where} intervene must be MODULE:FUNCTION or FILE.py:FUNCTION")
                boundary.intervene = load_callable(value, f"{where} intervene")
            else:
                setattr(boundary, key, value)
        check_boundary(boundary, where)
    check_serve(serve)
    return config


def _entries(document: dict, key: str, count: int, source: str) -> list[dict]:
    entries = document.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise _core.Error(f"{source}: {key} must be a list of mappings")
    if len(entries) > count:
        raise _core.Error(f"{source}: {len(entries)} {key} given but the chain has {count}")
    return entries


def _refuse_unknown(entry: dict, known: set[str], where: str) -> None:
    unknown = sorted(str(key) for key in entry if key not in known)
    if unknown:
        raise _core.Error(f"{where}: unknown setting(s) {unknown}; known: {sorted(known)}")


def _check_types(serve: ServeOptions, source: str) -> None:
    for item in dataclasses.fields(serve):
        value = getattr(serve, item.name)
        if item.name in ("optimize", "shared_files") and not isinstance(value, bool):
            raise _core.Error(f"{source}: {item.name} must be true or false")
        if item.name in ("name", "host", "route") and not isinstance(value, str):
            raise _core.Error(f"{source}: {item.name} must be a string")


def _seconds(value, what: str) -> float:
    if isinstance(value, str):
        try:
            return parse_seconds(value, what)
        except ValueError as error:
            raise _core.Error(str(error)) from None
    _finite(value, what, minimum=0.0)
    return float(value)


def _bytes(value, what: str) -> int:
    if isinstance(value, str):
        try:
            return parse_bytes(value, what)
        except ValueError as error:
            raise _core.Error(str(error)) from None
    _positive_int(value, what)
    return value


# ------------------------------------------------- command-line options


def apply_replicas(config: Config, text: str) -> None:
    """--replicas N (every stage) or N,N,... (one per stage)."""
    values = [value.strip() for value in text.split(",")]
    if len(values) not in (1, len(config.stages)):
        raise _core.Error(f"--replicas {text!r}: give one count, or one per stage ({len(config.stages)})")
    for index, stage in enumerate(config.stages):
        value = values[0] if len(values) == 1 else values[index]
        if not value.isdigit() or int(value) < 1:
            raise _core.Error(f"--replicas {text!r}: {value!r} is not a whole number >= 1")
        stage.replicas = int(value)


def apply_stage_resources(config: Config, text: str) -> None:
    """--stage-resources STAGE:NAME=AMOUNT[,NAME=AMOUNT...]; STAGE is a
    stage number (1 is the first part) or `all`."""
    stage_text, colon, spec = text.partition(":")
    if not colon or not spec:
        raise _core.Error(
            f"--stage-resources {text!r}: write STAGE:NAME=AMOUNT[,NAME=AMOUNT], e.g. 2:server=1,CPU=2"
        )
    if stage_text == "all":
        stages = config.stages
    elif stage_text.isdigit() and 1 <= int(stage_text) <= len(config.stages):
        stages = [config.stages[int(stage_text) - 1]]
    else:
        raise _core.Error(
            f"--stage-resources {text!r}: {stage_text!r} is not a stage number "
            f"(1-{len(config.stages)}) or 'all'"
        )
    resources = {}
    for item in spec.split(","):
        name, equals, amount = item.rpartition("=")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not equals or not name or not math.isfinite(value) or value < 0:
            raise _core.Error(f"--stage-resources {text!r}: {item!r} is not NAME=AMOUNT with AMOUNT >= 0")
        resources[name] = value
    for stage in stages:
        stage.resources = {**stage.resources, **resources}


def apply_batching(
    config: Config, max_batch_size: int | None, batch_wait_s: float | None, can_batch: Sequence[bool]
) -> list[int]:
    """--max-batch-size for every stage that can batch; returns the stage
    numbers that cannot (their part has no symbolic first dimension)."""
    skipped = []
    for index, stage in enumerate(config.stages):
        if batch_wait_s is not None:
            stage.batch_wait_s = batch_wait_s
        if max_batch_size is not None:
            if can_batch[index]:
                stage.max_batch_size = max_batch_size
            else:
                skipped.append(index + 1)
    return skipped


def apply_boundaries(config: Config, noise: float | None, seed: int | None, intervene: str | None) -> None:
    function = load_callable(intervene) if intervene else None
    for index, boundary in enumerate(config.boundaries):
        if noise is not None:
            boundary.noise = noise
        if seed is not None:
            boundary.seed = seed
        if function is not None:
            boundary.intervene = function
        check_boundary(boundary, f"cut {index + 1}")
