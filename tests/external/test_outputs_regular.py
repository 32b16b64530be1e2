# Outputs are only ever regular files and folders: --force replaces a regular
# file, or a folder holding only regular files and folders, and nothing else.
# A FIFO, a unix socket or a symbolic link (here to /dev/null) at the output
# path, or inside a folder being replaced, is refused with one line naming the
# path and what it is, exit 2; it is left as it was and no temporary file is
# left behind. Each command that writes, through both commands, and the API.
import os
import re
import socket
import stat
import tempfile

import modelcut
import numpy as np
import onnx
import pytest
from cli_support import run_cli
from external_support import mlp_with_skip

KINDS = {
    "fifo": ("a named pipe (FIFO)", stat.S_ISFIFO),
    "socket": ("a socket", stat.S_ISSOCK),
    "link to /dev/null": ("a symbolic link", stat.S_ISLNK),
    "link to a file": ("a symbolic link", stat.S_ISLNK),
    "link to a folder": ("a symbolic link", stat.S_ISLNK),
}


def make_special(path, kind: str) -> None:
    """Puts a `kind` (a key of KINDS) at `path`."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        # A unix socket's path is limited to ~108 bytes: bound in a short
        # folder, then moved (the socket file stays a socket).
        short = tempfile.mkdtemp(prefix="mc-", dir="/tmp")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(os.path.join(short, "s"))
        finally:
            server.close()
        os.rename(os.path.join(short, "s"), path)
        os.rmdir(short)
    elif kind == "link to /dev/null":
        os.symlink("/dev/null", path)
    elif kind == "link to a file":
        target = os.path.join(os.path.dirname(path), "elsewhere.txt")
        with open(target, "w") as file:
            file.write("not an output")
        os.symlink(target, path)
    else:
        target = os.path.join(os.path.dirname(path), "elsewhere")
        os.mkdir(target)
        with open(os.path.join(target, "keep.txt"), "w") as file:
            file.write("not an output")
        os.symlink(target, path)


def state(folder) -> dict:
    """Every entry under `folder`: its type, where a link points, a file's bytes."""
    entries = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                entries[os.path.relpath(path, folder)] = ("link", os.readlink(path))
            elif stat.S_ISREG(mode):
                with open(path, "rb") as file:
                    entries[os.path.relpath(path, folder)] = ("file", file.read())
            else:
                entries[os.path.relpath(path, folder)] = (stat.S_IFMT(mode),)
    return entries


def assert_refused(result, path, kind: str):
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelcut: error: "), result.stderr
    described, _ = KINDS[kind]
    assert f"'{path}' is {described}; modelcut only replaces regular files and folders" in lines[0], lines[0]


def assert_untouched(path, kind: str, before: dict, folder) -> None:
    _, is_kind = KINDS[kind]
    assert is_kind(os.lstat(path).st_mode)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert state(folder) == before  # the same entries: no temporary file left behind either


@pytest.fixture
def model(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "mlp.onnx"
    onnx.save_model(mlp_with_skip(), path)
    return path


@pytest.fixture
def profile_file(model, tmp_path):
    """A real profile of `model`, recorded once with one run."""
    path = tmp_path / "model" / "times.json"
    modelcut.profile(model, runs=1, warmup=0, output=path)
    return path


@pytest.mark.usefixtures("both_commands")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "command", ["split", "merge", "plan --split", "plan --plot", "profile", "run --save"]
)
def test_force_never_replaces_anything_but_files_and_folders(model, tmp_path, command, kind):
    parts = []
    if command in ("merge", "run --save"):
        split = run_cli("split", model, "--at", "fc2/Relu", "-o", tmp_path / "parts", "-q")
        assert split.returncode == 0, split.stderr
        parts = split.stdout.split()
    suffixes = {"plan --plot": ".png", "run --save": ".npz", "profile": ".json", "merge": ".onnx"}
    suffix = suffixes.get(command, "")
    target = tmp_path / ("out" + suffix)
    make_special(target, kind)
    before = state(tmp_path)
    if command == "split":
        result = run_cli("split", model, "--at", "fc2/Relu", "-o", target, "--force")
    elif command == "merge":
        result = run_cli("merge", *parts, "-o", target, "--force")
    elif command == "plan --split":
        result = run_cli("plan", model, "--stages", "2", "--split", target, "--force")
    elif command == "plan --plot":
        result = run_cli("plan", model, "--stages", "2", "--plot", target, "--force")
    elif command == "profile":
        result = run_cli("profile", model, "--runs", "1", "--warmup", "0", "-o", target, "--force")
    else:
        feeds = tmp_path / "feeds.npz"
        np.savez(feeds, x=np.ones((1, 64), np.float32))
        before = state(tmp_path)
        result = run_cli("run", *parts, "--inputs", feeds, "--save", target)
    assert_refused(result, target, kind)
    assert_untouched(target, kind, before, tmp_path)


