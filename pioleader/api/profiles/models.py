"""Response bodies of the experiment profile endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ProfileRun(BaseModel):
    started_at: str = Field(description="When the ingester saw the run start (UTC).")
    experiment_profile_name: str
    experiment: str | None


class ProfileListed(BaseModel):
    experimentProfile: dict[str, Any] = Field(  # upstream's key
        description="The parsed profile, with defaults filled in."
    )
    file: str = Field(description="The file name, e.g. demo.yaml.")
    fullpath: str = Field(description="Where the file is on the leader.")


class ProfileCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    filename: str = Field(
        max_length=200, description="demo.yaml: letters, digits, . _ - and single spaces."
    )
    body: str = Field(max_length=1_000_000, description="The profile's YAML text.")


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    body: str = Field(max_length=1_000_000, description="The profile's YAML text.")


class DiagnosticOut(BaseModel):
    severity: Literal["error", "warning"]
    code: str
    message: str
    path: str = Field(description="Where in the document, e.g. common.jobs.stirring.actions[0].t")
    line: int | None
    hint: str | None


class ProfileSaved(BaseModel):
    status: Literal["success"] = "success"
    diagnostics: list[DiagnosticOut] = Field(
        description="Warnings about the profile (errors refuse it with a 400)."
    )


class RunningProfile(BaseModel):
    job_name: str
    experiment: str
    job_id: int
    settings: dict[str, str | None] = Field(
        description="experiment_profile_name, profile_filename, start_time_utc, $state."
    )
