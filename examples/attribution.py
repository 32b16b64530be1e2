"""Where does a digit classifier look? An information bottleneck at a cut (IBA).

    python examples/attribution.py [--picture docs/attribution.png]

Trains a small CNN on scikit-learn's bundled 8x8 digits (nothing is
downloaded; a few seconds on 2 cores), cuts the live model after the
convolution "conv2" (modelcut.split: live Keras parts, no files), estimates
the mean and spread of the values there over the training images, and
learns for each test image how much of each value may pass the cut
(modelcut.bottleneck: the per-sample bottleneck of "Restricting the Flow",
Schulz et al., ICLR 2020). The bits that pass, summed over channels, are the
attribution map. It then checks the maps: blanking the 20%
of pixels with the most bits should hurt the classifier more than blanking
20% at random. With --picture it draws some test digits beside their maps.
"""

from __future__ import annotations

import argparse
import time

import keras
import modelcut
import numpy as np
from modelcut.bottleneck import Bottleneck

CUT = "conv2"
SEED = 0


def load_digits_split(seed: int = SEED):
    """(train_x, train_y, test_x, test_y): 8x8x1 images in [0, 1], a stratified 80/20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    return train_test_split(images, digits.target, test_size=0.2, random_state=seed, stratify=digits.target)


def train_digits_cnn(train_x, train_y, epochs: int = 12, seed: int = SEED) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1), name="image"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3"),
            keras.layers.MaxPooling2D(name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(64, activation="relu", name="fc1"),
            keras.layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="digits_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(train_x, train_y, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    return model


def cut(model: keras.Model, at: str) -> tuple[keras.Model, keras.Model]:
    """The two live parts of ``model`` around the layer ``at``: part_b(part_a(x)) == model(x)."""
    return modelcut.split(model, at=at).models


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.predict(images, batch_size=256, verbose=0), axis=1) == labels))


def blank_top(images: np.ndarray, maps: np.ndarray, fraction: float) -> np.ndarray:
    """``images`` with the ``fraction`` of pixels that ``maps`` rates highest set to 0 (the background)."""
    flat = images.reshape(len(images), -1).copy()
    count = round(fraction * flat.shape[1])
    top = np.argsort(-maps.reshape(len(maps), -1), axis=1, kind="stable")[:, :count]
    np.put_along_axis(flat, top, 0.0, axis=1)
    return flat.reshape(images.shape)


def blank_random(images: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    return blank_top(images, rng.random(images.shape[:3]), fraction)


def deletion_check(model, images, labels, maps, fraction: float = 0.2, draws: int = 5, seed: int = SEED):
    """(accuracy with the top ``fraction`` blanked, mean accuracy over ``draws`` random blankings)."""
    rng = np.random.default_rng(seed)
    by_attribution = accuracy(model, blank_top(images, maps, fraction), labels)
    at_random = float(
        np.mean([accuracy(model, blank_random(images, fraction, rng), labels) for _ in range(draws)])
    )
    return by_attribution, at_random


def draw(path: str, images, labels, predicted, maps, columns: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = (len(images) + columns - 1) // columns
    figure, axes = plt.subplots(rows, 2 * columns, figsize=(2.1 * 2 * columns, 2.5 * rows + 0.6))
    axes = np.atleast_2d(axes)
    for index in range(rows * columns):
        image_axis, map_axis = (
            axes[index // columns, 2 * (index % columns)],
            axes[index // columns, 2 * (index % columns) + 1],
        )
        image_axis.axis("off")
        map_axis.axis("off")
        if index >= len(images):
            continue
        image_axis.imshow(images[index, ..., 0], cmap="gray_r", vmin=0, vmax=1)
        verdict = "" if labels[index] == predicted[index] else "  (wrong)"
        image_axis.set_title(
            f"digit {labels[index]}, predicted {predicted[index]}{verdict}", fontsize=9, loc="left"
        )
        shown = map_axis.imshow(maps[index], cmap="inferno", vmin=0)
        map_axis.set_title(f"bits at the cut ({maps[index].sum():.0f} in all)", fontsize=9)
        colorbar = figure.colorbar(shown, ax=map_axis, fraction=0.046, pad=0.03)
        colorbar.ax.tick_params(labelsize=7)
    figure.suptitle(
        f"IBA attribution of a digits CNN cut after '{CUT}' (per-sample bottleneck, β=10, 10 steps)",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--picture", help="draw some test digits beside their maps here (.png)")
    args = parser.parse_args()

    started = time.perf_counter()
    train_x, test_x, train_y, test_y = load_digits_split()
    model = train_digits_cnn(train_x, train_y)
    print(
        f"trained on {len(train_x)} digits in {time.perf_counter() - started:.1f} s; "
        f"test accuracy {accuracy(model, test_x, test_y):.3f} on {len(test_x)} digits"
    )

    part_a, part_b = cut(model, CUT)
    started = time.perf_counter()
    bottleneck = Bottleneck(part_a, part_b).fit_statistics(train_x)
    maps = bottleneck.attribution(test_x, target=test_y, batch_size=64)
    print(
        f"IBA maps of {len(test_x)} test digits at '{CUT}' in {time.perf_counter() - started:.1f} s "
        f"(mean {maps.sum(axis=(1, 2)).mean():.1f} bits per digit)"
    )

    by_attribution, at_random = deletion_check(model, test_x, test_y, maps)
    print(
        f"accuracy with 20% of the pixels blanked: highest attribution first {by_attribution:.3f}, "
        f"at random {at_random:.3f} (mean of 5 draws)"
    )

    if args.picture:
        shown = np.concatenate([np.flatnonzero(test_y == digit)[:1] for digit in range(8)])
        predicted = np.argmax(model.predict(test_x[shown], verbose=0), axis=1)
        draw(args.picture, test_x[shown], test_y[shown], predicted, maps[shown])
        print(f"wrote {args.picture}")


if __name__ == "__main__":
    main()
