"""Endpoints at the paths of official UI builds up to 25.11 (README, "Where pioleader differs").

Most are the seed's routes registered again at the older path (``ALIASES``: same handler, same
answers, same errors). Two answer in the older shape:

GET /api/is_local_access_point_active      GET /api/local_access_point, as "true"/"false"
GET /api/workers/{pioreactor_unit}/configuration (and /api/units/…)
                                           the "configs" of GET /api/config/units/{…}
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from pioleader.api.config.router import UnitPath, get_config_for_pioreactor_unit
from pioleader.api.ui_compat.models import text_responses
from pioleader.api.units.router import get_local_access_point
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses

TAGS: list[str | Enum] = ["UI builds up to 25.11"]

# Older path -> the seed's path of the same GET.
ALIASES = {
    "/api/configs/config.ini": "/api/config/shared",
    "/api/contrib/charts": "/api/charts/descriptors",
    "/api/contrib/jobs": "/api/jobs/descriptors",
    "/api/contrib/automations/{automation_type}": "/api/automations/descriptors/{automation_type}",
    "/api/contrib/exportable_datasets": "/api/datasets/exportable",
    "/api/experiment_profiles/running/experiments/{experiment}": (
        "/api/experiments/{experiment}/experiment_profiles/running"
    ),
}

UnitConfigs = dict[str, dict[str, dict[str, str]]]

router = APIRouter(tags=TAGS)


@router.get(
    "/api/is_local_access_point_active",
    responses=text_responses("true or false.", enum=["true", "false"]),
)
async def is_local_access_point_active(response: Response) -> PlainTextResponse:
    """Whether the leader serves its own Wi-Fi access point, as text."""
    answer = await get_local_access_point(response)
    return PlainTextResponse(
        "true" if answer.active else "false",
        headers={"Cache-Control": response.headers.get("cache-control", "no-cache")},
    )


@router.get(
    "/api/workers/{pioreactor_unit}/configuration",
    response_model=UnitConfigs,
    responses=error_responses(502),
)
@router.get(
    "/api/units/{pioreactor_unit}/configuration",
    response_model=UnitConfigs,
    responses=error_responses(502),
)
async def get_unit_configuration(pioreactor_unit: UnitPath, services: ServicesDep) -> UnitConfigs:
    """Each unit's effective configuration, ``{unit: {section: {key: value}}}``."""
    return (await get_config_for_pioreactor_unit(pioreactor_unit, services)).configs


def ui_compat_router(seed_routes: Iterable[BaseRoute]) -> APIRouter:
    """The routes above, and each seed route of ``ALIASES`` again at its older path."""
    served = {
        route.path: route
        for route in seed_routes
        if isinstance(route, APIRoute) and "GET" in (route.methods or ())
    }
    aliases = APIRouter(tags=TAGS)
    for old, seed in ALIASES.items():
        route = served[seed]
        aliases.add_api_route(
            old,
            route.endpoint,
            methods=["GET"],
            response_model=route.response_model,
            response_class=route.response_class,
            responses=route.responses,
            response_model_exclude_none=route.response_model_exclude_none,
            name=f"{route.name}_at_older_path",
            description=f"The same as GET {seed}.",
        )
    whole = APIRouter()
    whole.include_router(router)
    whole.include_router(aliases)
    return whole
