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
from .api import SplitResult, inspect, merge, resolve, split
from .intervene import ChainError, gaussian_noise, run_chain
from .plan import Plan, plan, plan_device_server, profile
from .verify import VerifyReport, verify

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
    # modelcut.bottleneck imports keras (and its backend): only on first use,
    # so that `import modelcut` stays light for ONNX users.
    if name == "bottleneck":
        import importlib

        return importlib.import_module(".bottleneck", __name__)
    raise AttributeError(f"module 'modelcut' has no attribute {name!r}")
