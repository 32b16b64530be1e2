# The `modelcut` command line: split, verify, run, merge, inspect, and
# choosing the cut: plan and profile.
# Exit codes: 0 done; 1 a verification above tolerance; 2 bad input (one line
# "modelcut: error: ..." on stderr); 3 an internal error, a bug of modelcut's
# (one line "modelcut: internal error: ..."; --debug shows the trace); 141
# when stdout is a pipe closed early (`modelcut inspect m.keras | head`),
# quietly, as a tool killed by SIGPIPE reports to its shell.
from __future__ import annotations

import argparse
import errno
import json
import os
import pickle
import re
import sys
import traceback
import zipfile
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from . import _core, api
from .outputs import check_output, output_file
from .plan import BALANCES, plan_device_server
from .plan import plan as plan_pipeline
from .plan import profile as profile_model
from .plan.plot import check_plot_path
from .plan.units import format_seconds, parse_bytes, parse_rate, parse_rates, parse_seconds
from .serve.command import add_serve_parser
from .text import printable

# numpy, onnx and ONNX Runtime are imported by the commands that use them
# (verify, run, --inputs), so that split, inspect and merge start at once.

EXIT_FAILED_CHECK = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE

DESCRIPTION = """\
Cut a trained model (ONNX, Keras .keras/.h5, or TensorFlow: a SavedModel
directory or a frozen .pb graph) into parts that compose exactly:
part2(part1(x)) == model(x).

  modelcut inspect model.onnx                  # layers and good places to cut
  modelcut split model.onnx --at fc2 -o parts  # write parts/model.part1.onnx, .part2.onnx
  modelcut verify model.onnx parts/*.onnx      # compare on ONNX Runtime
  modelcut split saved_model/ --at fc2 -o parts  # parts/saved_model.part1/, .part2/ (SavedModels)
  modelcut verify saved_model/ parts/saved_model.part*   # compare with TensorFlow
  modelcut run parts/*.onnx --noise 0.1        # run the parts, add noise at the cut
  modelcut merge parts/*.onnx -o whole.onnx    # compose the parts again (Keras: -o whole.keras)
  modelcut plan model.onnx --stages 4 --balance flops   # where to cut for 4 balanced stages
  modelcut profile model.onnx -o times.json    # time each node, for --balance time
  modelcut serve parts/*.onnx                  # serve the parts on Ray Serve (HTTP, handle)
  modelcut run parts/m.part1.onnx --remote http://HOST:8000/  # head here, the rest served

Exit codes: 0 done, 1 a verification above tolerance, 2 bad input, 3 an
internal error (a bug of modelcut's: --debug shows the trace), 141 stdout
closed early (e.g. by `| head`). --force never replaces or deletes a file
that the command reads, nor the model's external data or weight files.
"""

CUT_HELP = """\
where to cut: a tensor name ("/fc2/Gemm_output_0", "model/fc2/BiasAdd:0"),
a node name, or a layer as your framework calls it ("fc2", "layer3.1",
"block_6_expand"). Prefix with tensor:, node: or layer: to say which. Give
--at several times, in the order the model computes them, for more parts.
The cut falls after the named values; everything computed before it that is
still needed later (skip connections, masks, graph inputs) crosses too."""


def _print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _format_bytes(count: int | None) -> str:
    if count is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return "?"


