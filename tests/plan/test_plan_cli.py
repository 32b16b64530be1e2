"""`modelcut plan` through the CLI, on models made by torch's ONNX exporter
and by Keras: the table, --json, --split (parts identical to splitting by
hand, and verified on ONNX Runtime or Keras), --plot, device/server plans on
synthetic profiles, and one-line errors with exit 2. Every test runs against
the Python command and against the native executable (which plans itself
and hands --plot and profiling to the Python package)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import modelcut
import onnx
import pytest
from cli_support import run_cli, use_command
from modelcut import _core
from modelcut.plan.units import parse_rate
from modelcut.verify_keras import verify_keras
from onnx import numpy_helper
from plan_support import assert_one_line_error


@pytest.fixture(autouse=True, params=["python", "native"])
def cli_command(request):
    use_command(request.param)
    yield request.param
    use_command("python")


def plan_json(*args):
    result = run_cli("plan", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_table_names_stages_and_cuts(model):
    source = model("cnn.onnx")
    result = run_cli("plan", source, "--stages", "3", "--balance", "flops")
    assert result.returncode == 0, result.stderr
    data = plan_json(source, "--stages", "3", "--balance", "flops")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("cnn.onnx: 3 pipeline stages balanced by MACs")
    header = next(line for line in lines if line.startswith("stage "))
    for column in ("first layer", "last layer", "params", "MACs", "time", "cost (flops)"):
        assert column in header
    for index, stage in enumerate(data["stages"], start=1):
        row = next(line for line in lines if line.startswith(f"{index} ") and stage["first_layer"] in line)
        assert stage["last_layer"] in row and str(stage["node_count"]) in row
    assert any(line.startswith("cut ") and "bytes" in line and "crossing" in line for line in lines)
    for cut in data["cuts"]:
        assert any(cut["values"][0] in line for line in lines)
    assert any(line.startswith("slowest stage") and "x the ideal" in line for line in lines)
    split_line = lines[-1]
    assert split_line.startswith("split there: modelcut split ")
    assert all(cut["spec"] in split_line for cut in data["cuts"])


def test_json_is_the_plan(model):
    source = model("cnn.onnx")
    data = plan_json(source, "--stages", "3", "--balance", "params", "--batch", "2")
    assert data["kind"] == "pipeline" and data["objective"] == "params" and data["cost_unit"] == "bytes"
    assert len(data["stages"]) == 3 and len(data["cuts"]) == 2
    assert data["request"]["batch"] == 2 and data["request"]["stages"] == 3
    assert data["bottleneck"] == max(stage["cost"] for stage in data["stages"])
    total = sum(stage["param_bytes"] for stage in data["stages"])
    weights = sum(numpy_helper.to_array(tensor).nbytes for tensor in onnx.load(source).graph.initializer)
    assert total == weights
    assert data["ideal"] * 3 == pytest.approx(total)
    assert data["at"] == [cut["spec"] for cut in data["cuts"]]
    assert [node["node"] for node in data["along"]] == [node["name"] for node in _core.nodes(source, [])]


def test_cuts_split_and_verify(model, tmp_path):
    source = model("cnn.onnx")
    data = plan_json(source, "--stages", "4", "--balance", "flops", "--split", tmp_path / "planned")
    specs = [cut["spec"] for cut in data["cuts"]]
    assert len(specs) == 3
    planned = data["split"]["parts"]
    assert len(planned) == 4
    by_hand = modelcut.split(source, at=specs, output_dir=tmp_path / "by_hand")
    for ours, theirs in zip([part["path"] for part in planned], by_hand.paths):
        assert os.path.basename(ours) == os.path.basename(theirs)
        assert Path(ours).read_bytes() == Path(theirs).read_bytes()
    report = modelcut.verify(source, [part["path"] for part in planned])
    assert report.ok, report.format_table()


def test_split_prints_the_parts(model, tmp_path):
    result = run_cli("plan", model("cnn.onnx"), "--stages", "2", "--split", tmp_path / "parts")
    assert result.returncode == 0, result.stderr
    paths = [line.strip() for line in result.stdout.split("parts:")[1].splitlines() if line.strip()]
    assert len(paths) == 2 and all(os.path.isfile(path) for path in paths)
    assert_one_line_error(
        run_cli("plan", model("cnn.onnx"), "--stages", "2", "--split", tmp_path / "parts"),
        "exists",
        "--force",
    )


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_plot(model, tmp_path, suffix):
    picture = tmp_path / f"plan.{suffix}"
    result = run_cli("plan", model("cnn.onnx"), "--stages", "3", "--balance", "flops", "--plot", picture)
    assert result.returncode == 0, result.stderr
    content = picture.read_bytes()
    assert content.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in content[:2000]
    assert len(content) > 10_000
    # Same plan, same picture.
    again = tmp_path / f"again.{suffix}"
    assert (
        run_cli("plan", model("cnn.onnx"), "--stages", "3", "--balance", "flops", "--plot", again).returncode
        == 0
    )
    assert again.read_bytes() == content
    assert_one_line_error(run_cli("plan", model("cnn.onnx"), "--stages", "3", "--plot", picture), "exists")


def test_balance_time_with_a_profile(model, tmp_path):
    source = model("cnn.onnx")
    times = tmp_path / "times.json"
    assert run_cli("profile", source, "-o", times, "--runs", "3").returncode == 0
    data = plan_json(
        source, "--stages", "3", "--balance", "time", "--profile", times, "--bandwidth", "100MB/s"
    )
    assert data["objective"] == "time" and data["cost_unit"] == "us"
    assert all(stage["time_us"] > 0 for stage in data["stages"])
    assert all(stage["transfer_us"] > 0 for stage in data["stages"][:-1])
    assert data["request"]["bandwidth"] == 100e6


def test_balance_time_profiles_first(model):
    result = run_cli("plan", model("unnamed.onnx"), "--stages", "2", "--balance", "time")
    assert result.returncode == 0, result.stderr
    assert "profiling the model first" in result.stderr
    assert "balanced by measured time" in result.stdout


def test_keras_model(model, tmp_path):
    source = model("residual.keras")
    picture = tmp_path / "plan.png"
    data = plan_json(
        source, "--stages", "2", "--balance", "flops", "--split", tmp_path / "parts", "--plot", picture
    )
    assert len(data["cuts"]) == 1 and picture.read_bytes().startswith(b"\x89PNG")
    parts = [part["path"] for part in data["split"]["parts"]]
    assert all(path.endswith(".keras") for path in parts)
    report = verify_keras(source, parts)
    assert report.ok, report.format_table()
    table = run_cli("plan", source, "--stages", "2", "--balance", "params")
    assert table.returncode == 0, table.stderr
    assert "residual.keras: 2 pipeline stages balanced by parameter bytes" in table.stdout


# ---------------------------------------------------------------- device/server


def synthetic_profile(path, names, microseconds: float, machine: str):
    path.write_text(
        json.dumps(
            {
                "format": "modelcut-profile",
                "version": 1,
                "model": "cnn.onnx",
                "machine": machine,
                "runtime": "synthetic",
                "threads": 1,
                "runs": 1,
                "batch": 1,
                "dims": {},
                "nodes": {name: microseconds for name in names},
                "total_us": microseconds * len(names),
            }
        )
    )
    return path


def device_nodes(plan: dict, count: int) -> int:
    if plan["placement"] == "device only":
        return count
    if plan["placement"] == "server only":
        return 0
    return plan["stages"][0]["node_count"]


def test_device_server_moves_the_cut_earlier_as_bandwidth_grows(model, tmp_path):
    source = model("cnn.onnx")
    names = [node["name"] for node in _core.nodes(source, [])]
    device = synthetic_profile(tmp_path / "device.json", names, 1000.0, "slow device")
    server = synthetic_profile(tmp_path / "server.json", names, 10.0, "fast server")
    bandwidths = ["1kB/s", "10kB/s", "100kB/s", "200kB/s", "500kB/s", "1MB/s", "10MB/s", "1GB/s"]
    plans = [
        plan_json(source, "--device", device, "--server", server, "--bandwidth", rate) for rate in bandwidths
    ]
    on_device = [device_nodes(plan, len(names)) for plan in plans]
    assert on_device == sorted(on_device, reverse=True), on_device
    assert on_device[0] == len(names) and on_device[-1] == 0, on_device
    assert any(plan["placement"] == "split" for plan in plans), [plan["placement"] for plan in plans]
    latencies = [plan["latency_s"] for plan in plans]
    assert latencies == sorted(latencies, reverse=True)

    # The sweep gives the same answers in one run, and the table shows it.
    sweep = plan_json(
        source,
        "--device",
        device,
        "--server",
        server,
        "--bandwidth",
        "200kB/s",
        "--rtt",
        "20ms",
        "--sweep",
        ",".join(bandwidths),
    )
    assert [row["bandwidth"] for row in sweep["sweep"]] == pytest.approx(
        [parse_rate(rate) for rate in bandwidths]
    )
    assert sweep["request"]["rtt"] == pytest.approx(0.02)
    assert (
        sweep["sweep"][0]["placement"] == "device only" and sweep["sweep"][-1]["placement"] == "server only"
    )
    table = run_cli(
        "plan",
        source,
        "--device",
        device,
        "--server",
        server,
        "--bandwidth",
        "200kB/s",
        "--sweep",
        ",".join(bandwidths),
    )
    assert table.returncode == 0, table.stderr
    assert "best plan at each bandwidth:" in table.stdout and "device only" in table.stdout
    picture = tmp_path / "sweep.png"
    assert (
        run_cli(
            "plan",
            source,
            "--device",
            device,
            "--server",
            server,
            "--bandwidth",
            "200kB/s",
            "--plot",
            picture,
        ).returncode
        == 0
    )
    assert picture.read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "options, fragment",
    [
        (["--stages", "0"], "--stages '0'"),
        (["--stages", "two"], "--stages 'two'"),
        (["--stages", "2", "--balance", "speed"], "unknown --balance 'speed'"),
        (["--stages", "2", "--balance", "time", "--profile", "missing.json"], "does not exist"),
        (
            ["--stages", "2", "--balance", "time", "--profile", "times.json", "--bandwidth", "10MB/x"],
            "not a rate",
        ),
        (["--stages", "2", "--max-stage-params", "1XB"], "not a size"),
        (["--stages", "2", "--max-boundary-bytes=-4MB"], "not a size"),
        (["--stages", "2", "--profile", "times.json"], "--balance time"),
        (["--stages", "2", "--plot", "plan.txt"], ".png, .svg or .pdf"),
        (["--stages", "2", "--dim", "seq"], "NAME=SIZE"),
        (["--stages", "2", "--rtt", "20ms"], "device/server"),
        ([], "--stages N"),
        (["--stages", "2", "--bogus"], "unrecognized arguments: --bogus"),
        (["--stages"], "expected one argument"),
        (["--device", "times.json"], "both --device and --server"),
        (["--device", "times.json", "--server", "times.json"], "--bandwidth"),
        (
            ["--device", "times.json", "--server", "times.json", "--bandwidth", "1MB/s", "--rtt", "soon"],
            "not a duration",
        ),
        (
            ["--device", "times.json", "--server", "times.json", "--bandwidth", "1MB/s", "--stages", "2"],
            "--stages",
        ),
    ],
)
def test_errors_are_one_line(model, tmp_path, options, fragment):
    source = model("unnamed.onnx")
    synthetic_profile(tmp_path / "times.json", ["#0", "act", "#3"], 5.0, "here")
    result = run_cli("plan", source, *options, cwd=tmp_path)
    assert_one_line_error(result, fragment)
    assert sorted(os.listdir(tmp_path)) == ["times.json"]  # nothing written


def test_profile_of_another_model_is_refused(model, tmp_path):
    other = tmp_path / "other.json"
    assert run_cli("profile", model("unnamed.onnx"), "-o", other, "--runs", "1").returncode == 0
    result = run_cli("plan", model("cnn.onnx"), "--stages", "2", "--balance", "time", "--profile", other)
    assert_one_line_error(result, "another model", "unnamed.onnx")
    result = run_cli("plan", model("cnn.onnx"), "--device", other, "--server", other, "--bandwidth", "1MB/s")
    assert_one_line_error(result, "another model")


def test_not_a_profile(model, tmp_path):
    bogus = tmp_path / "times.json"
    bogus.write_text('{"nodes": {}}')
    result = run_cli("plan", model("cnn.onnx"), "--stages", "2", "--balance", "time", "--profile", bogus)
    assert_one_line_error(result, "not a modelcut profile")
    bogus.write_text('{"format": "modelcut-profile", "version": 1, "nodes": {"x": -1}}')
    result = run_cli("plan", model("cnn.onnx"), "--stages", "2", "--balance", "time", "--profile", bogus)
    assert_one_line_error(result, "the time -1", "non-negative microseconds")


def test_help_explains_the_search(model):
    result = run_cli("plan", "--help")
    assert result.returncode == 0
    assert "one\ntopological order" in result.stdout or "topological order" in result.stdout.replace(
        "\n", " "
    )
    assert "minimum cut" in result.stdout and "10MB/s" in result.stdout
    result = run_cli("profile", "--help")
    assert result.returncode == 0 and "median" in result.stdout
