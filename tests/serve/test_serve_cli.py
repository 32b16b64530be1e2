# `modelcut serve` as a user runs it: the command starts its own Ray on
# this machine, where every process it starts listens on 127.0.0.1 only,
# serves until SIGINT, stops cleanly and can be started again on the same
# port at once; stdout carries modelcut's lines only. Wrong parts, wrong
# options and a taken port are refused with one line before Ray starts.
import http.client
import os
from urllib.parse import urlsplit

import modelcut
import pytest
from cli_support import run_cli, use_command
from http_support import request
from modelcut.serve.wire import decode_response, encode_npz
from serve_support import (
    Serving,
    addresses_in_logs,
    assert_equal_outputs,
    command_line,
    free_port,
    is_loopback,
    processes_of,
    ray_gone,
    time_wait_on,
)


def test_help_explains_every_option():
    done = run_cli("serve", "--help")
    assert done.returncode == 0
    for option in (
        "--replicas",
        "--stage-resources",
        "--max-batch-size",
        "--batch-wait",
        "--threads",
        "--noise",
        "--intervene",
        "--address",
        "--host",
        "--port",
        "--route",
        "--timeout",
        "--config",
        "--shared-files",
        "ray start --head",
        "X-Modelcut-Timing",
        "--verbose",
        "listens on 127.0.0.1",
    ):
        assert option in done.stdout, option


@pytest.mark.parametrize(
    "case",
    [
        "not a chain",
        "replicas",
        "stage",
        "resource",
        "config key",
        "config size",
        "missing part",
        "intervene",
        "batch",
    ],
)
def test_bad_settings_are_refused_before_ray_starts(chain, tmp_path, case):
    parts = chain.parts
    config = tmp_path / "serve.yaml"
    config.write_text("stages:\n  - {replicas: 2, colour: red}\n")
    huge = tmp_path / "huge.yaml"
    huge.write_text("# padding\n" * 200_000)  # 2 MB of comments: not a config, however it parses
    args, expected = {
        "not a chain": ([parts[0], parts[2]], "the parts do not chain: part 2 (resnet.part3.onnx) input"),
        "replicas": ([*parts, "--replicas", "1,0,1"], "--replicas '1,0,1': '0' is not a whole number >= 1"),
        "stage": ([*parts, "--stage-resources", "4:node_a=1"], "'4' is not a stage number (1-3) or 'all'"),
        "resource": ([*parts, "--stage-resources", "1:node_a"], "'node_a' is not NAME=AMOUNT"),
        "config key": ([*parts, "--config", str(config)], "stages[0]: unknown setting(s) ['colour']"),
        "config size": ([*parts, "--config", str(huge)], "is larger than 1024 KiB"),
        "missing part": ([parts[0], str(tmp_path / "none.onnx")], "none.onnx"),
        "intervene": ([*parts, "--intervene", "no_such_module:f"], "cannot load no_such_module"),
        "batch": ([*parts, "--batch-wait", "soon"], "--batch-wait 'soon' is not a duration"),
    }[case]
    # A process of its own: the refusal comes before Ray starts or logs a line,
    # which only a new process shows (this one may have Ray loaded).
    done = run_cli("serve", *args, "--port", str(free_port()), subprocess=True)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr, done.stderr
    assert "starting Ray" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_serve_from_the_command_line(chain, ray_logs):
    port = free_port()
    served = Serving(ray_logs, *chain.parts, "--port", str(port), "--replicas", "1,2,1")
    connection = None
    try:
        assert served.url == f"http://127.0.0.1:{port}/"
        assert [stage["replicas"] for stage in served.description["stages"]] == [1, 2, 1]

        # every server of every process it started listens on loopback only
        listening = served.listening()
        assert ("127.0.0.1", port) in set().union(*listening.values()), listening
        names = " ".join(command_line(pid) for pid in listening)
        assert names.count("ServeReplica:modelcut:") == 5, names  # ingress and 1 + 2 + 1 stage replicas
        exposed = {
            command_line(pid): sorted(sockets)
            for pid, sockets in listening.items()
            if not all(is_loopback(address) for address, _ in sockets)
        }
        assert exposed == {}

        # a connection kept open across Ctrl-C: the server closes first, so
        # the port is left in TIME_WAIT, as after a browser's or curl's use
        address = urlsplit(served.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        connection.request("POST", "/", encode_npz(chain.feeds), {"Content-Type": "application/x-npz"})
        answer = connection.getresponse()
        body = answer.read()
        assert answer.status == 200, body
        assert_equal_outputs(decode_response(body, answer.getheader("content-type"), 1 << 30), chain.whole)
        assert served.stop() == 0, served.stderr
    finally:
        served.stop()
        if connection is not None:
            connection.close()

    # stdout: the JSON line, nothing of Ray's; stderr: modelcut's progress only
    assert served.stdout.splitlines() == [served.first_line.strip()], served.stdout
    assert "\x1b" not in served.stdout + served.stderr
    lines = served.stderr.splitlines()
    assert lines[0].startswith("modelcut serve: starting Ray on this machine ("), lines[0]
    assert lines[-1] == "modelcut serve: stopping"
    assert all(line.startswith("modelcut serve: ") for line in lines), served.stderr
    with pytest.raises(OSError):
        request(served.url)  # nothing listens any more
    assert addresses_in_logs(ray_logs) == {}
    assert ray_gone(ray_logs), [command_line(pid) for pid in processes_of(None, ray_logs)]

    # started again at once on the same port, now by the native command,
    # with -v: Ray's own lines on stderr, still none on stdout
    assert time_wait_on(port), "the test meant to leave the port in TIME_WAIT"
    use_command("native")
    try:
        again = Serving(ray_logs, chain.parts[2], "--port", str(port), "-v")
    finally:
        use_command("python")
    try:
        assert again.url == served.url
        boundary = modelcut.run_chain(chain.parts[:2], chain.feeds)
        status, headers, body = request(again.url, encode_npz(boundary))
        assert status == 200, body
        assert_equal_outputs(decode_response(body, headers["content-type"], 1 << 30), chain.whole)
        assert again.stop() == 0, again.stderr
    finally:
        again.stop()
    assert again.stdout.splitlines() == [again.first_line.strip()], again.stdout
    assert any(not line.startswith("modelcut serve: ") for line in again.stderr.splitlines()), again.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_a_port_in_use_is_refused_before_ray_starts(chain, ray_logs, both_commands, host, monkeypatch):
    import socket

    monkeypatch.setenv("RAY_TMPDIR", ray_logs)
    with socket.socket() as taken:
        taken.bind((host, 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(
            "serve", chain.parts[0], "--port", str(port), "--host", "127.0.0.1", timeout=120, subprocess=True
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"modelcut: error: cannot listen on 127.0.0.1:{port} (Address already in use); choose another --port"
    ]
    assert os.listdir(ray_logs) == []
