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
    """Factory ``model(file_name) -> str`` (see plan_models.BUILDERS)."""
    root = tmp_path_factory.mktemp("plan_models")
    cache: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in cache:
            cache[name] = plan_models.BUILDERS[name](str(root / name))
        return cache[name]

    return get
