"""Endpoints about the cluster as a whole: GET /api/units, GET /api/models,
GET /api/local_access_point."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, Response
from pydantic import BaseModel

from pioleader.api.dispatch import cache_for
from pioleader.api.models.catalog import PioreactorModel
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses

router = APIRouter(tags=["cluster"])

# A Pioreactor leader runs its own Wi-Fi access point when this flag file exists.
ACCESS_POINT_FLAG = Path("/boot/firmware/local_access_point")


class UnitName(BaseModel):
    pioreactor_unit: str


class Models(BaseModel):
    models: list[PioreactorModel]


class AccessPoint(BaseModel):
    active: bool


@router.get("/api/units", response_model=list[UnitName], responses=error_responses())
async def get_list_of_units(services: ServicesDep) -> list[UnitName]:
    """The leader and every registered worker."""
    return [UnitName(pioreactor_unit=unit) for unit in await services.targets.units()]


@router.get("/api/models", response_model=Models, responses=error_responses())
async def get_models(services: ServicesDep) -> Models:
    """Every Pioreactor model: the built-in ones and those in the data directory's models/."""
    return Models(models=await services.models.all())


@router.get("/api/local_access_point", response_model=AccessPoint, responses=error_responses())
async def get_local_access_point(response: Response) -> AccessPoint:
    """Whether the leader serves its own Wi-Fi access point."""
    cache_for(response, 10000)
    return AccessPoint(active=await asyncio.to_thread(ACCESS_POINT_FLAG.exists))
