# Run a chain of model parts on ONNX Runtime (or Keras parts in Keras, see
# live/chain.py), optionally changing the values that cross each cut (e.g.
# adding Gaussian noise). Assumes the strict-chain
# convention: part k takes, by name, a subset of part k-1's outputs; part 0
# takes the original graph inputs.
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import onnxruntime as ort

from . import _core
from ._ort import ORT_TO_NUMPY, InputSpec, ModelLike, check_feed_values, ensure_session
from .api import ArgumentTypeError

Values = dict[str, np.ndarray]
Intervention = Callable[[int, Values], "Mapping[str, np.ndarray] | None"]


class ChainError(_core.Error):
    """A part cannot be fed from what precedes it (a modelcut.Error, so a ValueError too)."""


def run_chain(
    parts: Sequence[ModelLike | ort.InferenceSession],
    feeds: Mapping[str, np.ndarray],
    intervention: Intervention | None = None,
    optimize: bool = False,
    custom_objects: Mapping[str, object] | None = None,
    safe_mode: bool = True,
) -> Values:
    """Run the parts in order and return the last part's outputs by name.

    At boundary k (between part k and part k+1), `intervention(k, values)` is
    called with part k's outputs; the mapping it returns (or `values` itself
    if it returns None) feeds part k+1.

    Keras parts (live keras.Model parts, or .keras/.h5 part files, loaded
    with `custom_objects` for unregistered custom layers) run in Keras; their
    boundary values are named as the next part's inputs (see live/chain.py).
    A part file with a layer that runs code (a Lambda layer) is refused
    unless safe_mode is False."""
    if isinstance(parts, (str, os.PathLike)) or not isinstance(parts, Sequence):
        raise ArgumentTypeError(f"parts must be a list of parts, not a {type(parts).__name__}")
    if not parts:
        raise ChainError("the chain has no parts")
    if not isinstance(feeds, Mapping):
        raise ArgumentTypeError(f"feeds must be a dict of arrays by input name, not a {type(feeds).__name__}")
    if intervention is not None and not callable(intervention):
        raise ArgumentTypeError(f"intervention must be a callable, not a {type(intervention).__name__}")
    from .live import is_keras_part, run_keras_chain

    keras_parts = [is_keras_part(part) for part in parts]
    if all(keras_parts):
        return run_keras_chain(parts, feeds, intervention, custom_objects, safe_mode)
    if any(keras_parts):
        raise ChainError("the chain mixes Keras and ONNX parts; run_chain runs parts of one kind")
    values: Mapping[str, np.ndarray] = feeds
    for index, part in enumerate(parts):
        session = ensure_session(part, optimize)
        if index > 0 and intervention is not None:
            changed = intervention(index - 1, values)
            if changed is not None and not isinstance(changed, Mapping):
                raise ArgumentTypeError(
                    f"intervention at boundary {index - 1} returned a "
                    f"{type(changed).__name__}, not a dict of arrays by name (or None)"
                )
            values = values if changed is None else changed
        part_feeds = _select_inputs(session, values, index)
        # Checked here, so that a wrong dtype or shape is one line naming the
        # input, not ONNX Runtime's InvalidArgument.
        source = "feeds" if index == 0 else f"the values given to part {index}"
        check_feed_values(part_feeds, _run_specs(session), source=source)
        outputs = session.run(None, part_feeds)
        values = {arg.name: array for arg, array in zip(session.get_outputs(), outputs)}
    return values


def _run_specs(session: ort.InferenceSession) -> list[InputSpec]:
    """The session's input specs, for the inputs of types feeds are checked
    for. ONNX Runtime reports an unknown rank as [], like a scalar's: the
    rank of such an input is left to ONNX Runtime."""
    specs = []
    for arg in session.get_inputs():
        dtype = ORT_TO_NUMPY.get(arg.type)
        if dtype is not None:
            specs.append(InputSpec(arg.name, np.dtype(dtype), tuple(arg.shape) if arg.shape else None))
    return specs


def _select_inputs(session: ort.InferenceSession, values: Mapping[str, np.ndarray], index: int) -> Values:
    needed = [arg.name for arg in session.get_inputs()]
    missing = [name for name in needed if name not in values]
    if missing:
        source = "the feeds" if index == 0 else f"the outputs of part {index - 1}"
        raise ChainError(
            f"part {index} needs input(s) {missing}, which are not among {source}: {sorted(values)}"
        )
    return {name: np.asarray(values[name]) for name in needed}


def gaussian_noise(sigma: float, seed: int = 0, names: Iterable[str] | None = None) -> Intervention:
    """An intervention adding N(0, sigma^2) noise to float boundary tensors
    (all of them, or only those in `names`); integer and bool tensors such
    as masks and shapes pass unchanged. One generator serves all calls, so a
    fresh callable with the same seed reproduces the same noise."""
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"sigma must be a number, not a {type(sigma).__name__}")
    if not math.isfinite(sigma) or sigma < 0:
        raise _core.Error(f"sigma must be a finite number >= 0, not {sigma}")
    if isinstance(names, str):
        raise ArgumentTypeError("names must be a list of names, not one str")
    rng = np.random.default_rng(seed)
    selected = None if names is None else frozenset(names)

    def add_noise(boundary_index: int, values: Mapping[str, np.ndarray]) -> Values:
        noisy = dict(values)
        for name, value in values.items():
            if selected is not None and name not in selected:
                continue
            if not np.issubdtype(value.dtype, np.floating):
                if selected is not None:
                    raise ArgumentTypeError(
                        f"gaussian_noise: '{name}' at boundary {boundary_index} is "
                        f"{value.dtype}; noise applies only to float tensors"
                    )
                continue
            noise = rng.normal(0.0, sigma, size=value.shape)
            # Keep the dtype: the next part declares its input type.
            noisy[name] = (value + noise).astype(value.dtype)
        return noisy

    return add_noise
