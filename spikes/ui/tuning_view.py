"""The dashboard's tuning view: fit the thresholds to labelled outages, show whether the
tuned settings were adopted (and why, with the per-fold figures), and pick an operating
point on the recall / false-alarm trade-off.

:func:`render_tuning` is a Streamlit view. ``app.py`` calls it as ``render_tuning(ctx)``
with a :class:`spikes.ui.dashboard.ViewContext`; it also takes an ``Analysis`` or a
``Scored`` and, optionally, the labels (then no label picker is shown). It returns the
picked :class:`~spikes.config.DetectionConfig` (None until there is one) and leaves it in
``st.session_state["spikes_tuned_config"]`` so that the page can apply it to the other
views. The search is :func:`spikes.evaluation.tune.tune`; nothing here decides anything about
detection. :func:`tradeoff_figure` is a pure function (testable without a browser).
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from spikes.config import DetectionConfig
from spikes.detect.pipeline import Analysis, Scored, rethreshold, score_reports
from spikes.errors import SpikesInputError
from spikes.evaluation.evaluate import read_labels
from spikes.evaluation.tune import (
    DEFAULT_BUDGET,
    DEFAULT_FOLDS,
    OBJECTIVES,
    SliceScores,
    TuningResult,
    evaluate_config,
    score_signature,
    tune,
    tuned_toml,
)
from spikes.ui import dashboard as dash

__all__ = ["BUNDLED_LABELS", "PICKED_CONFIG_KEY", "TUNED_CONFIG_KEY", "TUNED_SETTINGS",
           "folds_table", "render_tuning",
           "scores_table", "settings_table", "tradeoff_figure", "trial_table"]

BUNDLED_LABELS = Path(__file__).resolve().parents[2] / "data" / "labels.csv"
"""The labels of the bundled sample data."""
TUNED_CONFIG_KEY = "spikes_tuned_config"
"""Session-state key of the tuned configuration applied to the dashboard (by its
"Apply tuned settings" button): the base of the sidebar's sliders."""
PICKED_CONFIG_KEY = "spikes_picked_config"
"""Session-state key where the view leaves the configuration picked in it: offered to
the dashboard, applied only on "Apply tuned settings"."""
VIEW_BUDGET = DEFAULT_BUDGET
"""Default budget in the dashboard."""
PLOT_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
TUNED_SETTINGS = ("false_alarms_per_week", "min_ratio", "min_excess_reports", "min_buckets",
                  "min_duration", "cusum_ratio", "merge_gap")
"""The settings a search may tune (those of ``spikes tune``), as shown in the view."""
TRIAL_COLOR = "#b0b0b0"
FRONT_COLOR = "#1f77b4"
BASE_COLOR = "#f28e2b"
CHOSEN_COLOR = "#d62728"


