"""The ingester's health as the API shows it."""

from __future__ import annotations

from pydantic import BaseModel


class IngesterStatus(BaseModel):
    """Counters of ``pioleader ingester``, as it last wrote them (``updated_at``)."""

    started_at: str
    updated_at: str
    messages_received: int
    messages_ignored: int
    errors: int
    rows_written: int
    rows_by_table: dict[str, int]
    pending: int
    lag_seconds: float
    last_message_at: str | None
    connected: bool
