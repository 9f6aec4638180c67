"""Do the detectors' defaults generalise? Scores on data they were not developed on.

Data sets:

- the four families of :mod:`sim_family2` (an independently designed simulator:
  ``drift``, ``minute``, ``hourly``, ``quiet``), 30 products x 28 days (quick: 8 x 14);
- the five families of :mod:`sim_family3` (a third independent design, from a bug hunt:
  ``family 3: mixed``, ``partial``, ``plateau``, ``autocorr_tz``, ``bursts``), 36 products
  x 28 days of 5-minute buckets (quick: 10 x 14); their news bursts are not labelled;
- ``nab_injected``: outages injected by :mod:`inject` into the NAB realTweets series
  (8 per file, fixed seeds). The files have their own anomalies (the NAB windows), which
  are not labelled here: an incident whose onset falls inside a NAB window is ignored
  (neither TP nor FP), and the product-weeks of the false-alarm rate only count the time
  outside the windows.

Every peer runs with its defaults (``peer.detect(counts, bucket, **peer.DEFAULTS)``) and is
scored with :func:`scoring.score` (EVALUATION.md rules). ``spikes-retro`` sees the whole
series (hindsight) and is not comparable with the online detectors.

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python benchmarks/generalisation.py [--quick] [--json OUT]
        [--only NAME ...]

``--only "family 3"`` runs the data sets whose name starts with it (here the third
simulator's five families).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import inject
import numpy as np
import pandas as pd
import sim_family2
import sim_family3
from peers import downdetector, pelt, reported_seconds, shesd, spikes_default
from peers import spikes_retrospective as spikes_retro
from scoring import elevated_buckets, score

from spikes.config import DetectionConfig
from spikes.detect.pipeline import analyze
from spikes.evaluation.evaluate import product_weeks_from_span
from spikes.evaluation.misses import explain_misses
from spikes.model import ReportData

PEERS: list[ModuleType] = [spikes_default, spikes_retro, downdetector, shesd, pelt]
"""The peers of this benchmark (ADTK is left out)."""

SIZES = {"full": {"products": 30, "days": 28}, "quick": {"products": 8, "days": 14}}
FAMILY_SEEDS = {"drift": 2101, "minute": 2102, "hourly": 2103, "quiet": 2104}
FAMILY3_SIZES = {"full": {"products": 36, "days": 28}, "quick": {"products": 10, "days": 14}}
FAMILY3_SEEDS = {"mixed": 3101, "partial": 3102, "plateau": 3103, "autocorr_tz": 3104,
                 "bursts": 3105}
#: The third simulator's families with other seeds (seed + this): the check of the
#: defaults chosen on family 3 (:func:`family3_check`).
FAMILY3_CHECK_OFFSET = 2000
NAB_SEED = 2201
NAB_OUTAGES = 8


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def family_data(family: str, quick: bool) -> dict[str, Any]:
    """One simulated family: counts, labels, bucket and product-weeks."""
    return _simulated(sim_family2, SIZES, FAMILY_SEEDS[family], family, quick, "kind")


def family3_data(family: str, quick: bool) -> dict[str, Any]:
    """One family of the third simulator: counts, labels, bucket and product-weeks.

    Each family has a single outage kind, so the labels' ``kind`` (recall by kind) is the
    product's daily shape (office, consumer, night, gaming, flat) instead.
    """
    return _simulated(sim_family3, FAMILY3_SIZES, FAMILY3_SEEDS[family], family, quick,
                      "shape")


def _simulated(simulator: ModuleType, sizes: dict[str, dict[str, int]], seed: int,
               family: str, quick: bool, kind: str) -> dict[str, Any]:
    """A family of `simulator` (its ``generate``), its labels' `kind` column as ``kind``."""
    size = sizes["quick" if quick else "full"]
    counts, labels, truth = simulator.generate(size["products"], size["days"], seed=seed,
                                               family=family, return_truth=True)
    bucket = counts.index[1] - counts.index[0]
    weeks = product_weeks_from_span(counts.index[0], counts.index[-1], counts.shape[1], bucket)
    clear = [elevated_buckets(r, counts, truth["expected"]) > 0
             for r in labels.itertuples(index=False)]
    labels = labels[["product", "onset", "end", kind]].rename(columns={kind: "kind"})
    return {"parts": [(counts, None)], "labels": labels.assign(clear=clear),
            "bucket": bucket, "product_weeks": weeks, "bursts": truth["bursts"]}


