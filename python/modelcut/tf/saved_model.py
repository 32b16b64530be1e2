# SavedModel in, SavedModels out. TensorFlow freezes one signature of the
# model into a GraphDef (variables become constants, functional control flow
# is lowered to TF1 frames); the C++ core cuts that graph like any frozen
# .pb; each part is then written as a SavedModel whose `serving_default`
# signature takes and gives the values at its cuts. Signature keys: the
# model's own keys for its inputs and outputs, the value's name made a valid
# key for the values at the cuts, so part k's output keys are part k+1's
# input keys (the strict chain, as for ONNX parts).
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .. import _core
from ..outputs import check_output, move_output_folder

DEFAULT_SIGNATURE = "serving_default"
SERVE_TAG = "serve"
_PREDICT_METHOD = "tensorflow/serving/predict"


def is_saved_model(path) -> bool:
    """A directory holding a saved_model.pb (or .pbtxt), whatever that entry
    is: check_saved_model_folder then says what is wrong with it, if anything."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    path = os.fspath(path)
    return os.path.isdir(path) and any(
        os.path.lexists(os.path.join(path, name)) for name in ("saved_model.pb", "saved_model.pbtxt")
    )


# A SavedModel is a few files (saved_model.pb, fingerprint.pb, variables/ with
# an index and data shards, assets/): far fewer than this, however large.
MAX_SAVED_MODEL_ENTRIES = 100_000


def check_saved_model_folder(path: str | os.PathLike) -> None:
    """Refuses, before TensorFlow opens anything, a SavedModel folder that
    holds anything but regular files and folders (a FIFO would block
    TensorFlow's read forever, a device could have effects of its own) or a
    symbolic link leading outside the folder: no file outside a model's
    folder is read through a link, as for ONNX external data. Links that
    stay inside are followed, and what they lead to checked alike."""
    path = os.fspath(path)
    folder = os.path.realpath(path)
    pending, seen = [folder], 0
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                seen += 1
                if seen > MAX_SAVED_MODEL_ENTRIES:
                    raise _core.Error(
                        f"{path}: more than {MAX_SAVED_MODEL_ENTRIES} files in the "
                        "SavedModel's folder; not a SavedModel"
                    )
                shown = os.path.join(path, os.path.relpath(entry.path, folder))
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if os.path.commonpath([folder, target]) != folder:
                        raise _core.Error(
                            f"'{shown}' is a symbolic link leading outside the SavedModel's "
                            f"folder (to '{target}'); modelcut reads no file outside a model's "
                            "folder through a link"
                        )
                    if not os.path.exists(target):
                        raise _core.Error(f"'{shown}' is a symbolic link to '{target}', which does not exist")
                    if os.path.isdir(target):
                        continue  # its contents are inside the folder: checked where they are
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                    continue
                _core.check_input_file(shown)  # a regular file, by the core's rule and message
    for name in ("saved_model.pb", "saved_model.pbtxt"):
        if os.path.lexists(os.path.join(path, name)):
            _core.check_input_file(os.path.join(path, name))  # a file, not a folder of that name


def import_tensorflow():
    """TensorFlow, with its logging quiet: it would bury modelcut's own
    lines (see quiet_tensorflow_logs)."""
    quiet_tensorflow_logs()
    try:
        import tensorflow as tf
    except ImportError as error:
        raise _core.Error(
            "reading a SavedModel or running a TensorFlow graph needs TensorFlow: pip install tensorflow"
        ) from error
    return tf


def quiet_tensorflow_logs() -> None:
    """TensorFlow's C++ logging (TF_CPP_MIN_LOG_LEVEL, read when TensorFlow
    loads) and absl's Python logging: errors only, unless the caller set a
    level. Whatever is still logged goes to stderr, never stdout."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_CPP_MIN_VLOG_LEVEL", "0")
    import logging

    if os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("2", "3"):
        logging.getLogger("tensorflow").setLevel(logging.ERROR)  # "WARNING:tensorflow:..." lines
    try:
        from absl import logging as absl_logging
    except ImportError:
        return
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("2", "3"):
        absl_logging.set_verbosity(absl_logging.ERROR)
        absl_logging.set_stderrthreshold("error")


