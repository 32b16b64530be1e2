# Seeded random inputs for profiling, sized as the planner sizes the model:
# the leading symbolic dimension of each input is the batch (--batch), every
# other symbolic dimension must be given (--dim seq=128), so that the times
# measured and the bytes predicted describe the same run.
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .._ort import InputSpec, random_feeds


def sample_inputs(specs: Sequence[InputSpec], batch: int, dims: Mapping[str, int]) -> dict[str, np.ndarray]:
    concrete = []
    for spec in specs:
        if spec.dims is None:
            raise ValueError(
                f"input '{spec.name}' has unknown rank, so no sample can be made; give --inputs feeds.npz"
            )
        shape = []
        for axis, dim in enumerate(spec.dims):
            if isinstance(dim, int):
                shape.append(dim)
                continue
            key = dim if isinstance(dim, str) else f"{spec.name}:{axis}"
            if key in dims:
                shape.append(int(dims[key]))
            elif axis == 0:
                shape.append(batch)
            else:
                raise ValueError(
                    f"input '{spec.name}' axis {axis} has no fixed size ({key!r}): "
                    f"give --dim {key}=SIZE, or --inputs feeds.npz"
                )
        concrete.append(InputSpec(spec.name, spec.dtype, tuple(shape)))
    return random_feeds(concrete, seed=0)
