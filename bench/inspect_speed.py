#!/usr/bin/env python3
"""Time `inspect` (the C++ core, without ONNX shape inference) on large graphs.

Two models of about --nodes nodes each, built with onnx.helper (not timed):

  chain     x -> Relu -> Relu -> ... -> y: a cut candidate after every node
  residual  blocks y = x + Relu(Relu(Relu(x))): a candidate after every Add

Finding the candidate cuts used to run the whole partition once per candidate
(quadratic); it is now one pass, so doubling --nodes should about double the time.

    python bench/inspect_speed.py [--nodes 16384] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import onnx
from modelcut import _core
from onnx import TensorProto, helper


def chain(nodes: int) -> onnx.ModelProto:
    names = ["x"] + [f"h{i}" for i in range(1, nodes)] + ["y"]
    graph_nodes = [
        helper.make_node("Relu", [names[i]], [names[i + 1]], name=f"relu{i}") for i in range(nodes)
    ]
    return _model(graph_nodes, "chain")


def residual(nodes: int) -> onnx.ModelProto:
    graph_nodes = []
    current = "x"
    for block in range(nodes // 4):
        inner = current
        for step in range(3):
            out = f"b{block}_r{step}"
            graph_nodes.append(helper.make_node("Relu", [inner], [out], name=f"block{block}/relu{step}"))
            inner = out
        out = "y" if block == nodes // 4 - 1 else f"b{block}_sum"
        graph_nodes.append(helper.make_node("Add", [current, inner], [out], name=f"block{block}/add"))
        current = out
    return _model(graph_nodes, "residual")


def _model(graph_nodes: list, name: str) -> onnx.ModelProto:
    graph = helper.make_graph(
        graph_nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 64])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=16384)
    parser.add_argument("--repeat", type=int, default=3, help="runs per model; the best time is printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelcut-inspect-speed-") as folder:
        for build in (chain, residual):
            path = os.path.join(folder, build.__name__ + ".onnx")
            onnx.save(build(args.nodes), path)
            # CPU time too: on a shared machine it moves less than wall time.
            best_wall = best_cpu = float("inf")
            for _ in range(args.repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                report = _core.inspect(path, [])
                best_wall = min(best_wall, time.perf_counter() - wall)
                best_cpu = min(best_cpu, time.process_time() - cpu)
            print(
                f"{build.__name__:9} {report['nodes']:6d} nodes  {len(report['cut_points']):6d} cut points  "
                f"inspect {best_wall:8.3f} s wall, {best_cpu:8.3f} s CPU (best of {args.repeat})"
            )


if __name__ == "__main__":
    main()
