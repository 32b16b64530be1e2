"""Builds the seed corpus of the fuzz_profile target (tests/fuzz/corpus/fuzz_profile/).

fuzz_profile.cpp plans on a small dataflow built in code; MODEL_TEXT below
is the same graph as an ONNX model (same node names, ops and value sizes).
The seeds: a real profile of that model written by `modelcut profile`, and
hand-written profiles with the same node names that reach the planners'
edges (a node missing, unknown names, zero, tiny and huge times, one of
the profile's other fields of every JSON type). The corpus is committed;
run this again only to change it:

    .venv/bin/python tests/fuzz/make_profile_corpus.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import onnx
import onnx.parser

HERE = Path(__file__).resolve().parent
OUT = HERE / "corpus" / "fuzz_profile"

# Keep in step with build_dataflow() in fuzz_profile.cpp.
MODEL_TEXT = """
<ir_version: 8, opset_import: ["" : 17]>
profiled (float[1, 8] x) => (float[1, 4] y, float[1, 4] aux)
<float[8, 8] w1 = {WEIGHTS64}, float[8, 4] w2 = {WEIGHTS32}, int64[2] halves = {4, 4}>
{
  h = MatMul(x, w1)
  r = Relu(h)
  s = Add(r, x)
  k = Constant <value = float[1] {0.5}> ()
  m = Mul(s, k)
  a, b = Split <axis = 1> (m, halves)
  t = Tanh(a)
  y = Add(t, b)
  aux = MatMul(s, w2)
  unused = Sigmoid(x)
}
"""
NODE_NAMES = [
    "/fc1/MatMul",
    "/fc1/Relu",
    "/res/Add",
    "/scale/Constant",
    "/scale/Mul",
    "/split/Split",
    "/head/Tanh",
    "/head/Add",
    "/aux/MatMul",
    "/unused/Sigmoid",
]


def model() -> onnx.ModelProto:
    text = MODEL_TEXT.replace("WEIGHTS64", ", ".join(str((i % 5 - 2) / 8) for i in range(64))).replace(
        "WEIGHTS32", ", ".join(str((i % 3 - 1) / 4) for i in range(32))
    )
    proto = onnx.parser.parse_model(text)
    for node, name in zip(proto.graph.node, NODE_NAMES, strict=True):
        node.name = name
    onnx.checker.check_model(proto, full_check=True)
    return proto


def profile(nodes: dict, **fields) -> dict:
    return {"format": "modelcut-profile", "version": 1, "model": "profiled.onnx", **fields, "nodes": nodes}


def hand_written() -> dict[str, str]:
    timed = [name for name in NODE_NAMES if name != "/scale/Constant"]
    seeds = {
        "even.json": profile({name: 10.0 for name in timed}),
        "skewed.json": profile({name: float(10 ** (i % 4)) for i, name in enumerate(timed)}),
        # The planners' limits: 1e12 us is the largest time a planner takes.
        "extremes.json": profile(
            {
                "/fc1/MatMul": 0,
                "/fc1/Relu": 1e-9,
                "/res/Add": 1e12,
                "/scale/Mul": 5e-324,
                "/split/Split": 1e12,
                "/head/Tanh": 999999999999.999,
                "/head/Add": 0.0005,
                "/aux/MatMul": 1e12,
                "/unused/Sigmoid": 1e12,
            }
        ),
        # Beyond what the planners take, though the reader accepts it.
        "beyond_planners.json": profile(
            {"/fc1/MatMul": 1.7976931348623157e308, "/head/Add": 1.0000000000001e12}
        ),
        "missing_and_unknown.json": profile(
            {"/fc1/MatMul": 3.5, "/head/Add": 2, "/not/in/Model": 7, "": 1, "/scale/Constant": 4}
        ),
        "empty_nodes.json": profile({}),
        "fields.json": profile(
            {"/fc1/MatMul": 1, "/aux/MatMul": 2},
            machine=None,
            runtime=["ort", 1],
            threads=1.5,
            runs=True,
            dims={"N": 1},
            model={"file": "x"},
        ),
    }
    return {name: json.dumps(content, indent=1) + "\n" for name, content in seeds.items()}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in hand_written().items():
        (OUT / name).write_text(text, encoding="utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        model_path = os.path.join(scratch, "profiled.onnx")
        onnx.save(model(), model_path)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "modelcut.cli",
                "profile",
                model_path,
                "-o",
                str(OUT / "real.json"),
                "--runs",
                "2",
                "--force",
                "-q",
            ],
            check=True,
        )
    for seed in sorted(OUT.iterdir()):
        print(f"{seed.relative_to(HERE)}: {seed.stat().st_size} bytes")


if __name__ == "__main__":
    main()
