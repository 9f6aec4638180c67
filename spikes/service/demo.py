"""``spikes serve --demo``: replay a report file into the live service at speed.

:class:`DemoReplay` reads a file (the bundled sample by default), loads everything before
``start`` at once (the history the live baseline needs), then feeds the rest one bucket
at a time, ``speed`` simulated minutes per wall-clock second. After each bucket it moves
the service's clock to the end of that bucket (the data's clock, not the time of day),
so buckets close and the live detector runs as they would have on that day: a newcomer
watches the 2026-01-22 Microsoft 365 chain reaction unfold in the live dashboard. When the
file ends it closes the last bucket too (a flush), so the replay ends with the incidents
``spikes analyze`` finds in the file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from spikes.errors import SpikesInputError
from spikes.service.live import LiveDetector
from spikes.service.store import batch_from_raw

if TYPE_CHECKING:
    from spikes.io.reading import RawReports

__all__ = ["DEFAULT_DEMO_SPEED", "DEMO_FROM", "DemoReplay"]

#: Simulated minutes per second of the replay, by default.
DEFAULT_DEMO_SPEED = 5.0
#: Where the replay of the bundled sample starts: an hour before the Microsoft 365 event
#: (2026-01-22 19:00 UTC); earlier reports are loaded at once.
DEMO_FROM = pd.Timestamp("2026-01-22 18:00", tz="UTC")


class DemoReplay:
    """Feed a report file into a :class:`LiveDetector` at speed, in a background thread.

    Parameters
    ----------
    live : LiveDetector
        The service's detector (its store should be fresh).
    path : str or Path
        A report file in any shape ``spikes analyze`` reads.
    speed : float
        Simulated minutes per wall-clock second (> 0).
    start : pd.Timestamp, optional
        Where the paced replay begins; earlier reports go in at once. Default
        :data:`DEMO_FROM` when the file covers it, else the file's first report.
    raw : RawReports, optional
        The file's reports, read already (``spikes serve --demo-file`` reads them before
        the service starts, with its ``--tz`` and ``--date-order``); read from `path`
        by the replay when None.

    Attributes
    ----------
    clock : pd.Timestamp or None
        The simulated time reached (end of the last bucket fed).
    done : bool
        Whether the whole file has been fed.
    """

    def __init__(self, live: LiveDetector, path: str | Path, *, speed: float = DEFAULT_DEMO_SPEED,
                 start: pd.Timestamp | None = None, raw: RawReports | None = None) -> None:
        if not speed > 0:
            raise SpikesInputError(f"--demo-speed must be above 0, got {speed}")
        self.live = live
        self.path = Path(path)
        self.speed = float(speed)
        self.start = start
        self.raw = raw
        self.clock: pd.Timestamp | None = None
        self.done = False
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        """Start the replay thread."""
        self._thread = threading.Thread(target=self._run, name="spikes-demo", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the replay thread (bounded wait)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def seconds_per_bucket(self) -> float:
        """Wall-clock seconds between two buckets of the replay."""
        return self.live.bucket / pd.Timedelta(minutes=1) / self.speed

    def _run(self) -> None:
        try:
            self._replay()
        except SpikesInputError as exc:
            self.error = str(exc)
        finally:
            self.done = True

    def _replay(self) -> None:
        from spikes.io.reading import read_reports

        raw = self.raw if self.raw is not None else read_reports(self.path)
        batch = batch_from_raw(raw.table)
        order = np.argsort(batch["timestamp"].to_numpy(), kind="stable")
        batch = batch.iloc[order].reset_index(drop=True)
        bucket = self.live.bucket
        stamps = batch["timestamp"]
        first, last = stamps.iloc[0].floor(bucket), stamps.iloc[-1].floor(bucket)
        start = self.start if self.start is not None else DEMO_FROM
        start = min(max(pd.Timestamp(start).floor(bucket), first), last)
        tag = f"demo:{self.path.name}"
        history = (stamps < start).to_numpy()
        if history.any():
            self.live.ingest(batch[history], f"{tag}:history", kind=raw.kind)
        self.live.advance_to(start)
        self.clock = start
        batch = batch[~history].reset_index(drop=True)
        slots = ((batch["timestamp"] - start) // bucket).to_numpy(dtype=np.int64)
        bounds = np.searchsorted(slots, np.arange(0, int(slots[-1]) + 2))
        pause = self.seconds_per_bucket
        for step in range(len(bounds) - 1):
            if self._stop.wait(pause):
                return
            lo, hi = int(bounds[step]), int(bounds[step + 1])
            end = start + (step + 1) * bucket
            if hi > lo:
                self.live.ingest(batch.iloc[lo:hi], f"{tag}:{end.isoformat()}", kind=raw.kind)
            self.live.advance_to(end)
            self.clock = end
        self._close_last_bucket()

    def _close_last_bucket(self) -> None:
        """Close the buckets the clock has left open and detect: a bucket closes once the
        lateness has passed after its end, which no later bucket of the file brings for
        the last one, while ``spikes analyze`` counts every bucket of the file."""
        try:
            self.live.flush()
        except Exception as exc:  # noqa: BLE001 - said in /v1/info, as POST /v1/flush does
            self.error = f"closing the last bucket failed: {exc}"
