"""Live Keras models: cut a keras.Model in memory into live keras.Model
parts that share its layers (and so its weights), run chains of Keras parts
with interventions at the cuts, and merge Keras parts back into one model.

Where to cut is resolved by the C++ core on the model's config, exactly as
for the model's saved .keras file; the parts are made by calling the
model's own layer objects on new symbolic inputs, never by deserialising.
"""

from .chain import is_keras_part, run_keras_chain
from .flat_graph import is_live_keras
from .merge import merge_keras_files, merge_live
from .split import resolve_live, split_live

__all__ = [
    "is_keras_part",
    "is_live_keras",
    "merge_keras_files",
    "merge_live",
    "resolve_live",
    "run_keras_chain",
    "split_live",
]
