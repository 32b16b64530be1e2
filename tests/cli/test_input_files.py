# Files the CLI reads: only regular files, checked before they are opened
# (a FIFO given as a model, part, external data file or --inputs hung the
# tool; a directory or a device must not be read either), malformed --inputs
# reported as such, and --save never written over a file the run reads.
import hashlib
import os

import numpy as np
import onnx
import pytest
from cli_support import assert_one_line_error, run_cli
from onnx import numpy_helper

# A hang would fail the test by TimeoutExpired instead of blocking the suite
# (in a subprocess: only a process can be stopped).
TIMEOUT = 120


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def parts(mlp, tmp_path):
    result = run_cli("split", mlp, "--at", "fc1", "-o", tmp_path / "p")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("name", ["model.onnx", "model.keras", "model.h5"])
def test_fifo_as_the_model(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    for command in (
        ["inspect", fifo],
        ["split", fifo, "--at", "fc1", "-o", tmp_path / "out"],
        ["verify", fifo, fifo],
        ["run", fifo],
    ):
        result = run_cli(*command, timeout=TIMEOUT, subprocess=True)
        assert_one_line_error(result, f"'{fifo}'", "named pipe (FIFO)", "regular files")
    assert not (tmp_path / "out").exists()


def test_fifo_among_the_parts(mlp, parts, tmp_path):
    fifo = tmp_path / "part2.onnx"
    os.mkfifo(fifo)
    for command in (
        ["merge", parts[0], fifo, "-o", tmp_path / "merged.onnx"],
        ["verify", mlp, parts[0], fifo],
        ["run", parts[0], fifo],
        ["run", *parts, "--reference", fifo],
    ):
        assert_one_line_error(
            run_cli(*command, timeout=TIMEOUT, subprocess=True), "part2.onnx", "named pipe (FIFO)"
        )
    assert not (tmp_path / "merged.onnx").exists()


def test_fifo_as_external_data(mlp, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    model = folder / "mlp.onnx"
    source = onnx.load(mlp)
    for tensor in source.graph.initializer:  # as raw_data, which onnx's external data writer moves out
        tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor), tensor.name))
    onnx.save_model(source, model, save_as_external_data=True, location="mlp.data", size_threshold=0)
    os.remove(folder / "mlp.data")
    os.mkfifo(folder / "mlp.data")
    for command in (
        ["inspect", model],
        ["split", model, "--at", "fc1", "-o", tmp_path / "o"],
        ["verify", model, model],
        ["run", model],
    ):
        assert_one_line_error(
            run_cli(*command, timeout=TIMEOUT, subprocess=True), "mlp.data", "named pipe (FIFO)"
        )
    assert not (tmp_path / "o").exists()


def test_fifo_as_inputs(mlp, parts, tmp_path):
    fifo = tmp_path / "x.npy"
    os.mkfifo(fifo)
    for command in (["verify", mlp, *parts, "--inputs", fifo], ["run", *parts, "--inputs", fifo]):
        assert_one_line_error(
            run_cli(*command, timeout=TIMEOUT, subprocess=True), "x.npy", "named pipe (FIFO)"
        )


def test_directory_and_device(tmp_path):
    folder = tmp_path / "folder.onnx"
    folder.mkdir()
    assert_one_line_error(run_cli("inspect", folder), "folder.onnx", "a directory")
    assert_one_line_error(
        run_cli("split", "/dev/zero", "--at", "a", "-o", tmp_path / "o", timeout=TIMEOUT, subprocess=True),
        "'/dev/zero'",
        "a character device",
    )
    assert_one_line_error(run_cli("inspect", "/dev/null"), "'/dev/null'", "a character device")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "name, content",
    [
        ("bad.npy", b"\x93NUMPY garbage"),
        ("empty.npy", b""),
        ("bad.npz", b"PK\x03\x04 not really a zip archive"),
    ],
)
def test_malformed_inputs(mlp, parts, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    for command in (["verify", mlp, *parts, "--inputs", path], ["run", *parts, "--inputs", path]):
        assert_one_line_error(run_cli(*command), f"--inputs '{path}'", "not a readable")


def test_pickled_inputs_are_refused(mlp, parts, tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    assert_one_line_error(run_cli("run", *parts, "--inputs", path), "objects.npy", "not a readable .npy file")


def test_save_never_replaces_an_input(parts, tmp_path):
    feeds = tmp_path / "feeds.npz"
    np.savez(feeds, x=np.ones((2, 4), np.float32))
    before = digest(feeds)
    assert_one_line_error(run_cli("run", *parts, "--inputs", feeds, "--save", feeds), "is the input")
    assert digest(feeds) == before
    saved = tmp_path / "out.npz"
    result = run_cli("run", *parts, "--inputs", feeds, "--save", saved)
    assert result.returncode == 0, result.stderr
    assert list(np.load(saved).keys()) == ["y"]
    assert [name for name in os.listdir(tmp_path) if name.startswith(".modelcut-")] == []
