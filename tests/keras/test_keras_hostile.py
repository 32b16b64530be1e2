"""Crafted Keras files through the CLI: each one is refused with exit 2 and
one line on stderr, in bounded time and memory, leaving nothing in the
temporary folder; none makes modelcut read outside the model file. Every
input is made here from a real saved model or from a few lines of JSON, and
given to both commands (Python and the native executable)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
from cli_support import assert_one_line_error, cli_argv
from keras_checks import run_cli

# Every file is given to the Python command and to the native executable.
pytestmark = pytest.mark.usefixtures("both_commands")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


# Runs a command and writes its peak RSS (KiB, from os.wait4) to the file
# named by argv[1]. A launcher, because a process forked from this one (a
# gigabyte, with TensorFlow loaded) starts with this one's RSS as its peak.
_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_bounded(*args, seconds: float = 60, env=None) -> Run:
    """`modelcut ARGS`, killed after `seconds`, with its peak RSS."""
    with tempfile.TemporaryDirectory() as folder:
        out, err, peak = (Path(folder) / name for name in ("out", "err", "peak"))
        start = time.monotonic()
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, peak, *cli_argv(), *map(str, args)],
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
            try:
                process.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
                pytest.fail(f"modelcut {' '.join(map(str, args))} did not finish in {seconds} s")
        elapsed = time.monotonic() - start
        peak_mb = int(peak.read_text()) / 1024
        result = Run(process.returncode, out.read_text(), err.read_text(), elapsed, peak_mb)
    print(
        f"[{os.environ.get('PYTEST_CURRENT_TEST', '').split(' ')[0]}] exit {result.returncode}, "
        f"{result.seconds:.1f} s, peak RSS {result.peak_mb:.0f} MB"
    )  # figures, shown with -s
    return result


def assert_one_error(result: Run, *fragments, max_seconds: float = 30, max_mb: float = 600):
    assert_one_line_error(result, *fragments)
    assert result.seconds < max_seconds, result.seconds
    assert result.peak_mb < max_mb, f"peak RSS {result.peak_mb:.0f} MB"


@pytest.fixture
def empty_tmp(tmp_path):
    """An environment whose temporary folder is empty, checked empty afterwards."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    yield {**os.environ, "TMPDIR": str(folder)}
    # onnxruntime, which the CLI imports, keeps a session file ".ses" there.
    assert sorted(name for name in os.listdir(folder) if name != ".ses") == []


def keras_archive(
    path: Path, config, weights: Path | bytes | None = None, metadata="{}", compression=zipfile.ZIP_STORED
) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("metadata.json", metadata)
        archive.writestr("config.json", config if isinstance(config, str) else json.dumps(config))
        if isinstance(weights, Path):
            archive.write(weights, "model.weights.h5")
        elif weights is not None:
            archive.writestr("model.weights.h5", weights)
    return path


def unpack(source: Path, folder: Path):
    """config (parsed), metadata (text) and the weights file of a .keras archive."""
    with zipfile.ZipFile(source) as archive:
        config = json.loads(archive.read("config.json"))
        metadata = archive.read("metadata.json").decode()
        weights = folder / "model.weights.h5"
        weights.write_bytes(archive.read("model.weights.h5"))
    return config, metadata, weights


def legacy_copy(keras_model, tmp_path, name="keras3.h5") -> Path:
    model = tmp_path / name
    shutil.copy(keras_model(name), model)
    return model


def set_model_config(path: Path, config) -> None:
    with h5py.File(path, "a") as h5:
        h5.attrs["model_config"] = config if isinstance(config, str) else json.dumps(config)


def nested_sequential(depth: int) -> dict:
    """A Sequential model holding a Sequential model ... `depth` deep."""
    model = {"class_name": "Dense", "config": {"name": "leaf", "units": 2}}
    for level in range(depth):
        model = {
            "class_name": "Sequential",
            "config": {"name": f"m{level}", "layers": [model], "build_input_shape": [None, 2]},
        }
    return model


# -------------------------------------------------------- JSON and config walks


