# Deploying a chain: check the parts chain and the settings, join or start
# Ray, build the Ray Serve application (one Stage deployment per part, the
# Ingress in front), run it and wait, with progress and a time limit, until
# every replica is up. ServedChain is what the caller gets back: the URL,
# the handle, run() and shutdown().
from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .. import _core
from .loopback import set_local_environment
from .options import (
    Config,
    check_boundary,
    check_serve,
    check_stage,
    config_from_dict,
    default_config,
    read_config,
)
from .signature import PartSignature, check_chain, read_signature, spec_to_dict

Progress = Callable[[str], None]


def load_config(parts: int, config: Config | Mapping | str | os.PathLike | None) -> Config:
    """The settings, from a Config, a mapping shaped as the config file, or
    the path of a YAML/JSON config file."""
    if config is None:
        return default_config(parts)
    if isinstance(config, Config):
        if len(config.stages) != parts or len(config.boundaries) != parts - 1:
            raise _core.Error(
                f"the config has {len(config.stages)} stages and {len(config.boundaries)} "
                f"boundaries; the chain has {parts} parts"
            )
        for index, stage in enumerate(config.stages):
            check_stage(stage, f"stage {index + 1}")
        for index, boundary in enumerate(config.boundaries):
            check_boundary(boundary, f"cut {index + 1}")
        check_serve(config.serve)
        return config
    if isinstance(config, (str, os.PathLike)):
        return read_config(os.fspath(config), parts)
    return config_from_dict(dict(config), parts)


def prepare(parts: Sequence[str | os.PathLike], config: Config) -> list[PartSignature]:
    """Everything that can be refused before Ray is touched: files, chain,
    batching."""
    signatures = [read_signature(part) for part in parts]
    check_chain(signatures)
    for index, (signature, stage) in enumerate(zip(signatures, config.stages)):
        if stage.batching and signature.batch_symbol is None:
            raise _core.Error(
                f"stage {index + 1} ({signature.label}) cannot batch requests: its inputs and "
                "outputs do not share a symbolic first dimension"
            )
    return signatures


def describe(signatures: Sequence[PartSignature], config: Config) -> dict:
    """What GET on the chain's URL answers."""
    stages = []
    for signature, stage in zip(signatures, config.stages):
        stages.append(
            {
                "part": signature.label,
                "inputs": [spec.name for spec in signature.inputs],
                "outputs": [spec.name for spec in signature.outputs],
                "replicas": stage.replicas,
                "resources": {"CPU": stage.num_cpus, **stage.resources},
                "max_batch_size": stage.max_batch_size if stage.batching else 0,
            }
        )
    cuts = []
    for index, boundary in enumerate(config.boundaries):
        action = getattr(boundary.intervene, "__qualname__", None) if boundary.intervene else None
        cuts.append({"values": stages[index + 1]["inputs"], "noise": boundary.noise, "intervene": action})
    return {
        "name": config.serve.name,
        "inputs": [spec_to_dict(spec) for spec in signatures[0].inputs],
        "outputs": [spec_to_dict(spec) for spec in signatures[-1].outputs],
        "stages": stages,
        "cuts": cuts,
    }


def build_app(signatures: Sequence[PartSignature], config: Config):
    """The Ray Serve application (Ray must be initialised: the parts are put
    in its object store)."""
    from .ingress import Ingress
    from .stage import Stage, part_source

    stages = []
    for index, (signature, stage) in enumerate(zip(signatures, config.stages)):
        ongoing = max(8, 2 * stage.max_batch_size)  # a full batch can gather while one runs
        deployment = Stage.options(
            name=f"stage{index + 1}",
            num_replicas=stage.replicas,
            max_ongoing_requests=ongoing,
            ray_actor_options={
                "num_cpus": stage.num_cpus,
                "num_gpus": stage.num_gpus,
                "resources": stage.custom_resources,
            },
        )
        source = part_source(signature.path, config.serve.shared_files)
        cut = config.boundaries[index - 1] if index > 0 and config.boundaries[index - 1].active else None
        stages.append(
            deployment.bind(
                index + 1,
                signature.label,
                source,
                cut,
                stage.threads,
                config.serve.optimize,
                stage.max_batch_size if stage.batching else 0,
                stage.batch_wait_s,
            )
        )
    ingress = Ingress.options(name="ingress", max_ongoing_requests=256, ray_actor_options={"num_cpus": 0})
    return ingress.bind(
        describe(signatures, config),
        signatures[0].inputs,
        stages,
        config.serve.timeout_s,
        config.serve.attempts,
        config.serve.max_request_bytes,
    )


