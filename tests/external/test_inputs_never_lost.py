# No file a command reads is ever deleted or overwritten, whatever --force
# says: not the model, not the external data files it reads or that in-place
# parts read, not a plan's profiles, not profile's calibration data. Each
# case through the CLI: exit 2, one clear line, every input byte-identical
# afterwards and nothing half-written.
import hashlib
import os

import modelcut
import numpy as np
import onnx
import pytest
from cli_support import run_cli
from external_support import mlp_with_skip

# Both commands: the Python one and the native executable.
pytestmark = pytest.mark.usefixtures("both_commands")


def snapshot(folder) -> dict[str, str]:
    """Every file under `folder`, hidden ones included, with its SHA-256."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                files[os.path.relpath(path, folder)] = hashlib.sha256(file.read()).hexdigest()
    return files


def assert_refused(result, *fragments):
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelcut: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "--force" in lines[0], lines[0]


def save_with_data(folder, location: str):
    """mlp.onnx in `folder`, every weight in the one external file `location`."""
    os.makedirs(os.path.join(folder, os.path.dirname(location)), exist_ok=True)
    path = os.path.join(folder, "mlp.onnx")
    onnx.save_model(
        mlp_with_skip(),
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=location,
        size_threshold=0,
    )
    return path


def test_split_force_into_the_folder_of_the_external_data(tmp_path):
    model = save_with_data(tmp_path, "weights/mlp.bin")
    before = snapshot(tmp_path)
    result = run_cli("split", model, "--at", "fc2", "-o", tmp_path / "weights", "--force")
    assert_refused(result, "output directory", "holds the input", "mlp.bin")
    assert snapshot(tmp_path) == before


def test_split_force_into_a_folder_linking_to_the_external_data(tmp_path):
    """The data file reached through a symbolic link inside the model's folder."""
    model = save_with_data(tmp_path, "mlp.bin")
    os.makedirs(tmp_path / "weights")
    os.replace(tmp_path / "mlp.bin", tmp_path / "weights" / "real.bin")
    os.symlink("weights/real.bin", tmp_path / "mlp.bin")
    before = snapshot(tmp_path)
    assert_refused(
        run_cli("split", model, "--at", "fc2", "-o", tmp_path / "weights", "--force"), "holds the input"
    )
    assert snapshot(tmp_path) == before


def test_merge_force_over_the_weight_file_that_in_place_parts_read(tmp_path):
    model = save_with_data(tmp_path, "w.bin")
    split = run_cli("split", model, "--at", "fc2", "--weights", "in-place", "-q")
    assert split.returncode == 0, split.stderr
    parts = split.stdout.split()
    before = snapshot(tmp_path)
    result = run_cli("merge", *parts, "-o", tmp_path / "w.bin", "--force")
    assert_refused(result, "'" + str(tmp_path / "w.bin") + "'", "is the input")
    assert snapshot(tmp_path) == before
    # The same file by another name (relative, through a "..") is refused too.
    (tmp_path / "sub").mkdir()
    result = run_cli("merge", *parts, "-o", "sub/../w.bin", "--force", cwd=tmp_path)
    assert_refused(result, "is the input")
    assert snapshot(tmp_path) == before


def test_in_place_part_named_like_an_external_data_file(tmp_path):
    """The model's weights live in "mlp.part2.onnx", the name in-place part 2 would take."""
    model = save_with_data(tmp_path, "mlp.part2.onnx")
    before = snapshot(tmp_path)
    result = run_cli("split", model, "--at", "fc2", "--weights", "in-place", "--force")
    assert_refused(result, "'" + str(tmp_path / "mlp.part2.onnx") + "'", "is the input")
    assert snapshot(tmp_path) == before  # part 1, written first, is gone again


