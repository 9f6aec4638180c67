"""The Cloud Monitoring series: every detector scored on real labelled production telemetry.

Usage (from the repository root)::

    .venv/bin/python benchmarks/cloud_bench.py                 # defaults and oracle grids
    .venv/bin/python benchmarks/cloud_bench.py --no-oracle --json out.json

The files (``TimeStamp,Value,Label``, Microsoft's cloud-monitoring-dataset, read in place
from ``/work/shared/realdata/cloud_monitoring/<domain>/<stem>.csv``, never copied) are each
put on their own regular grid (the bucket is the median spacing: one hour or one minute)
and handed to every detector as a one-column counts table named after the file's stem.
Labels follow EVALUATION.md, "Cloud Monitoring series" (see :func:`labels_of`): a labelled
run that rises above the usual level of the day before it and lasts at least 10 minutes is
one label; a labelled drop or a shorter blip is ignored (a detection whose onset falls
inside it counts neither way). Series with no label at all score false alarms only.

Some series are rates (requests per second, ingress per minute, with fractions), not
counts: `spikes` takes the values as they are, as if they were report counts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # importable as ``benchmarks.cloud_bench`` too
    sys.path.insert(0, str(HERE))

from peers import (  # noqa: E402
    downdetector,
    grid_settings,
    pelt,
    reported_seconds,
    run_grid,
    shesd,
    spikes_default,
    spikes_retrospective,
)
from scoring import best_of, score  # noqa: E402

from spikes.evaluation.evaluate import product_weeks_from_span  # noqa: E402

CLOUD_DIR = Path("/work/shared/realdata/cloud_monitoring")
PEERS: list[ModuleType] = [spikes_default, spikes_retrospective, downdetector, shesd, pelt]
"""The peers of this benchmark, in table order (the ADTK peers are left out: see NOTES)."""
BASELINE_SPAN = pd.Timedelta(days=1)
"""How far back the usual level of a labelled run is taken."""
MIN_DURATION = pd.Timedelta(minutes=10)
"""Shortest labelled rise that is a label (EVALUATION.md)."""
ONE_MINUTE = pd.Timedelta(minutes=1)
RATE_NOTE = ("Values are taken as they are: the hourly crash and purchase series are counts, "
             "but api-01 (requests per second, hourly), ingress-* (data ingress per minute) "
             "and mongo-* (queries per minute) are rates with fractions; `spikes` reads "
             "them as if they were report counts.")
NOTES = [
    RATE_NOTE,
    "A labelled run rises when the mean of its values is above the median of the "
    "unlabelled values of the 24 h before its first point (the series' unlabelled median "
    "when that day has none); it lasts (points x bucket), at least 10 min to be a label. "
    "Other labelled runs (drops, blips) are ignored: incidents whose onset falls inside "
    "one are removed before scoring.",
    "Duplicated timestamps (app1-*: identical rows; api-01: the DST fall-back hour) are "
    "collapsed to one row: mean value, label 1 if any copy has it.",
    "Labelled series are scored together (labels pooled, product-weeks summed); series "
    "with no label (no labelled rise) give false alarms per product-week separately.",
    "Delays are in minutes; a one-point hourly label accepts onsets in [t0 - 10 min, "
    "t0 + 30 min], i.e. only its own hour.",
    "Oracle: the peer's GRID setting with the best pooled F1 on the labelled series (ties: "
    "fewest false alarms there), chosen on the same data: an upper bound, not a fair "
    "figure. `spikes` is never tuned.",
    "spikes retrospective sees the whole series (hindsight): not comparable with the "
    "online detectors.",
    "The ADTK peers are not run here: they need their own virtual environment "
    "(benchmarks/.venv-adtk, pandas<2); run_benchmark.py scores them on the simulated "
    "suites and NAB.",
]


@dataclass(frozen=True)
class CloudSeries:
    """One file of the dataset on its grid.

    Attributes
    ----------
    domain : str
        The file's folder (e.g. ``application-crash-rate-1``).
    values : pd.Series
        Values on the regular grid (UTC index ``timestamp``, NaN = missing row), named
        after the file's stem.
    flags : pd.Series of bool
        ``Label == 1`` on the same grid (False on missing rows).
    bucket : pd.Timedelta
        Grid step.
    """

    domain: str
    values: pd.Series
    flags: pd.Series
    bucket: pd.Timedelta


def read_file(path: Path) -> CloudSeries:
    """Read one ``TimeStamp,Value,Label`` file onto its own regular grid.

    Parameters
    ----------
    path : Path
        The CSV file; timestamps without an offset are UTC.

    Returns
    -------
    CloudSeries
        The bucket is the median spacing of the rows; duplicated timestamps are collapsed
        (mean value, label 1 if any copy has it); missing rows are NaN (and unlabelled).
    """
    raw = pd.read_csv(path)
    stamps = pd.to_datetime(raw["TimeStamp"], utc=True, format="ISO8601")
    frame = pd.DataFrame({"value": pd.to_numeric(raw["Value"], errors="coerce").to_numpy(),
                          "label": pd.to_numeric(raw["Label"], errors="coerce").fillna(0)
                          .to_numpy() == 1}, index=pd.DatetimeIndex(stamps))
    frame = frame.groupby(level=0).agg({"value": "mean", "label": "max"}).sort_index()
    bucket = pd.Timedelta(np.median(np.diff(frame.index.to_numpy())))
    start = frame.index[0].floor(bucket)
    grid = pd.date_range(start, frame.index[-1], freq=bucket, name="timestamp")
    floored = frame.index.floor(bucket)
    frame = frame[~floored.duplicated()].set_axis(floored[~floored.duplicated()]).reindex(grid)
    stem = path.stem
    values = frame["value"].astype(float).rename(stem)
    flags = frame["label"].fillna(False).astype(bool).rename(stem)
    return CloudSeries(domain=path.parent.name, values=values, flags=flags, bucket=bucket)


def read_all(folder: Path = CLOUD_DIR) -> dict[str, CloudSeries] | None:
    """Every file of the folder's domain subfolders, by stem; None when the folder is absent.

    Parameters
    ----------
    folder : Path
        The dataset's root (holding one folder per domain).

    Returns
    -------
    dict or None
        ``{stem: CloudSeries}`` in (domain, stem) order.
    """
    if not folder.is_dir():
        return None
    files = sorted(folder.glob("*/*.csv"), key=lambda p: (p.parent.name, p.stem))
    return {p.stem: read_file(p) for p in files} or None


def load(folder: Path = CLOUD_DIR) -> dict[str, pd.Series]:
    """Each file as one series on its own regular grid.

    Parameters
    ----------
    folder : Path
        The dataset's root.

    Returns
    -------
    dict of str to pd.Series
        Values by file stem (the product name); the index is regular (its ``freq`` is the
        bucket, the median spacing of the file), missing rows are NaN. Empty when the
        folder is absent.
    """
    return {stem: s.values for stem, s in (read_all(folder) or {}).items()}


def label_runs(series: pd.Series, label_flags: pd.Series, bucket: pd.Timedelta
               ) -> pd.DataFrame:
    """Every run of consecutive labelled points, measured against the day before it.

    Parameters
    ----------
    series : pd.Series
        Values on a regular grid, named after the product.
    label_flags : pd.Series of bool
        ``Label == 1`` on the same grid.
    bucket : pd.Timedelta
        Grid step.

    Returns
    -------
    pd.DataFrame
        ``product, start, end`` (first and last labelled point), ``points``, ``minutes``
        (``points x bucket``), ``usual`` (median of the unlabelled values of the 24 h
        before ``start``; the series' unlabelled median when that day has none),
        ``mean``, ``max`` (of the run's values), ``rise`` (``mean > usual``) and ``kind``:
        ``"rise"`` (a label), ``"drop"`` or ``"blip"`` (shorter than 10 min).
    """
    values = series.to_numpy(dtype=float)
    flags = label_flags.reindex(series.index).fillna(False).to_numpy(dtype=bool)
    index = series.index
    padded = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(padded == 1), np.flatnonzero(padded == -1) - 1
    clean = np.where(flags, np.nan, values)
    per_day = max(1, int(BASELINE_SPAN / bucket))
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fallback = float(np.nanmedian(clean)) if np.isfinite(clean).any() else math.nan
        for first, last in zip(starts, ends, strict=True):
            before = clean[max(0, first - per_day):first]
            usual = (float(np.nanmedian(before)) if np.isfinite(before).any() else fallback)
            run = values[first:last + 1]
            mean = float(np.nanmean(run)) if np.isfinite(run).any() else math.nan
            peak = float(np.nanmax(run)) if np.isfinite(run).any() else math.nan
            points = int(last - first + 1)
            rise = bool(mean > usual)
            long_enough = points * bucket >= MIN_DURATION
            kind = "rise" if rise and long_enough else ("drop" if not rise else "blip")
            rows.append({"product": str(series.name), "start": index[first],
                         "end": index[last], "points": points,
                         "minutes": points * bucket / ONE_MINUTE, "usual": usual,
                         "mean": mean, "max": peak, "rise": rise, "kind": kind})
    columns = ["product", "start", "end", "points", "minutes", "usual", "mean", "max",
               "rise", "kind"]
    return pd.DataFrame(rows, columns=columns)


def labels_of(series: pd.Series, label_flags: pd.Series, bucket: pd.Timedelta
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Labels and ignored runs of one series, by EVALUATION.md ("Cloud Monitoring series").

    A run of consecutive points with ``Label`` 1 (consecutive on the series' grid: a
    missing row ends a run) is one label, ``t0`` = its first point and ``t1`` = its last,
    when

    - it rises above the usual level of the day before it: the mean of its values is
      above the *usual level*, the median of the unlabelled values of the 24 h before
      ``t0`` (labelled points, i.e. earlier anomalies, are left out of that median; when
      those 24 h hold no unlabelled value, as at the very start of a series, the median of
      all unlabelled values of the series is used instead); and
    - it lasts at least 10 minutes: ``points x bucket >= 10 min`` (so any run of an
      hourly series, and runs of at least 10 points of a per-minute series).

    Any other labelled run (a drop, or a rise shorter than 10 minutes: a blip) goes to
    ``ignored``: an incident whose onset falls inside it (``start <= onset <= end``) counts
    neither way.

    Parameters
    ----------
    series : pd.Series
        Values on a regular grid, named after the product.
    label_flags : pd.Series of bool
        ``Label == 1`` on the same grid.
    bucket : pd.Timedelta
        Grid step.

    Returns
    -------
    labels : pd.DataFrame
        ``product, onset, end``.
    ignored : pd.DataFrame
        ``product, start, end, kind`` (``"drop"`` or ``"blip"``).
    """
    runs = label_runs(series, label_flags, bucket)
    rises = runs[runs["kind"] == "rise"]
    labels = pd.DataFrame({"product": rises["product"].astype(object),
                           "onset": rises["start"], "end": rises["end"]})
    ignored = runs.loc[runs["kind"] != "rise", ["product", "start", "end", "kind"]]
    return labels.reset_index(drop=True), ignored.reset_index(drop=True)


def drop_ignored(incidents: pd.DataFrame, ignored: pd.DataFrame) -> pd.DataFrame:
    """Remove the incidents whose onset falls inside an ignored run of their product.

    Parameters
    ----------
    incidents : pd.DataFrame
        ``product, onset, ...``.
    ignored : pd.DataFrame
        ``product, start, end``.

    Returns
    -------
    pd.DataFrame
        The incidents kept.
    """
    if incidents.empty or ignored.empty:
        return incidents
    inside = np.zeros(len(incidents), dtype=bool)
    onsets = pd.DatetimeIndex(incidents["onset"])
    products = incidents["product"].astype(str).to_numpy()
    for run in ignored.itertuples(index=False):
        inside |= (products == run.product) & (onsets >= run.start) & (onsets <= run.end)
    return incidents[~inside].reset_index(drop=True)


@dataclass(frozen=True)
class Prepared:
    """Everything a peer is run and scored on.

    Attributes
    ----------
    series : dict of str to CloudSeries
    counts : dict of str to pd.DataFrame
        One-column counts table per stem.
    labels : pd.DataFrame
        Labels of all series, pooled.
    ignored : pd.DataFrame
        Ignored runs of all series.
    runs : pd.DataFrame
        Every labelled run (:func:`label_runs`) of all series.
    labelled, unlabelled : list of str
        Stems with at least one label, and the others.
    weeks : dict of str to float
        Product-weeks per stem.
    """

    series: dict[str, CloudSeries]
    counts: dict[str, pd.DataFrame]
    labels: pd.DataFrame
    ignored: pd.DataFrame
    runs: pd.DataFrame
    labelled: list[str]
    unlabelled: list[str]
    weeks: dict[str, float]


def prepare(series: dict[str, CloudSeries]) -> Prepared:
    """Counts tables, labels, ignored runs and product-weeks of the loaded series."""
    counts, labels, ignored, runs, weeks = {}, [], [], [], {}
    for stem, s in series.items():
        counts[stem] = s.values.to_frame(stem)
        lab, ign = labels_of(s.values, s.flags, s.bucket)
        labels.append(lab)
        ignored.append(ign)
        runs.append(label_runs(s.values, s.flags, s.bucket).assign(domain=s.domain))
        weeks[stem] = product_weeks_from_span(s.values.index[0], s.values.index[-1], 1,
                                              s.bucket)
    all_labels = pd.concat(labels, ignore_index=True)
    labelled = [stem for stem in series if (all_labels["product"] == stem).any()]
    return Prepared(series=series, counts=counts, labels=all_labels,
                    ignored=pd.concat(ignored, ignore_index=True),
                    runs=pd.concat(runs, ignore_index=True), labelled=labelled,
                    unlabelled=[stem for stem in series if stem not in labelled], weeks=weeks)


def score_tables(tables: dict[str, pd.DataFrame], data: Prepared, seconds: float
                 ) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    """Score one peer's incidents (per stem, ignored runs already removed).

    Parameters
    ----------
    tables : dict of str to pd.DataFrame
        Incidents per stem.
    data : Prepared
    seconds : float
        Detection time to report.

    Returns
    -------
    figures : dict
        The labelled-series figures of :func:`scoring.score` (delays in minutes; the
        per-bucket delays, meaningless across mixed buckets, are left out) and
        ``unlabelled``: ``series``, ``product_weeks``, ``fp`` (every incident there) and
        ``false_alarms_per_product_week``.
    per_series : dict
        Per stem: ``labels``, ``found``, ``missed``, ``false_alarms``.
    """
    pooled = pd.concat([tables[s] for s in data.labelled], ignore_index=True)
    weeks = sum(data.weeks[s] for s in data.labelled)
    figs, ev = score(pooled, data.labels, weeks, ONE_MINUTE, seconds)
    figs = {k: v for k, v in figs.items() if not k.endswith("_buckets")}
    un_weeks = sum(data.weeks[s] for s in data.unlabelled)
    un_fp = sum(len(tables[s]) for s in data.unlabelled)
    figs["unlabelled"] = {"series": len(data.unlabelled), "product_weeks": un_weeks,
                          "fp": un_fp, "false_alarms_per_product_week":
                          un_fp / un_weeks if un_weeks else math.nan}
    by = ev.by_product.set_index("product") if len(ev.by_product) else None
    per_series = {}
    for stem in data.series:
        if stem in data.labelled and by is not None and stem in by.index:
            row = by.loc[stem]
            per_series[stem] = {"labels": int(row["n_labels"]), "found": int(row["tp"]),
                                "missed": int(row["fn"]), "false_alarms": int(row["fp"])}
        else:
            per_series[stem] = {"labels": 0, "found": 0, "missed": 0,
                                "false_alarms": len(tables[stem])}
    return figs, per_series


def _run_defaults(peer: ModuleType, data: Prepared) -> dict[str, Any]:
    tables, seconds, dropped = {}, 0.0, {}
    for stem, counts in data.counts.items():
        start = time.perf_counter()
        inc = peer.detect(counts, data.series[stem].bucket, **peer.DEFAULTS)
        seconds += reported_seconds(peer, time.perf_counter() - start)
        kept = drop_ignored(inc, data.ignored)
        dropped[stem] = len(inc) - len(kept)
        tables[stem] = kept
    figs, per_series = score_tables(tables, data, seconds)
    for stem, n in dropped.items():
        per_series[stem]["in_ignored_runs"] = n
    return {"params": dict(peer.DEFAULTS), **figs, "per_series": per_series}


def _run_oracle(peer: ModuleType, data: Prepared) -> dict[str, Any]:
    settings = grid_settings(peer)
    per_setting: list[dict[str, pd.DataFrame]] = [{} for _ in settings]
    start = time.perf_counter()
    for stem, counts in data.counts.items():
        for i, inc in enumerate(run_grid(peer, counts, data.series[stem].bucket, settings)):
            per_setting[i][stem] = drop_ignored(inc, data.ignored)
    total = reported_seconds(peer, time.perf_counter() - start)
    results = [score_tables(t, data, total / len(settings))[0] for t in per_setting]
    best = best_of(results)
    return {"params": settings[best], **results[best], "grid_size": len(settings),
            "grid_seconds": total}


def run(peers: list[ModuleType] | None = None, folder: Path = CLOUD_DIR,
        oracle: bool = True) -> dict[str, Any]:
    """Score every peer (defaults, and oracle-tuned where it has a grid) on the series.

    Parameters
    ----------
    peers : list of module, optional
        Peer modules (``NAME``, ``LABEL``, ``DEFAULTS``, ``GRID``, ``detect``); ``PEERS``
        by default.
    folder : Path
        The dataset's root.
    oracle : bool
        Also run each peer's ``GRID`` and report its best setting (chosen on this data).

    Returns
    -------
    dict
        ``available`` and ``note``; when available also ``series`` (per stem: domain,
        bucket, product-weeks, labels and ignored runs), ``domains`` (labels, ignored
        runs and unlabelled series per domain), ``labels``, ``ignored``, ``runs`` (every
        labelled run with its measure), ``product_weeks`` (labelled, unlabelled),
        ``results`` (per peer: ``label``, ``retrospective``, ``defaults`` with
        ``per_series``, ``oracle`` if tuned, or ``error``) and ``notes``.
    """
    loaded = read_all(folder)
    if loaded is None:
        return {"available": False, "note": f"{folder} is absent: Cloud Monitoring skipped"}
    data = prepare(loaded)
    results: dict[str, Any] = {}
    for peer in PEERS if peers is None else peers:
        entry: dict[str, Any] = {"label": peer.LABEL,
                                 "retrospective": peer is spikes_retrospective}
        try:
            entry["defaults"] = _run_defaults(peer, data)
            if oracle and peer.GRID:
                entry["oracle"] = _run_oracle(peer, data)
        except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
            entry["error"] = f"{type(exc).__name__}: {exc}"
        results[peer.NAME] = entry
    return {"available": True, "note": RATE_NOTE, "folder": str(folder),
            "series": _series_summary(data), "domains": _domain_summary(data),
            "labels": len(data.labels), "ignored": len(data.ignored),
            "runs": _records(data.runs),
            "product_weeks": {"labelled": sum(data.weeks[s] for s in data.labelled),
                              "unlabelled": sum(data.weeks[s] for s in data.unlabelled)},
            "results": results, "notes": NOTES}


def _series_summary(data: Prepared) -> dict[str, dict[str, Any]]:
    out = {}
    for stem, s in data.series.items():
        runs = data.runs[data.runs["product"] == stem]
        out[stem] = {"domain": s.domain, "bucket": f"{s.bucket / ONE_MINUTE:g} min",
                     "points": len(s.values),
                     "missing": int(s.values.isna().sum()),
                     "product_weeks": data.weeks[stem],
                     "labels": int((runs["kind"] == "rise").sum()),
                     "drops": int((runs["kind"] == "drop").sum()),
                     "blips": int((runs["kind"] == "blip").sum()),
                     "labelled": stem in data.labelled}
    return out


def _domain_summary(data: Prepared) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for stem, row in _series_summary(data).items():
        d = out.setdefault(row["domain"], {"series": 0, "labels": 0, "drops": 0, "blips": 0,
                                           "unlabelled_series": []})
        d["series"] += 1
        for key in ("labels", "drops", "blips"):
            d[key] += row[key]
        if not row["labelled"]:
            d["unlabelled_series"].append(stem)
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if isinstance(v, pd.Timestamp) else _json(v))
             for k, v in row.items()} for row in frame.to_dict("records")]


