# `modelcut serve`: the command line over deploy(). Reads the settings (a
# config file, then the options, which override it), refuses what is wrong
# before Ray starts, deploys, prints where the chain answers and serves
# until Ctrl-C or SIGTERM, then takes the application down again.
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading

SERVE_HELP = """\
Serve a chain of ONNX parts (from `modelcut split`) on Ray Serve: one
deployment per part, each replica an ONNX Runtime session, and an ingress
that takes requests and passes each part's outputs to the next by name.

  modelcut serve parts/m.part1.onnx parts/m.part2.onnx parts/m.part3.onnx
  curl --data-binary @inputs.npz http://127.0.0.1:8000/ -o outputs.npz
  curl -H 'Content-Type: application/json' -d '{"x": [[1, 2, 3]]}' http://127.0.0.1:8000/
  curl http://127.0.0.1:8000/                # what the chain takes and gives
  modelcut run parts/m.part1.onnx --remote http://SERVER:8000/   # split computing

Requests: POST the inputs as .npz (by input name), .npy (one input) or a
JSON object ({"x": [[...]]}); the answer comes in the same format (JSON:
{"y": {"dtype", "shape", "data"}}), with the time spent per stage in the
X-Modelcut-Timing header. A request with a missing, extra, mistyped or
misshapen input gets 400 and one line naming it; a stage that fails 500,
one that stays unavailable 503, one that does not answer in --timeout 504.

Without --address, Ray starts on this machine and every server it and
Ray Serve open listens on 127.0.0.1 (the HTTP proxy too, unless --host).
Only modelcut's own lines go to stdout; Ray's log lines are hidden unless
-v shows them on stderr. On a cluster:
  head:    ray start --head --node-ip-address HEAD_IP --resources '{"edge": 1}'
  others:  ray start --address HEAD_IP:6379 --resources '{"server": 1}'
  then:    modelcut serve p1.onnx p2.onnx --address auto --host 0.0.0.0 \\
             --stage-resources 1:edge=1 --stage-resources 2:server=1
Each stage's part reaches its nodes through Ray's object store (unless
--shared-files). A custom resource pins a stage to the machines that have it.

--config FILE (YAML or JSON) holds the same settings, per stage and per cut:
  port: 8000                       # also name, host, route, address, optimize,
  timeout: 30s                     #   shared_files, attempts, max_request_bytes
  stages:                          # one entry per part, in chain order
    - {replicas: 1, resources: {edge: 1}}
    - {replicas: 2, resources: {CPU: 2, server: 1}, max_batch_size: 8, batch_wait: 5ms, threads: 1}
  boundaries:                      # one entry per cut
    - {noise: 0.1, seed: 0, intervene: "my_module:clip"}   # or "file.py:function"
An intervention is called as function(cut_index, values) with the dict of
numpy arrays crossing the cut; it returns the values to pass on (or None)."""


