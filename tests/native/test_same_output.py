# The native executable prints what the Python command prints: the same
# stdout, stderr and exit code, byte for byte, for the normal path (text
# and --json) and for usage mistakes and bad input, on ONNX, Keras and
# TensorFlow files and on names holding control characters and bytes that
# are not UTF-8. Each command line runs with the Python command first,
# then, with its outputs removed, with the executable.
import os
import re
import shutil
import subprocess
import sys

import pytest
from cli_support_path import MLP_NODE_NAMES, MLP_WITH_SKIP, write_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "tests", "fuzz", "corpus")

CASES = {
    "no command": [],
    "only --debug": ["--debug"],
    "inspect": ["inspect", "{mlp}"],
    "inspect json": ["inspect", "{mlp}", "--json"],
    "inspect depth 0": ["inspect", "{mlp}", "--depth", "0"],
    "inspect keras": ["inspect", "{keras}"],
    "inspect keras json": ["inspect", "{keras}", "--json"],
    "inspect graphdef": ["inspect", "{graphdef}"],
    "inspect strange names": ["inspect", "{strange}"],
    "inspect strange names json": ["inspect", "{strange}", "--json"],
    "split": ["split", "{mlp}", "--at", "fc1", "-o", "{out}"],
    "split two cuts json": ["split", "{mlp}", "--at", "fc1", "--at=fc2", "--output={out}", "--json"],
    "split quiet external": ["split", "{mlp}", "--at", "fc2", "-o", "{out}", "-q", "--weights", "external"],
    "split abbreviated options": ["split", "{mlp}", "--a", "fc1", "--out", "{out}", "--js"],
    "split keras": ["split", "{keras}", "--at", "fc2", "-o", "{out}"],
    "split strange name": ["split", "{strange}", "--at", "fc\n1", "-o", "{out}"],
    "split unknown name": ["split", "{mlp}", "--at", "fc3", "-o", "{out}"],
    "split strange unknown name": ["split", "{strange}", "--at", "fc4", "-o", "{out}"],
    "split no output": ["split", "{mlp}", "--at", "fc1"],
    "split missing arguments": ["split"],
    "split missing --at": ["split", "{mlp}", "-o", "{out}"],
    "split --at without value": ["split", "{mlp}", "-o", "{out}", "--at"],
    "split bad choice": ["split", "{mlp}", "--at", "fc1", "-o", "{out}", "--weights", "x"],
    "split bad int": ["split", "{mlp}", "--at", "fc1", "-o", "{out}", "--external-threshold", "1k"],
    "split unknown option": ["split", "{mlp}", "--bogus", "x", "--at", "fc1", "-o", "{out}"],
    "split two models": ["split", "{mlp}", "{mlp}", "--at", "fc1", "-o", "{out}"],
    "split flag with value": ["split", "{mlp}", "--at", "fc1", "-o", "{out}", "--json=yes"],
    "split missing model": ["split", "{missing}", "--at", "fc1", "-o", "{out}"],
    "inspect directory": ["inspect", "{folder}"],
    "merge missing output": ["merge", "{part1}", "{part2}"],
    "merge": ["merge", "{part1}", "{part2}", "-o", "{merged}"],
    "merge quiet": ["merge", "-q", "{part1}", "{part2}", "-o", "{merged}"],
    "merge one part": ["merge", "{part1}", "-o", "{merged}"],
    "merge out of order": ["merge", "{part2}", "{part1}", "-o", "{merged}"],
    "merge into a part": ["merge", "{part1}", "{part2}", "-o", "{part1}", "--force"],
    "plan": ["plan", "{mlp}", "--stages", "2"],
    "plan flops json": ["plan", "{mlp}", "--stages", "3", "--balance", "flops", "--json"],
    "plan symbols": ["plan", "{mlp}", "--stages", "2", "--batch", "8", "--dim", "seq=4", "--dim", "N=3"],
    "plan caps": [
        "plan",
        "{mlp}",
        "--stages",
        "2",
        "--max-stage-params",
        "100B",
        "--max-boundary-bytes",
        "1MiB",
    ],
    "plan time": [
        "plan",
        "{mlp}",
        "--stages",
        "2",
        "--balance",
        "time",
        "--profile",
        "{times}",
        "--bandwidth",
        "100Mbit/s",
    ],
    "plan device server": [
        "plan",
        "{mlp}",
        "--device",
        "{times}",
        "--server",
        "{times}",
        "--bandwidth",
        "1MB/s",
        "--rtt",
        "20ms",
    ],
    "plan device server json": [
        "plan",
        "{mlp}",
        "--device",
        "{times}",
        "--server",
        "{times}",
        "--bandwidth",
        "1kB/s",
        "--sweep",
        "1kB/s,1GB/s",
        "--json",
    ],
    "plan split": ["plan", "{mlp}", "--stages", "3", "--split", "{out}"],
    "plan split json": ["plan", "{mlp}", "--stages", "2", "--split", "{out}", "--json"],
    "plan split exists": ["plan", "{mlp}", "--stages", "2", "--split", "{folder}"],
    "plan keras": ["plan", "{keras}", "--stages", "2"],
    "plan graphdef": ["plan", "{graphdef}", "--stages", "2", "--balance", "flops"],
    "plan strange names": ["plan", "{strange}", "--stages", "3"],
    "plan strange names json": ["plan", "{strange}", "--stages", "3", "--json"],
    "plan nothing asked": ["plan", "{mlp}"],
    "plan bad stages": ["plan", "{mlp}", "--stages", "0"],
    "plan bad balance": ["plan", "{mlp}", "--stages", "2", "--balance", "fast"],
    "plan bad dim": ["plan", "{mlp}", "--stages", "2", "--dim", "seq"],
    "plan bad size": ["plan", "{mlp}", "--stages", "2", "--max-stage-params", "lots"],
    "plan bad rate": ["plan", "{mlp}", "--device", "{times}", "--server", "{times}", "--bandwidth", "fast"],
    "plan bad sweep": [
        "plan",
        "{mlp}",
        "--device",
        "{times}",
        "--server",
        "{times}",
        "--bandwidth",
        "1MB/s",
        "--sweep",
        ",,",
    ],
    "plan bad rtt": [
        "plan",
        "{mlp}",
        "--device",
        "{times}",
        "--server",
        "{times}",
        "--bandwidth",
        "1MB/s",
        "--rtt",
        "soon",
    ],
    "plan half device server": ["plan", "{mlp}", "--device", "{times}", "--bandwidth", "1MB/s"],
    "plan stages and device": [
        "plan",
        "{mlp}",
        "--stages",
        "2",
        "--device",
        "{times}",
        "--server",
        "{times}",
    ],
    "plan bandwidth without time": ["plan", "{mlp}", "--stages", "2", "--bandwidth", "1MB/s"],
    "plan profile without time": ["plan", "{mlp}", "--stages", "2", "--profile", "{times}"],
    "plan missing profile": ["plan", "{mlp}", "--stages", "2", "--balance", "time", "--profile", "{missing}"],
    "plan not a profile": ["plan", "{mlp}", "--stages", "2", "--balance", "time", "--profile", "{keras}"],
    "plan profile of another model": [
        "plan",
        "{mlp}",
        "--device",
        "{other_times}",
        "--server",
        "{times}",
        "--bandwidth",
        "1MB/s",
    ],
    "plan missing model": ["plan", "{missing}", "--stages", "2"],
    # Handed to the Python package (TensorFlow freezes SavedModels).
    "inspect broken saved model": ["inspect", "{saved_model}", "--signature", "serving_default"],
    "split signature of a file": ["split", "{mlp}", "--at", "fc1", "-o", "{out}", "--signature", "other"],
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    sys.path.insert(0, os.path.join(REPO, "tests", "cli"))
    from test_printable import strange_model

    root = tmp_path_factory.mktemp("same")
    mlp = write_model(root / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    parts = root / "parts"
    subprocess.run(
        [sys.executable, "-m", "modelcut.cli", "split", mlp, "--at", "fc1", "-o", parts, "-q"],
        check=True,
        capture_output=True,
    )
    (root / "folder.onnx").mkdir()
    (root / "saved").mkdir()
    (root / "saved" / "saved_model.pb").write_bytes(b"not a SavedModel")
    shutil.copy(os.path.join(CORPUS, "fuzz_keras", "seed.keras"), root / "seed.keras")
    shutil.copy(os.path.join(CORPUS, "fuzz_pb", "keras_seed_frozen.pb"), root / "seed.pb")
    times, other_times = root / "times.json", root / "other.json"
    subprocess.run(
        [sys.executable, "-m", "modelcut.cli", "profile", mlp, "-o", times, "--runs", "2", "-q"],
        check=True,
        capture_output=True,
    )
    other_times.write_text(
        '{"format": "modelcut-profile", "version": 1, "model": "x.onnx", "nodes": {"zz": 1}}'
    )
    return {
        "mlp": mlp,
        "keras": str(root / "seed.keras"),
        "graphdef": str(root / "seed.pb"),
        "strange": strange_model(root / "strange.onnx"),
        "out": str(root / "out"),
        "missing": str(root / "nope.onnx"),
        "folder": str(root / "folder.onnx"),
        "part1": str(parts / "mlp.part1.onnx"),
        "part2": str(parts / "mlp.part2.onnx"),
        "merged": str(root / "merged.onnx"),
        "saved_model": str(root / "saved"),
        "times": str(times),
        "other_times": str(other_times),
    }


def run(command, words, outputs):
    for path in outputs:
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    result = subprocess.run(
        [*command, *words],
        capture_output=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "MODELCUT_PYTHON": sys.executable},
    )
    # The one figure that differs from run to run: how long planning took.
    stdout = re.sub(rb'"plan_seconds": [-+.e0-9]+', b'"plan_seconds": T', result.stdout)
    return result.returncode, stdout, result.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_output_as_the_python_command(native_modelcut, files, case):
    words = [word.format(**files) for word in CASES[case]]
    outputs = [files["out"], files["merged"]]
    python = run([sys.executable, "-m", "modelcut.cli"], words, outputs)
    native = run([native_modelcut], words, outputs)
    assert native == python