def _json(value: Any) -> Any:
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, np.floating | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp | pd.Timedelta):
        return str(value)
    return value


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _delay(figs: dict[str, Any], key: str) -> str:
    median, p90 = figs.get(f"{key}_median_min"), figs.get(f"{key}_p90_min")
    if median is None or (isinstance(median, float) and math.isnan(median)):
        return "-"
    return f"{median:.0f}/{p90:.0f}"


def render(res: dict[str, Any]) -> str:
    """The result as text tables: labels per domain, one row per peer and mode, and the
    per-series breakdown of `spikes`.

    Parameters
    ----------
    res : dict
        Output of :func:`run`.

    Returns
    -------
    str
        Plain-text tables (Markdown pipes).
    """
    if not res["available"]:
        return res["note"]
    lines = [f"Cloud Monitoring: {len(res['series'])} series, {res['labels']} labels, "
             f"{res['ignored']} ignored runs; product-weeks labelled "
             f"{res['product_weeks']['labelled']:.2f}, unlabelled "
             f"{res['product_weeks']['unlabelled']:.2f}", "",
             "| domain | series | labels | ignored drops | ignored blips | unlabelled series |",
             "|---|---|---|---|---|---|"]
    for domain, d in res["domains"].items():
        lines.append(f"| {domain} | {d['series']} | {d['labels']} | {d['drops']} | "
                     f"{d['blips']} | {', '.join(d['unlabelled_series']) or '-'} |")
    lines += ["", "| peer | mode | P | R | F1 | onset delay med/p90 (min) | alert delay "
              "med/p90 (min) | TP | FP | FA/pw labelled | FP unlabelled | FA/pw unlabelled "
              "| s | params |", "|" + "---|" * 14]
    for name, entry in res["results"].items():
        if "error" in entry:
            lines.append(f"| {name} | error | {entry['error']} |" + " |" * 11)
            continue
        for mode in ("defaults", "oracle"):
            if mode not in entry:
                continue
            f = entry[mode]
            label = "oracle (tuned on this data)" if mode == "oracle" else "defaults"
            if entry["retrospective"]:
                label += ", retrospective: not comparable"
            un = f["unlabelled"]
            params = ", ".join(f"{k}={v}" for k, v in f["params"].items()) or "-"
            lines.append(
                f"| {name} | {label} | {_fmt(f['precision'])} | {_fmt(f['recall'])} | "
                f"{_fmt(f['f1'])} | {_delay(f, 'delay')} | {_delay(f, 'alert_delay')} | "
                f"{f['tp']} | {f['fp']} | {_fmt(f['false_alarms_per_product_week'], 2)} | "
                f"{un['fp']} | {_fmt(un['false_alarms_per_product_week'], 2)} | "
                f"{f['seconds']:.1f} | {params} |")
    spikes = res["results"].get(spikes_default.NAME, {})
    if "defaults" in spikes:
        lines += ["", "`spikes` (defaults) per series:", "",
                  "| series | domain | bucket | labels | found | missed | false alarms | "
                  "incidents in ignored runs |", "|" + "---|" * 8]
        for stem, row in spikes["defaults"]["per_series"].items():
            s = res["series"][stem]
            lines.append(f"| {stem} | {s['domain']} | {s['bucket']} | {row['labels']} | "
                         f"{row['found']} | {row['missed']} | {row['false_alarms']} | "
                         f"{row.get('in_ignored_runs', 0)} |")
    lines += ["", "Notes:"] + [f"- {n}" for n in res["notes"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, print the tables and optionally write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=CLOUD_DIR, help="dataset root")
    parser.add_argument("--no-oracle", action="store_true", help="defaults only")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    res = run(PEERS, args.folder, oracle=not args.no_oracle)
    res["seconds"] = time.perf_counter() - started
    print(render(res))
    print(f"\n({res['seconds']:.1f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1, default=_json) + "\n",
                             encoding="utf-8")


if __name__ == "__main__":
    main()
