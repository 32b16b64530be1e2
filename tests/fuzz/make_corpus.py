"""Builds the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

The seeds are small real models made by the project's own test builders
(real exporters: PyTorch's two ONNX exporters, tf2onnx, Keras 3, tf-keras)
plus ONNX text models that reach the operators the C++ type propagation
knows, with scoped node names as the exporters write them. The corpora are
committed; run this again only to change them:

    .venv/bin/python tests/fuzz/make_corpus.py [--text-only]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path[:0] = [str(TESTS / "e2e"), str(TESTS / "keras"), str(TESTS / "cli")]

import onnx  # noqa: E402
import onnx.parser  # noqa: E402

# Each seed stays small so that libFuzzer's mutations land in structure, not
# in weights.
MAX_SEED_BYTES = 64 * 1024


def weight(name: str, shape: tuple[int, ...]) -> str:
    """An initializer in ONNX text syntax, with small made-up values."""
    count = 1
    for size in shape:
        count *= size
    values = ", ".join(str((i % 7 - 3) / 4) for i in range(count))
    return f"float[{', '.join(map(str, shape))}] {name} = {{{values}}}"


# Graphs without value_info, so that the C++ propagation has to type every
# intermediate value. Node names follow the exporters' scope conventions.
ONNX_TEXT = {
    "conv_pool_flatten.onnx": (
        """
        <ir_version: 8, opset_import: ["" : 17]>
        net (float[N, 3, 8, 8] image) => (float[N, 4] logits)
        <WEIGHTS>
        {
          c = Conv <pads = [1, 1, 1, 1], strides = [1, 1]> (image, w)
          r = Relu(c)
          p = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (r)
          a = AveragePool <kernel_shape = [2, 2], strides = [2, 2]> (p)
          f = Flatten <axis = 1> (a)
          logits = Gemm <transB = 1> (f, fc_w)
        }
        """.replace("WEIGHTS", weight("w", (2, 3, 3, 3)) + ", " + weight("fc_w", (4, 8))),
        [
            "/stem/conv/Conv",
            "/stem/relu/Relu",
            "/stem/pool/MaxPool",
            "/pool2/AveragePool",
            "/flatten/Flatten",
            "/fc/Gemm",
        ],
    ),
    "shapes.onnx": (
        """
        <ir_version: 8, opset_import: ["" : 17]>
        shapes (float[N, 4, 6] x, int64[3] idx) => (float[N, 2, 12] y, float[1, M] z)
        <int64[3] target = {0, 2, 12}, int64[1] axes = {0}>
        {
          s = Shape(x)
          zeros = ConstantOfShape(s)
          t = Transpose <perm = [0, 2, 1]> (x)
          r = Reshape(t, target)
          g = Gather <axis = 1> (x, idx)
          c = Concat <axis = 1> (g, x)
          u = Unsqueeze(c, axes)
          q = Squeeze(u, axes)
          sl = Slice(q, axes, axes)
          y = Add(r, r)
          z = Flatten <axis = 0> (sl)
        }
        """,
        [
            "model/shape/Shape",
            "model/zeros/ConstantOfShape",
            "model/transpose/Transpose",
            "model/reshape/Reshape",
            "model/gather/Gather",
            "model/concat/concat",
            "model/unsqueeze/Unsqueeze",
            "model/squeeze/Squeeze",
            "model/slice/Slice",
            "model/add/Add",
            "model/flatten/Flatten",
        ],
    ),
    # Tiny ones, so that most mutations land in an attribute or a shape. The
    # operators under test produce intermediate values: the propagation
    # types only values the model records no type for.
    "axes.onnx": (
        """
        <ir_version: 8, opset_import: ["" : 17]>
        axes (float[N, 4] x, int64[2] idx) => (float[N, 4] y)
        {
          c = Concat <axis = 1> (x, x)
          g = Gather <axis = 1> (c, idx)
          f = Flatten <axis = 1> (g)
          y = Concat <axis = 1> (f, g)
        }
        """,
        ["/cat/Concat", "/gather/Gather", "/flat/Flatten", "/out/Concat"],
    ),
    "pool.onnx": (
        """
        <ir_version: 8, opset_import: ["" : 17]>
        pool (float[N, 1, 6, 6] x) => (float[N, 1, 1, 1] y)
        {
          m = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (x)
          a = AveragePool <kernel_shape = [3, 3], strides = [3, 3], pads = [0, 0, 0, 0]> (m)
          y = GlobalMaxPool(a)
        }
        """,
        ["/pool/MaxPool", "/avg/AveragePool", "/global/GlobalMaxPool"],
    ),
    "reshape.onnx": (
        """
        <ir_version: 8, opset_import: ["" : 17]>
        reshape (float[N, 6] x) => (float[N, 2, 3] y)
        <int64[3] target = {0, 2, 3}, int64[2] dims = {2, 3}>
        {
          r = Reshape(x, target)
          z = ConstantOfShape(dims)
          y = Add(r, z)
        }
        """,
        ["/reshape/Reshape", "/zeros/ConstantOfShape", "/add/Add"],
    ),
    "nested_if.onnx": (
        """
        <ir_version: 8, opset_import: ["" : 17]>
        nested (bool c, float[2] x) => (float[2] y)
        {
          y = If (c) <
            then_branch = outer_then () => (float[2] t) {
              t = If (c) <
                then_branch = inner_then () => (float[2] u) { u = Relu(x) },
                else_branch = inner_else () => (float[2] v) { v = Neg(x) }
              >
            },
            else_branch = outer_else () => (float[2] e) { e = Identity(x) }
          >
        }
        """,
        ["/outer/If"],
    ),
    "matmul_split_topk.onnx": (
        """
        <ir_version: 8, opset_import: ["" : 17]>
        mm (float[N, 3, 4] a, float[4, 6] b) => (float[N, 3, 3] lo, float[N, 3, 2] top, int64[N, 3, 2] where)
        <int64[1] k = {2}>
        {
          m = MatMul(a, b)
          lo, hi = Split <axis = 2> (m)
          top, where = TopK <axis = -1> (hi, k)
        }
        """,
        ["/block/matmul/MatMul", "/block/split/Split", "/head/TopK"],
    ),
    "if_loop.onnx": (
        """
        <ir_version: 8, opset_import: ["" : 17]>
        ctrl (bool cond, float[N, 4] x, int64 trips) => (float[N, 4] y, float[N, 4] acc)
        {
          y = If (cond) <
            then_branch = then_g () => (float[N, 4] a) { a = Relu(x) },
            else_branch = else_g () => (float[N, 4] b) { b = Neg(x) }
          >
          acc = Loop (trips, cond, x) <
            body = body_g (int64 i, bool c, float[N, 4] v) => (bool c_out, float[N, 4] v_out) {
              c_out = Identity(c)
              v_out = Add(v, x)
            }
          >
        }
        """,
        ["/branch/If", "/loop/Loop"],
    ),
}

ZOO_ONNX = ["keras_seed", "keras_residual", "torch_seed", "torch_seed_dynamo"]

KERAS = ["seed.keras", "residual.keras", "nested.keras", "shared.keras", "ops.keras", "lambda.keras"]
H5 = ["legacy.h5", "legacy_lambda.h5", "keras3.h5"]


def write_text_models(out: Path) -> None:
    for name, (text, node_names) in ONNX_TEXT.items():
        model = onnx.parser.parse_model(text)
        for node, node_name in zip(model.graph.node, node_names):
            node.name = node_name
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, str(out / name))


def write_small_torch_models(out: Path) -> None:
    import zoo

    image = (zoo.InputSpec("input", (3, 16, 16)),)
    tokens = (
        zoo.InputSpec("tokens", (4,), "int64", kind="tokens", high=10),
        zoo.InputSpec("padding_mask", (4,), "bool", kind="padding_mask"),
    )
    # TorchScript only: the dynamo exporter's copy is five times larger
    # (value_info and metadata on every node), and torch_seed_dynamo has its
    # conventions.
    resnet = zoo.make_torch_model("ResNetTiny", 1, widths=(2, 2, 2, 2), num_classes=2)
    zoo.torch_to_onnx(resnet, out / "torch_resnet.onnx", image, False)
    transformer = zoo.make_torch_model(
        "TransformerTiny", 4, vocab=10, seq=4, d_model=8, nhead=2, layers=1, num_classes=2
    )
    zoo.torch_to_onnx(transformer, out / "torch_transformer.onnx", tokens, False)


def main() -> None:
    text_only = sys.argv[1:] == ["--text-only"]  # the ONNX text models alone, quickly
    corpus = HERE / "corpus"
    targets = {name: corpus / name for name in ("fuzz_onnx", "fuzz_keras", "fuzz_h5")}
    for folder in targets.values():
        folder.mkdir(parents=True, exist_ok=True)

    write_text_models(targets["fuzz_onnx"])
    if text_only:
        return
    write_small_torch_models(targets["fuzz_onnx"])
    import zoo

    for name in ZOO_ONNX:
        zoo.build(name, targets["fuzz_onnx"] / f"{name}.onnx")

    import keras_builders

    with tempfile.TemporaryDirectory() as scratch:
        for name in KERAS + H5:
            keras_builders.BUILDERS[name](os.path.join(scratch, name))
            target = targets["fuzz_keras" if name.endswith(".keras") else "fuzz_h5"]
            Path(scratch, name).replace(target / name)

    for folder in targets.values():
        for seed in sorted(folder.iterdir()):
            size = seed.stat().st_size
            print(f"{seed.relative_to(HERE)}: {size} bytes")
            if size > MAX_SEED_BYTES:
                sys.exit(f"{seed}: {size} bytes, over the {MAX_SEED_BYTES} bytes a seed may have")


if __name__ == "__main__":
    main()
