# The `modelcut` command line: split, verify, run, merge and inspect.
# Every failure caused by the input ends in one line "modelcut: error: ..."
# on stderr and exit code 2; a verification above tolerance exits with 1.
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

import numpy as np

from . import _core, api
from ._ort import load_feeds, random_inputs
from .intervene import ChainError, gaussian_noise, run_chain
from .verify import verify

EXIT_FAILED_CHECK = 1
EXIT_BAD_INPUT = 2

DESCRIPTION = """\
Cut a trained model (ONNX, or Keras .keras/.h5) into parts that compose exactly:
part2(part1(x)) == model(x).

  modelcut inspect model.onnx                  # layers and good places to cut
  modelcut split model.onnx --at fc2 -o parts  # write parts/model.part1.onnx, .part2.onnx
  modelcut verify model.onnx parts/*.onnx      # compare on ONNX Runtime
  modelcut run parts/*.onnx --noise 0.1        # run the parts, add noise at the cut
  modelcut merge parts/*.onnx -o whole.onnx    # compose the parts again
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
        sys.stderr.write(f"\rwriting part {part + 1}: [{'#' * filled}{'.' * (width - filled)}] "
                         f"{_format_bytes(done)} / {_format_bytes(total)}  ")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def cmd_split(args) -> int:
    if args.output is None and args.weights != "in-place":
        raise ValueError("no output directory: give -o DIR (only --weights in-place writes beside the model)")
    bar = ProgressBar(enabled=not args.quiet and not args.json)
    try:
        result = api.split(args.model, args.at, args.output, overwrite=args.force, weights=args.weights,
                           external_threshold=args.external_threshold, progress=bar)
    finally:
        bar.close()
    if args.json:
        _print_json(result.to_dict())
        return 0
    if not args.quiet:
        for cut in result.cuts:
            values = ", ".join(cut["values"])
            print(f"cut {cut['spec']!r}: {cut['kind']} {cut['resolved_name']} -> {values}", file=sys.stderr)
        for index, part in enumerate(result.parts[:-1]):
            crossing = ", ".join(f"{value['name']} {value['type']}" for value in part["outputs"])
            print(f"boundary {index + 1}: {crossing}", file=sys.stderr)
    for path in result.paths:
        print(path)
    return 0


def _feeds(args, model) -> dict[str, np.ndarray]:
    if args.inputs:
        return load_feeds(args.inputs, model)
    return random_inputs(model, seed=args.seed, batch=args.batch)


def cmd_verify(args) -> int:
    if api.is_keras_file(args.model):  # Keras reads the feeds file itself
        feeds = args.inputs
    else:
        feeds = load_feeds(args.inputs, args.model) if args.inputs else None
    report = verify(
        args.model, args.parts, feeds=feeds, seed=args.seed, batch=args.batch,
        atol=args.atol, rtol=args.rtol, optimize=args.optimize,
    )
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.format_table())
    return 0 if report.ok else EXIT_FAILED_CHECK


def cmd_run(args) -> int:
    if api.is_keras_file(args.parts[0]):
        raise ValueError("modelcut run runs ONNX parts; load Keras parts with keras.models.load_model "
                         "(modelcut verify checks them)")
    feeds = _feeds(args, args.parts[0])
    intervention = gaussian_noise(args.noise, seed=args.seed) if args.noise else None
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
        np.savez(args.save, **outputs)
    if args.json:
        _print_json({"noise": args.noise, "outputs": rows})
        return 0
    for row in rows:
        text = f"{row['name']}: {row['dtype']}{row['shape']}"
        if "mean" in row:
            text += f" mean {row['mean']:.6g} std {row['std']:.6g}"
        if "max_abs_change" in row:
            text += f"  max abs change vs {os.path.basename(args.reference)}: {row['max_abs_change']:.6g}"
        print(text)
    return 0


def cmd_merge(args) -> int:
    result = api.merge(args.parts, args.output, overwrite=args.force)
    if not args.quiet:
        print(f"{result['nodes']} nodes, {result['initializers']} initializers", file=sys.stderr)
    print(result["path"])
    return 0


def cmd_inspect(args) -> int:
    report = api.inspect(args.model)
    if args.json:
        _print_json(report)
        return 0
    if report["format"] == "keras":
        print(f"{report['path']}: {report['nodes']} layer calls, {report['initializers']} weight arrays, "
              f"saved by {report['producer'] or '?'}")
    else:
        opsets = ", ".join(f"{domain} {version}" for domain, version in report["opsets"].items())
        print(f"{report['path']}: {report['nodes']} nodes, {report['initializers']} initializers, "
              f"ir_version {report['ir_version']}, opsets {opsets}, producer {report['producer'] or '?'}")
    for kind in ("inputs", "outputs"):
        for value in report[kind]:
            print(f"  {kind[:-1]:6} {value['name']}  {value['type']}")
    layers = [layer for layer in report["layers"] if layer["depth"] <= args.depth]
    print(f"\nlayers (depth <= {args.depth}; --depth N for more):" if layers else "\nno layer scopes found")
    for layer in layers:
        outputs = ", ".join(f"{value['name']} {value['type']}" for value in layer["outputs"])
        print(f"  {'  ' * (layer['depth'] - 1)}{layer['name']}  -> {outputs}")
    print(f"\ncut points (one computed tensor crosses; bytes per batch item): {len(report['cut_points'])}")
    for point in report["cut_points"]:
        value = point["value"]
        layer = f"  [{point['layer']}]" if point["layer"] else ""
        passed = f" + {', '.join(point['passed_through'])}" if point["passed_through"] else ""
        print(f"  {value['name']}  {value['type']}  {_format_bytes(point['crossing_bytes'])}{passed}{layer}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelcut", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version="modelcut 0.1.0")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    split = commands.add_parser("split", help="cut a model into parts", description=CUT_HELP, formatter_class=raw)
    split.add_argument("model", metavar="MODEL", help="the model to cut: .onnx, or Keras .keras or .h5")
    split.add_argument("--at", action="append", required=True, metavar="NAME", help="where to cut (repeatable)")
    split.add_argument("-o", "--output", metavar="DIR",
                       help="directory to create for the parts (must not exist, see --force); "
                       "not needed with --weights in-place, which writes beside the model")
    split.add_argument("--force", action="store_true", help="replace DIR if it exists (never the input)")
    split.add_argument(
        "--weights", choices=["auto", "inline", "external", "in-place"], default="auto",
        help="where the parts' weights go: inline in each .onnx; external, in a .onnx.data file beside each "
        "part; in-place, not copied at all: the parts are written beside the model and read the model's own "
        "weight file(s), so they break if the model's files move or change; auto (default): inline, or "
        "external for a part whose weights exceed --external-threshold",
    )
    split.add_argument("--external-threshold", type=int, default=1 << 30, metavar="BYTES",
                       help="with --weights auto, parts with more weight bytes than this go external (default 1 GiB)")
    split.add_argument("--json", action="store_true", help="print what was written as JSON")
    split.add_argument("-q", "--quiet", action="store_true",
                       help="print only the paths of the parts (no summary, no progress bar)")
    split.set_defaults(run=cmd_split)

    check = commands.add_parser(
        "verify", help="check that the parts compute what the model computes",
        description="Run MODEL and the chain of PARTs on ONNX Runtime with the same inputs and compare "
        "every output: max abs and relative error, and whether bit-identical. Graph optimisation is off "
        "so that fusions across the cut do not blur the comparison. Exit 1 above tolerance.",
    )
    check.add_argument("model", metavar="MODEL")
    check.add_argument("parts", metavar="PART", nargs="+", help="the parts, in chain order")
    _add_input_options(check)
    check.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default 1e-5)")
    check.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (default 0)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(run=cmd_verify)

    run = commands.add_parser(
        "run", help="run the parts, optionally adding noise at the cut",
        description="Run the chain of PARTs on ONNX Runtime, optionally adding Gaussian noise to every "
        "floating-point value crossing each cut (integer values such as masks are left alone).",
    )
    run.add_argument("parts", metavar="PART", nargs="+", help="the parts, in chain order")
    _add_input_options(run)
    run.add_argument("--noise", type=float, default=0.0, metavar="SIGMA", help="std of Gaussian noise at each cut")
    run.add_argument("--reference", metavar="MODEL", help="also run MODEL and print how far the outputs moved")
    run.add_argument("--save", metavar="OUT.npz", help="save the outputs")
    run.add_argument("--json", action="store_true", help="print a summary as JSON")
    run.set_defaults(run=cmd_run)

    merge = commands.add_parser("merge", help="compose parts back into one model")
    merge.add_argument("parts", metavar="PART", nargs="+", help="the parts, in chain order")
    merge.add_argument("-o", "--output", required=True, metavar="FILE", help="the model to write")
    merge.add_argument("--force", action="store_true", help="replace FILE if it exists (never an input)")
    merge.add_argument("-q", "--quiet", action="store_true", help="print only the path")
    merge.set_defaults(run=cmd_merge)

    inspect = commands.add_parser("inspect", help="list layers and candidate cut points")
    inspect.add_argument("model", metavar="MODEL")
    inspect.add_argument("--depth", type=int, default=2, help="deepest layer level to list (default 2)")
    inspect.add_argument("--json", action="store_true", help="print everything as JSON")
    inspect.set_defaults(run=cmd_inspect)
    return parser


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", metavar="FILE", help=".npy (one input) or .npz (by input name); "
                        "default: seeded random inputs")
    parser.add_argument("--seed", type=int, default=0, help="seed for random inputs and noise (default 0)")
    parser.add_argument("--batch", type=int, default=1, help="size of symbolic dimensions (default 1)")
    parser.add_argument("--optimize", action="store_true", help="let ONNX Runtime optimise the graphs")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (_core.Error, ChainError, ValueError, TypeError, OSError) as error:
        print(f"modelcut: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001 - e.g. ONNX Runtime refusing a file
        print(f"modelcut: error: {type(error).__name__}: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