class ProgressBar:
    """A one-line progress bar on a terminal's stderr; silent when piped."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.shown = False

    def __call__(self, part: int, done: int, total: int) -> None:
        if not self.enabled or total < 64 << 20:  # small parts write in a blink
            return
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(
            f"\rwriting part {part + 1}: [{'#' * filled}{'.' * (width - filled)}] "
            f"{_format_bytes(done)} / {_format_bytes(total)}  "
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def cmd_split(args) -> int:
    if args.output is None and args.weights != "in-place":
        raise ValueError("no output directory: give -o DIR (only --weights in-place writes beside the model)")
    threshold = args.external_threshold
    if threshold < 0:
        raise ValueError(f"--external-threshold {threshold}: give a number of bytes >= 0")
    if threshold >= 2**64:
        raise ValueError(f"--external-threshold {threshold}: give a number of bytes below 2**64")
    bar = ProgressBar(enabled=not args.quiet and not args.json)
    try:
        status = None if args.quiet or args.json else (lambda text: print(printable(text), file=sys.stderr))
        result = api.split(
            args.model,
            args.at,
            args.output,
            overwrite=args.force,
            weights=args.weights,
            external_threshold=args.external_threshold,
            progress=bar,
            signature=args.signature,
            status=status,
        )
    finally:
        bar.close()
    if args.json:
        _print_json(result.to_dict())
        return 0
    if not args.quiet:
        for cut in result.cuts:
            values = ", ".join(cut["values"])
            print(
                printable(f"cut {cut['spec']!r}: {cut['kind']} {cut['resolved_name']} -> {values}"),
                file=sys.stderr,
            )
        for index, part in enumerate(result.parts[:-1]):
            crossing = ", ".join(f"{value['name']} {value['type']}" for value in part["outputs"])
            print(printable(f"boundary {index + 1}: {crossing}"), file=sys.stderr)
    for path in result.paths:
        print(path)
    return 0


def _feeds(args, model) -> dict[str, np.ndarray]:
    from ._ort import load_feeds, random_inputs

    if args.inputs:
        return load_feeds(args.inputs, model)
    return random_inputs(model, seed=args.seed, batch=args.batch)


def cmd_verify(args) -> int:
    from ._ort import load_feeds
    from .verification import verify

    if api.is_keras_file(args.model) or api.is_tf_model(args.model):  # these read the feeds file themselves
        feeds = args.inputs
    else:
        feeds = load_feeds(args.inputs, args.model) if args.inputs else None
    if api.is_tf_model(args.model):
        from .tf.verify_tf import verify_tf

        report = verify_tf(
            args.model,
            args.parts,
            feeds=args.inputs,
            seed=args.seed,
            batch=args.batch,
            atol=args.atol,
            rtol=args.rtol,
            signature=args.signature,
        )
    else:
        report = verify(
            args.model,
            args.parts,
            feeds=feeds,
            seed=args.seed,
            batch=args.batch,
            atol=args.atol,
            rtol=args.rtol,
            optimize=args.optimize,
            safe_mode=not args.unsafe,
        )
    if args.json:
        _print_json(report.to_dict())
    else:
        # Output names come from the files: each line of the table made printable.
        print("\n".join(printable(line) for line in report.format_table().splitlines()))
    return 0 if report.ok else EXIT_FAILED_CHECK


def cmd_run(args) -> int:
    if api.is_keras_file(args.parts[0]):
        raise ValueError(
            "modelcut run runs ONNX parts; load Keras parts with keras.models.load_model "
            "(modelcut verify checks them)"
        )
    import numpy as np

    from .intervene import gaussian_noise, run_chain

    feeds = _feeds(args, args.parts[0])
    intervention = gaussian_noise(args.noise, seed=args.seed) if args.noise else None
    remote = None
    if args.remote:
        from .serve.client import Client, run_split

        client = Client(
            args.remote,
            timeout_s=parse_seconds(args.timeout, "--timeout"),
            max_answer_bytes=parse_bytes(args.max_answer, "--max-answer"),
        )
        remote = run_split(
            args.parts, args.remote, feeds, intervention=intervention, optimize=args.optimize, client=client
        )
        outputs = remote.outputs
    else:
        outputs = run_chain(args.parts, feeds, intervention=intervention, optimize=args.optimize)
    reference = run_chain([args.reference], feeds) if args.reference else None
    rows = []
    for name, value in outputs.items():
        row = {"name": name, "shape": list(value.shape), "dtype": str(value.dtype)}
        if np.issubdtype(value.dtype, np.floating):
            row["mean"] = float(np.mean(value))
            row["std"] = float(np.std(value))
        if reference is not None and name in reference:
            row["max_abs_change"] = float(np.max(np.abs(value.astype(np.float64) - reference[name])))
        rows.append(row)
    if args.save:
        _save_outputs(args, outputs)
    summary = _remote_summary(args, remote) if remote else None
    if args.json:
        _print_json({"noise": args.noise, "outputs": rows, **({"remote": summary} if summary else {})})
        return 0
    if summary:
        print(_remote_text(summary))
    for row in rows:
        text = f"{row['name']}: {row['dtype']}{row['shape']}"
        if "mean" in row:
            text += f" mean {row['mean']:.6g} std {row['std']:.6g}"
        if "max_abs_change" in row:
            text += f"  max abs change vs {os.path.basename(args.reference)}: {row['max_abs_change']:.6g}"
        print(printable(text))
    return 0


def _remote_summary(args, remote) -> dict:
    exchange = remote.exchange
    return {
        "url": args.remote,
        "sent_bytes": exchange.sent_bytes,
        "received_bytes": exchange.received_bytes,
        "local_s": sum(remote.local_s),
        "round_trip_s": exchange.round_trip_s,
        "server_s": exchange.server_s,
        "network_s": exchange.network_s,
        "server_stages_s": exchange.server.get("stages_s"),
    }


def _remote_text(summary: dict) -> str:
    """Where the time went: here, on the wire (and in HTTP), on the server."""
    lines = [
        f"sent {_format_bytes(summary['sent_bytes'])} to {printable(summary['url'])}, "
        f"received {_format_bytes(summary['received_bytes'])}",
        f"  here:   {format_seconds(summary['local_s'])} (the local parts)",
    ]
    if summary["server_s"] is not None:
        stages = summary["server_stages_s"] or []
        per_stage = ", ".join(format_seconds(seconds) for seconds in stages)
        lines.append(
            f"  wire:   {format_seconds(summary['network_s'])} (round trip "
            f"{format_seconds(summary['round_trip_s'])} less the server's time)"
        )
        lines.append(f"  server: {format_seconds(summary['server_s'])} ({len(stages)} stage(s): {per_stage})")
    else:
        lines.append(f"  round trip: {format_seconds(summary['round_trip_s'])}")
    return "\n".join(lines)


def _save_outputs(args, outputs: dict[str, np.ndarray]) -> None:
    """Writes --save under a temporary name and renames it into place, never
    over a file this run read."""
    target = args.save if args.save.endswith(".npz") else args.save + ".npz"  # as np.savez names it
    reads = [
        *args.parts,
        *([args.reference] if args.reference else []),
        *([args.inputs] if args.inputs else []),
    ]
    reads = [
        file for path in reads for file in ([path] if api.is_keras_file(path) else _core.input_files(path))
    ]
    check_output(target, reads, overwrite=True)  # --save replaces an earlier result, never an input
    import numpy as np

    with output_file(target) as temporary:  # named *.npz: np.savez adds nothing
        np.savez(temporary, **outputs)


def cmd_merge(args) -> int:
    result = api.merge(args.parts, args.output, overwrite=args.force)
    if not args.quiet:
        print(f"{result['nodes']} nodes, {result['initializers']} initializers", file=sys.stderr)
    print(result["path"])
    return 0


def cmd_inspect(args) -> int:
    report = api.inspect(args.model, signature=args.signature)
    if args.json:
        _print_json(report)
        return 0

    def say(line: str) -> None:  # names come from the file: one printable line each
        print(printable(line))

    if report["format"] == "keras":
        say(
            f"{report['path']}: {report['nodes']} layer calls, {report['initializers']} weight arrays, "
            f"saved by {report['producer'] or '?'}"
        )
    elif report["format"] == "tf-graphdef":
        say(
            f"{report['path']}: TensorFlow GraphDef, {report['nodes']} nodes, {report['initializers']} Const weights, "
            f"producer version {report['format_version'] or '?'}"
        )
    else:
        opsets = ", ".join(f"{domain} {version}" for domain, version in report["opsets"].items())
        say(
            f"{report['path']}: {report['nodes']} nodes, {report['initializers']} initializers, "
            f"ir_version {report['ir_version']}, opsets {opsets}, producer {report['producer'] or '?'}"
        )
    keys = {}  # a SavedModel's signature keys, by the graph value they name
    if "signature" in report:
        signature = report["signature"]
        say(f"  SavedModel signature '{signature['name']}', frozen by TensorFlow")
        keys = {value: key for key, value in [*signature["inputs"].items(), *signature["outputs"].items()]}
    for kind in ("inputs", "outputs"):
        for value in report[kind]:
            key = (
                f" (key {keys[value['name']]})"
                if value["name"] in keys and keys[value["name"]] != value["name"]
                else ""
            )
            say(f"  {kind[:-1]:6} {value['name']}{key}  {value['type']}")
    layers = [layer for layer in report["layers"] if layer["depth"] <= args.depth]
    print(f"\nlayers (depth <= {args.depth}; --depth N for more):" if layers else "\nno layer scopes found")
    for layer in layers:
        outputs = ", ".join(f"{value['name']} {value['type']}" for value in layer["outputs"])
        say(f"  {'  ' * (layer['depth'] - 1)}{layer['name']}  -> {outputs}")
    print(f"\ncut points (one computed tensor crosses; bytes per batch item): {len(report['cut_points'])}")
    for point in report["cut_points"]:
        value = point["value"]
        layer = f"  [{point['layer']}]" if point["layer"] else ""
        passed = f" + {', '.join(point['passed_through'])}" if point["passed_through"] else ""
        say(f"  {value['name']}  {value['type']}  {_format_bytes(point['crossing_bytes'])}{passed}{layer}")
    return 0


# ------------------------------------------------------------ plan, profile

PLAN_HELP = """\
Choose where to cut.

