"""Planned maintenance does not page: a surge inside a known-event window sends nothing and
leaves the baseline of the following days as it would be without the surge."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spikes.alerts.notifier import Notifier
from spikes.alerts.outbox import Outbox
from spikes.alerts.routing import Route
from spikes.alerts.timeline import analysis_messages
from spikes.config import DetectionConfig
from spikes.detect.known_events import Calendar
from spikes.detect.pipeline import analyze
from tests.conftest import as_data, diurnal_counts, with_outage
from tests.receivers import Webhook

DAY = 288
SURGE = 9 * DAY + 15 * 12  # day 9 at 15:00
OTHER = 11 * DAY + 10 * 12  # day 11 at 10:00, no window


def _data() -> tuple[pd.DataFrame, pd.DataFrame, Calendar]:
    quiet = diurnal_counts(days=14, products=2, seed=5)
    surged = with_outage(quiet, "p0", SURGE, 36, 4.0, seed=2)  # 3 h at 4x: outage-shaped
    surged = with_outage(surged, "p0", OTHER, 24, 6.0, seed=3)  # a real outage later
    window = (quiet.index[SURGE] - pd.Timedelta("30min"),
              quiet.index[SURGE + 36] + pd.Timedelta("30min"))
    calendar = Calendar.from_records([("p0", *window, "maintenance", "planned migration")])
    return quiet, surged, calendar


def _delivered(analysis, tmp_path: Path, **route) -> list[dict]:
    with Webhook() as hook:
        outbox = Outbox(tmp_path / f"outbox-{len(route)}.duckdb")
        notifier = Notifier(outbox, [Route(url=hook.url + "/hook", backoff=0.01, **route)])
        notifier.enqueue(analysis_messages(analysis))
        assert notifier.drain(timeout=30)
        outbox.close()
        return hook.received()


def test_a_surge_in_a_maintenance_window_pages_nobody_and_leaves_the_baseline(tmp_path):
    quiet, surged, calendar = _data()
    config = DetectionConfig()  # live
    analysis = analyze(as_data(surged), config, calendar=calendar)
    incidents = analysis.incidents
    start, end = calendar.windows["start"].iloc[0], calendar.windows["end"].iloc[0]
    inside = incidents[(incidents["onset"] >= start) & (incidents["onset"] < end)]
    assert len(inside) == 1 and inside["known_event"].iloc[0].startswith("maintenance")
    later = incidents[incidents["onset"] >= quiet.index[OTHER] - pd.Timedelta("30min")]
    assert len(later) >= 1 and (later["known_event"] == "").all()

    # A real webhook hears of the later outage only (known events are off by default) ...
    got = _delivered(analysis, tmp_path)
    products_told = {(m["event_id"], p["onset"]) for m in got for p in m["products"]}
    assert got and all(pd.Timestamp(onset) >= quiet.index[OTHER] - pd.Timedelta("30min")
                       for _, onset in products_told)
    # ... and of both when the route asks for known events too.
    everything = _delivered(analysis, tmp_path, known_events=True)
    assert {m["event_id"] for m in everything} > {m["event_id"] for m in got}

    # The baseline of the following days is that of the data without the surge.
    after = (quiet.index >= quiet.index[(SURGE // DAY + 1) * DAY]) & (
        quiet.index < quiet.index[OTHER])
    clean = analyze(as_data(quiet), config, calendar=calendar).baseline.expected
    pd.testing.assert_frame_equal(analysis.baseline.expected[after], clean[after],
                                  check_exact=True)
