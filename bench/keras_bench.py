#!/usr/bin/env python3
"""Benchmark of cutting a large Keras .keras file with modelcut (issue 9).

Times, on the same input in the same run:

- cp of the .keras file (the floor for a tool that copies the weights);
- `modelcut split MODEL --at fc8 -o DIR` through the command line, as a user
  runs it (Python start and imports included);
- the same split through the C++ core alone (`_core.split`, loaded without
  the modelcut package, so without its onnx, onnxruntime and numpy imports),
  to show what is modelcut's own work and what is Python starting.

Each measurement is one fresh child process (bench/measure_child.py: wall
time around fork ... wait4, peak RSS from ru_maxrss). Before each one the
previous output is deleted, `sync` flushes dirty pages and the input is read
once, so both start from a warm page cache and neither pays for the other's
writeback. The figure is the median of --repeat runs.

The parts of every run are compared byte for byte with those of the first
run (the same input and command must give the same bytes), and once,
untimed, loaded in Keras: chaining them must give the model's output.

The input (`dense16_4096.keras`: 16 Dense layers of 4096 x 4096, float32,
random weights, 1.07 GB) is made with Keras on first use (not timed):

    python bench/keras_bench.py [--dir /tmp/modelcut-keras-bench] [--repeat 5] [--python OTHER_VENV/bin/python]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run_bench import measure, remove, warm  # noqa: E402

PYTHON = sys.executable
# Loads modelcut's extension module by its path, not through the package
# (whose __init__ imports onnx and onnxruntime), and splits.
CORE_SPLIT = """
import importlib.machinery, importlib.util, sys
import modelcut_core_path
spec = importlib.util.spec_from_file_location("_core", modelcut_core_path.PATH)
core = importlib.util.module_from_spec(spec)
spec.loader.exec_module(core)
core.split(sys.argv[1], [sys.argv[2]], sys.argv[3])
"""


def core_path(python: str) -> str:
    """The path of PYTHON's modelcut/_core*.so, found without importing modelcut."""
    code = (
        "import importlib.util, os; folder = os.path.dirname(importlib.util.find_spec('modelcut').origin); "
        "print(next(os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.startswith('_core.')))"
    )
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


LAYERS, WIDTH = 16, 4096
NAME = f"dense{LAYERS}_{WIDTH}.keras"


def make_model(path: str) -> None:
    """16 Dense layers fc1..fc16 of WIDTH x WIDTH with random float32 weights."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    layers = [keras.Input((WIDTH,), name="x")]
    layers += [
        keras.layers.Dense(WIDTH, activation="relu" if k < LAYERS else None, name=f"fc{k}")
        for k in range(1, LAYERS + 1)
    ]
    model = keras.Sequential(layers, name="dense16")
    for layer in model.layers:  # kernel and bias drawn per layer: no two tensors alike
        kernel = (rng.random((WIDTH, WIDTH), dtype=np.float32) - 0.5) * (2 / WIDTH**0.5)
        bias = (rng.random((WIDTH,), dtype=np.float32) - 0.5) * 0.1
        layer.set_weights([kernel, bias])
    model.save(path)


def file_digests(folder: str) -> dict[str, str]:
    out = {}
    for name in sorted(os.listdir(folder)):
        h = hashlib.sha256()
        with open(os.path.join(folder, name), "rb") as f:
            while chunk := f.read(16 << 20):
                h.update(chunk)
        out[name] = h.hexdigest()
    return out


def check_in_keras(model_path: str, parts: list[str]) -> str:
    """Loads the model and its parts in Keras; chained output vs the model's."""
    code = f"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras, numpy as np
model = keras.saving.load_model({model_path!r}, compile=False)
parts = [keras.saving.load_model(p, compile=False) for p in {parts!r}]
x = np.random.default_rng(1).random((4, {WIDTH}), dtype=np.float32)
y = model.predict(x, verbose=0)
h = x
for part in parts:
    h = part.predict(h, verbose=0)
