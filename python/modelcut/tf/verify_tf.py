# Check that a chain of TensorFlow parts computes what the model computes:
# TensorFlow runs the model and each part on the CPU, each part fed the
# previous part's values by name (SavedModel parts: by signature key; .pb
# parts: by the names of the next part's placeholders), and every output of
# the model is compared with the last part's output of that name.
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from ..intervene import ChainError
from ..verification import VerifyReport, compare_output, resolve_feeds
from .runner import TfGraph
from .saved_model import DEFAULT_SIGNATURE, _first_line

PathLike = str | os.PathLike


def verify_tf(
    original: PathLike,
    parts: Sequence[PathLike],
    feeds: Mapping[str, np.ndarray] | PathLike | None = None,
    seed: int = 0,
    batch: int = 1,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    dim_values: Mapping[str, int] | None = None,
    signature: str = DEFAULT_SIGNATURE,
) -> VerifyReport:
    """Runs `original` (a SavedModel or a frozen .pb) and the chain of
    `parts` (of the same kind) with TensorFlow on the same inputs and
    compares every output of the original.

    feeds: a dict keyed by input name, a .npy/.npz path, or None for seeded
    random inputs (unknown sizes take `batch`, or dim_values)."""
    if not parts:
        raise ChainError("the chain has no parts")
    reference = TfGraph(original, signature)
    graphs = [TfGraph(part) for part in parts]
    try:
        return _verify(reference, graphs, feeds, seed, batch, atol, rtol, dim_values)
    finally:
        for graph in [reference, *graphs]:
            graph.close()


def _verify(
    reference: TfGraph, graphs: list[TfGraph], feeds, seed, batch, atol, rtol, dim_values
) -> VerifyReport:
    specs = reference.inputs
    values = resolve_feeds(feeds, specs, seed, batch, dim_values)

    problems = []
    input_names = [spec.name for spec in specs]
    first_inputs = [spec.name for spec in graphs[0].inputs]
    if set(first_inputs) != set(input_names):
        problems.append(f"part 0 takes inputs {first_inputs}, the original takes {input_names}")

    expected = reference.run(values)
    current = {name: values[name] for name in first_inputs if name in values}
    for index, graph in enumerate(graphs):
        following = graphs[index + 1] if index + 1 < len(graphs) else None
        # A part's values for the next one: what the next part takes, by name
        # (a .pb part does not list the values at its cut that it also reads).
        fetch = [spec.name for spec in following.inputs] if following else graph.outputs
        missing = [name for name in fetch if not (name in graph.outputs or graph.has_value(name))]
        if missing:
            raise ChainError(f"part {index + 1} takes {missing}, which part {index} does not give")
        try:
            current = graph.run(current, fetch)
        except Exception as error:
            raise ChainError(f"part {index} cannot run: {_first_line(error)}") from error

    expected_names = list(reference.outputs)
    actual_names = list(graphs[-1].outputs)
    extra = [name for name in actual_names if name not in expected_names]
    if extra:
        problems.append(f"the last part has outputs {extra} that the original does not have")
    checks = [
        compare_output(
            name,
            np.asarray(expected[name]),
            np.asarray(current[name]) if name in current else None,
            atol,
            rtol,
        )
        for name in expected_names
    ]
    return VerifyReport(checks, atol, rtol, problems)