def family3_check(quick: bool) -> dict[str, Any]:
    """Live ``spikes`` (defaults) on the third simulator's five families simulated with
    other seeds (:data:`FAMILY3_CHECK_OFFSET`), which no default was chosen on: some
    defaults were chosen on family 3's own seeds (see the README), and these tell whether
    they fit those seeds or the simulator.

    Returns
    -------
    dict
        ``offset``, and per family ``dev_seed``, ``seed`` and ``spikes`` (the figures of
        :func:`run_peer`).
    """
    out: dict[str, Any] = {"offset": FAMILY3_CHECK_OFFSET, "families": {}}
    for family, seed in FAMILY3_SEEDS.items():
        log(f"family 3 check seed: {family}")
        data = _simulated(sim_family3, FAMILY3_SIZES, seed + FAMILY3_CHECK_OFFSET, family,
                          quick, "shape")
        out["families"][family] = {"dev_seed": seed, "seed": seed + FAMILY3_CHECK_OFFSET,
                                   "spikes": run_peer(spikes_default, data)}
    return out


def nab_data(folder: Path = inject.NAB_DIR) -> dict[str, Any] | None:
    """The NAB realTweets files with injected outages; None when NAB is absent."""
    files = inject.load_nab_tweets(folder)
    if files is None:
        return None
    parts, labels, weeks = [], [], 0.0
    for i, (name, (series, mask)) in enumerate(files.items()):
        injected, lab = inject.inject(series, inject.NAB_BUCKET, NAB_SEED + i, NAB_OUTAGES,
                                      mask=mask)
        frame = injected.to_frame(name)
        parts.append((frame, mask))
        # Clear: at least one bucket where the injected reports double the series' own
        # count and stand 3 Poisson standard deviations above it.
        clear = [elevated_buckets(r, frame, series.to_frame(name)) > 0
                 for r in lab.itertuples(index=False)]
        labels.append(lab.assign(kind=_ratio_band(lab["ratio"]), clear=clear)[
            ["product", "onset", "end", "kind", "clear"]])
        span = product_weeks_from_span(series.index[0], series.index[-1], 1, inject.NAB_BUCKET)
        weeks += span * float((~mask).mean())
    return {"parts": parts, "labels": pd.concat(labels, ignore_index=True),
            "bucket": inject.NAB_BUCKET, "product_weeks": weeks}


def _ratio_band(ratio: pd.Series) -> pd.Series:
    return pd.cut(ratio, [0, 4, 8, math.inf], labels=["2.5-4x", "4-8x", ">8x"]).astype(str)


def builders(quick: bool) -> dict[str, Callable[[], dict[str, Any] | None]]:
    """Every data set's name and a function that builds it (None: data absent)."""
    out: dict[str, Callable[[], dict[str, Any] | None]] = {}
    for family in sim_family2.FAMILIES:
        out[family] = lambda f=family: family_data(f, quick)
    for family in sim_family3.FAMILIES:
        out[sim_family3.dataset_name(family)] = lambda f=family: family3_data(f, quick)
    out["nab_injected"] = nab_data
    return out


def datasets(quick: bool, only: Collection[str] | None = None
             ) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """The data sets, built lazily (name, data).

    Parameters
    ----------
    quick : bool
        Small data sets.
    only : collection of str, optional
        Keep the data sets whose name starts with one of these (all by default).
    """
    for name, build in builders(quick).items():
        if only is None or any(name.startswith(prefix) for prefix in only):
            yield name, build()


