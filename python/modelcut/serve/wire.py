# How named arrays travel over HTTP, for the server and for the client:
# .npz (any size, exact), .npy (a chain with one input) or JSON (small
# inputs: {"x": [[...]]}, or {"x": {"dtype": ..., "shape": ..., "data": ...}}
# as responses give them). A request that cannot be read raises BadRequest
# naming what is wrong; that line is the HTTP 400 body. An answer that
# cannot be read raises BadAnswer. Both sides read bodies from strangers:
# what a body unpacks to is counted as it is unpacked, and checked against
# the limit before anything is allocated for it.
from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from collections.abc import Mapping, Sequence

import numpy as np

from .. import _core
from .._ort import InputSpec, check_feeds

NPZ = "application/x-npz"
NPY = "application/x-npy"
JSON = "application/json"

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_NPY_MAGIC = b"\x93NUMPY"


class BadRequest(_core.Error):
    """The request cannot be run: the message names the input at fault."""

    status = 400


class BadAnswer(_core.Error):
    """The server's answer cannot be read: the message says what is wrong."""


# An .npz holds one array per input or output: a few, never thousands. Its
# central directory is parsed whole by zipfile, at some hundred bytes of
# memory per entry, so the count is checked first.
_MAX_ARRAYS = 4096
_MAX_DIMENSIONS = 32
_MAX_NPY_HEADER = 10000  # numpy's own limit for an untrusted header
_CHUNK = 1 << 20
_ZIP_DIRECTORY_ENTRY = b"PK\x01\x02"
# What json.loads may build per value of a document, at most (an empty list
# or dict, with its reference): how a small JSON body could outgrow the limit.
_JSON_BYTES_PER_VALUE = 64


def body_format(body: bytes, content_type: str | None) -> str:
    """NPZ, NPY or JSON: from the bytes themselves, then the content type."""
    if body.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return NPZ
    if body.startswith(_NPY_MAGIC):
        return NPY
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == JSON or body.lstrip()[:1] == b"{":
        return JSON
    raise BadRequest("the request body is not .npz, .npy or a JSON object")


def encode_npz(values: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(value) for name, value in values.items()})
    return buffer.getvalue()


def decode_npz(
    body: bytes, max_bytes: int, what: str = "the request", error: type[_core.Error] = BadRequest
) -> dict[str, np.ndarray]:
    """The arrays of an .npz body. Each member is unpacked as it is read and
    counted against max_bytes before its array is allocated: the sizes a zip
    declares may lie, and a small body may inflate to anything."""
    if body.count(_ZIP_DIRECTORY_ENTRY) > _MAX_ARRAYS:
        raise error(f"{what} holds more than {_MAX_ARRAYS} arrays")
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            values: dict[str, np.ndarray] = {}
            left = max_bytes
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise error(f"{what} holds {info.filename[:100]!r}, which is not an array (.npy)")
                name = info.filename[:-4]
                if name in values:
                    raise error(f"{what} holds the array {name[:100]!r} twice")
                with archive.open(info) as member:
                    values[name] = _read_npy(member, left, max_bytes, f"{what}: array {name[:100]!r}", error)
                left -= values[name].nbytes
            return values
    except error:
        raise
    except MemoryError:
        raise
    except Exception as cause:  # zipfile and numpy raise many kinds for malformed bytes
        raise error(f"{what} is not a readable .npz ({type(cause).__name__}: {_short(cause)})") from None


def _decode_npy(
    body: bytes,
    max_bytes: int | None = None,
    what: str = "the request",
    error: type[_core.Error] = BadRequest,
) -> np.ndarray:
    """The array of a .npy body; it cannot hold more data than its own length,
    so a header claiming more is refused before anything is allocated."""
    limit = len(body) if max_bytes is None else min(max_bytes, len(body))
    try:
        return _read_npy(io.BytesIO(body), limit, limit, what, error)
    except error:
        raise
    except MemoryError:
        raise
    except Exception as cause:  # numpy raises many kinds for malformed bytes
        raise error(f"{what} is not a readable .npy ({type(cause).__name__}: {_short(cause)})") from None


