"""From per-element information at the cut to an attribution map per input.

The information of every element (bits) is summed over the channel axis,
which leaves one value per cell of the feature map, and that map is resized
to the input's spatial size by linear interpolation along each spatial axis
(bilinear for images; half-pixel centres, edges clamped, as image resizers
do). Resizing interpolates values, it does not spread them: a pixel shows
the bits of the feature-map cell around it, not bits per pixel.
"""

from __future__ import annotations

import math

import numpy as np


def sum_over_channels(capacity_bits: np.ndarray, channel_axis: int) -> np.ndarray:
    """(batch, *spatial) map: the bits at each cell summed over channels."""
    return capacity_bits.sum(axis=channel_axis)


def resize_linear(maps: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Resizes ``maps`` (batch, *spatial) to (batch, *size), linearly along each axis."""
    if len(size) != maps.ndim - 1:
        raise ValueError(f"cannot resize a map with {maps.ndim - 1} spatial axes to {size}")
    out = maps.astype(np.float32)
    for axis, target in enumerate(size, start=1):
        source = out.shape[axis]
        if source == target:
            continue
        centres = (np.arange(target, dtype=np.float64) + 0.5) * (source / target) - 0.5
        centres = np.clip(centres, 0.0, source - 1)
        below = np.floor(centres).astype(np.int64)
        above = np.minimum(below + 1, source - 1)
        weight = (centres - below).astype(np.float32)
        shape = [1] * out.ndim
        shape[axis] = target
        weight = weight.reshape(shape)
        out = np.take(out, below, axis=axis) * (1 - weight) + np.take(out, above, axis=axis) * weight
    return out


def bits(nats: np.ndarray) -> np.ndarray:
    return nats / math.log(2.0)
