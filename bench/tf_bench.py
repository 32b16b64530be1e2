#!/usr/bin/env python3
"""Benchmark of cutting a large frozen TensorFlow graph (.pb) with modelcut (issue 11).

Times, on the same input in the same run, each in a fresh child process
(bench/measure_child.py: wall time around fork ... wait4, peak RSS):

- cp of the .pb (the floor for a tool that copies the weights);
- `modelcut split MODEL --at fc6 -o DIR -q`, as a user runs it;
- the peer: the usual graph surgery in TensorFlow's Python, which parses the
  whole GraphDef into protobuf objects, takes the first part with
  graph_util.extract_sub_graph, builds the second with a Placeholder for the
  cut value and serializes both (the same two files modelcut writes).

Before each measurement the previous output is deleted, `sync` flushes dirty
pages and the input is read once. Figures are medians of --repeat runs. Once,
untimed, TensorFlow runs the whole graph and modelcut's parts chained and
compares them.

The input (`dense12_4096.pb`: 12 layers MatMul + BiasAdd + Relu of 4096 x
4096 float32 weights, 805 MB, a GraphDef made directly) is made on first use:

    python bench/tf_bench.py [--dir /tmp/modelcut-tf-bench] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run_bench import measure, remove, warm  # noqa: E402

PYTHON = sys.executable
LAYERS, WIDTH = 12, 4096
NAME = f"dense{LAYERS}_{WIDTH}.pb"

# The peer, run as its own process: TensorFlow's protobuf and graph_util.
PEER = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
from tensorflow.python.framework import graph_util
model, cut, out = sys.argv[1:]
graph_def = tf.compat.v1.GraphDef()
with open(model, "rb") as f:
    graph_def.ParseFromString(f.read())
first = graph_util.extract_sub_graph(graph_def, [cut])
kept = {node.name for node in first.node}
second = tf.compat.v1.GraphDef()
second.versions.CopyFrom(graph_def.versions)
placeholder = second.node.add(name=cut, op="Placeholder")
placeholder.attr["dtype"].type = tf.float32.as_datatype_enum
for node in graph_def.node:
    if node.name not in kept:
        second.node.add().CopyFrom(node)
os.makedirs(out)
for index, part in enumerate((first, second), 1):
    with open(os.path.join(out, f"part{index}.pb"), "wb") as f:
        f.write(part.SerializeToString())
"""


def make_model(path: str) -> None:
    """x -> 12 x (MatMul, BiasAdd, Relu) named dense/fc<k>/..., random weights."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    graph_def = tf.compat.v1.GraphDef()
    graph_def.versions.producer = 1882
    x = graph_def.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = tf.float32.as_datatype_enum
    x.attr["shape"].shape.CopyFrom(tf.TensorShape([None, WIDTH]).as_proto())
    previous = "x"
    for k in range(1, LAYERS + 1):
        scope = f"dense/fc{k}"
        kernel = (rng.random((WIDTH, WIDTH), dtype=np.float32) - 0.5) * (2 / WIDTH**0.5)
        bias = (rng.random((WIDTH,), dtype=np.float32) - 0.5) * 0.1
        for name, value in ((f"{scope}/kernel", kernel), (f"{scope}/bias", bias)):
            const = graph_def.node.add(name=name, op="Const")
            const.attr["dtype"].type = tf.float32.as_datatype_enum
            const.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
        matmul = graph_def.node.add(name=f"{scope}/MatMul", op="MatMul", input=[previous, f"{scope}/kernel"])
        matmul.attr["T"].type = tf.float32.as_datatype_enum
        add = graph_def.node.add(name=f"{scope}/BiasAdd", op="BiasAdd", input=[matmul.name, f"{scope}/bias"])
        add.attr["T"].type = tf.float32.as_datatype_enum
        relu = graph_def.node.add(name=f"{scope}/Relu", op="Relu", input=[add.name])
        relu.attr["T"].type = tf.float32.as_datatype_enum
        previous = relu.name
    with open(path, "wb") as f:
        f.write(graph_def.SerializeToString())


def check_in_tensorflow(model: str, parts: list[str]) -> str:
    """The whole graph and the chained parts run by TensorFlow: max abs error."""
    code = f"""
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import modelcut.tf, numpy as np
x = np.random.default_rng(1).random((4, {WIDTH}), dtype=np.float32)
whole = modelcut.tf.load_graph({model!r})
expected = whole.run({{"x": x}})
graphs = [modelcut.tf.load_graph(p) for p in {parts!r}]
values = {{"x": x}}
for graph, following in zip(graphs, graphs[1:] + [None]):
    values = graph.run(values, [s.name for s in following.inputs] if following else None)
print("max abs error", max(float(np.max(np.abs(values[k] - expected[k]))) for k in expected))
"""
    proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return "FAIL: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
    return proc.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/tmp/modelcut-tf-bench")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--at", default="fc6")
    parser.add_argument("--no-peer", action="store_true", help="skip TensorFlow's graph surgery")
    args = parser.parse_args()

    logs = os.path.join(args.dir, "logs")
    os.makedirs(logs, exist_ok=True)
    model = os.path.join(args.dir, NAME)
    if not os.path.exists(model):
        print(f"making {model} (not timed) ...", flush=True)
        make_model(model)
    size = os.path.getsize(model)
    out, copy = os.path.join(args.dir, "out"), os.path.join(args.dir, "copy.pb")
    kept = os.path.join(args.dir, "parts")
    modelcut = os.path.join(os.path.dirname(PYTHON), "modelcut")
    cut_node = f"dense/{args.at}/Relu"

    def prepare():
        remove([out, copy])
        subprocess.run(["sync"], check=True)
        warm([model])

    commands = {
        "cp": ["cp", model, copy],
        "modelcut split": [modelcut, "split", model, "--at", args.at, "-o", out, "-q"],
    }
    if not args.no_peer:
        commands["TF Python: extract_sub_graph"] = [PYTHON, "-c", PEER, model, cut_node, out]
    rows = {name: [] for name in commands}
    for run in range(args.repeat):
        for name, command in commands.items():  # alternated, so that a burst of load hits all
            prepare()
            result = measure(command, os.path.join(logs, f"{name.split()[0]}{run}"), 900, 0)
            if result["rc"] != 0:
                print(f"{name} failed: {result.get('error')}")
                return 1
            rows[name].append(result)
            if name == "modelcut split" and run == 0:
                remove([kept])
                os.rename(out, kept)
    remove([out, copy])
    check = check_in_tensorflow(model, [os.path.join(kept, n) for n in sorted(os.listdir(kept))])

    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, {platform.release()}, load average at end {load[0]:.2f}")
    print(
        f"input: {NAME}, {size / 1e6:.0f} MB ({LAYERS} layers, {WIDTH}x{WIDTH} float32), cut --at {args.at}, "
        f"median of {args.repeat}"
    )
    print()
    print("| command | median wall s | runs s | peak RSS MB | / cp |")
    print("|---|--:|---|--:|--:|")
    cp_median = statistics.median(r["wall"] for r in rows["cp"])
    for name, results in rows.items():
        walls = [r["wall"] for r in results]
        median = statistics.median(walls)
        print(
            f"| {name} | {median:.2f} | {', '.join(f'{w:.2f}' for w in walls)} | "
            f"{max(r['rss_mb'] for r in results):.0f} | {median / cp_median:.2f} |"
        )
    print()
    print(f"parts chained in TensorFlow vs the whole graph: {check}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
