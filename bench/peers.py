#!/usr/bin/env python3
"""Cut a model into parts with another tool, for bench/run_bench.py.

    python bench/peers.py TOOL MODEL OUT_DIR SPEC.json

TOOL is one of extract_model, graphsurgeon, sne4onnx. SPEC.json describes the
parts to write, as modelcut reported them:

    {"stem": "enc24_d1024",
     "parts": [{"inputs": [{"name": "x", "type": "float32[batch,64,1024]"}],
                "outputs": [{"name": "/encoder/...", "type": "..."}]}, ...]}

Each part k is written to OUT_DIR/STEM.partK.onnx. All parts are made in this
one process, each the way the tool is meant to be used:

- extract_model: onnx.utils.extract_model(MODEL, PART, inputs, outputs) per
  part, with its defaults (check_model=True, infer_shapes=True); it loads the
  model itself each time and saves with external data above 2 GB.
- graphsurgeon: onnx.load once; per part gs.import_onnx, set graph.inputs /
  graph.outputs to the boundary tensors (dtype and shape from SPEC, which the
  graph does not record for intermediate tensors), cleanup(), export_onnx.
- sne4onnx: sne4onnx.extraction(inputs, outputs, input_onnx_file_path=MODEL)
  per part; it loads the model itself each time.

graphsurgeon and sne4onnx hand back a ModelProto; it is saved with onnx.save,
with all weights in one external .data file when the part exceeds 2 GB
(protobuf's limit), else inline, the same rule extract_model applies.
Only the tool in use is imported.
"""

from __future__ import annotations

import json
import os
import sys

TWO_GB = 2**31 - 1


def _parse_type(text: str):
    """'float32[batch,64,1024]' -> (numpy dtype, ['batch', 64, 1024])."""
    import numpy as np

    dtype, _, dims = text.partition("[")
    shape = []
    for dim in dims.rstrip("]").split(","):
        dim = dim.strip()
        if dim:
            shape.append(int(dim) if dim.lstrip("-").isdigit() else dim)
    return np.dtype(dtype), shape


def _weight_bytes(model) -> int:
    return sum(len(t.raw_data) for t in model.graph.initializer)


def _save(model, path: str) -> None:
    import onnx

    if _weight_bytes(model) + 64 * 2**20 > TWO_GB:
        onnx.save(
            model,
            path,
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=os.path.basename(path) + ".data",
            size_threshold=1024,
        )
    else:
        onnx.save(model, path)


def run_extract_model(model_path, paths, parts):
    import onnx.utils

    for path, part in zip(paths, parts):
        onnx.utils.extract_model(
            model_path,
            path,
            [t["name"] for t in part["inputs"]],
            [t["name"] for t in part["outputs"]],
        )


def run_graphsurgeon(model_path, paths, parts):
    import onnx
    import onnx_graphsurgeon as gs

    model = onnx.load(model_path)
    for path, part in zip(paths, parts):
        graph = gs.import_onnx(model)
        tensors = graph.tensors()
        io = []
        for group in ("inputs", "outputs"):
            chosen = []
            for t in part[group]:
                tensor = tensors[t["name"]]
                dtype, shape = _parse_type(t["type"])
                if tensor.dtype is None:
                    tensor.dtype = dtype
                if tensor.shape is None:
                    tensor.shape = shape
                chosen.append(tensor)
            io.append(chosen)
        graph.inputs, graph.outputs = io
        graph.cleanup()
        exported = gs.export_onnx(graph)
        del graph, tensors
        _save(exported, path)
        del exported


def run_sne4onnx(model_path, paths, parts):
    from sne4onnx import extraction

    for path, part in zip(paths, parts):
        extracted = extraction(
            input_op_names=[t["name"] for t in part["inputs"]],
            output_op_names=[t["name"] for t in part["outputs"]],
            input_onnx_file_path=model_path,
            non_verbose=True,
        )
        _save(extracted, path)
        del extracted


TOOLS = {
    "extract_model": run_extract_model,
    "graphsurgeon": run_graphsurgeon,
    "sne4onnx": run_sne4onnx,
}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in TOOLS:
        print(__doc__, file=sys.stderr)
        return 2
    tool, model_path, out_dir, spec_path = argv
    with open(spec_path) as f:
        spec = json.load(f)
    os.makedirs(out_dir)
    parts = spec["parts"]
    paths = [os.path.join(out_dir, f"{spec['stem']}.part{k + 1}.onnx") for k in range(len(parts))]
    TOOLS[tool](model_path, paths, parts)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
