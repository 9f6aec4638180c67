"""Render the benchmark results (the dict written to ``results.json``) as ``RESULTS.md``."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent

RETROSPECTIVE = frozenset({"spikes-retro"})
"""Detectors with hindsight: shown last in every table, marked, never ranked."""
HINDSIGHT = "hindsight, not comparable"
PEER_NOTES = {
    "spikes": "`analyze(data, DetectionConfig())`: the package with its defaults, live "
              "(causal): every incident has the time a live run would have raised it "
              "(`alerted_at`).",
    "spikes-retro": "`analyze(data, DetectionConfig(mode='retrospective'))`: the package with "
                    "hindsight (baseline pooled on both sides of a bucket, thresholds and "
                    "onsets from the whole series). Retrospective figures (EVALUATION.md, "
                    "Live rules): for post-mortems only, never ranked beside the online "
                    "detectors.",
    "downdetector": "Reports > k x median of the same time-of-day bucket over the previous "
                    "`days` days and >= `min_count`; consecutive flagged buckets = one "
                    "incident. Downdetector publishes no factor: k=3, min_count=5 are ours.",
    "pelt": "ruptures PELT, `l2` cost, `min_size=2`, `jump=1`, pen = pen_scale x 2 log(n) "
            "sigma^2 (sigma = MAD of first differences / sqrt 2); segments whose mean rises "
            "by > margin x sigma over the previous one are onsets. Engine: ruptures' C PELT "
            "(`KernelCPD(kernel='linear')`, the same cost; see the equivalence check).",
    "shesd": "Piecewise (2 weeks) seasonal-hybrid ESD: median-based seasonal part (period 1 "
             "day), residual = x - seasonal - median, generalized ESD with median/MAD, "
             "positive side; consecutive anomalies = one incident.",
    "adtk_persist": "ADTK `PersistAD(window=1, c=3.0, side='positive')` (ADTK defaults but "
                    "rises only), fitted per product on the whole series.",
    "adtk_levelshift": "ADTK `LevelShiftAD(window=5, c=6.0, side='positive')` (c is ADTK's "
                       "default; window has none, 5 as in ADTK's examples).",
}


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _delay(fig: dict[str, Any], key: str, prefix: str = "delay") -> str:
    minutes, buckets = fig.get(f"{prefix}_{key}_min"), fig.get(f"{prefix}_{key}_buckets")
    if _nan(minutes):
        return "n/a"
    return f"{minutes:.0f} ({buckets:.1f})"


def _delays(fig: dict[str, Any], prefix: str = "delay") -> str:
    """``median / p90`` in minutes, and in buckets when the figures have them."""
    med, p90 = fig.get(f"{prefix}_median_min"), fig.get(f"{prefix}_p90_min")
    if _nan(med):
        return "n/a"
    text = f"{med:.0f} / {p90:.0f}"
    bmed, bp90 = fig.get(f"{prefix}_median_buckets"), fig.get(f"{prefix}_p90_buckets")
    return text if _nan(bmed) else f"{text} ({bmed:.1f} / {bp90:.1f})"


def _buckets(fig: dict[str, Any], prefix: str = "alert_delay") -> str:
    """``median / p90`` in buckets."""
    med, p90 = fig.get(f"{prefix}_median_buckets"), fig.get(f"{prefix}_p90_buckets")
    return "n/a" if _nan(med) else f"{med:.1f} / {p90:.1f}"


def _online_first(results: dict[str, Any]) -> Iterator[tuple[str, Any, str]]:
    """(name, entry, mark) with the online detectors first and the hindsight ones last."""
    for name, entry in results.items():
        if name not in RETROSPECTIVE and not entry.get("retrospective"):
            yield name, entry, ""
    for name, entry in results.items():
        if name in RETROSPECTIVE or entry.get("retrospective"):
            yield name, entry, f" ({HINDSIGHT})"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "-"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _machine(m: dict[str, Any]) -> list[str]:
    return [
        "## Machine", "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; RAM {m['ram_gb']} GB; {m['os']}",
        f"- Python {m['python']}, pandas {m['pandas']}, numpy {m['numpy']}, scipy "
        f"{m['scipy']}, ruptures {m['ruptures']}",
        f"- ADTK environment: {m.get('adtk') or 'unavailable'}",
        f"- Date: {m['date']}", "",
    ]


def _headline(res: dict[str, Any]) -> list[str]:
    rows = []
    for key, s in res["suites"].items():
        sp, best = s["summary"]["spikes"], s["summary"]["best_peer"]
        rows.append([
            f"{key} {s['name']}", _f(s["ceiling"]["f1"]), _f(sp["f1"]),
            _f(s["summary"]["gap_to_ceiling"]),
            f"{_f(best['f1'])} ({best['peer']}, {best['mode']})",
            _f(s["summary"]["margin_over_best_peer"]), _buckets(sp, "delay"), _buckets(sp),
            _f(sp["false_alarms_per_product_week"]),
            "yes" if not s["summary"]["missed_targets"] else "no",
        ])
    header = ["suite", "ceiling F1", "spikes F1", "gap to ceiling", "best online peer F1",
              "spikes - best", "onset delay med / p90 (buckets)",
              "alert delay med / p90 (buckets)", "false alarms / product-week",
              "targets met"]
    return ["## Headline (live spikes with defaults vs the best online peer, defaults or "
            "oracle-tuned; development seeds)", "",
            f"`spikes-retro` ({HINDSIGHT}) is never the best peer. Targets: F1, alert delay "
            "and false alarms (next section).", "", *_table(header, rows), ""]


def _cell(check: dict[str, Any], digits: int) -> str:
    if _nan(check["value"]):
        return "n/a (missed)"
    text = f"{check['value']:.{digits}f} ({check['margin']:+.{digits}f})"
    return text if check["held"] else f"**{text}**"


def _targets(res: dict[str, Any]) -> list[str]:
    t = res.get("targets")
    lines = ["## Targets of the causal-detection issue (live mode)", ""]
    if not t:
        return [*lines, "Not evaluated.", ""]
    lines += ["Every figure is of live (causal) `spikes` with its defaults; `spikes-retro` "
              "is never a peer. The targets:", "", *[f"- {g}" for g in t["goals"]], "",
              "Margin: how far the measure is on the right side of the goal (+ = held with "
              "that much room, - = missed by that much).", ""]
    rows = [[r["target"], r["goal"], r["measured"],
             "" if _nan(r["margin"]) else f"{r['margin']:+.3g}",
             "not run" if r["held"] is None else ("held" if r["held"] else "**missed**")]
            for r in t["rows"]]
    lines += [*_table(["target", "goal", "measured", "margin", "verdict"], rows), ""]
    if t["matrix"]:
        digits = (3, 1, 1, 3)
        matrix = [[m["data"], *[_cell(c, d) for c, d in zip(m["checks"], digits,
                                                                strict=True)],
                   "yes" if m["held"] else "no"] for m in t["matrix"]]
        header = [f"{c['what']} {c['rule']}" for c in t["matrix"][0]["checks"]]
        lines += ["Simulated data sets (value and margin; missed in bold):", "",
                  *_table(["data set", *header, "all held"], matrix), ""]
    return lines


def _gap(res: dict[str, Any]) -> list[str]:
    check = res.get("check")
    if not check:
        return []
    rows = []
    for key, c in check["suites"].items():
        dev = res["suites"][key]["summary"]["spikes"]
        chk = c["spikes"]
        rows.append([f"{key} {c['name']}", f"{c['dev_seed']} / {c['seed']}", _f(dev["f1"]),
                     _f(chk["f1"]), f"{dev['f1'] - chk['f1']:+.3f}",
                     _f(dev["false_alarms_per_product_week"]),
                     _f(chk["false_alarms_per_product_week"]), _buckets(dev), _buckets(chk),
                     f"{_f(res['suites'][key]['ceiling']['f1'])} / {_f(c['ceiling']['f1'])}",
                     f"{_blip_f1(res['suites'][key])} / {_blip_f1(c)}"])
    return ["## Development vs check seeds (live spikes)", "",
            "The defaults were developed on suites A-E with their fixed seeds (dev); the same "
            f"suites simulated with other seeds (dev + {check['offset']}: check) were never "
            "looked at while choosing them. Gap = dev F1 - check F1: a large positive gap "
            "means the defaults fit the development data. Required in every change of "
            "defaults.", "",
            *_table(["suite", "seeds dev / check", "dev F1", "check F1", "gap",
                     "dev FA/pw", "check FA/pw", "dev alert delay med / p90 (buckets)",
                     "check alert delay med / p90 (buckets)", "ceiling F1 dev / check",
                     "blip-aware ceiling F1 dev / check"],
                    rows), "", *_family3_gap(res)]


def _family3_gap(res: dict[str, Any]) -> list[str]:
    check = res.get("family3_check")
    datasets = res.get("generalisation", {}).get("datasets", {})
    if not check:
        return []
    rows = []
    for family, c in check["families"].items():
        dev = datasets.get(f"family 3: {family}", {}).get("results", {}).get("spikes")
        chk = c["spikes"]
        if not dev or "error" in dev or "error" in chk:
            continue
        rows.append([family, f"{c['dev_seed']} / {c['seed']}", _f(dev["f1"]), _f(chk["f1"]),
                     f"{dev['f1'] - chk['f1']:+.3f}",
                     _f(dev["false_alarms_per_product_week"]),
                     _f(chk["false_alarms_per_product_week"]), _buckets(dev), _buckets(chk)])
    return ["The third simulator's families (section Generalisation): some defaults were "
            "chosen on their seeds (the README names them); the same families simulated "
            f"with other seeds (+ {check['offset']}: check) were never looked at.", "",
            *_table(["family 3", "seeds dev / check", "dev F1", "check F1", "gap",
                     "dev FA/pw", "check FA/pw", "dev alert delay med / p90 (buckets)",
                     "check alert delay med / p90 (buckets)"], rows), ""]


def _budget(res: dict[str, Any]) -> list[str]:
    b = res.get("budget")
    if not b:
        return []
    rows = [[r["dataset"], f"{r['b']:g}", str(r["alerts"]), _f(r["product_weeks"], 1),
             _f(r["per_product_week"]), f"{r['limit']:g}",
             "yes" if r["holds"] else "**no**"] for r in b["rows"]]
    return ["## Budget rule (live spikes)", "",
            "`DetectionConfig(false_alarms_per_week=b)`: the alerts raised outside labelled "
            f"windows should stay within {b['limit_factor']:g} b per product-week. An alert "
            "is inside when its onset or the bucket that raised it (`alerted_at`) falls in a "
            "window of its product: suites, the outages' matching windows [t0 - 10 min, "
            "max(t1, t0 + 30 min)] (alerts on distractors count); NAB, the NAB windows; "
            "Cloud Monitoring, the labelled rises' matching windows and the ignored runs, on "
            "all series. Product-weeks: the time outside the windows.", "",
            *_table(["data set", "b", "alerts outside labels", "product-weeks outside",
                     "alerts outside labels / pw", "limit 2b", "holds?"], rows), ""]


def _blip_f1(suite: dict[str, Any]) -> str:
    """A suite's blip-aware ceiling F1 (``suites.blip_aware_ceiling``; n/a in results
    written before it)."""
    return _f(suite["ceiling"].get("blip_aware_f1"))


def _suites(res: dict[str, Any]) -> list[str]:
    rows = [[f"{k} {s['name']}", s["description"], f"{s['products']} x {s['days']} d",
             s["bucket"], str(s["ceiling"]["n_labels"]), str(s["ceiling"]["n_detectable"]),
             _f(s["ceiling"]["recall"]), _f(s["ceiling"]["f1"]),
             _f(s["ceiling"].get("n_one_bucket")), _blip_f1(s)]
            for k, s in res["suites"].items()]
    header = ["suite", "what", "size", "bucket", "outages", "SNR >= 3", "ceiling recall",
              "ceiling F1", "one-bucket outages", "blip-aware ceiling F1"]
    return ["## Suites", "",
            "Generated with `spikes.evaluation.simulate.simulate` (fixed development seeds "
            "101-105, the seeds the defaults were developed on), written as "
            "long-count CSV and read back with `spikes.io.buckets.load_reports`; every "
            "detector sees the same counts grid. Ceiling = a detector that finds exactly the "
            "outages with SNR >= 3 (precision 1). Blip-aware ceiling = the same, less the "
            "one-bucket outages (a peak bucket, then only the bucket closing the decay at "
            "1.55x), which look like the suites' one-bucket blips (`BLIP_CEILING.md`).", "",
            *_table(header, rows), ""]


def _row(name: str, mode: str, fig: dict[str, Any]) -> list[str]:
    return [name, mode, _f(fig["precision"]), _f(fig["recall"]), _f(fig["f1"]),
            _delay(fig, "median"), _delay(fig, "p90"), _delay(fig, "median", "alert_delay"),
            _delay(fig, "p90", "alert_delay"), _f(fig["false_alarms_per_product_week"]),
            str(fig["n_incidents"]), _f(fig["seconds"], 2), _params(fig.get("params", {}))]


def _per_suite(res: dict[str, Any]) -> list[str]:
    header = ["detector", "settings", "precision", "recall", "F1", "onset delay median min "
              "(buckets)", "onset delay p90 min (buckets)", "alert delay median min "
              "(buckets)", "alert delay p90 min (buckets)", "false alarms / pw", "incidents",
              "seconds", "parameters"]
    lines = ["## Results per suite", "",
             "`defaults` = published or documented defaults; `oracle` = best F1 over the "
             "grid of the detector's main settings on that suite (TCPDBench style; the "
             "seconds are the grid's time divided by its size). Onset delay: onset minus "
             "true onset; alert delay: `alerted_at` minus true onset (live spikes only). "
             f"`spikes-retro` rows: {HINDSIGHT}. Seconds: detection only, one core (the "
             "reading is shared).", ""]
    for key, s in res["suites"].items():
        rows = []
        for name, r, mark in _online_first(s["peers"]):
            if "error" in r:
                rows.append([name, "error", *["n/a"] * 10, r["error"][:120]])
                continue
            rows.append(_row(name, "defaults" + mark, r["defaults"]))
            if "oracle" in r:
                rows.append(_row(name, f"oracle ({r['oracle']['grid_size']})" + mark,
                                 r["oracle"]))
        lines += [f"### {key} {s['name']} (ceiling F1 {_f(s['ceiling']['f1'])})", "",
                  *_table(header, rows), ""]
    return lines


def _nab(res: dict[str, Any]) -> list[str]:
    nab = res.get("nab")
    lines = ["## NAB realTweets (AAPL, AMZN, CRM, CVS, FB)", ""]
    if not nab or not nab.get("available"):
        return [*lines, (nab or {}).get("note", "NAB not run."), ""]
    lines += ["Defaults only (no per-data-set tuning). F1: the NAB windows as labels, "
              "no early allowance (EVALUATION.md). NAB score: NAB v1.1 standard profile, "
              "normalised over these five files (spikes.evaluation.nab); each incident is one "
              "detection, at the bucket that raised it (`alerted_at`) for live spikes, at its "
              f"onset for the others. {nab['windows']} windows.", ""]
    rows = []
    for name, r, mark in _online_first(nab["results"]):
        if "error" in r:
            rows.append([name + mark, *["n/a"] * 6, r["error"][:100]])
            continue
        fps = sum(f["false_positives"] for f in r["nab_files"].values())
        rows.append([name + mark, _f(r["precision"]), _f(r["recall"]), _f(r["f1"]),
                     _f(r["nab_score"], 1), str(r["n_incidents"]), str(fps),
                     _f(r["seconds"], 2)])
    lines += _table(["detector", "precision", "recall", "F1", "NAB score", "incidents",
                     "NAB false positives", "seconds"], rows)
    published = ", ".join(f"{k} {v}" for k, v in sorted(nab["published"].items(),
                                                        key=lambda kv: -kv[1]))
    return [*lines, "", f"Published NAB standard scores on these five files: {published}.",
            ""]


QUALITY_HEADER = ["detector", "settings", "precision", "recall", "F1",
                  "onset delay med / p90 min (buckets)", "alert delay med / p90 min (buckets)",
                  "false alarms / pw", "incidents", "seconds"]


def _quality(name: str, mode: str, fig: dict[str, Any]) -> list[str]:
    return [name, mode, _f(fig["precision"]), _f(fig["recall"]), _f(fig["f1"]),
            _delays(fig), _delays(fig, "alert_delay"),
            _f(fig["false_alarms_per_product_week"]), str(fig["n_incidents"]),
            _f(fig["seconds"], 1)]


def _cloud(res: dict[str, Any]) -> list[str]:
    cloud = res.get("cloud")
    lines = ["## Cloud Monitoring (real labelled telemetry)", ""]
    if not cloud or not cloud.get("available"):
        return [*lines, (cloud or {}).get("note", "Not run."), ""]
    weeks = cloud["product_weeks"]
    lines += [f"{len(cloud['series'])} series (`benchmarks/cloud_bench.py`, files in "
              f"`{cloud['folder']}`), {cloud['labels']} labelled rises, {cloud['ignored']} "
              f"ignored runs (drops, blips); {weeks['labelled']:.1f} product-weeks on the "
              f"labelled series, {weeks['unlabelled']:.1f} on the unlabelled ones. Labels by "
              "EVALUATION.md (Cloud Monitoring series). Delays in minutes (hourly and "
              "one-minute series are pooled).", ""]
    domains = [[d, str(v["series"]), str(v["labels"]), str(v["drops"]), str(v["blips"]),
                ", ".join(v["unlabelled_series"]) or "-"] for d, v in cloud["domains"].items()]
    lines += [*_table(["domain", "series", "labelled rises", "ignored drops", "ignored blips",
                       "unlabelled series"], domains), ""]
    rows = []
    for name, entry, mark in _online_first(cloud["results"]):
        if "error" in entry:
            rows.append([name, "error" + mark, *["n/a"] * 10, entry["error"][:100]])
            continue
        for mode in ("defaults", "oracle"):
            if mode not in entry:
                continue
            fig = entry[mode]
            label = f"oracle ({fig['grid_size']})" if mode == "oracle" else "defaults"
            un = fig["unlabelled"]
            rows.append([*_quality(name, label + mark, fig), str(un["fp"]),
                         _f(un["false_alarms_per_product_week"]),
                         _params(fig.get("params", {}))])
    lines += ["Labelled series (F1 on the rising windows) and, separately, the false alarms "
              "on the unlabelled series. Oracle: tuned on this very data (an upper bound).",
              "", *_table([*QUALITY_HEADER, "false alarms, unlabelled series",
                           "false alarms / pw, unlabelled", "parameters"], rows), ""]
    spikes = cloud["results"].get("spikes", {}).get("defaults")
    if spikes:
        per = [[stem, cloud["series"][stem]["bucket"], str(r["labels"]), str(r["found"]),
                str(r["missed"]), str(r["false_alarms"]), str(r.get("in_ignored_runs", 0))]
               for stem, r in spikes["per_series"].items()]
        lines += ["Live spikes per series:", "",
                  *_table(["series", "bucket", "labels", "found", "missed", "false alarms",
                           "incidents in ignored runs"], per), ""]
    return [*lines, *[f"- {n}" for n in cloud.get("notes", [])], ""]


def _generalisation(res: dict[str, Any]) -> list[str]:
    gen = res.get("generalisation")
    if not gen:
        return []
    lines = ["## Generalisation (data the defaults were not developed on)", "",
             "`benchmarks/generalisation.py`: four families of a second, independently "
             "designed simulator (`sim_family2.py`: drift, minute, hourly, quiet; curiosity "
             "bursts unlabelled), five families of a third independent design from a bug hunt "
             "(`sim_family3.py`: mixed, partial, plateau, autocorr_tz, bursts; news bursts "
             "unlabelled; recall by kind is by the product's daily shape; check figures for "
             "every default but the weekend-shape rule, which was chosen on them: see the "
             "README) and outages injected into the NAB realTweets "
             "series (`inject.py`; incidents inside the NAB windows are ignored, the "
             "product-weeks count the time outside them). Defaults only. R clear: recall on "
             "the labels with at least one clearly elevated bucket.", ""]
    for name, entry in gen["datasets"].items():
        if not entry.get("available"):
            lines += [f"### {name}: not available", ""]
            continue
        rows = []
        for peer, r, mark in _online_first(entry["results"]):
            if "error" in r:
                rows.append([peer, "error" + mark, *["n/a"] * 8, r["error"][:100]])
                continue
            rows.append([*_quality(peer, "defaults" + mark, r), _f(r.get("recall_clear"))])
        bucket = pd.Timedelta(entry["bucket"]) / pd.Timedelta(minutes=1)
        lines += [f"### {name} (bucket {bucket:g} min, {entry['products']} products, "
                  f"{entry['labels']} labels, {entry['product_weeks']:.1f} product-weeks)", "",
                  *_table([*QUALITY_HEADER, "R clear"], rows), ""]
        spikes = entry["results"].get("spikes", {})
        if "recall_by_kind" in spikes:
            kinds = ", ".join(f"{k} {v['recall']:.2f} (n={v['labels']})"
                              for k, v in sorted(spikes["recall_by_kind"].items()))
            lines.append(f"Live spikes, recall by kind: {kinds}.")
        if "false_alarms_by_cause" in spikes:
            causes = ", ".join(f"{k} {v}" for k, v in spikes["false_alarms_by_cause"].items())
            lines.append(f"Live spikes, false alarms by cause: {causes}.")
        if "misses_by_cause" in spikes:
            causes = ", ".join(f"{k} {v}" for k, v in spikes["misses_by_cause"].items())
            lines.append(f"Live spikes, missed labels by cause (`spikes explain`): {causes}.")
        lines += _ceiling_line(res.get("burst_ceiling", []), name)
        lines.append("")
    return lines


def _ceiling_line(rows: list[dict[str, Any]], family: str) -> list[str]:
    """One family's evidence ceiling among its bursts (``bench_burst_ceiling.py``)."""
    mine = [r for r in rows if r["family"] == family]
    if not mine:
        return []
    seeds = []
    for seed in dict.fromkeys(r["seed"] for r in mine):
        f1 = ", ".join(f"{r['ceiling F1']:.3f} ({r['horizon']})" for r in mine
                       if r["seed"] == seed)
        seeds.append(f"seed {seed}: {f1}")
    return ["Evidence ceiling (`BURST_CEILING.md`: true rates known, rises ranked by their "
            "evidence, per-product thresholds picked in hindsight, <= 0.1 bursts alerted "
            f"per pw): F1 {'; '.join(seeds)}."]


