"""Test models exported once per machine: an on-disk cache shared by every test run.

Exporting with the real exporters (torch.onnx, tf2onnx, Keras, TensorFlow) is
most of what the model fixtures cost. An entry is a folder built once by a
fixture's builder and then reused by later runs, by other clones of the
repository and by pytest-xdist's workers. It is named by a hash of everything
that decides its bytes: the builder's source files, the model's name and
parameters, the versions of the frameworks and exporters, and Python's.

Where: $MODELCUT_TEST_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/modelcut/test-models;
MODELCUT_TEST_CACHE=off builds every model afresh, once per process, in a
temporary folder removed at exit.

Safe to share: an entry is built in a temporary folder inside the cache and
renamed into place, so the rename is the commit point and a killed build
leaves no entry (its temporary folder is removed by the next build of the
key); a lock file per key makes a second process wait for the first one's
build and then take its result. Entries belong to the cache: a test reads
them and writes nowhere inside them (one that must change a model copies it
first). Each entry records the size and modification time of its files; a
changed entry is rebuilt when next looked up, and `changed_entries()` names
the entries this process used that changed since (tests/conftest.py fails
the session on them). Entries nobody used for PRUNE_DAYS days are removed.
"""

from __future__ import annotations

import atexit
import fcntl
import functools
import hashlib
import importlib.metadata
import inspect
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

# Part of every key: raise it when what an entry holds changes meaning.
FORMAT = "modelcut-test-models 1"
PRUNE_DAYS = 14
MANIFEST = ".manifest.json"
DISABLED = ("off", "0", "no", "false")

# The frameworks and exporters whose versions are part of every key, each
# under the names it is published as. NB: one set for every entry, simpler
# than knowing what each builder imports; an upgrade of any of them builds
# every entry again. Versions come from the installed metadata, so that no
# framework is imported to compute a key.
DISTRIBUTIONS = (
    ("torch",),
    ("torchvision",),
    ("timm",),
    ("transformers",),
    ("onnx",),
    ("onnxruntime", "onnxruntime-gpu"),
    ("onnxscript",),
    ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tf-nightly"),
    ("keras",),
    ("tf-keras",),
    ("tf2onnx",),
    ("h5py",),
    ("numpy",),
    ("protobuf",),
    ("ml-dtypes",),
    ("scikit-learn",),
)

_found: dict[str, Path] = {}  # key -> entry folder, looked up in this process
_file_hashes: dict[Path, str] = {}
_scratch: list[Path] = []  # the folder of models built with the cache off


def cache_root() -> Path | None:
    """The cache folder, or None when MODELCUT_TEST_CACHE turns the cache off."""
    setting = os.environ.get("MODELCUT_TEST_CACHE", "")
    if setting.strip().lower() in DISABLED:
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "modelcut" / "test-models"


def model_file(
    name: str,
    file_name: str,
    build: Callable[[Path], object],
    *,
    sources: Iterable[ModuleType | Callable | str | os.PathLike],
) -> Path:
    """The path of `file_name` in the entry `name`, which `build(path)` writes
    (with any files beside it that it needs, such as external data)."""
    return entry(name, lambda folder: build(folder / file_name), sources=sources) / file_name


def entry(
    name: str,
    build: Callable[[Path], object],
    *,
    sources: Iterable[ModuleType | Callable | str | os.PathLike],
) -> Path:
    """The folder of the entry `name`, which `build(folder)` fills when it is not cached.

    `name` says which model (and with which parameters) the sources build;
    `sources` are the modules, functions or files that build it, each file
    hashed whole, so that editing a builder builds its models again.
    """
    key = entry_key(name, sources)
    if key in _found:
        return _found[key]
    root = cache_root()
    if root is None:
        if not _scratch:
            _scratch.append(Path(tempfile.mkdtemp(prefix="modelcut-test-models-")))
            atexit.register(shutil.rmtree, _scratch[0], True)
        folder = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=_scratch[0]))
        _build(folder, build)
    else:
        folder = _cached(root, key, build)
    _found[key] = folder
    return folder


def entry_key(name: str, sources) -> str:
    """`name` and a hash of it, the sources, the versions and Python: the entry's folder name."""
    digest = hashlib.sha256()
    for part in (FORMAT, name, *_versions()):
        digest.update(part.encode() + b"\0")
    for path in _source_files(sources):
        digest.update(path.name.encode() + b"\0" + _hash_file(path).encode() + b"\0")
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-{digest.hexdigest()[:24]}"


