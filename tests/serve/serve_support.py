# Helpers of the serving tests: ports no Ray process can take, `modelcut
# serve` in a subprocess, the processes a serve started and the TCP sockets
# they listen on, outputs compared bit for bit, and the addresses Ray wrote
# in its logs.
import ipaddress
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
from cli_support import cli_argv, cli_env

# Ray gives its servers and workers ports the kernel picks (bind to port 0:
# the ephemeral range, 32768-60999 here), or fixed ones below 20000 (6379,
# 8265, 10001) or at 52365. A port from between is one that no process of
# Ray can take while a test's serve starts.
_LOWEST_TEST_PORT = 20000
_given: set[int] = set()


def free_port() -> int:
    """A TCP port free on 127.0.0.1, never the same twice in a session."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
        ephemeral = int(ranges.read().split()[0])
    ports = [port for port in range(_LOWEST_TEST_PORT, ephemeral) if port not in _given]
    assert ports, f"no port between {_LOWEST_TEST_PORT} and the ephemeral range ({ephemeral}) is left"
    for port in random.Random().sample(ports, min(len(ports), 200)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise AssertionError(f"200 ports between {_LOWEST_TEST_PORT} and {ephemeral} are all taken")


def assert_equal_outputs(outputs, whole) -> None:
    assert sorted(outputs) == sorted(whole)
    for name, value in whole.items():
        assert outputs[name].dtype == value.dtype, name
        assert np.array_equal(outputs[name], value), (
            f"{name}: max diff {np.max(np.abs(outputs[name] - value))}"
        )


# ------------------------------------------------------------ processes


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _has_environment(pid: int, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return entry in environ.read().split(b"\0")
    except OSError:
        return False


def processes_of(root: int | None, ray_tmpdir: str | None = None) -> set[int]:
    """The running process `root` and its descendants, and every process
    whose environment has RAY_TMPDIR=ray_tmpdir (Ray passes it to all it
    starts, should one of them leave the tree)."""
    pids = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    children: dict[int, list[int]] = {}
    for pid in pids:
        children.setdefault(_parent(pid), []).append(pid)
    found = set()
    todo = [root] if root is not None and os.path.exists(f"/proc/{root}") else []
    if ray_tmpdir:
        marker = f"RAY_TMPDIR={ray_tmpdir}".encode()
        todo += [pid for pid in pids if pid != os.getpid() and _has_environment(pid, marker)]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


def _listening_by_inode() -> dict[str, tuple[str, int]]:
    """Every listening TCP socket of this machine, by inode, as (address, port)."""
    sockets = {}
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        with open(f"/proc/net/{table}") as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state != "0A":  # TCP_LISTEN
                    continue
                address, port = local.split(":")
                raw = bytes.fromhex(address)
                # /proc writes each 32-bit word in host (little-endian) order
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                sockets[inode] = (socket.inet_ntop(family, raw), int(port, 16))
    return sockets


def time_wait_on(port: int) -> bool:
    """Whether a TCP connection of local port `port` is in TIME_WAIT."""
    for table in ("tcp", "tcp6"):
        with open(f"/proc/net/{table}") as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                if fields[3] == "06" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


def listening_sockets(pids) -> dict[int, set[tuple[str, int]]]:
    """The (address, port) each of `pids` listens on, for those that listen."""
    sockets = _listening_by_inode()
    found: dict[int, set[tuple[str, int]]] = {}
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # ended meanwhile
        for descriptor in descriptors:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in sockets:
                found.setdefault(pid, set()).add(sockets[target[8:-1]])
    return found


def is_loopback(address: str) -> bool:
    """127.0.0.0/8, ::1, or an IPv4 loopback address written as IPv6."""
    parsed = ipaddress.ip_address(address)
    mapped = getattr(parsed, "ipv4_mapped", None)
    return (mapped or parsed).is_loopback


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def kill_processes(pids) -> None:
    """SIGKILL to each of `pids` (the processes of a test's own serve)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ------------------------------------------------------------- serving


def _read_line(stream, timeout_s: float) -> str:
    """One line from a subprocess's stream, or '' after timeout_s."""
    line = []
    reader = threading.Thread(target=lambda: line.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return line[0] if line else ""


class Serving:
    """`modelcut serve ARGS --json` in a subprocess of its own, with its own
    RAY_TMPDIR; `url` once it serves. Leaves no process behind. `argv`: the
    words that start modelcut (default: the chosen command, cli_argv());
    `cwd`: the folder it runs in (default: this one)."""

    def __init__(self, logs: str, *args: str, argv=None, cwd=None) -> None:
        env = {**cli_env(), "RAY_TMPDIR": logs, "PYTHONUNBUFFERED": "1"}
        env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)  # the command sees to loopback itself
        self.logs = logs
        self.process = subprocess.Popen(
            [*(argv or cli_argv()), "serve", *args, "--json"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pids: set[int] = set()
        self.status: int | None = None
        self.first_line = ""
        try:
            self.first_line = _read_line(self.process.stdout, 240)
            assert self.first_line, f"not serving after 240 s (exit status {self.process.poll()})"
            self.description = json.loads(self.first_line)
            self.url = self.description["url"]
        except BaseException:
            self.stop()
            raise

    def listening(self) -> dict[int, set[tuple[str, int]]]:
        self.pids = processes_of(self.process.pid, self.logs)
        return listening_sockets(self.pids)

    def stop(self) -> int:
        """SIGINT, as Ctrl-C, once; the exit status. Kills whatever remains."""
        if self.status is not None:
            return self.status
        try:
            self.process.send_signal(signal.SIGINT)
            self.status = self.process.wait(timeout=90)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.status = self.process.wait(timeout=30)
            self.stdout = self.first_line + self.process.stdout.read()
            self.stderr = self.process.stderr.read()
            kill_processes(processes_of(None, self.logs) | (self.pids - {os.getpid()}))
        return self.status


def ray_gone(logs: str, timeout_s: float = 30) -> bool:
    """Whether every process of the Ray instance under `logs` has ended."""
    deadline = time.monotonic() + timeout_s
    while processes_of(None, logs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


# ------------------------------------------------------------------ logs

_IPV4 = re.compile(rb"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def addresses_in_logs(folder) -> dict[str, str]:
    """Every IPv4 address other than 127.0.0.1 written under `folder` (Ray's
    logs), with a file it appears in."""
    found = {}
    for path in Path(folder).rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for match in _IPV4.findall(data):
            address = match.decode()
            if address != "127.0.0.1" and all(int(part) < 256 for part in address.split(".")):
                found.setdefault(address, str(path))
    return found
