# `modelcut serve` and `modelcut run --remote` as a user runs them: the
# command starts its own Ray on this machine (on 127.0.0.1), serves until
# SIGINT and stops cleanly; wrong parts and wrong options are refused with
# one line before Ray starts.
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest
from cli_support import run_cli
from http_support import request
from serve_support import addresses_in_logs, assert_equal_outputs, free_port

from modelcut.serve.wire import decode_response, encode_npz


def test_help_explains_every_option():
    done = run_cli("serve", "--help")
    assert done.returncode == 0
    for option in ("--replicas", "--stage-resources", "--max-batch-size", "--batch-wait", "--threads",
                   "--noise", "--intervene", "--address", "--host", "--port", "--route", "--timeout",
                   "--config", "--shared-files", "ray start --head", "X-Modelcut-Timing"):
        assert option in done.stdout, option


@pytest.mark.parametrize("case", ["not a chain", "replicas", "stage", "resource", "config key", "missing part",
                                  "intervene", "batch"])
def test_bad_settings_are_refused_before_ray_starts(chain, tmp_path, case):
    parts = chain.parts
    config = tmp_path / "serve.yaml"
    config.write_text("stages:\n  - {replicas: 2, colour: red}\n")
    args, expected = {
        "not a chain": ([parts[0], parts[2]], "the parts do not chain: part 2 (resnet.part3.onnx) input"),
        "replicas": ([*parts, "--replicas", "1,0,1"], "--replicas '1,0,1': '0' is not a whole number >= 1"),
        "stage": ([*parts, "--stage-resources", "4:node_a=1"], "'4' is not a stage number (1-3) or 'all'"),
        "resource": ([*parts, "--stage-resources", "1:node_a"], "'node_a' is not NAME=AMOUNT"),
        "config key": ([*parts, "--config", str(config)], "stages[0]: unknown setting(s) ['colour']"),
        "missing part": ([parts[0], str(tmp_path / "none.onnx")], "none.onnx"),
        "intervene": ([*parts, "--intervene", "no_such_module:f"], "cannot load no_such_module"),
        "batch": ([*parts, "--batch-wait", "soon"], "--batch-wait 'soon' is not a duration"),
    }[case]
    done = run_cli("serve", *args, "--port", str(free_port()))
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr, done.stderr
    assert "starting Ray" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def _read_line(stream, timeout_s: float) -> str:
    """One line from a subprocess's stream, or '' after timeout_s."""
    line = []
    reader = threading.Thread(target=lambda: line.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return line[0] if line else ""


def test_serve_from_the_command_line(chain, tmp_path):
    port = free_port()
    logs = tempfile.mkdtemp(prefix="mccli", dir="/tmp")  # short: Ray's socket paths live under it
    env = {**os.environ, "RAY_TMPDIR": logs, "PYTHONUNBUFFERED": "1"}
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)  # the command sees to loopback itself
    command = [sys.executable, "-m", "modelcut.cli", "serve", *chain.parts, "--port", str(port), "--json",
               "--replicas", "1,2,1"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                              stdin=subprocess.DEVNULL)
    try:
        line = _read_line(server.stdout, 240)
        assert line, f"not serving after 240 s: {server.poll()} {server.stderr.read() if server.poll() else ''}"
        served = json.loads(line)
        assert served["url"] == f"http://127.0.0.1:{port}/"
        assert [stage["replicas"] for stage in served["stages"]] == [1, 2, 1]
        status, headers, body = request(served["url"], encode_npz(chain.feeds))
        assert status == 200, body
        assert_equal_outputs(decode_response(body, headers["content-type"], 1 << 30), chain.whole)

        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0
        errors = server.stderr.read()
        assert "modelcut serve: starting Ray on this machine" in errors and "stopping" in errors
        with pytest.raises(OSError):
            request(served["url"])  # nothing listens any more
        assert addresses_in_logs(logs) == {}
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
        subprocess.run(["pkill", "-f", logs], check=False)
        import shutil

        shutil.rmtree(logs, ignore_errors=True)


def test_a_port_in_use_is_refused(chain):
    import socket

    logs = tempfile.mkdtemp(prefix="mcport", dir="/tmp")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "RAY_TMPDIR": logs}
        done = subprocess.run([sys.executable, "-m", "modelcut.cli", "serve", chain.parts[0], "--port", str(port)],
                              capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=240)
    subprocess.run(["pkill", "-f", logs], check=False)
    import shutil

    shutil.rmtree(logs, ignore_errors=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (f"modelcut: error: cannot listen on 127.0.0.1:{port} "
                                            "(Address already in use); choose another --port")
