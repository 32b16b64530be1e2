# The profile file that `modelcut profile` writes and the planners read:
# median microseconds per node per run, keyed by the dataflow's node names,
# plus where and how it was measured. Written as every output is
# (modelcut.outputs): whole or not at all, never over an existing file unless
# asked, never over a file the profiled model reads.
from __future__ import annotations

import json
import math
import os
import platform

from .. import _core
from ..outputs import check_output, output_file

FORMAT = "modelcut-profile"
VERSION = 1


def machine_description() -> str:
    """ "Linux x86_64, <CPU model>, N CPUs": enough to tell two machines apart."""
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


def check_profile_path(output: str, reads: list[str], overwrite: bool) -> None:
    """Refuses, before any time is spent profiling, an output that cannot be
    written (see modelcut.outputs.check_output)."""
    if os.path.isdir(output) and not os.path.islink(output):  # a link is refused by check_output
        raise ValueError(f"-o '{output}' is a directory; give the profile file's path (e.g. times.json)")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise ValueError(f"-o '{output}': the folder '{folder}' does not exist")
    check_output(output, reads, overwrite)


def write_profile(profile: dict, output: str) -> None:
    """Writes `profile` as JSON, whole or not at all."""
    text = json.dumps(profile, indent=2, allow_nan=False) + "\n"
    with output_file(output) as temporary, open(temporary, "w", encoding="utf-8") as file:
        file.write(text)


def build_profile(
    model: str,
    runtime: str,
    threads: int,
    runs: int,
    batch: int,
    dims: dict[str, int],
    node_times: dict[str, float],
    total_us: float,
    extra: dict | None = None,
) -> dict:
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
