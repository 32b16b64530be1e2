# Helpers of the CLI tests: small models written in ONNX text syntax, so
# each test states its graph in a few lines, and the CLI run as a user would.
# Every test runs against both commands (see conftest.py): the Python one
# (`python -m modelcut.cli`) and the native executable built by CMake
# (src/cli), which hands what it does not do itself to the Python one.
# The Python command runs in the test process unless a test asks for a
# process of its own (run_cli's subprocess=True); MODELCUT_TEST_CLI_SUBPROCESS=1
# runs every command in its own process, to check that this changes nothing.
import os
import sys
from subprocess import DEVNULL
from subprocess import run as subprocess_run

import onnx
import onnx.parser
from in_process import START_UP_SETTINGS, run_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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

# Which command run_cli runs: "python" or "native" (set by conftest.py's
# cli_command fixture for each test).
COMMAND = {"kind": "python"}


def native_executable() -> str:
    """The native executable: $MODELCUT_EXECUTABLE, or the one CMake builds
    in build/cpp (scripts/test.sh builds it)."""
    return os.environ.get("MODELCUT_EXECUTABLE") or os.path.join(REPO, "build", "cpp", "modelcut")


def use_command(kind: str) -> None:
    """Makes run_cli run `kind` ("python" or "native") from now on."""
    if kind == "native":
        path = native_executable()
        # Not a skip: a missing executable is a broken build.
        assert os.access(path, os.X_OK), (
            f"no native modelcut at {path}: build it with "
            "`cmake --build build/cpp --target modelcut_cli` or set MODELCUT_EXECUTABLE"
        )
    COMMAND["kind"] = kind


def cli_argv() -> list[str]:
    """The words that start `modelcut`, as the chosen command."""
    if COMMAND["kind"] == "native":
        return [native_executable()]
    return [sys.executable, "-m", "modelcut.cli"]


def cli_env() -> dict:
    # The native executable hands verify, run, ... to this Python.
    return {**os.environ, "MODELCUT_PYTHON": sys.executable}


def write_model(path, text: str, node_names=()) -> str:
    model = onnx.parser.parse_model(text)
    for node, name in zip(model.graph.node, node_names):
        node.name = name
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return str(path)


def assert_one_line_error(result, *fragments) -> str:
    """Exit 2 and one stderr line "modelcut: error: ..." holding every
    fragment (no traceback, nothing else said); returns that line."""
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("modelcut: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def run_cli(*args, cwd=None, timeout=None, subprocess=False):
    """Runs `modelcut ARGS` as a user would and returns the
    subprocess.CompletedProcess: returncode, and stdout and stderr as text.

    The native executable always runs in a process of its own. The Python
    command runs its main() in this process (in_process.run_module: the
    same exit status and output, without the seconds a new Python takes to
    import numpy, ONNX Runtime or TensorFlow), unless `subprocess` is true
    or MODELCUT_TEST_CLI_SUBPROCESS=1. Ask for a subprocess where the test
    is about the process: an exit by a signal, pipes, what it imports or
    logs at start-up (modules are already loaded here), its environment at
    start-up, a hang cut off by `timeout` (seconds, 300 by default; only a
    subprocess can be stopped), resource limits, Ray."""
    if timeout is not None and not subprocess:
        raise TypeError("run_cli: only a subprocess can be stopped at a timeout: add subprocess=True")
    if subprocess or COMMAND["kind"] == "native" or _every_command_in_a_subprocess():
        return _run_in_a_subprocess(args, cwd, 300 if timeout is None else timeout)
    return run_module("modelcut.cli", args, cwd=cwd, env=cli_env())


def _every_command_in_a_subprocess() -> bool:
    return os.environ.get("MODELCUT_TEST_CLI_SUBPROCESS", "") not in ("", "0") or any(
        os.environ.get(name) for name in START_UP_SETTINGS
    )


def _run_in_a_subprocess(args, cwd, timeout):
    return subprocess_run(
        [*cli_argv(), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        stdin=DEVNULL,
        timeout=timeout,
        env=cli_env(),
    )
