# Fixtures of the native executable's tests: where it is. The zoo models of
# the end-to-end tests come from tests/conftest.py's zoo_model, shared with
# tests/e2e through the test model cache (tests/model_cache.py).
import os
import sys
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(_REPO / "tests" / "e2e"))


@pytest.fixture(scope="session")
def native_modelcut() -> str:
    """$MODELCUT_EXECUTABLE, or the executable CMake builds in build/cpp."""
    path = os.environ.get("MODELCUT_EXECUTABLE") or str(_REPO / "build" / "cpp" / "modelcut")
    # Not a skip: a missing executable is a broken build.
    assert os.access(path, os.X_OK), (
        f"no native modelcut at {path}: build it with `cmake --build "
        "build/cpp --target modelcut_cli` or set MODELCUT_EXECUTABLE"
    )
    return path
