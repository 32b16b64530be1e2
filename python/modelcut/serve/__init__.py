"""Serve a chain of parts on Ray Serve, on one machine or across several.

    import modelcut.serve
    served = modelcut.serve.deploy(["parts/m.part1.onnx", "parts/m.part2.onnx"],
                                   {"stages": [{"replicas": 1}, {"replicas": 2}]})
    outputs = served.run({"x": x})          # through the Ray Serve handle
    # or POST an .npz / JSON of the inputs to served.url
    served.shutdown()

Split computing, with the head here and the rest served:

    result = modelcut.serve.run_split(["parts/m.part1.onnx"], "http://server:8000/", {"x": x})

Each part is a Stage deployment (an ONNX Runtime session per replica); an
Ingress deployment checks requests and starts the chain, in which each
stage takes the outputs of the one before by name, straight from its
replica. The client side (Client, run_split) needs no Ray.
"""

# Everything is imported on first use: the command line starts without numpy
# or onnx, and a device running the head of a split (Client, run_split)
# never imports Ray, which only deploy() needs.
_LAZY = {
    "BadRequest": ".wire",
    "BoundaryOptions": ".options",
    "Client": ".client",
    "Config": ".options",
    "Exchange": ".client",
    "RemoteError": ".client",
    "ServeOptions": ".options",
    "ServedChain": ".app",
    "SplitRun": ".client",
    "StageFailed": ".failures",
    "StageOptions": ".options",
    "deploy": ".app",
    "run_split": ".client",
}

__all__ = [
    "BadRequest",
    "BoundaryOptions",
    "Client",
    "Config",
    "Exchange",
    "RemoteError",
    "ServeOptions",
    "ServedChain",
    "SplitRun",
    "StageFailed",
    "StageOptions",
    "deploy",
    "run_split",
]


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'modelcut.serve' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
