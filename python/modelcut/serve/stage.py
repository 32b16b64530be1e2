# A stage: the Ray Serve deployment that runs one part on ONNX Runtime. Each
# replica builds its session from the part's files, received through Ray's
# object store (or read at the same path, with shared files). run() takes
# what the stage before gave (the values of the cut, straight from that
# stage's replica, not through the ingress), acts on them at the cut (noise,
# the user's intervention), picks its inputs by name and runs the part.
# With dynamic batching, requests that arrive together are stacked along
# the part's symbolic first dimension, run once and split again.
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Sequence

import numpy as np
from ray import serve

from .failures import StageFailed, one_line
from .options import BoundaryOptions

Values = dict[str, np.ndarray]
Timing = dict[str, list]


def part_source(path: str, shared_files: bool) -> dict:
    """What a replica needs to open the part: its path (shared files), or
    its bytes and its external data files' bytes put in the object store."""
    from .. import _core

    if shared_files:
        return {"path": os.path.abspath(path)}
    import ray

    folder = os.path.dirname(os.path.abspath(path))
    files = {}
    for file in _core.input_files(path):
        with open(file, "rb") as handle:
            files[os.path.relpath(os.path.abspath(file), folder)] = handle.read()
    main = os.path.relpath(os.path.abspath(path), folder)
    # In a list, so that the reference reaches the replica unresolved: it
    # is fetched once, in __init__, on the node the replica runs on.
    return {"main": main, "files": [ray.put(files)]}


@serve.deployment
class Stage:
    def __init__(
        self,
        number: int,
        label: str,
        source: dict,
        cut: BoundaryOptions | None,
        threads: int,
        optimize: bool,
        max_batch_size: int,
        batch_wait_s: float,
    ) -> None:
        from .._ort import make_session
        from ..intervene import gaussian_noise
        from .loopback import keep_replica_grpc_on_node_address

        keep_replica_grpc_on_node_address()
        self._number = number
        self._label = label
        self._cut = cut  # the cut before this stage (None for the first)
        self._noise = gaussian_noise(cut.noise, seed=cut.seed) if cut is not None and cut.noise > 0 else None
        self._folder = None
        if "path" in source:
            model = source["path"]
        else:
            import ray

            files = ray.get(source["files"][0])
            if len(files) == 1:
                model = files[source["main"]]
            else:  # external data is found beside the model: lay the files out again
                self._folder = tempfile.mkdtemp(prefix="modelcut-stage-")
                for name, data in files.items():
                    target = os.path.join(self._folder, name)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as handle:
                        handle.write(data)
                model = os.path.join(self._folder, source["main"])
            del files
        self._session = make_session(model, optimize=optimize, threads=threads)
        self._inputs = [arg.name for arg in self._session.get_inputs()]
        self._outputs = [arg.name for arg in self._session.get_outputs()]
        self._batching = max_batch_size > 1
        if self._batching:
            self._run_batched.set_max_batch_size(max_batch_size)
            self._run_batched.set_batch_wait_timeout_s(batch_wait_s)

    def __del__(self) -> None:
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)

    def node(self) -> str:
        """The Ray node this replica runs on (to check where stages landed)."""
        import ray

        return ray.get_runtime_context().get_node_id()

    async def run(self, inbound: tuple[Values, Timing]) -> tuple[Values, Timing]:
        """The part's outputs for the values the stage before gave (or the
        request's inputs), with `timing` extended by this stage: the seconds
        its run took (stages_s) and how many requests that run served
        (stages_batch, more than 1 when batched)."""
        values, timing = inbound
        feeds = self._feeds(self._at_cut(values))
        try:
            if self._batching:
                outputs, seconds, batch = await self._run_batched(feeds)
            else:
                outputs, seconds, batch = await asyncio.to_thread(self._timed_run, feeds)
        except Exception as error:
            raise StageFailed(
                500, f"stage {self._number} ({self._label}) failed: {type(error).__name__}: {one_line(error)}"
            ) from None
        return outputs, {
            "stages_s": [*timing["stages_s"], seconds],
            "stages_batch": [*timing["stages_batch"], batch],
        }

    def _at_cut(self, values: Values) -> Values:
        if self._cut is None:
            return values
        cut = self._number - 1
        if self._noise is not None:
            values = self._noise(cut - 1, values)
        if self._cut.intervene is not None:
            try:
                changed = self._cut.intervene(cut - 1, dict(values))
            except Exception as error:
                raise StageFailed(
                    500, f"the intervention at cut {cut} failed: {type(error).__name__}: {one_line(error)}"
                ) from None
            values = values if changed is None else dict(changed)
        return values

    def _feeds(self, values: Values) -> Values:
        missing = [name for name in self._inputs if name not in values]
        if missing:
            raise StageFailed(
                500,
                f"stage {self._number} ({self._label}) needs {missing}, which the cut before "
                f"it does not give (given: {sorted(values)})",
            )
        return {name: values[name] for name in self._inputs}

    def _timed_run(self, feeds: Values, requests: int = 1) -> tuple[Values, float, int]:
        """The outputs, the seconds the run took and the requests it served."""
        start = time.perf_counter()
        arrays = self._session.run(self._outputs, feeds)
        return dict(zip(self._outputs, arrays)), time.perf_counter() - start, requests

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.005)
    async def _run_batched(self, requests: list[Values]) -> list[tuple[Values, float, int]]:
        return await asyncio.to_thread(self._run_stacked, requests)

    def _run_stacked(self, requests: Sequence[Values]) -> list[tuple[Values, float, int]]:
        """Runs requests whose inputs agree past the first axis as one batch
        (requests that do not agree, such as other sequence lengths, in
        groups of their own) and gives each request its rows back."""
        groups: dict[tuple, list[int]] = {}
        for index, feeds in enumerate(requests):
            key = tuple((name, value.dtype.str, value.shape[1:]) for name, value in sorted(feeds.items()))
            groups.setdefault(key, []).append(index)
        results: list = [None] * len(requests)
        for members in groups.values():
            if len(members) == 1:
                results[members[0]] = self._timed_run(requests[members[0]])
                continue
            names = list(requests[members[0]])
            stacked = {name: np.concatenate([requests[i][name] for i in members]) for name in names}
            outputs, seconds, _ = self._timed_run(stacked, len(members))
            sizes = [len(requests[i][names[0]]) for i in members]
            bounds = np.cumsum(sizes)[:-1]
            pieces = {name: np.split(value, bounds) for name, value in outputs.items()}
            for position, index in enumerate(members):
                results[index] = ({name: pieces[name][position] for name in outputs}, seconds, len(members))
        return results
