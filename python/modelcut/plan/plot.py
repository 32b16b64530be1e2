# A plan as a picture, with matplotlib (the Agg backend: no display needed).
# Pipeline: the cost of each node along the model's topological order, the
# stages shaded and labelled with their cost, the chosen cuts as vertical
# lines, and below it the bytes that would cross a cut after each node.
# Device/server: predicted latency against link bandwidth, one point per
# bandwidth of the sweep, coloured by where the model runs.
from __future__ import annotations

import math
import os

from ..outputs import check_output, output_file
from .table import format_cost
from .units import format_bytes, format_rate, format_seconds

FORMATS = (".png", ".svg", ".pdf")


def check_plot_path(path: str, overwrite: bool, reads: list[str] = ()) -> None:
    """Refuses, before planning, a picture path that cannot be written."""
    if not path.lower().endswith(FORMATS):
        raise ValueError(f"--plot '{path}': give a .png, .svg or .pdf file")
    if os.path.isdir(path) and not os.path.islink(path):  # a link is refused by check_output
        raise ValueError(f"--plot '{path}' is a directory")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"--plot '{path}': the folder '{folder}' does not exist")
    check_output(path, reads, overwrite)


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise ValueError("drawing a plan needs matplotlib: pip install matplotlib") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _stage_bounds(plan) -> list[tuple[int, int]]:
    """[first, end) positions of each stage along plan.along."""
    bounds, start = [], 0
    for stage in plan.stages:
        end = start + stage.get("node_count", 0)
        bounds.append((start, end))
        start = end
    return bounds


def _cost_axis(unit: str, largest: float) -> tuple[float, str]:
    """(divisor, axis label) that keeps the largest node's cost readable."""
    if unit == "bytes":
        name, scale = _byte_unit(largest)
        return scale, f"parameters per node ({name})"
    steps = {
        "us": [(1e6, "s"), (1e3, "ms"), (1, "us")],
        "MACs": [(1e9, "billions"), (1e6, "millions"), (1e3, "thousands"), (1, "")],
    }.get(unit)
    if steps is None:
        return 1.0, f"cost per node ({unit})"
    scale, name = next(((scale, name) for scale, name in steps if largest >= scale), steps[-1])
    what = "time" if unit == "us" else "MACs"
    return scale, f"{what} per node ({name})" if name else f"{what} per node"


def _byte_unit(largest: float) -> tuple[str, float]:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if largest >= scale:
            return unit, scale
    return "bytes", 1


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else "..." + name[-(limit - 3) :]


def _draw_pipeline(plan, figure) -> None:
    costs_axes, bytes_axes = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    along = plan.along
    positions = list(range(len(along)))
    unit = plan.cost_unit
    largest = max((entry.get("cost", 0) for entry in along), default=0)
    scale, label = _cost_axis(unit, largest)
    costs = [entry.get("cost", 0) / scale for entry in along]
    colours = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]
    bounds = _stage_bounds(plan)
    top = max(costs, default=0) or 1.0
    for index, ((start, end), stage) in enumerate(zip(bounds, plan.stages)):
        colour = colours[index % len(colours)]
        for axes in (costs_axes, bytes_axes):
            axes.axvspan(start - 0.5, end - 0.5, color=colour, alpha=0.08, linewidth=0)
        costs_axes.bar(positions[start:end], costs[start:end], width=0.85, color=colour)
        cost = format_cost(stage.get("cost", 0), unit)
        above = costs_axes.get_xaxis_transform()  # x in nodes, y as a fraction of the height
        costs_axes.text(
            (start + end - 1) / 2,
            0.97,
            f"stage {index + 1}: {cost}",
            ha="center",
            va="top",
            fontsize=9,
            color=colour,
            fontweight="bold",
            transform=above,
        )
        layers = f"{_short(stage.get('first_layer', ''), 24)}\n... {_short(stage.get('last_layer', ''), 24)}"
        costs_axes.text(
            (start + end - 1) / 2,
            0.905,
            layers,
            ha="center",
            va="top",
            fontsize=7.5,
            color=colour,
            transform=above,
        )
    for start, _ in bounds[1:]:
        for axes in (costs_axes, bytes_axes):
            axes.axvline(start - 0.5, color="black", linestyle="--", linewidth=1.2)
    costs_axes.set_ylim(0, top * 1.45)
    costs_axes.set_xlim(-0.5, len(along) - 0.5)
    costs_axes.set_ylabel(label)

    # What would cross a cut placed after each node (drawn where that cut
    # would fall, between the node and the next): the price of cutting there.
    known = [entry.get("alive_bytes", 0) for entry in along if entry.get("alive_bytes_known", True)]
    byte_unit, byte_scale = _byte_unit(max(known, default=0))
    alive = [
        entry.get("alive_bytes", 0) / byte_scale if entry.get("alive_bytes_known", True) else float("nan")
        for entry in along
    ]
    between = [position + 0.5 for position in positions]
    bytes_axes.fill_between(between, alive, step="mid", color="#555555", alpha=0.35, linewidth=0)
    bytes_axes.step(between, alive, where="mid", color="#333333", linewidth=0.8)
    highest = max((value for value in alive if not math.isnan(value)), default=0) or 1
    bytes_axes.set_ylim(0, highest * 1.45)
    bytes_axes.set_ylabel(f"{byte_unit} crossing a\ncut after the node")
    bytes_axes.set_xlabel(
        f"node, in the topological order the plan cuts ({len(along)} nodes); dashed lines: the plan's cuts"
    )
    for index, ((start, _), cut) in enumerate(zip(bounds[1:], plan.cuts)):
        bytes_text = format_bytes(cut.get("crossing_bytes")) if cut.get("bytes_known", True) else "? bytes"
        bytes_axes.annotate(
            f"cut {index + 1}: {bytes_text}",
            (start - 0.5, highest * 1.4),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=8,
            va="top",
            color="#222222",
        )
    model = os.path.basename(plan.model) if isinstance(plan.model, str) else "model"
    summary = f"slowest stage {format_cost(plan.bottleneck, unit)}"
    if plan.ideal:
        summary += f", {plan.bottleneck / plan.ideal:.2f}x the ideal"
    costs_axes.set_title(
        f"{model}: {len(plan.stages)} stages balanced by {plan.objective} ({summary})", fontsize=11
    )