def test_force_still_replaces_what_is_not_an_input(tmp_path):
    """The promise is about inputs only: an old output is replaced as asked."""
    model = save_with_data(tmp_path / "model", "weights/mlp.bin")
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("replace me")
    result = run_cli("split", model, "--at", "fc2", "-o", out, "--force", "--weights", "external")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out)) == [
        "mlp.part1.onnx",
        "mlp.part1.onnx.data",
        "mlp.part2.onnx",
        "mlp.part2.onnx.data",
    ]
    merged = run_cli(
        "merge", out / "mlp.part1.onnx", out / "mlp.part2.onnx", "-o", out / "mlp.part1.onnx.data", "--force"
    )
    assert_refused(merged, "is the input")


# ------------------------------------------------------------ plan and profile
# Their inputs are the model's files, the profiles (--profile, --device,
# --server) and the calibration data (--inputs).


def record_profile(model, path) -> str:
    """A real profile of `model` (one run), at `path` whatever its extension."""
    modelcut.profile(model, runs=1, warmup=0, output=path + ".json")
    os.replace(path + ".json", path)
    return str(path)


def test_plan_split_force_over_the_folder_holding_the_profile(tmp_path):
    model = save_with_data(tmp_path / "model", "mlp.bin")
    out = tmp_path / "stages"
    out.mkdir()
    profile = record_profile(model, str(out / "times.json"))
    before = snapshot(tmp_path)
    result = run_cli(
        "plan", model, "--stages", "2", "--balance", "time", "--profile", profile, "--split", out, "--force"
    )
    assert_refused(result, "output directory", "holds the input", "times.json")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("inside", ["device", "server"])
def test_plan_split_force_over_the_folder_holding_a_device_or_server_profile(tmp_path, inside):
    model = save_with_data(tmp_path / "model", "mlp.bin")
    out = tmp_path / "parts"
    out.mkdir()
    profiles = {
        name: record_profile(model, str((out if name == inside else tmp_path) / f"{name}.json"))
        for name in ("device", "server")
    }
    before = snapshot(tmp_path)
    result = run_cli(
        "plan",
        model,
        "--device",
        profiles["device"],
        "--server",
        profiles["server"],
        "--bandwidth",
        "1MB/s",
        "--split",
        out,
        "--force",
    )
    assert_refused(result, "output directory", "holds the input", f"{inside}.json")
    assert snapshot(tmp_path) == before


def test_plan_plot_force_over_the_profile(tmp_path):
    """A profile named like a picture: --plot over it is refused, not drawn over."""
    model = save_with_data(tmp_path / "model", "mlp.bin")
    profile = record_profile(model, str(tmp_path / "times.png"))
    before = snapshot(tmp_path)
    result = run_cli(
        "plan",
        model,
        "--stages",
        "2",
        "--balance",
        "time",
        "--profile",
        profile,
        "--plot",
        profile,
        "--force",
    )
    assert_refused(result, "'" + profile + "'", "is the input")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("over", ["external data", "calibration data"])
def test_profile_force_over_what_it_reads(tmp_path, over):
    model = save_with_data(tmp_path, "mlp.bin")
    feeds = tmp_path / "feeds.npz"
    np.savez(feeds, x=np.ones((1, 64), np.float32))
    target = tmp_path / "mlp.bin" if over == "external data" else feeds
    before = snapshot(tmp_path)
    result = run_cli(
        "profile", model, "--inputs", feeds, "--runs", "1", "--warmup", "0", "-o", target, "--force"
    )
    assert_refused(result, "'" + str(target) + "'", "is the input")
    assert snapshot(tmp_path) == before


def test_plan_api_split_and_plot_never_replace_the_profile(tmp_path):
    """The same promise in the Python API: a Plan's split and plot know the profiles it was made from."""
    model = save_with_data(tmp_path / "model", "mlp.bin")
    out = tmp_path / "stages"
    out.mkdir()
    profile = record_profile(model, str(out / "times.png"))
    plan = modelcut.plan(model, stages=2, balance="time", profile=profile)
    before = snapshot(tmp_path)
    with pytest.raises(modelcut.Error, match="holds the input"):
        plan.split(out, overwrite=True)
    with pytest.raises(modelcut.Error, match="is the input"):
        plan.plot(profile, overwrite=True)
    assert snapshot(tmp_path) == before
