# Fixtures of the CLI tests.
import pytest
from cli_support import MLP_NODE_NAMES, MLP_WITH_SKIP, write_model


@pytest.fixture
def mlp(tmp_path):
    return write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
