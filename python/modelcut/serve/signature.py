# What each part takes and gives (names, element types, dimensions), read
# from the part files before anything is deployed, and the check that the
# parts form a chain: every input of part k+1 is an output of part k, of the
# same element type and compatible dimensions. A stage can batch requests
# (Ray Serve dynamic batching) when its inputs and outputs all share one
# symbolic first dimension.
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import onnx

from .. import _core
from .._ort import InputSpec, _dims_text, _spec_from_value_info


@dataclass(frozen=True)
class PartSignature:
    path: str
    inputs: tuple[InputSpec, ...]
    outputs: tuple[InputSpec, ...]

    @property
    def label(self) -> str:
        return os.path.basename(self.path)

    @property
    def batch_symbol(self) -> str | None:
        """The symbolic first dimension shared by every input and output, or
        None: then requests cannot be stacked into one run."""
        values = [*self.inputs, *self.outputs]
        firsts = {spec.dims[0] if spec.dims else None for spec in values}
        if len(firsts) == 1:
            (first,) = firsts
            if isinstance(first, str):
                return first
        return None

    def to_dict(self) -> dict:
        return {
            "part": self.label,
            "inputs": [spec_to_dict(s) for s in self.inputs],
            "outputs": [spec_to_dict(s) for s in self.outputs],
        }


def spec_to_dict(spec: InputSpec) -> dict:
    dims = None if spec.dims is None else list(spec.dims)
    return {"name": spec.name, "dtype": str(spec.dtype), "dims": dims}


def read_signature(path: str | os.PathLike) -> PartSignature:
    """The inputs and outputs of an ONNX part, read from its structure only
    (its weights are not loaded)."""
    path = os.fspath(path)
    _core.check_input_file(path)
    if _core.file_type(path) != "onnx":
        raise _core.Error(f"{path}: modelcut serve runs ONNX parts on ONNX Runtime; this is not an ONNX file")
    graph = onnx.load_from_string(_core.structure_only(path)).graph
    initializers = {init.name for init in graph.initializer}
    try:
        inputs = tuple(_spec_from_value_info(v) for v in graph.input if v.name not in initializers)
        outputs = tuple(_spec_from_value_info(v) for v in graph.output)
    except ValueError as error:
        raise _core.Error(f"{path}: {error}") from None
    return PartSignature(path, inputs, outputs)


def check_chain(signatures: Sequence[PartSignature]) -> None:
    """Raises modelcut.Error naming the first place where the parts do not chain."""
    if not signatures:
        raise _core.Error("no parts given")
    for index in range(1, len(signatures)):
        before, after = signatures[index - 1], signatures[index]
        given = {spec.name: spec for spec in before.outputs}
        for spec in after.inputs:
            where = f"part {index + 1} ({after.label}) input '{spec.name}'"
            source = given.get(spec.name)
            if source is None:
                raise _core.Error(
                    f"the parts do not chain: {where} is not an output of part {index} "
                    f"({before.label}), which gives {sorted(given)}"
                )
            if source.dtype != spec.dtype:
                raise _core.Error(
                    f"the parts do not chain: {where} is {spec.dtype} but part {index} "
                    f"({before.label}) gives {source.dtype}"
                )
            if not _dims_compatible(source.dims, spec.dims):
                raise _core.Error(
                    f"the parts do not chain: {where} has dims {_dims_text(spec.dims)} but "
                    f"part {index} ({before.label}) gives {_dims_text(source.dims)}"
                )


def _dims_compatible(given, taken) -> bool:
    if given is None or taken is None:
        return True
    if len(given) != len(taken):
        return False
    return all(not (isinstance(a, int) and isinstance(b, int)) or a == b for a, b in zip(given, taken))