Pipeline plan (--stages N): N stages whose most expensive stage is as cheap
as possible, by parameter bytes (--balance params), MACs computed from shapes
(flops) or time measured by `modelcut profile` (time; without --profile the
model is profiled first). The search is exact over every cut of one
topological order of the model, including cuts where several values cross.

Device/server plan (--device, --server, --bandwidth): the split with the
least predicted latency: device time before the cut, the bytes crossing it
over the link (plus --rtt), server time after it, over every valid 2-way
partition of the graph (a minimum cut); then the best plan at a range of
bandwidths (--sweep).

Sizes take units: 10MB/s, 100Mbit/s, 1GiB, 16MB, 20ms. The cuts print as
specs that `modelcut split --at` takes; --split DIR writes the parts at once.

  modelcut plan model.onnx --stages 4 --balance flops --plot plan.png
  modelcut plan model.onnx --stages 4 --balance time --profile times.json --split stages
  modelcut plan model.onnx --device phone.json --server gpu.json --bandwidth 10MB/s --rtt 20ms
"""

PROFILE_HELP = """\
Time each node of MODEL on this machine and write the profile that
`modelcut plan --balance time` and device/server plans read: the median
microseconds per node per run, keyed by the model's node names.

ONNX models run on ONNX Runtime's CPU provider with its profiler (graph
optimisation off, as in `modelcut verify`, so each node runs as itself);
Keras models (.keras, .h5) run in Keras one layer call at a time. Inputs
are seeded random values of each input's dtype and shape (the leading
symbolic dimension is --batch, others come from --dim), or --inputs.
A profile recorded on one machine plans on any other.

  modelcut profile model.onnx -o times.json --runs 50 --threads 4
