"""Make the bundled synthetic sample: ``data/reports.csv.gz`` and ``data/labels.csv``.

Run from the repository root::

    .venv/bin/python data/make_sample.py

The output is the same byte for byte on every run (fixed seed, no time stamp in the
gzip header). See ``data/README.md`` for what is in it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from spikes.evaluation.simulate import (
    Distractor,
    Outage,
    expected_rates,
    random_audience,
    random_distractors,
    render,
    time_index,
    write_simulation,
)

SEED = 2026
START = "2026-01-08T00:00Z"
DAYS = 15  # up to 2026-01-23T00:00Z (exclusive)
BUCKET = "5min"
HERE = Path(__file__).resolve().parent

# product -> (mean reports per hour, home region)
PRODUCTS: dict[str, tuple[float, str]] = {
    "Outlook": (100.0, "US-East"),
    "Exchange Online": (30.0, "US-East"),
    "Microsoft Store": (24.0, "US-West"),
    "Microsoft Defender": (16.0, "US-East"),
    "Microsoft Purview": (8.0, "US-East"),
    "Microsoft Teams": (100.0, "US-East"),
    "Gmail": (110.0, "Europe"),
    "Slack": (60.0, "US-West"),
    "Zoom": (50.0, "US-East"),
    "AWS": (40.0, "US-East"),
    "Cloudflare": (30.0, "Europe"),
    "Steam": (90.0, "Europe"),
    "PlayStation Network": (70.0, "US-West"),
    "Discord": (80.0, "US-West"),
}

NORTH_AMERICA = {"US-East": 0.55, "US-West": 0.3, "Canada": 0.15}
MAIL_451 = "Sending or receiving mail (451 4.3.2)"


def minutes(value: float) -> pd.Timedelta:
    """A duration in minutes."""
    return pd.Timedelta(minutes=value)


def utc(text: str) -> pd.Timestamp:
    """A UTC time stamp."""
    return pd.Timestamp(text, tz="UTC")


def microsoft_365(event: int) -> list[Outage]:
    """The 2026-01-22 Microsoft 365 event (North America): Outlook first, then four more
    products within ten minutes; a recovery surge while recovering."""
    common = {"event": event, "region": NORTH_AMERICA, "focus": 0.9}
    mail = {"category": MAIL_451, **common}
    mixed = {"category": {MAIL_451: 0.6, "Login": 0.25, "Website": 0.15}, **common}
    return [
        Outage(product="Outlook", onset=utc("2026-01-22 19:00"), ratio=80.0,
               rise=minutes(20), hold=minutes(70), duration=minutes(200),
               aftershock=0.3, aftershock_delay=minutes(20), **mail),
        Outage(product="Exchange Online", onset=utc("2026-01-22 19:05"), ratio=60.0,
               rise=minutes(15), hold=minutes(60), duration=minutes(180),
               aftershock=0.3, aftershock_delay=minutes(20), **mail),
        Outage(product="Microsoft Store", onset=utc("2026-01-22 19:05"), ratio=18.0,
               rise=minutes(10), duration=minutes(120), **mixed),
        Outage(product="Microsoft Defender", onset=utc("2026-01-22 19:10"), ratio=22.0,
               rise=minutes(10), hold=minutes(30), duration=minutes(140), **mixed),
        Outage(product="Microsoft Purview", onset=utc("2026-01-22 19:10"), ratio=30.0,
               rise=minutes(10), duration=minutes(100), **mixed),
    ]


def ordinary_outages() -> list[Outage]:
    """Outages of single products, varied in size, length and shape; the last one is
    still going on at the end of the data."""
    return [
        Outage(product="Slack", onset=utc("2026-01-09 14:20"), ratio=12.0,
               duration=minutes(90), category="Login"),
        Outage(product="Zoom", onset=utc("2026-01-12 15:05"), ratio=6.0,
               hold=minutes(45), duration=minutes(45), category="Connection"),
        Outage(product="AWS", onset=utc("2026-01-14 08:40"), ratio=20.0,
               rise=minutes(30), hold=minutes(90), duration=minutes(240),
               aftershock=0.5, aftershock_delay=minutes(15), region="US-East",
               category="Website"),
        Outage(product="Cloudflare", onset=utc("2026-01-15 11:10"), ratio=35.0,
               duration=minutes(40), category="Website"),
        Outage(product="Gmail", onset=utc("2026-01-16 09:30"), ratio=3.2,
               hold=minutes(120), duration=minutes(120), category="App"),
        Outage(product="Steam", onset=utc("2026-01-17 18:00"), ratio=8.0,
               duration=minutes(25), category="Connection"),
        Outage(product="Microsoft Teams", onset=utc("2026-01-19 13:45"), ratio=4.0,
               rise=minutes(20), hold=minutes(40), duration=minutes(60), category="Login"),
        Outage(product="Discord", onset=utc("2026-01-20 20:15"), ratio=5.0,
               duration=minutes(30), category="App"),
        Outage(product="PlayStation Network", onset=utc("2026-01-22 22:40"), ratio=15.0,
               rise=minutes(20), hold=minutes(180), duration=minutes(180),
               category="Login"),
    ]


def numbered(outages: list[Outage]) -> list[Outage]:
    """Event ids 1, 2, ... in order of onset; a cascade keeps one id."""
    firsts = sorted({o.event: o.onset for o in reversed(outages)}.items(), key=lambda kv: kv[1])
    ids = {old: new for new, (old, _) in enumerate(firsts, start=1)}
    return [replace(o, event=ids[o.event]) for o in outages]


def main() -> None:
    """Simulate and write the sample."""
    rng = np.random.default_rng(SEED)
    names = list(PRODUCTS)
    index = time_index(start=START, days=DAYS, bucket=BUCKET)
    audience = random_audience(names, rng=rng, home={n: h for n, (_, h) in PRODUCTS.items()})
    expected = expected_rates(index, audience, [lvl for lvl, _ in PRODUCTS.values()], rng=rng)
    singles = ordinary_outages()
    outages = [replace(o, event=100 + k) for k, o in enumerate(singles)]
    outages = numbered(outages + microsoft_365(event=0))
    distractors = random_distractors(index, names, outages, rng=rng, blips_per_week=0.25)
    distractors.append(Distractor(product="Steam", start=utc("2026-01-10"),
                                  kind="level_shift", factor=1.5))
    sim = render(expected, audience, outages, distractors, rng=rng, as_events=True)
    write_simulation(sim, HERE / "reports.csv.gz", HERE / "labels.csv",
                     label_columns=["product", "onset", "end", "event"])
    blips = sim.distractors[sim.distractors["kind"] == "blip"]
    print(f"{len(sim.reports)} reports, {len(sim.labels)} outages, {len(blips)} blips")


if __name__ == "__main__":
    main()
