"""Live detection stepped a closed bucket at a time, with work that does not grow with
the length of history.

:class:`StreamDetector` keeps, per product, the state the causal pipeline
(:func:`spikes.detect.pipeline.analyze` in live mode) builds as it walks through time,
and updates it with each closed bucket:

- the **baseline** (:mod:`spikes.detect.stream_baseline`): the trailing seasonal fit's
  day loop, a day planned at its first bucket and finished once over;
- the **scores**: the count-tail surprise is per bucket; the CUSUM carries its running
  sum and running minimum (``C_t - min(0, min C)``);
- the **thresholds**: recalibrated at each midnight from the maxima of the excursions
  that ended before it, in the calibration's reach (a year,
  :data:`spikes.detect.live_thresholds.CALIBRATION_HISTORY`;
  :func:`spikes.detect.live_thresholds.threshold_paths`), so the completed maxima of that year
  with their ends, the current excursion (a CUSUM's current rise and trough:
  :class:`spikes.detect.detectors.rises.RiseTracker`) and the count of buckets are
  carried;
- the **incident walk** (:class:`spikes.detect.causal.LiveWalk`): products with no alarm
  pending are scanned for the next alarm in one vectorised pass; a product with an
  alarm, a stretch still pending or an incident still open is walked from its last
  checkpoint (the state before its first decision that later data can still change)
  over a window of its last buckets.

The results equal those of ``analyze`` on the data so far, at every step (the causal
property, see ``tests/test_stream.py``). Only a window of the last days is kept (the
baseline's pools: about three weeks of counts; the walk: a day and a few hours more
than the oldest decision still open), so memory stays flat over weeks.
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spikes.config import WEEK, DetectionConfig, utc_offset
from spikes.detect.annotate import annotate_incidents
from spikes.detect.baseline import Baseline
from spikes.detect.causal import PENDING_QUIET, LiveWalk, WalkState, warmup_buckets
from spikes.detect.detectors import CountTailDetector, Detector
from spikes.detect.detectors.base import product_thresholds
from spikes.detect.detectors.rises import RiseTracker
from spikes.detect.events import event_chance, summarize_events
from spikes.detect.incidents import CONTEXT
from spikes.detect.inputs import check_counts, check_grid
from spikes.detect.known_events import Calendar
from spikes.detect.live_thresholds import calibration_buckets, calibration_start
from spikes.detect.noise import upper_tail_surprise
from spikes.detect.pipeline import (
    SCORE_KEYS,
    default_detectors,
    for_bucket,
    incident_table,
    incidents_with_events,
    status_table,
)
from spikes.detect.reasons import add_reasons, local_offsets
from spikes.detect.ring import Ring
from spikes.detect.stream_baseline import BaselineStep
from spikes.detect.trailing import FIT_COLUMNS
from spikes.errors import SpikesInputError
from spikes.model import ReportData

TAIL = CountTailDetector.name


def _same_records(old: list[tuple[dict[str, object], int]],
                  new: list[tuple[dict[str, object], int]]) -> bool:
    """Whether two lists of incident records with their last rows are equal, value by
    value (a value that does not compare, such as NaN, counts as changed)."""
    if len(old) != len(new):
        return False
    try:
        return all(e0 == e1 and r0.keys() == r1.keys()
                   and all(bool(r0[k] == r1[k]) for k in r0)
                   for (r0, e0), (r1, e1) in zip(old, new, strict=True))
    except (TypeError, ValueError):  # values of no single truth: changed
        return False


@dataclass
class _Product:
    """What the stream keeps of one product between buckets."""

    name: str
    column: int
    config: DetectionConfig  # its own settings (for_bucket applied)
    detectors: dict[str, Detector]
    first_seen: int = -1
    walk: WalkState | None = None  # checkpoint of the incident walk (absolute rows)
    done: list[tuple[dict[str, object], int]] = field(default_factory=list)
    open: list[tuple[dict[str, object], int]] = field(default_factory=list)
    reasons: dict[tuple, str] = field(default_factory=dict)  # why of those not final
    # Threshold calibration, per detector: the maxima of the completed excursions and
    # the rows where they ended, those of the calibration's reach only (typed arrays:
    # 16 bytes an excursion, about 125 KB a detector for a year of 5-minute buckets).
    maxima: dict[str, array] = field(default_factory=dict)
    ends: dict[str, array] = field(default_factory=dict)

    def warm_until(self, bucket: pd.Timedelta) -> int:
        """End of the product's warm-up (from its first bucket on, only the cold start
        raises incidents)."""
        return self.first_seen + warmup_buckets(bucket)


class StreamDetector:
    """The live detector of :func:`spikes.detect.pipeline.analyze`, one step per closed
    bucket.

    Configuration in the constructor, data in the calls: :meth:`step` takes the next
    closed bucket(s) and returns the incidents so far, equal to those of ``analyze`` on
    all the buckets given so far (live mode).

    Parameters
    ----------
    config : DetectionConfig, optional
        Settings (per-product overrides included); the defaults when None. Live mode.
    bucket : pd.Timedelta or str
        Bucket size; it must divide a day.
    calendar : Calendar, optional
        Known-event windows: kept out of the baseline's history and named in the
        incidents' ``known_event``, as :func:`spikes.detect.pipeline.analyze` does.

    Examples
    --------
    >>> idx = pd.date_range("2026-01-01", periods=4, freq="5min", tz="UTC")
    >>> stream = StreamDetector(bucket="5min")
    >>> len(stream.step(pd.DataFrame({"app": [1.0, 2.0, 1.0, 0.0]}, index=idx)))
    0
    """

    def __init__(self, config: DetectionConfig | None = None, *,
                 bucket: pd.Timedelta | str, calendar: Calendar | None = None) -> None:
        self.config = config or DetectionConfig()
        self.calendar = calendar if calendar is not None and len(calendar) else None
        self.bucket = pd.Timedelta(bucket)
        if self.config.mode != "causal":
            raise SpikesInputError("the stream detector runs live (causal) detection only, "
                                   f"not mode={self.config.mode!r}")
        self.products: list[_Product] = []
        self.position: dict[str, int] = {}
        self.labels: list[object] = []
        self.first: pd.Timestamp | None = None
        self.n = 0
        # Baseline blocks, each of products of one setting and one first row of data,
        # from which its days count (as the batch's fit_trailing_baseline).
        self._groups: dict[tuple, list[tuple[BaselineStep, list[int], int]]] = {}
        self._unfitted: set[int] = set()  # products without data yet (no block)
        self._ring: Ring | None = None
        self._names: list[str] = []
        # Per product: running sums of the counts so far (baseline without history),
        # CUSUM sums and minima, thresholds of the day, troughs of the alarm scan.
        self._carry: dict[str, np.ndarray] = {}
        self._ratios: dict[str, np.ndarray] = {}  # per CUSUM chart, its ratio per product
        # Per detector, the excursions its calibration reads (all products): a CUSUM's
        # rises from its trough, the level's excursions of the others (reversal inf).
        self._rises: dict[str, RiseTracker] = {}
        self._version = 0  # bumped whenever an incident record changes
        self._index: tuple[tuple[int, int], pd.DatetimeIndex] | None = None
        self._table: tuple[tuple, pd.DataFrame] | None = None
        self._results_cache: tuple[tuple, pd.DataFrame, pd.DataFrame] | None = None
        #: Absolute row the window must keep, whatever the walk needs (a caller that
        #: reads older incidents' buckets through :meth:`window`, as the live
        #: service's notifier does, sets it); None: only what the walk needs.
        self.retain_from: int | None = None

    # -- input ------------------------------------------------------------------------

    def _check(self, new: pd.DataFrame) -> None:
        """Bad input is a clear error: counts, the grid, the rows following the last."""
        if not isinstance(new, pd.DataFrame) or len(new) == 0:
            raise SpikesInputError("step() needs a DataFrame of at least one closed bucket")
        data = ReportData(counts=new, bucket=self.bucket)
        check_counts(data)
        check_grid(data, self.config)
        if self.first is not None:
            expected = self.first + self.n * self.bucket
            if new.index[0] != expected:
                raise SpikesInputError(
                    f"the buckets given start at {new.index[0]}, but the next closed bucket "
                    f"is {expected}: give every bucket once, in order (NaN where there is "
                    "no data)")

    def _add_products(self, labels: list[object]) -> None:
        """New columns: products that appear now (their earlier buckets are missing)."""
        start = len(self.products)
        for label in labels:
            name = str(label)
            if name in self.position:
                raise SpikesInputError(f"product {name!r} has more than one column of counts")
            own = for_bucket(self.config.for_product(name), self.bucket)
            detectors = {d.name: d for d in default_detectors(own)}
            product = _Product(name, len(self.products), own, detectors)
            product.maxima = {d: array("d") for d in detectors}
            product.ends = {d: array("q") for d in detectors}
            self.position[name] = len(self.products)
            self.products.append(product)
            self.labels.append(label)
        if not self._names:
            self._names = list(self.products[0].detectors)
        added = list(range(start, len(self.products)))
        self._unfitted.update(added)  # a baseline block once their data begin
        fresh: dict[str, object] = {
            "total": 0.0, "count": 0.0,
            "first_seen": -1, "last_seen": -1, "latest_y": np.nan, "latest_mu": np.nan,
            "latest_tail": 0.0,
            "history_from": -1, "pos": np.iinfo(np.int64).max, "busy": False,
        }
        for name in self._cumulative():
            fresh[f"cusum_{name}"] = 0.0
            fresh[f"cusum_min_{name}"] = np.inf
        for name in self._names:
            fresh[f"threshold_{name}"] = 0.0
            # The fall after which a rise of its scores restarts (inf: the excursions of
            # a score that does not accumulate; spikes.detect.detectors.rises).
            fresh[f"reversal_{name}"] = np.inf
            fresh[f"trough_{name}"] = 0.0
            fresh[f"trough_at_{name}"] = -1
        for key, value in fresh.items():
            column = np.full(len(added), value)
            old = self._carry.get(key, column[:0])
            self._carry[key] = np.concatenate([old, column])
        for name in self._names:
            floor = self.products[0].detectors[name].excursion_floor
            self._rises.setdefault(name, RiseTracker(floor=floor)).extend(len(added))
        for j in added:
            product = self.products[j]
            for name, det in product.detectors.items():
                configured = det.default_threshold(product.config, self.bucket)
                self._carry[f"threshold_{name}"][j] = configured
                if det.cumulative:
                    self._carry[f"reversal_{name}"][j] = configured
        fields = {"y": (float, np.nan), "mu": (float, np.nan), "alpha": (float, 0.0),
                  "inflation": (float, 1.0), "cold": (bool, False),
                  "unshaped": (bool, False), "returns": (float, 0.0)}
        for name in self._names:
            fields[f"score_{name}"] = (float, 0.0)
            fields[f"threshold_{name}"] = (float, np.inf)
        if self._ring is None:
            self._ring = Ring(fields, len(self.products), origin=self.n)
        else:
            self._ring.add_columns(len(added))

    # -- the step ---------------------------------------------------------------------

    def step(self, new_counts: pd.DataFrame) -> pd.DataFrame:
        """Take the next closed bucket(s) and return the incidents so far.

        Parameters
        ----------
        new_counts : pd.DataFrame
            Reports per bucket of the buckets after the last one given (regular UTC
            index of the bucket size, one column per product, NaN = missing). Products
            may appear in later calls (their earlier buckets count as missing); a
            product left out of a call has no data in its buckets.

        Returns
        -------
        pd.DataFrame
            Incidents, columns :data:`spikes.model.INCIDENT_COLUMNS`, as
            :func:`spikes.detect.pipeline.analyze` gives them on all buckets so far.

        Raises
        ------
        SpikesInputError
            If the counts are not a regular UTC grid following the last bucket, hold
            negative or infinite counts, or a product twice.
        """
        self._check(new_counts)
        if self.first is None:
            self.first = new_counts.index[0]
        new = [c for c in new_counts.columns if str(c) not in self.position]
        if new:
            self._add_products(new)
        k, p = len(new_counts), len(self.products)
        y = np.full((k, p), np.nan)
        cols = [self.position[str(c)] for c in new_counts.columns]
        y[:, cols] = new_counts.to_numpy(dtype=float)
        self._advance(y)
        return self.incidents()

    def _fit_new_products(self, y: np.ndarray, start: int) -> None:
        """Baseline blocks of the products whose data begin in rows `y` (from absolute
        row `start`): each counts its days from its first row of data, as
        :func:`spikes.detect.trailing.fit_trailing_baseline` does in a batch."""
        if not self._unfitted:
            return
        waiting = sorted(self._unfitted)
        seen = ~np.isnan(y[:, waiting])
        begun = np.flatnonzero(seen.any(axis=0))
        if not len(begun):
            return
        assert self.first is not None
        groups: dict[tuple, list[int]] = {}
        for i in begun:
            j = waiting[int(i)]
            own = self.config.for_product(self.products[j].name)
            first = start + int(np.argmax(seen[:, i]))
            groups.setdefault((tuple(getattr(own, k) for k in SCORE_KEYS), first),
                              []).append(j)
            self._unfitted.discard(j)
        for (key, first), members in groups.items():
            own = self.config.for_product(self.products[members[0]].name)
            for i in range(0, len(members), FIT_COLUMNS):
                block = members[i : i + FIT_COLUMNS]
                step = BaselineStep(self.first + first * self.bucket, self.bucket, len(block),
                                    0, days=own.baseline_days,
                                    smoothing=own.baseline_smoothing,
                                    weekly_min_days=own.weekly_min_days,
                                    utc_offset=utc_offset(own), timezone=own.timezone)
                self._groups.setdefault(key, []).append((step, block, first))

    def _advance(self, y: np.ndarray) -> None:
        """Baseline, scores, thresholds and the walk of the rows `y` (all products)."""
        k, p = y.shape
        start = self.n
        self._fit_new_products(y, start)
        # Products without data yet: no baseline, learning.
        mu = np.full((k, p), np.nan)
        alpha = np.zeros((k, p))
        inflation = np.ones((k, p))
        learning = np.ones((k, p), dtype=bool)
        cold = np.zeros((k, p), dtype=bool)
        unshaped = np.zeros((k, p), dtype=bool)
        returns = np.zeros((k, p))
        base_y = y  # what the baseline learns from: not the known-event windows
        if self.calendar is not None:
            assert self.first is not None
            index = pd.date_range(self.first + start * self.bucket, periods=k,
                                  freq=self.bucket)
            exclude = self.calendar.mask(index, self.labels, self.bucket)
            if exclude.any():
                base_y = np.where(exclude, np.nan, y)
        for blocks in self._groups.values():
            for step, cols, first in blocks:
                at = max(first - start, 0)  # the block's first rows begin in this step
                out = step.step(np.asfortranarray(base_y[at:, cols]))
                (mu[at:, cols], alpha[at:, cols], inflation[at:, cols], learning[at:, cols],
                 cold[at:, cols], unshaped[at:, cols], returns[at:, cols]) = out
        learning |= np.isnan(mu)
        self._fill_without_history(mu, base_y)
        masked = np.where(learning, np.nan, y)
        # The per-bucket tail detector also scores the cold start of the first day.
        scores = {TAIL: upper_tail_surprise(np.where(learning & ~cold, np.nan, y), mu, alpha)}
        for name in self._names:
            if name != TAIL:
                scores[name] = self._cusum(name, masked, mu, alpha, inflation)
        self.n += k
        ring = self._ring
        assert ring is not None
        local = ring.extend(k)
        for key, values in (("y", y), ("mu", mu), ("alpha", alpha), ("inflation", inflation),
                            ("cold", cold), ("unshaped", unshaped), ("returns", returns)):
            ring.data[key][local] = values
        for name in self._names:
            ring.data[f"score_{name}"][local] = scores[name]
        seen = ~np.isnan(y)
        first_seen, last_seen = self._carry["first_seen"], self._carry["last_seen"]
        rows = np.arange(start, start + k)
        if seen.any():
            last_row = np.where(seen, rows[:, None], -1).max(axis=0)
            first_row = np.where(seen, rows[:, None], np.iinfo(np.int64).max).min(axis=0)
            for j in np.flatnonzero((first_seen < 0) & seen.any(axis=0)):
                product = self.products[j]
                product.first_seen = int(first_row[j])
                first_seen[j] = product.first_seen
                self._carry["history_from"][j] = calibration_start(product.first_seen,
                                                                   self.bucket)
                product.walk = WalkState(product.first_seen + 1, 0, {}, [])
                self._carry["pos"][j] = product.first_seen + 1
            np.maximum(last_seen, last_row, out=last_seen)
            cols = np.flatnonzero(seen.any(axis=0))
            at = last_row[cols] - start
            for key, values in (("latest_y", y), ("latest_mu", mu),
                                ("latest_tail", scores[TAIL])):
                self._carry[key][cols] = values[at, cols]
        for i in range(k):
            self._thresholds(start + i, {n: s[i] for n, s in scores.items()}, ring.data,
                             local.start + i)
        self._walk(start, k)
        self._forget()

    def _fill_without_history(self, mu: np.ndarray, y: np.ndarray) -> None:
        """:func:`spikes.detect.trailing_windows._fill_without_history` with the running sums
        carried (each cumulative sum starts from the carried one, as one long sum)."""
        observed = ~np.isnan(y)
        total = np.cumsum(np.vstack([self._carry["total"], np.where(observed, y, 0.0)]),
                          axis=0)[1:]
        count = np.cumsum(np.vstack([self._carry["count"], observed]), axis=0)[1:]
        self._carry["total"], self._carry["count"] = total[-1].copy(), count[-1].copy()
        missing = np.isnan(mu)
        if missing.any():
            so_far = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
            mu[missing] = so_far[missing]

    def _cusum(self, name: str, y: np.ndarray, mu: np.ndarray, alpha: np.ndarray,
               inflation: np.ndarray) -> np.ndarray:
        """The CUSUM chart `name` (:class:`spikes.detect.detectors.CusumDetector`)
        continued from its carried running sum and minimum (0 where it is off)."""
        if len(self._ratios.get(name, ())) != len(self.products):
            self._ratios[name] = np.array([
                np.nan if getattr(pr.detectors[name], "off", False) else pr.detectors[name].ratio
                for pr in self.products])
        ratios = self._ratios[name]
        total, low_so_far = self._carry[f"cusum_{name}"], self._carry[f"cusum_min_{name}"]
        out = np.zeros_like(mu)
        for value in np.unique(ratios[~np.isnan(ratios)]):
            cols = np.flatnonzero(ratios == value)
            chart = self.products[int(cols[0])].detectors[name]
            llr = chart.evidence(y[:, cols], mu[:, cols], alpha[:, cols])
            llr /= inflation[:, cols]
            csum = np.cumsum(np.vstack([total[cols], llr]), axis=0)[1:]
            low = np.minimum.accumulate(np.vstack([low_so_far[cols], csum]), axis=0)[1:]
            total[cols] = csum[-1]
            low_so_far[cols] = low[-1]
            out[:, cols] = csum - np.minimum(low, 0.0)
        return out

    def _thresholds(self, row: int, scores: dict[str, np.ndarray],
                    data: dict[str, np.ndarray], at: int) -> None:
        """Threshold of every product and detector at `row` (as
        :func:`spikes.detect.live_thresholds.threshold_paths`): recalibrated at each midnight from
        the maxima of the excursions that ended before it, in the calibration's reach
        (those that ended earlier are dropped), tracked by
        :class:`~spikes.detect.detectors.rises.RiseTracker` (a CUSUM's: the rises of its
        chart; the others' scores never restart, their rises are their excursions)."""
        assert self.first is not None
        midnight = row > 0 and (self.first + row * self.bucket).normalize() != (
            self.first + (row - 1) * self.bucket).normalize()
        history_from = self._carry["history_from"]
        live = (history_from >= 0) & (history_from <= row)
        for name in self._names:
            value = np.where(live, scores[name], 0.0)
            which, heights = self._rises[name].step(value, self._carry[f"reversal_{name}"])
            for j, height in zip(which.tolist(), heights.tolist(), strict=True):
                self.products[j].maxima[name].append(height)
                self.products[j].ends[name].append(row - 1)
        if midnight:
            since = max(row - calibration_buckets(self.bucket), 0)
            for j, product in enumerate(self.products):
                for name, ends in product.ends.items():
                    gone = bisect.bisect_left(ends, since)  # ended before the reach
                    del ends[:gone], product.maxima[name][:gone]
                # Buckets of history in the reach: those from the calibration's start
                # (calibration_start), as threshold_paths counts them (all of them for a
                # product without data so far; the batch, which sees its later start,
                # counts fewer, but without excursions the thresholds are the configured
                # ones either way).
                counted = row - max(int(history_from[j]), since)
                weeks = float(max(counted, 0)) * (self.bucket / WEEK)
                maxima = {name: np.asarray(m) for name, m in product.maxima.items()}
                calibrated = product_thresholds(product.detectors, maxima, weeks,
                                                product.config, self.bucket)
                for name, value in calibrated.items():
                    self._carry[f"threshold_{name}"][j] = value
        for name in self._names:
            data[f"threshold_{name}"][at] = self._carry[f"threshold_{name}"]

    # -- the incident walk ------------------------------------------------------------

    def _cumulative(self) -> list[str]:
        return [n for n in self._names if self.products[0].detectors[n].cumulative]

    def _walk(self, start: int, k: int) -> None:
        """Scan the rows ``start .. start + k`` for alarms (all products not busy, in one
        vectorised pass), then walk the products with an alarm or a decision open."""
        ring = self._ring
        assert ring is not None
        carry = self._carry
        busy, pos = carry["busy"], carry["pos"]
        cumulative = self._cumulative()
        scanning = ~busy
        alarmed = np.full(len(self.products), -1)
        troughs = {name: (carry[f"trough_{name}"], carry[f"trough_at_{name}"])
                   for name in cumulative}
        at0 = start - ring.origin
        for i in range(k):
            row, at = start + i, at0 + i
            alarm = ring.data[f"score_{TAIL}"][at] >= ring.data[f"threshold_{TAIL}"][at]
            folded = {}
            for name in cumulative:
                value, last = troughs[name]
                s = ring.data[f"score_{name}"][at]
                low = np.minimum(value, s)
                folded[name] = (low, np.where(s <= low, row, last))
                alarm = alarm | (s - low >= ring.data[f"threshold_{name}"][at])
            hit = scanning & (pos <= row) & alarm
            if hit.any():
                alarmed[hit] = row
            keep = scanning & ~hit
            for name in cumulative:
                value, last = troughs[name]
                low, low_at = folded[name]
                value[keep], last[keep] = low[keep], low_at[keep]
            scanning = keep
        # Products still scanning have searched every row given: none alarmed.
        scan_done = scanning & (carry["first_seen"] >= 0)
        pos[scan_done] = np.maximum(pos[scan_done], self.n)
        for j in np.flatnonzero(busy | (alarmed >= 0)):
            product = self.products[j]
            assert product.walk is not None
            if busy[j]:
                state = product.walk
            else:
                row = int(alarmed[j])
                state = WalkState(row, product.walk.reset,
                                  {name: (float(troughs[name][0][j]), int(troughs[name][1][j]),
                                          row) for name in cumulative},
                                  product.walk.previous)
            self._walk_product(j, state)

    def _walk_product(self, j: int, state: WalkState) -> None:
        """Walk product `j` from `state` over the window held; keep what is final."""
        ring = self._ring
        assert ring is not None and self.first is not None
        product, w0, carry = self.products[j], ring.origin, self._carry
        if self._index is None or self._index[0] != (w0, ring.size):
            self._index = ((w0, ring.size), pd.date_range(
                self.first + w0 * self.bucket, periods=ring.size, freq=self.bucket))
        index = self._index[1]
        scores = {name: ring[f"score_{name}"][:, j] for name in self._names}
        thresholds = {name: ring[f"threshold_{name}"][:, j] for name in self._names}
        walk = LiveWalk(product.name, ring["y"][:, j], ring["mu"][:, j], index, scores,
                        thresholds, product.detectors, scores[TAIL], product.config,
                        ring["alpha"][:, j], ring["inflation"][:, j], bucket=self.bucket,
                        earliest=product.first_seen + 1 - w0,
                        warm_until=product.warm_until(self.bucket) - w0,
                        cold=ring["cold"][:, j], unshaped=ring["unshaped"][:, j],
                        returns=ring["returns"][:, j],
                        last_seen=int(carry["last_seen"][j]) - w0)
        result = walk.run(state.shifted(-w0), carry=True)
        done, was_open = len(product.done), [(dict(r), end) for r, end in product.open]
        product.open = []
        reasons, product.reasons = product.reasons, {}
        for record, end, final in result.records:
            key = (record["onset"], record["end"], record["alerted_at"])
            record["why"] = reasons.get(key) or self._reason(j, record)
            if not final:
                product.reasons[key] = record["why"]
            (product.done if final else product.open).append((record, end + w0))
        if len(product.done) != done or not _same_records(was_open, product.open):
            self._version += 1  # most walks of a pending stretch change no record
        product.walk = result.state.shifted(w0)
        carry["busy"][j] = not result.final
        if result.final:
            carry["pos"][j] = product.walk.pos
            for name, (value, last, _) in product.walk.troughs.items():
                carry[f"trough_{name}"][j] = value
                carry[f"trough_at_{name}"][j] = last

    def _reason(self, j: int, record: dict[str, object]) -> str:
        """The ``why`` of an incident of product `j` (its own part, as the batch's workers
        give it: :func:`~spikes.detect.reasons.add_reasons`), from the
        window held (which covers every incident not yet final)."""
        assert self.first is not None
        onset = pd.Timestamp(record["onset"])
        end = pd.Timestamp(record["end"])
        lo = int((onset - self.first) / self.bucket)
        hi = int((end - self.first) / self.bucket) + 1
        data, baseline = self.window(lo, hi, [j])
        row = pd.DataFrame([record]).astype({"onset": "datetime64[us, UTC]",
                                             "end": "datetime64[us, UTC]"})
        offsets = local_offsets(self.config, [self.products[j].name])
        return str(add_reasons(row, data, baseline, offsets)["why"].iloc[0])

    def window(self, start: int | None = None, stop: int | None = None,
               columns: list[int] | None = None) -> tuple[ReportData, Baseline]:
        """Counts and causal baseline of rows ``start .. stop`` of the window held.

        Parameters
        ----------
        start, stop : int, optional
            Absolute rows (bucket numbers from the first bucket); the whole window held
            by default. Rows no longer held are an error.
        columns : list of int, optional
            Products, by position (all by default).

        Returns
        -------
        data : ReportData
            The counts (NaN = missing), kind ``counts``.
        baseline : Baseline
            The expected counts, with the dispersion and variance inflation in force at
            each bucket (``dispersion_path``, ``inflation_path``), ``causal``, and
            ``learning`` where the baseline had no history yet, ``cold`` where the
            cold start scored a product's first day.
        """
        ring = self._ring
        assert ring is not None and self.first is not None
        start = ring.origin if start is None else start
        stop = ring.stop if stop is None else stop
        if start < ring.origin or stop > ring.stop:
            raise ValueError(f"rows {start}..{stop} are not held (window "
                             f"{ring.origin}..{ring.stop})")
        cols = list(range(len(self.products))) if columns is None else columns
        index = pd.date_range(self.first + start * self.bucket, periods=stop - start,
                              freq=self.bucket, name="timestamp")
        labels = pd.Index([self.labels[j] for j in cols], dtype=object)

        def frame(name: str) -> pd.DataFrame:
            values = ring[name][start - ring.origin : stop - ring.origin][:, cols]
            return pd.DataFrame(values, index=index, columns=labels)

        counts, expected = frame("y"), frame("mu")
        alpha, inflation = frame("alpha"), frame("inflation")
        last = (alpha.iloc[-1] if len(alpha) else pd.Series(0.0, index=labels))
        baseline = Baseline(
            expected=expected, dispersion=last, normal=counts.notna(), method="weekly",
            inflation=inflation.iloc[-1] if len(inflation) else None,
            dispersion_path=alpha, inflation_path=inflation, causal=True,
            learning=expected.isna(), cold=frame("cold"), unshaped=frame("unshaped"),
            returns=frame("returns"))
        return ReportData(counts=counts, bucket=self.bucket, kind="counts"), baseline

    def _forget(self) -> None:
        """Drop the rows of the window no walk can read any more: a day, the onset
        search, the context and the patience before the oldest position a walk may
        resume from or place an onset at."""
        ring = self._ring
        assert ring is not None
        lookback = max(int(pd.Timedelta(days=1) / self.bucket), 1) + 2 + max(
            int(pd.Timedelta(pr.config.onset_search) / self.bucket)
            + int(CONTEXT / self.bucket) + max(1, int(PENDING_QUIET / self.bucket))
            for pr in self.products[:1] + self._overridden())
        oldest = self.n
        carry = self._carry
        for name in self._cumulative():
            oldest = min(oldest, int(carry[f"trough_at_{name}"][~carry["busy"]].min(
                initial=self.n)) + 1)
        for j in np.flatnonzero(carry["busy"]):
            state = self.products[j].walk
            assert state is not None
            oldest = min(oldest, state.pos, *(last + 1 for _, last, _ in
                                             state.troughs.values()))
            for _, end in self.products[j].open:
                oldest = min(oldest, end)
        before = oldest - lookback
        if self.retain_from is not None:
            before = min(before, self.retain_from)
        ring.forget(before)

    def _overridden(self) -> list[_Product]:
        """Products with settings of their own (their look-back may be longer)."""
        if not self.config.overrides:
            return []
        return [pr for pr in self.products if pr.name in self.config.overrides]

    # -- results ----------------------------------------------------------------------

    def incidents(self, breakdown: pd.DataFrame | None = None) -> pd.DataFrame:
        """The incidents so far, as :func:`spikes.detect.pipeline.analyze` gives them
        (columns :data:`spikes.model.INCIDENT_COLUMNS`, sorted by onset, event ids).

        Parameters
        ----------
        breakdown : pd.DataFrame, optional
            Reports by bucket, product, region and category
            (:attr:`spikes.model.ReportData.breakdown`) for the top problem and region in
            the reasons of the incidents it covers (the stream holds totals only).
        """
        key, base, events = self._results()
        if breakdown is None and self._table is not None and self._table[0] == key:
            return self._table[1].copy()
        # The event and breakdown parts of each reason, as rethreshold adds them.
        table = annotate_incidents(base, events, breakdown=breakdown, bucket=self.bucket,
                                   calendar=self.calendar)
        if breakdown is None:
            self._table = (key, table)
        return table.copy()

    def _results(self) -> tuple[tuple, pd.DataFrame, pd.DataFrame]:
        """The incidents with event ids but before their annotations, and their events,
        with the key they hold for. The incidents and their events are rebuilt only when
        an incident record or an ongoing flag changed; otherwise only the events'
        ``chance`` follows the span and the products with data. The key is the records'
        and the chances': the annotations (:meth:`incidents`) depend on nothing else."""
        last_seen = self._carry.get("last_seen", np.empty(0))
        records = (self._version, len(self.products), tuple(
            self._ongoing(j, last_seen[j]) for j in range(len(self.products))))
        span, products = self.n * self.bucket, self._products_with_data()
        cached = self._results_cache
        if cached is not None and cached[0][0] == records:
            # The same incidents: only the span or the products moved, and with them at
            # most the events' chance.
            base, events = cached[1], cached[2]
            chance = event_chance(events, len(base), span=span, products=products,
                                  window=self.config.event_window)
            if chance.tobytes() == cached[0][1]:
                return cached
            events = events.assign(chance=chance)
        else:
            rows = []
            for j, product in enumerate(self.products):
                for record, end in [*product.done, *product.open]:
                    row = dict(record)
                    row["ongoing"] = bool(end >= last_seen[j])
                    row["why"] = row.pop("why")
                    rows.append(row)
            table = incident_table(rows)
            if "why" in table:
                table = table.astype({"why": "object"})
            base = incidents_with_events([table], self.config)
            events = summarize_events(base, span=span, products=products,
                                      window=self.config.event_window)
        key = (records, events["chance"].to_numpy(dtype=float).tobytes())
        if cached is None or cached[0] != key:
            self._results_cache = (key, base, events)
        assert self._results_cache is not None
        return self._results_cache

    def _ongoing(self, j: int, last_seen: int) -> int:
        """How many incidents of product `j` reach its last bucket with data (the last
        ones: their ends ascend)."""
        product, count = self.products[j], 0
        for _, end in reversed([*product.done, *product.open]):
            if end < last_seen:
                break
            count += 1
        return count

    def status(self, elevated_surprise: float = 2.0) -> pd.DataFrame:
        """Each product's state at its latest bucket with data, worst first: the table of
        :func:`spikes.detect.pipeline.product_status` on the data so far."""
        assert self._ring is not None and self.first is not None
        carry, latest = self._carry, []
        for j, product in enumerate(self.products):
            if carry["last_seen"][j] >= 0:
                at, reports = int(carry["last_seen"][j]), float(carry["latest_y"][j])
                usual, surprise = float(carry["latest_mu"][j]), float(carry["latest_tail"][j])
            else:  # no data yet: the last bucket
                at, reports = self.n - 1, np.nan
                usual = float(self._ring["mu"][-1, j])
                surprise = float(self._ring[f"score_{TAIL}"][-1, j])
            latest.append({"product": product.name, "latest": self.first + at * self.bucket,
                           "latest_reports": reports, "latest_baseline": usual,
                           "surprise": surprise})
        return status_table(latest, self.incidents(), self.config, elevated_surprise,
                            now=self.first + (self.n - 1) * self.bucket)

    def events(self, incidents: pd.DataFrame | None = None) -> pd.DataFrame:
        """The events of the incidents so far (:func:`spikes.detect.events.summarize_events`;
        of `incidents` when given)."""
        if incidents is None:
            return self._results()[2].copy()
        return summarize_events(incidents, span=self.n * self.bucket,
                                products=self._products_with_data(),
                                window=self.config.event_window)

    def _products_with_data(self) -> int:
        """Products given with data so far (those that could have failed)."""
        return int((np.asarray(self._carry.get("last_seen", np.empty(0))) >= 0).sum())

    def memory(self) -> int:
        """Bytes held by the windows of the stream (the per-bucket arrays)."""
        total = self._ring.nbytes() if self._ring is not None else 0
        for blocks in self._groups.values():
            total += sum(step.ring.nbytes() for step, _, _ in blocks)
        return total
