"""Fixtures for the end-to-end tests: zoo models exported once per test session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import zoo  # noqa: E402
from cut_log import CUT_RESULTS  # noqa: E402


@pytest.fixture(scope="session")
def zoo_model(tmp_path_factory):
    """Factory ``zoo_model(name) -> Path`` of the exported ONNX file of zoo model ``name``.

    Each model is built (and checked with onnx + onnxruntime) at most once per
    session, into a session temp directory. Names are the keys of ``zoo.ZOO``.
    """
    root = tmp_path_factory.mktemp("zoo")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in zoo.ZOO:
            raise KeyError(f"unknown zoo model {name!r}; known: {sorted(zoo.ZOO)}")
        if name not in cache:
            cache[name] = zoo.build(name, root / f"{name}.onnx")
        return cache[name]

    return get


def pytest_terminal_summary(terminalreporter):
    if not CUT_RESULTS:
        return
    identical = sum(1 for *_, same in CUT_RESULTS if same)
    worst = max(error for _, _, error, _ in CUT_RESULTS)
    terminalreporter.write_line(
        f"end-to-end cuts: {len(CUT_RESULTS)} verified on ONNX Runtime, {identical} bit-identical, "
        f"largest max abs error {worst:.3g}"
    )
