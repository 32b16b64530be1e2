"""Fixtures of the planning tests: models saved once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for folder in (_HERE, _HERE.parent / "cli"):  # cli_support: the CLI run as a user would
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import plan_models  # noqa: E402


@pytest.fixture(scope="session")
def model(tmp_path_factory):
    """Factory ``model(file_name) -> str`` (see plan_models.BUILDERS). The
    exported ones come from the test model cache (tests/model_cache.py) and
    are read-only; the model written from ONNX text is written per session."""
    import model_cache

    root = tmp_path_factory.mktemp("plan_models")
    cache: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in cache:
            build = plan_models.BUILDERS[name]
            if name in plan_models.EXPORTED:
                path = model_cache.model_file(
                    f"plan-{name}", name, lambda path: build(str(path)), sources=[plan_models]
                )
                cache[name] = str(path)
            else:
                cache[name] = build(str(root / name))
        return cache[name]

    return get