"""


def _dims(args) -> dict[str, int]:
    dims = {}
    for text in args.dim or []:
        name, equals, size = text.partition("=")
        if not equals or not name or not size.strip().isdigit() or not 1 <= int(size) < 2**64:
            raise ValueError(f"--dim {text!r}: write NAME=SIZE with a size >= 1, e.g. --dim seq=128")
        dims[name] = int(size)
    return dims


def _count(text: str, option: str, minimum: int = 1) -> int:
    if not text.strip().isdigit() or int(text) < minimum:
        raise ValueError(f"{option} {text!r}: give a whole number >= {minimum}")
    if int(text) >= 2**64:  # as the native command, which reads counts as 64-bit integers
        raise ValueError(f"{option} {text!r} is too large")
    return int(text)


class RunProgress:
    """A header line on stderr once the run starts, then "run 7/23" rewritten
    in place on a terminal."""

    def __init__(self, enabled: bool, header: str | None) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.header = header
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if done == 0 and self.header:
            print(self.header, file=sys.stderr, flush=True)
        if self.enabled and done > 0:
            sys.stderr.write(f"\rprofiling: run {done}/{total}  ")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _profile(args, model: str, output: str | None, runs: int, warmup: int, threads: int, quiet: bool) -> dict:
    kind = "Keras" if api.is_keras_file(model) else "ONNX Runtime"
    header = (
        f"profiling {model} on {kind}: {warmup} warm-up and {runs} timed runs, "
        f"{threads} thread{'s' if threads > 1 else ''}"
    )
    progress = RunProgress(enabled=not quiet, header=None if quiet else printable(header))
    try:
        return profile_model(
            model,
            output,
            runs=runs,
            warmup=warmup,
            threads=threads,
            batch=_count(str(args.batch), "--batch"),
            dims=_dims(args),
            inputs=args.inputs,
            overwrite=getattr(args, "force", False),
            progress=progress,
        )
    finally:
        progress.close()


def cmd_profile(args) -> int:
    runs = _count(args.runs, "--runs")
    warmup = _count(args.warmup, "--warmup", minimum=0)
    threads = _count(args.threads, "--threads")
    result = _profile(args, args.model, args.output, runs, warmup, threads, quiet=args.quiet or args.json)
    if args.json:
        _print_json(result)
        return 0
    total = result["total_us"]
    print(
        printable(
            f"{result['model']}: {format_seconds(total / 1e6)} per run (median of {runs}), "
            f"{len(result['nodes'])} nodes, {result['runtime']}, {result['threads']} thread(s)"
        )
    )
    slowest = sorted(result["nodes"].items(), key=lambda item: -item[1])[: args.top]
    if slowest:
        print(f"slowest {len(slowest)} nodes:")
        width = max(len(name) for name, _ in slowest)
        for name, value in slowest:
            share = f"{100 * value / total:5.1f}%" if total else ""
            print(printable(f"  {name.ljust(width)}  {format_seconds(value / 1e6):>9}  {share}"))
    print(printable(f"wrote {args.output}"))
    return 0


def _check_plan_args(args) -> None:
    """Mode and option combinations, in the user's terms, before any work."""
    device_server = args.device is not None or args.server is not None
    if device_server:
        if args.device is None or args.server is None:
            raise ValueError("a device/server plan needs both --device and --server profiles")
        if args.stages is not None:
            raise ValueError(
                "--stages is for pipeline plans; a device/server plan (--device, --server) has two parts"
            )
        if args.bandwidth is None:
            raise ValueError("a device/server plan needs the link's --bandwidth, e.g. --bandwidth 10MB/s")
        for option in ("profile", "max_stage_params", "max_boundary_bytes"):
            if getattr(args, option) is not None:
                raise ValueError(f"--{option.replace('_', '-')} is for pipeline plans (--stages N)")
        if args.balance is not None:
            raise ValueError("--balance is for pipeline plans; a device/server plan minimises latency")
        return
    if args.stages is None:
        raise ValueError(
            "say what to plan: --stages N for a pipeline, or --device and --server "
            "profiles for a device/server split"
        )
    if args.rtt is not None or args.sweep is not None:
        raise ValueError("--rtt and --sweep are for device/server plans (--device, --server)")
    if args.balance is not None and args.balance not in BALANCES:
        raise ValueError(f"unknown --balance {args.balance!r}: choose params, flops or time")


