"""The one backend-specific piece of the bottleneck: the gradient of a scalar
loss (written in keras.ops) with respect to one array of parameters.

TensorFlow (tf.GradientTape), PyTorch (torch.autograd.grad, which leaves the
model's own weights' .grad alone) and JAX (jax.value_and_grad); any other
Keras backend gets a BottleneckError naming it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import keras
import numpy as np

from .errors import BottleneckError

# jax.jit of each loss function (weakly held: one per batch of inputs, dropped with it)
_compiled_for_jax: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def value_and_gradient(loss_of: Callable, parameters: np.ndarray, *constants) -> tuple[float, np.ndarray]:
    """``loss_of(p, *constants)`` and d loss / d p at ``p = parameters``, both as numpy."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        p = tf.convert_to_tensor(parameters)
        with tf.GradientTape() as tape:
            tape.watch(p)
            loss = loss_of(p, *constants)
        return float(loss), tape.gradient(loss, p).numpy()
    if backend == "torch":
        import torch

        p = keras.ops.convert_to_tensor(parameters).detach().requires_grad_(True)
        loss = loss_of(p, *constants)
        (grad,) = torch.autograd.grad(loss, p)
        return float(loss.detach().cpu()), grad.detach().cpu().numpy()
    if backend == "jax":
        import jax

        # NB: compiled once per loss function: op by op, JAX traces every step anew
        # and runs some 20 times slower. The constants are arguments, not captured,
        # so that new noise at each step does not compile again.
        compiled = _compiled_for_jax.get(loss_of)
        if compiled is None:
            compiled = _compiled_for_jax[loss_of] = jax.jit(jax.value_and_grad(loss_of))
        loss, grad = compiled(keras.ops.convert_to_tensor(parameters), *constants)
        return float(loss), np.asarray(grad)
    raise BottleneckError(
        f"the bottleneck needs gradients, which it takes on the tensorflow, torch or jax backends of Keras, "
        f"not on '{backend}' (set KERAS_BACKEND to one of those)"
    )