def _speed(res: dict[str, Any]) -> list[str]:
    speed = res.get("speed")
    lines = ["## Speed (`benchmarks/bench_speed.py`)", ""]
    if not speed:
        return [*lines, "Not run (`--quick` or `--no-speed`).", ""]
    if "error" in speed:
        return [*lines, f"Failed: {speed['error']}", ""]
    many, year = speed["many_products"], speed["one_year"]
    sp = many["spikes"]
    lines += [
        f"(a) {many['rows']:,} rows of long counts ({many['setup']['products']} products x "
        f"{many['setup']['days']} days of 5-minute buckets, {many['file_mb']} MB CSV):", "",
        f"- `pd.read_csv(engine='pyarrow')`: {_f(many['pyarrow_seconds'], 2)} s (best of 2), "
        f"peak memory {many['pyarrow_maxrss_mb']:.0f} MB",
        f"- `spikes` (load_reports + analyze): {_f(sp['seconds'], 1)} s (load "
        f"{_f(sp['load_seconds'], 1)} s, analyze {_f(sp['analyze_seconds'], 1)} s), peak "
        f"memory {sp['maxrss_mb']:.0f} MB, {sp['incidents']} incidents",
        *_jobs_line(many),
        *_reference_line(many),
        f"- ratio {_f(many['ratio'], 1)}x in one process (issue 3's target <= 2x); memory "
        f"target < 2048 MB", "",
        f"(b) one product, {year['points']:,} one-minute buckets:", "",
        f"- `spikes` (load_reports + analyze): {_f(year['spikes']['seconds'], 2)} s (load "
        f"{_f(year['spikes']['load_seconds'], 2)} s, analyze "
        f"{_f(year['spikes']['analyze_seconds'], 2)} s), peak memory "
        f"{year['spikes']['maxrss_mb']:.0f} MB (target < 5 s)",
    ]
    for engine, p in year["pelt"].items():
        name = ("ruptures C PELT (`KernelCPD(kernel='linear')`)" if engine == "c"
                else "ruptures pure-Python `Pelt(model='l2', jump=1)`")
        how = ("measured on the whole series" if p["measured_whole"] else
               f"extrapolated quadratically from {p['slices'][-1][0]:,} points "
               f"({_f(p['slices'][-1][1], 1)} s; growth exponent between the last two "
               f"slices {_f(p['growth_exponent'], 2)})")
        lines.append(f"- {name}: {_f(p['seconds'], 1)} s, {how}; spikes / PELT = "
                     f"{year['ratio_to_pelt'][engine]:.3g}")
    return [*lines, ""]


