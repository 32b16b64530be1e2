# Check that a chain of parts computes what the original model computes:
# run both on ONNX Runtime with the same feeds and compare every original
# output by name. Assumes the strict-chain convention (see intervene.py);
# models may be paths, onnx.ModelProto, bytes or ORT sessions.
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort

from ._ort import ModelLike, check_feeds, ensure_session, input_specs, random_feeds, read_feeds
from .intervene import run_chain

Feeds = Mapping[str, np.ndarray] | str | os.PathLike | None


@dataclass
class OutputCheck:
    """Comparison of one original output with the chain's output of that name."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    max_abs: float | None
    max_rel: float | None
    identical: bool
    ok: bool
    reason: str = ""  # why the check failed; empty when ok

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "max_abs": _json_number(self.max_abs),
            "max_rel": _json_number(self.max_rel),
            "identical": self.identical,
            "ok": self.ok,
            "reason": self.reason,
        }


@dataclass
class VerifyReport:
    """Per-output checks plus chain-level problems (wrong inputs, output order)."""

    outputs: list[OutputCheck]
    atol: float
    rtol: float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(check.ok for check in self.outputs)

    @property
    def failures(self) -> list[OutputCheck]:
        return [check for check in self.outputs if not check.ok]

    def to_dict(self) -> dict:
        """Strict-JSON-safe: non-finite errors become the strings "inf"/"nan"."""
        return {
            "ok": self.ok,
            "atol": self.atol,
            "rtol": self.rtol,
            "problems": list(self.problems),
            "outputs": [check.to_dict() for check in self.outputs],
        }

    def format_table(self) -> str:
        header = ("output", "shape", "max abs", "max rel", "identical", "status")
        rows = [header] + [_table_row(check) for check in self.outputs]
        widths = [max(len(row[col]) for row in rows) for col in range(len(header) - 1)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows
        ]
        lines += [f"problem: {problem}" for problem in self.problems]
        passed = len(self.outputs) - len(self.failures)
        verdict = "OK" if self.ok else "FAIL"
        lines.append(
            f"{verdict}: {passed}/{len(self.outputs)} outputs within atol={self.atol:g}, rtol={self.rtol:g}"
        )
        return "\n".join(lines)


def verify(
    original: ModelLike | ort.InferenceSession,
    parts: Sequence[ModelLike | ort.InferenceSession],
    feeds: Feeds = None,
    seed: int = 0,
    batch: int = 1,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    optimize: bool = False,
    dim_values: Mapping[str, int] | None = None,
    safe_mode: bool = True,
) -> VerifyReport:
    """Run `original` and the chain of `parts` on the same feeds and compare.

    feeds: a dict, a .npy/.npz path, or None for seeded random inputs
    (seed, batch, dim_values as in random_inputs). Keras models (.keras,
    .h5) are checked with Keras instead (see verify_keras): a model with a
    layer that runs code (a Lambda layer) is refused unless safe_mode is
    False. TensorFlow SavedModels and frozen graphs (.pb) are checked with
    TensorFlow (see modelcut.tf)."""
    from .api import is_keras_file, is_tf_model

    if is_keras_file(original):
        from .verify_keras import verify_keras

        return verify_keras(
            original,
            parts,
            feeds=feeds,
            seed=seed,
            batch=batch,
            atol=atol,
            rtol=rtol,
            dim_values=dim_values,
            safe_mode=safe_mode,
        )
    if is_tf_model(original):
        from .tf.verify_tf import verify_tf

        return verify_tf(
            original, parts, feeds=feeds, seed=seed, batch=batch, atol=atol, rtol=rtol, dim_values=dim_values
        )
    specs = input_specs(original)
    feeds = resolve_feeds(feeds, specs, seed, batch, dim_values)
    reference = ensure_session(original, optimize)
    sessions = [ensure_session(part, optimize) for part in parts]

    expected_names = [arg.name for arg in reference.get_outputs()]
    expected = dict(zip(expected_names, reference.run(None, feeds)))
    actual = run_chain(sessions, feeds)

    checks = [compare_output(name, expected[name], actual.get(name), atol, rtol) for name in expected_names]
    input_names = [spec.name for spec in specs]
    problems = _chain_problems(input_names, sessions, expected_names, list(actual))
    return VerifyReport(checks, atol, rtol, problems)


def resolve_feeds(feeds: Feeds, specs, seed, batch, dim_values) -> dict[str, np.ndarray]:
    """Feeds for inputs `specs`: seeded random ones for None, read from a
    .npy/.npz path, or a dict checked against the specs. Shared by every
    runtime's verification (ONNX Runtime, Keras, TensorFlow)."""
    if feeds is None:
        return random_feeds(specs, seed, batch, dim_values)
    if isinstance(feeds, (str, os.PathLike)):
        return read_feeds(feeds, specs)
    check_feeds(feeds, specs)
    return {name: np.asarray(value) for name, value in feeds.items()}


