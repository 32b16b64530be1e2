"""Every bad argument of the public API is a modelcut.Error with one line
that says what is wrong: wrong types, unknown names, feeds of the wrong
dtype or shape (checked before ONNX Runtime sees them), bad noise. Argument
types are also TypeErrors, values ValueErrors, for code that catches those."""

from __future__ import annotations

import modelcut
import numpy as np
import onnx
import onnx.parser
import pytest

MODEL = """
<ir_version: 10, opset_import: ["" : 17]>
mlp (float[N, 4] x) => (float[N, 4] y)
<float[4, 4] w = {1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1}>
{
  h = MatMul(x, w)
  a = Relu(h)
  y = Add(a, x)
}
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "mlp.onnx"
    onnx.save(onnx.parser.parse_model(MODEL), path)
    return str(path)


@pytest.fixture(scope="module")
def parts(model, tmp_path_factory):
    return modelcut.split(model, "h", tmp_path_factory.mktemp("parts") / "out").paths


GOOD = np.ones((2, 4), np.float32)

# (what, call(model, parts, tmp), the message must contain, also a TypeError)
CASES = [
    ("split: model not a path", lambda m, p, t: modelcut.split(42, "h", t), "not a builtins.int", False),
    ("split: at not names", lambda m, p, t: modelcut.split(m, 5, t), "at must be a name", True),
    ("split: at with a number", lambda m, p, t: modelcut.split(m, ["h", 3], t), "at must be a name", True),
    (
        "split: output_dir not a path",
        lambda m, p, t: modelcut.split(m, "h", 3.5),
        "output_dir must be a path",
        True,
    ),
    (
        "split: unknown weights",
        lambda m, p, t: modelcut.split(m, "h", t, weights="cloud"),
        "weights='cloud'",
        False,
    ),
    (
        "split: negative threshold",
        lambda m, p, t: modelcut.split(m, "h", t, external_threshold=-1),
        "external_threshold=-1",
        False,
    ),
    ("split: unknown name", lambda m, p, t: modelcut.split(m, "nope", t / "o"), "nope", False),
    ("resolve: at not names", lambda m, p, t: modelcut.resolve(m, None), "at must be a name", True),
    ("resolve: unknown name", lambda m, p, t: modelcut.resolve(m, "nope"), "nope", False),
    ("inspect: not a model", lambda m, p, t: modelcut.inspect([m]), "expected a model file path", False),
    ("inspect: missing file", lambda m, p, t: modelcut.inspect(t / "missing.onnx"), "missing.onnx", False),
    ("merge: parts a path", lambda m, p, t: modelcut.merge(m, t / "o.onnx"), "parts must be a list", True),
    ("merge: one part", lambda m, p, t: modelcut.merge(p[:1], t / "o.onnx"), "at least two parts", False),
    ("merge: output not a path", lambda m, p, t: modelcut.merge(p, 7), "output must be a path", True),
    (
        "merge: a part not a path",
        lambda m, p, t: modelcut.merge([p[0], 1], t / "o.onnx"),
        "must be a path",
        True,
    ),
    (
        "verify: wrong feed dtype",
        lambda m, p, t: modelcut.verify(m, p, feeds={"x": GOOD.astype(np.float64)}),
        "input 'x' has dtype float64, the model expects float32",
        False,
    ),
    (
        "verify: unknown feed",
        lambda m, p, t: modelcut.verify(m, p, feeds={"x": GOOD, "z": GOOD}),
        "unexpected input(s) ['z']",
        False,
    ),
    ("verify: a part not a model", lambda m, p, t: modelcut.verify(m, [p[0], {}]), "not a dict", True),
    (
        "run_chain: wrong feed dtype",
        lambda m, p, t: modelcut.run_chain(p, {"x": GOOD.astype(np.float64)}),
        "input 'x' has dtype float64, the model expects float32",
        False,
    ),
    (
        "run_chain: wrong feed rank",
        lambda m, p, t: modelcut.run_chain(p, {"x": np.ones(4, np.float32)}),
        "input 'x' has shape (4,)",
        False,
    ),
    (
        "run_chain: wrong feed shape",
        lambda m, p, t: modelcut.run_chain(p, {"x": np.ones((2, 5), np.float32)}),
        "the model expects [N, 4]",
        False,
    ),
    (
        "run_chain: missing feed",
        lambda m, p, t: modelcut.run_chain(p, {"y": GOOD}),
        "needs input(s) ['x']",
        False,
    ),
    (
        "run_chain: feeds not a dict",
        lambda m, p, t: modelcut.run_chain(p, [GOOD]),
        "feeds must be a dict",
        True,
    ),
    (
        "run_chain: parts a path",
        lambda m, p, t: modelcut.run_chain(p[0], {"x": GOOD}),
        "parts must be a list",
        True,
    ),
    ("run_chain: no parts", lambda m, p, t: modelcut.run_chain([], {"x": GOOD}), "no parts", False),
    (
        "run_chain: a part not a model",
        lambda m, p, t: modelcut.run_chain([p[0], 3], {"x": GOOD}),
        "not a int",
        True,
    ),
    (
        "run_chain: intervention not callable",
        lambda m, p, t: modelcut.run_chain(p, {"x": GOOD}, intervention=1),
        "intervention must be a callable",
        True,
    ),
    (
        "run_chain: intervention changes the dtype",
        lambda m, p, t: modelcut.run_chain(
            p, {"x": GOOD}, intervention=lambda k, v: {n: a.astype(np.float64) for n, a in v.items()}
        ),
        "the values given to part 1",
        False,
    ),
    (
        "gaussian_noise: negative",
        lambda m, p, t: modelcut.gaussian_noise(-0.1),
        "sigma must be a finite",
        False,
    ),
    (
        "gaussian_noise: nan",
        lambda m, p, t: modelcut.gaussian_noise(float("nan")),
        "sigma must be a finite",
        False,
    ),
    (
        "gaussian_noise: a string",
        lambda m, p, t: modelcut.gaussian_noise("0.1"),
        "sigma must be a number",
        True,
    ),
    (
        "gaussian_noise: names one str",
        lambda m, p, t: modelcut.gaussian_noise(0.1, names="h"),
        "names must be",
        True,
    ),
    (
        "gaussian_noise: on ints",
        lambda m, p, t: modelcut.gaussian_noise(0.1, names=["i"])(0, {"i": np.ones(2, int)}),
        "noise applies only to float tensors",
        True,
    ),
]


@pytest.mark.parametrize("what, call, fragment, type_error", CASES, ids=[case[0] for case in CASES])
def test_bad_arguments_raise_one_line_modelcut_errors(
    model, parts, tmp_path, what, call, fragment, type_error
):
    with pytest.raises(modelcut.Error) as raised:
        call(model, parts, tmp_path)
    message = str(raised.value)
    assert fragment in message, message
    assert "\n" not in message.strip()
    assert isinstance(raised.value, TypeError) == type_error, type(raised.value).__mro__
    assert isinstance(raised.value, (TypeError, ValueError))


def test_chain_error_is_a_modelcut_error():
    assert issubclass(modelcut.ChainError, modelcut.Error)