def _scale() -> list[str]:
    """The scale-out figures of ``bench_scale.py`` (a separate, longer benchmark that
    writes ``SCALE.md``): its headings and tables, copied here."""
    lines = ["## Scale-out (`benchmarks/bench_scale.py`)", "",
             "10,000 products need about 80 M rows of Parquet and several minutes: "
             "`bench_scale.py` runs apart from this benchmark and writes "
             "`benchmarks/SCALE.md` (details and notes there). Its tables:", ""]
    path = HERE / "SCALE.md"
    if not path.exists():
        return [*lines, "Not run yet.", ""]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            lines += ["#" + line, ""]
        elif line.startswith("|"):
            lines.append(line)
        elif lines and lines[-1].startswith("|"):
            lines.append("")
    # Keep only the headings that a table follows.
    kept: list[str] = []
    for i, line in enumerate(lines):
        following = next((x for x in lines[i + 1 :] if x), "")
        if line.startswith("### ") and not following.startswith("|"):
            continue
        kept.append(line)
    return [*kept, ""]


def _jobs_line(many: dict[str, Any]) -> list[str]:
    """The speed line of ``spikes`` with a job per core (absent in older results)."""
    jb = many.get("spikes_jobs")
    if not jb:
        return []
    return [f"- `spikes` with `jobs={jb['jobs']}` (`analyze(..., jobs)`: scores and then "
            f"incidents in partitions over forked worker processes, one per core, the scores "
            f"handed back through shared memory and inherited by the incidents' workers): "
            f"{_f(jb['seconds'], 1)} s (analyze {_f(jb['analyze_seconds'], 1)} s), peak "
            f"memory {jb['maxrss_mb']:.0f} MB in the parent, "
            f"{jb.get('worker_maxrss_mb', float('nan')):.0f} MB in the largest worker "
            f"(resident size, which counts the pages it shares with the parent "
            f"copy-on-write), ratio {_f(many['ratio_jobs'], 1)}x (the causal-detection "
            f"issue's target is on these seconds: see Targets)"]


