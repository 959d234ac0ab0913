"""Endpoint GET /api/experiments/{experiment}/media_rates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from pioleader.api.dosing.models import MediaRate
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import error_responses

router = APIRouter(tags=["dosing"])


@router.get(
    "/api/experiments/{experiment}/media_rates",
    response_model=dict[str, MediaRate],
    responses=error_responses(),
)
async def get_media_rates(
    experiment: Annotated[str, Path(description="Experiment name.")],
    services: ServicesDep,
    now: NowDep,
) -> dict[str, MediaRate]:
    """Media added per unit over the last 3 hours, in mL/h, plus the total under "all"."""
    return await services.dosing.media_rates(experiment, now)
