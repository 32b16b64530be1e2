# What the executable hands to the Python package: merging Keras part files
# (Keras composes them) and plans it cannot make alone (drawn with
# matplotlib, or timed by profiling first), with the Python it is given, and
# without one a single line saying what to install.
import json
import os
import shutil
import subprocess
import sys

from cli_support_path import MLP_NODE_NAMES, MLP_WITH_SKIP, write_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED_KERAS = os.path.join(REPO, "tests", "fuzz", "corpus", "fuzz_keras", "seed.keras")


def run(executable, *args, python=None):
    env = {"PATH": "/usr/bin:/bin", **({"MODELCUT_PYTHON": python} if python else {})}
    return subprocess.run(
        [executable, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_keras_parts_are_merged_by_the_python_package(native_modelcut, tmp_path):
    model = shutil.copy(SEED_KERAS, tmp_path / "seed.keras")
    split = run(native_modelcut, "split", model, "--at", "fc2", "-o", tmp_path / "parts", "-q")
    assert split.returncode == 0, split.stderr
    parts = split.stdout.split()
    assert [os.path.basename(part) for part in parts] == ["seed.part1.keras", "seed.part2.keras"]

    alone = run(native_modelcut, "merge", *parts, "-o", tmp_path / "whole.keras")
    assert alone.returncode == 2 and len(alone.stderr.strip().splitlines()) == 1, alone
    assert alone.stderr.startswith(
        "modelcut: error: `modelcut merge` needs the modelcut Python package "
        "(Keras parts are composed by Keras)"
    ), alone.stderr
    assert not (tmp_path / "whole.keras").exists()

    merged = run(native_modelcut, "merge", *parts, "-o", tmp_path / "whole.keras", python=sys.executable)
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.strip() == str(tmp_path / "whole.keras")
    assert (tmp_path / "whole.keras").stat().st_size > 0


def test_plans_needing_a_runtime_are_handed_over(native_modelcut, tmp_path):
    model = write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    drawn = run(
        native_modelcut,
        "plan",
        model,
        "--stages",
        "2",
        "--plot",
        tmp_path / "plan.png",
        python=sys.executable,
    )
    assert drawn.returncode == 0, drawn.stderr
    assert f"plot: {tmp_path / 'plan.png'}" in drawn.stdout.splitlines()
    assert (tmp_path / "plan.png").read_bytes().startswith(b"\x89PNG")

    timed = run(
        native_modelcut, "plan", model, "--stages", "2", "--balance", "time", "--json", python=sys.executable
    )
    assert timed.returncode == 0, timed.stderr
    plan = json.loads(timed.stdout)
    assert plan["objective"] == "time" and plan["request"]["profile"]["runtime"].startswith("onnxruntime")

    alone = run(native_modelcut, "plan", model, "--stages", "2", "--balance", "time")
    assert alone.returncode == 2 and len(alone.stderr.strip().splitlines()) == 1, alone
    assert alone.stderr.startswith(
        "modelcut: error: `modelcut plan` needs the modelcut Python package "
        "(--balance time without --profile first profiles the model"
    ), alone.stderr
