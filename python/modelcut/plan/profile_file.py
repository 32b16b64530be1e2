# The profile file that `modelcut profile` writes and the planners read:
# median microseconds per node per run, keyed by the dataflow's node names,
# plus where and how it was measured. Written atomically (a temporary file
# renamed into place), never over an existing file unless asked, and never
# over a file the profiled model reads.
from __future__ import annotations

import json
import math
import os
import platform
import tempfile

from .. import _core

FORMAT = "modelcut-profile"
VERSION = 1


def machine_description() -> str:
    """"Linux x86_64, <CPU model>, N CPUs": enough to tell two machines apart."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass  # not Linux: platform.processor() is what there is
    parts = [f"{platform.system()} {platform.machine()}", cpu, f"{os.cpu_count() or '?'} CPUs"]
    return ", ".join(part for part in parts if part)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def check_output_path(output: str, reads: list[str], overwrite: bool) -> None:
    """Refuses an output that exists (unless `overwrite`) or is a file the
    model reads, before any time is spent profiling."""
    if os.path.isdir(output):
        raise ValueError(f"-o '{output}' is a directory; give the profile file's path (e.g. times.json)")
    if not os.path.lexists(output):
        folder = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(folder):
            raise ValueError(f"-o '{output}': the folder '{folder}' does not exist")
        return
    for path in reads:
        if os.path.exists(path) and os.path.samefile(output, path):
            raise ValueError(f"-o '{output}' is the input '{path}'; modelcut never replaces a file it reads")
    if not overwrite:
        raise ValueError(f"-o '{output}' exists; give --force to replace it")


def as_created(path: str) -> None:
    """Gives a temporary file the permissions a newly created file gets
    (tempfile makes it 0600, readable by its owner only)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def write_profile(profile: dict, output: str) -> None:
    """Writes `profile` as JSON under a temporary name, then renames it into place."""
    text = json.dumps(profile, indent=2, allow_nan=False) + "\n"
    folder = os.path.dirname(os.path.abspath(output))
    with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".modelcut-", suffix=".json",
                                     delete=False, encoding="utf-8") as file:
        try:
            file.write(text)
            as_created(file.name)
        except BaseException:
            os.unlink(file.name)
            raise
    os.replace(file.name, output)


def build_profile(model: str, runtime: str, threads: int, runs: int, batch: int, dims: dict[str, int],
                  node_times: dict[str, float], total_us: float, extra: dict | None = None) -> dict:
    """The file's content; `node_times` in the model's node order."""
    for name, value in node_times.items():
        if not math.isfinite(value) or value < 0:  # a clock that went backwards: our bug, not the user's
            raise AssertionError(f"measured time of node {name!r} is {value}")
    profile = {
        "format": FORMAT,
        "version": VERSION,
        "model": os.path.basename(model),
        "machine": machine_description(),
        "runtime": runtime,
        "threads": threads,
        "runs": runs,
        "batch": batch,
        "dims": dict(sorted(dims.items())),
        "nodes": {name: round(value, 3) for name, value in node_times.items()},
        "total_us": round(total_us, 3),
    }
    profile.update(extra or {})
    return profile


def read_profile(path: str) -> dict:
    """A profile file as the planners read it: {"model": the file it was
    recorded on ("" if it does not say), "nodes": {name: microseconds}}.
    The C++ reader checks it, so that this package and the native command
    refuse a malformed file with the same line (modelcut.Error naming the file)."""
    return _core.read_profile(path)