def run_peer(peer: ModuleType, data: dict[str, Any]) -> dict[str, Any]:
    """One peer with its defaults on one data set: figures and recall by label kind."""
    tables, seconds = [], 0.0
    for counts, mask in data["parts"]:
        start = time.perf_counter()
        inc = peer.detect(counts, data["bucket"], **peer.DEFAULTS)
        seconds += reported_seconds(peer, time.perf_counter() - start)
        if mask is not None and len(inc):
            pos = mask.index.searchsorted(pd.DatetimeIndex(inc["onset"]), side="right") - 1
            inside = mask.to_numpy()[np.clip(pos, 0, len(mask) - 1)]
            inc = inc[~inside]
        tables.append(inc)
    incidents = pd.concat(tables, ignore_index=True)
    figs, ev = score(incidents, data["labels"], data["product_weeks"], data["bucket"], seconds)
    by_kind = ev.matches.groupby("kind")["tp"].agg(["size", "mean"])
    figs["recall_by_kind"] = {str(k): {"labels": int(r["size"]), "recall": float(r["mean"])}
                              for k, r in by_kind.iterrows()}
    clear = ev.matches["clear"].astype(bool)
    figs["recall_clear"] = float(ev.matches.loc[clear, "tp"].mean()) if clear.any() else math.nan
    if "bursts" in data:
        figs["false_alarms_by_cause"] = _fp_causes(ev.incident_status, data["bursts"],
                                                   ev.matches, data["bucket"])
    if peer is spikes_default:
        figs["misses_by_cause"] = _miss_causes(data)
    return figs


def _miss_causes(data: dict[str, Any]) -> dict[str, int]:
    """The labels live `spikes` (defaults) misses, by cause
    (:func:`spikes.evaluation.misses.explain_misses`, as ``spikes explain`` gives them)."""
    causes: Counter[str] = Counter()
    labels = data["labels"]
    for counts, _ in data["parts"]:
        analysis = analyze(ReportData(counts=counts, bucket=data["bucket"]), DetectionConfig())
        own = labels[labels["product"].astype(str).isin(counts.columns.astype(str))]
        causes.update(explain_misses(analysis, own[["product", "onset", "end"]])["cause"])
    return dict(causes.most_common())


def _fp_causes(status: pd.DataFrame, bursts: pd.DataFrame, labels: pd.DataFrame,
               bucket: pd.Timedelta) -> dict[str, int]:
    """False alarms by what lies at their onset: a curiosity burst, an outage (duplicate
    or mislocated: within 2 h), or nothing simulated (noise, drift)."""
    out = {"duplicate": 0, "burst": 0, "near an outage": 0, "other": 0}
    near = pd.Timedelta("2h")
    for row in status[status["status"] != "tp"].itertuples(index=False):
        if row.status == "duplicate":
            out["duplicate"] += 1
            continue
        b = bursts[bursts["product"] == row.product]
        lab = labels[labels["product"] == row.product]
        if ((b["start"] - bucket <= row.onset) & (b["end"] + bucket >= row.onset)).any():
            out["burst"] += 1
        elif ((lab["onset"] - near <= row.onset) & (lab["end"] + near >= row.onset)).any():
            out["near an outage"] += 1
        else:
            out["other"] += 1
    return out


def run(peers: list[ModuleType] | None = None, quick: bool = False,
        only: Collection[str] | None = None) -> dict[str, Any]:
    """Run every peer on every data set.

    Parameters
    ----------
    peers : list of module, optional
        Peer modules (``NAME``, ``DEFAULTS``, ``detect``); :data:`PEERS` by default.
    quick : bool
        Small data sets (8 products x 14 days; family 3: 10 x 14).
    only : collection of str, optional
        Run only the data sets whose name starts with one of these.

    Returns
    -------
    dict
        ``datasets[name]``: ``bucket``, ``products``, ``labels``, ``product_weeks``,
        ``results[peer NAME]`` (figures of :func:`scoring.figures` plus ``recall_by_kind``,
        or ``error``) and ``seconds`` (building it and every peer); ``seconds`` in all.
    """
    peers = PEERS if peers is None else peers
    started = time.perf_counter()
    out: dict[str, Any] = {"quick": quick, "datasets": {}}
    for name, data in datasets(quick, only):
        step = time.perf_counter()
        if data is None:
            out["datasets"][name] = {"available": False}
            log(f"{name}: data absent, skipped")
            continue
        entry: dict[str, Any] = {
            "available": True, "bucket": str(data["bucket"]),
            "products": sum(c.shape[1] for c, _ in data["parts"]),
            "labels": len(data["labels"]), "product_weeks": data["product_weeks"],
            "results": {}}
        for peer in peers:
            log(f"{name}: {peer.NAME}")
            try:
                entry["results"][peer.NAME] = run_peer(peer, data)
            except Exception as exc:  # noqa: BLE001 - a failing peer is reported, not fatal
                entry["results"][peer.NAME] = {"error": f"{type(exc).__name__}: {exc}"}
        entry["seconds"] = time.perf_counter() - step
        out["datasets"][name] = entry
    out["seconds"] = time.perf_counter() - started
    return out


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _bucket(text: str) -> str:
    minutes = pd.Timedelta(text) / pd.Timedelta(minutes=1)
    return f"{minutes / 60:g}h" if minutes >= 60 else f"{minutes:g}min"


