"""The per-sample bottleneck on the digits CNN: what β does to the
information, λ's range, determinism, shapes and the errors of bad input."""

from __future__ import annotations

import numpy as np
import pytest
from modelcut.bottleneck import Bottleneck, BottleneckError, CutStatistics
from modelcut.bottleneck.heatmap import resize_linear


def _bottleneck(parts, statistics, **options):
    bottleneck = Bottleneck(*parts, **options)
    bottleneck.statistics = statistics  # fitted once per session (test_statistics checks fitting)
    return bottleneck


def test_a_larger_beta_lets_less_information_through(digits, digits_parts, fitted_statistics):
    images, labels = digits[1][:24], digits[3][:24]
    free = _bottleneck(digits_parts, fitted_statistics, beta=0.0).fit_masks(images, labels)
    tight = _bottleneck(digits_parts, fitted_statistics, beta=100.0).fit_masks(images, labels)
    default = _bottleneck(digits_parts, fitted_statistics).fit_masks(images, labels)
    per_image = [
        masks.capacity_bits.reshape(len(images), -1).mean(axis=1) for masks in (free, default, tight)
    ]
    free_bits, default_bits, tight_bits = (p.mean() for p in per_image)
    print(
        f"mean bits per element: beta=0 {free_bits:.3f}, beta=10 {default_bits:.3f}, beta=100 {tight_bits:.3f}"
    )
    assert np.all(per_image[2] < per_image[1]) and np.all(per_image[1] < per_image[0])


def test_lambda_stays_inside_zero_and_one(digits, digits_parts, fitted_statistics):
    images, labels = digits[1][:8], digits[3][:8]
    for beta in (0.0, 10.0, 1000.0):
        # 40 steps of learning rate 1 would take α past sigmoid's float32 range without the limit
        masks = _bottleneck(digits_parts, fitted_statistics, beta=beta, steps=40).fit_masks(images, labels)
        assert masks.lam.shape == (8, 8, 8, 32)
        assert np.all(masks.lam > 0.0) and np.all(masks.lam < 1.0), beta
        assert np.all(np.isfinite(masks.capacity_bits)) and np.all(masks.capacity_bits >= 0.0)
    # with no step at all, λ is the paper's starting value everywhere
    start = _bottleneck(digits_parts, fitted_statistics, steps=0).fit_masks(images, labels)
    np.testing.assert_allclose(start.lam, 1 / (1 + np.exp(-5.0)), rtol=1e-5)


def test_the_same_seed_gives_the_same_maps(digits, digits_parts, fitted_statistics):
    images, labels = digits[1][:10], digits[3][:10]
    first = _bottleneck(digits_parts, fitted_statistics, seed=3).attribution(images, labels)
    again = _bottleneck(digits_parts, fitted_statistics, seed=3).attribution(images, labels)
    other = _bottleneck(digits_parts, fitted_statistics, seed=4).attribution(images, labels)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_inputs_are_independent_of_their_batch(digits, digits_parts, fitted_statistics):
    """Each input has its own mask: its map does not depend on the others in the batch
    (up to the noise, which is drawn per batch; so the noise is switched off here)."""
    images, labels = digits[1][:12], digits[3][:12]
    bottleneck = _bottleneck(digits_parts, fitted_statistics, noise_copies=1)
    # σ = 0: the "noise" is μ itself, the same whatever the batch
    bottleneck.statistics = CutStatistics(
        mean=fitted_statistics.mean, std=np.zeros_like(fitted_statistics.std), count=1
    )
    together = bottleneck.fit_masks(images, labels, batch_size=12).lam
    alone = np.concatenate(
        [bottleneck.fit_masks(images[i : i + 1], labels[i : i + 1]).lam for i in range(12)]
    )
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)


def test_maps_are_bits_summed_over_channels_at_the_input_size(digits, digits_cnn, fitted_statistics):
    import attribution

    images, labels = digits[1][:6], digits[3][:6]
    at_conv2 = _bottleneck(attribution.cut(digits_cnn, "conv2"), fitted_statistics)
    masks = at_conv2.fit_masks(images, labels)
    maps = at_conv2.attribution(images, labels)
    assert maps.shape == (6, 8, 8)  # conv2 keeps the 8x8 of the input: no resizing
    np.testing.assert_allclose(maps, masks.capacity_bits.sum(axis=-1), rtol=1e-6)

    # conv3 sits after a 2x2 pooling: its 4x4 map is resized to the 8x8 input
    part_a, part_b = attribution.cut(digits_cnn, "conv3")
    at_conv3 = Bottleneck(part_a, part_b).fit_statistics(digits[0][:200])
    coarse = at_conv3.fit_masks(images, labels).capacity_bits.sum(axis=-1)
    resized = at_conv3.attribution(images, labels)
    assert coarse.shape == (6, 4, 4) and resized.shape == (6, 8, 8)
    np.testing.assert_allclose(resized, resize_linear(coarse, (8, 8)), rtol=1e-6)
    # interpolation: never outside the range of the cells it blends
    assert np.all(resized.max(axis=(1, 2)) <= coarse.max(axis=(1, 2)) * (1 + 1e-6))
    assert np.all(resized.min(axis=(1, 2)) >= coarse.min(axis=(1, 2)) * (1 - 1e-6))
    assert at_conv3.attribution(images, labels, size=(4, 4)).shape == (6, 4, 4)


def test_the_predicted_class_is_the_default_target(digits, digits_cnn, digits_parts, fitted_statistics):
    images = digits[1][:6]
    predicted = np.argmax(digits_cnn.predict(images, verbose=0), axis=1)
    masks = _bottleneck(digits_parts, fitted_statistics).fit_masks(images)
    np.testing.assert_array_equal(masks.targets, predicted)


def test_bad_input_is_a_clear_error(digits, digits_parts, fitted_statistics):
    images = digits[1][:4]
    with pytest.raises(BottleneckError, match="call fit_statistics"):
        Bottleneck(*digits_parts).attribution(images, 1)
    bottleneck = _bottleneck(digits_parts, fitted_statistics)
    with pytest.raises(BottleneckError, match="target class 10 is out of range: the model has 10 classes"):
        bottleneck.attribution(images, 10)
    with pytest.raises(BottleneckError, match="one class per input"):
        bottleneck.attribution(images, [1, 2])
    with pytest.raises(BottleneckError, match="integers"):
        bottleneck.attribution(images, 1.5)
    with pytest.raises(BottleneckError, match="non-empty batch"):
        bottleneck.attribution(images[:0], 1)
    with pytest.raises(BottleneckError, match="beta must be >= 0"):
        Bottleneck(*digits_parts, beta=-1)
    with pytest.raises(BottleneckError, match="channel_axis 0"):
        Bottleneck(*digits_parts, channel_axis=0, steps=0).fit_statistics(images).attribution(images, 1)
    wrong = _bottleneck(digits_parts, fitted_statistics)
    wrong.statistics = CutStatistics(mean=np.zeros((4, 4, 32)), std=np.ones((4, 4, 32)), count=1)
    with pytest.raises(BottleneckError, match=r"statistics were fitted on \(4, 4, 32\)"):
        wrong.attribution(images, 1)