# --- pure parts -------------------------------------------------------------------------
def tradeoff_figure(result: TuningResult, selected: int | None = None) -> go.Figure:
    """Recall against false alarms per product-week (all blocks) of every trial.

    Parameters
    ----------
    result : TuningResult
        Output of :func:`spikes.evaluation.tune.tune`.
    selected : int, optional
        Trial to ring (the operating point picked); the chosen one when None.

    Returns
    -------
    go.Figure
        Grey points = trials (crosses = infeasible), blue line = the Pareto front on all
        blocks (hollow: the same settings on the validation blocks), orange diamond = the
        base settings, red star = the trial the search chose (adopted or not).
    """
    trials = result.trials
    front = result.pareto
    fig = go.Figure()

    def hover(frame: pd.DataFrame, prefix: str = "all_") -> list[str]:
        return [
            f"trial {r['trial']} ({r['phase']})<br>precision {r[prefix + 'precision']:.2f} · "
            f"recall {r[prefix + 'recall']:.2f} · F1 {r[prefix + 'f1']:.2f}<br>"
            f"false alarms/product-week {r[prefix + 'false_alarms_per_product_week']:.3f}"
            f"<br>fa/wk {r['false_alarms_per_week']:.3g} · ratio {r['min_ratio']:.3g} · "
            f"buckets {r['min_buckets']} · min duration {r['min_duration']} · "
            f"excess {r['min_excess_reports']:.1f} · gap {r['merge_gap']} · "
            f"cusum {r['cusum_ratio']:.3g}"
            for r in frame.to_dict("records")
        ]

    feasible = trials["feasible"].astype(bool)
    for mask, name, symbol in ((feasible, "trials", "circle"),
                               (~feasible, "infeasible trials", "x")):
        part = trials[mask]
        if part.empty:
            continue
        fig.add_scatter(x=part["all_false_alarms_per_product_week"],
                        y=part["all_recall"], mode="markers", name=name,
                        marker=dict(color=TRIAL_COLOR, size=7, symbol=symbol),
                        hovertext=hover(part), hoverinfo="text")
    fig.add_scatter(x=front["all_false_alarms_per_product_week"], y=front["all_recall"],
                    mode="lines+markers", name="Pareto front (all blocks)",
                    line=dict(color=FRONT_COLOR, shape="hv"),
                    marker=dict(color=FRONT_COLOR, size=9), hovertext=hover(front),
                    hoverinfo="text")
    fig.add_scatter(x=front["val_false_alarms_per_product_week"], y=front["val_recall"],
                    mode="markers", name="same settings (validation blocks)",
                    marker=dict(color=FRONT_COLOR, size=9, symbol="circle-open"),
                    hovertext=hover(front, "val_"), hoverinfo="text")
    base = trials[trials["trial"] == 0]
    chosen = trials[trials["trial"] == result.chosen]
    fig.add_scatter(x=base["all_false_alarms_per_product_week"], y=base["all_recall"],
                    mode="markers", name="base settings", hovertext=hover(base),
                    hoverinfo="text",
                    marker=dict(color=BASE_COLOR, size=13, symbol="diamond"))
    fig.add_scatter(x=chosen["all_false_alarms_per_product_week"], y=chosen["all_recall"],
                    mode="markers", name=f"chosen (best {result.objective}"
                         f"{'' if result.adopted else ', not adopted'})",
                    hovertext=hover(chosen), hoverinfo="text",
                    marker=dict(color=CHOSEN_COLOR, size=16, symbol="star"))
    pick = trials[trials["trial"] == (result.chosen if selected is None else selected)]
    fig.add_scatter(x=pick["all_false_alarms_per_product_week"], y=pick["all_recall"],
                    mode="markers", name="picked", hoverinfo="skip",
                    marker=dict(color="rgba(0,0,0,0)", size=24,
                                line=dict(color="#262730", width=2)))
    fig.update_layout(
        template=dash.TEMPLATE, height=420, margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text="Recall against false alarms (all labelled blocks)", x=0, font_size=15),
        xaxis_title="false alarms per product-week", yaxis_title="recall",
        yaxis_range=[-0.02, 1.05], legend=dict(orientation="h", y=-0.2),
    )
    return fig


def scores_table(rows: dict[str, SliceScores]) -> pd.DataFrame:
    """Figures of named settings on both slices, one row per (settings, slice).

    Parameters
    ----------
    rows : dict of str to SliceScores
        E.g. ``{"defaults": result.defaults, "picked": ...}``.

    Returns
    -------
    pd.DataFrame
        Columns ``settings``, ``slice``, ``precision``, ``recall``, ``F1``,
        ``delay median (min)``, ``false alarms / product-week``, ``TP``, ``FP``,
        ``labels``.
    """
    out = []
    for name, scores in rows.items():
        for part, ev in (("train", scores.train), ("validation", scores.validation)):
            out.append({
                "settings": name, "slice": part, "precision": round(ev.precision, 3),
                "recall": round(ev.recall, 3), "F1": round(ev.f1, 3),
                "delay median (min)": ev.delay_median_min,
                "false alarms / product-week": round(ev.false_alarms_per_product_week, 3),
                "TP": ev.tp, "FP": ev.fp, "labels": ev.n_labels,
            })
    return pd.DataFrame(out)


def trial_table(result: TuningResult, trials: dict[str, int]) -> pd.DataFrame:
    """Figures of named trials on all blocks and on the validation blocks pooled.

    Parameters
    ----------
    result : TuningResult
    trials : dict of str to int
        E.g. ``{"base": 0, "picked": 12}``.

    Returns
    -------
    pd.DataFrame
        Columns ``settings``, ``slice``, ``precision``, ``recall``, ``F1``,
        ``false alarms / product-week``, ``TP``, ``FP``, ``labels``.
    """
    out = []
    for name, trial in trials.items():
        row = result.trials[result.trials["trial"] == trial].iloc[0]
        for part, prefix in (("all blocks", "all_"), ("validation blocks", "val_")):
            out.append({
                "settings": name, "slice": part,
                "precision": round(float(row[prefix + "precision"]), 3),
                "recall": round(float(row[prefix + "recall"]), 3),
                "F1": round(float(row[prefix + "f1"]), 3),
                "false alarms / product-week": round(
                    float(row[prefix + "false_alarms_per_product_week"]), 3),
                "TP": int(row[prefix + "tp"]), "FP": int(row[prefix + "fp"]),
                "labels": int(row[prefix + "n_labels"]),
            })
    return pd.DataFrame(out)


