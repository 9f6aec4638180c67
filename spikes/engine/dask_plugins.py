"""Plugins the Dask engine installs on the workers of the local clusters it starts.

A module of its own: it imports ``distributed`` at the top, which the engine imports
only when a run uses it, and the workers import it by name to unpickle the plugin.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed import WorkerPlugin


class IgnoreInterrupts(WorkerPlugin):
    """Make a worker process ignore Ctrl-C (SIGINT), also when Dask restarts it.

    A terminal sends Ctrl-C to every process of its foreground group. The engine starts
    a local cluster's workers ignoring it (:func:`spikes.engine.dask._workers_ignore_interrupts`),
    so that the run alone stops, with one line; a worker that Dask starts again after it
    died (out of memory) is made by the cluster's event loop with Python's handler, and
    printed a traceback on Ctrl-C. The scheduler gives plugins to every worker that
    joins, restarted ones included: this one sets SIGINT to be ignored there (from the
    worker's main thread, where its event loop runs; elsewhere no handler can be set).
    """

    name = "spikes-ignore-interrupts"

    def setup(self, worker: Any) -> None:
        """Ignore SIGINT in the worker's process."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
