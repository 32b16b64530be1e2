"""The formulas under the bottleneck: the KL term, the Gaussian blur of the
mask and the resizing of maps."""

from __future__ import annotations

import math

import keras
import numpy as np
from modelcut.bottleneck.heatmap import resize_linear
from modelcut.bottleneck.information import capacity_nats, gaussian_matrix, smooth_mask


def _kl_to_standard_normal(mean, std):
    return math.log(1 / std) + (std**2 + mean**2) / 2 - 0.5


def test_capacity_is_the_kl_of_the_normalised_z_to_a_standard_normal():
    lam = np.array([0.0, 0.3, 0.9933, 0.5], np.float32)
    normalised = np.array([1.7, -0.4, 2.0, 0.0], np.float32)
    got = keras.ops.convert_to_numpy(
        capacity_nats(keras.ops.convert_to_tensor(lam), keras.ops.convert_to_tensor(normalised))
    )
    expected = [_kl_to_standard_normal(share * r, 1 - share) for share, r in zip(lam, normalised)]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert got[0] == 0.0  # nothing passes: no information


def test_the_blur_keeps_a_constant_mask_constant_and_spreads_a_spike():
    matrix = gaussian_matrix(7, 1.0)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=1e-6)
    assert matrix[3, 3] > matrix[3, 4] > matrix[3, 5] > matrix[3, 6] > 0  # 3σ reaches the edge
    assert matrix[0, 4] == 0.0  # beyond 3σ
    constant = np.full((2, 5, 6, 3), 0.8, np.float32)
    blurred = keras.ops.convert_to_numpy(smooth_mask(keras.ops.convert_to_tensor(constant), (1, 2), 1.0))
    np.testing.assert_allclose(blurred, 0.8, rtol=1e-6)
    spike = np.zeros((1, 7, 7, 2), np.float32)
    spike[0, 3, 3, 1] = 1.0
    blurred = keras.ops.convert_to_numpy(smooth_mask(keras.ops.convert_to_tensor(spike), (1, 2), 1.0))
    assert np.all(blurred[..., 0] == 0)  # channels are blurred apart
    np.testing.assert_allclose(blurred[0, :, :, 1], np.outer(matrix[:, 3], matrix[:, 3]), rtol=1e-6)


def test_resizing_interpolates_between_cell_centres():
    maps = np.array([[[0.0, 4.0], [8.0, 12.0]]], np.float32)
    resized = resize_linear(maps, (4, 4))
    # half-pixel centres: output centres at 0.25/0.75 of a cell; edges clamped
    np.testing.assert_allclose(resized[0, 0], [0.0, 1.0, 3.0, 4.0])
    np.testing.assert_allclose(resized[0, :, 0], [0.0, 2.0, 6.0, 8.0])
    np.testing.assert_array_equal(resize_linear(maps, (2, 2)), maps)
