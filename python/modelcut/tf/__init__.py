"""TensorFlow graphs: frozen GraphDefs (.pb) and SavedModel directories.

The C++ core reads and cuts frozen GraphDefs itself. A SavedModel is first
frozen by TensorFlow (one signature, variables turned into constants), then
cut by the core, and each part is written back as a SavedModel whose
`serving_default` signature takes and gives the values at its cuts:

    result = modelcut.split("mobilenet_savedmodel", at=["block_3_add", "block_13_expand"],
                            output_dir="parts")
    report = modelcut.verify("mobilenet_savedmodel", result.paths)   # run by TensorFlow

TensorFlow is imported only when one of these is used.
"""

_LAZY = {
    "Frozen": ".saved_model",
    "freeze": ".saved_model",
    "is_saved_model": ".saved_model",
    "split_saved_model": ".saved_model",
    "write_saved_model": ".saved_model",
    "TfGraph": ".runner",
    "load_graph": ".runner",
    "verify_tf": ".verify_tf",
}

__all__ = sorted(_LAZY)  # noqa: PLE0605 (the names are loaded lazily)


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'modelcut.tf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
