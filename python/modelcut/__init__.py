"""modelcut: cut a trained model into parts that compose exactly.

    import modelcut
    result = modelcut.split("model.onnx", at=["fc2"], output_dir="parts")
    report = modelcut.verify("model.onnx", result.paths)
    plan = modelcut.plan("model.onnx", stages=4, balance="flops")    # where to cut
    modelcut.split("model.onnx", at=plan.at, output_dir="stages")
    y = modelcut.run_chain(result.paths, feeds, intervention=modelcut.gaussian_noise(0.1))
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
