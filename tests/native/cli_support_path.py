# tests/cli's helpers (small models in ONNX text syntax), for the tests here.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))

from cli_support import MLP_NODE_NAMES, MLP_WITH_SKIP, write_model  # noqa: F401
