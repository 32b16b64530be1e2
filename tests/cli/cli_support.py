# Helpers of the CLI tests: small models written in ONNX text syntax, so
# each test states its graph in a few lines, and the CLI run as a user would.
import subprocess
import sys

import onnx
import onnx.parser

MLP_WITH_SKIP = """
<ir_version: 10, opset_import: ["" : 17]>
mlp (float[N, 4] x) => (float[N, 4] y)
<float[4, 4] w1 = {1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1}, float[4, 4] w2 = {0,1,0,0, 1,0,0,0, 0,0,0,1, 0,0,1,0}>
{
  h1 = MatMul(x, w1)
  a1 = Relu(h1)
  h2 = MatMul(a1, w2)
  a2 = Relu(h2)
  y = Add(a2, x)
}
"""
# Scoped node names as exporters write them (the text syntax cannot spell "/").
MLP_NODE_NAMES = ["mlp/fc1/MatMul", "mlp/fc1/Relu", "mlp/fc2/MatMul", "mlp/fc2/Relu", "mlp/add/Add"]


def write_model(path, text: str, node_names=()) -> str:
    model = onnx.parser.parse_model(text)
    for node, name in zip(model.graph.node, node_names):
        node.name = name
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return str(path)


def run_cli(*args, cwd=None, timeout=300):
    """Runs `modelcut ARGS` in a fresh interpreter, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "modelcut.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, stdin=subprocess.DEVNULL, timeout=timeout,
    )