def _chain_problems(
    input_names: list[str],
    sessions: Sequence[ort.InferenceSession],
    expected_outputs: list[str],
    actual_outputs: list[str],
) -> list[str]:
    """Breaches of the chain convention that value comparison would not catch."""
    problems = []
    first_inputs = [arg.name for arg in sessions[0].get_inputs()]
    if set(first_inputs) != set(input_names):
        problems.append(f"part 0 takes inputs {first_inputs}, the original takes {input_names}")
    extra = [name for name in actual_outputs if name not in expected_outputs]
    if extra:
        problems.append(f"the last part has outputs {extra} that the original does not have")
    elif actual_outputs != expected_outputs and set(actual_outputs) == set(expected_outputs):
        problems.append(
            f"the last part's outputs are in order {actual_outputs}, the original's {expected_outputs}"
        )
    return problems


# ---------------------------------------------------------------- compare


def compare_output(
    name: str, expected: np.ndarray, actual: np.ndarray | None, atol: float, rtol: float
) -> OutputCheck:
    """Compare one output. Floats pass if |actual - expected| <= atol +
    rtol * |expected| everywhere, with NaN equal to NaN and infinities equal
    only to themselves; integer and bool outputs must match exactly."""
    shape, dtype = tuple(expected.shape), str(expected.dtype)

    def failed(reason: str) -> OutputCheck:
        return OutputCheck(name, shape, dtype, None, None, False, False, reason)

    if actual is None:
        return failed("missing from the chain's outputs")
    if actual.dtype != expected.dtype:
        return failed(f"dtype {actual.dtype} in the chain, {expected.dtype} in the original")
    if actual.shape != expected.shape:
        return failed(f"shape {actual.shape} in the chain, {shape} in the original")

    identical = expected.tobytes() == actual.tobytes()
    if expected.dtype.kind not in "fiub":  # e.g. strings: equality only
        equal = bool(np.array_equal(expected, actual))
        return OutputCheck(name, shape, dtype, None, None, identical, equal, "" if equal else "values differ")

    diff, scale = _abs_diff(expected, actual), np.abs(expected.astype(np.float64))
    if expected.dtype.kind == "f":
        # An infinite diff means a NaN/Inf mismatch, which no tolerance
        # excuses; rtol * inf can be NaN, which compares as "not bad".
        with np.errstate(invalid="ignore"):
            bad = (diff > atol + rtol * scale) | np.isinf(diff)
        what = "outside tolerance"
    else:
        bad = expected != actual
        what = "differ"
    n_bad = int(np.count_nonzero(bad))
    reason = f"{n_bad} of {expected.size} elements {what}" if n_bad else ""
    return OutputCheck(
        name,
        shape,
        dtype,
        max_abs=float(diff.max(initial=0.0)),
        max_rel=float(_rel_error(diff, scale).max(initial=0.0)),
        identical=identical,
        ok=n_bad == 0,
        reason=reason,
    )


def _abs_diff(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """|actual - expected| in float64; 0 where equal (NaN == NaN, inf == inf),
    inf where exactly one side is NaN or the infinities differ."""
    ref, got = expected.astype(np.float64), actual.astype(np.float64)
    same = (ref == got) | (np.isnan(ref) & np.isnan(got))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(ref - got)
    diff = np.where(same, 0.0, diff)
    return np.where(np.isnan(diff), np.inf, diff)


def _rel_error(diff: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """diff / |expected|; inf where a nonzero diff meets a zero or non-finite
    reference (no meaningful relative size)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = diff / scale
    rel = np.where(diff == 0, 0.0, rel)
    return np.where(np.isnan(rel), np.inf, rel)


# ---------------------------------------------------------------- format


def _table_row(check: OutputCheck) -> tuple[str, ...]:
    status = "OK" if check.ok else f"FAIL  {check.reason}"
    return (
        check.name,
        str(check.shape),
        _format_number(check.max_abs),
        _format_number(check.max_rel),
        "yes" if check.identical else "no",
        status,
    )


def _format_number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _json_number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else "inf"