def test_deep_json_in_keras_config(keras_model, tmp_path, empty_tmp):
    config, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
    text = json.dumps(config)
    deep = "[" * 200_000 + "]" * 200_000
    text = text.replace('"trainable": true', '"trainable": ' + deep, 1)
    model = keras_archive(tmp_path / "deep.keras", text, weights, metadata)
    assert_one_error(run_bounded("inspect", model, env=empty_tmp), "config.json is nested more than 512 deep")


def test_deep_json_in_keras_metadata(keras_model, tmp_path, empty_tmp):
    config, _, weights = unpack(keras_model("seed.keras"), tmp_path)
    model = keras_archive(tmp_path / "deep.keras", config, weights, "[" * 100_000 + "]" * 100_000)
    result = run_bounded("inspect", model, env=empty_tmp)
    assert_one_error(result, "metadata.json is nested more than 512 deep")


def test_deep_json_in_h5_model_config(keras_model, tmp_path, empty_tmp):
    model = legacy_copy(keras_model, tmp_path)
    set_model_config(model, "[" * 200_000 + "]" * 200_000)
    result = run_bounded("inspect", model, env=empty_tmp)
    assert_one_error(result, "model_config attribute is nested more than 512")


def test_many_json_values_in_config(keras_model, tmp_path, empty_tmp):
    config, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
    text = json.dumps(config).replace('"trainable": true', '"trainable": [' + "0," * 5_000_000 + "0]", 1)
    model = keras_archive(tmp_path / "wide.keras", text, weights, metadata, compression=zipfile.ZIP_DEFLATED)
    assert_one_error(run_bounded("inspect", model, env=empty_tmp), "config.json holds more than")


@pytest.mark.parametrize("container", ["keras", "h5"])
def test_deeply_nested_models(keras_model, tmp_path, empty_tmp, container):
    config = nested_sequential(120)  # about 360 levels of JSON, below the JSON limit
    if container == "h5":
        model = legacy_copy(keras_model, tmp_path)
        set_model_config(model, config)
    else:
        _, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
        model = keras_archive(tmp_path / "nested.keras", config, weights, metadata)
    assert_one_error(run_bounded("inspect", model, env=empty_tmp), "models are nested more than 32 deep")


def keras_tensor(layer: str, node: int) -> dict:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, 2], "dtype": "float32", "keras_history": [layer, node, 0]},
    }


def test_nested_model_called_exponentially(keras_model, tmp_path, empty_tmp):
    """Each level calls the level below twice: 2^30 calls once flattened."""
    leaf = {"class_name": "Dense", "config": {"name": "leaf", "units": 2}}
    model = {
        "class_name": "Sequential",
        "config": {"name": "base", "layers": [leaf], "build_input_shape": [None, 2]},
    }
    for level in range(30):
        name = model["config"]["name"]
        x = {
            "class_name": "InputLayer",
            "config": {"name": "x", "batch_shape": [None, 2]},
            "inbound_nodes": [],
        }
        calls = [
            {"args": [keras_tensor("x", 0)], "kwargs": {}},
            {"args": [keras_tensor(name, 0)], "kwargs": {}},
        ]
        child = dict(model, inbound_nodes=calls)
        last = 2 if model["class_name"] == "Functional" else 1  # Keras 3 counts a Functional's own node here
        model = {
            "class_name": "Functional",
            "config": {
                "name": f"twice{level}",
                "layers": [x, child],
                "input_layers": [["x", 0, 0]],
                "output_layers": [[name, last, 0]],
            },
        }
    legacy = legacy_copy(keras_model, tmp_path)
    set_model_config(legacy, model)
    assert_one_error(run_bounded("inspect", legacy, env=empty_tmp), "(a nested model called many times?)")


