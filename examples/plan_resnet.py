"""Choosing where to cut ResNet-50 into 4 pipeline stages, three ways.

    python examples/plan_resnet.py OUTDIR [--picture docs/plan_resnet.png]

Exports torchvision's ResNet-50 (random weights: nothing is downloaded) to
OUTDIR/resnet50.onnx, profiles it on ONNX Runtime with one thread, and plans
4 stages balanced by parameter bytes (DeepSpeed's rule), by MACs and by the
measured time. For each plan it prints the predicted time of every stage
(from the profile) and how far the slowest stage is from the ideal
(total / 4). With --picture, it draws the time-balanced plan there.
"""

from __future__ import annotations

import argparse
import os
import warnings

import modelcut


def export_resnet50(path: str) -> str:
    import torch
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None).eval()
    with warnings.catch_warnings():  # the TorchScript exporter announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.randn(1, 3, 224, 224),),
            path,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}},
            dynamo=False,
            opset_version=17,
        )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("outdir")
    parser.add_argument("--picture", help="draw the time-balanced plan here (.png or .svg)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    model = os.path.join(args.outdir, "resnet50.onnx")
    if not os.path.exists(model):
        export_resnet50(model)
    times_path = os.path.join(args.outdir, "resnet50_times.json")
    times = modelcut.profile(model, times_path, runs=args.runs, overwrite=True)
    print(f"resnet50.onnx: {times['total_us'] / 1e3:.1f} ms per run on {times['runtime']}, 1 thread")

    for balance in ("params", "flops", "time"):
        plan = modelcut.plan(
            model, stages=4, balance=balance, profile=times_path if balance == "time" else None
        )
        # The profile predicts every plan's stage times, whatever it balanced.
        stage_times = _stage_times_of(plan, times["nodes"])
        ideal = sum(stage_times) / 4
        print(
            f"  by {balance:6}: stages {', '.join(f'{value:.0f}' for value in stage_times)} ms; "
            f"slowest {max(stage_times) / ideal:.2f}x the ideal; stages end at "
            f"{', '.join(stage['last_layer'] for stage in plan.stages[:-1])}"
        )
        if balance == "time" and args.picture:
            plan.plot(args.picture, overwrite=True)
            print(f"  drawn into {args.picture}")


def _stage_times_of(plan: modelcut.Plan, node_times: dict[str, float]) -> list[float]:
    """Each stage's time predicted from the profile: the nodes of plan.along, in the stages' counts."""
    result, start = [], 0
    for stage in plan.stages:
        names = [entry["node"] for entry in plan.along[start : start + stage["node_count"]]]
        result.append(sum(node_times.get(name, 0.0) for name in names) / 1e3)
        start += stage["node_count"]
    return result


if __name__ == "__main__":
    main()
