"""The request and response bodies of the service (pydantic: validation and OpenAPI)."""

from __future__ import annotations

import math
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Literal

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["MAX_BATCH_ID", "MAX_NAME", "Accepted", "Batch", "Report", "batch_frame"]

MAX_NAME = 200
"""Longest product, region, category or report id, in characters."""
MAX_BATCH_ID = 200


def _printable(value: str) -> str:
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("must not contain control characters")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(_printable)]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class Report(BaseModel):
    """One report: only ``product`` is required."""

    model_config = ConfigDict(extra="forbid")

    product: Name
    timestamp: datetime | None = Field(
        default=None, description="when it happened (ISO 8601; UTC when no offset is given); "
                                  "default: the server's time")
    count: Annotated[float, Field(ge=0), AfterValidator(_finite)] = 1.0
    region: Name | None = None
    category: Name | None = None
    id: Name | None = Field(default=None, description="idempotency key of this report")


class Batch(BaseModel):
    """A batch of reports, stored all or nothing."""

    model_config = ConfigDict(extra="forbid")

    batch_id: Annotated[str, Field(min_length=1, max_length=MAX_BATCH_ID),
                        AfterValidator(_printable)] | None = Field(
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
    stamps = [r.timestamp or now for r in batch.reports]
    stamps = [s if s.tzinfo else s.replace(tzinfo=UTC) for s in stamps]
    return pd.DataFrame({
        "product": [r.product for r in batch.reports],
        "timestamp": pd.to_datetime(stamps, utc=True),
        "count": [r.count for r in batch.reports],
        "region": [r.region for r in batch.reports],
        "category": [r.category for r in batch.reports],
        "report_id": [r.id for r in batch.reports],
    })
