"""The error of the bottleneck package: bad input to it (no statistics yet,
a target out of range, a cut the bottleneck cannot use) raises
BottleneckError, a ValueError whose message names what is wrong."""


class BottleneckError(ValueError):
    """Bad input to modelcut.bottleneck."""
