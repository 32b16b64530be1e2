# The client side: send named arrays to a served chain over HTTP and read
# its outputs back, and split computing, where the first parts run here on
# ONNX Runtime and only the values crossing the cut travel to the server,
# which runs the rest. Uses the standard library's HTTP client only, so that
# a device needs nothing beyond numpy and ONNX Runtime. The server is a
# stranger: one deadline covers the whole exchange (connect, send, the
# answer's headers and body), the answer is read up to a cap and no
# further, what it unpacks to is bounded too, redirects are not followed,
# and every answer that cannot be used ends in one line saying what was
# wrong with it.
from __future__ import annotations

import http.client
import io
import json
import math
import socket
import ssl
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import _core
from .wire import NPZ, BadAnswer, decode_response, encode_npz, load_json

DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 24 * 3600.0
DEFAULT_MAX_ANSWER_BYTES = 1 << 30
MAX_ANSWER_BYTES = 1 << 36  # 64 GiB: the answer and its arrays are held in memory together
_CHUNK = 1 << 20
_ERROR_TEXT_BYTES = 4096  # of an error answer, enough for its first line


class RemoteError(_core.Error):
    """The server refused or failed the request, or could not be reached in
    time; the message is its own line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Exchange:
    """One request: the outputs, and where the time and bytes went."""

    outputs: dict[str, np.ndarray]
    sent_bytes: int
    received_bytes: int
    round_trip_s: float
    server: dict = field(default_factory=dict)  # the server's X-Modelcut-Timing

    @property
    def server_s(self) -> float | None:
        return self.server.get("server_s")

    @property
    def network_s(self) -> float | None:
        """Round trip minus the server's own time: transfer, HTTP and queues."""
        return None if self.server_s is None else max(0.0, self.round_trip_s - self.server_s)


