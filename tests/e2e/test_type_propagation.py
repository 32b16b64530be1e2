"""Differential test: the C++ core's type propagation against ONNX's own shape inference.

The C++ core propagates types itself for values a model records none for
(src/formats/onnx/infer_types.cpp), and what it finds becomes the declared
input type of a part. So it must never be wrong: wherever it answers and a
reference answers too, element type, rank and every concrete size must agree.
References are ONNX's shape inference (onnx.shape_inference.infer_shapes) and,
for ONNX's node test models, the recorded types of the expected outputs.

Models: every node test case of the installed onnx package (generated from
onnx.backend.test.case, since the wheel does not ship the node data), the
model files it ships (light real networks, PyTorch-converted operators) and
models made by the real exporters (tests/e2e/zoo.py). Each is handed to the C++
core with value_info and output types stripped, through a small driver
(tests/cpp/tools/type_propagation_driver.cpp, built here with CMake if needed).
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path

import onnx
import onnx.shape_inference
import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "cpp"
ONNX_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"


@pytest.fixture(scope="module")
def driver() -> Path:
    """The driver binary: $MODELCUT_TYPES_DRIVER, or built in build/cpp (a no-op when up to date)."""
    if os.environ.get("MODELCUT_TYPES_DRIVER"):
        return Path(os.environ["MODELCUT_TYPES_DRIVER"])
    if not (BUILD / "CMakeCache.txt").exists():
        subprocess.run(
            [
                "cmake",
                "-S",
                ROOT,
                "-B",
                BUILD,
                "-G",
                "Ninja",
                "-DCMAKE_BUILD_TYPE=Release",
                "-DMODELCUT_BUILD_TESTS=ON",
            ],
            check=True,
            capture_output=True,
        )
    subprocess.run(
        ["cmake", "--build", BUILD, "--target", "type_propagation_driver"], check=True, capture_output=True
    )
    return BUILD / "type_propagation_driver"


def strip_types(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy with no type for any computed value: the C++ core must work them all out."""
    stripped = onnx.ModelProto()
    stripped.CopyFrom(model)
    del stripped.graph.value_info[:]
    for output in stripped.graph.output:
        output.ClearField("type")
    return stripped


def type_of(type_proto: onnx.TypeProto):
    """(elem_type, dims) of a tensor type, dims None when unranked; ("other", None) for non-tensors."""
    if type_proto.WhichOneof("value") != "tensor_type":
        return ("other", None) if type_proto.WhichOneof("value") else None
    tensor = type_proto.tensor_type
    if not tensor.HasField("shape"):
        return (tensor.elem_type, None)
    dims = []
    for dim in tensor.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(dim.dim_value)
        elif dim.HasField("dim_param"):
            dims.append(dim.dim_param)
        else:
            dims.append(None)
    return (tensor.elem_type, dims)


def onnx_types(model: onnx.ModelProto) -> dict:
    """ONNX's inferred types of the stripped model's values ({} when inference fails)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:
        return {}
    out = {}
    for info in list(inferred.graph.value_info) + list(inferred.graph.output):
        if info.HasField("type") and type_of(info.type) is not None:
            out[info.name] = type_of(info.type)
    return out


def disagreement(name: str, cpp: dict, reference, source: str) -> str | None:
    """Why the C++ answer contradicts the reference, or None when it does not."""
    elem_type, ref_dims = reference
    if elem_type == "other":
        return f"{name}: C++ says a tensor ({cpp}), {source} says a sequence/map/optional"
    if elem_type != 0 and cpp["elem_type"] != elem_type:
        return f"{name}: C++ element type {cpp['elem_type']}, {source} {elem_type}"
    dims = cpp["dims"]
    if dims is None or ref_dims is None:
        return None
    if len(dims) != len(ref_dims):
        return f"{name}: C++ shape {dims}, {source} {ref_dims}"
    for mine, theirs in zip(dims, ref_dims):
        concrete_mismatch = isinstance(mine, int) and isinstance(theirs, int) and mine != theirs
        # A named dim ONNX carries from a graph input is dynamic: no fixed size may stand for it.
        fixed_for_dynamic = (
            isinstance(mine, int) and isinstance(theirs, str) and not theirs.startswith("unk__")
        )
        if concrete_mismatch or fixed_for_dynamic:
            return f"{name}: C++ shape {dims}, {source} {ref_dims}"
    return None


class Tally:
    def __init__(self):
        self.models = self.values = self.compared = self.dims_compared = self.cpp_only = 0
        self.refused: list[str] = []
        self.problems: list[str] = []

    def summary(self) -> str:
        return (
            f"{self.models} models, {self.values} values typed by C++, {self.compared} checked against a "
            f"reference ({self.dims_compared} with both shapes), {self.cpp_only} with no reference shape, "
            f"{len(self.refused)} models refused, {len(self.problems)} disagreements"
        )


def compare(driver: Path, cases: list[tuple[str, onnx.ModelProto, dict]], folder: Path) -> Tally:
    """Runs the C++ core on the stripped models and compares with ONNX and the recorded truths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, references = [], []
    for index, (name, model, truth) in enumerate(cases):
        stripped = strip_types(model)
        path = folder / f"{index:05d}.onnx"
        path.write_bytes(stripped.SerializeToString())
        paths.append(path)
        references.append((name, onnx_types(stripped), truth))
    lines = []
    for start in range(0, len(paths), 500):
        run = subprocess.run(
            [str(driver), *map(str, paths[start : start + 500])], capture_output=True, text=True, timeout=300
        )
        assert run.returncode == 0, f"the driver failed ({run.returncode}): {run.stderr[-2000:]}"
        lines += run.stdout.splitlines()
    assert len(lines) == len(paths)
    tally = Tally()
    for line, (name, inferred, truth) in zip(lines, references):
        result = json.loads(line)
        tally.models += 1
        if "error" in result:
            tally.refused.append(f"{name}: {result['error']}")
            continue
        for value, cpp in result["values"].items():
            tally.values += 1
            refs = [(inferred[value], "ONNX inference")] if value in inferred else []
            if value in truth:
                refs.append((truth[value], "recorded output"))
            if refs:
                tally.compared += 1
            if cpp["dims"] is not None:
                if any(ref[1] is not None for ref, _ in refs):
                    tally.dims_compared += 1
                else:
                    tally.cpp_only += 1
            for reference, source in refs:
                problem = disagreement(value, cpp, reference, source)
                if problem:
                    tally.problems.append(f"{name}: {problem}")
    return tally


def node_test_cases() -> list[tuple[str, onnx.ModelProto, dict]]:
    """ONNX's node test models with the types of their expected outputs."""
    from onnx.backend.test.case import node

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    out = []
    for case in cases:
        if case.model is None:
            continue
        truth = {o.name: type_of(o.type) for o in case.model.graph.output if o.HasField("type")}
        out.append((case.name, case.model, {k: v for k, v in truth.items() if v is not None}))
    for folder in ("light", "simple", "pytorch-converted", "pytorch-operator", "real"):
        for path in sorted((ONNX_DATA / folder).glob("**/*.onnx")):
            model = onnx.load(path, load_external_data=False)
            truth = {o.name: type_of(o.type) for o in model.graph.output if o.HasField("type")}
            out.append(
                (
                    f"{folder}/{path.parent.name}/{path.name}",
                    model,
                    {k: v for k, v in truth.items() if v is not None},
                )
            )
    return out


def report(tally: Tally) -> str:
    text = tally.summary()
    if tally.problems:
        text += "\n" + "\n".join(tally.problems[:60])
    return text


def test_propagation_agrees_with_onnx_on_its_node_tests(driver, tmp_path, capsys):
    cases = node_test_cases()
    assert len(cases) > 1500, "the onnx package's node tests were not found"
    tally = compare(driver, cases, tmp_path / "models")
    with capsys.disabled():
        print(f"\ntype propagation vs ONNX, node tests: {tally.summary()}")
    assert not tally.problems, report(tally)
    # The comparison must have covered real ground, not vacuously passed.
    assert tally.compared > 1500 and tally.dims_compared > 1000, tally.summary()


# Real exporters: TorchScript and dynamo PyTorch exporters, tf2onnx.
ZOO_MODELS = ("torch_resnet", "torch_transformer", "torch_mobilenetv2_dynamo", "keras_mlp_bias")


def test_propagation_agrees_with_onnx_on_exported_models(driver, zoo_model, tmp_path, capsys):
    cases = []
    for name in ZOO_MODELS:
        model = onnx.load(zoo_model(name))
        cases.append((name, model, {}))
    tally = compare(driver, cases, tmp_path / "models")
    with capsys.disabled():
        print(f"\ntype propagation vs ONNX, exported models: {tally.summary()}")
    assert not tally.refused, tally.refused
    assert not tally.problems, report(tally)
    assert tally.dims_compared > 150, tally.summary()
