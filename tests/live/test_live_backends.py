"""Live cuts on Keras's PyTorch backend, in a fresh interpreter (the
backend is chosen once per process): backend_check.py prints what it saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


HERE = Path(__file__).resolve().parent


def test_live_cut_on_the_torch_backend():
    environment = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(HERE)}
    done = subprocess.run(
        [sys.executable, str(HERE / "backend_check.py")],
        check=False, capture_output=True, text=True, env=environment, timeout=600, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [row["model"] for row in rows] == ["seed_model", "residual_model", "nested_backbone"]
    for row in rows:
        assert row["backend"] == "torch"
        assert row["chained_equal"] and row["merged_equal"], row
        assert row["gradient_nonzero"] and row["gradient_max_difference"] <= 1e-6, row
        assert row["noise_changes_output"], row
