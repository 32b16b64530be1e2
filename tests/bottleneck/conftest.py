"""Fixtures for the bottleneck tests: the digits CNN of examples/attribution.py,
trained (seeded, a few seconds) only when the test model cache
(tests/model_cache.py) has no copy, cut live at its conv2 (modelcut.split),
and the statistics at the cut over its training images."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
for folder in (Path(__file__).resolve().parent, _EXAMPLES):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture(scope="session")
def digits():
    """(train_x, test_x, train_y, test_y) as in the example."""
    import attribution

    return attribution.load_digits_split()


@pytest.fixture(scope="session")
def digits_cnn(digits):
    import attribution
    import keras
    import model_cache

    def train(folder):
        train_x, _, train_y, _ = digits
        attribution.train_digits_cnn(train_x, train_y).save(folder / "digits_cnn.keras")

    folder = model_cache.entry("bottleneck-digits_cnn", train, sources=[attribution])
    return keras.models.load_model(folder / "digits_cnn.keras")


@pytest.fixture(scope="session")
def digits_parts(digits_cnn):
    """(part_a, part_b) of the digits CNN around conv2."""
    import attribution

    return attribution.cut(digits_cnn, attribution.CUT)


@pytest.fixture(scope="session")
def fitted_statistics(digits, digits_parts):
    from modelcut.bottleneck import fit_cut_statistics

    return fit_cut_statistics(digits_parts[0], digits[0])