def settings_table(result: TuningResult, trials: dict[str, int]) -> pd.DataFrame:
    """The tunable settings of named trials, one column per trial.

    Parameters
    ----------
    result : TuningResult
    trials : dict of str to int
        E.g. ``{"base": 0, "picked": 12}``.

    Returns
    -------
    pd.DataFrame
        Column ``setting`` (the names of :data:`TUNED_SETTINGS`, ``min_duration``
        included) and one text column per named trial, with the value as in a TOML file
        (durations as ``"60min"``).
    """
    out = pd.DataFrame({"setting": list(TUNED_SETTINGS)})
    for name, trial in trials.items():
        config = result.config_of(trial)
        out[name] = [str(getattr(config, s)) for s in TUNED_SETTINGS]
    return out


def folds_table(result: TuningResult, tz: str = "UTC") -> pd.DataFrame:
    """The per-fold figures (``result.fold_scores``) as shown: each block's ``from`` and
    ``to`` in the display zone, as the dashboard's other tables give times.

    Parameters
    ----------
    result : TuningResult
        Output of :func:`spikes.evaluation.tune.tune`.
    tz : str
        IANA time zone of the display.

    Returns
    -------
    pd.DataFrame
        The columns of ``result.fold_scores``, ``from`` and ``to`` as text
        (:func:`~spikes.ui.dashboard.formatting.fmt_time`) named with the zone:
        ``from (Europe/Berlin)``, ``to (Europe/Berlin)``.
    """
    table = result.fold_scores.copy()
    for column in ("from", "to"):
        if column in table:
            table[column] = [dash.fmt_time(t, tz) for t in table[column]]
    return table.rename(columns={"from": f"from ({tz})", "to": f"to ({tz})"})


def show_decision(result: TuningResult, key: str = "tuning", tz: str = "UTC") -> None:
    """The decision (adopted or not, why, the numbers) and the per-fold figures, their
    times in the zone `tz`."""
    reason = dash.escape_markdown(result.decision.reason if result.decision else "")
    if result.adopted:
        st.success(reason)
    else:
        st.info(reason)
    st.caption(dash.escape_markdown(
        f"{result.folds.describe(tz)}; tuned {', '.join(result.tuned_settings)}; "
        f"{len(result.trials)} trials in {result.elapsed:.1f} s. Each fold chooses its "
        "settings on its training blocks and is scored on the next block; the tuned "
        "settings are adopted only when the paired bootstrap's 90% interval of the gain "
        "is above 0 and the gain is at least one label's worth."))
    st.dataframe(folds_table(result, tz), hide_index=True, key=f"{key}_folds")


# --- the view ---------------------------------------------------------------------------
def render_tuning(source: dash.ViewContext | Analysis | Scored,
                  labels: pd.DataFrame | None = None, *, budget: int = VIEW_BUDGET,
                  key: str = "tuning") -> DetectionConfig | None:
    """Render the tuning view; return the operating point picked.

    Parameters
    ----------
    source : ViewContext, Analysis or Scored
        The dashboard's context (its analysis, settings and time zone), or scored data.
    labels : pd.DataFrame, optional
        True outages ``product, onset, end``; when None the view offers the bundled
        ``data/labels.csv`` or an upload.
    budget : int
        Default number of trials of a search run from the view.
    key : str
        Prefix of the widget and session-state keys (two views need two keys).

    Returns
    -------
    DetectionConfig or None
        The picked settings (also stored under :data:`PICKED_CONFIG_KEY`), None while
        there are no labels or no result yet.
    """
    scored, base, tz, data_key, data_name = _resolve(source)
    st.subheader("Tune the thresholds against labelled outages")
    st.caption("Settings are searched with forward-chaining folds (tuned on the past, "
               "checked on the next block) and adopted only when they beat the base settings "
               "clearly. Scores are computed once; each trial only re-thresholds them.")
    labels_name = "labels"
    if labels is None:
        labels, labels_name = _pick_labels(key)
        if labels is None:
            return None
    mode = st.radio("Result", ("Run a search", "Load a tuned TOML"), horizontal=True,
                    key=f"{key}_mode")
    if mode == "Run a search":
        picked = _run_search(scored, base, labels, labels_name, data_key, data_name, budget,
                             key, tz)
    else:
        picked = _load_toml(scored, base, labels, key, tz)
    if picked is None:
        return None
    config, toml_text = picked
    st.download_button("Download TOML", toml_text, file_name="spikes-tuned.toml",
                       mime="application/toml", key=f"{key}_download")
    _show_incidents(scored, config, tz, data_key, key)
    st.session_state[PICKED_CONFIG_KEY] = config
    return config