def cmd_plan(args) -> int:
    _check_plan_args(args)
    dims = _dims(args)
    batch = _count(str(args.batch), "--batch")
    if api.is_keras_file(args.model) or api.is_saved_model(args.model):
        reads = [args.model]
    else:
        reads = _core.input_files(args.model)
    # The profiles are inputs too: neither --plot nor --split --force replaces one.
    reads = [*reads, *(path for path in (args.profile, args.device, args.server) if path is not None)]
    if args.plot:
        check_plot_path(args.plot, args.force, reads)
    if args.split and os.path.lexists(args.split) and not args.force:
        raise ValueError(f"--split '{args.split}' exists; give --force to replace it")
    if args.split:
        check_output(args.split, reads, args.force)
    quiet = args.quiet or args.json
    if args.device is not None:
        plan = plan_device_server(
            args.model,
            args.device,
            args.server,
            parse_rate(args.bandwidth, "--bandwidth"),
            rtt=parse_seconds(args.rtt, "--rtt") if args.rtt is not None else 0.0,
            sweep=parse_rates(args.sweep) if args.sweep is not None else None,
            batch=batch,
            dims=dims,
        )
    else:
        stages = _count(args.stages, "--stages")
        balance = args.balance or "params"
        profile = args.profile
        if balance == "time" and profile is None:
            if not quiet:
                print(
                    "--balance time without --profile: profiling the model first "
                    "(save a profile with `modelcut profile` to plan again without this)",
                    file=sys.stderr,
                )
            profile = _profile(args, args.model, None, 20, 3, 1, quiet)
        elif profile is not None and balance != "time":
            raise ValueError(f"--profile gives times: add --balance time (not {balance})")
        bandwidth = parse_rate(args.bandwidth, "--bandwidth") if args.bandwidth is not None else None
        plan = plan_pipeline(
            args.model,
            stages,
            balance,
            profile=profile,
            bandwidth=bandwidth,
            max_stage_params=parse_bytes(args.max_stage_params, "--max-stage-params")
            if args.max_stage_params is not None
            else None,
            max_boundary_bytes=parse_bytes(args.max_boundary_bytes, "--max-boundary-bytes")
            if args.max_boundary_bytes is not None
            else None,
            batch=batch,
            dims=dims,
        )
    output = plan.to_dict()
    if args.plot:
        plan.plot(args.plot, overwrite=args.force)
        output["plot"] = args.plot
    if args.split:
        bar = ProgressBar(enabled=not quiet)
        try:
            result = plan.split(args.split, overwrite=args.force, progress=bar)
        finally:
            bar.close()
        output["split"] = result.to_dict()
    if args.json:
        _print_json(output)
        return 0
    print(plan.table())
    if args.plot:
        print()
        print(printable(f"plot: {args.plot}"))
    if args.split:
        print("\nparts:")
        for path in result.paths:
            print(printable(f"  {path}"))
    elif plan.cuts:
        at = " ".join("--at " + _shell_word(spec) for spec in plan.at)
        command = f"modelcut split {_shell_word(args.model)} {at} -o DIR"
        print()
        if len(command) > 300:  # cuts after many values: a command nobody would retype
            print("split there: add --split DIR (--json lists each cut's spec for modelcut split --at)")
        else:
            print(printable(f"split there: {command}"))
    return 0


