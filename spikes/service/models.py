"""The request and response bodies of the service (pydantic: validation and OpenAPI).

A batch is validated as typed dictionaries (:data:`BATCH`), not as one model object per
report: the same checks and error locations at less than half the cost, which matters at
tens of thousands of reports a second. :func:`batch_table` turns a validated batch into
the Arrow table the store appends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, NotRequired

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict  # typing.TypedDict: not before Python 3.12 for pydantic

from spikes.io.rejects import MAX_COUNT
from spikes.service.store import BATCH_SCHEMA

__all__ = ["BATCH", "BATCH_ID", "MAX_BATCH_ID", "MAX_NAME", "NAME", "Accepted", "Batch",
           "Report", "batch_table"]

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
BatchId = Annotated[str, Field(min_length=1, max_length=MAX_BATCH_ID, pattern=PRINTABLE)]
NAME: TypeAdapter[str] = TypeAdapter(Name)
"""Validates one product, region or category name (a CSV body's, as a JSON batch's)."""
BATCH_ID: TypeAdapter[str] = TypeAdapter(BatchId)
"""Validates a batch id (``?batch_id=`` as the JSON field)."""


@with_config(ConfigDict(extra="forbid"))
class Report(TypedDict):
    """One report: only ``product`` is required."""

    product: Name
    timestamp: NotRequired[Annotated[
        datetime | None,
        Field(description="when it happened (ISO 8601; UTC when no offset is given); "
                          "default: the server's time")]]
    count: NotRequired[Annotated[float, Field(ge=0, le=MAX_COUNT, allow_inf_nan=False,
                                              description="reports it stands for (default 1)")]]
    region: NotRequired[Name | None]
    category: NotRequired[Name | None]
    id: NotRequired[Annotated[Name | None, Field(description="idempotency key of this report")]]


@with_config(ConfigDict(extra="forbid"))
class Batch(TypedDict):
    """A batch of reports, stored all or nothing."""

    batch_id: NotRequired[Annotated[
        BatchId | None,
        Field(description="idempotency key of the batch (a client's retry with it is not "
                          "stored twice); without it, a body whose reports all carry their "
                          "timestamp is known by its hash when it holds two or more "
                          "reports or is of kind counts (a relay's batch, which a retry "
                          "sends again byte for byte), and any other body (one report "
                          "event, or reports stamped on arrival) is new every time")]]
    reports: list[Report]
    kind: NotRequired[Annotated[
        Literal["events", "counts"],
        Field(description="events (default): each report is one or `count` problem reports, "
                          "and a bucket without any is a real zero; counts: each report is a "
                          "product's count for its bucket, and a bucket without one is "
                          "missing (not zero)")]]


BATCH: TypeAdapter[Batch] = TypeAdapter(Batch)
"""Validates a :class:`Batch` (``BATCH.validate_json(body)``) and gives its JSON schema."""


class Accepted(BaseModel):
    """What happened to a batch."""

    accepted: int
    duplicates: int
    late: int
    batch_id: str | None = Field(
        description="the key the batch is known by: its batch_id, else the body's hash "
                    "(`sha256:...`, for a CSV body, or a JSON body of dated reports: two "
                    "or more, or counts); null when it has none (one report event, or "
                    "reports stamped on arrival): sent again, it is stored again unless "
                    "its reports have ids")


def batch_table(batch: Batch, now: datetime | None = None) -> pa.Table:
    """A validated batch as the store's Arrow table (:data:`~spikes.service.store.BATCH_SCHEMA`).

    Parameters
    ----------
    batch : Batch
        What :data:`BATCH` validated.
    now : datetime, optional
        The time of reports without a timestamp (default: now).

    Returns
    -------
    pa.Table
        Timestamps as naive UTC microseconds (a time without an offset is UTC already).
    """
    now = now or datetime.now(UTC)
    reports = batch["reports"]
    n = len(reports)
    stamps = [r.get("timestamp") or now for r in reports]
    counts = np.fromiter((r.get("count", 1.0) for r in reports), dtype=float, count=n)
    return pa.table([
        pa.array([r["product"] for r in reports], pa.string()),
        pa.array(stamps, pa.timestamp("us")) if n else pa.array([], pa.timestamp("us")),
        pa.array(counts),
        pa.array([r.get("region") for r in reports], pa.string()),
        pa.array([r.get("category") for r in reports], pa.string()),
        pa.array([r.get("id") for r in reports], pa.string()),
    ], schema=BATCH_SCHEMA)