def _reference_line(many: dict[str, Any]) -> list[str]:
    """The runs of this code and the causal-detection issue's reference code in turn
    (absent in older results)."""
    ref = many.get("reference")
    if not ref:
        return []
    if "error" in ref:
        return [f"- the issue's reference code ({ref['commit'][:7]}) not timed: {ref['error']}"]
    runs = ", ".join(f"{r:.1f} / {c:.1f}" for r, c in
                     zip(ref["reference_seconds"], ref["seconds"], strict=True))
    return [f"- in turn with the code the causal-detection issue's 5.2 s was measured on "
            f"({ref['commit'][:7]}, same CSV, a job per core; reference / this code: "
            f"{runs} s): medians {_f(ref['reference_median'], 1)} s and "
            f"{_f(ref['median'], 1)} s, ratio {ref['ratio']:.2f} (target <= 1.5)"]


def _diagnosis(res: dict[str, Any]) -> list[str]:
    lines = ["## Where spikes loses points (defaults)", "",
             "Misses by SNR band (detected / outages), why they were missed, and what the "
             "false alarms were (duplicate = a second incident inside one outage's window; "
             "blip / level_shift = overlaps a simulated distractor; near an outage = within "
             "2 h of an outage but not matched). A bucket is clearly elevated when its count "
             "is >= 2x the true baseline and >= 3 sqrt(baseline + 1) above it: an outage "
             "with one such bucket looks like a one-bucket blip in the data.", ""]
    for key, s in res["suites"].items():
        d = s["peers"].get("spikes", {}).get("diagnosis")
        if not d:
            continue
        bands = ", ".join(f"{b}: {v['detected']}/{v['labels']}"
                          for b, v in d["misses_by_band"].items())
        reasons = ", ".join(f"{k} {v}" for k, v in d["miss_reasons"].items()) or "none"
        fas = ", ".join(f"{k} {v}" for k, v in d["false_alarms"].items()) or "none"
        elevated = ", ".join(f"{k}: {v}" for k, v in
                             sorted(d.get("missed_snr3_by_elevated_buckets", {}).items()))
        lines += [f"- **{key} {s['name']}**: {bands}. Misses: {reasons}. Missed outages with "
                  f"SNR >= 3 by clearly elevated buckets in the data: {elevated or 'none'}. "
                  f"False alarms: {fas}."]
        for m in d["missed"][:6]:
            lines.append(f"  - missed {m['product']} {m['onset']}: SNR {m['snr']}, peak "
                         f"{m['ratio']}x, {m['minutes']:.0f} min, {m['elevated_buckets']} "
                         f"clearly elevated bucket(s) ({m['reason']})")
    return [*lines, ""]


