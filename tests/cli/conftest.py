# Fixtures of the CLI tests. Every test runs twice: against the Python
# command and against the native executable (src/cli), which must give the
# same output, exit codes and error lines.
import os

import pytest
from cli_support import COMMAND, MLP_NODE_NAMES, MLP_WITH_SKIP, native_executable, write_model


@pytest.fixture(autouse=True, params=["python", "native"])
def cli_command(request):
    if request.param == "native":
        path = native_executable()
        # Not a skip: a missing executable is a broken build.
        assert os.access(path, os.X_OK), (f"no native modelcut at {path}: build it with "
                                          "`cmake --build build/cpp --target modelcut_cli` or set MODELCUT_EXECUTABLE")
    COMMAND["kind"] = request.param
    yield request.param
    COMMAND["kind"] = "python"


@pytest.fixture
def mlp(tmp_path):
    return write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
