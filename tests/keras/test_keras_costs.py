# Costs per layer call of a Keras model mixing the layer kinds modelcut
# counts: each call's MACs against a formula from the layer's config and
# shapes worked out here, parameter bytes against Keras's own count_params(),
# a shared layer's weights counted at its first call only, for .keras and .h5.
import pytest
from modelcut import _core

BATCH = 2


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    import keras

    layers = keras.layers
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    tokens = keras.Input((12,), dtype="int32", name="tokens")
    image = keras.Input((16, 16, 3), name="image")
    x = layers.Embedding(50, 32, name="embed")(tokens)
    x = layers.MultiHeadAttention(num_heads=4, key_dim=8, name="mha")(x, x)
    x = layers.LayerNormalization(name="ln")(x)
    x = layers.Conv1D(16, 3, padding="same", name="conv1d")(x)
    shared = layers.Dense(16, name="shared")
    x = shared(shared(x))
    y = layers.SeparableConv2D(8, 3, padding="same", depth_multiplier=2, name="sep")(image)
    y = layers.BatchNormalization(name="bn")(y)
    y = layers.ReLU(name="relu")(y)
    y = layers.Conv2DTranspose(4, 3, strides=2, padding="same", name="deconv")(y)
    y = layers.DepthwiseConv2D(3, padding="same", name="depthwise")(y)
    y = layers.MaxPooling2D(2, name="pool")(y)
    y = layers.GlobalAveragePooling2D(name="gap")(y)
    z = layers.Concatenate(name="cat")([layers.GlobalAveragePooling1D(name="gap1")(x), y])
    z = layers.Add(name="add")([z, z])
    out = layers.Dense(3, activation="softmax", name="head")(z)
    model = keras.Model([tokens, image], out)
    folder = tmp_path_factory.mktemp("mixed")
    model.save(folder / "mixed.keras")
    model.save(folder / "mixed.h5")
    return model, folder


def expected_macs():
    """By hand, for a batch of 2: the shapes follow from the model above."""
    tokens, width = BATCH * 12, 32
    heads, key_dim = 4, 8
    projections = 3 * tokens * width * heads * key_dim + tokens * heads * key_dim * width
    scores = tokens * 12
    attention = scores * 2 * heads * key_dim + scores * heads * 3  # products + softmax
    return {
        "embed": 0,
        "mha": projections + attention,
        "ln": tokens * width * 4,
        "conv1d": tokens * 16 * 3 * width,
        "shared@0": tokens * 16 * 16,
        "shared@1": tokens * 16 * 16,
        # depthwise (3 channels x 2 per position, 3x3) then pointwise to 8
        "sep": BATCH * 16 * 16 * 6 * 9 + BATCH * 16 * 16 * 6 * 8,
        "bn": BATCH * 16 * 16 * 8,
        "relu": BATCH * 16 * 16 * 8,
        # every input element spreads over 3x3 x 4 outputs
        "deconv": BATCH * 16 * 16 * 8 * 9 * 4,
        "depthwise": BATCH * 32 * 32 * 4 * 9,
        "pool": BATCH * 16 * 16 * 4 * 4,
        "gap": BATCH * 16 * 16 * 4,
        "gap1": tokens * 16,
        "cat": 0,
        "add": BATCH * 20,
        "head": BATCH * 20 * 3,
    }


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_macs_and_parameter_bytes_per_call(mixed, suffix):
    model, folder = mixed
    costs = {c["name"]: c for c in _core.node_costs(str(folder / f"mixed{suffix}"), [], BATCH, {})}
    assert {name: c["macs"] for name, c in costs.items()} == expected_macs()
    assert all(c["macs_known"] for c in costs.values())
    # Every layer's weights exactly, the shared Dense's at its first call.
    for layer in model.layers:
        name = f"{layer.name}@0" if layer.name == "shared" else layer.name
        if name in costs:
            assert costs[name]["param_bytes"] == layer.count_params() * 4, name
    assert costs["shared@1"]["param_bytes"] == 0
    assert sum(c["param_bytes"] for c in costs.values()) == model.count_params() * 4


def test_symbolic_batch_scales_the_macs(mixed):
    _, folder = mixed
    one = {c["name"]: c["macs"] for c in _core.node_costs(str(folder / "mixed.keras"), [], 1, {})}
    eight = {c["name"]: c["macs"] for c in _core.node_costs(str(folder / "mixed.keras"), [], 8, {})}
    assert all(eight[name] == 8 * macs for name, macs in one.items())
