"""Response bodies of the experiment profile endpoints."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProfileRun(BaseModel):
    started_at: str = Field(description="When the ingester saw the run start (UTC).")
    experiment_profile_name: str
    experiment: str | None
