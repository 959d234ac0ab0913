"""Bodies of the configuration endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from pioleader.unit.models import ConfigCode

__all__ = ["ConfigCode", "ConfigVersion", "MergedConfigs", "SharedConfigUpdated", "SyncState"]


class ConfigVersion(BaseModel):
    filename: str = Field(description="config.ini, or unit_config.ini::<unit>.")
    timestamp: str = Field(description="When this version was written (UTC).")
    data: str = Field(description="The whole text of that version (secrets masked).")


class SyncState(BaseModel):
    """What the leader knows of one worker's copy of the shared config."""

    pioreactor_unit: str
    synced: bool = Field(description="True only if the worker acknowledged the current text.")
    synced_at: str | None = Field(description="When it last acknowledged a version.")
    attempted_at: str
    last_error: str | None = Field(description="Why the last push failed, if it did.")


class SharedConfigUpdated(BaseModel):
    status: Literal["success", "pending"] = Field(
        description="success: every worker has the new text; pending: some do not yet."
    )
    synced: list[str] = Field(description="Workers that acknowledged the new text.")
    pending: dict[str, str] = Field(
        description="Workers that did not, and why; each gets it when it is reachable again."
    )


class MergedConfigs(BaseModel):
    configs: dict[str, dict[str, dict[str, str]]] = Field(
        description="unit → section → key → value, for each unit that answered."
    )
    errors: dict[str, dict[str, Any]] = Field(
        description="unit → failure envelope, for each unit that did not."
    )
