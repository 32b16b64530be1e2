# Unique names for the layers of a flat part. Keras requires the operations
# of a model to have distinct names, but flattening puts layers of nested
# models beside their parent's ("encoder/proj" beside "proj"). A layer cannot
# be renamed (it is the original model's own object), so a clashing one is
# called through a thin wrapper layer with a new name that calls it: the
# weights, the computation and the gradients stay the layer's own. Names
# follow the core's rule for part files: the layer's path joined with '_'.
from __future__ import annotations

import functools


@functools.cache
def _wrapper_class():
    import keras

    @keras.saving.register_keras_serializable(package="modelcut")
    class RenamedLayer(keras.layers.Layer):
        """Calls `layer` under another name."""

        def __init__(self, layer, **kwargs):
            if isinstance(layer, dict):  # from a saved config
                layer = keras.saving.deserialize_keras_object(layer)
            super().__init__(**kwargs)
            self.layer = layer
            # Arguments reach the wrapped layer as they are: it converts
            # them itself, as it did in the original model.
            self._convert_input_args = False
            self._allow_non_tensor_positional_args = True
            self.built = True

        def call(self, *args, **kwargs):
            return self.layer(*args, **kwargs)

        def get_config(self):
            return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer)}

    return RenamedLayer


def renamed(layer, name: str):
    """`layer`, called under `name`."""
    return _wrapper_class()(layer, name=name, dtype=layer.dtype_policy)


def unique_operations(calls, reserved: set[str]) -> dict[int, object]:
    """For leaf calls about to make one model: id(operation) -> the wrapper
    to call instead, for each operation whose name another operation (or a
    name in `reserved`, such as the inputs') already has. Outer layers keep
    their names first."""
    operations = {}
    for call in sorted(calls, key=lambda call: len(call.path)):
        operations.setdefault(id(call.operation), (call.operation, call.path))
    taken = set(reserved)
    replacements = {}
    for operation, path in operations.values():
        if operation.name not in taken:
            taken.add(operation.name)
            continue
        base = "_".join(path) if len(path) > 1 else operation.name
        name, suffix = base, 1
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(name)
        replacements[id(operation)] = renamed(operation, name)
    return replacements
