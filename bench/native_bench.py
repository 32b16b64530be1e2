#!/usr/bin/env python3
"""The native `modelcut` executable (src/cli) against the Python command and cp.

On the 1.2 GB transformer (enc24_d1024, bench/make_models.py), in one run:
cp of the model, the Python command (`python -m modelcut.cli split`) and the
native executable, two parts at encoder.layers.11 with the weights copied
(--weights auto), best of --repeat runs each, interleaved, from a warm page
cache (see run_bench.py's measure: one fresh child per run, peak RSS from
wait4). Then `inspect` of the seed model (tests/fuzz/corpus/fuzz_onnx/
torch_seed.onnx) by both commands, best of --repeat, and `plan --stages 4
--balance flops --json` of the transformer by both. The parts of the two
commands are compared byte for byte, and their plans' cuts. Last, the floor
under any split that copies weights into a new protobuf: copy_file_range of
the model's bytes with the source and destination offsets equal modulo the
page size (as cp copies) and 100 bytes apart (as a part's inline tensors
land, after headers of other lengths than the model's).

    python bench/native_bench.py [--dir /tmp/modelcut-bench] [--repeat 5] [--modelcut build/cpp/modelcut]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_models  # noqa: E402
from run_bench import PYTHON, REPO, measure, remove, warm  # noqa: E402

SEED = os.path.join(REPO, "tests", "fuzz", "corpus", "fuzz_onnx", "torch_seed.onnx")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/modelcut-bench", help="cache folder for the models")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command; best kept (5)")
    parser.add_argument(
        "--modelcut",
        default=os.path.join(REPO, "build", "cpp", "modelcut"),
        help="the native executable (default build/cpp/modelcut)",
    )
    args = parser.parse_args(argv)
    name = "enc24_d1024"
    model = make_models.ensure_models(args.dir, [name])[name]
    _, files = make_models.model_paths(args.dir, name)
    size = sum(os.path.getsize(f) for f in files)
    work = os.path.join(args.dir, "native-bench")
    remove([work])
    os.makedirs(work)
    outputs = {tool: os.path.join(work, tool) for tool in ("cp", "python", "native")}
    commands = {
        "cp": ["cp", *files, outputs["cp"]],
        "python": [
            PYTHON,
            "-m",
            "modelcut.cli",
            "split",
            model,
            "--at",
            "encoder.layers.11",
            "-o",
            outputs["python"],
        ],
        "native": [args.modelcut, "split", model, "--at", "encoder.layers.11", "-o", outputs["native"]],
    }
    runs = {tool: [] for tool in commands}
    # The machine's load beside the figures: on a busy machine the ratios to
    # cp say little (see bench/README.md).
    load_before = os.getloadavg()
    for _ in range(args.repeat):
        for tool, command in commands.items():
            remove([outputs[tool]])
            if tool == "cp":
                os.makedirs(outputs[tool])
            os.sync()
            warm(files)
            result = measure(command, os.path.join(work, tool), 600, 0)
            assert result["rc"] == 0, result
            runs[tool].append(result)
    best = {tool: min(results, key=lambda r: r["wall"]) for tool, results in runs.items()}
    same = all(
        filecmp.cmp(
            os.path.join(outputs["python"], part), os.path.join(outputs["native"], part), shallow=False
        )
        for part in sorted(os.listdir(outputs["python"]))
    )
    load_after = os.getloadavg()
    print(f"{name} ({size / 1e9:.2f} GB), split --at encoder.layers.11, best of {args.repeat}:")
    print(f"load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    print("| command | wall s (best) | all runs s | peak RSS MB | / cp |")
    print("|---|---|---|---|---|")
    for tool, label in (
        ("cp", "cp"),
        ("python", "python -m modelcut.cli split"),
        ("native", "native modelcut split"),
    ):
        walls = ", ".join(f"{r['wall']:.2f}" for r in runs[tool])
        rss = max(r["rss_mb"] for r in runs[tool])
        print(
            f"| {label} | {best[tool]['wall']:.2f} | {walls} | {rss:.0f} | {best[tool]['wall'] / best['cp']['wall']:.2f} |"
        )
    print(f"parts byte-identical between the two commands: {same}")

    inspect = {
        "python": [PYTHON, "-m", "modelcut.cli", "inspect", SEED],
        "native": [args.modelcut, "inspect", SEED],
    }
    print(f"\ninspect {os.path.relpath(SEED, REPO)}, best of {args.repeat}:")
    print("| command | wall ms (best) | peak RSS MB |")
    print("|---|---|---|")
    for tool, command in inspect.items():
        results = [measure(command, os.path.join(work, "inspect-" + tool), 60, 0) for _ in range(args.repeat)]
        assert all(r["rc"] == 0 for r in results), results
        fastest = min(r["wall"] for r in results)
        print(
            f"| {' '.join(['modelcut' if tool == 'native' else 'python -m modelcut.cli', 'inspect'])} | "
            f"{fastest * 1000:.1f} | {max(r['rss_mb'] for r in results):.0f} |"
        )

    words = ["plan", model, "--stages", "4", "--balance", "flops", "--json"]
    plans = {"python": [PYTHON, "-m", "modelcut.cli", *words], "native": [args.modelcut, *words]}
    print(f"\n{' '.join(words[:1] + ['MODEL'] + words[2:])} on {name}, best of {args.repeat}:")
    print("| command | wall s (best) | all runs s | peak RSS MB |")
    print("|---|---|---|---|")
    cuts = {}
    for tool, command in plans.items():
        results = [measure(command, os.path.join(work, "plan-" + tool), 600, 0) for _ in range(args.repeat)]
        assert all(r["rc"] == 0 for r in results), results
        with open(os.path.join(work, "plan-" + tool + ".out"), encoding="utf-8") as file:
            cuts[tool] = json.load(file)["at"]
        walls = ", ".join(f"{r['wall']:.2f}" for r in results)
        label = "modelcut plan (native)" if tool == "native" else "python -m modelcut.cli plan"
        print(
            f"| {label} | {min(r['wall'] for r in results):.2f} | {walls} | "
            f"{max(r['rss_mb'] for r in results):.0f} |"
        )
    print(f"same cuts from both commands: {cuts['python'] == cuts['native']} ({len(cuts['native'])} cuts)")
    print(f"\nkernel copy (copy_file_range) of {size / 1e9:.2f} GB, best of {args.repeat}:")
    print("| source offset - destination offset | wall s (best) | all runs s |")
    print("|---|---|---|")
    for shift in (0, 100):
        walls = [kernel_copy(files[0], os.path.join(work, "copy"), shift) for _ in range(args.repeat)]
        print(f"| {shift} | {min(walls):.2f} | {', '.join(f'{w:.2f}' for w in walls)} |")
    remove([work])
    return 0


def kernel_copy(source: str, target: str, shift: int) -> float:
    """Seconds to copy `source` from byte `shift` on to a new file with
    copy_file_range, from a warm page cache."""
    size = os.path.getsize(source) - shift
    warm([source])
    os.sync()
    start = time.perf_counter()
    with open(source, "rb") as src, open(target, "wb") as dst:
        done = 0
        while done < size:
            copied = os.copy_file_range(src.fileno(), dst.fileno(), size - done, shift + done)
            if copied <= 0:
                raise OSError(f"copy_file_range copied nothing at {done} of {size}")
            done += copied
    seconds = time.perf_counter() - start
    os.remove(target)
    return seconds


if __name__ == "__main__":
    sys.exit(main())