def _shell_word(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_./:@#=,+-]+", text) else "'" + text.replace("'", "'\\''") + "'"


def _one_line_error(parser: argparse.ArgumentParser):
    """A usage mistake reported like any bad input: one line, exit 2
    (argparse's own report starts with the whole usage)."""

    def error(message: str):
        command = parser.prog.removeprefix("modelcut").strip()
        where = f"{command}: " if command else ""
        print(f"modelcut: error: {where}{printable(message)} (see {parser.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)

    return error


def _add_plan_commands(commands, raw) -> list[argparse.ArgumentParser]:
    plan = commands.add_parser(
        "plan",
        help="choose where to cut: balanced pipeline stages or a device/server split",
        description=PLAN_HELP,
        formatter_class=raw,
    )
    plan.add_argument("model", metavar="MODEL", help="the model: .onnx, or Keras .keras or .h5")
    pipeline = plan.add_argument_group("pipeline plan")
    pipeline.add_argument("--stages", metavar="N", help="number of stages (N - 1 cuts)")
    pipeline.add_argument(
        "--balance",
        metavar="params|flops|time",
        help="what to balance: parameter bytes (default), MACs, or measured time",
    )
    pipeline.add_argument(
        "--profile", metavar="FILE", help="times from `modelcut profile`, for --balance time"
    )
    pipeline.add_argument(
        "--max-stage-params", metavar="SIZE", help="cap on each stage's parameter bytes (e.g. 1GB)"
    )
    pipeline.add_argument(
        "--max-boundary-bytes", metavar="SIZE", help="cap on the bytes crossing each cut (e.g. 16MB)"
    )
    link = plan.add_argument_group("device/server plan")
    link.add_argument("--device", metavar="FILE", help="profile recorded on the device (runs the first part)")
    link.add_argument("--server", metavar="FILE", help="profile recorded on the server (runs the rest)")
    link.add_argument(
        "--rtt", metavar="DURATION", help="round-trip time paid once when the server is used (e.g. 20ms)"
    )
    link.add_argument(
        "--sweep",
        metavar="RATES",
        help="bandwidths of the table of best plans "
        "(e.g. 1MB/s,10MB/s,100MB/s; default: a range around --bandwidth)",
    )
    both = plan.add_argument_group("both")
    both.add_argument(
        "--bandwidth",
        metavar="RATE",
        help="link speed (e.g. 10MB/s, 1Gbit/s); for a pipeline "
        "with --balance time, each stage's time includes sending its outputs",
    )
    both.add_argument(
        "--batch",
        default="1",
        metavar="N",
        help="size of each input's leading symbolic dimension (default 1)",
    )
    both.add_argument(
        "--dim", action="append", metavar="NAME=SIZE", help="size of a symbolic dimension (repeatable)"
    )
    out = plan.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the plan as JSON")
    out.add_argument("--split", metavar="DIR", help="also split the model at the plan's cuts into DIR")
    out.add_argument("--plot", metavar="FILE", help="draw the plan into FILE (.png, .svg or .pdf)")
    out.add_argument(
        "--force",
        action="store_true",
        help="replace --split DIR or --plot FILE if they exist (never a file the model reads)",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no messages on stderr")
    plan.set_defaults(run=cmd_plan, inputs=None)

    profile = commands.add_parser(
        "profile",
        help="time each node on this machine (for plan --balance time)",
        description=PROFILE_HELP,
        formatter_class=raw,
    )
    profile.add_argument("model", metavar="MODEL", help="the model: .onnx, or Keras .keras or .h5")
    profile.add_argument("-o", "--output", required=True, metavar="FILE", help="the profile to write (JSON)")
    profile.add_argument(
        "--runs", default="20", metavar="N", help="timed runs; each node's median is kept (default 20)"
    )
    profile.add_argument("--warmup", default="3", metavar="N", help="untimed runs first (default 3)")
    profile.add_argument("--threads", default="1", metavar="N", help="threads per op (default 1)")
    profile.add_argument(
        "--batch",
        default="1",
        metavar="N",
        help="size of each input's leading symbolic dimension (default 1)",
    )
    profile.add_argument(
        "--dim", action="append", metavar="NAME=SIZE", help="size of a symbolic dimension (repeatable)"
    )
    profile.add_argument(
        "--inputs",
        metavar="FILE",
        help=".npy (one input) or .npz (by input name) to run on instead of random values",
    )
    profile.add_argument(
        "--force", action="store_true", help="replace FILE if it exists (never a file the model reads)"
    )
    profile.add_argument("--top", type=int, default=10, help=argparse.SUPPRESS)
    profile.add_argument("--json", action="store_true", help="print the profile as JSON")
    profile.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    profile.set_defaults(run=cmd_profile)
    return [plan, profile]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelcut", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version="modelcut 0.1.0")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an error, show the Python traceback (and the C++ exception's type) too",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    split = commands.add_parser(
        "split", help="cut a model into parts", description=CUT_HELP, formatter_class=raw
    )
    split.add_argument(
        "model",
        metavar="MODEL",
        help="the model to cut: .onnx, Keras .keras or .h5, a "
        "TensorFlow frozen graph .pb, or a SavedModel directory (parts are SavedModels too)",
    )
    split.add_argument(
        "--at", action="append", required=True, metavar="NAME", help="where to cut (repeatable)"
    )
    split.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="directory to create for the parts (must not exist, see --force); "
        "not needed with --weights in-place, which writes beside the model",
    )
    split.add_argument(
        "--force",
        action="store_true",
        help="replace DIR if it exists (never when it holds the model or a file the model reads)",
    )
    split.add_argument(
        "--weights",
        choices=["auto", "inline", "external", "in-place"],
        default="auto",
        help="where the parts' weights go: inline in each .onnx; external, in a .onnx.data file beside each "
        "part; in-place, not copied at all: the parts are written beside the model and read the model's own "
        "weight file(s), so they break if the model's files move or change; auto (default): inline, or "
        "external for a part whose weights exceed --external-threshold",
    )
    split.add_argument(
        "--external-threshold",
        type=int,
        default=1 << 30,
        metavar="BYTES",
        help="with --weights auto, parts with more weight bytes than this go external (default 1 GiB)",
    )
    _add_signature_option(split)
    split.add_argument("--json", action="store_true", help="print what was written as JSON")
    split.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the paths of the parts (no summary, no progress bar)",
    )
    split.set_defaults(run=cmd_split)

    check = commands.add_parser(
        "verify",
        help="check that the parts compute what the model computes",
        description="Run MODEL and the chain of PARTs with the same inputs and compare every output: max "
        "abs and relative error, and whether bit-identical. ONNX models run on ONNX Runtime (graph "
        "optimisation off, so that fusions across the cut do not blur the comparison), Keras models on "
        "Keras, SavedModels and frozen .pb graphs on TensorFlow. Exit 1 above tolerance.",
    )
    check.add_argument("model", metavar="MODEL")
    _add_signature_option(check)
    check.add_argument("parts", metavar="PART", nargs="+", help="the parts, in chain order")
    _add_input_options(check)
    check.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default 1e-5)")
    check.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (default 0)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument(
        "--unsafe",
        action="store_true",
        help="load Keras models with layers that run code (Lambda layers), as Keras's "
        "safe_mode=False does: only for files you trust",
    )
    check.set_defaults(run=cmd_verify)

    run = commands.add_parser(
        "run",
        help="run the parts, optionally adding noise at the cut",
        description="Run the chain of PARTs on ONNX Runtime, optionally adding Gaussian noise to every "
        "floating-point value crossing each cut (integer values such as masks are left alone). With "
        "--remote URL, the PARTs are the head of a chain whose rest is served at URL (`modelcut serve`): "
        "they run here, and only the values crossing the last cut are sent (split computing).",
    )
    run.add_argument("parts", metavar="PART", nargs="+", help="the parts, in chain order")
    _add_input_options(run)
    run.add_argument(
        "--noise", type=float, default=0.0, metavar="SIGMA", help="std of Gaussian noise at each cut"
    )
    run.add_argument(
        "--reference", metavar="MODEL", help="also run MODEL and print how far the outputs moved"
    )
    run.add_argument("--save", metavar="OUT.npz", help="save the outputs")
    run.add_argument("--json", action="store_true", help="print a summary as JSON")
    run.add_argument(
        "--remote",
        metavar="URL",
        help="send the last part's outputs to the rest of the chain "
        "served at URL and print the bytes sent and the time spent here, on the wire and there",
    )
    run.add_argument(
        "--timeout",
        default="120s",
        metavar="DURATION",
        help="how long the whole exchange with the server may take: connecting, sending and "
        "receiving the answer (default 120s, at most 24h)",
    )
    run.add_argument(
        "--max-answer",
        default="1GiB",
        metavar="SIZE",
        help="refuse a larger answer from the server, or one that unpacks to more "
        "(default 1GiB, at most 64GiB)",
    )
    run.set_defaults(run=cmd_run)

    merge = commands.add_parser("merge", help="compose parts back into one model")
    merge.add_argument("parts", metavar="PART", nargs="+", help="the parts, in chain order")
    merge.add_argument("-o", "--output", required=True, metavar="FILE", help="the model to write")
    merge.add_argument(
        "--force",
        action="store_true",
        help="replace FILE if it exists (never a part, nor a file a part reads)",
    )
    merge.add_argument("-q", "--quiet", action="store_true", help="print only the path")
    merge.set_defaults(run=cmd_merge)

    inspect = commands.add_parser("inspect", help="list layers and candidate cut points")
    inspect.add_argument("model", metavar="MODEL")
    inspect.add_argument("--depth", type=int, default=2, help="deepest layer level to list (default 2)")
    _add_signature_option(inspect)
    inspect.add_argument("--json", action="store_true", help="print everything as JSON")
    inspect.set_defaults(run=cmd_inspect)
    planning = _add_plan_commands(commands, raw)
    serve = add_serve_parser(commands, raw)
    for command in (
        split,
        check,
        run,
        merge,
        inspect,
        serve,
        *planning,
    ):  # --debug after the command works too
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    for command in (parser, split, check, run, merge, inspect, serve, *planning):
        command.error = _one_line_error(command)
        for action in command._actions:
            if action.nargs != 0 and not isinstance(action, argparse._SubParsersAction):
                action.type = _bounded(action.type)
    return parser


