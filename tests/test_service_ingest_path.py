"""The ingest path's tables: a validated JSON batch as the store's Arrow table, pandas
batches normalised to the same table, and the store's per-bucket sums for detection."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pydantic import ValidationError

from spikes.service.models import BATCH, batch_table
from spikes.service.snapshot import store_data
from spikes.service.store import BATCH_SCHEMA, Store, normalised_batch

BUCKET = pd.Timedelta("5min")


def test_a_json_batch_becomes_a_utc_table_with_defaults():
    body = (b'{"reports": [{"product": "Outlook", "timestamp": "2026-01-22T19:03:11Z"},'
            b'{"product": "Teams", "timestamp": "2026-01-22T21:03:11+02:00", "count": 3,'
            b' "region": "EU", "category": "Login", "id": "r1"},'
            b'{"product": "Outlook", "timestamp": "2026-01-22T19:04:00"},'
            b'{"product": "Store"}]}')
    now = datetime(2026, 1, 22, 19, 30, tzinfo=UTC)
    table = batch_table(BATCH.validate_json(body), now=now)
    assert table.schema.equals(BATCH_SCHEMA)
    frame = table.to_pandas()
    assert list(frame["timestamp"]) == [pd.Timestamp("2026-01-22 19:03:11"),
                                        pd.Timestamp("2026-01-22 19:03:11"),  # +02:00 -> UTC
                                        pd.Timestamp("2026-01-22 19:04:00"),  # no offset: UTC
                                        pd.Timestamp("2026-01-22 19:30:00")]  # server time
    assert list(frame["count"]) == [1.0, 3.0, 1.0, 1.0]
    assert table.column("region").to_pylist() == [None, "EU", None, None]
    assert table.column("report_id").to_pylist() == [None, "r1", None, None]
    assert batch_table(BATCH.validate_json(b'{"reports": []}')).num_rows == 0


def test_a_bad_report_names_its_row_and_field():
    with pytest.raises(ValidationError) as info:
        BATCH.validate_json(b'{"reports": [{"product": "a"}, {"product": "b", "count": -1}]}')
    assert [e["loc"] for e in info.value.errors()] == [("reports", 1, "count")]
    with pytest.raises(ValidationError) as info:
        BATCH.validate_json(b'{"reports": [{"product": "a", "colour": "red"}]}')
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_pandas_and_arrow_batches_are_stored_alike(tmp_path):
    frame = pd.DataFrame({
        "product": ["Outlook", "Teams"],
        "timestamp": pd.to_datetime(["2026-01-22 20:03", "2026-01-22 19:04"], utc=True)
                       .tz_convert("Europe/Berlin"),
        "count": [1, 2], "region": [None, np.nan], "category": ["Login", None],
        "report_id": [None, "x"],
    })
    table = normalised_batch(frame)
    assert table.schema.equals(BATCH_SCHEMA)
    assert table.column("timestamp").to_pylist() == [datetime(2026, 1, 22, 20, 3),
                                                     datetime(2026, 1, 22, 19, 4)]
    assert table.column("region").null_count == 2 and table.column("category").null_count == 1
    assert normalised_batch(table) is table
    with pytest.raises(ValueError, match="schema"):
        normalised_batch(table.drop_columns(["report_id"]))
    numbered = normalised_batch(frame.assign(region=pd.Series([7, None], dtype=object),
                                              report_id=pd.Series([None, 12], dtype=object)))
    assert numbered.column("region").to_pylist() == ["7", None]
    assert numbered.column("report_id").to_pylist() == [None, "12"]
    with pytest.raises(ValueError, match="lacks columns"):
        normalised_batch(frame.drop(columns=["count"]))
    a, b = Store(tmp_path / "a.duckdb"), Store(tmp_path / "b.duckdb")
    try:
        a.append(frame, "one")
        b.append(table, "one")
        assert a.all_reports().equals(b.all_reports())
        assert a.watermark == b.watermark == pd.Timestamp("2026-01-22 20:03", tz="UTC")
    finally:
        a.close()
        b.close()


def test_per_bucket_sums_bucket_as_the_raw_rows(tmp_path):
    rng = np.random.default_rng(7)
    n = 5_000
    stamps = (pd.Timestamp("2026-01-22", tz="UTC")
              + pd.to_timedelta(rng.integers(0, 6 * 3600, n), unit="s"))
    frame = pd.DataFrame({
        "product": rng.choice(["Outlook", "Teams", "Store"], n),
        "timestamp": stamps, "count": rng.integers(1, 4, n).astype(float),
        "region": rng.choice(np.array(["EU", "US", None], dtype=object), n),
        "category": rng.choice(np.array(["Login", None], dtype=object), n),
        "report_id": None,
    })
    store = Store(tmp_path / "s.duckdb")
    try:
        for k, lo in enumerate(range(0, n, 800)):
            store.append(frame.iloc[lo:lo + 800], f"b{k}", bucket=BUCKET)
        store.close_until(pd.Timestamp("2026-01-22 04:00", tz="UTC"))
        for breakdown in (False, True):
            raw = store.closed_reports(breakdown=breakdown)
            summed = store.closed_reports(breakdown=breakdown, bucket=BUCKET)
            assert len(summed) < len(raw) / (2 if breakdown else 5)
            assert summed["reports"].sum() == raw["reports"].sum()
            want, got = store_data(raw, BUCKET), store_data(summed, BUCKET)
            pd.testing.assert_frame_equal(got.counts, want.counts)
            if breakdown:
                pd.testing.assert_frame_equal(got.breakdown, want.breakdown)
        since = pd.Timestamp("2026-01-22 03:00", tz="UTC")
        later = store.closed_reports(since=since, bucket=BUCKET)
        assert later["timestamp"].min() == since
        assert later["timestamp"].max() == pd.Timestamp("2026-01-22 03:55", tz="UTC")
    finally:
        store.close()


def test_arrow_tables_go_through_the_group_commit_with_their_report_ids(tmp_path):
    def table(ids: list[str | None]) -> pa.Table:
        return normalised_batch(pd.DataFrame({
            "product": "Outlook", "timestamp": pd.Timestamp("2026-01-22 19:00", tz="UTC"),
            "count": 1.0, "region": None, "category": None, "report_id": ids}))

    store = Store(tmp_path / "s.duckdb")
    try:
        results = store.append_many([(table(["a", "b", None]), "one"),
                                     (table(["b", "c", "c", None]), "two"),
                                     (table(["z"]), "one")], normalised=True)
        assert [(r.accepted, r.duplicates) for r in results] == [(3, 0), (2, 2), (0, 1)]
        again = store.append(table(["a", "d"]), "three")
        assert (again.accepted, again.duplicates) == (1, 1)
        assert store.count_reports() == 6
    finally:
        store.close()


def test_checkpoint_writes_the_log_into_the_file_once_it_is_big_enough(tmp_path):
    path = tmp_path / "s.duckdb"
    store = Store(path)
    try:
        store.append(pd.DataFrame({
            "product": "Outlook", "timestamp": pd.Timestamp("2026-01-22 19:00", tz="UTC"),
            "count": [1.0] * 100, "region": None, "category": None, "report_id": None}), "b")
        log = tmp_path / "s.duckdb.wal"
        assert log.stat().st_size > 0
        assert not store.checkpoint(min_bytes=log.stat().st_size + 1)
        assert store.checkpoint(min_bytes=1)
        assert not log.exists() or log.stat().st_size < 1_000
        assert store.count_reports() == 100
    finally:
        store.close()
    assert not Store(":memory:").checkpoint(min_bytes=0)


def test_a_nan_count_refuses_its_batch_and_two_stores_on_one_file_share_the_watermark(
        tmp_path):
    def batch(stamp: str, count: float = 1.0) -> pd.DataFrame:
        return pd.DataFrame({"product": ["Outlook"], "timestamp": [pd.Timestamp(stamp, tz="UTC")],
                             "count": [count], "region": None, "category": None,
                             "report_id": None})

    path = tmp_path / "s.duckdb"
    a, b = Store(path), Store(path)  # one process: DuckDB shares the database
    try:
        with pytest.raises(Exception, match="NOT NULL"):
            a.append(batch("2026-01-22 19:00", float("nan")), "nan")
        assert a.count_reports() == 0
        a.append(batch("2026-01-22 19:00"), "x1")
        assert b.append(batch("2026-01-22 20:00"), "x2").accepted == 1
        assert b.watermark == pd.Timestamp("2026-01-22 20:00", tz="UTC")
    finally:
        a.close()
        b.close()
