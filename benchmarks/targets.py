"""The targets of the causal-detection issue (live mode) and how a run's results meet them.

Every verdict has a margin in the target's own unit: positive = held with that much room,
negative = missed by that much. ``spikes-retro`` (hindsight) is never a peer here.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import sim_family2
import sim_family3
from budget import BUDGETS, LIMIT_FACTOR

from spikes.config import DetectionConfig

F1_MIN = 0.92
ALERT_MEDIAN_MAX = 2.0
"""Alert delay, median, in buckets."""
ALERT_P90_MAX = 6.0
"""Alert delay, 90th percentile, in buckets."""
FALSE_ALARMS_MAX = 0.1
"""False alarms per product-week."""
NAB_TARGET = 83.8
"""ARTime's published standard score on the five realTweets files."""
CLOUD_MARGIN = 0.05
"""F1 over the best online peer (defaults or oracle) on the Cloud Monitoring rises."""
CLOUD_BUDGET = DetectionConfig().false_alarms_per_week
"""Alerts per product-week allowed on the unlabelled Cloud Monitoring series."""
SPEED_REFERENCE_SECONDS = 5.2
SPEED_FACTOR = 1.5
SPEED_MAX_SECONDS = SPEED_FACTOR * SPEED_REFERENCE_SECONDS
NOT_PEERS = frozenset({"spikes", "spikes-retro"})
"""`spikes` itself and its hindsight run: never counted as the best peer."""
FAMILIES = tuple(sim_family2.FAMILIES)
FAMILIES3 = tuple(sim_family3.FAMILIES)