# The most characters of any value, an option's or a positional's, checked
# before it is used: a path has at most PATH_MAX (4096) bytes, and no name,
# size or count needs more. It bounds what one word can cost (matching a name
# to the model's is quadratic in its length). The native command
# (src/cli/arguments.h, kMaxValueLength) has the same rule, with the same words.
MAX_VALUE_LENGTH = 4096


def _bounded(convert):
    """argparse's type= `convert`, after a check of the value's length."""

    def bounded(text):
        if isinstance(text, str) and len(text) > MAX_VALUE_LENGTH:
            raise argparse.ArgumentTypeError(
                f"the value is {len(text)} characters long (at most {MAX_VALUE_LENGTH})"
            )
        return text if convert is None else convert(text)

    # argparse names the type in its message for a value it refuses ("invalid int value").
    bounded.__name__ = getattr(convert, "__name__", "bounded")
    return bounded


def _add_signature_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--signature",
        default="serving_default",
        metavar="NAME",
        help="for a SavedModel: the signature to freeze and cut (default serving_default)",
    )


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inputs",
        metavar="FILE",
        help=".npy (one input) or .npz (by input name); default: seeded random inputs",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for random inputs and noise (default 0)")
    parser.add_argument("--batch", type=int, default=1, help="size of symbolic dimensions (default 1)")
    parser.add_argument("--optimize", action="store_true", help="let ONNX Runtime optimise the graphs")


# ------------------------------------------------------------ input files


def _check_model_files(path: str) -> None:
    """Refuses, before anything opens them, a model or part that is not a
    regular file, or an ONNX one whose external data files are not: opening
    a FIFO for reading blocks until a writer comes."""
    _core.check_input_file(path)
    if not api.is_keras_file(path) and _core.file_type(path) == "onnx":
        _core.input_files(path)


def _check_inputs_file(path: str) -> None:
    """Reads --inputs once here, so that a malformed .npy/.npz is reported
    as such, naming the file, whatever numpy raises for it."""
    _core.check_input_file(path)
    if not path.endswith((".npy", ".npz")):
        return  # the feeds reader names the accepted kinds
    import numpy as np

    try:
        if path.endswith(".npy"):
            np.load(path, mmap_mode="r", allow_pickle=False)  # header and size, not the data
        else:
            with np.load(path, allow_pickle=False) as archive:
                for name in archive.files:
                    archive[name]
    except Exception as error:  # numpy raises many kinds for a malformed file
        raise _core.Error(
            f"--inputs '{path}': not a readable {path[-4:]} file ({type(error).__name__}: {error})"
        ) from error


def _check_input_files(args) -> None:
    if getattr(args, "inputs", None):
        _check_inputs_file(args.inputs)
    if args.command in ("split", "inspect", "plan", "profile") and not api.is_saved_model(args.model):
        _core.check_input_file(args.model)  # its external data: read and checked by the core
    if args.command == "verify":
        for path in [args.model, *args.parts]:
            if not api.is_saved_model(path):
                _check_model_files(path)
    if args.command == "run":
        for path in [*args.parts, *([args.reference] if args.reference else [])]:
            if api.is_tf_model(path):
                raise ValueError(
                    f"{path}: modelcut run runs ONNX parts; run TensorFlow parts with TensorFlow "
                    "(tf.saved_model.load, or modelcut.tf.load_graph for a .pb; "
                    "modelcut verify checks them)"
                )
            _check_model_files(path)
    if args.command == "serve":
        for path in args.parts:
            _check_model_files(path)
    # merge: api.merge checks every part (Keras parts: before Keras opens
    # them), the core the files ONNX parts read


# ------------------------------------------------------------ exit codes

# Exceptions that mean the input is at fault, whoever raised them. A
# ValueError is how modelcut's Python code reports bad input (modelcut.Error
# and ChainError are ValueErrors); an OSError is about the user's files or
# disk; the others are a malformed file read by numpy, zipfile or protobuf.
# (protobuf's DecodeError counts through MODEL_READERS below.)
BAD_INPUT_TYPES = (ValueError, OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, zlib.error)

# Libraries that read the user's models: an exception they raise is their
# refusal of the model (ONNX Runtime: InvalidGraph, Fail, ...; Keras and h5py
# on a broken .keras/.h5), whatever its type.
MODEL_READERS = ("onnxruntime", "onnx", "google.protobuf", "keras", "tf_keras", "tensorflow", "h5py")


def _is_reader(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in MODEL_READERS)


def exit_code_for(error: BaseException) -> int:
    """EXIT_BAD_INPUT for an error caused by the input, EXIT_INTERNAL_ERROR
    for a bug: a C++ exception other than modelcut::Error (InternalError), or
    any other exception of modelcut's own code (AssertionError, KeyError,
    TypeError, MemoryError where a reader lacks a limit, ...)."""
    if isinstance(error, _core.InternalError):
        return EXIT_INTERNAL_ERROR
    if isinstance(error, BAD_INPUT_TYPES):
        return EXIT_BAD_INPUT
    innermost = error.__traceback__
    while innermost is not None and innermost.tb_next is not None:
        innermost = innermost.tb_next
    raised_in = innermost.tb_frame.f_globals.get("__name__", "") if innermost is not None else ""
    if _is_reader(type(error).__module__) or _is_reader(raised_in):
        return EXIT_BAD_INPUT
    return EXIT_INTERNAL_ERROR


def error_message(error: BaseException) -> str:
    """The one line that reports `error`, without the "modelcut: ..." prefix."""
    text = printable(str(error).strip()) or type(error).__name__
    if isinstance(error, (ValueError, OSError)) and not isinstance(error, _core.InternalError):
        return text
    return f"{type(error).__name__}: {text}"


def report_error(error: BaseException, debug: bool = False, stream=None, command: str | None = None) -> int:
    """Prints `error` as one line (after its trace, with `debug`) and returns
    the exit code."""
    stream = stream or sys.stderr
    code = exit_code_for(error)
    try:
        if debug:
            traceback.print_exception(type(error), error, error.__traceback__, file=stream)
        if isinstance(error, MemoryError) and command:
            # Every reader caps what it holds; an input within the caps can still need more than
            # a memory limit (ulimit -v) allows. The native command prints the same line.
            print(
                f"modelcut: error: out of memory while running `modelcut {command}`: its input needs more "
                "memory than this process may use",
                file=stream,
            )
            code = EXIT_BAD_INPUT
        elif code == EXIT_INTERNAL_ERROR:
            hint = "" if debug else " (run with --debug for the trace)"
            print(
                f"modelcut: internal error: {error_message(error)}; this is a bug in modelcut; "
                f"please report it{hint}",
                file=stream,
            )
        else:
            print(f"modelcut: error: {error_message(error)}", file=stream)
        stream.flush()
    except OSError:
        pass  # stderr itself is gone: the exit code still tells
    return code


def _is_closed_pipe(error: BaseException) -> bool:
    return isinstance(error, BrokenPipeError) or (isinstance(error, OSError) and error.errno == errno.EPIPE)


def _quiet_exit_on_closed_pipe() -> int:
    # NB: what is left in stdout's buffer would fail again when Python
    # flushes it at exit and print "Exception ignored ... BrokenPipeError":
    # point the descriptor at /dev/null so that last flush goes nowhere.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_CLOSED_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    debug = False
    args = None
    try:
        args = build_parser().parse_args(argv)
        debug = args.debug
        _check_input_files(args)
        code = args.run(args)
        sys.stdout.flush()  # so that a closed pipe shows here, not at exit
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:
        if _is_closed_pipe(error):
            return _quiet_exit_on_closed_pipe()
        return report_error(error, debug, command=getattr(args, "command", None))


if __name__ == "__main__":
    sys.exit(main())
