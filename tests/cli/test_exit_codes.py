# Exit codes and what the CLI prints on failure: 2 and one line for bad input
# (modelcut's own errors, a file ONNX Runtime refuses, a malformed file read
# by numpy or protobuf), 3 and a short "this is a bug" line for an internal
# error, --debug showing the trace, and a quiet 141 when stdout is a pipe
# closed early.
import io
import shlex
import subprocess

import modelcut
import numpy as np
import onnx
import onnx.parser
import onnxruntime as ort
import pytest
from cli_support import cli_argv, run_cli
from modelcut import _core, cli

# A model ONNX Runtime refuses although modelcut reads and cuts it: an
# operator no runtime implements.
UNKNOWN_OPERATOR = """
<ir_version: 10, opset_import: ["" : 17, "example.custom" : 1]>
g (float[N, 4] x) => (float[N, 4] y)
{
  h = Relu(x)
  y = example.custom.Frobnicate(h)
}
"""


def raised(function):
    """The exception `function` raises, with its traceback."""
    with pytest.raises(BaseException) as info:
        function()
    return info.value


def _assert_positive(value: int) -> None:
    assert value > 0


def test_bad_input_exits_2(tmp_path, mlp):
    not_a_model = tmp_path / "notes.onnx"
    not_a_model.write_text("notes")
    empty_npy = tmp_path / "empty.npy"
    empty_npy.write_bytes(b"")
    cases = {
        "modelcut.Error": raised(lambda: modelcut.inspect(not_a_model)),
        "ChainError": raised(lambda: modelcut.run_chain([], {})),
        "OSError": raised(lambda: (tmp_path / "missing.npy").read_bytes()),
        "ONNX Runtime": raised(lambda: ort.InferenceSession(str(not_a_model))),
        "protobuf": raised(lambda: onnx.load(str(not_a_model))),
        "numpy": raised(lambda: np.load(empty_npy)),
    }
    for name, error in cases.items():
        assert cli.exit_code_for(error) == cli.EXIT_BAD_INPUT, (name, type(error))


def test_bugs_exit_3(mlp, tmp_path):
    cases = {
        "AssertionError": raised(lambda: _assert_positive(-1)),
        "KeyError": raised(lambda: {}["missing"]),
        "TypeError": raised(lambda: len(3)),
        "AttributeError": raised(lambda: None.name),
        "MemoryError": MemoryError(),
        # A C++ exception other than modelcut::Error, as the bindings translate it.
        "C++": _core.InternalError("std::out_of_range: vector::_M_range_check"),
        # A bug in Python code the C++ core calls back: it crosses C++ unchanged.
        "callback": raised(
            lambda: modelcut.split(mlp, "fc1", tmp_path / "o", progress=lambda *_: {}["boom"])
        ),
    }
    for name, error in cases.items():
        assert cli.exit_code_for(error) == cli.EXIT_INTERNAL_ERROR, (name, type(error))
    assert isinstance(cases["callback"], KeyError)
    assert not (tmp_path / "o").exists()


def test_internal_error_message(mlp, tmp_path):
    error = raised(lambda: modelcut.split(mlp, "fc1", tmp_path / "o", progress=lambda *_: {}["boom"]))
    stream = io.StringIO()
    assert cli.report_error(error, stream=stream) == 3
    assert stream.getvalue() == (
        "modelcut: internal error: KeyError: 'boom'; this is a bug in modelcut; please report it "
        "(run with --debug for the trace)\n"
    )
    stream = io.StringIO()
    assert cli.report_error(error, debug=True, stream=stream) == 3
    text = stream.getvalue()
    assert text.startswith("Traceback (most recent call last):") and "api.py" in text and "<lambda>" in text
    assert text.splitlines()[-1] == (
        "modelcut: internal error: KeyError: 'boom'; this is a bug in modelcut; please report it"
    )


def test_bad_input_message_is_one_printable_line():
    stream = io.StringIO()
    assert cli.report_error(ValueError("two\nlines and a \x00 and \x1b[31m red"), stream=stream) == 2
    assert stream.getvalue() == "modelcut: error: two\\nlines and a \\x00 and \\x1b[31m red\n"


def test_onnx_runtime_refusing_a_model_exits_2(tmp_path):
    model = onnx.parser.parse_model(UNKNOWN_OPERATOR)
    path = tmp_path / "custom.onnx"
    onnx.save(model, path)
    parts = run_cli("split", path, "--at", "h", "-o", tmp_path / "p").stdout.split()
    assert len(parts) == 2
    for command in (["verify", path, *parts], ["run", *parts]):
        result = run_cli(*command)
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("modelcut: error: "), result.stderr
        assert "Frobnicate" in lines[0], lines[0]


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_trace(tmp_path, where, cli_command):
    missing = tmp_path / "nope.onnx"
    command = ["--debug", "inspect", missing] if where == "before" else ["inspect", missing, "--debug"]
    result = run_cli(*command)
    assert result.returncode == 2
    # The native command has no Python trace: it names the C++ exception.
    trace = (
        "Traceback (most recent call last):" if cli_command == "python" else "C++ exception modelcut::Error"
    )
    assert result.stderr.startswith(trace), result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("modelcut: error: cannot open ")
    quiet = run_cli("inspect", missing)
    assert "Traceback" not in quiet.stderr and len(quiet.stderr.strip().splitlines()) == 1


def long_chain(path, count: int = 2000) -> str:
    """A chain of `count` Relu layers: inspect prints a few hundred KiB."""
    nodes = [
        onnx.helper.make_node("Relu", [f"v{i}"], [f"v{i + 1}"], name=f"block{i}/Relu") for i in range(count)
    ]
    graph = onnx.helper.make_graph(
        nodes,
        "chain",
        [onnx.helper.make_tensor_value_info("v0", onnx.TensorProto.FLOAT, ["N", 8])],
        [onnx.helper.make_tensor_value_info(f"v{count}", onnx.TensorProto.FLOAT, ["N", 8])],
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), path)
    return str(path)


def test_closed_pipe_exits_quietly(tmp_path):
    model = long_chain(tmp_path / "chain.onnx")
    # The reading end closed before modelcut writes a byte.
    process = subprocess.Popen(
        [*cli_argv(), "inspect", model],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=300) == cli.EXIT_CLOSED_PIPE == 141
    assert stderr == b""


@pytest.mark.parametrize("reader", ["head -n 1", "head -c 10"])
def test_head_closing_the_pipe_early(tmp_path, reader):
    model = long_chain(tmp_path / "chain.onnx")
    for options in ("", "--json"):
        command = " ".join(shlex.quote(word) for word in cli_argv())
        script = (
            f"{command} inspect '{model}' {options} 2>'{tmp_path}/stderr' | {reader}; "
            'echo "status ${PIPESTATUS[0]}"'
        )
        result = subprocess.run(
            ["bash", "-c", script], check=False, capture_output=True, text=True, timeout=300
        )
        assert result.stdout.endswith("status 141\n"), result
        assert (tmp_path / "stderr").read_text() == ""
