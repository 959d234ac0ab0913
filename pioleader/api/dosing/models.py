"""Response body of GET /api/experiments/{experiment}/media_rates."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MediaRate(BaseModel):
    """Upstream's camelCase keys, which the UI reads."""

    altMediaRate: float = Field(description="mL/h of alternative media over the last 3 hours.")
    mediaRate: float = Field(description="mL/h of media over the last 3 hours.")
