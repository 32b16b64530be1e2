"""Frozen GraphDef files through the CLI, without TensorFlow: a good one is
cut at a Keras layer name, damaged ones exit 2 with one line naming the
file and nothing written. The graph is the fuzz seed frozen by TensorFlow
(tests/fuzz/corpus/fuzz_pb, written by make_pb_corpus.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import run_cli

SEED = Path(__file__).resolve().parent.parent / "fuzz" / "corpus" / "fuzz_pb" / "keras_seed_frozen.pb"


# Both commands: the Python one and the native executable.
pytestmark = pytest.mark.usefixtures("both_commands")


def test_split_frozen_graph_at_keras_layer_name(tmp_path):
    model = tmp_path / "seed.pb"
    model.write_bytes(SEED.read_bytes())
    result = run_cli("split", model, "--at", "fc2", "-o", tmp_path / "parts")
    assert result.returncode == 0, result.stderr
    assert "layer sequential_1/fc2_1 -> sequential_1/fc2_1/BiasAdd" in result.stderr
    assert sorted(path.name for path in (tmp_path / "parts").iterdir()) == ["seed.part1.pb", "seed.part2.pb"]


@pytest.mark.parametrize(
    "name, damage, message",
    [
        (
            "truncated.pb",
            lambda data: data[: len(data) // 2],
            "not a TensorFlow GraphDef or damaged: truncated",
        ),
        ("last_byte.pb", lambda data: data[:-1], "truncated"),
        ("corrupt_length.pb", lambda data: data[:1] + b"\xff\xff\xff\xff\x0f" + data[2:], "truncated"),
        ("junk.pb", lambda data: b"\xff" + data[1:], "not a frozen TensorFlow GraphDef"),
        ("empty.pb", lambda data: b"", "empty file"),
        ("saved_model.pb", lambda data: b"\x08\x01\x12\x00", "SavedModel"),
    ],
)
def test_damaged_graphdef_exits_2_with_one_line(tmp_path, name, damage, message):
    model = tmp_path / name
    model.write_bytes(damage(SEED.read_bytes()))
    result = run_cli("split", model, "--at", "fc2", "-o", tmp_path / "parts")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and name in lines[0], result.stderr
    assert not (tmp_path / "parts").exists()


def test_profile_and_time_plan_of_a_graphdef_say_what_to_use(tmp_path):
    model = tmp_path / "seed.pb"
    model.write_bytes(SEED.read_bytes())
    for args in (
        ("profile", model, "-o", tmp_path / "times.json"),
        ("plan", model, "--stages", "2", "--balance", "time"),
    ):
        result = run_cli(*args)
        assert result.returncode == 2, result.stderr
        # (plan --balance time says first that it profiles the model)
        assert result.stderr.strip().splitlines()[-1] == (
            f"modelcut: error: '{model}' is a TensorFlow GraphDef: profile runs ONNX and Keras models only; "
            "plan it with --balance params or --balance flops"
        )
    assert not (tmp_path / "times.json").exists()


def test_plan_a_graphdef_by_params_and_flops_and_split_there(tmp_path):
    model = tmp_path / "seed.pb"
    model.write_bytes(SEED.read_bytes())
    for balance in ("params", "flops"):
        result = run_cli("plan", model, "--stages", "2", "--balance", balance, "--json")
        assert result.returncode == 0, result.stderr
        plan = json.loads(result.stdout)
        assert len(plan["stages"]) == 2 and len(plan["at"]) == 1
        if balance == "flops":
            assert all(stage["macs_known"] and stage["macs"] > 0 for stage in plan["stages"]), plan["stages"]
        result = run_cli("split", model, "--at", *plan["at"], "-o", tmp_path / balance)
        assert result.returncode == 0, result.stderr
    result = run_cli("plan", model, "--stages", "3", "--balance", "flops", "--split", tmp_path / "three")
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "three").glob("*.pb"))) == 3
