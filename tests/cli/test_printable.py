# Names from a file may hold any bytes: a NUL, a newline, a terminal escape
# sequence, a line separator, bytes that are not UTF-8. Whatever the CLI
# prints of them, an error line or inspect's listing, stays one printable
# line per entry and shows the name escaped (\x00, \n, \x1b, \u2028, \xff).
import re

import numpy as np
import onnx
import pytest
from cli_support import run_cli
from onnx import TensorProto, helper, numpy_helper

# Control characters, C1 controls, separators and bidirectional overrides.
UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def strange_model(path) -> str:
    """x -> fc\\n1 -> fc\\x1b[31m2 -> fc\\xff3 -> y, and a tensor named with a line separator."""
    weight = numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h\u20281"], name="fc\n1/MatMul"),
        helper.make_node("Relu", ["h\u20281"], ["h2"], name="fc\x1b[31m2/Relu"),
        helper.make_node("Relu", ["h2"], ["y"], name="fcX3/Relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "strange",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [weight],
    )
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    # Protobuf's writer refuses strings that are not UTF-8: put the byte in afterwards.
    assert data.count(b"fcX3") == 1
    with open(path, "wb") as file:
        file.write(data.replace(b"fcX3", b"fc\xff3"))
    return str(path)


def assert_printable_lines(text: str, count=None):
    lines = text.splitlines()
    for line in lines:
        assert not UNPRINTABLE.search(line), repr(line)
    if count is not None:
        assert len(lines) == count, text


def test_location_holding_a_nul(tmp_path):
    model = onnx.parser.parse_model("""
        <ir_version: 10, opset_import: ["" : 17]>
        g (float[N, 4] x) => (float[N, 4] y) <float[4, 4] w = {1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1}> {
          y = MatMul(x, w)
        }""")
    tensor = model.graph.initializer[0]
    tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor), "w"))
    tensor.ClearField("raw_data")
    for key, value in {"location": "data\x00.bin\n", "offset": "0"}.items():
        tensor.external_data.add(key=key, value=value)
    tensor.data_location = TensorProto.EXTERNAL
    path = tmp_path / "nul.onnx"
    onnx.save(model, path)
    for command in (["inspect", path], ["split", path, "--at", "y", "-o", tmp_path / "out"]):
        result = run_cli(*command)
        assert result.returncode == 2, result
        assert_printable_lines(result.stderr, count=1)
        assert "'data\\x00.bin\\n'" in result.stderr, result.stderr


def test_inspect_lists_strange_names_escaped(tmp_path):
    model = strange_model(tmp_path / "strange.onnx")
    result = run_cli("inspect", model)
    assert result.returncode == 0, result.stderr
    assert_printable_lines(result.stdout)
    layers = [
        line.strip() for line in result.stdout.split("layers", 1)[1].split("cut points")[0].splitlines()[1:]
    ]
    assert [line.split("  ->")[0] for line in layers if line] == ["fc\\n1", "fc\\x1b[31m2", "fc\\xff3"]
    assert "h\\u20281  float32[N,4]" in result.stdout


def test_plan_table_keeps_each_row_on_one_line(tmp_path):
    model = strange_model(tmp_path / "strange.onnx")
    result = run_cli("plan", model, "--stages", "3")
    assert result.returncode == 0, result.stderr
    assert_printable_lines(result.stdout)
    lines = result.stdout.splitlines()
    rows = lines[lines.index("") + 2 : lines.index("") + 5]  # after the header line and the stage header
    assert [row.split()[:3] for row in rows] == [
        ["1", "fc\\n1", "fc\\n1"],
        ["2", "fc\\x1b[31m2", "fc\\x1b[31m2"],
        ["3", "fc\\xff3", "fc\\xff3"],
    ], result.stdout
    # Columns line up with the names as printed (escaped), not as stored.
    header = lines[lines.index("") + 1]
    end_of_params = header.index("params") + len("params") - 1  # right-aligned: "64 B", "0 B"
    assert [row[end_of_params] for row in rows] == ["B", "B", "B"], result.stdout
    assert "cut 1 falls after: h\\u20281" in lines, result.stdout


def test_errors_and_summaries_show_strange_names_escaped(tmp_path):
    model = strange_model(tmp_path / "strange.onnx")
    result = run_cli("split", model, "--at", "fc4", "-o", tmp_path / "out")
    assert result.returncode == 2, result
    assert_printable_lines(result.stderr, count=1)
    assert "'fc\\n1'" in result.stderr and "'fc\\xff3'" in result.stderr, result.stderr
    # A name given with a real newline still matches, and the summary escapes it.
    result = run_cli("split", model, "--at", "fc\n1", "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert_printable_lines(result.stderr, count=2)
    assert result.stderr.startswith("cut 'fc\\n1': layer fc\\n1 -> h\\u20281\n"), result.stderr


@pytest.mark.parametrize("name", ["bad\x1b[2Jname", "two\nlines"])
def test_unknown_name_from_the_command_line(mlp, tmp_path, name):
    result = run_cli("split", mlp, "--at", name, "-o", tmp_path / "out")
    assert result.returncode == 2
    assert_printable_lines(result.stderr, count=1)
