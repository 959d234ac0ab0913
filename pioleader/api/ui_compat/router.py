"""Endpoints at the paths of official UI builds up to 25.11 (README, "Where pioleader differs").

Most are the seed's routes registered again at the older path (``ALIASES``: same handler, same
answers, same errors). Two answer in the older shape:

GET /api/is_local_access_point_active      GET /api/local_access_point, as "true"/"false"
GET /api/workers/{pioreactor_unit}/configuration (and /api/units/…)
                                           the "configs" of GET /api/config/units/{…}

and the config editor's file-named paths stand for the seed's shared/unit-specific ones:

GET /api/configs                           the file names: config.ini, config_<unit>.ini…
GET/PATCH /api/configs/{filename}          GET/PATCH /api/config/shared or …/units/{unit}/specific
GET /api/configs/{filename}/history        …/shared/history or …/units/{unit}/specific/history
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from pioleader.api.config.models import ConfigCode, ConfigVersion, SharedConfigUpdated
from pioleader.api.config.router import (
    UnitPath,
    get_config_for_pioreactor_unit,
    get_shared_config,
    get_shared_config_history,
    get_specific_config_for_pioreactor_unit,
    get_specific_config_history_for_pioreactor_unit,
    update_shared_config,
    update_specific_config_for_pioreactor_unit,
)
from pioleader.api.config.store import SHARED_FILENAME
from pioleader.api.ui_compat.models import ConfigFileCode, text_responses
from pioleader.api.units.router import get_local_access_point
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import error_responses, not_found
from pioleader.services import Services

TAGS: list[str | Enum] = ["UI builds up to 25.11"]

# Older path -> the seed's path of the same GET.
ALIASES = {
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


FilenamePath = Annotated[
    str, Path(description="config.ini, or config_<unit>.ini (GET /api/configs).", max_length=80)
]


async def _config_unit(services: Services, filename: str) -> str | None:
    """The unit whose own file ``filename`` is (None: the shared config.ini); 404 otherwise."""
    if filename == SHARED_FILENAME:
        return None
    unit = filename.removeprefix("config_").removesuffix(".ini")
    if f"config_{unit}.ini" != filename or unit not in await services.targets.units():
        raise not_found(
            "Config file",
            filename,
            "GET /api/configs lists the files: config.ini, config_<unit>.ini.",
        )
    return unit


@router.get("/api/configs", response_model=list[str], responses=error_responses())
async def get_config_files(services: ServicesDep) -> list[str]:
    """The configuration files the editor offers: config.ini, then each unit's own file."""
    units = await services.targets.units()
    return [SHARED_FILENAME, *(f"config_{unit}.ini" for unit in units)]


@router.get(
    "/api/configs/{filename}",
    responses=text_responses("The file's text.") | error_responses(404, 502),
)
async def get_config_file(filename: FilenamePath, services: ServicesDep) -> PlainTextResponse:
    """The same as GET /api/config/shared or /api/config/units/{unit}/specific."""
    unit = await _config_unit(services, filename)
    return await (
        get_shared_config(services)
        if unit is None
        else get_specific_config_for_pioreactor_unit(unit, services)
    )


@router.patch(
    "/api/configs/{filename}",
    response_model=SharedConfigUpdated | dict[str, str],
    responses=error_responses(404, 502),
)
async def update_config_file(
    filename: FilenamePath, body: ConfigFileCode, services: ServicesDep, now: NowDep
) -> SharedConfigUpdated | dict[str, str]:
    """The same as PATCH /api/config/shared or /api/config/units/{unit}/specific."""
    unit = await _config_unit(services, filename)
    code = ConfigCode(code=body.code)
    return await (
        update_shared_config(code, services)
        if unit is None
        else update_specific_config_for_pioreactor_unit(unit, code, services, now)
    )


@router.get(
    "/api/configs/{filename}/history",
    response_model=list[ConfigVersion],
    responses=error_responses(404),
)
async def get_config_file_history(
    filename: FilenamePath, services: ServicesDep
) -> list[ConfigVersion]:
    """The same as GET /api/config/shared/history or …/units/{unit}/specific/history."""
    unit = await _config_unit(services, filename)
    return await (
        get_shared_config_history(services)
        if unit is None
        else get_specific_config_history_for_pioreactor_unit(unit, services)
    )


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
