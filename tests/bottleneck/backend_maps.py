"""Run as a script under one Keras backend (KERAS_BACKEND): writes the IBA maps
and masks of the tiny parts to the .npz file named on the command line."""

from __future__ import annotations

import sys

sys.modules.setdefault("triton", None)  # as tests/conftest.py: triton's LLVM and TensorFlow's clash

import keras  # noqa: E402 (after hiding triton)
import numpy as np  # noqa: E402
from modelcut.bottleneck import Bottleneck  # noqa: E402
from tiny_parts import tiny_images, tiny_parts  # noqa: E402


def main(path: str) -> None:
    bottleneck = Bottleneck(*tiny_parts()).fit_statistics(tiny_images(40), batch_size=16)
    images = tiny_images(5, seed=2)
    masks = bottleneck.fit_masks(images, target=[0, 1, 2, 0, 1])
    maps = bottleneck.attribution(images, target=[0, 1, 2, 0, 1])
    np.savez(path, backend=keras.backend.backend(), lam=masks.lam, maps=maps, mean=bottleneck.mean)


if __name__ == "__main__":
    main(sys.argv[1])