@dataclass
class Frozen:
    """One signature of a SavedModel as a frozen GraphDef.

    `inputs` and `outputs` map the signature's keys to the graph's value
    names (node name, or node:k), in the signature's order."""

    graph_def: bytes
    signature: str
    inputs: dict[str, str]
    outputs: dict[str, str]


def _value_name(tensor_name: str) -> str:
    """A TensorFlow tensor name ("node:0") as the core names the value ("node")."""
    node, _, slot = tensor_name.rpartition(":")
    return node if slot == "0" else tensor_name


def _tensor_name(value_name: str) -> str:
    return value_name if ":" in value_name else value_name + ":0"


def freeze(path: str | os.PathLike, signature: str = DEFAULT_SIGNATURE) -> Frozen:
    """Freezes one signature of the SavedModel at `path` with TensorFlow's
    convert_variables_to_constants_v2, keeping only what its outputs need.

    Loading a SavedModel runs no Python code of its author: it holds graphs
    and checkpointed values only."""
    path = os.fspath(path)
    if not is_saved_model(path):
        raise _core.Error(f"{path}: not a SavedModel directory (no saved_model.pb in it)")
    tf = import_tensorflow()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    loaded = load_saved_model(tf, path)
    signatures = dict(loaded.signatures)
    if signature not in signatures:
        have = ", ".join(sorted(signatures)) or "none"
        raise _core.Error(f"{path}: no signature '{signature}' (it has: {have}); choose one with --signature")
    function = signatures[signature]
    try:
        frozen = convert_variables_to_constants_v2(function)
    except Exception as error:
        raise _core.Error(
            f"{path}: TensorFlow cannot freeze signature '{signature}': {_first_line(error)}"
        ) from error

    # A signature function's placeholders are named by its keys; its outputs
    # come flattened in the order of the sorted keys (tf.nest's dict order).
    input_specs = function.structured_input_signature[1]
    placeholders = {tensor.name.split(":")[0]: tensor.name for tensor in frozen.inputs}
    inputs = {}
    for key in sorted(input_specs):
        name = input_specs[key].name or key
        if name not in placeholders:
            raise _core.Error(
                f"{path}: signature '{signature}' input '{key}' has no placeholder in the frozen graph"
            )
        inputs[key] = _value_name(placeholders[name])
    output_keys = sorted(function.structured_outputs)
    if len(output_keys) != len(frozen.outputs):
        raise _core.Error(
            f"{path}: signature '{signature}' has {len(output_keys)} outputs but the "
            f"frozen graph {len(frozen.outputs)}"
        )
    outputs = {key: _value_name(tensor.name) for key, tensor in zip(output_keys, frozen.outputs)}

    graph_def = frozen.graph.as_graph_def(add_shapes=True)  # shapes for the core's types
    _keep_only_needed(graph_def, [_tensor_name(value).split(":")[0] for value in outputs.values()])
    return Frozen(graph_def.SerializeToString(deterministic=True), signature, inputs, outputs)


def load_saved_model(tf, path: str):
    """tf.saved_model.load, once the folder is checked; TensorFlow's refusal
    as one line naming the SavedModel."""
    check_saved_model_folder(path)
    try:
        return tf.saved_model.load(path)
    except Exception as error:
        reason = _first_line(error)
        if reason.startswith("Cannot parse file"):  # "Cannot parse file b'<path>': <why>"
            reason = reason.partition("': ")[2] or reason
            raise _core.Error(f"{path}: the SavedModel's saved_model.pb cannot be read: {reason}") from error
        raise _core.Error(f"{path}: TensorFlow cannot load this SavedModel: {reason}") from error


