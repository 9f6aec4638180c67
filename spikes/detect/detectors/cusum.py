"""Sustained-rise detector: a negative-binomial CUSUM against the seasonal baseline."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from spikes.config import DetectionConfig
from spikes.detect.baseline import Baseline
from spikes.detect.detectors.base import Candidate, Detector, runs, score_by_blocks
from spikes.detect.detectors.rises import chart_rises
from spikes.detect.noise import log_likelihood_ratio
from spikes.errors import SpikesInputError

#: Share of the false-alarm budget the steep chart runs at (its threshold is the CUSUM's
#: plus ``ln(1 / share)``): it is added to the CUSUM, not a replacement of it.
STEEP_BUDGET_SHARE = 0.5
#: Expected reports per bucket under which the steep chart gathers evidence (see
#: :class:`SteepCusumDetector`).
SPARSE_MEAN = 1.0


class CusumDetector(Detector):
    """Page's CUSUM of the log-likelihood ratio "rate = ratio x baseline" vs "baseline".

    The statistic ``S_t = max(0, S_{t-1} + LLR_t)`` accumulates evidence of a rise, so an
    outage too mild to stand out in any one bucket is found once it lasts. It is computed
    for a whole series at once as ``C_t - min(0, min_{s<=t} C_s)`` with ``C`` the cumulative
    sum of the LLR. Every excursion of ``S`` above 0 whose maximum reaches the threshold is
    a candidate running from the excursion's start (the change-point estimate of the CUSUM)
    to its maximum (the end of the rise). Missing buckets add no evidence. Where the
    noise is autocorrelated, the evidence of each bucket is divided by the baseline's
    variance inflation, as quasi-likelihood does, so that a persistent wobble does not
    add up to an outage.

    Parameters
    ----------
    ratio : float
        The rise the detector is tuned for (its alternative hypothesis).
    """

    name = "cusum"
    cumulative = True

    def __init__(self, *, ratio: float = 3.0) -> None:
        self.ratio = _checked_ratio(ratio, type(self).__name__)

    def score(self, counts: pd.DataFrame, baseline: Baseline) -> pd.DataFrame:
        """CUSUM statistic in nats per bucket and product."""
        inflation = baseline.inflation_at()

        def cusum(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray, cols: slice) -> np.ndarray:
            return self.statistic(y, mu, alpha,
                                  None if inflation is None else inflation[:, cols])

        return score_by_blocks(counts, baseline, cusum)

    def statistic(self, y: np.ndarray, mu: np.ndarray, alpha: np.ndarray,
                  inflation: np.ndarray | None) -> np.ndarray:
        """The chart ``S_t = max(0, S_{t-1} + LLR_t / inflation_t)`` from ``S = 0``.

        Parameters
        ----------
        y, mu, alpha : np.ndarray
            Counts, baseline and dispersion, one column per product.
        inflation : np.ndarray or None
            Variance inflation per bucket and product (None: 1).

        Returns
        -------
        np.ndarray
        """
        llr = self.evidence(y, mu, alpha)
        if inflation is not None:
            llr /= inflation
        csum = np.cumsum(llr, axis=0)
        floor = np.minimum.accumulate(csum, axis=0, out=llr)
        np.minimum(floor, 0.0, out=floor)
        return np.subtract(csum, floor, out=csum)

    def evidence(self, y: np.ndarray, mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Log-likelihood ratio of each bucket (nats; 0 where a count is missing), the
        increment of the chart before the variance inflation.

        Parameters
        ----------
        y, mu, alpha : np.ndarray
            Counts, baseline and dispersion, one column per product.

        Returns
        -------
        np.ndarray
        """
        return log_likelihood_ratio(y, mu, alpha, self.ratio)

    def candidates(self, scores: np.ndarray, threshold: float) -> list[Candidate]:
        """Rises of the CUSUM by at least `threshold` from its lowest point before them.

        After a large outage the statistic takes a while to drain back to 0, and a second
        outage in that time would otherwise be read as part of the first. Each excursion
        is therefore split into its rises: a rise starts after the lowest value since the
        previous rise peaked, and it ends at its peak, once the statistic has fallen by
        `threshold` from that peak (or the excursion ends).
        """
        starts, stops = runs(scores > 1e-12)
        if len(starts) == 0:
            return []
        tops = np.maximum.reduceat(scores, starts)
        out: list[Candidate] = []
        for lo, hi in zip(starts[tops >= threshold], stops[tops >= threshold], strict=True):
            out.extend(_rises(scores, int(lo), int(hi), threshold))
        return out

    def excursions(self, scores: np.ndarray,
                   reversal: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """The rises of the chart from its running trough
        (:func:`~spikes.detect.detectors.rises.chart_rises`), restarted after a fall by
        `reversal`: what a live alarm reads, which restarts its trough at each decision.

        Parameters
        ----------
        scores : np.ndarray
            The chart of one product.
        reversal : float
            The fall from a rise's peak that ends it and restarts the trough (the live
            calibration passes the configured threshold); ``inf``: the excursions of
            the chart's level above :attr:`excursion_floor` (the retrospective mode's
            history).

        Returns
        -------
        tuple of np.ndarray
            The rises' heights and last positions, in time order.
        """
        return chart_rises(scores, self.excursion_floor, reversal)

    def threshold_is_fixed(self, config: DetectionConfig) -> bool:
        """Whether the configuration sets ``cusum_threshold`` explicitly."""
        return config.cusum_threshold is not None

    def default_threshold(self, config: DetectionConfig, bucket: pd.Timedelta) -> float:
        """``ln(buckets per week / false alarms per week)`` (Lorden's ARL bound)."""
        return config.cusum_h(bucket)


def _rises(scores: np.ndarray, lo: int, hi: int, threshold: float) -> list[Candidate]:
    """Zig-zag segmentation of one excursion ``scores[lo:hi + 1]`` with reversal
    `threshold`: every rise of at least `threshold` from a trough is a candidate."""
    out = []
    trough_val, trough_pos = 0.0, lo - 1  # the excursion starts from 0
    peak_val, peak_pos, alarm = -np.inf, -1, -1
    rising = False
    for i in range(lo, hi + 1):
        v = float(scores[i])
        if not rising:
            if v < trough_val:
                trough_val, trough_pos = v, i
            elif v - trough_val >= threshold:
                rising, peak_val, peak_pos, alarm = True, v, i, i
        elif v > peak_val:
            peak_val, peak_pos = v, i
        elif peak_val - v >= threshold:
            out.append(Candidate(trough_pos + 1, alarm, peak_pos, peak_val - trough_val))
            rising, trough_val, trough_pos = False, v, i
    if rising:
        out.append(Candidate(trough_pos + 1, alarm, peak_pos, peak_val - trough_val))
    return out


class SteepCusumDetector(CusumDetector):
    """The CUSUM of :class:`CusumDetector` tuned for a steep rise (``steep_ratio``).

    Together the two make a multi-chart CUSUM (Lorden's procedure for a change of unknown
    size: one chart per rise, an alarm when either crosses). Each report over a baseline
    adds ``ln(ratio)`` nats to a chart, less ``ratio - 1`` times the baseline itself: at a
    tenfold rise of a quiet product (a few reports over half an hour where one is usual)
    the steep chart gathers the evidence more than twice as fast as the threefold one,
    while a mild rise drives it down. It runs at :data:`STEEP_BUDGET_SHARE` of the
    false-alarm budget: its threshold is the CUSUM's plus ``ln 2``.

    It gathers evidence only from buckets that expect fewer than :data:`SPARSE_MEAN`
    reports. There one or two reports are not improbable on their own, so the per-bucket
    tail detector cannot see a tenfold rise, and the threefold chart gathers ``ln 3`` a
    report. Where a bucket expects one report or more, a tenfold rise is improbable in its
    first bucket and the tail detector raises it; the chart would only give a burst of a
    busy product one more chance to alarm (measured on tweet series with outages
    injected: 0.465 with it everywhere, 0.476 sparse only, 0.482 without it). There the
    chart only drains.

    Parameters
    ----------
    ratio : float or None
        The rise the chart is tuned for (``steep_ratio``); None: the chart is off (it
        scores 0 everywhere and never alarms, so that every product has the same
        detectors).
    """

    name = "steep"

    def __init__(self, *, ratio: float | None = 10.0) -> None:
        self.off = ratio is None
        if not self.off:
            super().__init__(ratio=ratio)  # type: ignore[arg-type]
        else:
            self.ratio = None  # type: ignore[assignment]

    @staticmethod
    def for_config(config: DetectionConfig) -> SteepCusumDetector:
        """The chart of `config`: on where ``steep_ratio`` is above ``cusum_ratio``."""
        on = config.steep_ratio > config.cusum_ratio
        return SteepCusumDetector(ratio=config.steep_ratio if on else None)

    def score(self, counts: pd.DataFrame, baseline: Baseline) -> pd.DataFrame:
        """CUSUM statistic in nats per bucket and product (0 where the chart is off)."""
        if self.off:
            return pd.DataFrame(0.0, index=counts.index, columns=counts.columns)
        return super().score(counts, baseline)

    def evidence(self, y: np.ndarray, mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """:meth:`CusumDetector.evidence` where a bucket expects fewer than
        :data:`SPARSE_MEAN` reports; elsewhere only its fall (the chart drains, it
        gathers nothing there)."""
        llr = super().evidence(y, mu, alpha)
        return np.where(mu >= SPARSE_MEAN, np.minimum(llr, 0.0), llr)

    def statistic(self, y: np.ndarray, mu: np.ndarray, alpha: np.ndarray,
                  inflation: np.ndarray | None) -> np.ndarray:
        """:meth:`CusumDetector.statistic`, 0 without computing it for the products
        whose every bucket expects :data:`SPARSE_MEAN` reports or more (the chart only
        drains from 0 there)."""
        out = np.zeros(y.shape)
        sparse = np.flatnonzero(~(mu >= SPARSE_MEAN).all(axis=0))
        if len(sparse):
            out[:, sparse] = super().statistic(
                y[:, sparse], mu[:, sparse], alpha[:, sparse],
                None if inflation is None else inflation[:, sparse])
        return out

    def threshold_is_fixed(self, config: DetectionConfig) -> bool:
        """Whether the threshold is not calibrated: set explicitly, or the chart off."""
        return self.off or super().threshold_is_fixed(config)

    def default_threshold(self, config: DetectionConfig, bucket: pd.Timedelta) -> float:
        """The CUSUM's threshold plus ``ln(1 / STEEP_BUDGET_SHARE)`` (inf when off)."""
        if self.off:
            return float("inf")
        return config.cusum_h(bucket) + float(np.log(1.0 / STEEP_BUDGET_SHARE))


def _checked_ratio(ratio: object, name: str) -> float:
    """A chart's rise: a number above 1 (a CUSUM tuned for 1 or less looks for no rise)."""
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not ratio > 1:
        raise SpikesInputError(f"{name}: ratio must be a number above 1 (the rise the chart "
                               f"looks for, as a multiple of the baseline), got {ratio!r}")
    return float(ratio)
