"""ruptures PELT alone on the raw series, rising segments taken as onsets.

Per product:

- missing buckets are filled with the previous value (PELT needs a complete signal);
- the noise level ``sigma`` is estimated robustly from the first differences:
  ``1.4826 x MAD(diff) / sqrt(2)`` (if that is 0, as in very sparse counts, the standard
  deviation of the differences / sqrt(2); at least 0.5);
- PELT with the ``l2`` cost (changes in the mean, which is what an outage is; ``rbf``
  needs an n x n Gram matrix, out of reach for 30,000-point series), ``min_size=2``,
  ``jump=1`` and the BIC-style penalty ``pen = pen_scale x 2 log(n) sigma^2``;
- a segment whose mean exceeds the previous segment's by more than ``margin x sigma`` is
  rising; consecutive rising segments form one incident whose onset is the start of the
  first of them.

Engine: ``ruptures.Pelt(model="l2")`` is pure Python and roughly quadratic (19 s for one
6,048-point series here; more than a minute for 30,240 points even with ``jump=5``).
ruptures also ships PELT in C: ``KernelCPD(kernel="linear").predict(pen=...)``, whose
linear-kernel cost is exactly the ``l2`` cost. Both return the same breakpoints (the
benchmark checks it on one series and reports the check), so the default ``engine="c"``
is the same detector at full resolution (``jump=1``); ``engine="python"`` runs
``Pelt(model="l2", min_size=2, jump=jump)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import ruptures as rpt

from peers.common import concat_incidents, runs

NAME = "pelt"
LABEL = "ruptures PELT (l2, BIC pen)"
DEFAULTS: dict[str, Any] = {"pen_scale": 1.0, "margin": 2.0}
GRID: dict[str, list[Any]] = {"pen_scale": [0.25, 1.0, 4.0, 16.0],
                              "margin": [0.5, 1.0, 2.0, 4.0, 8.0]}
QUICK_GRID: dict[str, list[Any]] = {"pen_scale": [1.0, 4.0], "margin": [1.0, 4.0]}


def robust_sigma(y: np.ndarray) -> float:
    """Noise standard deviation from the first differences (MAD, with fallbacks)."""
    diffs = np.diff(y)
    sigma = 1.4826 * float(np.median(np.abs(diffs - np.median(diffs)))) / math.sqrt(2)
    if sigma == 0:
        sigma = float(np.std(diffs)) / math.sqrt(2)
    return max(sigma, 0.5)


def penalty(y: np.ndarray, pen_scale: float = 1.0) -> tuple[float, float]:
    """BIC-style penalty ``pen_scale x 2 log(n) sigma^2`` and ``sigma``."""
    sigma = robust_sigma(y)
    return pen_scale * 2.0 * math.log(len(y)) * sigma ** 2, sigma


def breakpoints(y: np.ndarray, pen: float, engine: str = "c", jump: int = 1) -> np.ndarray:
    """PELT breakpoints (segment ends, exclusive; the last is ``len(y)``).

    Parameters
    ----------
    y : np.ndarray
        Complete signal.
    pen : float
        Penalty per change point.
    engine : {"c", "python"}
        ``KernelCPD(kernel="linear")`` (C) or ``Pelt(model="l2")`` (pure Python).
    jump : int
        Subsampling of admissible change points (Python engine only).
    """
    if engine == "python":
        algo = rpt.Pelt(model="l2", min_size=2, jump=jump).fit(y)
    else:
        algo = rpt.KernelCPD(kernel="linear", min_size=2).fit(y)
    return np.asarray(algo.predict(pen=pen), dtype=int)


def rising_incidents(y: np.ndarray, bkps: np.ndarray, sigma: float, margin: float,
                     index: pd.DatetimeIndex, product: str) -> pd.DataFrame:
    """Incidents from runs of rising segments."""
    starts = np.concatenate(([0], bkps[:-1]))
    means = np.add.reduceat(y, starts) / (bkps - starts)
    rising = np.zeros(len(starts), dtype=bool)
    rising[1:] = np.diff(means) > margin * sigma
    first, last = runs(rising)
    return pd.DataFrame({"product": product, "onset": index[starts[first]],
                         "end": index[bkps[last] - 1]})


def fill(values: np.ndarray) -> np.ndarray:
    """Fill missing buckets with the previous value (the next one at the start)."""
    return pd.Series(values).ffill().bfill().fillna(0.0).to_numpy(dtype=float)


def detect(counts: pd.DataFrame, bucket: pd.Timedelta, *, pen_scale: float = 1.0,
           margin: float = 2.0) -> pd.DataFrame:
    """Detect incidents as runs of rising PELT segments.

    Parameters
    ----------
    counts : pd.DataFrame
        Wide counts per bucket and product.
    bucket : pd.Timedelta
        Bucket size (unused: PELT sees positions only).
    pen_scale : float
        Multiplier of the BIC-style penalty ``2 log(n) sigma^2``.
    margin : float
        Rise of a segment's mean over the previous one, in units of ``sigma``.

    Returns
    -------
    pd.DataFrame
        ``product, onset, end``.
    """
    return detect_grid(counts, bucket, [{"pen_scale": pen_scale, "margin": margin}])[0]


def detect_grid(counts: pd.DataFrame, bucket: pd.Timedelta,
                settings: list[dict[str, Any]]) -> list[pd.DataFrame]:
    """Run several settings; PELT runs once per penalty, the margins are cheap."""
    pens = sorted({s["pen_scale"] for s in settings})
    parts: list[list[pd.DataFrame]] = [[] for _ in settings]
    for product in counts.columns:
        y = fill(counts[product].to_numpy(dtype=float))
        base, sigma = penalty(y)
        bkps = {p: breakpoints(y, p * base) for p in pens}
        for i, s in enumerate(settings):
            parts[i].append(rising_incidents(y, bkps[s["pen_scale"]], sigma, s["margin"],
                                             counts.index, str(product)))
    return [concat_incidents(p) for p in parts]
