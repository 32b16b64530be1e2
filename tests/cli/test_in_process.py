# in_process.run_module, which runs the Python command in the test process,
# against `python -m` in a new process: a small command that writes from
# Python and from C, warns, logs, exits in each way a process can, and
# changes the process's settings, which must all be as before afterwards.
import logging
import os
import signal
import subprocess
import sys
import warnings

import pytest
from in_process import run_module

COMMAND = """\
import ctypes, logging, os, signal, sys, warnings

def main():
    how = sys.argv[1]
    print("argv[0]:", os.path.basename(sys.argv[0]), "cwd:", os.path.basename(os.getcwd()))
    print("stdin:", repr(sys.stdin.read()), "tty:", sys.stdout.isatty(), "env:", os.environ.get("CHOSEN"))
    sys.stdout.flush()
    ctypes.CDLL(None).printf(b"from C\\n")
    os.write(2, b"to descriptor 2\\n")
    os.environ["SET_BY_COMMAND"] = "1"
    os.environ.pop("CHOSEN", None)
    signal.signal(signal.SIGTERM, lambda *_: None)
    logging.getLogger("tensorflow").setLevel(logging.CRITICAL)
    logging.getLogger("chatty").warning("a logged warning")
    warnings.warn("a warning")
    warnings.warn("hidden", DeprecationWarning)
    if how == "returns 3":
        return 3
    if how == "exits with a text":
        sys.exit("bye")
    if how == "exits with 258":
        sys.exit(258)
    if how == "raises":
        raise GeneratorExit("not caught")
    return None

if __name__ == "__main__":
    sys.exit(main())
"""


@pytest.fixture
def cli_command():
    """Once: these runs are neither of the two commands of tests/cli (conftest.py)."""
    return "python"


def settings() -> tuple:
    return (
        dict(os.environ),
        os.getcwd(),
        list(sys.argv),
        list(sys.path),
        signal.getsignal(signal.SIGTERM),
        logging.getLogger("tensorflow").level,
        logging.getLogger().handlers[:],
        list(warnings.filters),
    )


@pytest.mark.parametrize(
    "how", ["returns 3", "returns None", "exits with a text", "exits with 258", "raises"]
)
def test_the_same_as_a_process(tmp_path, how):
    (tmp_path / "fake_command.py").write_text(COMMAND)
    folder = tmp_path / "here"
    folder.mkdir()
    env = {**os.environ, "CHOSEN": "yes", "PYTHONPATH": str(tmp_path)}
    sys.path.insert(0, str(tmp_path))
    try:
        before = settings()
        inside = run_module("fake_command", [how], cwd=folder, env=env)
        assert settings() == before
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fake_command", None)
    process = subprocess.run(
        [sys.executable, "-m", "fake_command", how],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert inside.returncode == process.returncode, (inside, process)
    assert inside.stdout == process.stdout
    if how == "raises":  # the same traceback but for the frames that ran the command
        assert inside.stderr.startswith("to descriptor 2\na logged warning\n"), inside.stderr
        assert "Traceback (most recent call last):" in inside.stderr
        assert (
            inside.stderr.splitlines()[-1] == process.stderr.splitlines()[-1] == "GeneratorExit: not caught"
        )
    else:
        assert inside.stderr == process.stderr
