# `modelcut serve` run in a folder that holds a numpy.py, an onnxruntime.py
# and a modelcut/ package (a downloaded model's folder, say): neither the
# command nor any process of the Ray it starts (Serve's controller and
# proxy, the ingress and every stage replica) imports them, although Ray
# puts the driver's working directory first on its workers' path unless
# told otherwise. Relative part paths and `--intervene ./FILE.py:FUNCTION`
# still mean the files of that folder, the function runs in the replicas,
# and every server of that Ray listens on 127.0.0.1. The guarantee is the
# `modelcut` command's (the native executable runs `python -I`) and
# `python -I -m modelcut.cli`'s; a plain `python -m` imports from the
# working directory by Python's own design.
import hashlib
import os
import shutil
import subprocess
import sys

import modelcut
import numpy as np
import pytest
from cli_support import MLP_NODE_NAMES, MLP_WITH_SKIP, cli_env, native_executable, write_model
from http_support import request
from modelcut.serve.wire import decode_response, encode_npz
from serve_support import (
    Serving,
    assert_equal_outputs,
    command_line,
    free_port,
    is_loopback,
    processes_of,
    ray_gone,
)

PLANTED = ("numpy.py", "onnxruntime.py", "modelcut/__init__.py")

# Each planted module records its import in a file outside the folder, then
# hands over to the real module, so that a process that imports it still
# works and the test fails on the record, not on a deployment that hangs.
PLANTED_MODULE = """\
import importlib as _importlib, os as _os, sys as _sys
with open({record!r}, "a") as _record:
    _record.write(f"{{__name__}} in pid {{_os.getpid()}}: {{' '.join(_sys.argv[:2])}}\\n")
del _sys.modules[__name__]
_saved = list(_sys.path)
_sys.path[:] = [_entry for _entry in _sys.path if _os.path.realpath(_entry or ".") != {folder!r}]
try:
    _sys.modules[__name__] = _importlib.import_module(__name__)
finally:
    _sys.path[:] = _saved
"""

# Named as FILE.py:FUNCTION: every value crossing the cut clipped to <= 1.
CLIP = """\
import numpy as np


def clip(cut, values):
    return {name: np.minimum(value, np.float32(1)) for name, value in values.items()}
"""

COMMANDS = ("native", "python -I")


def command_argv(kind: str) -> list[str]:
    if kind == "python -I":
        return [sys.executable, "-I", "-m", "modelcut.cli"]
    path = native_executable()
    # Not a skip: a missing executable is a broken build.
    assert os.access(path, os.X_OK), f"no native modelcut at {path}: build it or set MODELCUT_EXECUTABLE"
    return [path]


@pytest.fixture
def downloaded(tmp_path):
    """A folder with the chain's parts, clip.py and the planted modules;
    `record` is where a planted module writes that it was imported."""
    folder = tmp_path / "downloaded"
    folder.mkdir()
    record = tmp_path / "imported.txt"
    model = write_model(tmp_path / "mlp.onnx", MLP_WITH_SKIP, MLP_NODE_NAMES)
    parts = modelcut.split(model, at=["mlp/fc2/MatMul"], output_dir=str(tmp_path / "parts")).paths
    for part in parts:
        shutil.copy(part, folder)
    (folder / "clip.py").write_text(CLIP)
    (folder / "serve.yaml").write_text("timeout: 30s\nstages: [{}, {replicas: 1}]\n")
    for name in PLANTED:
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(PLANTED_MODULE.format(record=str(record), folder=os.path.realpath(folder)))
    return folder, record, [os.path.basename(part) for part in parts]


def test_the_planted_modules_record_an_import(downloaded):
    """What makes the other tests able to fail: a Python that has the
    folder on its path imports them, records it and still works."""
    folder, record, _ = downloaded
    done = subprocess.run(
        [sys.executable, "-c", "import numpy, onnxruntime; print(numpy.zeros(2).sum())"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "0.0\n"
    assert sorted(line.split()[0] for line in record.read_text().splitlines()) == ["numpy", "onnxruntime"]


def snapshot(folder) -> dict[str, str]:
    """Every entry below `folder`, with the digest of each file's bytes."""
    entries = {}
    for root, folders, files in os.walk(folder):
        for name in folders:
            entries[os.path.relpath(os.path.join(root, name), folder)] = "folder"
        for name in files:
            with open(os.path.join(root, name), "rb") as file:
                entries[os.path.relpath(os.path.join(root, name), folder)] = hashlib.sha256(
                    file.read()
                ).hexdigest()
    return entries


@pytest.mark.parametrize("command", COMMANDS)
def test_serve_imports_nothing_from_the_working_directory(downloaded, ray_logs, command):
    folder, record, parts = downloaded
    feeds = {"x": np.array([[1, 2, 3, 4], [-1, 0.5, 0, 2]], dtype=np.float32)}
    boundary = modelcut.run_chain([str(folder / parts[0])], feeds)
    clipped = {name: np.minimum(value, np.float32(1)) for name, value in boundary.items()}
    expected = modelcut.run_chain([str(folder / parts[1])], clipped)
    unclipped = modelcut.run_chain([str(folder / part) for part in parts], feeds)
    assert not np.array_equal(expected["y"], unclipped["y"]), "the test meant the intervention to show"

    before = snapshot(folder)
    served = Serving(
        ray_logs,
        *parts,
        "--intervene",
        "./clip.py:clip",
        "--config",
        "serve.yaml",
        "--port",
        str(free_port()),
        argv=command_argv(command),
        cwd=folder,
    )
    try:
        assert served.description["cuts"][0]["intervene"] == "clip"
        # Loading clip.py imports Ray before the command starts it: its
        # servers stay on 127.0.0.1 all the same.
        exposed = {
            command_line(pid): sorted(sockets)
            for pid, sockets in served.listening().items()
            if not all(is_loopback(address) for address, _ in sockets)
        }
        assert exposed == {}
        status, headers, body = request(served.url, encode_npz(feeds))
        assert status == 200, body
        assert_equal_outputs(decode_response(body, headers["content-type"], 1 << 30), expected)
        assert served.stop() == 0, served.stderr
    finally:
        served.stop()
    assert ray_gone(ray_logs), [command_line(pid) for pid in processes_of(None, ray_logs)]
    assert not record.exists(), record.read_text()
    # Inputs never lost: the parts, the config and the intervention's file
    # are as they were, and nothing was written beside them.
    assert snapshot(folder) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_module_of_the_working_directory_is_named_by_its_file(downloaded, ray_logs, command):
    folder, record, parts = downloaded
    done = subprocess.run(
        [*command_argv(command), "serve", *parts, "--intervene", "clip:clip"],
        cwd=folder,
        env={**cli_env(), "RAY_TMPDIR": ray_logs},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "modelcut: error: --intervene 'clip:clip': cannot load clip (ModuleNotFoundError: No module named "
        "'clip'); name a module file by its path: clip.py:clip"
    ]
    assert os.listdir(ray_logs) == []
    assert not record.exists(), record.read_text()
