"""The Python API of planning: modelcut.plan, modelcut.plan_device_server,
modelcut.profile and Plan, and the units they take."""

from __future__ import annotations

import json

import modelcut
import onnx
import pytest
from modelcut import _core
from modelcut.plan.units import format_bytes, parse_bytes, parse_rate, parse_rates, parse_seconds


def test_plan_feeds_split(model, tmp_path):
    source = model("cnn.onnx")
    plan = modelcut.plan(source, stages=2, balance="flops")
    assert isinstance(plan, modelcut.Plan)
    assert plan.kind == "pipeline" and plan.objective == "flops" and plan.cost_unit == "MACs"
    assert plan.at == plan.cuts_specs == [cut["spec"] for cut in plan.cuts] and len(plan.at) == 1
    assert plan.table().startswith("cnn.onnx: 2 pipeline stages balanced by MACs")
    assert json.loads(plan.to_json())["at"] == plan.at
    result = plan.split(tmp_path / "parts")
    assert len(result.paths) == 2
    assert modelcut.verify(source, result.paths).ok


def test_in_memory_model_plans_as_its_file(model, tmp_path):
    source = model("cnn.onnx")
    from_file = modelcut.plan(source, stages=3, balance="params")
    in_memory = modelcut.plan(onnx.load(source), stages=3, balance="params")
    assert in_memory.at == from_file.at
    assert in_memory.to_dict()["model"] == "<onnx.ModelProto>"
    assert len(in_memory.split(tmp_path / "parts").paths) == 3


def test_time_plan_from_a_profile_dict(model):
    source = model("cnn.onnx")
    times = modelcut.profile(source, runs=2, warmup=1)
    assert set(times["nodes"]) == {node["name"] for node in _core.nodes(source, [])}
    plan = modelcut.plan(source, stages=2, balance="time", profile=times, bandwidth="1GB/s")
    assert plan.objective == "time" and plan.request["bandwidth"] == 1e9
    assert (
        plan.request["profile"]["runtime"].startswith("onnxruntime") and plan.request["profile"]["runs"] == 2
    )
    assert "(measured: onnxruntime" in plan.table().splitlines()[0]
    assert plan.bottleneck == pytest.approx(max(stage["cost"] for stage in plan.stages))


def test_device_server_from_dicts(model):
    source = model("cnn.onnx")
    names = [node["name"] for node in _core.nodes(source, [])]
    device = {"format": "modelcut-profile", "version": 1, "nodes": {name: 500.0 for name in names}}
    server = {"format": "modelcut-profile", "version": 1, "nodes": {name: 5.0 for name in names}}
    plan = modelcut.plan_device_server(source, device, server, "10MB/s", rtt="5ms", sweep=["1kB/s", "1GB/s"])
    assert plan.kind == "device-server" and plan.request["rtt"] == pytest.approx(0.005)
    assert plan.placement == "server only"  # 12 KiB of input at 10 MB/s beats 500 us per node
    assert [row["placement"] for row in plan.sweep] == ["device only", "server only"]
    assert "best: server only" in plan.table()


@pytest.mark.parametrize(
    "arguments, fragment",
    [
        ({"stages": 0}, "stages must be"),
        ({"stages": 2, "balance": "speed"}, "unknown balance 'speed'"),
        ({"stages": 2, "balance": "flops", "bandwidth": "1MB/s"}, "balance 'time'"),
        ({"stages": 2, "max_stage_params": "lots"}, "not a size"),
        ({"stages": 2, "batch": 0}, "batch must be"),
        ({"stages": 2, "dims": {"seq": 0}}, "--dim seq"),
    ],
)
def test_api_errors(model, arguments, fragment):
    with pytest.raises(ValueError, match=fragment):
        modelcut.plan(model("unnamed.onnx"), **arguments)


def test_units():
    assert parse_rate("10MB/s") == 10e6
    assert parse_rate("100Mbit/s") == parse_rate("100Mbps") == 12.5e6
    assert parse_rate("1GiB/s") == 2**30
    assert parse_rates("1MB/s, 1GB/s") == [1e6, 1e9]
    assert parse_bytes("16MB") == 16_000_000 and parse_bytes("1GiB") == 2**30 and parse_bytes("512") == 512
    assert parse_seconds("20ms") == pytest.approx(0.02) and parse_seconds("1.5s") == 1.5
    assert format_bytes(1536) == "1.5 KiB"
    for parse, text in [
        (parse_rate, "0MB/s"),
        (parse_rate, "fast"),
        (parse_bytes, "1XB"),
        (parse_bytes, "1e30GB"),
        (parse_seconds, "-1s"),
        (parse_rates, ","),
    ]:
        with pytest.raises(ValueError):
            parse(text)
