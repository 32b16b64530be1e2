"""The one backend-specific piece of the bottleneck: the gradient of a scalar
loss (written in keras.ops) with respect to one array of parameters.

TensorFlow (tf.GradientTape), PyTorch (torch.autograd.grad, which leaves the
model's own weights' .grad alone) and JAX (jax.value_and_grad); any other
Keras backend gets a BottleneckError naming it.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from .errors import BottleneckError


def value_and_gradient(loss_of: Callable, parameters: np.ndarray) -> tuple[float, np.ndarray]:
    """``loss_of(p)`` and d loss / d p at ``p = parameters``, both as numpy."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        p = tf.convert_to_tensor(parameters)
        with tf.GradientTape() as tape:
            tape.watch(p)
            loss = loss_of(p)
        return float(loss), tape.gradient(loss, p).numpy()
    if backend == "torch":
        import torch

        p = keras.ops.convert_to_tensor(parameters).detach().requires_grad_(True)
        loss = loss_of(p)
        (grad,) = torch.autograd.grad(loss, p)
        return float(loss.detach().cpu()), grad.detach().cpu().numpy()
    if backend == "jax":
        import jax

        loss, grad = jax.value_and_grad(loss_of)(keras.ops.convert_to_tensor(parameters))
        return float(loss), np.asarray(grad)
    raise BottleneckError(
        f"the bottleneck needs gradients, which it takes on the tensorflow, torch or jax backends of Keras, "
        f"not on '{backend}' (set KERAS_BACKEND to one of those)"
    )