def _draw_device_server(plan, figure) -> None:
    axes = figure.add_subplot(1, 1, 1)
    styles = {"device only": ("#4C72B0", "o"), "split": ("#55A868", "s"), "server only": ("#C44E52", "^")}
    rows = sorted(plan.sweep, key=lambda row: row["bandwidth"])
    axes.plot(
        [row["bandwidth"] for row in rows],
        [row["latency_s"] * 1e3 for row in rows],
        color="#999999",
        linewidth=1,
        zorder=1,
    )
    for placement, (colour, marker) in styles.items():
        points = [row for row in rows if row["placement"] == placement]
        if points:
            axes.scatter(
                [row["bandwidth"] for row in points],
                [row["latency_s"] * 1e3 for row in points],
                color=colour,
                marker=marker,
                label=placement,
                zorder=2,
            )
    for row in rows:
        if row["placement"] == "split":
            axes.annotate(
                format_bytes(row.get("crossing_bytes", 0)),
                (row["bandwidth"], row["latency_s"] * 1e3),
                xytext=(4, 6),
                textcoords="offset points",
                fontsize=8,
                color="#55A868",
            )
    bandwidth = plan.request.get("bandwidth")
    if bandwidth:
        axes.axvline(bandwidth, color="black", linestyle="--", linewidth=1)
        axes.annotate(
            f"{format_rate(bandwidth)}: {plan.placement}, {format_seconds(plan.latency_s)}",
            (bandwidth, 0.03),
            xycoords=axes.get_xaxis_transform(),
            xytext=(4, 0),
            textcoords="offset points",
            fontsize=9,
        )
    from matplotlib.ticker import FuncFormatter

    axes.set_xscale("log")
    axes.set_yscale("log")  # latencies span orders of magnitude across a sweep
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: format_rate(value)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: format_seconds(value / 1e3)))
    axes.set_xlabel("link bandwidth")
    axes.set_ylabel("predicted latency")
    axes.legend(title="best placement (split: bytes sent)", fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    model = os.path.basename(plan.model) if isinstance(plan.model, str) else "model"
    rtt = plan.request.get("rtt", 0)
    link = f"+{format_seconds(rtt)} round trip" if rtt else "no round-trip time"
    axes.set_title(f"{model}: best device/server cut by bandwidth ({link})", fontsize=11)


def plot_plan(plan, path: str, overwrite: bool = False, reads: list[str] = ()) -> str:
    """Draws `plan` into `path`, never over one of `reads` (the files the plan was made from)."""
    check_plot_path(path, overwrite, reads)
    plt = _pyplot()
    figure = plt.figure(figsize=(11, 6), dpi=100)
    try:
        if plan.kind == "device-server":
            _draw_device_server(plan, figure)
        else:
            _draw_pipeline(plan, figure)
        figure.tight_layout()
        suffix = os.path.splitext(path)[1]
        # Fixed metadata: the same plan draws the same bytes.
        metadata = {".png": {"Software": None}, ".svg": {"Date": None}, ".pdf": {"CreationDate": None}}[
            suffix.lower()
        ]
        with output_file(path) as temporary, plt.rc_context({"svg.hashsalt": "modelcut"}):
            figure.savefig(temporary, format=suffix[1:].lower(), metadata=metadata)
    finally:
        plt.close(figure)
    return path
