"""fit_statistics: the per-element mean and std at the cut, streamed in
batches, equal numpy's over all the cut values at once."""

from __future__ import annotations

import numpy as np
import pytest
from modelcut.bottleneck import Bottleneck, BottleneckError, fit_cut_statistics


def _all_cut_values(part_a, images):
    return np.asarray(part_a(images, training=False), dtype=np.float64)


def test_statistics_equal_numpy_over_all_cut_values(digits, digits_parts, fitted_statistics):
    train_x = digits[0]
    values = _all_cut_values(digits_parts[0], train_x)
    assert fitted_statistics.count == len(train_x)
    assert fitted_statistics.mean.shape == values.shape[1:] == (8, 8, 32)
    np.testing.assert_allclose(fitted_statistics.mean, values.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fitted_statistics.std, values.std(axis=0), rtol=1e-5, atol=1e-6)


def test_statistics_do_not_depend_on_the_batching(digits, digits_parts, fitted_statistics):
    train_x, _, train_y, _ = digits
    # uneven batches, given as an iterable of (x, y) pairs as a data pipeline yields them
    pairs = ((train_x[i : i + 97], train_y[i : i + 97]) for i in range(0, len(train_x), 97))
    streamed = fit_cut_statistics(digits_parts[0], pairs)
    assert streamed.count == fitted_statistics.count
    np.testing.assert_allclose(streamed.mean, fitted_statistics.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(streamed.std, fitted_statistics.std, rtol=1e-5, atol=1e-6)
    single = fit_cut_statistics(digits_parts[0], train_x, batch_size=1_000_000)
    np.testing.assert_allclose(single.std, fitted_statistics.std, rtol=1e-5, atol=1e-6)


def test_the_bottleneck_exposes_its_statistics(digits, digits_parts, fitted_statistics):
    bottleneck = Bottleneck(*digits_parts).fit_statistics(digits[0][:300], batch_size=64)
    values = _all_cut_values(digits_parts[0], digits[0][:300])
    np.testing.assert_allclose(bottleneck.mean, values.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bottleneck.std, values.std(axis=0), rtol=1e-5, atol=1e-6)


def test_no_samples_is_a_clear_error(digits_parts):
    with pytest.raises(BottleneckError, match="no samples"):
        fit_cut_statistics(digits_parts[0], [])
    with pytest.raises(BottleneckError, match="batch_size must be at least 1"):
        fit_cut_statistics(digits_parts[0], np.zeros((4, 8, 8, 1), np.float32), batch_size=0)
    with pytest.raises(BottleneckError, match="array or an iterable of batches"):
        fit_cut_statistics(digits_parts[0], 3)