def _keep_only_needed(graph_def, output_nodes: list[str]) -> None:
    """Drops the nodes that no output needs, data or control input alike, so
    that the graph's outputs (the nodes nothing reads) are the signature's."""
    nodes = {node.name: node for node in graph_def.node}
    needed, stack = set(), list(output_nodes)
    while stack:
        name = stack.pop()
        if name in needed or name not in nodes:
            continue
        needed.add(name)
        for source in nodes[name].input:
            stack.append(source.lstrip("^").split(":")[0])
    kept = [node for node in graph_def.node if node.name in needed]
    del graph_def.node[:]
    graph_def.node.extend(kept)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


# ---------------------------------------------------------------- keys


_KEY_CHARACTERS = re.compile(r"[^A-Za-z0-9_]")


def boundary_key(value_name: str) -> str:
    """A signature key for a value at a cut: its name with every character
    other than a letter, digit or underscore made an underscore."""
    key = _KEY_CHARACTERS.sub("_", value_name)
    return key if key[:1].isalpha() else "v_" + key


def signature_keys(frozen: Frozen) -> Callable[[str], str]:
    """Value name -> key: the model's keys for its inputs and outputs, the
    boundary key for the rest, made unique against the model's keys."""
    own = {value: key for key, value in frozen.inputs.items()}
    own.update({value: key for key, value in frozen.outputs.items()})
    taken = set(own.values())

    def key_of(value_name: str) -> str:
        if value_name in own:
            return own[value_name]
        key = boundary_key(value_name)
        while key in taken:
            key += "_"
        own[value_name] = key
        taken.add(key)
        return key

    return key_of


def boundary_node_name(value_name: str, node_names: set[str]) -> str:
    """The node that carries a value in a part, as the core names it: the
    node itself for output 0, else `node/output_k` (with underscores added
    while that clashes with a node of the model)."""
    if ":" not in value_name:
        return value_name
    node, _, slot = value_name.rpartition(":")
    name = f"{node}/output_{slot}"
    while name in node_names:
        name += "_"
    return name


# ---------------------------------------------------------------- writing


def write_saved_model(
    graph_def: bytes,
    output_dir: str,
    inputs: dict[str, str],
    outputs: dict[str, str],
) -> None:
    """Writes a GraphDef (weights as constants) as a SavedModel at
    `output_dir`, with one `serving_default` signature mapping each key to
    a tensor of the graph ("node" or "node:k"). The graph is imported
    unchanged (names kept, no prefix); the files are deterministic."""
    tf = import_tensorflow()
    definition = tf.compat.v1.GraphDef()
    definition.ParseFromString(graph_def)
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(definition, name="")
    from tensorflow.core.protobuf import meta_graph_pb2

    signature = meta_graph_pb2.SignatureDef(method_name=_PREDICT_METHOD)
    for mapping, target in ((inputs, signature.inputs), (outputs, signature.outputs)):
        for key, name in mapping.items():
            tensor = graph.get_tensor_by_name(_tensor_name(name))
            target[key].name = tensor.name
            target[key].dtype = tensor.dtype.as_datatype_enum
            target[key].tensor_shape.CopyFrom(tensor.shape.as_proto())
    with tf.compat.v1.Session(graph=graph) as session:
        builder = tf.compat.v1.saved_model.Builder(output_dir)
        builder.add_meta_graph_and_variables(
            session, [SERVE_TAG], signature_def_map={DEFAULT_SIGNATURE: signature}, strip_default_attrs=True
        )
        builder.save()


