# Helpers of the serving tests.
import re
import socket
from pathlib import Path

import numpy as np


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_equal_outputs(outputs, whole) -> None:
    assert sorted(outputs) == sorted(whole)
    for name, value in whole.items():
        assert outputs[name].dtype == value.dtype, name
        assert np.array_equal(outputs[name], value), f"{name}: max diff {np.max(np.abs(outputs[name] - value))}"


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