def _notes(res: dict[str, Any]) -> list[str]:
    lines = ["## Detectors", ""]
    lines += [f"- **{k}**: {v}" for k, v in PEER_NOTES.items()]
    check = res.get("pelt_engine_check")
    if check:
        lines.append(f"- PELT engine check: on {check['n']:,} points of suite A, "
                     f"`Pelt(model='l2', jump=1)` ({_f(check['python_seconds'], 1)} s) and "
                     f"`KernelCPD(kernel='linear')` ({_f(check['c_seconds'], 3)} s) give "
                     f"{'identical' if check['identical'] else 'DIFFERENT'} breakpoints "
                     f"({check['n_breakpoints']}).")
    lines += ["", "## Notes and limits", ""]
    lines += [f"- {n}" for n in res.get("notes", [])]
    return [*lines, ""]


def render(res: dict[str, Any]) -> str:
    """The whole ``RESULTS.md``."""
    mode = "quick" if res["quick"] else "full"
    flag = " --quick" if res["quick"] else ""
    timings = ", ".join(f"{k} {v:.0f} s" for k, v in res.get("timings", {}).items())
    lines = [
        "# Benchmark: spikes and its peers", "",
        f"Generated by `.venv/bin/python benchmarks/run_benchmark.py{flag}`"
        f" ({mode} run, {res['seconds'] / 60:.1f} min). Do not edit by hand: rerun the "
        "command. Machine-readable figures: `results.json`.", "",
        *([f"Time per step: {timings}.", ""] if timings else []),
        *_machine(res["machine"]), *_headline(res), *_targets(res), *_gap(res),
        *_budget(res), *_suites(res), *_per_suite(res), *_nab(res), *_cloud(res),
        *_generalisation(res), *_speed(res), *_scale(), *_diagnosis(res), *_notes(res),
    ]
    return "\n".join(lines).rstrip() + "\n"
