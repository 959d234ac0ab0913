"""Endpoint GET /api/experiments/{experiment}/experiment_profiles/recent.

(The profile files and running profiles are other endpoints of §3.10, not built yet.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from pioleader.api.profiles.models import ProfileRun
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses

router = APIRouter(tags=["experiment profiles"])


@router.get(
    "/api/experiments/{experiment}/experiment_profiles/recent",
    response_model=list[ProfileRun],
    responses=error_responses(),
)
async def get_recent_experiment_profile_runs(
    experiment: Annotated[str, Path(description="Experiment name.")], services: ServicesDep
) -> list[ProfileRun]:
    """Profiles run in the experiment, newest first."""
    return await services.profile_runs.recent(experiment)
