"""Render the benchmark results (the dict written to ``results.json``) as ``RESULTS.md``."""

from __future__ import annotations

import math
from typing import Any

PEER_NOTES = {
    "spikes": "`analyze(data, DetectionConfig())`: the package with its defaults.",
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


def _delay(fig: dict[str, Any], key: str) -> str:
    minutes, buckets = fig.get(f"delay_{key}_min"), fig.get(f"delay_{key}_buckets")
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "n/a"
    return f"{minutes:.0f} ({buckets:.1f})"


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
            _f(s["summary"]["margin_over_best_peer"]),
            f"{_f(sp['delay_median_buckets'], 1)} / {_f(sp['delay_p90_buckets'], 1)}",
            _f(sp["false_alarms_per_product_week"]),
            "yes" if not s["summary"]["missed_targets"] else "no",
        ])
    header = ["suite", "ceiling F1", "spikes F1", "gap to ceiling", "best peer F1",
              "spikes - best", "delay med / p90 (buckets)", "false alarms / product-week",
              "all targets"]
    return ["## Headline (spikes with defaults vs the best peer, defaults or oracle-tuned)", "",
            *_table(header, rows), ""]


def _targets(res: dict[str, Any]) -> list[str]:
    lines = ["## Targets of issue 3", ""]
    for key, s in res["suites"].items():
        missed = s["summary"]["missed_targets"]
        lines.append(f"- **{key} {s['name']}**: " + ("all met" if not missed else
                                                     "; ".join(missed)))
    nab = res.get("nab", {})
    if nab.get("available") and "spikes" in nab["results"]:
        score = nab["results"]["spikes"].get("nab_score")
        lines.append(f"- **NAB realTweets**: spikes {_f(score, 1)} vs target > 83.8 (ARTime): "
                     + ("met" if score is not None and score > 83.8 else
                        f"missed by {_f(83.8 - score, 1)} points"))
    speed = res.get("speed")
    if speed and "error" not in speed:
        many, year = speed["many_products"], speed["one_year"]
        mem = many["spikes"]["maxrss_mb"]
        jobs = many.get("spikes_jobs")
        with_jobs = (f" ({_f(many['ratio_jobs'], 1)}x with jobs={jobs['jobs']}, the CLI's "
                     f"default, peak {jobs['maxrss_mb']:.0f} MB)" if jobs else "")
        lines.append(f"- **Speed, 1,000 products x 28 days**: {_f(many['ratio'], 1)}x the "
                     f"pyarrow read in one process{with_jobs} (target <= 2x); peak memory "
                     f"{mem:.0f} MB (target < 2048)")
        lines.append(f"- **Speed, 525,600 one-minute buckets**: "
                     f"{_f(year['spikes']['seconds'], 2)} s (target < 5 s)")
    return [*lines, ""]


def _suites(res: dict[str, Any]) -> list[str]:
    rows = [[f"{k} {s['name']}", s["description"], f"{s['products']} x {s['days']} d",
             s["bucket"], str(s["ceiling"]["n_labels"]), str(s["ceiling"]["n_detectable"]),
             _f(s["ceiling"]["recall"]), _f(s["ceiling"]["f1"])]
            for k, s in res["suites"].items()]
    header = ["suite", "what", "size", "bucket", "outages", "SNR >= 3", "ceiling recall",
              "ceiling F1"]
    return ["## Suites", "",
            "Generated with `spikes.evaluation.simulate.simulate` (fixed seeds), written as "
            "long-count CSV and read back with `spikes.io.buckets.load_reports`; every "
            "detector sees the same counts grid. Ceiling = a detector that finds exactly the "
            "outages with SNR >= 3 (precision 1).", "", *_table(header, rows), ""]


def _row(name: str, mode: str, fig: dict[str, Any]) -> list[str]:
    return [name, mode, _f(fig["precision"]), _f(fig["recall"]), _f(fig["f1"]),
            _delay(fig, "median"), _delay(fig, "p90"),
            _f(fig["false_alarms_per_product_week"]), str(fig["n_incidents"]),
            _f(fig["seconds"], 2), _params(fig.get("params", {}))]


def _per_suite(res: dict[str, Any]) -> list[str]:
    header = ["detector", "settings", "precision", "recall", "F1", "delay median min "
              "(buckets)", "delay p90 min (buckets)", "false alarms / pw", "incidents",
              "seconds", "parameters"]
    lines = ["## Results per suite", "",
             "`defaults` = published or documented defaults; `oracle` = best F1 over the "
             "grid of the detector's main settings on that suite (TCPDBench style; the "
             "seconds are the grid's time divided by its size). Delays: onset minus true "
             "onset. Seconds: detection only, one core (the reading is shared).", ""]
    for key, s in res["suites"].items():
        rows = []
        for name, r in s["peers"].items():
            if "error" in r:
                rows.append([name, "error", *["n/a"] * 8, r["error"][:120]])
                continue
            rows.append(_row(name, "defaults", r["defaults"]))
            if "oracle" in r:
                rows.append(_row(name, f"oracle ({r['oracle']['grid_size']})", r["oracle"]))
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
              "normalised over these five files (spikes.evaluation.nab); each incident onset "
              f"is one detection. {nab['windows']} windows.", ""]
    rows = []
    for name, r in nab["results"].items():
        if "error" in r:
            rows.append([name, *["n/a"] * 6, r["error"][:100]])
            continue
        fps = sum(f["false_positives"] for f in r["nab_files"].values())
        rows.append([name, _f(r["precision"]), _f(r["recall"]), _f(r["f1"]),
                     _f(r["nab_score"], 1), str(r["n_incidents"]), str(fps),
                     _f(r["seconds"], 2)])
    lines += _table(["detector", "precision", "recall", "F1", "NAB score", "incidents",
                     "NAB false positives", "seconds"], rows)
    published = ", ".join(f"{k} {v}" for k, v in sorted(nab["published"].items(),
                                                        key=lambda kv: -kv[1]))
    return [*lines, "", f"Published NAB standard scores on these five files: {published}.",
            ""]


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
        f"- ratio {_f(many['ratio'], 1)}x in one process (target <= 2x); memory target < "
        f"2048 MB", "",
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


def _jobs_line(many: dict[str, Any]) -> list[str]:
    """The speed line of ``spikes`` with a job per core (absent in older results)."""
    jb = many.get("spikes_jobs")
    if not jb:
        return []
    return [f"- `spikes` with `jobs={jb['jobs']}` (the CLI's default: a thread per core for "
            f"the scores, a forked process per core for the incidents): "
            f"{_f(jb['seconds'], 1)} s (analyze {_f(jb['analyze_seconds'], 1)} s), peak "
            f"memory {jb['maxrss_mb']:.0f} MB in the parent, "
            f"{jb.get('worker_maxrss_mb', float('nan')):.0f} MB in the largest worker "
            f"(resident size, which counts the pages it shares with the parent "
            f"copy-on-write), ratio {_f(many['ratio_jobs'], 1)}x"]


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
    lines = [
        "# Benchmark: spikes and its peers", "",
        f"Generated by `.venv/bin/python benchmarks/run_benchmark.py{flag}`"
        f" ({mode} run, {res['seconds'] / 60:.1f} min). Do not edit by hand: rerun the "
        "command. Machine-readable figures: `results.json`.", "",
        *_machine(res["machine"]), *_headline(res), *_targets(res), *_suites(res),
        *_per_suite(res), *_nab(res), *_speed(res), *_diagnosis(res), *_notes(res),
    ]
    return "\n".join(lines).rstrip() + "\n"
