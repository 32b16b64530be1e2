"""The two formulas of the per-sample bottleneck, in keras.ops (any backend).

- smooth_mask: the mask λ blurred by a Gaussian over the spatial axes of the
  cut value (the paper's σ=1), so that the mask cannot pass single elements
  that the noise would otherwise wash out.
- capacity_nats: the KL divergence between Q(Z|X) and N(μ_R, σ_R²) per
  element, computed on normalised values: with r = (R − μ)/σ the normalised
  Z is N(λr, (1−λ)²), and KL(N(m, s²) ‖ N(0, 1)) = (s² + m² − 1 − ln s²)/2.
"""

from __future__ import annotations

import math

import keras
import numpy as np

# (1-λ) never reaches 0 (λ = sigmoid(α), α is kept within ±15), but the blur
# sums in float32 can round it there; the floor keeps ln(1-λ) finite.
_SMALLEST_ONE_MINUS_LAMBDA = 1e-7


def gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """A (size x size) matrix that blurs a vector of ``size`` elements with a
    Gaussian of ``sigma`` elements, truncated at 3σ.

    NB: the rows are renormalised where the kernel runs past the edge, so a
    constant mask stays constant up to the border (zero padding would lower
    λ along the borders of the feature map and so invent information there).
    """
    positions = np.arange(size, dtype=np.float64)
    distance = positions[:, None] - positions[None, :]
    weights = np.exp(-0.5 * (distance / sigma) ** 2)
    weights[np.abs(distance) > math.ceil(3 * sigma)] = 0.0
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def smooth_mask(lam, spatial_axes: tuple[int, ...], sigma: float):
    """Blurs ``lam`` (batch first) along each of ``spatial_axes`` separably."""
    if sigma <= 0:
        return lam
    for axis in spatial_axes:
        size = lam.shape[axis]
        if size is None or size < 2:
            continue
        matrix = keras.ops.convert_to_tensor(gaussian_matrix(int(size), sigma))
        blurred = keras.ops.tensordot(matrix, lam, axes=([1], [axis]))  # blurred axis comes first
        lam = keras.ops.moveaxis(blurred, 0, axis)
    return lam


def capacity_nats(lam, normalised_value):
    """Per-element information (nats) that Z = λR + (1-λ)ε carries about R."""
    mean_z = lam * normalised_value
    one_minus = keras.ops.maximum(1.0 - lam, _SMALLEST_ONE_MINUS_LAMBDA)
    return 0.5 * (one_minus**2 + mean_z**2 - 1.0) - keras.ops.log(one_minus)
