# A plan as the tables `modelcut plan` prints: one row per stage (first and
# last layer, nodes, parameter bytes, MACs, predicted time, cost), one row per
# cut (what crosses it and how many bytes), then the summary; for a
# device/server plan also the best cut at each bandwidth of the sweep. Names
# come from the model file: every cell and line is made printable (a name
# holding a line break shows as \n and keeps its row on one line).
from __future__ import annotations

import os
from collections.abc import Sequence

from ..text import printable
from .units import format_bytes, format_count, format_rate, format_seconds


def format_cost(value: float, unit: str) -> str:
    if unit == "bytes":
        return format_bytes(value)
    if unit == "MACs":
        return format_count(value)
    if unit == "us":
        return format_seconds(value / 1e6)
    return f"{value:.4g}"


def format_columns(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> list[str]:
    """Left-aligned columns (right-aligned for the indexes in `right`), two spaces apart;
    cells are made printable first, so that the widths are those printed."""
    table = [list(header)] + [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    lines = []
    for row in table:
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _macs(stage: dict) -> str:
    text = format_count(stage.get("macs", 0))
    return text if stage.get("macs_known", True) else text + "+?"


def _time(stage: dict) -> str:
    time_us = stage.get("time_us", 0)
    return format_seconds(time_us / 1e6) if time_us else "-"


# A cut can carry dozens of values (weights an exporter copied through
# Identity nodes, the skip connections of a wide block): the table names the
# largest few and counts the rest; --json lists them all.
SHOWN_VALUES = 3


def _crossing(cut: dict) -> str:
    values = sorted(cut.get("crossing", []), key=lambda value: -(value.get("bytes") or 0))
    text = ", ".join(f"{value['name']} {value['type']}" for value in values[:SHOWN_VALUES])
    if len(values) > SHOWN_VALUES:
        text += f", +{len(values) - SHOWN_VALUES} more"
    return text


def _after(cut: dict) -> str:
    values = cut.get("values", [])
    text = ", ".join(values[:SHOWN_VALUES])
    if len(values) > SHOWN_VALUES:
        text += f", +{len(values) - SHOWN_VALUES} more"
    return text


def _cut_bytes(cut: dict) -> str:
    return format_bytes(cut.get("crossing_bytes")) if cut.get("bytes_known", True) else "?"


def _stage_rows(plan, labels: Sequence[str]) -> list[str]:
    header = ["stage", "first layer", "last layer", "nodes", "params", "MACs", "time"]
    with_transfer = any(stage.get("transfer_us", 0) for stage in plan.stages)
    if with_transfer:
        header.append("transfer")
    with_cost = plan.kind == "pipeline"
    if with_cost:
        header.append(f"cost ({plan.objective})")
    rows = []
    for label, stage in zip(labels, plan.stages):
        row = [
            label,
            stage.get("first_layer") or "-",
            stage.get("last_layer") or "-",
            str(stage.get("node_count", 0)),
            format_bytes(stage.get("param_bytes", 0)),
            _macs(stage),
            _time(stage),
        ]
        if with_transfer:
            row.append(format_seconds(stage.get("transfer_us", 0) / 1e6))
        if with_cost:
            row.append(format_cost(stage.get("cost", 0), plan.cost_unit))
        rows.append(row)
    return format_columns(header, rows, right=range(3, len(header)))


def _cut_rows(plan) -> list[str]:
    rows = [
        [str(index + 1), _cut_bytes(cut), str(len(cut.get("crossing", []))), _crossing(cut)]
        for index, cut in enumerate(plan.cuts)
    ]
    lines = format_columns(["cut", "bytes", "values", "crossing (largest first)"], rows, right=[1, 2])
    lines += [f"cut {index + 1} falls after: {_after(cut)}" for index, cut in enumerate(plan.cuts)]
    return lines


def _model_name(plan) -> str:
    return os.path.basename(plan.model) if isinstance(plan.model, str) else "the model"


def _sizes(plan) -> str:
    request = plan.request
    dims = ", ".join(f"{name}={size}" for name, size in request.get("dims", {}).items())
    return f"batch {request.get('batch', 1)}" + (f", {dims}" if dims else "")


def format_pipeline(plan) -> list[str]:
    request = plan.request
    by = {"params": "parameter bytes", "flops": "MACs", "time": "measured time"}.get(
        plan.objective, plan.objective
    )
    profile = request.get("profile")
    if isinstance(profile, dict):
        source = f" (measured: {profile.get('runtime')}, {profile.get('runs')} runs)"
    else:
        source = f" (profile {profile})" if profile else ""
    lines = [
        f"{_model_name(plan)}: {len(plan.stages)} pipeline stages balanced by {by}{source}, {_sizes(plan)}"
    ]
    if request.get("bandwidth"):
        lines[0] += f", transfers at {format_rate(request['bandwidth'])}"
    lines.append("")
    lines += _stage_rows(plan, [str(index + 1) for index in range(len(plan.stages))])
    if plan.cuts:
        lines.append("")
        lines += _cut_rows(plan)
    lines.append("")
    unit = plan.cost_unit
    summary = f"slowest stage {format_cost(plan.bottleneck, unit)}"
    if plan.ideal:
        summary += f" = {plan.bottleneck / plan.ideal:.2f} x the ideal {format_cost(plan.ideal, unit)} (total / stages)"
    if plan.lower_bound:
        summary += f"; no cut of any kind beats {format_cost(plan.lower_bound, unit)}"
    lines.append(summary)
    lines.append(
        "searched every cut of one topological order" + ("" if plan.optimal else " (not exhaustively)")
    )
    return lines


def format_device_server(plan) -> list[str]:
    request = plan.request
    rtt = request.get("rtt", 0)
    link = format_rate(request.get("bandwidth", 0)) + (f" + {format_seconds(rtt)} round trip" if rtt else "")
    lines = [
        f"{_model_name(plan)}: device/server plan, link {link}, {_sizes(plan)}",
        f"best: {plan.placement}, predicted latency {format_seconds(plan.latency_s)}",
        "",
    ]
    if len(plan.stages) == 2:
        labels = ["device", "server"]
    else:
        labels = ["server" if plan.placement == "server only" else "device"] * len(plan.stages)
    lines += _stage_rows(plan, labels)
    if plan.cuts:
        lines.append("")
        lines += _cut_rows(plan)
    if plan.sweep:
        lines += ["", "best plan at each bandwidth:"]
        rows = [
            [
                format_rate(row["bandwidth"]),
                format_seconds(row["latency_s"]),
                row["placement"],
                format_bytes(row.get("crossing_bytes", 0)) if row["placement"] != "device only" else "-",
                ", ".join(row.get("cut_values", [])) or "-",
            ]
            for row in plan.sweep
        ]
        lines += format_columns(
            ["bandwidth", "latency", "placement", "bytes", "cut after"], rows, right=[0, 1, 3]
        )
    searched = "searched every valid 2-way partition (minimum cut)" + (
        "" if plan.optimal else " (not exhaustively)"
    )
    lines += ["", searched]
    return lines


def format_plan(plan) -> str:
    lines = format_device_server(plan) if plan.kind == "device-server" else format_pipeline(plan)
    if plan.unbound_symbols:
        lines.append(
            f"symbols without a size (counted as 1; give --dim NAME=SIZE): {', '.join(plan.unbound_symbols)}"
        )
    lines += [f"warning: {warning}" for warning in plan.warnings]
    return "\n".join(printable(line) for line in lines)
