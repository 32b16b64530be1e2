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
