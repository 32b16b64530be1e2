# Tests for modelcut.verify (modelcut.verification) and the feed helpers in modelcut._ort, on real
# ONNX Runtime. The model (an MLP with a skip connection and an int64 mask
# input) is built with onnx.helper; parts come from onnx.utils.Extractor.
# Run with PYTHONPATH=python (or with modelcut installed).
import json

import numpy as np
import onnx
import pytest
from modelcut._ort import load_feeds, make_session, random_inputs
from modelcut.verification import compare_output, verify
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 10  # onnx 1.23 defaults to an IR newer than ORT 1.31 accepts


def make_mlp() -> onnx.ModelProto:
    rng = np.random.default_rng(42)
    weights = {
        "W1": rng.standard_normal((4, 8)).astype(np.float32),
        "b1": rng.standard_normal(8).astype(np.float32),
        "W2": rng.standard_normal((8, 4)).astype(np.float32),
        "b2": rng.standard_normal(4).astype(np.float32),
        "axes": np.array([1], dtype=np.int64),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["mm1"]),
        helper.make_node("Add", ["mm1", "b1"], ["pre1"]),
        helper.make_node("Relu", ["pre1"], ["h1"]),
        helper.make_node("MatMul", ["h1", "W2"], ["mm2"]),
        helper.make_node("Add", ["mm2", "b2"], ["h2"]),
        helper.make_node("Add", ["h2", "x"], ["s"]),  # skip connection
        helper.make_node("Cast", ["mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["s", "maskf"], ["y"]),
        helper.make_node("ReduceSum", ["mask", "axes"], ["count"], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        inputs=[
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", 4]),
        ],
        outputs=[
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("count", TensorProto.INT64, ["batch"]),
        ],
        initializer=[numpy_helper.from_array(array, name) for name, array in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    return model


def extract(model, inputs, outputs) -> onnx.ModelProto:
    inferred = onnx.shape_inference.infer_shapes(model)
    return onnx.utils.Extractor(inferred).extract_model(inputs, outputs)


def make_chain(model):
    """Three parts following the strict-chain convention; x and mask pass through."""
    return [
        extract(model, ["x", "mask"], ["h1", "x", "mask"]),
        extract(model, ["h1", "x", "mask"], ["s", "mask"]),
        extract(model, ["s", "mask"], ["y", "count"]),
    ]


def with_initializer(model, name, array) -> onnx.ModelProto:
    changed = onnx.ModelProto()
    changed.CopyFrom(model)
    for init in changed.graph.initializer:
        if init.name == name:
            init.CopyFrom(numpy_helper.from_array(array, name))
    return changed


@pytest.fixture(scope="module")
def model():
    return make_mlp()


@pytest.fixture(scope="module")
def chain(model):
    return make_chain(model)


def test_correct_chain_is_identical(model, chain):
    report = verify(model, chain, batch=5)
    assert report.ok, report.format_table()
    assert [check.name for check in report.outputs] == ["y", "count"]
    assert all(check.identical for check in report.outputs)
    assert all(check.max_abs == 0.0 for check in report.outputs)
    assert report.outputs[0].shape == (5, 4)


def test_chain_from_paths(model, chain, tmp_path):
    original = tmp_path / "model.onnx"
    onnx.save(model, original)
    part_paths = []
    for index, part in enumerate(chain):
        part_paths.append(tmp_path / f"part{index}.onnx")
        onnx.save(part, part_paths[-1])
    report = verify(str(original), part_paths, seed=3, batch=2)
    assert report.ok, report.format_table()


def test_optimized_sessions_stay_within_tolerance(model, chain):
    assert verify(model, chain, batch=4, optimize=True).ok


def test_wrong_weights_fail_and_name_the_output(model, chain):
    w2 = numpy_helper.to_array(next(i for i in chain[1].graph.initializer if i.name == "W2"))
    wrong = [chain[0], with_initializer(chain[1], "W2", w2 * 1.01), chain[2]]
    report = verify(model, wrong, batch=3)
    assert not report.ok
    assert [check.name for check in report.failures] == ["y"]
    y, count = report.outputs
    assert not y.identical and y.max_abs > 1e-3 and "outside tolerance" in y.reason
    assert count.ok and count.identical  # the int path does not touch W2
    table = report.format_table()
    assert "FAIL" in table and table.splitlines()[1].startswith("y ")


def test_output_order_is_a_problem(model, chain):
    reordered = chain[:2] + [extract(model, ["s", "mask"], ["count", "y"])]
    report = verify(model, reordered)
    assert all(check.ok for check in report.outputs)
    assert not report.ok
    assert "order" in report.problems[0]


def test_report_is_strict_json(model, chain):
    report = verify(model, chain, batch=2)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["ok"] is True
    assert data["outputs"][0] == {
        "name": "y",
        "shape": [2, 4],
        "dtype": "float32",
        "max_abs": 0.0,
        "max_rel": 0.0,
        "identical": True,
        "ok": True,
        "reason": "",
    }


# ------------------------------------------------------------- comparisons


def test_nan_in_same_places_counts_equal():
    a = np.array([1.0, np.nan, -np.inf, 2.0], dtype=np.float32)
    check = compare_output("out", a, a.copy(), atol=1e-5, rtol=0)
    assert check.ok and check.identical and check.max_abs == 0.0


def test_nan_or_inf_mismatch_fails():
    a = np.array([1.0, np.nan, 3.0], dtype=np.float32)
    b = np.array([1.0, 2.0, np.inf], dtype=np.float32)
    check = compare_output("out", a, b, atol=1.0, rtol=1.0)
    assert not check.ok and check.max_abs == np.inf
    assert check.reason == "2 of 3 elements outside tolerance"
    assert json.dumps(check.to_dict(), allow_nan=False)


def test_tolerance_applies_to_floats_but_ints_must_match():
    a = np.array([1.0, 100.0], dtype=np.float32)
    near = compare_output("f", a, a + np.float32(1e-3), atol=1e-5, rtol=1e-4)
    assert not near.ok  # 1e-3 exceeds 1e-5 + 1e-4 * 1
    assert compare_output("f", a, a + np.float32(1e-3), atol=1e-2, rtol=0).ok
    ints = np.array([1, 2], dtype=np.int64)
    assert not compare_output("i", ints, ints + 1, atol=10, rtol=10).ok


def test_shape_and_dtype_mismatch_fail_naming_the_output():
    a = np.zeros((2, 3), dtype=np.float32)
    shape_check = compare_output("logits", a, np.zeros((3, 2), dtype=np.float32), 1e-5, 1e-4)
    dtype_check = compare_output("logits", a, a.astype(np.float64), 1e-5, 1e-4)
    missing = compare_output("logits", a, None, 1e-5, 1e-4)
    for check in (shape_check, dtype_check, missing):
        assert not check.ok and check.name == "logits"
    assert "shape" in shape_check.reason and "dtype" in dtype_check.reason
    assert "missing" in missing.reason


# ------------------------------------------------------------------- feeds


def test_random_inputs_honour_types_and_dims(model):
    feeds = random_inputs(model, seed=1, batch=7)
    assert feeds["x"].dtype == np.float32 and feeds["x"].shape == (7, 4)
    assert feeds["mask"].dtype == np.int64 and feeds["mask"].min() >= 0 and feeds["mask"].max() < 4
    again = random_inputs(model, seed=1, batch=7)
    assert all(np.array_equal(feeds[name], again[name]) for name in feeds)
    assert random_inputs(model, dim_values={"batch": 3})["x"].shape == (3, 4)


def test_random_inputs_from_session(model):
    feeds = random_inputs(make_session(model), batch=2)
    assert feeds["mask"].shape == (2, 4)


def simple_model(value_info) -> onnx.ModelProto:
    out = helper.make_tensor_value_info("out", value_info.type.tensor_type.elem_type, None)
    node = helper.make_node("Identity", [value_info.name], ["out"])
    graph = helper.make_graph([node], "g", [value_info], [out])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)


def test_random_inputs_bool_and_symbolic_names():
    flags_info = helper.make_tensor_value_info("flags", TensorProto.BOOL, ["N", "unk__12", 3])
    model = simple_model(flags_info)
    flags = random_inputs(model, batch=4, dim_values={"unk__12": 5})["flags"]
    assert flags.dtype == np.bool_ and flags.shape == (4, 5, 3)


def test_random_inputs_undeterminable_dims_error():
    unnamed = simple_model(helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", None]))
    with pytest.raises(ValueError, match=r"'x' axis 1.*x:1"):
        random_inputs(unnamed)
    assert random_inputs(unnamed, dim_values={"x:1": 6})["x"].shape == (1, 6)
    no_rank = simple_model(helper.make_tensor_value_info("x", TensorProto.FLOAT, None))
    with pytest.raises(ValueError, match="'x' has unknown rank"):
        random_inputs(no_rank)


def test_npz_feeds(model, chain, tmp_path):
    feeds = random_inputs(model, seed=9, batch=3)
    path = tmp_path / "feeds.npz"
    np.savez(path, **feeds)
    loaded = load_feeds(path, model)
    assert all(np.array_equal(loaded[name], feeds[name]) for name in feeds)
    report = verify(model, chain, feeds=path)
    assert report.ok and report.outputs[0].shape == (3, 4)


def test_npz_wrong_name_errors(model, chain, tmp_path):
    feeds = random_inputs(model)
    path = tmp_path / "feeds.npz"
    np.savez(path, x=feeds["x"], attention_mask=feeds["mask"])
    with pytest.raises(ValueError, match=r"missing input\(s\) \['mask'\]"):
        load_feeds(path, model)
    with pytest.raises(ValueError, match="mask"):
        verify(model, chain, feeds=str(path))


def test_npz_extra_name_errors(model, tmp_path):
    path = tmp_path / "feeds.npz"
    np.savez(path, **random_inputs(model), extra=np.zeros(1))
    with pytest.raises(ValueError, match=r"unexpected input\(s\) \['extra'\]"):
        load_feeds(path, model)


@pytest.mark.parametrize(
    "x, message",
    [
        (np.zeros((2, 4), np.float64), r"'x' has dtype float64, the model expects float32"),
        (np.zeros((2, 5), np.float32), r"'x' has shape \(2, 5\).*axis 1"),
        (np.zeros((2, 4, 1), np.float32), r"'x' has shape .* rank 2"),
        (np.zeros((3, 4), np.float32), r"dim 'batch' is 2 in input 'mask' but 3 in input 'x'"),
    ],
)
def test_bad_feed_dtype_or_shape_errors(model, chain, x, message):
    feeds = {"x": x, "mask": np.zeros((2, 4), np.int64)}
    with pytest.raises(ValueError, match=message):
        verify(model, chain, feeds=feeds)


def test_npy_feeds_need_single_input_model(model, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones((2, 3), np.float32))
    single = simple_model(helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3]))
    assert load_feeds(path, single)["x"].shape == (2, 3)
    with pytest.raises(ValueError, match=r"2 inputs \(x, mask\).*\.npz"):
        load_feeds(path, model)


def test_the_python_api_refuses_a_fifo_instead_of_blocking_on_it(tmp_path):
    """onnx and ONNX Runtime would block forever opening a FIFO; the API
    checks every path first. Run in a child so a regression fails, not hangs."""
    import os
    import subprocess
    import sys

    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    code = (
        "import sys, modelcut\n"
        "for call in (lambda: modelcut.verify(sys.argv[1], [sys.argv[1], sys.argv[1]]),\n"
        "             lambda: modelcut.run_chain([sys.argv[1], sys.argv[1]], {})):\n"
        "    try:\n"
        "        call()\n"
        "    except modelcut.Error as error:\n"
        "        print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(fifo)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert len(lines) == 2 and all("named pipe (FIFO)" in line for line in lines), result.stdout
