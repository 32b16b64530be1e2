"""Live cuts on Keras's PyTorch and JAX backends, each in a fresh
interpreter (the backend is chosen once per process): backend_check.py
prints what it saw."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# PyTorch is pinned in requirements/test.txt. JAX is not (yet): its test runs
# where jax is installed (pip install jax==0.10.2) and is reported as skipped
# elsewhere.
BACKENDS = [
    "torch",
    pytest.param("jax", marks=pytest.mark.skipif(not _installed("jax"), reason="jax is not installed")),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_live_cut_on_another_backend(backend):
    environment = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(HERE)}
    done = subprocess.run(
        [sys.executable, str(HERE / "backend_check.py")],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [row["model"] for row in rows] == ["seed_model", "residual_model", "nested_backbone"]
    for row in rows:
        assert row["backend"] == backend
        assert row["chained_equal"] and row["merged_equal"], row
        assert row["gradient_nonzero"] and row["gradient_max_difference"] <= 1e-5, row
        assert row["noise_changes_output"], row
