# The executable hands commands to Python isolated (-I): code lying in the
# working directory (a downloaded model's folder) is never imported. A
# numpy.py, onnx.py, sitecustomize.py and a modelcut/ package are planted
# there, and PYTHONPATH and PYTHONSTARTUP point at them; each would write a
# marker file and exit 97 if imported. Every kind of command the executable
# hands over runs from that folder and must behave as usual.
import json
import os
import subprocess
import sys

import pytest
from cli_support import MLP_NODE_NAMES, MLP_WITH_SKIP, write_model

PLANTED = [
    "numpy.py",
    "onnx.py",
    "sitecustomize.py",
    "usercustomize.py",
    "startup.py",
    os.path.join("modelcut", "__init__.py"),
    os.path.join("modelcut", "cli.py"),
]


@pytest.fixture()
def planted(tmp_path):
    """A working directory full of code that must never run, and a model elsewhere."""
    folder = tmp_path / "downloaded"
    (folder / "modelcut").mkdir(parents=True)
    marker = tmp_path / "imported.txt"
    for name in PLANTED:
        (folder / name).write_text(
            f"import sys\nopen({str(marker)!r}, 'a').write({name!r} + '\\n')\n"
            "print('planted code ran', file=sys.stderr)\nsys.exit(97)\n"
        )
    models = tmp_path / "models"
    models.mkdir()
    model = write_model(models / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    return folder, marker, model, models


def run_in(executable, folder, *args, timeout=300):
    env = {
        "PATH": "/usr/bin:/bin",
        "MODELCUT_PYTHON": sys.executable,
        "PYTHONPATH": str(folder),
        "PYTHONSTARTUP": str(folder / "startup.py"),
        "HOME": str(folder),
    }
    return subprocess.run(
        [executable, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        cwd=folder,
        stdin=subprocess.DEVNULL,
    )


def test_handed_over_commands_run_no_code_from_the_working_directory(native_modelcut, planted):
    folder, marker, model, models = planted
    parts = models / "parts"
    split = run_in(native_modelcut, folder, "split", model, "--at", "mlp/fc1/Relu", "-o", parts, "-q")
    assert split.returncode == 0, split.stderr
    part1, part2 = split.stdout.split()
    saved_model = models / "saved"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"not a SavedModel")

    def succeeds(*args, stdout=""):
        result = run_in(native_modelcut, folder, *args)
        assert result.returncode == 0 and stdout in result.stdout, (args, result.stdout, result.stderr)
        return result

    succeeds("--help", stdout="usage: modelcut")
    succeeds("verify", "--help", stdout="usage: modelcut verify")
    succeeds("serve", "--help", stdout="usage: modelcut serve")
    succeeds("verify", model, part1, part2, stdout="OK: 1/1 outputs")
    succeeds("run", part1, part2, "--json")
    succeeds("profile", model, "-o", models / "times.json", "--runs", "2", "-q")
    assert json.loads((models / "times.json").read_text())["format"] == "modelcut-profile"
    succeeds("plan", model, "--stages", "2", "--plot", models / "plan.png", stdout="plot:")
    succeeds("plan", model, "--stages", "2", "--balance", "time", "--json", stdout='"objective": "time"')
    for refused in (
        ["inspect", saved_model],
        ["split", saved_model, "--at", "x", "-o", models / "o"],
        ["no-such-command"],
    ):
        result = run_in(native_modelcut, folder, *refused)
        assert result.returncode == 2, (refused, result.stderr)
        last_line = result.stderr.strip().splitlines()[-1]
        assert last_line.startswith("modelcut: error: "), (refused, result.stderr)
    assert not marker.exists(), f"imported from the working directory: {marker.read_text()}"
