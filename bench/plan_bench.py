#!/usr/bin/env python3
"""Benchmark of pipeline plans (issue 8): modelcut.plan against the rules people use.

For torchvision ResNet-50 (1x3x224x224) and a 24-layer transformer language
model (batch 1, sequence 128), both with random weights, it cuts the model
into --stages parts with

- equal layers: the repeated blocks shared out evenly (stem or embedding with
  the first stage, head with the last), as torch pipelining and torchtitan
  users split by hand;
- DeepSpeed parameters: deepspeed.runtime.utils.partition_balanced on the
  parameter count of each unit of the same layer list, as PipelineModule's
  partition_method="parameters" does;
- modelcut params / flops / time: modelcut.plan(model, stages, balance=...),
  "time" with a profile recorded on this machine by modelcut.profile;

splits each with modelcut, times every part on ONNX Runtime with one thread
(fed its predecessor's real outputs; minimum over --rounds runs, all chains
interleaved) and prints a markdown table per model. It also times plan and
inspect on a 20,000-node chain. --write-readme puts the tables into
bench/README.md.

    python bench/plan_bench.py [--dir /tmp/modelcut-plan-bench] [--write-readme]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import modelcut  # noqa: E402
import plan_zoo  # noqa: E402  (imports torch and torchvision before anything imports TensorFlow)
from part_timing import time_chains  # noqa: E402

README = HERE / "README.md"
MARK_START = "<!-- plan-bench:start -->"
MARK_END = "<!-- plan-bench:end -->"


@dataclass(frozen=True)
class BenchModel:
    name: str
    description: str
    build: object
    units: object
    feeds: object
    repeated: tuple[int, int]  # units [first, last) are the repeated blocks


MODELS = {
    "resnet50": BenchModel(
        "resnet50",
        "torchvision ResNet-50 (weights=None), 1x3x224x224; units: stem, 16 bottleneck blocks, head",
        plan_zoo.build_resnet50,
        lambda root: plan_zoo.resnet50_units(),
        plan_zoo.resnet50_feeds,
        (1, 17),
    ),
    "transformer24": BenchModel(
        "transformer24",
        "24-layer transformer LM (d 256, 4 heads, ff 1024, vocab 32000, untied head), tokens 1x128; "
        "units: embedding, 24 layers, head",
        plan_zoo.build_transformer,
        lambda root: plan_zoo.transformer_units(),
        plan_zoo.transformer_feeds,
        (1, 25),
    ),
    "mobilenetv2": BenchModel(
        "mobilenetv2",
        "keras.applications.MobileNetV2 (weights=None) through tf2onnx, 1x224x224x3; "
        "units: stem, 17 inverted-residual blocks, head",
        lambda root: plan_zoo.build_keras_cnn(root)[1],
        lambda root: plan_zoo.keras_cnn_units(plan_zoo.build_keras_cnn(root)[0]),
        plan_zoo.keras_cnn_feeds,
        (1, 18),
    ),
}
METHODS = ("equal", "deepspeed", "params", "flops", "time")
LABELS = {
    "equal": "equal layers",
    "deepspeed": "DeepSpeed parameters",
    "params": "modelcut --balance params",
    "flops": "modelcut --balance flops",
    "time": "modelcut --balance time",
}


# --------------------------------------------------------------------------- #
# Baselines: stage boundaries on the layer list, as cut names
# --------------------------------------------------------------------------- #


def equal_layers(units, repeated: tuple[int, int], stages: int) -> list[int]:
    """Stage start indices: the repeated blocks shared out evenly, earlier stages taking the extra."""
    first, last = repeated
    count = last - first
    starts, position = [0], first
    for stage in range(stages - 1):
        position += count // stages + (1 if stage < count % stages else 0)
        starts.append(position)
    return starts + [len(units)]


def deepspeed_parameters(units, stages: int) -> list[int]:
    """DeepSpeed's own partition of the per-unit parameter counts (PipelineModule 'parameters')."""
    from deepspeed.runtime.utils import partition_balanced

    parts = partition_balanced(weights=[unit.params for unit in units], num_parts=stages)
    return [int(part) for part in parts]


def cuts_from_bounds(units, bounds: list[int]) -> list[str]:
    if any(bounds[i] >= bounds[i + 1] for i in range(len(bounds) - 1)):
        raise ValueError(f"a stage is empty: boundaries {bounds}")
    return [units[start - 1].cut for start in bounds[1:-1]]


# --------------------------------------------------------------------------- #
# Running it
# --------------------------------------------------------------------------- #


def plan_cuts(model_path: Path, stages: int, balance: str, profile: Path | None):
    start = time.perf_counter()
    plan = modelcut.plan(
        str(model_path), stages=stages, balance=balance, profile=str(profile) if balance == "time" else None
    )
    return list(plan.at), time.perf_counter() - start, plan


