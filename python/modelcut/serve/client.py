# The client side: send named arrays to a served chain over HTTP and read
# its outputs back, and split computing, where the first parts run here on
# ONNX Runtime and only the values crossing the cut travel to the server,
# which runs the rest. Uses the standard library's HTTP client only, so that
# a device needs nothing beyond numpy and ONNX Runtime.
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .. import _core
from .wire import NPZ, decode_response, encode_npz


class RemoteError(_core.Error):
    """The server refused or failed the request; the message is its own line."""

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
    """A served chain at `url` (http://HOST:PORT/ROUTE)."""

    def __init__(self, url: str, timeout_s: float = 120.0, max_response_bytes: int = 1 << 32) -> None:
        if not url.startswith(("http://", "https://")):
            raise _core.Error(f"--remote {url!r} is not an http:// or https:// URL")
        self.url = url
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes

    def describe(self) -> dict:
        """The chain's inputs, outputs, stages and cuts."""
        status, headers, body = self._request(urllib.request.Request(self.url, method="GET"))
        return json.loads(body)

    def exchange(self, feeds: Mapping[str, np.ndarray]) -> Exchange:
        body = encode_npz(feeds)
        request = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": NPZ})
        start = time.perf_counter()
        status, headers, answer = self._request(request)
        elapsed = time.perf_counter() - start
        outputs = decode_response(answer, headers.get("Content-Type"), self.max_response_bytes)
        try:
            server = json.loads(headers.get("X-Modelcut-Timing") or "{}")
        except ValueError:
            server = {}
        return Exchange(outputs, len(body), len(answer), elapsed, server)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.exchange(feeds).outputs

    def _request(self, request: urllib.request.Request):
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            text = error.read(4096).decode("utf-8", "replace").strip().splitlines()
            raise RemoteError(error.code, f"{self.url} answered {error.code}: "
                                          f"{text[0] if text else error.reason}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RemoteError(0, f"cannot reach {self.url}: {reason}") from None


@dataclass
class SplitRun:
    """Split computing: the outputs, the local time per part, and the
    exchange with the server."""

    outputs: dict[str, np.ndarray]
    local_s: list[float]
    exchange: Exchange


def run_split(head: Sequence, url: str, feeds: Mapping[str, np.ndarray], intervention=None,
              optimize: bool = False, client: Client | None = None) -> SplitRun:
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
