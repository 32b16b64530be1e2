# The native executable prints what the Python command prints: the same
# stdout, stderr and exit code, byte for byte, for the normal path (text
# and --json) and for usage mistakes and bad input, on ONNX, Keras and
# TensorFlow files and on names holding control characters and bytes that
# are not UTF-8. Each command line runs with the Python command first,
# then, with its outputs removed, with the executable.
import os
import shutil
import subprocess
import sys

import pytest
from cli_support_path import MLP_NODE_NAMES, MLP_WITH_SKIP, write_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "tests", "fuzz", "corpus")

CASES = {
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
    subprocess.run([sys.executable, "-m", "modelcut.cli", "split", mlp, "--at", "fc1", "-o", parts, "-q"],
                   check=True, capture_output=True)
    (root / "folder.onnx").mkdir()
    (root / "saved").mkdir()
    (root / "saved" / "saved_model.pb").write_bytes(b"not a SavedModel")
    shutil.copy(os.path.join(CORPUS, "fuzz_keras", "seed.keras"), root / "seed.keras")
    shutil.copy(os.path.join(CORPUS, "fuzz_pb", "keras_seed_frozen.pb"), root / "seed.pb")
    return {"mlp": mlp, "keras": str(root / "seed.keras"), "graphdef": str(root / "seed.pb"),
            "strange": strange_model(root / "strange.onnx"), "out": str(root / "out"),
            "missing": str(root / "nope.onnx"), "folder": str(root / "folder.onnx"),
            "part1": str(parts / "mlp.part1.onnx"), "part2": str(parts / "mlp.part2.onnx"),
            "merged": str(root / "merged.onnx"), "saved_model": str(root / "saved")}


def run(command, words, outputs):
    for path in outputs:
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    result = subprocess.run([*command, *words], capture_output=True, timeout=300, check=False,
                            stdin=subprocess.DEVNULL, env={**os.environ, "MODELCUT_PYTHON": sys.executable})
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_output_as_the_python_command(native_modelcut, files, case):
    words = [word.format(**files) for word in CASES[case]]
    outputs = [files["out"], files["merged"]]
    python = run([sys.executable, "-m", "modelcut.cli"], words, outputs)
    native = run([native_modelcut], words, outputs)
    assert native == python
