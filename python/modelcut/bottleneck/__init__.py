"""modelcut.bottleneck: an information bottleneck at the cut (IBA, per sample).

import modelcut
part_a, part_b = modelcut.split(model, at="conv2").models
bottleneck = modelcut.bottleneck.Bottleneck(part_a, part_b).fit_statistics(train_images)
maps = bottleneck.attribution(test_images, target=test_labels)   # bits, one map per image
"""

from .errors import BottleneckError
from .per_sample import Bottleneck, Masks
from .statistics import CutStatistics, fit_cut_statistics

__all__ = ["Bottleneck", "BottleneckError", "CutStatistics", "Masks", "fit_cut_statistics"]
