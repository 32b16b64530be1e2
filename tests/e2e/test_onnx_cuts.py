# End-to-end: models exported by the real exporters (tf2onnx for Keras,
# PyTorch's TorchScript and dynamo exporters) are cut at layers named the way
# their framework names them, into 2 and 3 parts; every part must pass the
# full ONNX checker, and the chained parts must reproduce the model on ONNX
# Runtime within 1e-5 (the summary line counts the bit-identical ones).
from collections import Counter

import modelcut
import onnx
import pytest
import zoo
from cut_log import CUT_RESULTS

# Cuts in the order the model computes them, for 3 parts.
THREE_PARTS = {
    "keras_seed": ("fc1", "fc3"),
    "keras_mlp_bias": ("fc1", "fc2"),
    "keras_residual": ("block1_add", "block2_bn1"),
    "keras_mobilenetv2": ("block_3_project_BN", "block_6_expand_relu"),
    "torch_seed": ("fc1", "fc2"),
    "torch_seed_dynamo": ("fc2", "fc3"),
    "torch_resnet": ("layer1", "layer3.1"),
    "torch_resnet_dynamo": ("layer2.0.downsample", "layer4"),
    "torch_googlenet": ("inception3a", "inception4b"),
    "torch_googlenet_dynamo": ("maxpool3", "inception5a"),
    "torch_mobilenetv2": ("features.3", "features.14"),
    "torch_mobilenetv2_dynamo": ("features.0", "features.7"),
    "torch_transformer": ("encoder.layers.0", "encoder.layers.1"),
    "torch_transformer_dynamo": ("embed", "encoder.layers.1"),
}

CASES = [(name, (cut,)) for name, entry in zoo.ZOO.items() for cut in entry.cut_points]
CASES += [(name, cuts) for name, cuts in THREE_PARTS.items() if name in zoo.ZOO]


def names_read(graph: onnx.GraphProto) -> set[str]:
    """Every value name the graph's nodes read, subgraphs included."""
    read = set()
    for node in graph.node:
        read.update(node.input)
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                read |= names_read(subgraph)
    return read


def check_part(part: onnx.ModelProto, original: onnx.ModelProto) -> None:
    onnx.checker.check_model(part, full_check=True)
    assert part.ir_version == original.ir_version
    assert {(o.domain, o.version) for o in part.opset_import} == {
        (o.domain, o.version) for o in original.opset_import
    }
    unused = (
        {t.name for t in part.graph.initializer}
        - names_read(part.graph)
        - {o.name for o in part.graph.output}
    )
    assert not unused, f"part carries initializers it does not use: {sorted(unused)[:5]}"
    for value in [*part.graph.input, *part.graph.output]:
        assert value.type.tensor_type.HasField("shape"), f"{value.name} has no shape"


# "core": the C++ core's own type propagation alone, as a C++ user gets it;
# "onnx": with ONNX shape inference first, as the Python API does by default.
@pytest.mark.parametrize("types", ["onnx", "core"])
@pytest.mark.parametrize(("name", "cuts"), CASES, ids=[f"{n}-{'+'.join(c)}" for n, c in CASES])
def test_cut_verifies_on_onnx_runtime(zoo_model, tmp_path, name, cuts, types):
    path = zoo_model(name)
    original = onnx.load(path)
    result = modelcut.split(path, list(cuts), tmp_path / "parts", infer_shapes=types == "onnx")
    assert len(result.paths) == len(cuts) + 1

    parts = [onnx.load(p) for p in result.paths]
    for part in parts:
        check_part(part, original)
    # Strict chain: each part takes exactly the previous part's outputs.
    for before, after in zip(parts, parts[1:]):
        assert [i.name for i in after.graph.input] == [o.name for o in before.graph.output]
    assert [i.name for i in parts[0].graph.input] == [i.name for i in original.graph.input]
    assert [o.name for o in parts[-1].graph.output] == [o.name for o in original.graph.output]

    report = modelcut.verify(
        path, result.paths, feeds=zoo.make_inputs(name, batch=2, seed=1), atol=1e-5, rtol=0
    )
    assert report.ok, report.format_table()
    worst = max(check.max_abs or 0.0 for check in report.outputs)
    CUT_RESULTS.append((name, cuts, worst, all(check.identical for check in report.outputs)))


@pytest.mark.parametrize("name", sorted(zoo.ZOO))
def test_merge_gives_back_the_original(zoo_model, tmp_path, name):
    path = zoo_model(name)
    cuts = list(THREE_PARTS[name])
    parts = modelcut.split(path, cuts, tmp_path / "parts").paths
    merged_path = tmp_path / "merged.onnx"
    modelcut.merge(parts, merged_path)
    original, merged = onnx.load(path), onnx.load(merged_path)
    onnx.checker.check_model(merged, full_check=True)
    assert Counter(n.SerializeToString() for n in merged.graph.node) == Counter(
        n.SerializeToString() for n in original.graph.node
    )
    assert {t.name: t.SerializeToString() for t in merged.graph.initializer} == {
        t.name: t.SerializeToString() for t in original.graph.initializer
    }
    assert [i.name for i in merged.graph.input] == [i.name for i in original.graph.input]
    assert [o.name for o in merged.graph.output] == [o.name for o in original.graph.output]
    assert modelcut.verify(path, [merged_path], feeds=zoo.make_inputs(name)).ok


@pytest.mark.parametrize("name", ["torch_resnet", "keras_mobilenetv2", "torch_transformer_dynamo"])
def test_split_is_byte_for_byte_deterministic(zoo_model, tmp_path, name):
    path = zoo_model(name)
    cuts = list(THREE_PARTS[name])
    first = modelcut.split(path, cuts, tmp_path / "a").paths
    second = modelcut.split(path, cuts, tmp_path / "b").paths
    assert [open(p, "rb").read() for p in first] == [open(p, "rb").read() for p in second]


def test_noise_at_the_cut_reaches_the_output_and_spares_the_mask(zoo_model, tmp_path):
    name = "torch_transformer"
    path = zoo_model(name)
    parts = modelcut.split(path, ["encoder.layers.0"], tmp_path / "parts").paths
    feeds = zoo.make_inputs(name, batch=2)
    seen = {}

    def record(boundary, values):
        seen.update({key: value.copy() for key, value in values.items()})

    clean = modelcut.run_chain(parts, feeds, intervention=record)
    noise = modelcut.gaussian_noise(0.5, seed=0)
    noisy_seen = {}

    def noisy(boundary, values):
        values = noise(boundary, values)
        noisy_seen.update(values)
        return values

    noisy_out = modelcut.run_chain(parts, feeds, intervention=noisy)
    # The padding mask (bool) crosses untouched; the hidden state gets noise.
    for key, value in seen.items():
        if value.dtype.kind == "f":
            assert not (noisy_seen[key] == value).all(), key
        else:
            assert (noisy_seen[key] == value).all(), key
    assert any(value.dtype == bool for value in seen.values())
    (output,) = clean.keys()
    assert not (noisy_out[output] == clean[output]).all()