def _read_npy(stream, left: int, max_bytes: int, what: str, error: type[_core.Error]) -> np.ndarray:
    """One array of numbers from a .npy stream, read to its end. Its header
    is checked (size, dtype, shape x itemsize against the `left` bytes of
    the budget) before any memory is given to the array; object arrays,
    which numpy would unpickle, are refused."""
    prefix = _read_exactly(stream, len(_NPY_MAGIC) + 2, what, error)
    if prefix[: len(_NPY_MAGIC)] != _NPY_MAGIC:
        raise error(f"{what} is not a .npy array (no .npy magic)")
    version = (prefix[-2], prefix[-1])
    length_format = {(1, 0): "<H", (2, 0): "<I"}.get(version)
    if length_format is None:
        raise error(f"{what} is a .npy of version {version[0]}.{version[1]}; only 1.0 and 2.0 are read")
    length_field = _read_exactly(stream, struct.calcsize(length_format), what, error)
    (length,) = struct.unpack(length_format, length_field)
    if length > _MAX_NPY_HEADER:
        raise error(f"{what} has a .npy header of {length} bytes, more than {_MAX_NPY_HEADER}")
    header = io.BytesIO(length_field + _read_exactly(stream, length, what, error))
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = reader(header)
    dtype = _number_dtype(dtype, what, error)
    count = _element_count(shape, what, error)
    size = count * dtype.itemsize
    if size > left:
        raise error(f"{what} unpacks to {size} bytes, more than {_left_of(left, max_bytes)}")
    flat = np.empty(count, dtype)
    target = flat.view(np.uint8)
    filled = 0
    while filled < size:
        chunk = stream.read(min(_CHUNK, size - filled))
        if not chunk:
            raise error(f"{what} ends after {filled} of its {size} bytes")
        target[filled : filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
        filled += len(chunk)
    if stream.read(1):  # at the end of a zip member this also checks its CRC
        raise error(f"{what} has bytes after its {size} bytes of data")
    return flat.reshape(shape[::-1]).transpose() if fortran_order else flat.reshape(shape)


def _read_exactly(stream, size: int, what: str, error: type[_core.Error]) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise error(f"{what} ends inside its .npy header")
    return data


def _number_dtype(dtype, what: str, error: type[_core.Error]) -> np.dtype:
    """`dtype` if it holds plain numbers or booleans: not objects (pickles),
    strings, records or sub-arrays, whose itemsize is the sender's choice."""
    try:
        dtype = np.dtype(dtype)
    except Exception:
        raise error(f"{what} has dtype {str(dtype)[:100]!r}, which is not a numpy dtype") from None
    if dtype.kind not in "biufc" or dtype.fields is not None or dtype.shape != ():
        raise error(f"{what} has dtype {str(dtype)[:100]!r}; only numbers and booleans are read")
    return dtype


def _element_count(shape, what: str, error: type[_core.Error]) -> int:
    if (
        not isinstance(shape, (list, tuple))
        or len(shape) > _MAX_DIMENSIONS
        or not all(type(size) is int and size >= 0 for size in shape)
    ):
        raise error(
            f"{what} has shape {str(shape)[:100]}, not a list of at most {_MAX_DIMENSIONS} sizes >= 0"
        )
    return math.prod(shape)


def load_json(body: bytes, max_bytes: int, what: str, error: type[_core.Error]):
    """json.loads, after checking that the values it could build (counted
    from the separators, an upper bound) fit in max_bytes."""
    values = 1 + sum(body.count(separator) for separator in (b",", b":", b"[", b"{"))
    if values * _JSON_BYTES_PER_VALUE + 4 * len(body) > max_bytes:
        raise error(
            f"{what} is JSON of {len(body)} bytes with up to {values} values, more than fits "
            f"in the limit of {max_bytes} bytes once unpacked"
        )
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as cause:
        raise error(f"{what} is not valid JSON ({_short(cause)})") from None


def _left_of(left: int, max_bytes: int) -> str:
    if left == max_bytes:
        return f"the limit of {max_bytes}"
    return f"the {left} left of the limit of {max_bytes}"


def _short(cause: BaseException) -> str:
    """An exception's text, cut short: it may quote the stranger's bytes."""
    text = str(cause)
    return text if len(text) <= 200 else text[:200] + "..."


def _decode_json(body: bytes, specs: Sequence[InputSpec]) -> dict[str, np.ndarray]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"the request is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise BadRequest("the JSON request must be an object mapping input names to arrays")
    dtypes = {spec.name: spec.dtype for spec in specs}
    feeds = {}
    for name, value in document.items():
        if name not in dtypes:
            feeds[name] = np.zeros(0)  # reported as unexpected by the feed check
            continue
        feeds[name] = _json_array(name, value, dtypes[name])
    return feeds


def _json_array(name: str, value, dtype: np.dtype) -> np.ndarray:
    """A JSON value as an array of the input's dtype, refusing values the
    dtype cannot hold exactly (1.5 for an int64 input, 300 for uint8)."""
    shape = None
    if isinstance(value, dict):
        if "data" not in value:
            raise BadRequest(f"input '{name}': an object value needs a 'data' member")
        if "dtype" in value and str(value["dtype"]) != str(dtype):
            raise BadRequest(f"input '{name}' has dtype {value['dtype']}, the model expects {dtype}")
        shape = value.get("shape")
        value = value["data"]
    try:
        raw = np.array(value)
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"input '{name}' is not a rectangular array ({error})") from None
    if raw.dtype == object or raw.dtype.kind in "USV":
        raise BadRequest(f"input '{name}' is not a rectangular array of numbers")
    if raw.size and raw.dtype.kind == "b" and dtype.kind != "b":
        raise BadRequest(f"input '{name}' holds booleans, the model expects {dtype}")
    if dtype.kind == "b" and raw.size and raw.dtype.kind != "b":
        raise BadRequest(f"input '{name}' holds numbers, the model expects booleans")
    with np.errstate(all="ignore"):
        array = raw.astype(dtype)
        if raw.size and dtype.kind in "iu" and not np.array_equal(array, raw):
            raise BadRequest(f"input '{name}' holds values that {dtype} cannot hold exactly")
    if shape is not None:
        try:
            array = array.reshape([int(size) for size in shape])
        except (TypeError, ValueError):
            raise BadRequest(f"input '{name}': its data does not fill the shape {shape}") from None
    return array


