"""Fixtures for the Keras tests: models saved once per session (helpers are
in keras_checks.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import keras_builders  # noqa: E402


@pytest.fixture(scope="session")
def keras_model():
    """Factory ``keras_model(file_name) -> Path`` of a saved test model (see
    keras_builders.BUILDERS) from the test model cache (tests/model_cache.py),
    saved only when not cached. The file is read-only: copy it to change it."""
    import model_cache

    def get(name: str) -> Path:
        return model_cache.model_file(
            f"keras-{name}",
            name,
            lambda path: keras_builders.BUILDERS[name](str(path)),
            sources=[keras_builders],
        )

    return get