# ------------------------------------------------------------------ Ray


def _starts_ray(config: Config) -> bool:
    """Whether deploy() will start a Ray instance on this machine: no
    cluster address, and Ray not initialised in this process."""
    if config.serve.address:
        return False
    if "ray" not in sys.modules:
        return True
    import ray

    return not ray.is_initialized()


def _imports_from_working_directory() -> bool:
    """Whether this process imports modules from its working directory: ''
    or the directory itself is on sys.path (`python -c`, `python -m`, a
    notebook), not under `python -I` or `-P`, as the native `modelcut`
    runs Python, nor from an installed script."""
    try:
        here = os.path.realpath(os.getcwd())
    except OSError:
        return False  # a removed folder: nothing can be imported from it
    return any(isinstance(entry, str) and os.path.realpath(entry or os.curdir) == here for entry in sys.path)


@contextlib.contextmanager
def _workers_import_as_this_process():
    """Around ray.init: Ray's workers import from the working directory only
    if this process does.

    ray.init puts the driver's working directory first on the sys.path of
    every worker of its job (JobConfig._py_driver_sys_path, Ray 2.60), so
    Serve's controller, proxy and every replica would import a numpy.py,
    onnxruntime.py or modelcut/ found in the folder `modelcut serve` runs
    in, although the command itself (python -I) never would. Ray has no
    setting against it (only a runtime_env working_dir, which uploads a
    folder and moves the workers into it), so ray.init runs in "/" instead:
    it is on every node, only root can write to it, and it holds no Python
    module (its folders could only be namespace packages, which any real
    module of the same name shadows). Not a temporary folder: the path
    stays in the job's settings for as long as the Serve controller lives,
    on every node, and a removed one could be made again by anyone. A
    local Ray's processes keep "/" as their working directory. When this
    process imports from its working directory (a notebook, `python -m`),
    Ray's default stays: replicas may import the user's own modules, as
    the driver does.

    Ray's `uv run` hook is off for the same reason: run by `uv run`, it
    would upload the working directory ("/" here) as the workers'
    runtime_env working_dir and put it on their path."""
    if _imports_from_working_directory():
        yield
        return
    from ray._private import ray_constants

    uv_hook = getattr(ray_constants, "RAY_ENABLE_UV_RUN_RUNTIME_ENV", None)
    # A descriptor, not the path: the folder is found again even if it was
    # renamed meanwhile, and O_PATH needs no permission to read it.
    saved = os.open(os.curdir, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
    try:
        if uv_hook is not None:
            ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = False
        os.chdir("/")
        yield
    finally:
        os.fchdir(saved)
        os.close(saved)
        if uv_hook is not None:
            ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = uv_hook


def _start_ray(config: Config, progress: Progress, log_level: str) -> bool:
    """Joins the cluster at config.serve.address, or starts a Ray instance
    on this machine, on 127.0.0.1; True when this call started Ray. The
    working directory is back as it was when it returns: relative paths
    of parts mean the same after it."""
    starts = _starts_ray(config)
    if starts:
        set_local_environment()
    import ray

    if ray.is_initialized():
        return False
    address = config.serve.address
    if not starts:
        progress(f"joining the Ray cluster at {address}")
        with _workers_import_as_this_process():
            ray.init(address=address, log_to_driver=False, logging_level=log_level)
        return False
    # Logical CPUs: as many as the replicas reserve, so that a chain of
    # more parts than this machine has cores still deploys here.
    needed = sum(stage.num_cpus * stage.replicas for stage in config.stages)
    cpus = max(os.cpu_count() or 1, int(np.ceil(needed)))
    progress(f"starting Ray on this machine ({cpus} CPUs)")
    with _workers_import_as_this_process():
        ray.init(
            num_cpus=cpus,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            logging_level=log_level,
        )
    return True


def check_resources(signatures: Sequence[PartSignature], config: Config) -> None:
    """Refuses a stage that no node of the cluster could ever run: it would
    wait for its replicas forever."""
    import ray

    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    for index, (signature, stage) in enumerate(zip(signatures, config.stages)):
        wanted = {"CPU": stage.num_cpus, "GPU": stage.num_gpus, **stage.custom_resources}
        wanted = {name: amount for name, amount in wanted.items() if amount > 0}
        if any(all(node.get(name, 0) >= amount for name, amount in wanted.items()) for node in nodes):
            continue
        lacking = {
            name: amount
            for name, amount in wanted.items()
            if not any(node.get(name, 0) >= amount for node in nodes)
        }
        text = ", ".join(f"{name}={amount:g}" for name, amount in (lacking or wanted).items())
        raise _core.Error(
            f"stage {index + 1} ({signature.label}) asks for {text} but no node of the Ray "
            f"cluster has {'it' if len(lacking) == 1 else 'them'} (start the machine with "
            "`ray start --resources '{\"NAME\": AMOUNT}'`)"
        )


def _hold_port(host: str, port: int):
    """A socket bound to host:port as Ray Serve's HTTP proxy binds it
    (SO_REUSEADDR: a port whose last connections wait in TIME_WAIT is free
    to listen on), held while Ray starts so that none of its processes
    takes the port; the caller closes it just before the proxy binds.
    Refuses a port that something here listens on."""
    import socket

    holder = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind((host, port))
    except OSError as error:
        holder.close()
        raise _core.Error(
            f"cannot listen on {host}:{port} ({error.strerror}); choose another --port"
        ) from None
    return holder


def _start_serve(host: str, port: int, timeout_s: float) -> None:
    """Starts Ray Serve with its HTTP proxy on host:port, on the head node;
    a port the proxy cannot bind is one line, not Ray's traceback."""
    import ray.exceptions
    from ray import serve

    try:
        serve.start(
            proxy_location="HeadOnly",
            http_options={"host": host, "port": port, "request_timeout_s": timeout_s},
            logging_config={"log_level": "WARNING", "enable_access_log": False},
        )
    except ray.exceptions.RayTaskError as error:
        if "Failed to bind to address" not in str(error):
            raise
        serve.shutdown()
        raise _core.Error(
            f"cannot listen on {host}:{port} (taken on the head node); choose another --port"
        ) from None


def _running_http(progress: Progress) -> tuple[str, int] | None:
    """(host, port) of Ray Serve's HTTP proxy when Serve already runs in
    the cluster: a new chain is served there, beside the others, whatever
    host and port were asked for."""
    import ray

    try:
        controller = ray.get_actor("SERVE_CONTROLLER_ACTOR", namespace="serve")
    except ValueError:
        return None
    http = ray.get(controller.get_http_config.remote(), timeout=30)
    progress(f"Ray Serve already runs in this cluster, with HTTP on {http.host}:{http.port}")
    return http.host, http.port


def _wait_until_running(name: str, timeout_s: float, progress: Progress) -> None:
    from ray import serve

    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        application = serve.status().applications.get(name)
        status = str(getattr(application, "status", "")).rsplit(".", 1)[-1]
        if status == "RUNNING":
            return
        if status == "DEPLOY_FAILED":
            raise _core.Error(f"deploying '{name}' failed: {' '.join(application.message.split())[:800]}")
        waiting = []
        for deployment, state in sorted((application.deployments if application else {}).items()):
            running = state.replica_states.get("RUNNING", 0)
            total = sum(state.replica_states.values())
            if str(state.status).rsplit(".", 1)[-1] != "HEALTHY":
                waiting.append(f"{deployment} {running}/{total or '?'}")
        line = "waiting for replicas: " + (", ".join(waiting) or "starting")
        if line != last:
            progress(line)
            last = line
        if time.monotonic() > deadline:
            raise _core.Error(
                f"'{name}' did not start within {timeout_s:g} s ({line}); the cluster may lack "
                "the CPUs or resources its replicas ask for"
            )
        time.sleep(0.5)


# ------------------------------------------------------------- deploying


class ServedChain:
    """A chain deployed on Ray Serve: `url` (HTTP), `handle` (Ray Serve
    handle of the ingress), run(feeds) and shutdown()."""

    def __init__(self, name: str, url: str, handle, description: dict, started_ray: bool) -> None:
        self.name = name
        self.url = url
        self.handle = handle
        self.description = description
        self._started_ray = started_ray

    def run(self, feeds: Mapping[str, np.ndarray], timeout_s: float | None = None) -> dict[str, np.ndarray]:
        """The chain's outputs for `feeds`, through the handle."""
        import ray.exceptions

        try:
            return self.handle.run.remote(dict(feeds)).result(timeout_s=timeout_s)
        except ray.exceptions.RayTaskError as error:
            if isinstance(error.cause, Exception):
                raise error.cause from None
            raise

    def shutdown(self) -> None:
        """Deletes the application; stops Ray too if deploy() started it."""
        import ray
        from ray import serve

        if not ray.is_initialized():
            return
        serve.delete(self.name)
        if self._started_ray:
            serve.shutdown()
            ray.shutdown()

    def __enter__(self) -> ServedChain:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


def deploy(
    parts: Sequence[str | os.PathLike],
    config: Config | Mapping | str | os.PathLike | None = None,
    *,
    progress: Progress | None = None,
    deploy_timeout_s: float = 300.0,
    ray_log_level: str = "WARNING",
) -> ServedChain:
    """Deploys the ONNX `parts` (in chain order) on Ray Serve and returns
    once every replica is up.

        served = modelcut.serve.deploy(["p1.onnx", "p2.onnx"], {"stages": [{}, {"replicas": 2}]})
        outputs = served.run({"x": x})          # or POST .npz/JSON to served.url

    `config` is a Config, a mapping, or a YAML/JSON file (see `modelcut serve
    --help` for its keys). Ray is joined at the config's `address`, or
    started on this machine (127.0.0.1) when there is none and Ray is not
    initialised yet. `ray_log_level` is the level of Ray's own log lines
    in this process (on stderr). The replicas import modules from this
    process's working directory only if this process does (a notebook,
    `python -c`, `python -m`), not when it runs isolated (`python -I`, as
    `modelcut serve` does); Ray alone would let them in either way."""
    progress = progress or (lambda line: None)
    config = load_config(len(parts), config)
    signatures = prepare(parts, config)
    options = config.serve
    # The proxy will listen on this machine: its port is checked (and kept)
    # before Ray starts, so that a taken port is refused at once.
    held = _hold_port(options.host, options.port) if _starts_ray(config) else None
    started = False
    try:
        started = _start_ray(config, progress, ray_log_level)
        from ray import serve

        # Serve's INFO lines ("Started Serve", "Connecting to existing Serve
        # app") would drown the caller's own progress, unless asked for.
        logging.getLogger("ray.serve").setLevel(ray_log_level)
        check_resources(signatures, config)
        running = _running_http(progress)
        if running is None:
            if held is not None:
                held.close()
            # One HTTP proxy, on the head node: the URL is the head's.
            _start_serve(options.host, options.port, options.timeout_s * (len(parts) + 1))
            host, port = options.host, options.port
        else:
            host, port = running
        progress(f"deploying {len(parts)} stage{'s' if len(parts) != 1 else ''} as '{options.name}'")
        serve.run_many(
            [
                serve.RunTarget(
                    build_app(signatures, config),
                    name=options.name,
                    route_prefix=options.route,
                    logging_config={"log_level": "WARNING", "enable_access_log": False},
                )
            ],
            wait_for_applications_running=False,
        )
        _wait_until_running(options.name, deploy_timeout_s, progress)
    except BaseException:
        if started:
            import ray
            from ray import serve

            serve.shutdown()
            ray.shutdown()
        raise
    finally:
        if held is not None:
            held.close()
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"http://{host}:{port}{options.route}"
    return ServedChain(
        options.name, url, serve.get_app_handle(options.name), describe(signatures, config), started
    )
