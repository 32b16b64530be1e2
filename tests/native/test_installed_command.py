# `pip install .` makes the native executable the `modelcut` command, in the
# environment's bin/ beside its python3, and that command hands verify, run,
# plan, profile and serve to the Python package beside it: one command, with
# nothing to set.
import json
import os
import subprocess
import sys

from cli_support_path import MLP_NODE_NAMES, MLP_WITH_SKIP, write_model

INSTALLED = os.path.join(os.path.dirname(sys.executable), "modelcut")


def run_installed(*args):
    # Nothing but PATH: the Python is found beside the executable.
    return subprocess.run(
        ["env", "-i", f"PATH={os.path.dirname(INSTALLED)}:/usr/bin:/bin", "modelcut", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_pip_installs_the_native_executable():
    with open(INSTALLED, "rb") as file:
        assert file.read(4) == b"\x7fELF", f"{INSTALLED} is not the native executable"


def test_installed_command_splits_and_hands_verify_and_plan_over(tmp_path):
    model = write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    split = run_installed("split", model, "--at", "fc1", "-o", tmp_path / "parts")
    assert split.returncode == 0, split.stderr
    parts = split.stdout.split()
    verified = run_installed("verify", model, *parts, "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"]
    planned = run_installed("plan", model, "--stages", "2", "--json")
    assert planned.returncode == 0, planned.stderr
    assert len(json.loads(planned.stdout)["cuts"]) == 1
    helped = run_installed("serve", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: modelcut serve"), helped


def test_installed_command_reports_usage_errors_of_handed_commands(tmp_path):
    result = run_installed("bogus")
    assert result.returncode == 2
    expected = "modelcut: error: argument COMMAND: invalid choice: 'bogus'"
    assert result.stderr.startswith(expected), result.stderr
