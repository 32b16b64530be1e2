# Tests for modelcut.intervene (run_chain, gaussian_noise) on real ONNX
# Runtime. The model is written in ONNX text syntax (onnx.parser); parts
# come from onnx.utils.Extractor. Run with PYTHONPATH=python.
import numpy as np
import onnx
import pytest
from modelcut._ort import make_session, random_inputs
from modelcut.intervene import ChainError, gaussian_noise, run_chain
from onnx import numpy_helper, parser

MODEL_TEXT = """
<ir_version: 10, opset_import: ["" : 17]>
net (float[N, 16] x, int64[N, 16] mask) => (float[N, 16] y, int64[N] count) {
  a = MatMul(x, W)
  h = Relu(a)
  maskf = Cast<to = 1>(mask)
  gated = Mul(h, maskf)
  y = Add(gated, x)
  axes = Constant<value = int64[1] {1}>()
  count = ReduceSum<keepdims = 0>(mask, axes)
}
"""


def make_model() -> onnx.ModelProto:
    model = parser.parse_model(MODEL_TEXT)
    weight = np.random.default_rng(0).standard_normal((16, 16)).astype(np.float32)
    model.graph.initializer.append(numpy_helper.from_array(weight, "W"))
    onnx.checker.check_model(model)
    return model


def extract(model, inputs, outputs) -> onnx.ModelProto:
    inferred = onnx.shape_inference.infer_shapes(model)
    return onnx.utils.Extractor(inferred).extract_model(inputs, outputs)


@pytest.fixture(scope="module")
def model():
    return make_model()


@pytest.fixture(scope="module")
def chain(model):
    """Three parts; x (float) and mask (int64) pass through every boundary."""
    return [
        extract(model, ["x", "mask"], ["a", "x", "mask"]),
        extract(model, ["a", "x", "mask"], ["h", "x", "mask"]),
        extract(model, ["h", "x", "mask"], ["y", "count"]),
    ]


@pytest.fixture(scope="module")
def feeds(model):
    return random_inputs(model, seed=1, batch=64)


def original_outputs(model, feeds):
    session = make_session(model)
    names = [arg.name for arg in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def recording(intervention, log):
    """Wrap an intervention to keep (index, values in, values out) per call."""

    def wrapped(index, values):
        result = intervention(index, values)
        log.append((index, dict(values), result))
        return result

    return wrapped


def test_chain_reproduces_original(model, chain, feeds):
    expected = original_outputs(model, feeds)
    actual = run_chain(chain, feeds)
    assert list(actual) == ["y", "count"]
    for name in expected:
        assert np.array_equal(actual[name], expected[name])


def test_intervention_sees_each_boundary_and_none_keeps_values(model, chain, feeds):
    seen = []

    def observe(index, values):
        seen.append((index, sorted(values)))
        return None  # keep the values as they are

    actual = run_chain(chain, feeds, intervention=observe)
    assert seen == [(0, ["a", "mask", "x"]), (1, ["h", "mask", "x"])]
    assert np.array_equal(actual["y"], original_outputs(model, feeds)["y"])


def test_returned_values_feed_the_next_part(chain, feeds):
    def zero_h(index, values):
        return {**values, "h": np.zeros_like(values["h"])} if index == 1 else values

    actual = run_chain(chain, feeds, intervention=zero_h)
    np.testing.assert_array_equal(actual["y"], feeds["x"])  # y = h * mask + x


def test_gaussian_noise_has_right_std_and_spares_ints(model, chain, feeds):
    sigma, log = 0.1, []
    actual = run_chain(chain, feeds, intervention=recording(gaussian_noise(sigma, seed=7), log))
    assert [index for index, _, _ in log] == [0, 1]
    for index, before, after in log:
        for name in before:
            assert after[name].dtype == before[name].dtype
            assert after[name].shape == before[name].shape
        np.testing.assert_array_equal(after["mask"], before["mask"])
        for name in ("x", "a" if index == 0 else "h"):
            delta = after[name].astype(np.float64) - before[name]
            # 1024 samples: the estimates are within a few percent of sigma.
            assert abs(delta.std() - sigma) < 0.1 * sigma
            assert abs(delta.mean()) < 0.02
    expected = original_outputs(model, feeds)
    np.testing.assert_array_equal(actual["count"], expected["count"])
    assert not np.allclose(actual["y"], expected["y"], atol=1e-3)


def test_gaussian_noise_only_on_named_tensors(chain, feeds):
    log = []
    run_chain(chain, feeds, intervention=recording(gaussian_noise(0.5, names=["h"]), log))
    (_, before0, after0), (_, before1, after1) = log
    for name in before0:  # "h" does not cross boundary 0
        np.testing.assert_array_equal(after0[name], before0[name])
    assert not np.array_equal(after1["h"], before1["h"])
    np.testing.assert_array_equal(after1["x"], before1["x"])


def test_gaussian_noise_is_reproducible_and_zero_sigma_is_identity(model, chain, feeds):
    first = run_chain(chain, feeds, intervention=gaussian_noise(0.3, seed=5))
    second = run_chain(chain, feeds, intervention=gaussian_noise(0.3, seed=5))
    np.testing.assert_array_equal(first["y"], second["y"])
    silent = run_chain(chain, feeds, intervention=gaussian_noise(0.0))
    np.testing.assert_array_equal(silent["y"], original_outputs(model, feeds)["y"])


def test_gaussian_noise_rejects_named_int_tensor_and_negative_sigma(chain, feeds):
    with pytest.raises(TypeError, match="'mask' at boundary 0 is int64"):
        run_chain(chain, feeds, intervention=gaussian_noise(0.1, names=["mask"]))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_noise(-1.0)


def test_missing_boundary_input_is_named(model, chain, feeds):
    drops_mask = extract(model, ["x", "mask"], ["a", "x"])
    with pytest.raises(ChainError, match=r"part 1 needs input\(s\) \['mask'\].*outputs of part 0"):
        run_chain([drops_mask] + chain[1:], feeds)


def test_missing_feed_is_named(chain, feeds):
    with pytest.raises(ChainError, match=r"part 0 needs input\(s\) \['mask'\].*feeds"):
        run_chain(chain, {"x": feeds["x"]})


def test_parts_may_be_sessions_or_paths(model, chain, feeds, tmp_path):
    path = tmp_path / "last.onnx"
    onnx.save(chain[2], path)
    parts = [make_session(chain[0]), chain[1], str(path)]
    expected = original_outputs(model, feeds)
    np.testing.assert_array_equal(run_chain(parts, feeds)["y"], expected["y"])