@pytest.mark.parametrize("class_name", ["A" * 100_000, "Aa" * 50_000, "a" + "Ab" * 50_000])
def test_long_class_name(keras_model, tmp_path, empty_tmp, class_name):
    config, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
    fc2 = next(layer for layer in config["config"]["layers"] if layer["config"]["name"] == "fc2")
    fc2["class_name"] = class_name
    model = keras_archive(tmp_path / "long.keras", config, weights, metadata)
    result = run_bounded("inspect", model, env=empty_tmp)
    # The weights carry layer names, so fc2's are found whatever its class.
    assert result.returncode == 0, result.stderr
    assert "fc2" in result.stdout and result.seconds < 30


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        ("tensor", 10**8, "tensor index 100000000, outside [0, 65536)"),
        ("tensor", -1, "tensor index -1"),
        ("tensor", 2**64 - 1, "tensor index 18446744073709551615"),
        ("node", 2**63 - 1, "node index 9223372036854775807"),
        ("node", -(2**63), "node index -9223372036854775808"),
        ("node", 10**8, "reads a tensor no call makes"),
    ],
)
def test_reference_indices(keras_model, tmp_path, empty_tmp, field, value, fragment):
    config, metadata, weights = unpack(keras_model("residual.keras"), tmp_path)
    head = next(layer for layer in config["config"]["layers"] if layer["config"]["name"] == "head")
    history = head["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
    history[1 if field == "node" else 2] = value
    model = keras_archive(tmp_path / "index.keras", config, weights, metadata)
    assert_one_error(run_bounded("inspect", model, env=empty_tmp), fragment)


# ----------------------------------------------------------- zip members


def test_config_that_expands_to_1_gib(keras_model, tmp_path, empty_tmp):
    _, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
    model = tmp_path / "bomb.keras"
    with zipfile.ZipFile(model, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("metadata.json", metadata)
        with archive.open("config.json", "w", force_zip64=True) as member:
            member.write(b'{"class_name": "Sequential", "config": {"name": "')
            block = b" " * (1 << 24)
            for _ in range(64):
                member.write(block)
            member.write(b'"}}')
        archive.write(weights, "model.weights.h5")
    assert model.stat().st_size < 8 << 20
    result = run_bounded("inspect", model, env=empty_tmp)
    assert_one_error(result, "config.json is", "more than the 67108864 accepted")


def patch_declared_size(model: Path, member: str, size: int) -> None:
    """Makes the archive's headers claim `size` bytes for `member`
    (uncompressed), as a crafted file would; its data stay as they are."""
    data = bytearray(model.read_bytes())
    name = member.encode()
    at = 0
    while (at := data.find(b"PK\x03\x04", at)) >= 0:  # local headers: size at 22
        if data[at + 30 : at + 30 + len(name)] == name:
            struct.pack_into("<I", data, at + 22, size)
        at += 4
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) >= 0:  # central directory: size at 24
        if data[at + 46 : at + 46 + len(name)] == name:
            struct.pack_into("<I", data, at + 24, size)
        at += 4
    model.write_bytes(bytes(data))


def test_config_whose_header_understates_its_size(keras_model, tmp_path, empty_tmp):
    config, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
    text = json.dumps(config)
    text = text[:-1] + ', "padding": "' + " " * (200 << 20) + '"}'
    model = keras_archive(tmp_path / "liar.keras", text, weights, metadata, compression=zipfile.ZIP_DEFLATED)
    patch_declared_size(model, "config.json", 1000)
    assert_one_error(run_bounded("inspect", model, env=empty_tmp), "config.json")


def test_weights_that_expand_to_2_gib(keras_model, tmp_path, empty_tmp):
    config, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
    model = tmp_path / "bomb.keras"
    with zipfile.ZipFile(model, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("metadata.json", metadata)
        archive.writestr("config.json", json.dumps(config))
        with archive.open("model.weights.h5", "w", force_zip64=True) as member:
            member.write(weights.read_bytes())
            block = bytes(1 << 24)
            for _ in range(128):
                member.write(block)
    assert model.stat().st_size < 16 << 20
    result = run_bounded("inspect", model, env=empty_tmp)
    assert_one_error(result, "model.weights.h5 expands from", "Keras stores it uncompressed", max_seconds=10)


def test_weights_whose_header_understates_their_size(keras_model, tmp_path, empty_tmp):
    config, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
    padded = tmp_path / "padded.h5"
    padded.write_bytes(weights.read_bytes() + bytes(300 << 20))
    model = keras_archive(tmp_path / "liar.keras", config, padded, metadata, compression=zipfile.ZIP_DEFLATED)
    patch_declared_size(model, "model.weights.h5", weights.stat().st_size)
    assert_one_error(run_bounded("inspect", model, env=empty_tmp), "model.weights.h5", max_seconds=10)


def test_weights_that_are_not_hdf5(keras_model, tmp_path, empty_tmp):
    config, metadata, _ = unpack(keras_model("seed.keras"), tmp_path)
    model = keras_archive(tmp_path / "text.keras", config, b"not HDF5 at all" * 1000, metadata)
    assert_one_error(run_bounded("inspect", model, env=empty_tmp), "model.weights.h5 is not an HDF5 file")


# ------------------------------------------------------- libhdf5's global heap


def global_heap_objects(data: bytes):
    """(offset of the collection, [(offset of object header, index, size)])
    of the first global heap collection of a file with 8-byte lengths."""
    start = data.index(b"GCOL\x01\x00\x00\x00")
    (size,) = struct.unpack_from("<Q", data, start + 8)
    objects, at = [], start + 16
    while at + 16 <= start + size:
        index, _, _, object_size = struct.unpack_from("<HHIQ", data, at)
        objects.append((at, index, object_size))
        if index == 0:
            break
        at += 16 + (object_size + 7) // 8 * 8
    return start, objects


@pytest.mark.parametrize("damage", ["free space of size 0", "free space of size 1", "collection size"])
def test_damaged_global_heap_does_not_hang(keras_model, tmp_path, empty_tmp, damage):
    """Two bytes changed in a legacy .h5 written by tf-keras made libhdf5
    1.10.8 loop forever reading model_config (a variable-length string in a
    global heap collection)."""
    model = legacy_copy(keras_model, tmp_path, "legacy.h5")
    data = bytearray(model.read_bytes())
    start, objects = global_heap_objects(bytes(data))
    free = next(at for at, index, _ in objects if index == 0)
    if damage == "collection size":
        data[start + 9] = 0x80  # 8 KiB -> 32 KiB: the walk runs into what follows the collection
    else:
        data[free + 8 : free + 10] = b"\x00\x00" if damage.endswith("0") else b"\x01\x00"
    model.write_bytes(bytes(data))
    assert_one_error(run_bounded("inspect", model, seconds=60, env=empty_tmp), "model_config", max_seconds=20)


# ------------------------------------------------- references outside the file


def outside_file(tmp_path) -> Path:
    secret = tmp_path / "outside" / "secret.h5"
    secret.parent.mkdir()
    with h5py.File(secret, "w") as h5:
        h5["data"] = np.arange(8, dtype="float32")
    return secret


def add_outside_reference(h5: h5py.File, group: str, kind: str, secret: Path) -> str:
    name = f"{group}/sneaky"
    if kind == "external link":
        h5[name] = h5py.ExternalLink(str(secret), "/data")
    elif kind == "external storage":
        raw = secret.parent / "raw.bin"
        raw.write_bytes(np.arange(8, dtype="float32").tobytes())
        h5.create_dataset(name, shape=(8,), dtype="float32", external=[(str(raw), 0, 32)])
    else:
        layout = h5py.VirtualLayout(shape=(8,), dtype="float32")
        layout[:] = h5py.VirtualSource(str(secret), "data", shape=(8,))
        h5.create_virtual_dataset(name, layout)
    return name


KINDS = ["external link", "external storage", "virtual dataset"]
FRAGMENTS = {
    "external link": "an external link to",
    "external storage": "stored in external files",
    "virtual dataset": "a virtual dataset",
}


@pytest.mark.parametrize("kind", KINDS)
def test_h5_reaching_outside_is_refused(keras_model, tmp_path, empty_tmp, kind):
    model = legacy_copy(keras_model, tmp_path)
    with h5py.File(model, "a") as h5:
        name = add_outside_reference(h5, "model_weights/fc1", kind, outside_file(tmp_path))
    output = tmp_path / "out"
    result = run_bounded("split", model, "--at", "fc1", "-o", output, env=empty_tmp)
    assert_one_error(result, name, FRAGMENTS[kind], "outside the model file")
    assert not output.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_keras_weights_reaching_outside_are_refused(keras_model, tmp_path, empty_tmp, kind):
    config, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
    with h5py.File(weights, "a") as h5:
        name = add_outside_reference(h5, "layers/dense/vars", kind, outside_file(tmp_path))
    model = keras_archive(tmp_path / "outside.keras", config, weights, metadata)
    output = tmp_path / "out"
    result = run_bounded("split", model, "--at", "fc2", "-o", output, env=empty_tmp)
    assert_one_error(result, "model.weights.h5:" + name, FRAGMENTS[kind])
    assert not output.exists()


def test_deeply_nested_groups(keras_model, tmp_path, empty_tmp):
    """libhdf5 recurses through groups when it copies them (H5Ocopy)."""
    model = legacy_copy(keras_model, tmp_path)
    with h5py.File(model, "a") as h5:
        h5.create_group("model_weights/fc1/" + "/".join(["g"] * 300))
    assert_one_error(
        run_bounded("split", model, "--at", "fc1", "-o", tmp_path / "out", env=empty_tmp),
        "groups nested more than 200 deep",
    )


def test_soft_links_are_fine(keras_model, tmp_path):
    model = legacy_copy(keras_model, tmp_path)
    with h5py.File(model, "a") as h5:
        h5["model_weights/fc1/alias"] = h5py.SoftLink("/model_weights/fc2")
    result = run_cli("split", model, "--at", "fc1", "-o", tmp_path / "out", "-q")
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize(
    "name,at",
    [("seed.keras", "fc2"), ("residual.keras", "d2"), ("nested.keras", "blk_dense"), ("legacy.h5", "pool")],
)
def test_parts_are_byte_identical_between_runs(keras_model, tmp_path, name, at):
    source = keras_model(name)
    # Two processes: what differs between runs (hash seeds, addresses) differs.
    first = run_cli("split", source, "--at", at, "-o", tmp_path / "a", "-q", subprocess=True)
    assert first.returncode == 0, first.stderr
    second = run_cli("split", source, "--at", at, "-o", tmp_path / "b", "-q", subprocess=True)
    assert second.returncode == 0, second.stderr
    for part_a, part_b in zip(first.stdout.split(), second.stdout.split(), strict=True):
        assert Path(part_a).read_bytes() == Path(part_b).read_bytes(), part_a
        # Two runs within a second would agree even with the time written
        # in: the parts must hold no clock time at all.
        assert_no_clock_time(Path(part_a), tmp_path)


def assert_no_clock_time(part: Path, tmp_path: Path) -> None:
    """Fails if the part (.keras zip or .h5) records when it was written: zip
    entries must carry the fixed date 1980-01-01 and HDF5 objects no times."""
    if part.suffix == ".keras":
        with zipfile.ZipFile(part) as archive:
            for entry in archive.infolist():
                assert entry.date_time == (1980, 1, 1, 0, 0, 0), (part, entry.filename, entry.date_time)
                if entry.filename.endswith(".h5"):
                    assert_no_clock_time(Path(archive.extract(entry, tmp_path / "unpacked")), tmp_path)
        return
    with h5py.File(part, "r") as h5:
        objects = [h5]
        h5.visititems(lambda _name, obj: objects.append(obj))
        for obj in objects:
            info = h5py.h5o.get_info(obj.id)
            assert (info.ctime, info.mtime) == (0, 0), (part, obj.name, info.ctime, info.mtime)


# ------------------------------------------------------ the temporary folder


def test_no_temporary_folder_left_by_failures(keras_model, tmp_path, empty_tmp):
    config, metadata, weights = unpack(keras_model("seed.keras"), tmp_path)
    with h5py.File(weights, "a") as h5:
        del h5["layers/dense_2"]  # fc3: fails after the weights are extracted
    failing = [
        keras_archive(tmp_path / "a.keras", config, weights, metadata),
        keras_archive(tmp_path / "b.keras", config, b"\x89HDF\r\n\x1a\n" + bytes(4000), metadata),
        keras_archive(tmp_path / "c.keras", "{", weights, metadata),
    ]
    for model in failing:
        for command in (["inspect", model], ["split", model, "--at", "fc2", "-o", tmp_path / "out"]):
            assert_one_error(run_bounded(*command, env=empty_tmp))
    good = keras_model("seed.keras")
    ok = run_bounded("split", good, "--at", "fc2", "-o", tmp_path / "good", env=empty_tmp)
    assert ok.returncode == 0, ok.stderr