print("max abs error", float(np.max(np.abs(np.asarray(h) - y))))
"""
    proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return "FAIL: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
    return proc.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/tmp/modelcut-keras-bench")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--at", default="fc8")
    parser.add_argument("--no-check", action="store_true", help="skip loading the parts in Keras")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument(
        "--python",
        default=PYTHON,
        help="the interpreter whose modelcut to measure (e.g. another build's venv, for a before/after)",
    )
    args = parser.parse_args()

    os.makedirs(os.path.join(args.dir, "logs"), exist_ok=True)
    model = os.path.join(args.dir, NAME)
    if not os.path.exists(model):
        print(f"making {model} with Keras (not timed) ...", flush=True)
        make_model(model)
    size = os.path.getsize(model)
    out = os.path.join(args.dir, "out")
    copy = os.path.join(args.dir, "copy.keras")
    logs = os.path.join(args.dir, "logs")

    def prepare():
        remove([out, copy])
        subprocess.run(["sync"], check=True)
        warm([model])

    helper = os.path.join(args.dir, "modelcut_core_path.py")
    with open(helper, "w") as f:
        f.write(f"PATH = {core_path(args.python)!r}\n")
    modelcut = os.path.join(os.path.dirname(args.python), "modelcut")
    rows = {"cp": [], "modelcut": [], "core": []}
    first_digests = None
    same_bytes = True
    for run in range(args.repeat):
        # Alternated, so that a burst of load on the shared machine hits both.
        prepare()
        rows["cp"].append(measure(["cp", model, copy], os.path.join(logs, f"cp{run}"), 600, 0))
        prepare()
        r = measure(
            [modelcut, "split", model, "--at", args.at, "-o", out, "-q"],
            os.path.join(logs, f"modelcut{run}"),
            600,
            0,
        )
        rows["modelcut"].append(r)
        if r["rc"] != 0:
            print(f"modelcut split failed: {r['error']}")
            return 1
        digests = file_digests(out)
        prepare()
        rows["core"].append(
            measure(
                ["env", f"PYTHONPATH={args.dir}", args.python, "-c", CORE_SPLIT, model, args.at, out],
                os.path.join(logs, f"core{run}"),
                600,
                0,
            )
        )
        if rows["core"][-1]["rc"] != 0:
            print(f"_core.split failed: {rows['core'][-1]['error']}")
            return 1
        if file_digests(out) != digests:
            same_bytes = False
        if first_digests is None:
            first_digests = digests
            parts = [os.path.join(out, n) for n in sorted(digests)]
            kept = os.path.join(args.dir, "parts")
            remove([kept])
            shutil.copytree(out, kept)
        elif digests != first_digests:
            same_bytes = False
    remove([out, copy])

    check = "not run"
    if not args.no_check:
        kept = os.path.join(args.dir, "parts")
        check = check_in_keras(model, [os.path.join(kept, os.path.basename(p)) for p in parts])

    def summary(results):
        walls = [r["wall"] for r in results]
        return statistics.median(walls), walls, max(r["rss_mb"] for r in results)

    cp_median, cp_walls, cp_rss = summary(rows["cp"])
    mc_median, mc_walls, mc_rss = summary(rows["modelcut"])
    core_median, core_walls, core_rss = summary(rows["core"])
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, {platform.release()}, load average at end {load[0]:.2f}")
    print(f"modelcut: {modelcut}")
    print(
        f"input: {NAME}, {size / 1e9:.2f} GB ({LAYERS} Dense {WIDTH}x{WIDTH}), cut --at {args.at}, "
        f"median of {args.repeat}"
    )
    print()
    print("| command | median wall s | runs s | peak RSS MB | / cp |")
    print("|---|--:|---|--:|--:|")
    print(f"| cp | {cp_median:.2f} | {', '.join(f'{w:.2f}' for w in cp_walls)} | {cp_rss:.0f} | |")
    print(
        f"| modelcut split | {mc_median:.2f} | {', '.join(f'{w:.2f}' for w in mc_walls)} | {mc_rss:.0f} "
        f"| {mc_median / cp_median:.2f} |"
    )
    print(
        f"| _core.split alone | {core_median:.2f} | {', '.join(f'{w:.2f}' for w in core_walls)} | {core_rss:.0f} "
        f"| {core_median / cp_median:.2f} |"
    )
    print()
    print(f"parts byte-identical in all {args.repeat} runs: {'yes' if same_bytes else 'NO'}")
    print(f"parts in Keras (chained vs model): {check}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "input_bytes": size,
                    "cp": rows["cp"],
                    "modelcut": rows["modelcut"],
                    "core": rows["core"],
                    "same_bytes": same_bytes,
                    "check": check,
                    "time": time.time(),
                },
                f,
                indent=1,
            )
    return 0 if same_bytes and not check.startswith("FAIL") else 1


if __name__ == "__main__":
    sys.exit(main())