def split_saved_model(
    path: str | os.PathLike,
    cuts: Sequence[str],
    output_dir: str | os.PathLike,
    *,
    overwrite: bool = False,
    signature: str = DEFAULT_SIGNATURE,
    status: Callable[[str], None] | None = None,
) -> dict:
    """Freezes `signature`, cuts it after each name in `cuts` and writes the
    parts as SavedModel directories `<name>.part<k>` in `output_dir`.

    The parts are made in a temporary folder inside `output_dir` and moved
    into place only once all are written: a failure leaves no part behind.
    Returns the core's split result, with each part's path the directory and
    its "signature" the keys of its inputs and outputs."""
    path = os.fspath(path)
    output_dir = os.fspath(output_dir)
    say = status or (lambda _text: None)
    stem = os.path.basename(os.path.normpath(path)) or "saved_model"
    destinations = [os.path.join(output_dir, f"{stem}.part{index + 1}") for index in range(len(cuts) + 1)]
    _check_destinations(path, destinations, overwrite)
    check_saved_model_folder(path)  # before anything is said to be under way

    say(f"freezing signature '{signature}' of {path} with TensorFlow")
    frozen = freeze(path, signature)
    created = not os.path.isdir(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    try:
        return _split_frozen(path, frozen, cuts, output_dir, stem, destinations, overwrite, say)
    except BaseException:
        if created and not os.listdir(output_dir):
            os.rmdir(output_dir)  # nothing left behind, not even the folder
        raise


def _split_frozen(path, frozen, cuts, output_dir, stem, destinations, overwrite, say) -> dict:
    key_of = signature_keys(frozen)
    with tempfile.TemporaryDirectory(prefix=".modelcut-", dir=output_dir) as work:
        graph_path = os.path.join(work, stem + ".pb")
        with open(graph_path, "wb") as file:
            file.write(frozen.graph_def)
        try:
            result = _core.split(
                graph_path, list(cuts), os.path.join(work, "graphs"), False, [], "inline", 1 << 62, None
            )
        except _core.Error as error:  # name the SavedModel, not the temporary graph
            raise _core.Error(
                str(error).replace(graph_path, f"{path} (signature '{frozen.signature}')")
            ) from None
        node_names = _node_names(frozen.graph_def)
        staged = []
        for index, part in enumerate(result["parts"]):
            say(f"writing part {index + 1} as a SavedModel")
            with open(part["path"], "rb") as file:
                graph_def = file.read()
            part_inputs = {
                key_of(value["name"]): boundary_node_name(value["name"], node_names)
                for value in part["inputs"]
            }
            # A value made in the part, passed through it, or at output k > 0:
            # the core names the node that carries it the same way in each case.
            part_outputs = {
                key_of(value["name"]): boundary_node_name(value["name"], node_names)
                for value in part["outputs"]
            }
            folder = os.path.join(work, f"part{index + 1}")
            write_saved_model(graph_def, folder, part_inputs, part_outputs)
            staged.append(folder)
            part["signature"] = {"inputs": list(part_inputs), "outputs": list(part_outputs)}
        _move_into_place(staged, destinations, overwrite)
    for part, destination in zip(result["parts"], destinations):
        part["path"] = destination
    return result


def _node_names(graph_def: bytes) -> set[str]:
    tf = import_tensorflow()
    definition = tf.compat.v1.GraphDef()
    definition.ParseFromString(graph_def)
    return {node.name for node in definition.node}


def _check_destinations(source: str, destinations: list[str], overwrite: bool) -> None:
    source_real = os.path.realpath(source)
    for destination in destinations:
        real = os.path.realpath(destination)
        if (
            real == source_real
            or source_real.startswith(real + os.sep)
            or real.startswith(source_real + os.sep)
        ):
            raise _core.Error(
                f"{destination}: would overwrite the model being cut; choose another output directory"
            )
        check_output(destination, [source], overwrite)
        if os.path.lexists(destination) and not is_saved_model(destination):
            raise _core.Error(f"{destination}: exists and is not a SavedModel; not overwriting it")


def _move_into_place(staged: list[str], destinations: list[str], overwrite: bool) -> None:
    for folder, destination in zip(staged, destinations):
        move_output_folder(folder, destination, overwrite)
