"""Group commit: batches that arrive while another batch is being committed go in together.

Every request thread hands its batch to :meth:`GroupCommit.submit` and waits. The first
thread to find the store free becomes the leader: it takes every batch queued so far
(its own included), appends them in one transaction
(:meth:`spikes.service.store.Store.append_many`) and hands each waiting thread its
result. A commit's fixed cost (the transaction, the write-ahead log's sync, the batch-id
look-up) is paid once per group instead of once per batch, so throughput grows with the
number of concurrent clients, while a lone client still gets its batch committed at once.
Every batch is acknowledged only after the commit that holds it.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from spikes.service.store import AppendResult, Store, normalised_batch

__all__ = ["GroupCommit"]

#: Largest number of reports one group commit takes (the rest waits for the next).
MAX_GROUP_REPORTS = 50_000


@dataclass
class _Pending:
    frame: pa.Table
    batch_id: str
    kind: str = "events"
    done: bool = False
    result: AppendResult | None = None
    error: BaseException | None = None


class GroupCommit:
    """Append batches to a store, committing concurrent ones together.

    Parameters
    ----------
    store : Store
        Where the batches go.
    bucket : pd.Timedelta, optional
        Bucket size, to mark reports of closed buckets as late.
    max_reports : int
        Most reports per group commit.
    """

    def __init__(self, store: Store, bucket: pd.Timedelta | None = None,
                 max_reports: int = MAX_GROUP_REPORTS) -> None:
        self.store = store
        self.bucket = bucket
        self.max_reports = max_reports
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self.groups = 0

    def submit(self, frame: pd.DataFrame | pa.Table, batch_id: str,
               kind: str = "events") -> AppendResult:
        """Append one batch; return once the commit holding it is done.

        Parameters
        ----------
        frame : pd.DataFrame or pa.Table
            The batch (see :meth:`spikes.service.store.Store.append`).
        batch_id : str
            Its idempotency key.
        kind : {"events", "counts"}
            What its rows are (see :meth:`spikes.service.store.Store.append`).

        Returns
        -------
        AppendResult

        Raises
        ------
        ValueError
            For a batch the store cannot take (a missing column): it never joins a group.
        Exception
            Whatever the store raised for this batch. When a group commit fails, its
            batches are committed one by one, so only the batches that fail alone fail.
        """
        # A batch the store cannot take fails here, alone, before it joins a group.
        mine = _Pending(normalised_batch(frame), batch_id, kind)
        with self._queue_lock:
            self._queue.append(mine)
        while not mine.done:
            with self._commit_lock:
                if mine.done:
                    break
                self._lead()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    def _lead(self) -> None:
        """Commit the queued batches (up to :attr:`max_reports` reports) as one group."""
        with self._queue_lock:
            group, size = [], 0
            while self._queue and (not group or size + len(self._queue[0].frame)
                                   <= self.max_reports):
                item = self._queue.pop(0)
                group.append(item)
                size += len(item.frame)
        if not group:
            return
        try:
            results = self._append(group)
        except Exception:  # the group is rolled back: each batch on its own, once more
            if len(group) == 1:
                group[0].error, group[0].done = sys.exc_info()[1], True
                return
            for pending in group:
                try:
                    pending.result = self._append([pending])[0]
                except Exception as exc:  # noqa: BLE001 - handed to the batch's caller
                    pending.error = exc
                pending.done = True
        else:
            for pending, result in zip(group, results, strict=True):
                pending.result, pending.done = result, True

    def _append(self, group: list[_Pending]) -> list[AppendResult]:
        results = self.store.append_many([(p.frame, p.batch_id) for p in group],
                                         bucket=self.bucket, kinds=[p.kind for p in group],
                                         normalised=True)
        self.groups += 1
        return results