class Client:
    """A served chain at `url` (http://HOST:PORT/ROUTE or https://...).
    Each request must be over within `timeout_s`, and its answer may hold at
    most `max_answer_bytes`, and unpack to at most as many."""

    def __init__(
        self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S, max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    ) -> None:
        parts = _split_url(url)
        if not 1e-3 <= timeout_s <= MAX_TIMEOUT_S:  # also refuses NaN
            raise _core.Error(f"--timeout of {timeout_s:g} s is out of range: give 1ms to 24h")
        if not 1 <= max_answer_bytes <= MAX_ANSWER_BYTES:
            raise _core.Error(
                f"--max-answer of {max_answer_bytes} bytes is out of range: give 1 byte to 64GiB"
            )
        self.url = url
        self.timeout_s = float(timeout_s)
        self.max_answer_bytes = int(max_answer_bytes)
        self._https, self._host, self._port, self._target = parts

    def describe(self) -> dict:
        """The chain's inputs, outputs, stages and cuts."""
        _, body = self._request("GET")
        description = load_json(body, self.max_answer_bytes, self._answer, BadAnswer)
        if not isinstance(description, dict):
            raise BadAnswer(f"{self._answer} is not a JSON object describing the chain")
        return description

    def exchange(self, feeds: Mapping[str, np.ndarray]) -> Exchange:
        body = encode_npz(feeds)
        start = time.perf_counter()
        response, answer = self._request("POST", body, NPZ)
        elapsed = time.perf_counter() - start
        kind = response.getheader("Content-Type") or ""
        if kind.split(";")[0].strip().lower() != NPZ:
            named = f"is {kind[:100]!r}" if kind else "has no Content-Type"
            raise BadAnswer(f"{self._answer} {named}, not the .npz that was sent")
        outputs = decode_response(answer, kind, self.max_answer_bytes, what=self._answer)
        timing = _timing(response.getheader("X-Modelcut-Timing"))
        return Exchange(outputs, len(body), len(answer), elapsed, timing)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.exchange(feeds).outputs

    @property
    def _answer(self) -> str:
        return f"the answer from {self.url}"

    def _request(
        self, method: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """The response (status 200) and its body, within the deadline."""
        deadline = _Deadline(self.timeout_s)
        connection = None
        try:
            connection = self._connect(deadline)
            sock = connection.sock
            try:
                headers = {"Content-Type": content_type} if content_type else {}
                connection.request(method, self._target, body=body, headers=headers)
            except OSError as error:
                raise RemoteError(0, f"cannot send the request to {self.url}: {_reason(error)}") from None
            response = connection.getresponse()
            self._check_status(response)
            return response, self._read_body(response, self.max_answer_bytes)
        except TimeoutError:
            raise RemoteError(
                0, f"the server at {self.url} did not answer within {self.timeout_s:g} s (the timeout)"
            ) from None
        except _core.Error:
            raise
        except http.client.LineTooLong as error:
            raise BadAnswer(
                f"{self._answer} has a line longer than {http.client._MAXLINE} bytes ({error})"
            ) from None
        except http.client.IncompleteRead as error:
            raise BadAnswer(
                f"{self._answer} ended early, after {len(error.partial)} more bytes "
                f"(broken chunked encoding or a closed connection)"
            ) from None
        except http.client.RemoteDisconnected:
            raise BadAnswer(
                f"{self._answer} is missing: the server closed the connection without answering"
            ) from None
        except http.client.BadStatusLine as error:
            raise BadAnswer(f"{self._answer} is not HTTP (its first line is {str(error)[:100]!r})") from None
        except (http.client.HTTPException, ValueError) as error:  # ValueError: an unreadable chunk size
            raise BadAnswer(
                f"{self._answer} is not well-formed HTTP ({type(error).__name__}: {str(error)[:200]})"
            ) from None
        except OSError as error:  # the connection reset or broken in the middle of the answer
            raise BadAnswer(f"{self._answer} broke off: {_reason(error)}") from None
        finally:
            if connection is not None:
                connection.close()
                sock.release()

    def _connect(self, deadline: _Deadline) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port)
        try:
            sock = socket.create_connection((self._host, self._port), timeout=deadline.left())
            if self._https:
                # NB: the handshake is one call, which the ssl module bounds by
                # the socket's timeout as a whole, as it does each read and write.
                sock.settimeout(deadline.left())
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self._host)
        except TimeoutError:
            raise
        except OSError as error:
            raise RemoteError(0, f"cannot reach {self.url}: {_reason(error)}") from None
        connection.sock = _DeadlineSocket(sock, deadline)
        return connection

    def _check_status(self, response: http.client.HTTPResponse) -> None:
        status = response.status
        if status == 200:
            return
        reason = (response.reason or "").strip()[:100]
        if 300 <= status < 400:
            location = (response.getheader("Location") or "nowhere")[:200]
            raise BadAnswer(
                f"{self._answer} is a redirect ({status} {reason}) to {location!r}; modelcut "
                f"follows no redirects: give the final URL"
            )
        if status < 400:
            raise BadAnswer(f"{self._answer} has status {status} {reason}, not 200 with the outputs")
        kind = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "text/plain":  # an HTML page or worse: its text would not be one line
            raise RemoteError(
                status,
                f"{self.url} answered {status} {reason} "
                f"(with {kind[:100] or 'an untyped body'!r}, not an error line)",
            )
        text = response.read(_ERROR_TEXT_BYTES).decode("utf-8", "replace").strip().splitlines()
        line = text[0][:300] if text else reason
        raise RemoteError(status, f"{self.url} answered {status}: {line}")

    def _read_body(self, response: http.client.HTTPResponse, limit: int) -> bytes:
        """The answer's body, refused as soon as it is known to exceed `limit`:
        from its Content-Length before reading, else after limit + 1 bytes."""
        declared = None
        if "chunked" not in (response.getheader("Transfer-Encoding") or "").lower():
            lengths = set(response.headers.get_all("Content-Length") or [])
            if len(lengths) > 1:
                raise BadAnswer(f"{self._answer} has {len(lengths)} different Content-Lengths")
            if lengths:
                (text,) = lengths
                if not text.strip().isdigit() or not text.strip().isascii():
                    raise BadAnswer(f"{self._answer} has the Content-Length {text[:100]!r}, not a size")
                declared = int(text)
                if declared > limit:
                    raise BadAnswer(f"{self._answer} has {declared} bytes, more than the limit of {limit}")
        body = bytearray()
        while True:
            piece = response.read(min(_CHUNK, limit + 1 - len(body)))
            if not piece:
                break
            body += piece
            if len(body) > limit:
                raise BadAnswer(f"{self._answer} has more than the limit of {limit} bytes")
        if declared is not None and len(body) < declared:
            raise BadAnswer(f"{self._answer} ended early, after {len(body)} of its {declared} bytes")
        return bytes(body)


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """The seconds left; TimeoutError once there are none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline has passed")
        return left


class _DeadlineSocket:
    """What http.client uses of a socket, each read and write given only the
    time left: a server trickling one byte at a time cannot stretch the
    exchange past its deadline, as it could a timeout per read."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data) -> None:
        self._sock.settimeout(self._deadline.left())  # a bound on the whole of sendall
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args, **kwargs) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        # NB: http.client closes the connection as soon as it has the headers
        # of a "Connection: close" answer, and reads the body afterwards, as
        # a real socket's makefile() allows: the socket is closed by release().
        pass

    def release(self) -> None:
        self._sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(self._deadline.left())
        return self._sock.recv_into(buffer)


