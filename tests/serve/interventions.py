# Interventions the serving tests load as FILE.py:FUNCTION, as users do with
# --intervene: Ray sends this module to the replicas by value.
import numpy as np


def halve_float_values(cut: int, values: dict) -> dict:
    return {
        name: (value * np.float32(0.5) if value.dtype == np.float32 else value)
        for name, value in values.items()
    }


def fail(cut: int, values: dict) -> dict:
    raise RuntimeError("this intervention always fails")
