# The modelcut command line as a user meets it: the normal path, and bad
# input of every kind ending in one clear line, exit code 2, nothing written
# and the input untouched.
import hashlib
import json
import os

import onnx
import pytest
from cli_support import assert_one_line_error, run_cli
from onnx import numpy_helper


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_split_verify_merge_round_trip(mlp, tmp_path):
    out = tmp_path / "parts"
    result = run_cli("split", mlp, "--at", "fc1", "-o", out)
    assert result.returncode == 0, result.stderr
    paths = result.stdout.split()
    assert paths == [str(out / "mlp.part1.onnx"), str(out / "mlp.part2.onnx")]
    # The skip connection x crosses the cut beside fc1's output.
    part1 = onnx.load(paths[0])
    assert [o.name for o in part1.graph.output] == ["a1", "x"]
    onnx.checker.check_model(part1, full_check=True)

    verified = run_cli("verify", mlp, *paths, "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["ok"] and all(output["identical"] for output in report["outputs"])

    merged = tmp_path / "merged.onnx"
    assert run_cli("merge", *paths, "-o", merged).returncode == 0
    original, again = onnx.load(mlp), onnx.load(merged)
    assert [n.SerializeToString() for n in again.graph.node] == [
        n.SerializeToString() for n in original.graph.node
    ]
    assert sorted(t.name for t in again.graph.initializer) == sorted(
        t.name for t in original.graph.initializer
    )


def test_split_is_deterministic(mlp, tmp_path):
    # Two processes: what differs between runs (hash seeds, addresses) differs.
    first = run_cli("split", mlp, "--at", "fc2", "-o", tmp_path / "a", subprocess=True).stdout.split()
    second = run_cli("split", mlp, "--at", "fc2", "-o", tmp_path / "b", subprocess=True).stdout.split()
    assert [digest(p) for p in first] == [digest(p) for p in second]


def test_run_with_noise_changes_the_output(mlp, tmp_path):
    paths = run_cli("split", mlp, "--at", "fc1", "-o", tmp_path / "p").stdout.split()
    quiet = json.loads(run_cli("run", *paths, "--reference", mlp, "--json").stdout)
    noisy = json.loads(run_cli("run", *paths, "--noise", "0.5", "--reference", mlp, "--json").stdout)
    assert quiet["outputs"][0]["max_abs_change"] == 0
    assert noisy["outputs"][0]["max_abs_change"] > 0


def test_not_a_model(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("these are my notes, not a model\n")
    assert_one_line_error(run_cli("split", path, "--at", "fc1", "-o", tmp_path / "out"), "notes.onnx")
    assert not (tmp_path / "out").exists()


def test_truncated_model(mlp, tmp_path):
    data = open(mlp, "rb").read()
    path = tmp_path / "cut_short.onnx"
    path.write_bytes(data[: len(data) * 2 // 3])
    assert_one_line_error(run_cli("split", path, "--at", "fc1", "-o", tmp_path / "out"), "cut_short.onnx")
    assert not (tmp_path / "out").exists()


def test_missing_file(tmp_path):
    assert_one_line_error(run_cli("inspect", tmp_path / "nope.onnx"), "nope.onnx")


def test_unknown_name_lists_closest(mlp, tmp_path):
    result = run_cli("split", mlp, "--at", "fc3", "-o", tmp_path / "out")
    assert_one_line_error(result, "'fc3'", "did you mean", "'mlp/fc2'")
    assert not (tmp_path / "out").exists()


def test_cut_leaving_last_part_empty(mlp, tmp_path):
    assert_one_line_error(
        run_cli("split", mlp, "--at", "add", "-o", tmp_path / "out"), "last part would be empty"
    )
    assert not (tmp_path / "out").exists()


def test_cuts_out_of_order(mlp, tmp_path):
    result = run_cli("split", mlp, "--at", "fc2", "--at", "fc1", "-o", tmp_path / "out")
    assert_one_line_error(result, "'fc1'", "not after", "'fc2'")


def test_cut_at_graph_input(mlp, tmp_path):
    assert_one_line_error(run_cli("split", mlp, "--at", "x", "-o", tmp_path / "out"), "graph input")


def test_existing_output_is_left_alone(mlp, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_one_line_error(run_cli("split", mlp, "--at", "fc1", "-o", out), "already exists", "--force")
    assert os.listdir(out) == ["keep.txt"]


def test_output_that_is_the_input(mlp, tmp_path):
    paths = run_cli("split", mlp, "--at", "fc1", "-o", tmp_path / "p").stdout.split()
    before = digest(paths[0])
    assert_one_line_error(run_cli("merge", *paths, "-o", paths[0], "--force"), "is the input")
    assert digest(paths[0]) == before
    before = digest(mlp)
    result = run_cli("split", mlp, "--at", "fc1", "-o", os.path.dirname(mlp), "--force")
    assert_one_line_error(result, "holds the input")
    assert digest(mlp) == before


def test_merge_of_parts_that_do_not_chain(mlp, tmp_path):
    paths = run_cli("split", mlp, "--at", "fc1", "--at", "fc2", "-o", tmp_path / "p").stdout.split()
    result = run_cli("merge", paths[0], paths[2], "-o", tmp_path / "m.onnx")
    assert_one_line_error(result, "do not chain")
    assert not (tmp_path / "m.onnx").exists()


def test_verify_fails_for_wrong_parts(mlp, tmp_path):
    paths = run_cli("split", mlp, "--at", "fc1", "-o", tmp_path / "p").stdout.split()
    part2 = onnx.load(paths[1])
    for tensor in part2.graph.initializer:
        tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor) * 2, tensor.name))
    onnx.save(part2, paths[1])
    result = run_cli("verify", mlp, *paths)
    assert result.returncode == 1, result.stdout
    assert "FAIL" in result.stdout


@pytest.mark.parametrize("command", ["split", "verify", "run", "merge", "inspect"])
def test_help_explains_each_command(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "usage: modelcut " + command in result.stdout
