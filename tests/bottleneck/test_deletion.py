"""The issue's deletion check on the digits CNN: blanking the 20% of pixels
with the highest IBA attribution lowers the accuracy over the test split
more than blanking 20% at random (the mean of 5 draws)."""

from __future__ import annotations

import time

from modelcut.bottleneck import Bottleneck


def test_blanking_the_most_attributed_pixels_hurts_more_than_random(
    digits, digits_cnn, digits_parts, fitted_statistics
):
    import attribution

    _, test_x, _, test_y = digits
    bottleneck = Bottleneck(*digits_parts)
    bottleneck.statistics = fitted_statistics
    started = time.perf_counter()
    maps = bottleneck.attribution(test_x, target=test_y, batch_size=64)
    seconds = time.perf_counter() - started
    clean = attribution.accuracy(digits_cnn, test_x, test_y)
    by_attribution, at_random = attribution.deletion_check(digits_cnn, test_x, test_y, maps)
    print(
        f"\n{len(test_x)} test digits, maps in {seconds:.1f} s; accuracy: clean {clean:.3f}, "
        f"20% blanked by attribution {by_attribution:.3f}, at random {at_random:.3f}"
    )
    assert clean > 0.9
    # a clear margin, not a coin flip: the maps must point at the pixels the classifier uses
    assert by_attribution < at_random - 0.05
