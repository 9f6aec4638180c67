"""A third simulator: workday products whose week follows their users' local time.

Written at stop 35 to show what :attr:`spikes.config.DetectionConfig.utc_offset` does
(``bench_local_days.py``); no default was chosen on it. Each product's users live at one
UTC offset (-8h to +9h); its daily cycle (a morning and an evening peak) and its week
(weekend days at 0.4x-1.3x of the weekdays) run on their local time, over a slow trend
(0.7x-1.6x over the period), a slow multiplicative AR(1) drift (6-hour memory, 8 %) and
a one-day holiday dip (0.5x-0.8x) on half the products. Counts are Poisson with a
lognormal factor per bucket (sd 0.12). Outages: about one a product-week, 2.5x-10x
(log-uniform), 20 minutes to 4 hours, ramping up over 0-2 buckets, three in ten fading
to 40 % of their excess. The series start mid-afternoon (13:40 UTC), as an export may.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

START = "2026-03-04 13:40"


def generate(products: int = 20, days: int = 28, bucket: str = "10min", seed: int = 0
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Counts (UTC index, one column per product), labels (``product, onset, end,
    ratio``) and each product's UTC offset in hours."""
    rng = np.random.default_rng(seed)
    step = pd.Timedelta(bucket)
    n = int(pd.Timedelta(days=days) / step)
    index = pd.date_range(START, periods=n, freq=bucket, tz="UTC")
    hours = ((index - index[0]) / pd.Timedelta("1h")).to_numpy()
    per_hour = pd.Timedelta("1h") / step
    columns, labels, offsets = {}, [], {}
    for j in range(products):
        name = f"local-{j:02d}"
        level = np.exp(rng.uniform(np.log(0.3), np.log(300))) / per_hour * 6
        offset = int(rng.integers(-8, 10))
        local = index + pd.Timedelta(hours=offset)
        hod = (local.hour + local.minute / 60).to_numpy()
        morning, evening = rng.uniform(8, 11), rng.uniform(18, 22)
        profile = (0.15 + np.exp(-0.5 * ((hod - morning) / 2.0) ** 2)
                   + rng.uniform(0.4, 1.2) * np.exp(-0.5 * ((hod - evening) / 2.5) ** 2))
        profile /= profile.mean()
        week = np.where(local.day_of_week >= 5, rng.uniform(0.4, 1.3), 1.0)
        trend = np.exp(np.log(rng.uniform(0.7, 1.6)) * hours / hours[-1])
        holiday_day = rng.integers(7, days - 1)
        holiday = (np.where((index - index[0]).days == holiday_day, rng.uniform(0.5, 0.8),
                            1.0) if rng.random() < 0.5 else 1.0)
        phi = np.exp(-1 / (6 * per_hour))
        shocks = rng.normal(0, 0.08 * np.sqrt(1 - phi**2), n)
        drift = np.zeros(n)
        for i in range(1, n):
            drift[i] = phi * drift[i - 1] + shocks[i]
        base = level * profile * week * trend * holiday * np.exp(drift)
        rate = base * np.exp(rng.normal(0, 0.12, n))
        taken = np.zeros(n, dtype=bool)
        for _ in range(rng.poisson(days / 7)):
            length = max(1, int(np.ceil(pd.Timedelta(minutes=float(
                np.exp(rng.uniform(np.log(20), np.log(240))))) / step)))
            start = int(rng.integers(int(2 * 24 * per_hour), n - length - 1))
            margin = int(6 * per_hour)
            if taken[max(0, start - margin) : start + length + margin].any():
                continue
            ratio = float(np.exp(rng.uniform(np.log(2.5), np.log(10))))
            shape = np.ones(length)
            ramp = min(int(rng.integers(0, 3)), length - 1)
            if ramp > 0:
                shape[:ramp] = np.linspace(1 / (ramp + 1), ramp / (ramp + 1), ramp)
            if rng.random() < 0.3:
                shape *= np.linspace(1.0, 0.4, length)
            rate[start : start + length] += base[start : start + length] * (ratio - 1) * shape
            taken[start : start + length] = True
            labels.append({"product": name, "onset": index[start],
                           "end": index[start + length - 1], "ratio": ratio})
        columns[name] = rng.poisson(rate).astype(float)
        offsets[name] = offset
    return (pd.DataFrame(columns, index=index), pd.DataFrame(labels),
            pd.Series(offsets, name="utc_offset_hours"))
