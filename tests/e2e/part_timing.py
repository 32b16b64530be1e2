"""Times chains of parts on ONNX Runtime with one thread, each part fed its predecessor's real outputs.

A part's time is the CPU time of the calling thread during its run: with
one intra-op thread and sequential execution ONNX Runtime computes in that
thread, so time spent waiting for a core on a loaded machine is left out
(wall time is kept too). Several chains (one per way of cutting the same
model) are timed together, interleaved run by run, so that what load still
costs (shared caches, memory bandwidth) falls on all of them alike; each
part's time is the minimum over the rounds, the median is kept too.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort


def one_thread_session(path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@dataclass
class ChainTiming:
    """Per part: min and median CPU milliseconds, min wall milliseconds; per boundary:
    the bytes part k hands to part k+1."""

    min_ms: list[float]
    median_ms: list[float]
    wall_min_ms: list[float]
    boundary_bytes: list[int]
    samples_ms: list[list[float]] = field(repr=False, default_factory=list)

    @property
    def slowest(self) -> float:
        return max(self.min_ms)

    @property
    def ideal(self) -> float:
        """The sum of the part times spread evenly over the parts."""
        return sum(self.min_ms) / len(self.min_ms)

    @property
    def slowest_over_ideal(self) -> float:
        return self.slowest / self.ideal


class _Chain:
    def __init__(self, paths: Sequence, feeds: Mapping[str, np.ndarray]) -> None:
        self.sessions = [one_thread_session(path) for path in paths]
        # Each part's inputs, computed once by running the chain: part k+1
        # takes exactly part k's outputs, by name.
        self.inputs: list[dict[str, np.ndarray]] = []
        self.boundary_bytes: list[int] = []
        current = dict(feeds)
        for index, session in enumerate(self.sessions):
            wanted = [value.name for value in session.get_inputs()]
            missing = [name for name in wanted if name not in current]
            if missing:
                raise ValueError(f"part {index} ({paths[index]}) takes {missing}, missing before it")
            self.inputs.append({name: current[name] for name in wanted})
            names = [value.name for value in session.get_outputs()]
            current = dict(zip(names, session.run(None, self.inputs[-1])))
            if index + 1 < len(self.sessions):
                self.boundary_bytes.append(sum(int(np.asarray(value).nbytes) for value in current.values()))
        self.reset()

    def reset(self) -> None:
        self.cpu: list[list[float]] = [[] for _ in self.sessions]
        self.wall: list[list[float]] = [[] for _ in self.sessions]

    def run_once(self) -> None:
        for index, session in enumerate(self.sessions):
            start_cpu, start_wall = time.thread_time(), time.perf_counter()
            session.run(None, self.inputs[index])
            self.cpu[index].append((time.thread_time() - start_cpu) * 1000.0)
            self.wall[index].append((time.perf_counter() - start_wall) * 1000.0)


def time_chains(
    chains: Mapping[str, Sequence], feeds: Mapping[str, np.ndarray], rounds: int = 10, warmup: int = 2
) -> dict[str, ChainTiming]:
    """Times every chain (name -> part paths in order) on `feeds`, `rounds` times, interleaved."""
    prepared = {name: _Chain(paths, feeds) for name, paths in chains.items()}
    for _ in range(warmup):
        for chain in prepared.values():
            chain.run_once()
    for chain in prepared.values():
        chain.reset()
    for _ in range(rounds):
        for chain in prepared.values():
            chain.run_once()
    return {
        name: ChainTiming(
            min_ms=[min(samples) for samples in chain.cpu],
            median_ms=[statistics.median(samples) for samples in chain.cpu],
            wall_min_ms=[min(samples) for samples in chain.wall],
            boundary_bytes=chain.boundary_bytes,
            samples_ms=chain.cpu,
        )
        for name, chain in prepared.items()
    }