def changed_entries() -> list[str]:
    """One line per entry used by this process whose files changed since it was built."""
    return [f"{folder}: {change}" for folder in _found.values() for change in _changes(folder)[:1]]


def _cached(root: Path, key: str, build: Callable[[Path], object]) -> Path:
    folder = root / key
    if folder.is_dir() and not _changes(folder):
        _touch(folder)
        return folder
    (root / ".locks").mkdir(parents=True, exist_ok=True)
    with open(root / ".locks" / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if folder.is_dir():
            changes = _changes(folder)
            if not changes:  # built by another process while this one waited
                _touch(folder)
                return folder
            warnings.warn(f"rebuilding the test model cache entry {folder}: {changes[0]}", stacklevel=3)
            _discard(folder, root, key)
        for stale in root.glob(f".tmp-{key}-*"):  # a build that was killed; the lock says none is running
            shutil.rmtree(stale, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=root))
        try:
            _build(building, build)
            os.chmod(building, 0o755)  # mkdtemp's 0o700 would keep other users out
            os.rename(building, folder)  # the commit point
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    _prune(root)
    return folder


def _build(folder: Path, build: Callable[[Path], object]) -> None:
    build(folder)
    (folder / MANIFEST).write_text(json.dumps(_listing(folder), sort_keys=True))


def _listing(folder: Path) -> dict[str, list[int]]:
    """Relative path -> [size, modification time in ns] of every file and link under `folder`."""
    listing = {}
    for parent, folders, files in os.walk(folder):
        for name in files + [name for name in folders if os.path.islink(os.path.join(parent, name))]:
            path = os.path.join(parent, name)
            relative = os.path.relpath(path, folder)
            if relative != MANIFEST:
                status = os.lstat(path)
                listing[relative] = [status.st_size, status.st_mtime_ns]
    return listing


def _changes(folder: Path) -> list[str]:
    """What differs between `folder` and the listing recorded when it was built."""
    try:
        recorded = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return [f"{MANIFEST} is missing or damaged"]
    now = _listing(folder)
    changes = [f"{name} was removed" for name in sorted(recorded.keys() - now.keys())]
    changes += [f"{name} was added" for name in sorted(now.keys() - recorded.keys())]
    changes += [
        f"{name} was modified" for name in sorted(recorded) if name in now and now[name] != recorded[name]
    ]
    return changes


def _discard(folder: Path, root: Path, key: str) -> None:
    # Renamed first, so that nobody takes a half-deleted folder for an entry.
    aside = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=root))
    os.rename(folder, aside / "discarded")
    shutil.rmtree(aside, ignore_errors=True)


def _touch(folder: Path) -> None:
    """Marks the entry as used now (its folder's time; the files' own times are its manifest)."""
    try:
        os.utime(folder)
    except OSError:
        pass  # a cache on a read-only file system is still a cache


def _prune(root: Path) -> None:
    """Removes the entries that no run used for PRUNE_DAYS days (old sources and versions)."""
    too_old = time.time() - PRUNE_DAYS * 86400
    for folder in root.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            if folder.stat().st_mtime >= too_old:
                continue
            with open(root / ".locks" / f"{folder.name}.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if folder.stat().st_mtime < too_old:
                    _discard(folder, root, folder.name)
        except OSError:
            continue  # being built or used right now, or already gone


@functools.cache
def _versions() -> tuple[str, ...]:
    found = [f"python {sys.version} {platform.machine()}"]
    for names in DISTRIBUTIONS:
        for name in names:
            try:
                found.append(f"{name} {importlib.metadata.version(name)}")
            except importlib.metadata.PackageNotFoundError:
                continue
    return tuple(found)


def _source_files(sources) -> list[Path]:
    files = []
    for source in sources:
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
        else:
            path = Path(inspect.getsourcefile(source) or "")
        path = path.resolve()
        if not path.is_file():
            raise ValueError(f"model cache: no source file for {source!r}")
        if path not in files:
            files.append(path)
    return files


def _hash_file(path: Path) -> str:
    if path not in _file_hashes:
        _file_hashes[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _file_hashes[path]
