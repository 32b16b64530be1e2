"""Run as a script under another Keras backend (KERAS_BACKEND set by the
caller, test_live_backends.py): cuts the live test models, and prints one
JSON line per model with what the test checks."""

from __future__ import annotations

import json
import os
import sys

sys.modules.setdefault("triton", None)  # as tests/conftest.py: torch must not load triton next to TensorFlow
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import live_models  # noqa: E402
import modelcut  # noqa: E402
import numpy as np  # noqa: E402


def gradient(loss_of, value):
    """d loss_of(value) / d value with the backend's own autodiff."""
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        value = value.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_of(value), value)
        return grad.detach().cpu().numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(loss_of)(value))
    raise SystemExit(f"no gradient for backend {backend}")


def gradient_difference(case, model_a, model_b, weights, through_part):
    """How far the gradient through the parts is from the whole model's.

    PyTorch: of the output with respect to the value at the cut, the whole
    model's taken at its intermediate tensor. JAX differentiates functions,
    not tensors met along the way: there, the gradient with respect to the
    input through the chain (the cut's gradient pulled back through part A)
    against the whole model's."""
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        value, output = case.probe(case.inputs)
        (grad,) = torch.autograd.grad((output * weights).sum(), value)
        return float(np.max(np.abs(through_part - grad.detach().cpu().numpy())))
    if backend == "jax":
        import jax

        inputs = keras.ops.convert_to_tensor(case.inputs)
        chained = jax.grad(lambda x: keras.ops.sum(model_b(model_a(x)) * weights))(inputs)
        whole = jax.grad(lambda x: keras.ops.sum(case.model(x) * weights))(inputs)
        return float(np.max(np.abs(np.asarray(chained) - np.asarray(whole))))
    raise SystemExit(f"no whole-model gradient for backend {backend}")


def main():
    for name in ("seed_model", "residual_model", "nested_backbone"):
        case = getattr(live_models, name)()
        result = modelcut.split(case.model, at=case.at)
        model_a, model_b = result.models
        expected = keras.ops.convert_to_numpy(case.model(case.inputs))
        chained = keras.ops.convert_to_numpy(model_b(model_a(case.inputs)))
        crossing = model_a(case.inputs)
        crossing = list(crossing) if isinstance(crossing, (list, tuple)) else [crossing]
        weights = keras.ops.convert_to_tensor(
            np.random.default_rng(7).normal(size=expected.shape).astype("float32")
        )

        def loss_of(value, crossing=crossing, model_b=model_b, weights=weights):
            output = model_b(value if len(crossing) == 1 else [value, *crossing[1:]])
            return keras.ops.sum(output * weights)

        through_part = gradient(loss_of, crossing[0])
        merged = modelcut.merge(result.models)
        input_name = result.parts[0]["inputs"][0]["name"]
        noisy = modelcut.run_chain(
            result.models, {input_name: case.inputs}, intervention=modelcut.gaussian_noise(0.1)
        )
        print(
            json.dumps(
                {
                    "model": name,
                    "backend": keras.backend.backend(),
                    "chained_equal": bool(np.array_equal(chained, expected)),
                    "merged_equal": bool(
                        np.array_equal(keras.ops.convert_to_numpy(merged(case.inputs)), expected)
                    ),
                    "gradient_nonzero": bool(np.any(through_part != 0)),
                    "gradient_max_difference": gradient_difference(
                        case, model_a, model_b, weights, through_part
                    ),
                    "noise_changes_output": not np.allclose(next(iter(noisy.values())), expected),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
