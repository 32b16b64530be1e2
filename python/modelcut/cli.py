# The `modelcut` command line: split, verify, run, merge and inspect.
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
import tempfile
import traceback
import zipfile
import zlib
from typing import Sequence

import numpy as np
from google.protobuf.message import DecodeError

from . import _core, api
from ._ort import load_feeds, random_inputs
from .intervene import gaussian_noise, run_chain
from .verify import verify

EXIT_FAILED_CHECK = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE

DESCRIPTION = """\
Cut a trained model (ONNX, or Keras .keras/.h5) into parts that compose exactly:
part2(part1(x)) == model(x).

  modelcut inspect model.onnx                  # layers and good places to cut
  modelcut split model.onnx --at fc2 -o parts  # write parts/model.part1.onnx, .part2.onnx
  modelcut verify model.onnx parts/*.onnx      # compare on ONNX Runtime
  modelcut run parts/*.onnx --noise 0.1        # run the parts, add noise at the cut
  modelcut merge parts/*.onnx -o whole.onnx    # compose the parts again

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
            print(printable(f"cut {cut['spec']!r}: {cut['kind']} {cut['resolved_name']} -> {values}"),
                  file=sys.stderr)
        for index, part in enumerate(result.parts[:-1]):
            crossing = ", ".join(f"{value['name']} {value['type']}" for value in part["outputs"])
            print(printable(f"boundary {index + 1}: {crossing}"), file=sys.stderr)
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
        # Output names come from the files: each line of the table made printable.
        print("\n".join(printable(line) for line in report.format_table().splitlines()))
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
        _save_outputs(args, outputs)
    if args.json:
        _print_json({"noise": args.noise, "outputs": rows})
        return 0
    for row in rows:
        text = f"{row['name']}: {row['dtype']}{row['shape']}"
        if "mean" in row:
            text += f" mean {row['mean']:.6g} std {row['std']:.6g}"
        if "max_abs_change" in row:
            text += f"  max abs change vs {os.path.basename(args.reference)}: {row['max_abs_change']:.6g}"
        print(printable(text))
    return 0


def _save_outputs(args, outputs: dict[str, np.ndarray]) -> None:
    """Writes --save under a temporary name and renames it into place, never
    over a file this run read."""
    target = args.save if args.save.endswith(".npz") else args.save + ".npz"  # as np.savez names it
    reads = [*args.parts, *([args.reference] if args.reference else []), *([args.inputs] if args.inputs else [])]
    reads = [file for path in reads for file in ([path] if api.is_keras_file(path) else _core.input_files(path))]
    for path in reads:
        if os.path.exists(target) and os.path.samefile(target, path):
            raise _core.Error(f"--save '{target}' is the input '{path}'; modelcut never replaces a file it reads")
    folder = os.path.dirname(os.path.abspath(target))
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".modelcut-", suffix=".npz", delete=False) as file:
        try:
            np.savez(file, **outputs)
        except BaseException:
            os.unlink(file.name)
            raise
    os.replace(file.name, target)


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
    def say(line: str) -> None:  # names come from the file: one printable line each
        print(printable(line))

    if report["format"] == "keras":
        say(f"{report['path']}: {report['nodes']} layer calls, {report['initializers']} weight arrays, "
            f"saved by {report['producer'] or '?'}")
    else:
        opsets = ", ".join(f"{domain} {version}" for domain, version in report["opsets"].items())
        say(f"{report['path']}: {report['nodes']} nodes, {report['initializers']} initializers, "
            f"ir_version {report['ir_version']}, opsets {opsets}, producer {report['producer'] or '?'}")
    for kind in ("inputs", "outputs"):
        for value in report[kind]:
            say(f"  {kind[:-1]:6} {value['name']}  {value['type']}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelcut", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version="modelcut 0.1.0")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the Python traceback (and the C++ exception's type) too")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    split = commands.add_parser("split", help="cut a model into parts", description=CUT_HELP, formatter_class=raw)
    split.add_argument("model", metavar="MODEL", help="the model to cut: .onnx, or Keras .keras or .h5")
    split.add_argument("--at", action="append", required=True, metavar="NAME", help="where to cut (repeatable)")
    split.add_argument("-o", "--output", metavar="DIR",
                       help="directory to create for the parts (must not exist, see --force); "
                       "not needed with --weights in-place, which writes beside the model")
    split.add_argument("--force", action="store_true",
                       help="replace DIR if it exists (never when it holds the model or a file the model reads)")
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
    merge.add_argument("--force", action="store_true",
                       help="replace FILE if it exists (never a part, nor a file a part reads)")
    merge.add_argument("-q", "--quiet", action="store_true", help="print only the path")
    merge.set_defaults(run=cmd_merge)

    inspect = commands.add_parser("inspect", help="list layers and candidate cut points")
    inspect.add_argument("model", metavar="MODEL")
    inspect.add_argument("--depth", type=int, default=2, help="deepest layer level to list (default 2)")
    inspect.add_argument("--json", action="store_true", help="print everything as JSON")
    inspect.set_defaults(run=cmd_inspect)
    for command in (split, check, run, merge, inspect):  # --debug after the command works too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", metavar="FILE", help=".npy (one input) or .npz (by input name); "
                        "default: seeded random inputs")
    parser.add_argument("--seed", type=int, default=0, help="seed for random inputs and noise (default 0)")
    parser.add_argument("--batch", type=int, default=1, help="size of symbolic dimensions (default 1)")
    parser.add_argument("--optimize", action="store_true", help="let ONNX Runtime optimise the graphs")


# ------------------------------------------------------------ input files


def _check_model_files(path: str) -> None:
    """Refuses, before anything opens them, a model or part that is not a
    regular file, or an ONNX one whose external data files are not: opening
    a FIFO for reading blocks until a writer comes."""
    _core.check_input_file(path)
    if not api.is_keras_file(path):
        _core.input_files(path)


def _check_inputs_file(path: str) -> None:
    """Reads --inputs once here, so that a malformed .npy/.npz is reported
    as such, naming the file, whatever numpy raises for it."""
    _core.check_input_file(path)
    if not path.endswith((".npy", ".npz")):
        return  # the feeds reader names the accepted kinds
    try:
        if path.endswith(".npy"):
            np.load(path, mmap_mode="r", allow_pickle=False)  # header and size, not the data
        else:
            with np.load(path, allow_pickle=False) as archive:
                for name in archive.files:
                    archive[name]
    except Exception as error:  # numpy raises many kinds for a malformed file
        raise _core.Error(f"--inputs '{path}': not a readable {path[-4:]} file "
                          f"({type(error).__name__}: {error})") from error


def _check_input_files(args) -> None:
    if getattr(args, "inputs", None):
        _check_inputs_file(args.inputs)
    if args.command in ("split", "inspect"):
        _core.check_input_file(args.model)  # its external data: read and checked by the core
    if args.command == "verify":
        for path in [args.model, *args.parts]:
            _check_model_files(path)
    if args.command == "run":
        for path in [*args.parts, *([args.reference] if args.reference else [])]:
            _check_model_files(path)
    # merge: the core checks every part and the files they read


# ------------------------------------------------------------ exit codes

# Exceptions that mean the input is at fault, whoever raised them. A
# ValueError is how modelcut's Python code reports bad input (modelcut.Error
# and ChainError are ValueErrors); an OSError is about the user's files or
# disk; the others are a malformed file read by numpy, zipfile or protobuf.
BAD_INPUT_TYPES = (ValueError, OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, zlib.error,
                   DecodeError)

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


# What would break a line or hide what a name is: control characters, line
# and paragraph separators, bidirectional overrides, and lone surrogates
# (bytes of a file name that were not UTF-8). The same set as the C++
# modelcut::printable().
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                          r"\ud800-\udfff]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` as one printable line: see _UNPRINTABLE."""
    return _UNPRINTABLE.sub(_escape, text)