GOALS = [
    f"**NAB realTweets**: NAB standard-profile score of live `spikes` (each incident "
    f"detected at its `alerted_at`) > {NAB_TARGET} (ARTime, the best published detector on "
    "these five files).",
    f"**Cloud Monitoring**: F1 on the rising labelled windows >= the best online peer "
    f"(defaults or oracle-tuned on the same data) + {CLOUD_MARGIN}; alerts on the unlabelled "
    f"series within the budget (<= {CLOUD_BUDGET:g} per product-week, the default "
    "`false_alarms_per_week`).",
    f"**Simulated suites A-E, the second simulator's families** ({', '.join(FAMILIES)}) "
    f"**and the third simulator's** ({', '.join(FAMILIES3)}; check figures but for the "
    "weekend-shape rule, chosen on them): "
    f"F1 >= {F1_MIN}, alert delay median <= {ALERT_MEDIAN_MAX:g} buckets and p90 <= "
    f"{ALERT_P90_MAX:g} buckets, false alarms <= {FALSE_ALARMS_MAX} per product-week.",
    f"**Budget rule**: with `false_alarms_per_week = b` (b in "
    f"{', '.join(f'{b:g}' for b in BUDGETS)}), alerts outside labelled windows <= "
    f"{LIMIT_FACTOR:g} b per product-week on every data set (NAB, Cloud Monitoring, suites).",
    f"**Speed**: 1,000 products x 28 days of 5-minute buckets (load + analyze, a job per "
    f"core) no slower than {SPEED_FACTOR:g} x {SPEED_REFERENCE_SECONDS:g} s = "
    f"{SPEED_MAX_SECONDS:.1f} s.",
]


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def best_peer(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The online peer with the highest F1, defaults or oracle-tuned.

    Parameters
    ----------
    entries : dict
        Per peer name: ``defaults`` and optionally ``oracle`` figures (with ``f1`` and
        ``params``), or ``error``; an entry with ``retrospective`` true is skipped, as are
        `spikes` and ``spikes-retro``.

    Returns
    -------
    dict
        ``f1`` (NaN when there is no peer), ``peer``, ``mode``, ``params``.
    """
    best: dict[str, Any] = {"f1": math.nan, "peer": "none", "mode": "", "params": {}}
    for name, entry in entries.items():
        if name in NOT_PEERS or entry.get("retrospective") or "error" in entry:
            continue
        for mode in ("defaults", "oracle"):
            fig = entry.get(mode)
            if fig and (_nan(best["f1"]) or fig["f1"] > best["f1"]):
                best = {"f1": fig["f1"], "peer": name, "mode": mode,
                        "params": fig.get("params", {})}
    return best


def _check(what: str, value: Any, goal: float, at_most: bool) -> dict[str, Any]:
    rule = f"{'<=' if at_most else '>='} {goal:g}"
    if _nan(value):
        return {"what": what, "rule": rule, "value": math.nan, "goal": goal,
                "margin": math.nan, "held": False}
    margin = goal - value if at_most else value - goal
    return {"what": what, "rule": rule, "value": value, "goal": goal, "margin": margin,
            "held": bool(margin >= 0)}


def detection_checks(figs: dict[str, Any]) -> list[dict[str, Any]]:
    """F1, alert delay median and p90 (buckets) and false alarms against their targets.

    Parameters
    ----------
    figs : dict
        Figures of :func:`scoring.figures` of live `spikes` on one data set.

    Returns
    -------
    list of dict
        ``what, rule`` (e.g. ``">= 0.92"``), ``value, goal, margin, held`` per target (a
        missing value is not held).
    """
    return [
        _check("F1", figs["f1"], F1_MIN, at_most=False),
        _check("alert delay median (buckets)", figs.get("alert_delay_median_buckets"),
               ALERT_MEDIAN_MAX, at_most=True),
        _check("alert delay p90 (buckets)", figs.get("alert_delay_p90_buckets"),
               ALERT_P90_MAX, at_most=True),
        _check("false alarms / pw", figs["false_alarms_per_product_week"],
               FALSE_ALARMS_MAX, at_most=True),
    ]


def missed(checks: list[dict[str, Any]]) -> list[str]:
    """One line per check not held: value, goal and the shortfall."""
    out = []
    for c in checks:
        if c["held"]:
            continue
        if _nan(c["value"]):
            out.append(f"{c['what']}: no value (nothing detected)")
        else:
            out.append(f"{c['what']} {c['value']:.3g} (target {c['goal']:g}; short by "
                       f"{-c['margin']:.3g})")
    return out


def _matrix(res: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, s in res.get("suites", {}).items():
        figs = s["peers"].get("spikes", {}).get("defaults")
        if figs:
            rows.append({"data": f"{key} {s['name']} (dev seed {s['seed']})",
                         "checks": detection_checks(figs)})
    for key, c in res.get("check", {}).get("suites", {}).items():
        rows.append({"data": f"{key} {c['name']} (check seed {c['seed']})",
                     "checks": detection_checks(c["spikes"])})
    for family in FAMILIES:
        entry = res.get("generalisation", {}).get("datasets", {}).get(family, {})
        figs = entry.get("results", {}).get("spikes")
        if figs and "error" not in figs:
            rows.append({"data": f"family 2: {family}",
                         "checks": detection_checks(figs)})
    for family in FAMILIES3:
        name = sim_family3.dataset_name(family)
        entry = res.get("generalisation", {}).get("datasets", {}).get(name, {})
        figs = entry.get("results", {}).get("spikes")
        if figs and "error" not in figs:
            rows.append({"data": name, "checks": detection_checks(figs)})
    for row in rows:
        row["held"] = all(c["held"] for c in row["checks"])
    return rows


def _row(target: str, goal: str, measured: str, margin: float | None,
         held: bool | None) -> dict[str, Any]:
    return {"target": target, "goal": goal, "measured": measured,
            "margin": math.nan if margin is None else margin, "held": held}


def _nab(res: dict[str, Any]) -> dict[str, Any]:
    figs = res.get("nab", {}).get("results", {}).get("spikes")
    if not figs or "error" in figs:
        return _row("NAB realTweets score (live)", f"> {NAB_TARGET}", "not run", None, None)
    score = figs["nab_score"]
    return _row("NAB realTweets score (live)", f"> {NAB_TARGET} (ARTime)", f"{score:.1f}",
                score - NAB_TARGET, bool(score > NAB_TARGET))


def _cloud(res: dict[str, Any]) -> list[dict[str, Any]]:
    cloud = res.get("cloud", {})
    figs = cloud.get("results", {}).get("spikes", {}).get("defaults")
    if not cloud.get("available") or not figs:
        return [_row("Cloud Monitoring F1 (rises)", f"best peer + {CLOUD_MARGIN}", "not run",
                     None, None)]
    best = best_peer(cloud["results"])
    goal = best["f1"] + CLOUD_MARGIN
    un = figs["unlabelled"]["false_alarms_per_product_week"]
    return [
        _row("Cloud Monitoring F1 (rises)",
             f">= {goal:.3f} ({best['peer']} {best['mode']} {best['f1']:.3f} + {CLOUD_MARGIN})",
             f"{figs['f1']:.3f}", figs["f1"] - goal, bool(figs["f1"] >= goal)),
        _row("Cloud Monitoring, unlabelled series", f"<= {CLOUD_BUDGET:g} alerts / pw",
             f"{un:.3f} ({figs['unlabelled']['fp']} "
             f"alert{'' if figs['unlabelled']['fp'] == 1 else 's'} in "
             f"{figs['unlabelled']['product_weeks']:.1f} pw)", CLOUD_BUDGET - un,
             bool(un <= CLOUD_BUDGET)),
    ]


def _budget(res: dict[str, Any]) -> dict[str, Any]:
    rows = res.get("budget", {}).get("rows", [])
    if not rows:
        return _row("Budget rule", f"<= {LIMIT_FACTOR:g} b", "not run", None, None)
    held = sum(r["holds"] for r in rows)
    worst = min(rows, key=lambda r: r["limit"] - r["per_product_week"])
    return _row("Budget rule", f"<= {LIMIT_FACTOR:g} b alerts / pw outside labels",
                f"{held}/{len(rows)} rows hold; tightest: {worst['dataset']}, b = "
                f"{worst['b']:g}: {worst['per_product_week']:.3f} vs {worst['limit']:g}",
                worst["limit"] - worst["per_product_week"], held == len(rows))


def _speed(res: dict[str, Any]) -> dict[str, Any]:
    speed = res.get("speed")
    jobs = (speed or {}).get("many_products", {}).get("spikes_jobs")
    if not jobs:
        note = speed.get("error", "failed")[:80] if speed else "not run (--quick/--no-speed)"
        return _row("Speed, 1,000 x 28 days (jobs)", f"<= {SPEED_MAX_SECONDS:.1f} s", note,
                    None, None)
    paired = speed["many_products"].get("reference") or {}
    # Every run of this code with a job per core (its own and those in turn with the
    # reference): the median, as one run swings by seconds with the host.
    runs = [jobs["seconds"], *paired.get("seconds", [])]
    seconds = statistics.median(runs)
    goal = f"<= {SPEED_MAX_SECONDS:.1f} s ({SPEED_FACTOR:g} x {SPEED_REFERENCE_SECONDS:g})"
    measured = (f"{seconds:.1f} s (jobs={jobs['jobs']}"
                + (f", median of {len(runs)} runs" if len(runs) > 1 else "") + ")")
    margin = SPEED_MAX_SECONDS - seconds
    if "ratio" in paired:
        # The reference code timed in turn on this host: both must hold.
        goal += f" and <= {SPEED_FACTOR:g} x its code ({paired['commit'][:7]}) side by side"
        measured += (f"; {paired['ratio']:.2f} x its code side by side (medians "
                     f"{paired['median']:.1f} vs {paired['reference_median']:.1f} s)")
        margin = min(margin, SPEED_FACTOR * paired["reference_median"] - paired["median"])
    elif paired:
        measured += f"; its code not timed: {paired.get('error', 'failed')[:60]}"
    return _row("Speed, 1,000 x 28 days (jobs)", goal, measured, margin, bool(margin >= 0))


def evaluate(res: dict[str, Any]) -> dict[str, Any]:
    """Every target's verdict on a run's results.

    Parameters
    ----------
    res : dict
        The results of ``run_benchmark.py`` (``suites``, ``check``, ``generalisation``,
        ``nab``, ``cloud``, ``budget``, ``speed``; absent parts are "not run").

    Returns
    -------
    dict
        ``goals`` (the targets in words), ``rows`` (one verdict per target: ``target,
        goal, measured, margin, held``; ``held`` None when not run) and ``matrix`` (per
        simulated data set: the four detection ``checks`` and ``held``).
    """
    matrix = _matrix(res)
    held = sum(r["held"] for r in matrix)
    suites_row = _row("Suites A-E, families 2 and 3: F1, alert delay, false alarms",
                      "all four on every data set (table below)",
                      f"{held}/{len(matrix)} data sets meet all four", None,
                      bool(matrix) and held == len(matrix))
    rows = [_nab(res), *_cloud(res), suites_row, _budget(res), _speed(res)]
    return {"goals": GOALS, "rows": rows, "matrix": matrix}
