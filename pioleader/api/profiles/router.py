"""Endpoints for experiment profiles (behaviour §3.10).

GET/POST /api/experiment_profiles, GET/PATCH/DELETE /api/experiment_profiles/{filename},
GET /api/experiments/{experiment}/experiment_profiles/running and …/recent.

Profiles run as the leader's ``experiment_profile`` job: POST
/unit_api/jobs/run/job_name/experiment_profile with ``args: ["execute", <file>, <experiment>]``.
"""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Path
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from pioleader.api.profiles.models import (
    DiagnosticOut,
    ProfileCreate,
    ProfileListed,
    ProfileRun,
    ProfileSaved,
    ProfileUpdate,
    RunningProfile,
)
from pioleader.deps import ServicesDep
from pioleader.errors import ApiError, error_responses, not_found
from pioleader.profiles.files import ProfileExists, ProfileNotFound, check_profile_filename
from pioleader.profiles.job import JOB_NAME
from pioleader.profiles.schema import Profile
from pioleader.profiles.validate import ProfileInvalid, load_profile
from pioleader.services import Services
from pioleader.unit.jobs.catalog import HARDWARE_JOBS

router = APIRouter(tags=["experiment profiles"])

ExperimentPath = Annotated[str, Path(description="Experiment name.")]
FilenamePath = Annotated[
    str, Path(description="The profile's file name, e.g. demo.yaml.", max_length=200)
]
PLAIN_TEXT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The profile's YAML text.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def _filename(filename: str) -> str:
    try:
        return check_profile_filename(filename)
    except ValueError as error:
        raise ApiError(
            400,
            "Invalid profile file name.",
            cause=f"filename {filename!r} {error}.",
            remediation="Use a name such as my_profile.yaml (letters, digits, . _ - and "
            "single spaces, ending .yaml or .yml).",
        ) from error


def _profile_not_found(filename: str) -> ApiError:
    return not_found("Experiment profile", filename, "GET /api/experiment_profiles lists them.")


async def _checked(services: Services, text: str) -> list[DiagnosticOut]:
    """The warnings of a valid profile; 400 with every error located otherwise."""
    try:
        _, warnings = load_profile(
            text, catalog=HARDWARE_JOBS, workers=await services.workers.names()
        )
    except ProfileInvalid as invalid:
        errors = [d for d in invalid.diagnostics if d.severity == "error"]
        hints = list(dict.fromkeys(d.hint for d in errors if d.hint))
        raise ApiError(
            400,
            "Validation error.",
            cause="; ".join(d.describe() for d in errors),
            remediation=" ".join(hints) or "Fix the profile and try again.",
        ) from invalid
    return [DiagnosticOut(**vars(d)) for d in warnings]


def _listed(filename: str, fullpath: str, text: str) -> ProfileListed | None:
    if not text.strip():
        profile = Profile(experiment_profile_name=f"temporary name: {filename.rsplit('.', 1)[0]}")
    else:
        try:
            profile = Profile.model_validate(yaml.safe_load(text))
        except (yaml.YAMLError, ValidationError):
            return None  # unreadable profiles are left out, as upstream does
    return ProfileListed(
        experimentProfile=profile.model_dump(mode="json", by_alias=True),
        file=filename,
        fullpath=fullpath,
    )


@router.get(
    "/api/experiment_profiles", response_model=list[ProfileListed], responses=error_responses()
)
async def get_experiment_profiles(services: ServicesDep) -> list[ProfileListed]:
    """Every readable profile, newest first."""
    found = [
        _listed(file.filename, str(file.path), file.text)
        for file in await services.profile_files.all()
    ]
    return [listed for listed in found if listed is not None]


@router.post("/api/experiment_profiles", response_model=ProfileSaved, responses=error_responses())
async def create_experiment_profile(body: ProfileCreate, services: ServicesDep) -> ProfileSaved:
    """Add a new profile file after checking it (400, nothing written, if it is invalid)."""
    filename = _filename(body.filename)
    warnings = await _checked(services, body.body)
    try:
        await services.profile_files.create(filename, body.body)
    except ProfileExists as exists:
        raise ApiError(
            400,
            "A profile already exists with that filename. Choose another.",
            cause=f"{filename} exists.",
            remediation="Choose another file name, or change it with PATCH "
            f"/api/experiment_profiles/{filename}.",
        ) from exists
    return ProfileSaved(diagnostics=warnings)


@router.get(
    "/api/experiment_profiles/{filename}",
    responses={**PLAIN_TEXT, **error_responses(404)},
)
async def get_experiment_profile(
    filename: FilenamePath, services: ServicesDep
) -> PlainTextResponse:
    """The profile's YAML text."""
    try:
        return PlainTextResponse(await services.profile_files.read(_filename(filename)))
    except ProfileNotFound as missing:
        raise _profile_not_found(filename) from missing


@router.patch(
    "/api/experiment_profiles/{filename}",
    response_model=ProfileSaved,
    responses=error_responses(),
)
async def update_experiment_profile(
    filename: FilenamePath, body: ProfileUpdate, services: ServicesDep
) -> ProfileSaved:
    """Create or replace a profile file after checking it."""
    name = _filename(filename)
    warnings = await _checked(services, body.body)
    await services.profile_files.write(name, body.body)
    return ProfileSaved(diagnostics=warnings)


@router.delete(
    "/api/experiment_profiles/{filename}",
    response_model=dict[str, str],
    responses=error_responses(404),
)
async def delete_experiment_profile(
    filename: FilenamePath, services: ServicesDep
) -> dict[str, str]:
    try:
        await services.profile_files.delete(_filename(filename))
    except ProfileNotFound as missing:
        raise _profile_not_found(filename) from missing
    return {"status": "success"}


@router.get(
    "/api/experiments/{experiment}/experiment_profiles/running",
    response_model=list[RunningProfile],
    responses=error_responses(),
)
async def get_running_profiles(
    experiment: ExperimentPath, services: ServicesDep
) -> list[RunningProfile]:
    """Profiles the leader is running in the experiment, with their settings."""
    registry = services.unit.registry
    running = [r for r in await registry.running(JOB_NAME) if r["experiment"] == experiment]
    settings = await registry.settings_of_running(JOB_NAME) if running else None
    return [
        RunningProfile(
            job_name=row["job_name"],
            experiment=row["experiment"],
            job_id=row["job_id"],
            settings=settings or {},
        )
        for row in running
    ]


@router.get(
    "/api/experiments/{experiment}/experiment_profiles/recent",
    response_model=list[ProfileRun],
    responses=error_responses(),
)
async def get_recent_experiment_profile_runs(
    experiment: ExperimentPath, services: ServicesDep
) -> list[ProfileRun]:
    """Profiles run in the experiment, newest first."""
    return await services.profile_runs.recent(experiment)
