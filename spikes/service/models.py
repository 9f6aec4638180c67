"""The request and response bodies of the service (pydantic: validation and OpenAPI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_BATCH_ID", "MAX_NAME", "Accepted", "Batch", "Report", "batch_frame"]

MAX_NAME = 200
"""Longest product, region, category or report id, in characters."""
MAX_BATCH_ID = 200


PRINTABLE = r"^\P{C}*[^\p{C}\s]\P{C}*$"
"""Text of names: no character of Unicode category C (control, format, unassigned,
private use) and not blank. Checked by pydantic-core's regex engine, not per character in
Python (a batch of 1,000 reports has thousands of names)."""
PRINTABLE_MESSAGE = "must be printable text: not blank, no control or format characters"
"""What a client is told when a name does not match :data:`PRINTABLE`."""

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=PRINTABLE)]


class Report(BaseModel):
    """One report: only ``product`` is required."""

    model_config = ConfigDict(extra="forbid")

    product: Name
    timestamp: datetime | None = Field(
        default=None, description="when it happened (ISO 8601; UTC when no offset is given); "
                                  "default: the server's time")
    count: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    region: Name | None = None
    category: Name | None = None
    id: Name | None = Field(default=None, description="idempotency key of this report")


class Batch(BaseModel):
    """A batch of reports, stored all or nothing."""

    model_config = ConfigDict(extra="forbid")

    batch_id: Annotated[str, Field(min_length=1, max_length=MAX_BATCH_ID,
                                   pattern=PRINTABLE)] | None = Field(
        default=None, description="idempotency key of the batch (default: a hash of its body)")
    reports: list[Report]
    kind: Literal["events", "counts"] = Field(
        default="events",
        description="events: each report is one or `count` problem reports, and a bucket "
                    "without any is a real zero; counts: each report is a product's count "
                    "for its bucket, and a bucket without one is missing (not zero)")


class Accepted(BaseModel):
    """What happened to a batch."""

    accepted: int
    duplicates: int
    late: int


def batch_frame(batch: Batch, now: datetime | None = None) -> pd.DataFrame:
    """The batch as a table of :data:`spikes.service.store.BATCH_COLUMNS`."""
    now = now or datetime.now(UTC)
    reports = batch.reports
    micros = np.fromiter(
        ((_aware(r.timestamp or now) - _EPOCH) // _MICROSECOND for r in reports),
        dtype=np.int64, count=len(reports))
    return pd.DataFrame({
        "product": [r.product for r in reports],
        "timestamp": pd.DatetimeIndex(micros.view("datetime64[us]")).tz_localize("UTC"),
        "count": np.fromiter((r.count for r in reports), dtype=float, count=len(reports)),
        "region": [r.region for r in reports],
        "category": [r.category for r in reports],
        "report_id": [r.id for r in reports],
    })


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _aware(stamp: datetime) -> datetime:
    """`stamp`, read as UTC when it has no offset."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