def decode_request(
    body: bytes, content_type: str | None, specs: Sequence[InputSpec], max_bytes: int
) -> tuple[dict[str, np.ndarray], str]:
    """The request's feeds, checked against the chain's inputs, and the
    format to answer in."""
    if len(body) > max_bytes:
        raise BadRequest(f"the request has {len(body)} bytes, more than the limit of {max_bytes}")
    kind = body_format(body, content_type)
    if kind == NPZ:
        feeds = decode_npz(body, max_bytes)
    elif kind == NPY:
        if len(specs) != 1:
            names = ", ".join(spec.name for spec in specs)
            raise BadRequest(
                f"a .npy body holds one array but the chain takes {len(specs)} inputs "
                f"({names}); send an .npz keyed by input name"
            )
        feeds = {specs[0].name: _decode_npy(body)}
    else:
        feeds = _decode_json(body, specs)
    check_request(feeds, specs)
    return feeds, kind


def check_request(feeds: Mapping[str, np.ndarray], specs: Sequence[InputSpec]) -> None:
    if not isinstance(feeds, Mapping) or not all(isinstance(v, np.ndarray) for v in feeds.values()):
        raise BadRequest("the request must map input names to numpy arrays")
    try:
        check_feeds(feeds, specs, source="request")
    except ValueError as error:
        raise BadRequest(str(error)) from None


