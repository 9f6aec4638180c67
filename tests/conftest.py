"""Shared fixtures: small seeded synthetic series and simulations; the order in which
pytest-xdist hands out the test modules."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from spikes.model import ReportData

if TYPE_CHECKING:
    from spikes.evaluation.simulate import Simulation

BUCKET = pd.Timedelta("5min")
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"


@functools.cache
def _sample_data() -> ReportData:
    from spikes.io.buckets import load_reports

    return load_reports(SAMPLE)


def sample_data() -> ReportData:
    """``load_reports`` of the bundled sample, read once per test process: a deep copy
    each call (its frames too), so that no test sees what another did to its data."""
    return copy.deepcopy(_sample_data())


@pytest.fixture(autouse=True)
def _no_display_zone_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests read printed times in UTC: a ``SPIKES_DISPLAY_TZ`` of the shell that
    runs them (an analyst's default zone) is not theirs."""
    monkeypatch.delenv("SPIKES_DISPLAY_TZ", raising=False)


def diurnal_counts(days: int = 14, level: float = 20.0, seed: int = 0, products: int = 1,
                   start: str = "2026-01-05", dispersion: float = 0.05,
                   bucket: str = "5min") -> pd.DataFrame:
    """Seeded negative-binomial counts with a day/night cycle, one column per product
    (`level` reports a bucket at the day's peak)."""
    rng = np.random.default_rng(seed)
    per_day = int(pd.Timedelta(days=1) / pd.Timedelta(bucket))
    index = pd.date_range(start, periods=per_day * days, freq=bucket, tz="UTC")
    hours = (index.hour + index.minute / 60).to_numpy()
    profile = 0.25 + 0.75 * np.sin(np.pi * hours / 24) ** 2
    columns = {}
    for j in range(products):
        mu = level * (j + 1) * profile
        rate = mu * rng.gamma(1 / dispersion, dispersion, len(index))
        columns[f"p{j}"] = rng.poisson(rate).astype(float)
    return pd.DataFrame(columns, index=index)


def with_outage(counts: pd.DataFrame, product: str, start: int, length: int,
                ratio: float, seed: int = 1) -> pd.DataFrame:
    """Copy of `counts` with reports multiplied by `ratio` in a stretch of buckets."""
    rng = np.random.default_rng(seed)
    out = counts.copy()
    seg = out[product].iloc[start : start + length].to_numpy()
    extra = rng.poisson(np.maximum(seg, 1.0) * (ratio - 1.0))
    out.iloc[start : start + length, out.columns.get_loc(product)] = seg + extra
    return out


def as_data(counts: pd.DataFrame, bucket: pd.Timedelta = BUCKET) -> ReportData:
    """Wrap counts in ReportData."""
    return ReportData(counts=counts, bucket=bucket)


@pytest.fixture
def quiet_counts() -> pd.DataFrame:
    """Two weeks, two products, no outage."""
    return diurnal_counts(days=14, products=2, seed=3)


# --- simulations (tests of spikes.evaluation.simulate and spikes.evaluation.tune) -----------
TUNE_BUDGET = 8
"""Trials of the small searches in the tuning tests."""


def sim_data(sim: Simulation) -> ReportData:
    """The counts of a simulation without missing rows as ReportData."""
    counts = sim.reports.pivot(index="timestamp", columns="product", values="reports")
    counts.index = pd.DatetimeIndex(counts.index)
    return ReportData(counts=counts.astype(float), bucket=sim.bucket)


@pytest.fixture(scope="session")
def sim():
    """Eight products, 14 days of 5-minute counts, two outages per product-week, seeded."""
    from spikes.evaluation.simulate import simulate

    return simulate(products=8, days=14, seed=7, outage_rate_per_week=2.0)


@pytest.fixture(scope="session")
def small_sim():
    """Low volume and mild outages, where the defaults leave room: 5 products, 10 days,
    seeded."""
    from spikes.evaluation.simulate import simulate

    return simulate(products=5, days=10, seed=3, volume="low", outage_rate_per_week=2.0,
                    mild=True)


@pytest.fixture(scope="session")
def small_result(small_sim):
    """A small seeded search on `small_sim` (:data:`TUNE_BUDGET` trials)."""
    from spikes.evaluation.tune import tune

    return tune(sim_data(small_sim), small_sim.labels, budget=TUNE_BUDGET, seed=0)


# --- the order of the modules under pytest-xdist ------------------------------------------
SLOW_MODULES = (
    "test_service.py", "test_alerts_service.py", "test_stream.py", "test_engine.py",
    "test_service_store.py", "test_tune_search.py", "test_alert_followups.py",
    "test_alerts.py", "test_service_stream.py", "test_properties.py", "test_app_live.py",
    "test_lead_cli.py", "test_causal.py", "test_hostile_inputs.py",
)
"""The modules that take longest (most seconds first, measured in one process), handed
out first when each worker is given whole modules (``dev.py test``: ``--dist loadfile``):
a long module handed out last keeps one worker busy after the others are done. The other
modules follow in their usual order; the tests of a module keep theirs."""


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:  # pytest-xdist's WorkerController
    """(pytest-xdist, in the controlling process) Tell each worker how it is given tests:
    a worker runs with ``--dist no`` itself."""
    node.workerinput["spikes_dist"] = node.config.getoption("dist")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With whole modules per worker (``--dist loadfile`` or ``loadscope``), the modules
    of :data:`SLOW_MODULES` first, longest first. Not with ``--dist load``, which gives
    each worker a run of consecutive tests at the start (the slow modules would all go
    to the first worker), nor in one process."""
    dist = getattr(config, "workerinput", {}).get("spikes_dist")
    if dist not in ("loadfile", "loadscope"):
        return
    rank = {name: i for i, name in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable
