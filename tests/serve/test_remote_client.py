# `modelcut run --remote` against servers that answer badly, slowly or
# endlessly (tests/serve/hostile_server.py, on 127.0.0.1, no Ray): every
# such answer ends in exit 2 and one line saying what was wrong with the
# server's answer, within the --timeout, having read no more than
# --max-answer, through both commands.
import time
import tracemalloc
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from cli_support import MLP_WITH_SKIP, run_cli, write_model
from hostile_server import (
    HostileServer,
    echo,
    endless_chunks,
    http_answer,
    npy_bytes,
    npy_header,
    npz_of,
    raw,
    reset_after,
    trickle,
)
from modelcut import _core
from modelcut.cli import main as cli_main
from modelcut.serve.client import Client
from modelcut.serve.wire import BadAnswer, encode_npz

GOOD_NPZ = encode_npz({"y": np.ones((1, 4), np.float32)})


def _twice() -> bytes:
    member = npy_bytes(np.ones(2, np.float32))
    body = npz_of({"y.npy": member, "z.npy": member})
    return body.replace(b"z.npy", b"y.npy")  # zipfile warns when writing two members of one name


ZEROS_64MIB = npz_of({"y.npy": npy_header("|u1", (64 << 20,)) + b"\0" * (64 << 20)}, zipfile.ZIP_DEFLATED)


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """The local part: a small ONNX model whose outputs go to the server."""
    return write_model(tmp_path_factory.mktemp("remote") / "mlp.onnx", MLP_WITH_SKIP)


def run_remote(head, url, *options):
    return run_cli("run", head, "--remote", url, *options, timeout=120, subprocess=True)


def run_remote_in_process(capsys, head, url, *options):
    """The Python command's main() in this process: the same code from the
    arguments to the exit code and the error line, without starting a Python
    (a subprocess per kind of bad answer, through both commands, cost
    minutes; the commands themselves are checked on a few kinds below)."""
    capsys.readouterr()
    code = cli_main(["run", str(head), "--remote", url, *map(str, options)])
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


def assert_bad_answer(done, url, *fragments):
    """Exit 2 and one line "modelcut: error: ..." naming the server's answer."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("modelcut: error: "), lines[0]
    assert "internal error" not in lines[0]
    assert "answer" in lines[0] and url in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_a_good_answer_is_printed(head, both_commands):
    with HostileServer(echo) as server:
        done = run_remote(head, server.url)
    assert done.returncode == 0, done.stderr
    assert f"to {server.url}" in done.stdout and "y: float32[" in done.stdout, done.stdout


# kind -> (the answer as the server sends it, a fragment of the error line)
MALFORMED = {
    "not HTTP": (raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), "is not HTTP"),
    "closed without an answer": (raw(b""), "closed the connection without answering"),
    "truncated body": (raw(http_answer(GOOD_NPZ)[:-100]), "ended early"),
    "reset mid-body": (reset_after(http_answer(GOOD_NPZ)[:-100]), "answer from"),
    "empty 200": (raw(http_answer(b"")), "not a readable .npz"),
    "wrong Content-Type": (
        raw(http_answer(GOOD_NPZ, "text/html")),
        "'text/html', not the .npz that was sent",
    ),
    "no Content-Type": (raw(http_answer(GOOD_NPZ, None)), "has no Content-Type, not the .npz that was sent"),
    "JSON to an .npz request": (raw(http_answer(b'{"y": [1]}', "application/json")), "not the .npz"),
    "body not npz": (raw(http_answer(b"PK\x03\x04 this is no zip")), "not a readable .npz"),
    "member not an array": (
        raw(http_answer(npz_of({"y.npy": npy_bytes(np.ones(2)), "notes.txt": b"hi"}))),
        "'notes.txt', which is not an array",
    ),
    "pickled object array": (
        raw(http_answer(npz_of({"y.npy": npy_bytes(np.array([{}]), True)}))),
        "only numbers and booleans",
    ),
    "strings": (
        raw(http_answer(npz_of({"y.npy": npy_bytes(np.array(["a" * 1000]))}))),
        "only numbers and booleans",
    ),
    "bad npy header": (
        raw(http_answer(npz_of({"y.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': nonsense}"}))),
        "not a readable .npz",
    ),
    "npy header of 60 KB": (
        raw(http_answer(npz_of({"y.npy": b"\x93NUMPY\x01\x00\x60\xea" + b" " * 60000}))),
        "header of 60000 bytes",
    ),
    "npy data short": (
        raw(http_answer(npz_of({"y.npy": npy_header("<f4", (1000,)) + b"\0" * 10}))),
        "ends after 10 of its 4000 bytes",
    ),
    "duplicate outputs": (raw(http_answer(_twice())), "holds the array 'y' twice"),
    "no outputs": (raw(http_answer(encode_npz({}))), "holds no outputs"),
    "chunked encoding broken": (
        raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-npz\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        ),
        "ended early",
    ),
    "huge header line": (
        raw(b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * 70000 + b"\r\n\r\n"),
        "a line longer than",
    ),
    "100 headers": (raw(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 101 + b"\r\n"), "more than 100 headers"),
    "Content-Length not a size": (raw(b"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n"), "not a size"),
    "status 204": (raw(b"HTTP/1.1 204 No Content\r\n\r\n"), "has status 204"),
    "redirect elsewhere": (
        raw(http_answer(b"", None, "302 Found", ("Location: http://example.com/steal",))),
        "is a redirect (302 Found) to 'http://example.com/steal'; modelcut follows no redirects",
    ),
    "500 with HTML": (
        raw(http_answer(b"<html>\n<body>oops</body></html>", "text/html", "500 Internal Server Error")),
        "answered 500 Internal Server Error (with 'text/html', not an error line)",
    ),
    "400 with escapes": (
        raw(http_answer(b"no \x1b[31mred\x1b[0m here\nsecond line", "text/plain", "400 Bad")),
        "answered 400: no \\x1b[31mred\\x1b[0m here",
    ),
    "npz bomb": (raw(http_answer(ZEROS_64MIB)), "unpacks to 67108864 bytes, more than the limit of 1048576"),
    "Content-Length over the cap": (
        raw(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000000000\r\n\r\n"),
        "has 3000000000000 bytes, more than the limit of 1048576",
    ),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_answer_is_one_line_and_exit_2(head, kind, capsys):
    answer, fragment = MALFORMED[kind]
    with HostileServer(answer) as server:
        done = run_remote_in_process(capsys, head, server.url, "--max-answer", "1MiB", "--timeout", "60s")
    assert_bad_answer(done, server.url, fragment)


@pytest.mark.parametrize("kind", ["not HTTP", "npz bomb", "pickled object array"])
def test_a_malformed_answer_through_the_commands(head, kind, both_commands):
    answer, fragment = MALFORMED[kind]
    with HostileServer(answer) as server:
        done = run_remote(head, server.url, "--max-answer", "1MiB", "--timeout", "60s")
    assert_bad_answer(done, server.url, fragment)


def test_a_trickling_server_is_cut_off_at_the_deadline(head, both_commands):
    # One byte every 0.2 s: a timeout per read never fires, the deadline does.
    with HostileServer(trickle) as server:
        start = time.monotonic()
        done = run_remote(head, server.url, "--timeout", "1s")
        took = time.monotonic() - start
    assert_bad_answer(done, server.url, "did not answer within 1 s")
    # The exchange itself (the server's side of the connection) ended at the
    # deadline; without one, it would have lasted until the test's end.
    assert len(server.spans) == 1 and server.spans[0] < 1 + 5, server.spans
    assert took < 60, took


def test_an_endless_answer_stops_at_the_cap(head, both_commands):
    with HostileServer(endless_chunks) as server:
        done = run_remote(head, server.url, "--max-answer", "1MiB")
    assert_bad_answer(done, server.url, "has more than the limit of 1048576 bytes")


@pytest.mark.parametrize(
    "answer", [endless_chunks, raw(http_answer(ZEROS_64MIB))], ids=["endless", "npz bomb"]
)
def test_memory_stays_within_the_cap(answer):
    # The Python API, where allocations can be counted (numpy's included):
    # an endless answer and a 64 KiB .npz that inflates to 64 MiB both end in
    # BadAnswer having held about the cap, not what the server offered.
    cap = 1 << 20
    with HostileServer(answer) as server:
        client = Client(server.url, timeout_s=60, max_answer_bytes=cap)
        tracemalloc.start()
        try:
            with pytest.raises(BadAnswer, match="more than the"):
                client.exchange({"x": np.ones((1, 4), np.float32)})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 3 * cap + (2 << 20), peak  # the body, its copy for zipfile, one chunk being read


@pytest.mark.parametrize(
    "options, message",
    [
        (("--timeout", "0s"), "--timeout of 0 s is out of range"),
        (("--timeout", "1e300s"), "--timeout of 1e+300 s is out of range"),
        (("--timeout", "soon"), "--timeout 'soon' is not a duration"),
        (("--max-answer", "0"), "--max-answer of 0 bytes is out of range"),
        (("--max-answer", "1TiB"), "out of range: give 1 byte to 64GiB"),
        (("--max-answer", "lots"), "--max-answer 'lots' is not a size"),
    ],
)
def test_bad_limits_are_refused(head, options, message, both_commands):
    done = run_remote(head, "http://127.0.0.1:9/", *options)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://127.0.0.1/", "is not an http:// or https:// URL"),
        ("http://127.0.0.1:99999/", "is not a URL"),
        ("http:///chain", "names no host"),
        ("http://127.0.0.1/a b", "spaces or control characters"),
    ],
)
def test_bad_urls_are_refused(url, message):
    with pytest.raises(_core.Error, match=message):
        Client(url)
