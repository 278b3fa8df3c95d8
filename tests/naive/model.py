"""Plain-Python twins of the Fellegi-Sunter weights:
slow, obviously right, compared with the kernels by Hypothesis."""
from __future__ import annotations

import numpy as np

from jukimatch.engine.model import Model


def naive_weight(model: Model, row) -> float:
    w = model.prior_weight()
    for f, lv in enumerate(row):
        if lv >= 0:
            w += np.log2(model.m[f][lv] / model.u[f][lv])
    return w