class NotAcceptable(BadRequest):
    """The answer cannot be given in the request's format."""

    status = 406


def answer_format(kind: str, outputs: Sequence[str]) -> str:
    """The format of the answer to a request in `kind`: the same. A .npy
    holds one unnamed array, so a chain of several `outputs` refuses a .npy
    request (before running it) rather than answering in another format."""
    if kind == NPY and len(outputs) != 1:
        raise NotAcceptable(
            f"a .npy answer holds one array but the chain gives {len(outputs)} outputs "
            f"({', '.join(outputs)}); send the request as .npz or JSON"
        )
    return kind


def encode_response(outputs: Mapping[str, np.ndarray], kind: str) -> tuple[bytes, str]:
    """The answer's body and Content-Type, in the format answer_format chose."""
    if kind == JSON:
        document = {
            name: {"dtype": str(value.dtype), "shape": list(value.shape), "data": value.tolist()}
            for name, value in outputs.items()
        }
        return json.dumps(document).encode(), JSON
    if kind == NPY:
        (value,) = outputs.values()
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(value), allow_pickle=False)
        return buffer.getvalue(), NPY
    return encode_npz(outputs), NPZ


def decode_response(
    body: bytes, content_type: str | None, max_bytes: int, what: str = "the answer", npy_name: str = "output"
) -> dict[str, np.ndarray]:
    """The outputs of an answer, in the format its Content-Type names: .npz,
    JSON in the object form, or .npy (one unnamed array, returned as
    `npy_name`). Whatever the bytes, raises BadAnswer (naming `what`) or
    returns arrays of numbers that unpacked to at most max_bytes."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == NPZ:
        outputs = decode_npz(body, max_bytes, what, BadAnswer)
    elif kind == NPY:
        outputs = {npy_name: _decode_npy(body, max_bytes, what, BadAnswer)}
    elif kind == JSON:
        outputs = _decode_json_answer(body, max_bytes, what)
    else:
        raise BadAnswer(f"{what} is {kind[:100] or 'of no Content-Type'!r}, not .npz, .npy or JSON")
    if not outputs:
        raise BadAnswer(f"{what} holds no outputs")
    return outputs


def _decode_json_answer(body: bytes, max_bytes: int, what: str) -> dict[str, np.ndarray]:
    """{"name": {"dtype": ..., "shape": [...], "data": [...]}, ...}, as
    encode_response writes it; each array's size is checked before it is built."""
    document = load_json(body, max_bytes, what, BadAnswer)
    if not isinstance(document, dict):
        raise BadAnswer(f"{what} is JSON but not an object mapping output names to arrays")
    outputs = {}
    left = max_bytes
    for name, value in document.items():
        where = f"{what}: output {name[:100]!r}"
        if not isinstance(value, dict) or not {"dtype", "shape", "data"} <= value.keys():
            raise BadAnswer(f"{where} is not an object with dtype, shape and data")
        if not isinstance(value["dtype"], str):
            raise BadAnswer(f"{where} has a dtype that is not a name, such as float32")
        dtype = _number_dtype(value["dtype"], where, BadAnswer)
        count = _element_count(value["shape"], where, BadAnswer)
        if count * dtype.itemsize > left:
            raise BadAnswer(
                f"{where} unpacks to {count * dtype.itemsize} bytes, more than {_left_of(left, max_bytes)}"
            )
        try:
            array = np.array(value["data"], dtype=dtype)
        except (ValueError, TypeError, OverflowError, RecursionError) as cause:
            raise BadAnswer(f"{where}: its data is not an array of {dtype} ({_short(cause)})") from None
        if array.size != count:
            raise BadAnswer(
                f"{where}: its data holds {array.size} values, its shape {value['shape']} needs {count}"
            )
        outputs[name] = array.reshape(value["shape"])
        left -= array.nbytes
    return outputs