def error_message(error: BaseException) -> str:
    """The one line that reports `error`, without the "modelcut: ..." prefix."""
    text = printable(str(error).strip()) or type(error).__name__
    if isinstance(error, (ValueError, OSError)) and not isinstance(error, _core.InternalError):
        return text
    return f"{type(error).__name__}: {text}"


def report_error(error: BaseException, debug: bool = False, stream=None) -> int:
    """Prints `error` as one line (after its trace, with `debug`) and returns
    the exit code."""
    stream = stream or sys.stderr
    code = exit_code_for(error)
    try:
        if debug:
            traceback.print_exception(type(error), error, error.__traceback__, file=stream)
        if code == EXIT_INTERNAL_ERROR:
            hint = "" if debug else " (run with --debug for the trace)"
            print(f"modelcut: internal error: {error_message(error)}; this is a bug in modelcut; "
                  f"please report it{hint}", file=stream)
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
    try:
        args = build_parser().parse_args(argv)
        debug = args.debug
        _check_input_files(args)
        code = args.run(args)
        sys.stdout.flush()  # so that a closed pipe shows here, not at exit
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - every failure ends in one line and an exit code
        if _is_closed_pipe(error):
            return _quiet_exit_on_closed_pipe()
        return report_error(error, debug)


if __name__ == "__main__":
    sys.exit(main())
