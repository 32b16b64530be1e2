# Models with external data for the tests of this folder, made with onnx's
# own external-data writer, plus a crafted model over 2 GB whose weights are
# a sparse file (cheap to make, zeros except where the test writes values).
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mlp_with_skip(seed: int = 0) -> onnx.ModelProto:
    """x -> fc1 -> relu -> fc2 -> relu -> + x -> fc3: weights big enough to go external."""
    rng = np.random.default_rng(seed)
    weights = {f"w{i}": rng.standard_normal((64, 64)).astype(np.float32) for i in (1, 2, 3)}
    bias = rng.standard_normal(64).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h1"], name="fc1/MatMul"),
        helper.make_node("Relu", ["h1"], ["a1"], name="fc1/Relu"),
        helper.make_node("MatMul", ["a1", "w2"], ["h2"], name="fc2/MatMul"),
        helper.make_node("Add", ["h2", "b"], ["h2b"], name="fc2/Add"),
        helper.make_node("Relu", ["h2b"], ["a2"], name="fc2/Relu"),
        helper.make_node("Add", ["a2", "x"], ["r"], name="skip/Add"),
        helper.make_node("MatMul", ["r", "w3"], ["y"], name="fc3/MatMul"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 64])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()] + [numpy_helper.from_array(bias, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def save_external(model: onnx.ModelProto, path, one_file: bool = True) -> str:
    """Saves with every tensor in external data: one file, or one file per tensor."""
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=one_file,
        location=os.path.basename(path) + ".data" if one_file else None,
        size_threshold=0,
    )
    return str(path)


def set_external(tensor: TensorProto, location: str, offset: int = 0, length: int | None = None) -> None:
    """Points a tensor at external data (no bytes are written)."""
    tensor.ClearField("raw_data")
    del tensor.external_data[:]
    entries = {"location": location, "offset": str(offset)}
    if length is not None:
        entries["length"] = str(length)
    for key, value in entries.items():
        tensor.external_data.add(key=key, value=value)
    tensor.data_location = TensorProto.EXTERNAL


BIG_ELEMENTS = 190_000_000  # float32: 760 MB per tensor, three of them: 2.28 GB in all


def over_two_gigabytes(folder) -> tuple[str, dict[str, np.ndarray]]:
    """A model whose three weights total 2.28 GB, in one sparse external file.

    j = Identity(i); y = Gather(w1, j) + Gather(w2, j) + Gather(w3, j): the gathered elements are
    the only non-zero bytes, so the file costs almost no disk and no time.
    Returns the model path and feeds.
    """
    indices = np.array([0, 12_345, BIG_ELEMENTS // 2, BIG_ELEMENTS - 1], dtype=np.int64)
    tensor_bytes = BIG_ELEMENTS * 4
    data_path = os.path.join(folder, "big.bin")
    with open(data_path, "wb") as data:
        data.truncate(3 * tensor_bytes)
        for k in range(3):
            for position, index in enumerate(indices):
                data.seek(k * tensor_bytes + int(index) * 4)
                data.write(np.float32(10 * k + position + 1).tobytes())
    initializers = []
    for k in range(3):
        tensor = TensorProto(name=f"w{k + 1}", data_type=TensorProto.FLOAT, dims=[BIG_ELEMENTS])
        set_external(tensor, "big.bin", offset=k * tensor_bytes, length=tensor_bytes)
        initializers.append(tensor)
    nodes = [
        helper.make_node("Identity", ["i"], ["j"], name="pre/Identity"),
        helper.make_node("Gather", ["w1", "j"], ["g1"], name="a/Gather"),
        helper.make_node("Gather", ["w2", "j"], ["g2"], name="b/Gather"),
        helper.make_node("Add", ["g1", "g2"], ["s"], name="sum/Add"),
        helper.make_node("Gather", ["w3", "j"], ["g3"], name="c/Gather"),
        helper.make_node("Add", ["s", "g3"], ["y"], name="out/Add"),
    ]
    graph = helper.make_graph(
        nodes,
        "big",
        [helper.make_tensor_value_info("i", TensorProto.INT64, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    path = os.path.join(folder, "big.onnx")
    with open(path, "wb") as file:
        file.write(model.SerializeToString())
    return path, {"i": indices}