def _split_url(url: str) -> tuple[bool, str, int, str]:
    """https?, host, port and the request target of an http(s):// URL."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise _core.Error(f"--remote {str(url)[:200]!r} is not an http:// or https:// URL")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _core.Error(f"--remote {url[:200]!r} is not a URL ({error})") from None
    if not parts.hostname:
        raise _core.Error(f"--remote {url[:200]!r} names no host")
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise _core.Error(f"--remote {url[:200]!r} has spaces or control characters")
    https = parts.scheme == "https"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return https, parts.hostname, port or (443 if https else 80), target


def _reason(error: OSError) -> str:
    return str(getattr(error, "strerror", None) or error or type(error).__name__)[:200]


def _timing(header: str | None) -> dict:
    """The server's X-Modelcut-Timing, keeping only well-formed numbers: it
    only informs, so a malformed one is dropped, not an error."""
    try:
        timing = json.loads(header or "{}")
    except (ValueError, RecursionError):
        return {}
    if not isinstance(timing, dict):
        return {}

    def seconds(value) -> bool:
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value >= 0
        )

    kept = {key: value for key, value in timing.items() if isinstance(key, str) and seconds(value)}
    for key in ("stages_s", "stages_batch"):
        values = timing.get(key)
        if isinstance(values, list) and all(seconds(value) for value in values):
            kept[key] = values
    return kept


@dataclass
class SplitRun:
    """Split computing: the outputs, the local time per part, and the
    exchange with the server."""

    outputs: dict[str, np.ndarray]
    local_s: list[float]
    exchange: Exchange


def run_split(
    head: Sequence,
    url: str,
    feeds: Mapping[str, np.ndarray],
    intervention=None,
    optimize: bool = False,
    client: Client | None = None,
) -> SplitRun:
    """Runs the `head` parts here, then sends the values crossing the last
    local cut to the chain served at `url` and returns its outputs.
    `intervention(k, values)` acts at every cut, the one to the server
    included (it is cut number len(head) - 1)."""
    from .._ort import ensure_session
    from ..intervene import _select_inputs

    client = client or Client(url)
    values: Mapping[str, np.ndarray] = dict(feeds)
    local_s = []
    for index, part in enumerate(head):
        session = ensure_session(part, optimize)
        if index > 0 and intervention is not None:
            changed = intervention(index - 1, values)
            values = values if changed is None else changed
        part_feeds = _select_inputs(session, values, index)
        start = time.perf_counter()
        arrays = session.run(None, part_feeds)
        local_s.append(time.perf_counter() - start)
        values = {arg.name: array for arg, array in zip(session.get_outputs(), arrays)}
    if intervention is not None and head:
        changed = intervention(len(head) - 1, values)
        values = values if changed is None else changed
    exchange = client.exchange(values)
    return SplitRun(exchange.outputs, local_s, exchange)
