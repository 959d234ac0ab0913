"""Log rows, the body of a new log entry, and the level filter."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

LEVELS = ("DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL")
PAGE_SIZE = 100  # Matches upstream (§3.5): log pages are fixed at 100 rows.
RECENT_LIMIT = 50


def levels_at_least(min_level: str) -> tuple[str, ...]:
    """The levels shown for ``min_level`` (case-insensitive); ValueError if unknown.

    Upstream never shows CRITICAL at any ``min_level``; a critical log is the last one to
    hide, so here it belongs to every set (§3.5 lists the upstream sets).
    """
    upper = min_level.upper()
    if upper not in LEVELS:
        raise ValueError(min_level)
    return LEVELS[LEVELS.index(upper) :]


class LogEntry(BaseModel):
    timestamp: str = Field(description="UTC, as stored (YYYY-MM-DDTHH:MM:SS.mmmZ).")
    level: str
    pioreactor_unit: str
    message: str
    task: str | None
    source: str
    experiment: str = Field(description="Experiment name, or `$experiment` for system logs.")


def _upper_level(level: str) -> str:
    if level.upper() not in LEVELS:
        raise ValueError(f"must be one of {', '.join(LEVELS)} (any case)")
    return level.upper()


def _aware_timestamp(timestamp: str) -> str:
    try:
        parsed = datetime.fromisoformat(timestamp)
    except ValueError as error:
        raise ValueError("must be an ISO-8601 datetime") from error
    if parsed.tzinfo is None:
        # The ingester drops such entries (§3.5): refuse them rather than lose them silently.
        raise ValueError("must carry a time zone, e.g. 2026-01-01T12:00:00.000Z")
    return timestamp


class LogCreate(BaseModel):
    """A log entry to publish, as a job would."""

    model_config = ConfigDict(extra="forbid", strict=True)

    message: Annotated[str, Field(max_length=10_000)]
    level: Annotated[str, AfterValidator(_upper_level)] = Field(
        description="DEBUG, INFO, NOTICE, WARNING, ERROR or CRITICAL (any case)."
    )
    source: Annotated[str, Field(max_length=200)] = Field(
        description="Who wrote the entry (the logs table's source column)."
    )
    timestamp: Annotated[str, AfterValidator(_aware_timestamp)] = Field(
        description="ISO-8601 with a time zone."
    )
    task: Annotated[str | None, Field(max_length=200)] = None
    source_: Annotated[str, Field(max_length=200)] = Field(
        default="ui", description="The topic's source level: .../logs/<source_>/<level>."
    )


class LogAccepted(BaseModel):
    """Handed to the broker; the row appears once the ingester stores it."""

    status: Literal["accepted"] = "accepted"