def bench_model(
    model: BenchModel, root: Path, stages: int, rounds: int, profile_runs: int, methods: list[str]
) -> dict:
    folder = root / model.name
    folder.mkdir(parents=True, exist_ok=True)
    path = model.build(root)
    units = model.units(root)
    feeds = model.feeds()
    result = {"model": model.name, "description": model.description, "rows": {}}

    profile = None
    if "time" in methods:
        profile = folder / "times.json"
        start = time.perf_counter()
        modelcut.profile(str(path), output=str(profile), runs=profile_runs, threads=1, overwrite=True)
        result["profile_seconds"] = time.perf_counter() - start

    chains, rows = {}, {}
    for method in methods:
        row = {"plan_seconds": None}
        if method == "equal":
            row["cuts"] = cuts_from_bounds(units, equal_layers(units, model.repeated, stages))
        elif method == "deepspeed":
            row["cuts"] = cuts_from_bounds(units, deepspeed_parameters(units, stages))
        else:
            row["cuts"], row["plan_seconds"], plan = plan_cuts(path, stages, method, profile)
            row["predicted"] = [stage["cost"] for stage in plan.to_dict()["stages"]]
            row["optimal"] = plan.optimal
        out = folder / method
        split = modelcut.split(str(path), at=row["cuts"], output_dir=str(out), overwrite=True)
        chains[method] = split.paths
        rows[method] = row
        print(f"  {model.name} {method}: cuts {row['cuts']}", flush=True)

    timings = time_chains(chains, feeds, rounds=rounds)
    for method, timing in timings.items():
        rows[method].update(
            stage_ms=timing.min_ms,
            median_ms=timing.median_ms,
            boundary_bytes=timing.boundary_bytes,
            slowest_over_ideal=timing.slowest_over_ideal,
            max_over_min=max(timing.min_ms) / min(timing.min_ms),
        )
    result["rows"] = rows
    return result


def bench_chain(root: Path, stages: int, repeat: int = 3) -> dict:
    path = plan_zoo.build_chain(root)
    out = {"nodes": plan_zoo.CHAIN_NODES}
    for label, call in (
        ("plan params", lambda: modelcut.plan(str(path), stages=stages, balance="params")),
        ("plan flops", lambda: modelcut.plan(str(path), stages=stages, balance="flops")),
        ("inspect", lambda: modelcut.inspect(str(path))),
    ):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        out[label] = min(times)
    return out


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #


def human_bytes(count: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.2f} {unit}"
    return f"{count} B"


def markdown(results: list[dict], chain: dict | None, stages: int, rounds: int) -> str:
    lines = []
    for result in results:
        lines += [f"**{result['model']}**: {result['description']}.", ""]
        lines += [
            "| method | stage times (ms) | max/min | slowest/ideal "
            "| bytes crossing each boundary | plan time |",
            "|---|---|---|---|---|---|",
        ]
        for method, row in result["rows"].items():
            times = " / ".join(f"{ms:.1f}" for ms in row["stage_ms"])
            crossing = " / ".join(human_bytes(b) for b in row["boundary_bytes"])
            planned = "—" if row["plan_seconds"] is None else f"{row['plan_seconds']:.2f} s"
            lines.append(
                f"| {LABELS[method]} | {times} | {row['max_over_min']:.2f} | "
                f"{row['slowest_over_ideal']:.2f} | {crossing} | {planned} |"
            )
        lines.append("")
        lines.append("Cuts:")
        for method, row in result["rows"].items():
            lines.append(f"- {LABELS[method]}: " + ", ".join(f"`{cut}`" for cut in row["cuts"]))
        if "profile_seconds" in result:
            seconds = result["profile_seconds"]
            lines.append(f"- the profile for `--balance time` took {seconds:.1f} s to record")
        lines.append("")
    if chain:
        lines += [
            f"**{chain['nodes']}-node chain** (MatMul, Add, Relu repeated; best of 3, "
            f"whole call including opening the file):",
            "",
            "| call | seconds |",
            "|---|---|",
        ]
        for label in ("plan params", "plan flops", "inspect"):
            call = label.replace("plan ", f"plan --stages {stages} --balance ")
            lines.append(f"| `{call}` | {chain[label]:.2f} |")
        lines.append("")
    lines.append(
        f"Stage times: CPU time of the one ONNX Runtime thread, minimum over {rounds} runs per part; "
        f"slowest/ideal: the slowest part over the sum of the parts / {stages}. "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared; {machine_versions()}."
    )
    return "\n".join(lines)


def machine_versions() -> str:
    names = ("onnxruntime", "torch", "deepspeed")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def write_readme(table: str, command: str) -> None:
    text = README.read_text()
    block = f"{MARK_START}\n```sh\n{command}\n```\n\n{table}\n{MARK_END}"
    if MARK_START in text and MARK_END in text:
        text = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, text, flags=re.S)
    else:
        raise SystemExit(f"{README} has no {MARK_START} ... {MARK_END} section to fill")
    README.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/tmp/modelcut-plan-bench", help="models and parts go here")
    parser.add_argument("--stages", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10, help="timed runs of each part (minimum kept)")
    parser.add_argument("--profile-runs", type=int, default=20)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--no-chain", action="store_true", help="skip the 20k-node planning-speed row")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--write-readme", action="store_true", help="put the tables into bench/README.md")
    args = parser.parse_args(argv)

    root = Path(args.dir)
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    results = []
    for name in [m for m in args.models.split(",") if m]:
        if name not in MODELS:
            parser.error(f"unknown model {name!r}; known: {', '.join(MODELS)}")
        print(f"{name} ...", flush=True)
        results.append(bench_model(MODELS[name], root, args.stages, args.rounds, args.profile_runs, methods))
    chain = None if args.no_chain else bench_chain(root, args.stages)
    table = markdown(results, chain, args.stages, args.rounds)
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps({"models": results, "chain": chain}, indent=1))
    if args.write_readme:
        command = ".venv/bin/python bench/plan_bench.py " + " ".join(a for a in (argv or sys.argv[1:]))
        write_readme(table, command.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
