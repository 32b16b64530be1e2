# The native executable alone, in an environment with no Python at all
# (env -i, PATH holding only the executable's folder): split, inspect,
# merge and plan work; verify, which runs models on ONNX Runtime, and a plan
# drawn with matplotlib end in one line saying what to install, exit 2 —
# also when a Python is found that lacks the modelcut package.
import os
import shutil
import subprocess

import onnx
import pytest
from cli_support_path import MLP_NODE_NAMES, MLP_WITH_SKIP, write_model


@pytest.fixture
def lone_executable(native_modelcut, tmp_path):
    """A copy of the executable in a folder of its own: no python3 beside it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    shutil.copy2(native_modelcut, folder / "modelcut")
    return folder


def run_alone(folder, *args, python=None):
    env = {"PATH": str(folder)}
    if python:
        env["MODELCUT_PYTHON"] = python
    settings = [f"{key}={value}" for key, value in env.items()]
    return subprocess.run(
        ["env", "-i", *settings, "modelcut", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_links_no_python(native_modelcut):
    libraries = subprocess.run(["ldd", native_modelcut], capture_output=True, text=True, check=True).stdout
    assert "libpython" not in libraries, libraries


def test_split_inspect_merge_without_python(lone_executable, tmp_path):
    model = write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    split = run_alone(lone_executable, "split", model, "--at", "fc1", "-o", tmp_path / "parts")
    assert split.returncode == 0, split.stderr
    parts = split.stdout.split()
    assert [os.path.basename(path) for path in parts] == ["mlp.part1.onnx", "mlp.part2.onnx"]
    assert split.stderr.startswith("cut 'fc1': layer mlp/fc1 -> a1\n"), split.stderr
    for part in parts:
        onnx.checker.check_model(onnx.load(part), full_check=True)

    inspected = run_alone(lone_executable, "inspect", model)
    assert inspected.returncode == 0, inspected.stderr
    assert "  input  x  float32[N,4]" in inspected.stdout.splitlines()

    merged = run_alone(lone_executable, "merge", *parts, "-o", tmp_path / "whole.onnx")
    assert merged.returncode == 0, merged.stderr
    assert merged.stderr == "5 nodes, 2 initializers\n"
    original, again = onnx.load(model), onnx.load(tmp_path / "whole.onnx")
    assert [node.op_type for node in again.graph.node] == [node.op_type for node in original.graph.node]


def test_plan_without_python(lone_executable, tmp_path):
    model = write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    planned = run_alone(lone_executable, "plan", model, "--stages", "2", "--split", tmp_path / "stages")
    assert planned.returncode == 0, planned.stderr
    lines = planned.stdout.splitlines()
    assert lines[0] == "mlp.onnx: 2 pipeline stages balanced by parameter bytes, batch 1", planned.stdout
    assert lines[-3:] == [
        "parts:",
        f"  {tmp_path}/stages/mlp.part1.onnx",
        f"  {tmp_path}/stages/mlp.part2.onnx",
    ]
    for name in ("mlp.part1.onnx", "mlp.part2.onnx"):
        onnx.checker.check_model(onnx.load(tmp_path / "stages" / name), full_check=True)
    drawn = run_alone(lone_executable, "plan", model, "--stages", "2", "--plot", tmp_path / "plan.png")
    assert_says_what_to_install(drawn, "plan")
    assert "(plans are drawn with matplotlib)" in drawn.stderr
    assert not (tmp_path / "plan.png").exists()


def test_help_without_python_says_what_runs_alone(lone_executable):
    shown = run_alone(lone_executable, "--help")
    assert shown.returncode == 0 and shown.stderr == "", shown
    for line in (
        "  split     cut a model into parts",
        "  plan      choose where to cut: balanced pipeline stages or a device/server split",
    ):
        assert line in shown.stdout.splitlines(), shown.stdout
    assert (
        "verify, run, profile and serve run models" in shown.stdout and "pip install modelcut" in shown.stdout
    )
    for words in ([], ["--debug"]):
        bare = run_alone(lone_executable, *words)
        assert (bare.returncode, bare.stdout) == (2, ""), bare
        assert (
            bare.stderr
            == "modelcut: error: the following arguments are required: COMMAND (see modelcut --help)\n"
        )


def assert_says_what_to_install(result, command="verify"):
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    expected = f"modelcut: error: `modelcut {command}` needs the modelcut Python package"
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert "pip install modelcut" in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_verify_without_python_says_what_to_install(lone_executable, tmp_path):
    model = write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    assert_says_what_to_install(run_alone(lone_executable, "verify", model, model))


def test_verify_with_a_python_lacking_the_package(lone_executable, tmp_path):
    python = shutil.which("python3", path="/usr/bin:/bin")
    assert python, "a system python3 is needed for this test"
    assert (
        subprocess.run(
            ["env", "-i", python, "-c", "import modelcut"], capture_output=True, check=False
        ).returncode
        != 0
    ), f"{python} imports modelcut"
    model = write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    result = run_alone(lone_executable, "verify", model, model, python=python)
    assert_says_what_to_install(result)
    assert "cannot import" in result.stderr
