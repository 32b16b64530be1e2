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
def keras_model(tmp_path_factory):
    """Factory ``keras_model(file_name) -> Path`` of a saved test model (see
    keras_builders.BUILDERS), built at most once per session."""
    root = tmp_path_factory.mktemp("keras_models")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            cache[name] = Path(keras_builders.BUILDERS[name](str(root / name)))
        return cache[name]

    return get