def _resolve(source: Any) -> tuple[Scored, DetectionConfig, str, str, str]:
    """Scored data, base settings, time zone, a data key and a name from any source."""
    if isinstance(source, dash.ViewContext):
        scored = source.analysis.scored
        return scored, source.config, source.tz, source.key, source.source
    if isinstance(source, Analysis):
        source = source.scored
    if not isinstance(source, Scored):
        raise TypeError(f"render_tuning: expected a ViewContext, Analysis or Scored, got "
                        f"{type(source).__name__}")
    key = f"{id(source.data)}"
    return source, source.config, "UTC", key, "data"


def _pick_labels(key: str) -> tuple[pd.DataFrame | None, str]:
    choice = st.radio("Labels", ("Bundled (data/labels.csv)", "Upload a CSV"),
                      horizontal=True, key=f"{key}_labels_choice",
                      help="product,onset,end[,event]: one row per true outage.")
    try:
        if choice.startswith("Bundled"):
            return read_labels(BUNDLED_LABELS), BUNDLED_LABELS.name
        upload = st.file_uploader("Labels CSV", type=["csv"], key=f"{key}_labels_upload")
        if upload is None:
            st.info("Upload a labels CSV (product,onset,end[,event]) to tune against.")
            return None, ""
        raw = upload.getvalue()
        return _read_uploaded_labels(upload.name, raw), upload.name
    except SpikesInputError as exc:
        st.error(dash.escape_markdown(str(exc)))
        return None, ""


def _read_uploaded_labels(name: str, raw: bytes) -> pd.DataFrame:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
        handle.write(raw)
        handle.flush()
        try:
            return read_labels(handle.name)
        except SpikesInputError as exc:
            raise SpikesInputError(str(exc).replace(handle.name, name)) from None


