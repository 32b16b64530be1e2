"""Per-element mean and standard deviation of the values at a cut.

The first part of the model is run over sample data one batch at a time and
the moments are merged batch by batch (Chan et al.'s pairwise update, in
float64), so the sample data never has to fit in memory at once. The
standard deviation is the population one (numpy's default, ddof=0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .errors import BottleneckError


@dataclass(frozen=True)
class CutStatistics:
    """What the bottleneck knows about the values at the cut: the mean and
    standard deviation of each element (shape of one sample's cut value) over
    ``count`` samples."""

    mean: np.ndarray
    std: np.ndarray
    count: int


class _RunningMoments:
    """Mean and sum of squared deviations of each element, merged batch by batch."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None
        self.squares: np.ndarray | None = None  # sum of squared deviations from the mean

    def add(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, dtype=np.float64)
        if self.mean is not None and batch.shape[1:] != self.mean.shape:
            raise BottleneckError(
                f"the cut value of one batch has shape {batch.shape[1:]}, an earlier one had {self.mean.shape}"
            )
        n = batch.shape[0]
        if n == 0:
            return
        batch_mean = batch.mean(axis=0)
        batch_squares = ((batch - batch_mean) ** 2).sum(axis=0)
        if self.mean is None:
            self.count, self.mean, self.squares = n, batch_mean, batch_squares
            return
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.squares = self.squares + batch_squares + delta**2 * (self.count * n / total)
        self.count = total

    def result(self) -> CutStatistics:
        if self.mean is None:
            raise BottleneckError("the sample data for the statistics at the cut has no samples")
        std = np.sqrt(self.squares / self.count)
        return CutStatistics(mean=self.mean.astype(np.float32), std=std.astype(np.float32), count=self.count)


def iterate_batches(samples, batch_size: int) -> Iterable[np.ndarray]:
    """Batches of ``samples``: an array (cut into ``batch_size`` rows) or any
    iterable of batches (a generator, a tf.data.Dataset, a list of arrays).
    A batch may be an ``(x, y)`` pair; only ``x`` is used."""
    if batch_size < 1:
        raise BottleneckError(f"batch_size must be at least 1, got {batch_size}")
    if hasattr(samples, "shape") and hasattr(samples, "__getitem__"):
        for start in range(0, samples.shape[0], batch_size):
            yield samples[start : start + batch_size]
        return
    try:
        batches = iter(samples)
    except TypeError:
        raise BottleneckError(
            f"the sample data must be an array or an iterable of batches, got {type(samples).__name__}"
        ) from None
    for batch in batches:
        if isinstance(batch, (tuple, list)) and len(batch) == 2:
            batch = batch[0]
        yield batch


def fit_cut_statistics(part_a, samples, batch_size: int = 128) -> CutStatistics:
    """Runs ``part_a`` over ``samples`` batch by batch and returns the
    per-element mean and standard deviation of its output."""
    moments = _RunningMoments()
    for batch in iterate_batches(samples, batch_size):
        moments.add(cut_value(part_a, batch))
    return moments.result()


def cut_value(part_a, x) -> np.ndarray:
    """The value at the cut for inputs ``x``, as a numpy array (inference mode)."""
    value = part_a(x, training=False)
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise BottleneckError(
                f"the first part has {len(value)} outputs; the bottleneck needs a cut through one tensor"
            )
        value = value[0]
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))
