"""Evidence per bucket of a rise in the count rate, shared by the information bounds.

``bench_burst_ceiling.py`` (an evidence ceiling on family 2) and ``bench_delay_floor.py``
(a floor under the alert delay) both sum the Kullback-Leibler divergence of a bucket's
counts at a raised rate from those at the normal rate.
"""

from __future__ import annotations

import numpy as np


def count_kl(rate: np.ndarray, normal: np.ndarray, shape: float) -> np.ndarray:
    """Per-bucket Kullback-Leibler divergence of the counts at `rate` from those at
    `normal`, where the rate is above normal (0 elsewhere).

    Counts are gamma-Poisson (negative binomial) with shape `shape`, as the simulators
    draw them: ``m ln(m (b + k) / (b (m + k))) + k ln((b + k) / (m + k))`` for rate
    ``m``, normal ``b`` and shape ``k`` (the binomial coefficients cancel); with
    ``shape = inf``, Poisson's ``m ln(m / b) - (m - b)``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if np.isinf(shape):
            kl = rate * np.log(rate / normal) - (rate - normal)
        else:
            kl = (rate * np.log(rate * (normal + shape) / (normal * (rate + shape)))
                  + shape * np.log((normal + shape) / (rate + shape)))
    return np.where((rate > normal) & (normal > 0), kl, 0.0)