def _run_search(scored: Scored, base: DetectionConfig, labels: pd.DataFrame,
                labels_name: str, data_key: str, data_name: str, budget: int,
                key: str, tz: str) -> tuple[DetectionConfig, str] | None:
    cols = st.columns(6)
    objective = cols[0].selectbox("Objective", OBJECTIVES, key=f"{key}_objective")
    trials = cols[1].number_input("Budget (trials)", 1, 10 * DEFAULT_BUDGET, int(budget),
                                  key=f"{key}_budget")
    limit = cols[2].number_input("Max false alarms / product-week (0 = none)", 0.0, 100.0,
                                 0.0, 0.05, key=f"{key}_limit")
    min_recall = cols[3].number_input("Min recall (recall target)", 0.0, 1.0, 0.8, 0.05,
                                      key=f"{key}_min_recall")
    folds = cols[4].number_input("Folds", 1, 10, DEFAULT_FOLDS, key=f"{key}_folds_n")
    seed = cols[5].number_input("Seed", 0, 10**6, 0, key=f"{key}_seed")
    if objective == "recall_at_fa" and limit <= 0:
        st.warning("recall_at_fa needs a false-alarm limit above 0.")
        return None
    labels_digest = hashlib.sha256(labels.to_csv(index=False).encode()).hexdigest()[:16]
    signature = (data_key, labels_digest, objective, int(trials), float(limit),
                 float(min_recall), int(folds), int(seed), base.to_toml())
    if st.button("Run tuning", type="primary", key=f"{key}_run"):
        bar = st.progress(0.0, text="Tuning…")
        try:
            result = tune(scored, labels, base=base, objective=objective,
                          max_false_alarms_per_week=float(limit) if limit > 0 else None,
                          min_recall=float(min_recall) if objective == "fa_at_recall" else None,
                          budget=int(trials), seed=int(seed), folds=int(folds), tz=tz,
                          callback=lambda done, total: bar.progress(
                              min(done / total, 1.0), text=f"trial {done} of at most {total}"))
        except SpikesInputError as exc:
            bar.empty()
            st.error(dash.escape_markdown(str(exc)))
            return None
        bar.empty()
        st.session_state[f"{key}_result"] = (signature, result)
    stored = st.session_state.get(f"{key}_result")
    if stored is None:
        st.info("Press **Run tuning** to search (a few seconds on the bundled sample).")
        return None
    if stored[0] != signature:
        st.caption("The result below was computed with other search settings; press "
                   "**Run tuning** to refresh it.")
    result: TuningResult = stored[1]
    show_decision(result, key, tz)
    for note in result.notes:
        st.caption(dash.escape_markdown(f"note: {note}"))
    decided = result.chosen if result.adopted else 0
    trial_ids = list(dict.fromkeys([decided, 0, *(int(t) for t in result.pareto["trial"])]))
    rows = result.trials.set_index("trial")

    def describe(t: int) -> str:
        r = rows.loc[t]
        tag = (" (the decision)" if t == decided else "") + (" (base)" if t == 0 else "") + (
            " (chosen by the search)" if t == result.chosen and t != decided else "")
        return (f"trial {t}{tag} · recall {r['all_recall']:.2f} · precision "
                f"{r['all_precision']:.2f} · {r['all_false_alarms_per_product_week']:.3f} "
                "false alarms/product-week")

    picked = st.selectbox("Operating point (trade-off curve, figures on all blocks)",
                          trial_ids, index=0, format_func=describe, key=f"{key}_point")
    st.plotly_chart(tradeoff_figure(result, picked), theme=None, config=PLOT_CONFIG,
                    key=f"{key}_chart")
    config = result.config if picked == decided else result.config_of(picked)
    st.dataframe(trial_table(result, {"base": 0, f"trial {picked}": picked}),
                 hide_index=True, key=f"{key}_scores")
    st.dataframe(settings_table(result, {"base": 0, f"trial {picked}": picked}),
                 hide_index=True, key=f"{key}_settings")
    return config, tuned_toml(result, [data_name], labels_name, config=config)


def _load_toml(scored: Scored, base: DetectionConfig, labels: pd.DataFrame, key: str,
               tz: str) -> tuple[DetectionConfig, str] | None:
    upload = st.file_uploader("Tuned TOML", type=["toml"], key=f"{key}_toml")
    if upload is None:
        st.info("Upload a TOML written by `spikes tune` (or any spikes config).")
        return None
    text = upload.getvalue().decode("utf-8", errors="replace")
    try:
        config = DetectionConfig.from_dict(tomllib.loads(text), source=upload.name)
        scores, split = evaluate_config(scored, labels, config)
        defaults, _ = evaluate_config(scored, labels, base)
    except tomllib.TOMLDecodeError as exc:
        st.error(dash.escape_markdown(f"{upload.name}: not valid TOML ({exc})"))
        return None
    except SpikesInputError as exc:
        st.error(dash.escape_markdown(str(exc)))
        return None
    st.dataframe(scores_table({"base": defaults, "loaded": scores}), hide_index=True,
                 key=f"{key}_loaded_scores")
    st.caption(dash.escape_markdown(split.describe(tz)))
    return config, text


def _show_incidents(scored: Scored, config: DetectionConfig, tz: str, data_key: str,
                    key: str) -> None:
    """Incidents under the picked settings (re-scored only if a score setting differs)."""
    if score_signature(config) != score_signature(scored.config):
        cache = st.session_state.setdefault(f"{key}_scores", {})
        wanted = (data_key, score_signature(config))
        if wanted not in cache:
            cache.clear()
            # With the data's known-event calendar, as the dashboard scores them.
            cache[wanted] = score_reports(scored.data, config, calendar=scored.calendar)
        scored = cache[wanted]
    analysis = rethreshold(scored, config)
    table = dash.incident_table(analysis.incidents, tz, bucket=analysis.data.bucket)
    st.subheader(f"Incidents under the picked settings: {len(table)}")
    if table.empty:
        st.info("No incident under these settings.")
        return
    st.dataframe(table, hide_index=True, key=f"{key}_incidents")
