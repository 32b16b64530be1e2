# Fixtures of the CLI tests. Every test runs twice: against the Python
# command and against the native executable (src/cli), which must give the
# same output, exit codes and error lines.
import pytest
from cli_support import MLP_NODE_NAMES, MLP_WITH_SKIP, use_command, write_model


@pytest.fixture(autouse=True, params=["python", "native"])
def cli_command(request):
    use_command(request.param)
    yield request.param
    use_command("python")


@pytest.fixture
def mlp(tmp_path):
    return write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
