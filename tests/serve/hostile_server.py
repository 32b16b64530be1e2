# A server on 127.0.0.1 that answers `modelcut run --remote` as an attacker
# or a broken proxy would: raw bytes on the socket, chosen per test, so the
# answer can be anything (garbage, a trickle, an endless stream). No Ray:
# these tests are about the client alone.
import io
import socket
import socketserver
import struct
import threading
import time
import zipfile

import numpy as np

NPZ = "application/x-npz"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        sock = self.request
        start = time.monotonic()
        try:
            body = _read_request(sock)
            server.answer(sock, body, server.stop)
        except OSError:
            pass  # the client gave up: that is what several tests want
        finally:
            server.spans.append(time.monotonic() - start)


def _read_request(sock: socket.socket) -> bytes:
    """The request's body (after its head), up to its Content-Length."""
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return b""
        data += piece
        assert len(data) < 1 << 20, "the request head is too long"
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return body


class HostileServer(socketserver.ThreadingTCPServer):
    """`with HostileServer(answer) as server:` serves at server.url; each
    connection's request body goes to answer(sock, body, stop), which writes
    what it likes. server.spans holds how long each connection lasted."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.spans: list[float] = []
        self.stop = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_address[1]}/chain"

    def __enter__(self):
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()
        self._thread.join(10)


# ------------------------------------------------------------ answers


def http_answer(
    body: bytes, content_type: str | None = NPZ, status: str = "200 OK", headers: tuple[str, ...] = ()
) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close", *headers]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def raw(data: bytes):
    """An answer that sends `data` and closes."""

    def answer(sock, body, stop):
        sock.sendall(data)

    return answer


def echo(sock, body, stop) -> None:
    """The good server: the request's arrays come back as the outputs."""
    sock.sendall(http_answer(body))


def reset_after(data: bytes):
    """Sends `data`, then resets the connection (RST, not FIN), most likely
    while the client waits for the rest."""

    def answer(sock, body, stop):
        sock.sendall(data)
        stop.wait(0.5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return answer


def trickle(sock, body, stop) -> None:
    """A valid beginning, one byte every 0.2 s, for as long as the client
    listens (or the test ends)."""
    sock.sendall(b"HTTP/1.1 200 OK\r\n")
    while not stop.is_set():
        sock.sendall(b"X")  # one endless header line, well under http.client's line limit per second
        time.sleep(0.2)


def endless_chunks(sock, body, stop) -> None:
    """A chunked answer that never ends: only a cap stops a client."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-npz\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % 65536 + b"\0" * 65536 + b"\r\n"
    while not stop.is_set():
        sock.sendall(chunk)


# ------------------------------------------------------------ bodies


def npz_of(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    """A zip of raw members, as np.savez writes them but with anything inside."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npy_header(descr: str, shape: tuple) -> bytes:
    """A .npy version 1.0 header claiming `shape`, with no data after it."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text