@pytest.mark.usefixtures("both_commands")
@pytest.mark.parametrize("kind", ["fifo", "socket", "link to /dev/null"])
@pytest.mark.parametrize("command", ["split", "plan --split"])
def test_force_never_replaces_a_folder_holding_anything_else(model, tmp_path, command, kind):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "old.onnx").write_text("an old part")
    special = out / "sub" / "special"
    make_special(special, kind)
    before = state(tmp_path)
    if command == "split":
        result = run_cli("split", model, "--at", "fc2/Relu", "-o", out, "--force")
    else:
        result = run_cli("plan", model, "--stages", "2", "--split", out, "--force")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    described, _ = KINDS[kind]
    expected = f"holds '{special}', {described}; modelcut only replaces regular"
    assert len(lines) == 1 and expected in lines[0], lines
    assert_untouched(special, kind, before, tmp_path)


@pytest.mark.usefixtures("both_commands")
@pytest.mark.parametrize("command", ["merge", "split"])
def test_force_never_replaces_a_device(model, tmp_path, command):
    """The case that was seen: run as root, `merge ... -o /dev/null --force`
    replaced the machine's /dev/null with a regular file. Here the device is
    a node of our own, the same character device (1, 3); CI runs as root."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root (CI runs as root)")
    split = run_cli("split", model, "--at", "fc2/Relu", "-o", tmp_path / "parts", "-q")
    assert split.returncode == 0, split.stderr
    target = tmp_path / "null"
    os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    before = state(tmp_path)
    if command == "merge":
        result = run_cli("merge", *split.stdout.split(), "-o", target, "--force")
    else:
        result = run_cli("split", model, "--at", "fc2/Relu", "-o", target, "--force")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"modelcut: error: the output '{target}' is a character device; modelcut only replaces regular files "
        "and folders"
    ]
    assert stat.S_ISCHR(os.lstat(target).st_mode)
    assert state(tmp_path) == before


@pytest.mark.usefixtures("both_commands")
def test_force_still_replaces_a_file_and_a_folder_of_files(model, tmp_path):
    """What --force may replace, it replaces, in place of a link's target never."""
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "old.onnx").write_text("an old part")
    result = run_cli("split", model, "--at", "fc2/Relu", "-o", out, "--force", "-q")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out)) == ["mlp.part1.onnx", "mlp.part2.onnx"]
    merged = tmp_path / "merged.onnx"
    merged.write_text("an old merge")
    result = run_cli("merge", out / "mlp.part1.onnx", out / "mlp.part2.onnx", "-o", merged, "--force")
    assert result.returncode == 0, result.stderr
    onnx.checker.check_model(onnx.load(merged))
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".modelcut-")]


@pytest.mark.usefixtures("both_commands")
def test_without_force_a_special_file_is_named_as_such(model, tmp_path):
    """Not "exists, pass --force": --force would not replace it either."""
    target = tmp_path / "out"
    os.mkfifo(target)
    assert_refused(run_cli("split", model, "--at", "fc2/Relu", "-o", target), target, "fifo")
    assert stat.S_ISFIFO(os.lstat(target).st_mode)


@pytest.mark.parametrize("kind", ["fifo", "socket", "link to /dev/null"])
def test_python_api(model, tmp_path, kind):
    """modelcut.split, merge, profile and a plan's split and plot refuse alike."""
    result = modelcut.split(model, at=["fc2/Relu"], output_dir=tmp_path / "parts")
    targets = {name: tmp_path / name for name in ("split", "merged.onnx", "times.json", "plan", "plot.png")}
    for target in targets.values():
        make_special(target, kind)
    before = state(tmp_path)
    plan = modelcut.plan(model, stages=2)
    calls = {
        "split": lambda: modelcut.split(model, at=["fc2/Relu"], output_dir=targets["split"], overwrite=True),
        "merged.onnx": lambda: modelcut.merge(result.paths, targets["merged.onnx"], overwrite=True),
        "times.json": lambda: modelcut.profile(
            model, runs=1, warmup=0, output=targets["times.json"], overwrite=True
        ),
        "plan": lambda: plan.split(targets["plan"], overwrite=True),
        "plot.png": lambda: plan.plot(targets["plot.png"], overwrite=True),
    }
    described, _ = KINDS[kind]
    for name, call in calls.items():
        expected = re.escape(f"is {described}; modelcut only replaces regular files")
        with pytest.raises(modelcut.Error, match=expected):
            call()
        assert_untouched(targets[name], kind, before, tmp_path)


def test_a_planted_temporary_name_is_never_written_through(model, tmp_path):
    """A link planted under the name the temporary file would take is left
    alone: the temporary file is created anew (O_EXCL | O_NOFOLLOW)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    parts = modelcut.split(model, at=["fc2/Relu"], output_dir=tmp_path / "parts").paths
    # The names the writers try first, for this process's id.
    os.symlink(victim, tmp_path / f".modelcut-{os.getpid()}-merged.onnx")
    modelcut.merge(parts, tmp_path / "merged.onnx")
    assert victim.read_text() == "keep"
    onnx.checker.check_model(onnx.load(tmp_path / "merged.onnx"))
