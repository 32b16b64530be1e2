"""The bottleneck on the TensorFlow, PyTorch and JAX backends of Keras: the same
parts (weights from numpy) and the same seed give the same masks, so the
torch and JAX gradient paths compute what the TensorFlow one does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

_HERE = Path(__file__).resolve().parent


def _maps_on(backend: str, folder: Path) -> dict:
    path = folder / f"{backend}.npz"
    environment = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(_HERE))
    run = subprocess.run(
        [sys.executable, str(_HERE / "backend_maps.py"), str(path)],
        check=False,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"{backend}: {run.stderr[-3000:]}"
    return dict(np.load(path))


@pytest.fixture(scope="module")
def tensorflow_maps(tmp_path_factory):
    return _maps_on("tensorflow", tmp_path_factory.mktemp("tensorflow"))


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_other_backends_give_the_masks_of_tensorflow(tmp_path, tensorflow_maps, backend):
    reference = tensorflow_maps
    other = _maps_on(backend, tmp_path)
    assert str(reference["backend"]) == "tensorflow" and str(other["backend"]) == backend
    np.testing.assert_allclose(other["mean"], reference["mean"], rtol=1e-5, atol=1e-6)
    assert np.all(other["lam"] > 0) and np.all(other["lam"] < 1)
    np.testing.assert_allclose(other["lam"], reference["lam"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(other["maps"], reference["maps"], rtol=1e-3, atol=1e-4)
