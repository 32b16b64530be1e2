# How named arrays travel over HTTP, for the server and for the client:
# .npz (any size, exact), .npy (a chain with one input) or JSON (small
# inputs: {"x": [[...]]}, or {"x": {"dtype": ..., "shape": ..., "data": ...}}
# as responses give them). A request that cannot be read raises BadRequest
# naming what is wrong; that line is the HTTP 400 body.
from __future__ import annotations

import io
import json
import zipfile
from typing import Mapping, Sequence

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


def decode_npz(body: bytes, max_bytes: int, what: str = "the request") -> dict[str, np.ndarray]:
    """The arrays of an .npz body; refuses one whose arrays would unpack to
    more than max_bytes before unpacking them."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
            if declared > max_bytes:
                raise BadRequest(f"{what} unpacks to {declared} bytes, more than the limit of {max_bytes}")
            values = {}
            for info in archive.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with archive.open(info) as member:
                    values[name] = np.lib.format.read_array(member, allow_pickle=False)
            return values
    except BadRequest:
        raise
    except Exception as error:  # zipfile and numpy raise many kinds for malformed bytes
        raise BadRequest(f"{what} is not a readable .npz ({type(error).__name__}: {error})") from None


def _decode_npy(body: bytes) -> np.ndarray:
    try:
        return np.lib.format.read_array(io.BytesIO(body), allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - numpy raises many kinds for malformed bytes
        raise BadRequest(f"the request is not a readable .npy ({type(error).__name__}: {error})") from None


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


def decode_request(body: bytes, content_type: str | None, specs: Sequence[InputSpec],
                   max_bytes: int) -> tuple[dict[str, np.ndarray], str]:
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
            raise BadRequest(f"a .npy body holds one array but the chain takes {len(specs)} inputs "
                             f"({names}); send an .npz keyed by input name")
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


def encode_response(outputs: Mapping[str, np.ndarray], kind: str) -> tuple[bytes, str]:
    if kind == JSON:
        document = {name: {"dtype": str(value.dtype), "shape": list(value.shape), "data": value.tolist()}
                    for name, value in outputs.items()}
        return json.dumps(document).encode(), JSON
    return encode_npz(outputs), NPZ


def decode_response(body: bytes, content_type: str | None, max_bytes: int) -> dict[str, np.ndarray]:
    """The outputs of an answer: .npz, or JSON in the object form."""
    if body_format(body, content_type) == NPZ:
        return decode_npz(body, max_bytes, what="the response")
    document = json.loads(body)
    return {name: np.asarray(value["data"], dtype=value["dtype"]).reshape(value["shape"])
            for name, value in document.items()}
