"""modelcut: cut a trained model into parts that compose exactly.

    import modelcut
    result = modelcut.split("model.onnx", at=["fc2"], output_dir="parts")
    report = modelcut.verify("model.onnx", result.paths)
    plan = modelcut.plan("model.onnx", stages=4, balance="flops")    # where to cut
    modelcut.split("model.onnx", at=plan.at, output_dir="stages")
    y = modelcut.run_chain(result.paths, feeds, intervention=modelcut.gaussian_noise(0.1))

A live Keras model (Functional or Sequential) is cut in memory, into live
keras.Model parts that share its layers and weights; no file is written:

    model_a, model_b = modelcut.split(model, at="fc2").models
    y = model_b(model_a(x))                     # == model(x), bit for bit
    y_noisy = model_b(model_a(x) + noise)       # differentiable, trainable

An information bottleneck at the cut (IBA) explains a classifier's decisions:

    bottleneck = modelcut.bottleneck.Bottleneck(model_a, model_b).fit_statistics(train_x)
    maps = bottleneck.attribution(x, target=labels)   # bits per input position
"""

from ._core import Error
from .plan import Plan, plan, plan_device_server, profile  # light: the planners are in the core

# Everything else is imported on first use (PEP 562), so that the command
# line and users of one format do not pay for the others' libraries (onnx,
# ONNX Runtime, Keras): `modelcut split model.keras` starts in about 0.1 s.
# No lazy name may be the name of a submodule: importing the submodule would
# bind its name here to the module (hence verification.py, not verify.py).
_LAZY = {
    "SplitResult": ".api",
    "inspect": ".api",
    "merge": ".api",
    "resolve": ".api",
    "split": ".api",
    "ChainError": ".intervene",
    "gaussian_noise": ".intervene",
    "run_chain": ".intervene",
    "VerifyReport": ".verification",
    "verify": ".verification",
}
_SUBPACKAGES = ("bottleneck", "live", "serve", "tf")

__all__ = [
    "ChainError",
    "Error",
    "Plan",
    "SplitResult",
    "VerifyReport",
    "gaussian_noise",
    "inspect",
    "merge",
    "plan",
    "plan_device_server",
    "profile",
    "resolve",
    "run_chain",
    "split",
    "verify",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'modelcut' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, *_SUBPACKAGES])