def add_serve_parser(commands, formatter) -> argparse.ArgumentParser:
    serve = commands.add_parser(
        "serve",
        help="serve a chain of ONNX parts on Ray Serve (HTTP and handle)",
        description=SERVE_HELP,
        formatter_class=formatter,
    )
    serve.add_argument("parts", metavar="PART", nargs="+", help="the ONNX parts, in chain order")
    serve.add_argument(
        "--config", metavar="FILE", help="settings as YAML or JSON (see above); options override it"
    )
    stages = serve.add_argument_group("stages")
    stages.add_argument(
        "--replicas", metavar="N[,N...]", help="replicas of every stage, or one count per stage (default 1)"
    )
    stages.add_argument(
        "--stage-resources",
        action="append",
        metavar="STAGE:NAME=AMOUNT[,...]",
        help="Ray resources each replica of stage STAGE (1 = the first part, or 'all') "
        "reserves: CPU, GPU or a custom resource that pins it to machines "
        "(repeatable; default CPU=1)",
    )
    stages.add_argument(
        "--max-batch-size",
        type=int,
        metavar="N",
        help="dynamic batching: stack up to N requests per run, in every stage whose "
        "part has a symbolic first dimension (default off)",
    )
    stages.add_argument(
        "--batch-wait", metavar="DURATION", help="how long a batch waits to fill (default 5ms)"
    )
    stages.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="ONNX Runtime threads per replica (default 1: bit-exact, repeatable results)",
    )
    stages.add_argument(
        "--optimize", action="store_true", default=None, help="let ONNX Runtime optimise the parts' graphs"
    )
    stages.add_argument(
        "--shared-files",
        action="store_true",
        default=None,
        help="replicas read the parts at the same paths (a shared file system) instead of "
        "receiving them through Ray's object store",
    )
    cuts = serve.add_argument_group("at the cuts")
    cuts.add_argument("--noise", type=float, metavar="SIGMA", help="std of Gaussian noise added at every cut")
    cuts.add_argument("--seed", type=int, metavar="N", help="seed of the noise (default 0)")
    cuts.add_argument(
        "--intervene",
        metavar="MODULE:FUNCTION",
        help="a Python function(cut_index, values) -> values called at every cut "
        "(MODULE:FUNCTION or FILE.py:FUNCTION)",
    )
    service = serve.add_argument_group("service")
    service.add_argument(
        "--address",
        metavar="ADDRESS",
        help="join a running Ray cluster ('auto' or HOST:PORT); default: start Ray here",
    )
    service.add_argument(
        "--host",
        metavar="HOST",
        help="HTTP address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    service.add_argument("--port", type=int, metavar="PORT", help="HTTP port (default 8000)")
    service.add_argument("--route", metavar="PATH", help="URL path of the chain (default /)")
    service.add_argument("--name", metavar="NAME", help="Ray Serve application name (default modelcut)")
    service.add_argument(
        "--timeout",
        metavar="DURATION",
        help="how long a request may take, retries of a lost replica included (default 60s)",
    )
    service.add_argument(
        "--max-request-bytes", metavar="SIZE", help="largest request accepted (default 1GiB)"
    )
    service.add_argument(
        "--deploy-timeout",
        metavar="DURATION",
        default="300s",
        help="how long to wait for every replica to start (default 300s)",
    )
    service.add_argument(
        "--json",
        action="store_true",
        help="once serving, print the URL and the chain as one JSON line on stdout",
    )
    service.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    service.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Ray's own log lines (INFO and up) on stderr; hidden by default",
    )
    serve.set_defaults(run=cmd_serve)
    return serve


def _settings(args):
    """The Config from --config and the options, and the stages the
    batching option skips."""
    from .. import _core
    from ..plan.units import parse_bytes, parse_seconds
    from .options import (
        apply_batching,
        apply_boundaries,
        apply_replicas,
        apply_stage_resources,
        check_serve,
        check_stage,
        default_config,
        read_config,
    )
    from .signature import read_signature

    parts = len(args.parts)
    config = read_config(args.config, parts) if args.config else default_config(parts)
    if args.replicas is not None:
        apply_replicas(config, args.replicas)
    for text in args.stage_resources or []:
        apply_stage_resources(config, text)
    if args.max_batch_size is not None and args.max_batch_size < 0:
        raise _core.Error(f"--max-batch-size {args.max_batch_size} must be >= 0")
    wait = parse_seconds(args.batch_wait, "--batch-wait") if args.batch_wait else None
    can_batch = [read_signature(part).batch_symbol is not None for part in args.parts]
    skipped = apply_batching(config, args.max_batch_size, wait, can_batch)
    if args.threads is not None:
        for stage in config.stages:
            stage.threads = args.threads
    for index, stage in enumerate(config.stages):
        check_stage(stage, f"stage {index + 1}")
    apply_boundaries(config, args.noise, args.seed, args.intervene)
    serve = config.serve
    for option in ("address", "host", "port", "route", "name", "optimize", "shared_files"):
        value = getattr(args, option)
        if value is not None:
            setattr(serve, option, value)
    if args.timeout:
        serve.timeout_s = parse_seconds(args.timeout, "--timeout")
    if args.max_request_bytes:
        serve.max_request_bytes = parse_bytes(args.max_request_bytes, "--max-request-bytes")
    check_serve(serve)
    return config, skipped


