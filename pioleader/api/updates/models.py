"""Bodies and answers of the update and upload endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class UpdateNextVersion(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    units: str = Field(
        default="$broadcast", min_length=1, description="A unit name, or `$broadcast`."
    )


class UpdateFromArchive(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    release_archive_location: str = Field(
        min_length=1,
        max_length=1024,
        description="Path on the leader of a release .zip: the save_path of POST "
        "/api/system/upload, or a file on the leader's mounted USB drive.",
    )
    units: str = Field(
        default="$broadcast", min_length=1, description="A unit name, or `$broadcast`."
    )


class Uploaded(BaseModel):
    message: str
    save_path: str


class UpdateReport(BaseModel):
    """The outcome of an update, per unit; ``updated`` only if every unit updated."""

    updated: bool
    msg: str
    units: dict[str, Any]
