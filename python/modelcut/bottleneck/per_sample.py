"""The per-sample information bottleneck at a cut (IBA: Schulz et al.,
"Restricting the Flow", ICLR 2020), between two parts of a model.

For each input x, with R = part_a(x), it learns a mask λ = blur(sigmoid(α))
of R's shape and feeds part_b with Z = λR + (1−λ)ε, ε ~ N(μ_R, σ_R²) (μ, σ
per element, from fit_statistics). It minimises, with Adam over α,
    cross-entropy(part_b(Z), target) + β · mean over elements of KL(Q(Z|x) ‖ N(μ_R, σ_R²))
averaged over a batch of noisy copies of x. The KL per element, in bits, is
the information that passes the cut there; summed over channels and resized
to the input it is the attribution map.

Many inputs are optimised at once, each with its own α: the loss is the sum
of the per-input losses, so each α gets exactly its own input's gradient and
Adam (an element-wise rule) moves it as if that input were alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from .errors import BottleneckError
from .gradients import value_and_gradient
from .heatmap import bits, resize_linear, sum_over_channels
from .information import capacity_nats, smooth_mask
from .statistics import CutStatistics, cut_value, fit_cut_statistics, iterate_batches

# Adam's usual constants (the paper uses Adam with its defaults but the learning rate).
_ADAM_BETA_1 = 0.9
_ADAM_BETA_2 = 0.999
_ADAM_EPSILON = 1e-8
# sigmoid(±15) is 3e-7 away from 0 and 1 in float32: α is kept inside so that
# λ stays strictly inside (0, 1) however many steps are asked for.
_ALPHA_LIMIT = 15.0
# Elements that never varied over the sample data (a ReLU that is always 0)
# have σ = 0; this floor keeps their normalised value finite.
_SMALLEST_STD = 1e-5


@dataclass(frozen=True)
class Masks:
    """What the optimisation found for a batch of inputs.

    lam: the smoothed mask λ, shape (batch, *cut value shape), in (0, 1).
    capacity_bits: the information per element at the cut, same shape, bits.
    targets: the class each input was explained for, shape (batch,).
    """

    lam: np.ndarray
    capacity_bits: np.ndarray
    targets: np.ndarray


class Bottleneck:
    """An IBA per-sample bottleneck between two parts of a model.

        bottleneck = Bottleneck(part_a, part_b)       # part_b(part_a(x)) == model(x)
        bottleneck.fit_statistics(train_images)       # μ_R, σ_R of the cut values
        maps = bottleneck.attribution(images, target=labels)   # bits, (batch, H, W)

    part_a must return one tensor (the cut value, batch first); part_b must
    return class scores (batch, classes): logits, or probabilities when its
    last layer is a softmax (``from_logits`` overrides that guess).
    The defaults are the paper's: β = 10 (on the mean information per
    element), 10 Adam steps with learning rate 1, 10 noisy copies of each
    input, α starting at 5 (λ ≈ 0.9933), a Gaussian blur of σ = 1 element
    over the spatial axes of the cut value. ``channel_axis`` names the
    channel axis of the cut value (-1 for Keras' channels_last); every other
    axis but the batch is spatial. ``seed`` fixes the noise: the same inputs
    give the same maps.
    """

    def __init__(
        self,
        part_a,
        part_b,
        *,
        beta: float = 10.0,
        steps: int = 10,
        learning_rate: float = 1.0,
        noise_copies: int = 10,
        initial_alpha: float = 5.0,
        smoothing_sigma: float = 1.0,
        channel_axis: int = -1,
        from_logits: bool | None = None,
        seed: int = 0,
    ) -> None:
        if beta < 0:
            raise BottleneckError(f"beta must be >= 0, got {beta}")
        if steps < 0:
            raise BottleneckError(f"steps must be >= 0, got {steps}")
        if learning_rate <= 0:
            raise BottleneckError(f"learning_rate must be > 0, got {learning_rate}")
        if noise_copies < 1:
            raise BottleneckError(f"noise_copies must be at least 1, got {noise_copies}")
        if smoothing_sigma < 0:
            raise BottleneckError(f"smoothing_sigma must be >= 0, got {smoothing_sigma}")
        if abs(initial_alpha) > _ALPHA_LIMIT:
            raise BottleneckError(f"initial_alpha must be within ±{_ALPHA_LIMIT:g}, got {initial_alpha}")
        self.part_a = part_a
        self.part_b = part_b
        self.beta = float(beta)
        self.steps = int(steps)
        self.learning_rate = float(learning_rate)
        self.noise_copies = int(noise_copies)
        self.initial_alpha = float(initial_alpha)
        self.smoothing_sigma = float(smoothing_sigma)
        self.channel_axis = channel_axis
        self.from_logits = _guess_from_logits(part_b) if from_logits is None else bool(from_logits)
        self.seed = seed
        self.statistics: CutStatistics | None = None

    # -- statistics ---------------------------------------------------------------------------
    def fit_statistics(self, samples, batch_size: int = 128) -> Bottleneck:
        """Estimates μ_R and σ_R per element over ``samples`` (an array, cut into
        ``batch_size`` rows, or an iterable of batches). Returns self."""
        self.statistics = fit_cut_statistics(self.part_a, samples, batch_size)
        return self

    @property
    def mean(self) -> np.ndarray:
        return self._fitted().mean

    @property
    def std(self) -> np.ndarray:
        return self._fitted().std

    # -- attribution --------------------------------------------------------------------------
    def fit_masks(self, x, target=None, batch_size: int = 32) -> Masks:
        """Optimises one mask per input of ``x``, ``batch_size`` inputs at a time.
        ``target``: one class for all, one per input, or None for the class the
        model predicts."""
        statistics = self._fitted()
        x = np.asarray(x)
        if x.ndim == 0 or x.shape[0] == 0:
            raise BottleneckError("the inputs to attribute must be a non-empty batch")
        targets = self._targets(x, target, batch_size)
        rng = np.random.default_rng(self.seed)
        lams, capacities = [], []
        start = 0
        for batch in iterate_batches(x, batch_size):
            stop = start + batch.shape[0]
            lam, capacity = self._optimise(batch, targets[start:stop], statistics, rng)
            lams.append(lam)
            capacities.append(capacity)
            start = stop
        return Masks(lam=np.concatenate(lams), capacity_bits=np.concatenate(capacities), targets=targets)

    def attribution(self, x, target=None, batch_size: int = 32, size: tuple[int, ...] | None = None):
        """The attribution map of each input of ``x``: bits summed over the
        channels of the cut value, resized linearly to ``size`` (default: the
        spatial size of ``x``, when x has the cut value's spatial axes, in the
        same layout, with or without a channel axis). A cut without spatial
        axes (a dense layer) gives the bits of each element instead."""
        masks = self.fit_masks(x, target, batch_size)
        capacity = masks.capacity_bits
        if capacity.ndim == 2:
            return capacity
        channel_axis = _positive_axis(self.channel_axis, capacity.ndim)
        maps = sum_over_channels(capacity, channel_axis)
        size = self._input_size(np.shape(x), capacity.ndim, channel_axis) if size is None else tuple(size)
        return maps if size is None else resize_linear(maps, size)

    # -- internals ----------------------------------------------------------------------------
    def _fitted(self) -> CutStatistics:
        if self.statistics is None:
            raise BottleneckError("the bottleneck has no statistics yet: call fit_statistics(samples) first")
        return self.statistics

    def _targets(self, x: np.ndarray, target, batch_size: int) -> np.ndarray:
        if target is None:
            predicted = [
                np.argmax(_as_numpy(_call(self.part_b, cut_value(self.part_a, batch))), axis=-1)
                for batch in iterate_batches(x, batch_size)
            ]
            return np.concatenate(predicted).astype(np.int64)
        targets = np.asarray(target)
        if not np.issubdtype(targets.dtype, np.integer):
            raise BottleneckError(f"target must be class indices (integers), got dtype {targets.dtype}")
        if targets.ndim == 0:
            targets = np.full(x.shape[0], int(targets))
        if targets.shape != (x.shape[0],):
            raise BottleneckError(
                f"target has shape {targets.shape}; expected one class per input ({x.shape[0]})"
            )
        return targets.astype(np.int64)

    def _optimise(self, x, targets, statistics: CutStatistics, rng) -> tuple[np.ndarray, np.ndarray]:
        value = cut_value(self.part_a, x).astype(np.float32)
        if value.shape[1:] != statistics.mean.shape:
            raise BottleneckError(
                f"the cut value has shape {value.shape[1:]} per sample, but the statistics were fitted "
                f"on {statistics.mean.shape}"
            )
        count, copies = value.shape[0], self.noise_copies
        cut_shape = value.shape[1:]
        spatial_axes = self._spatial_axes(value.ndim)
        normalised = (value - statistics.mean) / np.maximum(statistics.std, _SMALLEST_STD)
        classes = self._class_count(value[:1])
        if targets.min() < 0 or targets.max() >= classes:
            bad = targets[(targets < 0) | (targets >= classes)][0]
            raise BottleneckError(f"target class {bad} is out of range: the model has {classes} classes")
        one_hot = np.eye(classes, dtype=np.float32)[targets][:, None, :]  # (count, 1, classes)
        # Constants as tensors of the backend: torch does not mix its tensors with numpy arrays.
        value_copies = keras.ops.convert_to_tensor(value[:, None])
        normalised_t = keras.ops.convert_to_tensor(normalised)
        one_hot = keras.ops.convert_to_tensor(one_hot)

        def lam_of(alpha):
            return smooth_mask(keras.ops.sigmoid(alpha), spatial_axes, self.smoothing_sigma)

        def loss_of(alpha, noise):
            lam = lam_of(alpha)
            lam_copies = keras.ops.expand_dims(lam, 1)
            z = lam_copies * value_copies + (1.0 - lam_copies) * keras.ops.convert_to_tensor(noise)
            scores = _call(self.part_b, keras.ops.reshape(z, (count * copies, *cut_shape)))
            scores = keras.ops.reshape(scores, (count, copies, classes))
            if self.from_logits:
                log_p = keras.ops.log_softmax(scores, axis=-1)
            else:
                log_p = keras.ops.log(keras.ops.clip(scores, 1e-7, 1.0))
            task = -keras.ops.sum(log_p * one_hot) / copies  # summed over inputs, mean over copies
            information = capacity_nats(lam, normalised_t)
            per_input = keras.ops.mean(keras.ops.reshape(information, (count, -1)), axis=1)
            return task + self.beta * keras.ops.sum(per_input)

        alpha = np.full(value.shape, self.initial_alpha, dtype=np.float32)
        first_moment = np.zeros_like(alpha)
        second_moment = np.zeros_like(alpha)
        for step in range(1, self.steps + 1):
            epsilon = rng.standard_normal((count, copies, *cut_shape), dtype=np.float32)
            noise = statistics.mean + statistics.std * epsilon
            _, grad = value_and_gradient(loss_of, alpha, noise)
            first_moment = _ADAM_BETA_1 * first_moment + (1 - _ADAM_BETA_1) * grad
            second_moment = _ADAM_BETA_2 * second_moment + (1 - _ADAM_BETA_2) * grad**2
            step_size = self.learning_rate * np.sqrt(1 - _ADAM_BETA_2**step) / (1 - _ADAM_BETA_1**step)
            alpha = alpha - step_size * first_moment / (np.sqrt(second_moment) + _ADAM_EPSILON)
            alpha = np.clip(alpha, -_ALPHA_LIMIT, _ALPHA_LIMIT).astype(np.float32)
        lam = lam_of(keras.ops.convert_to_tensor(alpha))
        capacity = capacity_nats(lam, normalised_t)
        return _as_numpy(lam), bits(_as_numpy(capacity))

    def _spatial_axes(self, rank: int) -> tuple[int, ...]:
        channel_axis = _positive_axis(self.channel_axis, rank)
        return tuple(axis for axis in range(1, rank) if axis != channel_axis)

    def _class_count(self, one_value: np.ndarray) -> int:
        scores = _as_numpy(_call(self.part_b, one_value))
        if scores.ndim != 2:
            raise BottleneckError(
                f"the second part must output class scores of shape (batch, classes), not {scores.shape}"
            )
        return scores.shape[1]

    def _input_size(self, x_shape, cut_rank: int, channel_axis: int) -> tuple[int, ...] | None:
        spatial_rank = cut_rank - 2
        if len(x_shape) == cut_rank:  # same layout as the cut value, with a channel axis
            return tuple(dim for axis, dim in enumerate(x_shape) if axis not in (0, channel_axis))
        if len(x_shape) == spatial_rank + 1:  # no channel axis (a grayscale image as (H, W))
            return tuple(x_shape[1:])
        return None


def _positive_axis(axis: int, rank: int) -> int:
    if not -rank < axis < rank or axis % rank == 0:
        raise BottleneckError(
            f"channel_axis {axis} is not an axis of a cut value of rank {rank} (batch first)"
        )
    return axis % rank


def _call(part, x):
    if isinstance(part, keras.Layer):  # keras.Model is a Layer
        return part(x, training=False)
    return part(x)


def _as_numpy(tensor) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(tensor))


def _guess_from_logits(part_b) -> bool:
    """False when part_b ends in a softmax (its outputs are probabilities)."""
    layers = getattr(part_b, "layers", None)
    if not layers:
        return True
    last = layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return False
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "") != "softmax"
