"""The store's group commit: batches committed together are judged as one after the other."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
from pydantic import ValidationError

from spikes.service.commit import GroupCommit
from spikes.service.models import BATCH, PRINTABLE
from spikes.service.store import Store

BUCKET = pd.Timedelta("5min")


def _batch(ids: list[str | None], minute: int = 0, product: str = "Outlook") -> pd.DataFrame:
    stamp = pd.Timestamp("2026-01-22 19:00", tz="UTC") + pd.Timedelta(minutes=minute)
    return pd.DataFrame({"product": product, "timestamp": [stamp] * len(ids),
                         "count": 1.0, "region": None, "category": None, "report_id": ids})


def _stored(store: Store) -> pd.DataFrame:
    rows = store._conn.execute(
        "SELECT product, timestamp, count, report_id, batch_id, late FROM reports "
        "ORDER BY batch_id, report_id").df()
    return rows.reset_index(drop=True)


def _groups() -> list[tuple[pd.DataFrame, str]]:
    return [
        (_batch(["a", "b", None]), "one"),
        (_batch(["b", "c", "c"], minute=5), "two"),      # b seen in 'one', c twice
        (_batch(["x"], minute=10), "one"),                 # batch id repeated in the group
        (_batch(["a", "d"], minute=20, product="Teams"), "three"),  # a already stored
        (_batch([], minute=20), "empty"),
    ]


def test_a_group_commit_is_the_same_as_appending_one_batch_after_the_other(tmp_path):
    one_by_one = Store(tmp_path / "a.duckdb")
    together = Store(tmp_path / "b.duckdb")
    try:
        one_by_one.append(_batch(["a"], minute=-5), "earlier")
        together.append(_batch(["a"], minute=-5), "earlier")
        one_by_one.close_until(pd.Timestamp("2026-01-22 19:05", tz="UTC"))
        together.close_until(pd.Timestamp("2026-01-22 19:05", tz="UTC"))
        sequential = [one_by_one.append(frame, key, bucket=BUCKET) for frame, key in _groups()]
        grouped = together.append_many(_groups(), bucket=BUCKET)
        assert grouped == sequential
        assert [(r.accepted, r.duplicates, r.late) for r in grouped] == [
            (2, 1, 2), (1, 2, 0), (0, 1, 0), (1, 1, 0), (0, 0, 0)]
        pd.testing.assert_frame_equal(_stored(together), _stored(one_by_one))
        assert together.watermark == one_by_one.watermark == pd.Timestamp(
            "2026-01-22 19:20", tz="UTC")
        assert together.count_reports() == 1 + 4
    finally:
        one_by_one.close()
        together.close()


def test_the_cached_watermark_and_closed_time_survive_a_reopen(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    store.append(_batch(["a"], minute=7), "b1")
    store.close_until(pd.Timestamp("2026-01-22 19:05", tz="UTC"))
    store.close()
    again = Store(tmp_path / "s.duckdb")
    try:
        assert again.watermark == pd.Timestamp("2026-01-22 19:07", tz="UTC")
        assert again.closed_end == pd.Timestamp("2026-01-22 19:05", tz="UTC")
    finally:
        again.close()


def _submit_all(commit: GroupCommit, batches: list[tuple[pd.DataFrame, str]]) -> list:
    results: list = [None] * len(batches)

    def run(i: int) -> None:
        try:
            results[i] = commit.submit(*batches[i])
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    return [threads, results]


def _wait_queued(commit: GroupCommit, n: int) -> None:
    deadline = time.monotonic() + 10
    while len(commit._queue) < n:
        assert time.monotonic() < deadline, "the batches were never queued"
        time.sleep(0.005)


def test_batches_waiting_on_a_commit_go_in_together_and_each_gets_its_result(tmp_path):
    store = Store(tmp_path / "g.duckdb")
    try:
        commit = GroupCommit(store, BUCKET)
        batches = [(_batch([f"r{i}-{j}" for j in range(3)], minute=i), f"b{i}")
                   for i in range(4)]
        with commit._commit_lock:  # a commit in progress: the batches queue up
            threads, results = _submit_all(commit, batches)
            _wait_queued(commit, len(batches))
        for thread in threads:
            thread.join(timeout=10)
        assert commit.groups == 1
        assert [(r.accepted, r.duplicates, r.late) for r in results] == [(3, 0, 0)] * 4
        assert store.count_reports() == 12
    finally:
        store.close()


def test_a_batch_the_store_cannot_take_fails_alone(tmp_path):
    store = Store(tmp_path / "f.duckdb")
    try:
        commit = GroupCommit(store, BUCKET)
        with pytest.raises(ValueError, match="lacks columns"):
            commit.submit(_batch(["z"]).drop(columns="report_id"), "no-column")
        # A batch that fails inside the store (a report without a time) is committed
        # with others; the group is rolled back and its batches go in one by one.
        no_time = _batch(["t"]).assign(timestamp=pd.NaT)
        batches = [(_batch(["a"]), "ok"), (no_time, "bad"), (_batch(["b"], minute=5), "ok2")]
        with commit._commit_lock:
            threads, results = _submit_all(commit, batches)
            _wait_queued(commit, 3)
        for thread in threads:
            thread.join(timeout=10)
        assert results[0].accepted == 1 and results[2].accepted == 1
        assert isinstance(results[1], Exception) and "NULL" in str(results[1]).upper()
        assert store.count_reports() == 2
        assert commit.submit(_batch(["c"]), "later").accepted == 1  # the store still works
    finally:
        store.close()


@pytest.mark.parametrize("name", ["bad\x00name", "zero\u200bwidth", "   ", "tab\there",
                                  "\U000e0001tag"])
def test_names_with_control_or_format_characters_or_blank_are_refused(name):
    with pytest.raises(ValidationError) as info:
        BATCH.validate_python({"reports": [{"product": name}]})
    assert info.value.errors()[0]["type"] == "string_pattern_mismatch"


@pytest.mark.parametrize("name", ["Outlook", "Exchange Online", "Señal", "微信", " padded "])
def test_printable_names_are_accepted(name):
    assert BATCH.validate_python({"reports": [{"product": name}]})["reports"][0]["product"] == name
    assert PRINTABLE.startswith("^")