def render(res: dict[str, Any]) -> str:
    """Plain-text tables, one per data set."""
    lines = ["R clr: recall on the labels with at least one clearly elevated bucket (>= 2x and"
             " 3 Poisson sd above the true baseline; all injected labels count as clear).",
             "delay: incident onset - label onset; alert: alerted_at - label onset (live spikes"
             " only); FA/pw: false alarms per product-week.", ""]
    head = (f"{'peer':<15}{'F1':>6}{'P':>6}{'R':>6}{'R clr':>6}{'delay med/p90':>15}"
            f"{'alert med/p90':>15}{'FA/pw':>7}{'inc':>6}{'sec':>7}")
    for name, entry in res["datasets"].items():
        if not entry.get("available"):
            lines += [f"== {name}: not available", ""]
            continue
        lines.append(f"== {name}: bucket {_bucket(entry['bucket'])}, {entry['products']} products, "
                     f"{entry['labels']} labels, {entry['product_weeks']:.1f} product-weeks "
                     "(delays in buckets)")
        lines.append(head)
        for peer, r in entry["results"].items():
            if "error" in r:
                lines.append(f"{peer:<15}error: {r['error'][:80]}")
                continue
            delay = f"{_num(r['delay_median_buckets'], 1)}/{_num(r['delay_p90_buckets'], 1)}"
            alert = (f"{_num(r['alert_delay_median_buckets'], 1)}/"
                     f"{_num(r['alert_delay_p90_buckets'], 1)}")
            lines.append(f"{peer:<15}{r['f1']:>6.3f}{r['precision']:>6.3f}{r['recall']:>6.3f}"
                         f"{_num(r['recall_clear'], 3):>6}{delay:>15}{alert:>15}"
                         f"{r['false_alarms_per_product_week']:>7.2f}"
                         f"{r['n_incidents']:>6}{r['seconds']:>7.1f}")
        sizes = {k: v["labels"] for r in entry["results"].values()
                 for k, v in r.get("recall_by_kind", {}).items()}
        kinds = sorted(sizes)
        lines.append("recall by kind: " + ", ".join(f"{k} (n={sizes[k]})" for k in kinds))
        for peer, r in entry["results"].items():
            if "recall_by_kind" in r:
                lines.append(f"  {peer:<13}" + "  ".join(
                    f"{k} {r['recall_by_kind'][k]['recall']:.2f}" for k in kinds
                    if k in r["recall_by_kind"]))
        for peer, r in entry["results"].items():
            if "false_alarms_by_cause" in r:
                causes = ", ".join(f"{k} {v}" for k, v in r["false_alarms_by_cause"].items())
                lines.append(f"  false alarms of {peer}: {causes}")
        lines.append("")
    lines.append(f"total {res['seconds']:.0f} s")
    return "\n".join(lines)


def _json(value: Any) -> Any:
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, np.floating):
        return float(value)
    return str(value)


def main(argv: list[str] | None = None) -> None:
    """Run and print the tables; optionally write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 products x 14 days")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the results here")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="only the data sets whose name starts with NAME (repeatable)")
    args = parser.parse_args(argv)
    res = run(PEERS, quick=args.quick, only=args.only)
    print(render(res))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1, default=_json) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
