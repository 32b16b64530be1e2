"""modelcut: cut a trained model into parts that compose exactly.

    import modelcut
    result = modelcut.split("model.onnx", at=["fc2"], output_dir="parts")
    report = modelcut.verify("model.onnx", result.paths)
    y = modelcut.run_chain(result.paths, feeds, intervention=modelcut.gaussian_noise(0.1))
"""

from ._core import Error
from .api import SplitResult, inspect, merge, resolve, split
from .intervene import ChainError, gaussian_noise, run_chain
from .verify import VerifyReport, verify

__all__ = [
    "ChainError",
    "Error",
    "SplitResult",
    "VerifyReport",
    "gaussian_noise",
    "inspect",
    "merge",
    "resolve",
    "run_chain",
    "split",
    "verify",
]
__version__ = "0.1.0"
