"""The .keras parts as archives: their weights member is written in place
(stored, its HDF5 file starting after a 512-byte zip header, its CRC-32
computed while the weights are copied) and the input's weights are read in
place when Keras stored them. Through the CLI, on models saved by Keras;
loading the parts in Keras and comparing outputs is test_keras_split.py's."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from keras_checks import run_cli


def run_cli_env(env, *args):
    """`modelcut ARGS` as run_cli runs it, in the environment `env`."""
    return subprocess.run(
        [sys.executable, "-m", "modelcut.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def split(model: Path, at: str, out: Path, env=None) -> list[Path]:
    result = run_cli_env(env, "split", model, "--at", at, "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    return [Path(line) for line in result.stdout.split()]


def rezipped(source: Path, target: Path, compression: int) -> Path:
    """The same members in the same order, written again by Python's zipfile."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", compression=compression) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))
    return target


def datasets(h5: h5py.File) -> dict[str, np.ndarray]:
    found = {}
    h5.visititems(
        lambda name, obj: found.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
    )
    return found


@pytest.mark.parametrize(
    "name,at", [("seed.keras", "fc2"), ("nested.keras", "blk_dense"), ("ops.keras", "mha")]
)
def test_weights_member_is_stored_in_place_and_checks(keras_model, tmp_path, name, at):
    source = keras_model(name)
    with zipfile.ZipFile(source) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as h5:
        source_arrays = datasets(h5)
    part_arrays = {}
    for part in split(source, at, tmp_path / "out"):
        with zipfile.ZipFile(part) as archive:
            assert archive.testzip() is None  # every CRC-32 matches
            assert archive.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
            for info in archive.infolist():
                assert info.compress_type == zipfile.ZIP_STORED
                assert info.date_time == (1980, 1, 1, 0, 0, 0)
                assert info.external_attr >> 16 == 0o100644
            weights = archive.getinfo("model.weights.h5")
            assert weights.header_offset == 0
            raw = part.read_bytes()
            assert raw[512:520] == b"\x89HDF\r\n\x1a\n"  # the member's bytes start after the 512-byte header
            # Read as Keras reads it: through the zip member, not the whole file.
            with archive.open("model.weights.h5") as member, h5py.File(member) as h5:
                for array in datasets(h5).values():
                    part_arrays.setdefault(array.tobytes(), array)
    # Every weight array of every part is one of the model's, bit for bit.
    source_bytes = {array.tobytes() for array in source_arrays.values()}
    assert part_arrays and set(part_arrays) <= source_bytes


def test_compressed_input_gives_the_same_parts(keras_model, tmp_path):
    """A re-zipped archive whose weights are deflated is extracted first;
    its parts are the same bytes as those of the stored original."""
    source = keras_model("nested.keras")
    stored = tmp_path / "stored" / "nested.keras"
    deflated = tmp_path / "deflated" / "nested.keras"
    stored.parent.mkdir()
    deflated.parent.mkdir()
    shutil.copy(source, stored)
    rezipped(source, deflated, zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(deflated) as archive:
        assert archive.getinfo("model.weights.h5").compress_type == zipfile.ZIP_DEFLATED
    from_stored = split(stored, "blk_dense", tmp_path / "a")
    from_deflated = split(deflated, "blk_dense", tmp_path / "b")
    assert [p.name for p in from_stored] == [p.name for p in from_deflated]
    for a, b in zip(from_stored, from_deflated):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_stored_weights_need_no_temporary_file(keras_model, tmp_path):
    """Weights stored in the archive are read where they are: no temporary
    copy, so a temporary folder that does not exist does not matter. A
    deflated member must be extracted, and then that is the error."""
    missing = tmp_path / "no-such-folder"
    env = {**os.environ, "TMPDIR": str(missing)}
    source = keras_model("seed.keras")
    parts = split(source, "fc2", tmp_path / "out", env=env)
    assert len(parts) == 2
    deflated = rezipped(source, tmp_path / "deflated.keras", zipfile.ZIP_DEFLATED)
    result = run_cli_env(env, "split", deflated, "--at", "fc2", "-o", tmp_path / "out2")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "temporary" in lines[0], result.stderr
    assert not missing.exists()


def test_damaged_member_offset_falls_back_to_libzip(keras_model, tmp_path):
    """A directory that points the weights member at the wrong local header
    is not trusted: the member is then read through libzip, which refuses
    the archive with one line instead of modelcut reading the wrong bytes."""
    source = keras_model("seed.keras")
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        offset = archive.getinfo("model.weights.h5").header_offset
    end = data.rindex(b"PK\x05\x06")
    directory = int.from_bytes(data[end + 16 : end + 20], "little")
    entry = data.index(b"PK\x01\x02", directory)
    while data[entry + 46 : entry + 46 + 16] != b"model.weights.h5":
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 42 : entry + 46] = (offset + 1).to_bytes(4, "little")
    damaged = tmp_path / "damaged.keras"
    damaged.write_bytes(bytes(data))
    result = run_cli("split", damaged, "--at", "fc2", "-o", tmp_path / "out")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelcut: error: "), result.stderr
    assert not (tmp_path / "out").exists()
