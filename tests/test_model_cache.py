# The test model cache (tests/model_cache.py) as the fixtures use it: two
# processes asking for one entry at once build it once; a build killed half
# way leaves nothing that is taken for an entry; a changed entry is named
# and built again; editing a builder's source gives another entry; off
# builds every time.
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import model_cache
import pytest

TESTS = Path(__file__).resolve().parent

# A builder that counts its builds in BUILDS, takes SLEEP seconds, and
# writes a model file with an external data file beside it.
CLIENT = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    import model_cache

    def build(path):
        with open(os.environ["BUILDS"], "a") as builds:
            builds.write("built\\n")
        path.with_suffix(".onnx.data").write_bytes(b"weights")
        time.sleep(float(os.environ["SLEEP"]))
        path.write_bytes(b"model")

    print(model_cache.model_file("tiny", "tiny.onnx", build, sources=[sys.argv[2]]))
    """
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCUT_TEST_CACHE", str(tmp_path / "cache"))
    builder = tmp_path / "builder.py"
    builder.write_text("# the builder's source\n")
    script = tmp_path / "client.py"
    script.write_text(CLIENT)

    def start(sleep=0.0):
        environment = dict(os.environ, BUILDS=str(tmp_path / "builds"), SLEEP=str(sleep))
        return subprocess.Popen(
            [sys.executable, str(script), str(TESTS), str(builder)],
            env=environment,
            stdout=subprocess.PIPE,
            text=True,
        )

    return tmp_path, builder, start


def builds(folder: Path) -> int:
    return len((folder / "builds").read_text().splitlines()) if (folder / "builds").exists() else 0


def test_two_processes_build_an_entry_once(cache):
    folder, _, start = cache
    first, second = start(sleep=2), start(sleep=2)
    paths = {first.communicate(timeout=60)[0].strip(), second.communicate(timeout=60)[0].strip()}
    assert first.returncode == second.returncode == 0
    (path,) = paths
    assert builds(folder) == 1
    assert Path(path).read_bytes() == b"model"
    assert Path(path + ".data").read_bytes() == b"weights"
    assert start().communicate(timeout=60)[0].strip() == path and builds(folder) == 1


def test_a_killed_build_leaves_no_entry(cache):
    folder, _, start = cache
    killed = start(sleep=30)
    while builds(folder) == 0:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    root = folder / "cache"
    assert [entry.name for entry in root.iterdir() if not entry.name.startswith(".")] == []
    path = start().communicate(timeout=60)[0].strip()
    assert Path(path).read_bytes() == b"model" and builds(folder) == 2
    assert [entry.name for entry in root.iterdir() if entry.name.startswith(".tmp-")] == []


def test_a_changed_entry_is_named_and_built_again(cache, monkeypatch):
    folder, builder, start = cache
    path = Path(start().communicate(timeout=60)[0].strip())
    entry = path.parent
    (entry / "beside.onnx").write_bytes(b"a part written beside the model")
    monkeypatch.setattr(model_cache, "_found", {})  # this session's own entries stay checked
    with pytest.warns(UserWarning, match="beside.onnx was added"):
        again = model_cache.model_file(
            "tiny", "tiny.onnx", lambda path: path.write_bytes(b"model"), sources=[builder]
        )
    assert again == path and not (entry / "beside.onnx").exists()
    path.write_bytes(b"changed")
    assert model_cache.changed_entries() == [f"{entry}: tiny.onnx was modified"]


def test_an_edited_builder_is_another_entry(cache):
    folder, builder, start = cache
    first = start().communicate(timeout=60)[0].strip()
    builder.write_text("# the builder's source, edited\n")
    second = start().communicate(timeout=60)[0].strip()
    assert first != second and builds(folder) == 2


def test_off_builds_every_time(cache, monkeypatch):
    folder, _, start = cache
    monkeypatch.setenv("MODELCUT_TEST_CACHE", "off")
    first, second = (start().communicate(timeout=60)[0].strip() for _ in range(2))
    assert builds(folder) == 2
    assert not (folder / "cache").exists()
    assert not Path(first).exists() and not Path(second).exists()  # removed when the process ended
