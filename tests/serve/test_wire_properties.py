# Properties of the answer decoder (modelcut.serve.wire.decode_response),
# which reads bytes from any server: whatever the bytes and the Content-Type,
# it returns arrays of numbers or raises BadAnswer (a modelcut.Error), never
# holds more than its cap, and reads back exactly what the encoder wrote.
# Derandomized and bounded, so the same examples run every time, quickly.
import io
import tracemalloc
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from modelcut.serve.wire import JSON, NPY, NPZ, BadAnswer, decode_response, encode_npz, encode_response

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CONTENT_TYPES = st.sampled_from([NPZ, NPY, JSON, f"{JSON}; charset=utf-8", "text/html", "", None])
CAP = 64 << 10

NUMBER_DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(),
    hnp.complex_number_dtypes(),
)
ARRAYS = hnp.arrays(NUMBER_DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
OUTPUTS = st.dictionaries(st.text("abcxyz_./:", min_size=1, max_size=8), ARRAYS, min_size=1, max_size=3)


def _decoded(body: bytes, content_type, cap: int = CAP):
    """decode_response's outputs, or None when it refused the bytes; checks
    that whatever it returned is arrays of numbers within the cap."""
    try:
        outputs = decode_response(body, content_type, cap)
    except BadAnswer:
        return None
    assert outputs and all(
        isinstance(value, np.ndarray) and value.dtype.kind in "biufc" for value in outputs.values()
    )
    assert sum(value.nbytes for value in outputs.values()) <= cap
    return outputs


@SETTINGS
@given(st.binary(max_size=2048), CONTENT_TYPES)
def test_arbitrary_bytes_give_arrays_or_bad_answer(body, content_type):
    _decoded(body, content_type)


def _mutated(data: bytes, edits) -> bytes:
    data = bytearray(data)
    for position, value in edits:
        if data:
            data[position % len(data)] = value
    return bytes(data)


@SETTINGS
@given(
    OUTPUTS,
    st.sampled_from([NPZ, JSON]),
    st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_mutated_answers_give_arrays_or_bad_answer(outputs, kind, edits):
    if kind == JSON and any(value.dtype.kind == "c" for value in outputs.values()):
        kind = NPZ  # JSON has no complex numbers
    body, content_type = encode_response(outputs, kind)
    _decoded(_mutated(body, edits), content_type)


@SETTINGS
@given(OUTPUTS)
def test_npz_answers_round_trip(outputs):
    body, content_type = encode_response(outputs, NPZ)
    decoded = decode_response(body, content_type, 1 << 20)
    assert sorted(decoded) == sorted(outputs)
    for name, value in outputs.items():
        assert decoded[name].dtype == value.dtype and decoded[name].shape == value.shape
        assert np.array_equal(decoded[name], value, equal_nan=value.dtype.kind in "fc")


@SETTINGS
@given(OUTPUTS.filter(lambda outputs: all(value.dtype.kind != "c" for value in outputs.values())))
def test_json_answers_round_trip(outputs):
    body, content_type = encode_response(outputs, JSON)
    decoded = decode_response(body, content_type, 1 << 20)
    assert sorted(decoded) == sorted(outputs)
    for name, value in outputs.items():
        assert decoded[name].dtype == value.dtype and decoded[name].shape == value.shape
        assert np.array_equal(decoded[name], value, equal_nan=value.dtype.kind == "f")


def _npy_claiming(shape: tuple, descr: str, data: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    st.lists(st.integers(0, 1 << 40), min_size=1, max_size=4),
    st.sampled_from(["<f8", "|u1", "<c16"]),
    st.booleans(),
    st.integers(0, 4096),
)
def test_claimed_sizes_are_checked_before_allocating(shape, descr, deflate, data_size):
    # A header may claim any shape and a zip member inflate to anything: the
    # decoder allocates at most the cap, whatever is claimed.
    member = _npy_claiming(tuple(shape), descr, b"\0" * data_size)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as archive:
        archive.writestr("y.npy", member)
    tracemalloc.start()
    try:
        for body, content_type in ((buffer.getvalue(), NPZ), (member, NPY)):
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            _decoded(body, content_type, cap=CAP)
            _, peak = tracemalloc.get_traced_memory()
            assert peak - before < CAP + (256 << 10), (shape, descr, peak - before)
    finally:
        tracemalloc.stop()


def test_a_bomb_is_refused_within_the_cap():
    # 64 MiB of zeros in a 64 KiB .npz: refused having held about the cap.
    body = encode_npz({"y": np.zeros(64 << 20, np.uint8)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as source:
        member = source.read("y.npy")
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("y.npy", member)
    tracemalloc.start()
    try:
        try:
            decode_response(buffer.getvalue(), NPZ, CAP)
            raise AssertionError("a 64 MiB array was read under a 64 KiB cap")
        except BadAnswer as error:
            assert "unpacks to 67108864 bytes, more than the limit of 65536" in str(error)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(buffer.getvalue()) + CAP + (1 << 20), peak
