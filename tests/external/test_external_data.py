# Models whose weights live in external data files: every output mode
# (inline, external, in place) verified on ONNX Runtime; a model over 2 GB;
# and malicious external data references, which must be refused with one
# clear line before anything is read outside the model's folder or written.
import os

import modelcut
import numpy as np
import onnx
import pytest
from cli_support import run_cli
from external_support import mlp_with_skip, over_two_gigabytes, save_external, set_external

MODES = ["inline", "external", "in-place", "auto"]


def files_in(folder) -> list[str]:
    return sorted(os.listdir(folder))


def external_locations(path) -> set[str]:
    model = onnx.load(path, load_external_data=False)
    return {
        entry.value
        for tensor in model.graph.initializer
        for entry in tensor.external_data
        if entry.key == "location"
    }


@pytest.fixture(params=["one file", "one file per tensor"])
def external_model(request, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    return save_external(mlp_with_skip(), folder / "mlp.onnx", one_file=request.param == "one file")


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_verifies(external_model, tmp_path, mode):
    out = tmp_path / "parts" if mode != "in-place" else None
    source_before = files_in(os.path.dirname(external_model))
    result = modelcut.split(external_model, ["fc2"], out, weights=mode)
    for path in result.paths:
        onnx.checker.check_model(path, full_check=True)  # by path: reads external data too
    feeds = {"x": np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)}
    report = modelcut.verify(external_model, result.paths, feeds=feeds)
    assert report.ok and all(check.identical for check in report.outputs), report.format_table()

    locations = set().union(*(external_locations(p) for p in result.paths))
    if mode in ("inline", "auto"):  # auto: these parts are far under the threshold
        assert locations == set()
        assert files_in(out) == ["mlp.part1.onnx", "mlp.part2.onnx"]
    elif mode == "external":
        assert locations == {"mlp.part1.onnx.data", "mlp.part2.onnx.data"}
    else:
        # In place: beside the model, reading the model's own weight files.
        folder = os.path.dirname(external_model)
        assert [os.path.dirname(p) for p in result.paths] == [folder, folder]
        assert locations <= set(source_before)
        assert files_in(folder) == sorted(source_before + ["mlp.part1.onnx", "mlp.part2.onnx"])


def test_in_place_refers_to_weights_inside_the_model_file(tmp_path):
    model = tmp_path / "inline.onnx"
    onnx.save(mlp_with_skip(), str(model))
    result = modelcut.split(model, ["fc2"], weights="in-place")
    assert set().union(*(external_locations(p) for p in result.paths)) == {"inline.onnx"}
    assert os.path.getsize(result.paths[0]) < 2048  # weights not copied
    assert modelcut.verify(model, result.paths).ok
    with pytest.raises(modelcut.Error, match="already exists"):
        modelcut.split(model, ["fc2"], weights="in-place")
    with pytest.raises(modelcut.Error, match="beside the model"):
        modelcut.split(model, ["fc2"], tmp_path / "elsewhere", weights="in-place")


def test_external_weights_at_offsets_in_shared_files(tmp_path):
    """Two tensors per file, at offsets, in two files of a subfolder."""
    model = mlp_with_skip()
    folder = tmp_path / "m"
    (folder / "weights").mkdir(parents=True)
    layout = {
        "w1": ("weights/a.bin", 0),
        "w2": ("weights/a.bin", 1),
        "w3": ("weights/b.bin", 0),
        "b": ("weights/b.bin", 1),
    }
    offsets = {}
    for tensor in model.graph.initializer:
        location, slot = layout[tensor.name]
        data = onnx.numpy_helper.to_array(tensor).tobytes()
        with open(folder / location, "ab") as file:
            file.write(b"\0" * (100 + slot))  # unaligned on purpose
            offsets[tensor.name] = file.tell()
            file.write(data)
        set_external(tensor, location, offsets[tensor.name], len(data))
    path = folder / "mlp.onnx"
    onnx.save(model, str(path))
    for mode in MODES:
        out = tmp_path / mode if mode != "in-place" else None
        parts = modelcut.split(path, ["fc1", "skip"], out, weights=mode).paths
        assert modelcut.verify(path, parts).ok, mode


def test_merge_keeps_external_weights_beside_the_parts(external_model, tmp_path):
    out = tmp_path / "parts"
    parts = modelcut.split(external_model, ["fc2"], out, weights="external").paths
    merged = out / "merged.onnx"
    modelcut.merge(parts, merged)
    assert modelcut.verify(external_model, [merged]).ok
    with pytest.raises(modelcut.Error, match="same folder"):
        modelcut.merge(parts, tmp_path / "elsewhere.onnx")


def test_model_over_two_gigabytes(tmp_path):
    path, feeds = over_two_gigabytes(str(tmp_path))
    assert os.path.getsize(tmp_path / "big.bin") > 2**31
    for mode in ["in-place", "auto"]:
        out = tmp_path / mode if mode != "in-place" else None
        parts = modelcut.split(path, ["sum"], out, weights=mode).paths
        report = modelcut.verify(path, parts, feeds=feeds)
        assert report.ok and all(check.identical for check in report.outputs), report.format_table()
        if mode == "auto":  # 1.5 GB of weights in part 1: over the 1 GiB threshold
            assert external_locations(parts[0]) == {"big.part1.onnx.data"}
            assert external_locations(parts[1]) == set()


def test_inline_part_over_two_gigabytes_is_refused(tmp_path):
    path, _ = over_two_gigabytes(str(tmp_path))
    # After "pre", the second part holds all 2.28 GB of weights: no ONNX
    # reader accepts a single protobuf that large.
    with pytest.raises(modelcut.Error, match="2 GiB"):
        modelcut.split(path, ["pre"], tmp_path / "parts", weights="inline")
    assert not (tmp_path / "parts").exists()


# Malicious or broken references: one line, exit 2, nothing written.
BAD_REFERENCES = {
    "parent": ("../secret.bin", 0, None, "contains '..'"),
    "absolute": ("/etc/passwd", 0, None, "absolute path"),
    "symlink": ("link.bin", 0, None, "outside the model's folder"),
    "offset": ("data.bin", 10_000_000, None, "past the end"),
    "length": ("data.bin", 8, 2**63, "runs past the end"),
    "missing": ("nowhere.bin", 0, None, "does not exist"),
}


@pytest.mark.parametrize("case", sorted(BAD_REFERENCES))
def test_malicious_external_data_is_refused(tmp_path, case, both_commands):
    location, offset, length, message = BAD_REFERENCES[case]
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\1" * 64 * 64 * 4)
    os.symlink(tmp_path / "secret.bin", folder / "link.bin")
    (folder / "data.bin").write_bytes(b"\0" * 64 * 64 * 4)
    model = mlp_with_skip()
    set_external(model.graph.initializer[0], location, offset, length)
    path = folder / "bad.onnx"
    onnx.save(model, str(path))
    before = files_in(folder)

    for command in (["split", path, "--at", "fc2", "-o", tmp_path / "out"], ["inspect", path]):
        result = run_cli(*command)
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("modelcut: error: "), result.stderr
        assert message in lines[0] and "'w1'" in lines[0], lines[0]
    assert not (tmp_path / "out").exists()
    assert files_in(folder) == before