def cmd_serve(args) -> int:
    from ..plan.units import parse_seconds

    config, skipped = _settings(args)
    deploy_timeout = parse_seconds(args.deploy_timeout, "--deploy-timeout")
    say = (
        (lambda line: None)
        if args.quiet
        else (lambda line: print(f"modelcut serve: {line}", file=sys.stderr, flush=True))
    )
    if skipped and args.max_batch_size and args.max_batch_size > 1:
        say(
            f"stage(s) {', '.join(map(str, skipped))} do not batch: their part has no symbolic first dimension"
        )
    from .app import deploy

    with _stdout_for_modelcut_only(args.verbose) as out:
        # deploy() checks the parts chain before it starts or joins Ray
        served = deploy(
            args.parts,
            config,
            progress=say,
            deploy_timeout_s=deploy_timeout,
            ray_log_level="INFO" if args.verbose else "CRITICAL",
        )
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            try:
                if args.json:
                    print(json.dumps({"url": served.url, **served.description}), file=out, flush=True)
                else:
                    _print_summary(served, out)
                say("serving; Ctrl-C stops")
                while not stop.wait(0.5):
                    pass
                say("stopping")
            finally:
                served.shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return 0


@contextlib.contextmanager
def _stdout_for_modelcut_only(verbose: bool):
    """Yields the stream for modelcut's own output: stdout. Everything else
    that would go there goes to stderr (-v) or nowhere: Ray prints its
    raylet's messages to sys.stdout, and the processes it starts inherit
    file descriptor 1, so both are pointed elsewhere while Ray runs."""
    sys.stdout.flush()
    out = os.fdopen(
        os.dup(sys.stdout.fileno()), "w", buffering=1, encoding=sys.stdout.encoding, errors=sys.stdout.errors
    )
    original = sys.stdout
    elsewhere = os.dup(sys.stderr.fileno()) if verbose else os.open(os.devnull, os.O_WRONLY)
    os.dup2(elsewhere, original.fileno())
    os.close(elsewhere)
    sys.stdout = sys.stderr if verbose else open(os.devnull, "w")
    try:
        yield out
    finally:
        if sys.stdout is not sys.stderr:
            sys.stdout.close()
        sys.stdout = original
        os.dup2(out.fileno(), original.fileno())
        out.close()


def _print_summary(served, out) -> None:
    from ..cli import printable

    description = served.description
    print(f"serving '{served.name}' at {served.url}", file=out, flush=True)
    for index, stage in enumerate(description["stages"]):
        resources = ",".join(f"{name}={amount:g}" for name, amount in stage["resources"].items())
        batch = f", batches of up to {stage['max_batch_size']}" if stage["max_batch_size"] else ""
        print(
            printable(
                f"  stage {index + 1}: {stage['part']}  {stage['replicas']} replica(s), {resources}{batch}"
            ),
            file=out,
        )
    for index, cut in enumerate(description["cuts"]):
        actions = [f"noise {cut['noise']:g}"] if cut["noise"] else []
        actions += [f"intervene {cut['intervene']}"] if cut["intervene"] else []
        if actions:
            print(printable(f"  cut {index + 1}: {', '.join(actions)}"), file=out)
    inputs = ", ".join(spec["name"] for spec in description["inputs"])
    print(
        printable(f"POST the inputs ({inputs}) as .npz, .npy or JSON; GET describes the chain"),
        file=out,
        flush=True,
    )
