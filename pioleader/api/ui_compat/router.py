"""Endpoints at the paths of official UI builds up to 25.11 (README, "Where pioleader differs").

Each answers as the seed's route it names, which it calls:

GET /api/configs/config.ini                       = GET /api/config/shared
GET /api/is_local_access_point_active             = GET /api/local_access_point, as "true"/"false"
GET /api/contrib/charts                           = GET /api/charts/descriptors
GET /api/contrib/jobs                             = GET /api/jobs/descriptors
GET /api/contrib/automations/{automation_type}    = GET /api/automations/descriptors/{…}
GET /api/contrib/exportable_datasets              = GET /api/datasets/exportable
GET /api/experiment_profiles/running/experiments/{experiment}
    = GET /api/experiments/{experiment}/experiment_profiles/running
GET /api/workers/{pioreactor_unit}/configuration and GET /api/units/{pioreactor_unit}/configuration
    = the "configs" of GET /api/config/units/{pioreactor_unit}
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from pioleader.api.config.router import (
    UnitPath,
    get_config_for_pioreactor_unit,
    get_shared_config,
)
from pioleader.api.datasets.router import get_exportable_datasets
from pioleader.api.descriptors.models import AutomationDescriptor, ChartDescriptor, JobDescriptor
from pioleader.api.descriptors.router import (
    AutomationTypePath,
    get_automation_descriptors,
    get_chart_descriptors,
    get_job_descriptors,
)
from pioleader.api.experiments.router import ExperimentPath
from pioleader.api.profiles.models import RunningProfile
from pioleader.api.profiles.router import get_running_profiles
from pioleader.api.ui_compat.models import text_responses
from pioleader.api.units.router import get_local_access_point
from pioleader.datasets.catalog import DatasetDefinition
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses

router = APIRouter(tags=["UI builds up to 25.11"])


@router.get("/api/configs/config.ini", responses=text_responses("The shared config.ini."))
async def get_shared_config_at_configs(services: ServicesDep) -> PlainTextResponse:
    """The shared config.ini, which these builds read at start-up (the broker's websockets
    address among it)."""
    return await get_shared_config(services)


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
    "/api/contrib/charts", response_model=list[ChartDescriptor], responses=error_responses()
)
async def get_chart_descriptors_at_contrib(services: ServicesDep) -> list[ChartDescriptor]:
    return await get_chart_descriptors(services)


@router.get("/api/contrib/jobs", response_model=list[JobDescriptor], responses=error_responses())
async def get_job_descriptors_at_contrib(services: ServicesDep) -> list[JobDescriptor]:
    return await get_job_descriptors(services)


@router.get(
    "/api/contrib/automations/{automation_type}",
    response_model=list[AutomationDescriptor],
    responses=error_responses(404),
)
async def get_automation_descriptors_at_contrib(
    automation_type: AutomationTypePath, services: ServicesDep
) -> list[AutomationDescriptor]:
    return await get_automation_descriptors(automation_type, services)


@router.get(
    "/api/contrib/exportable_datasets",
    response_model=list[DatasetDefinition],
    responses=error_responses(),
)
async def get_exportable_datasets_at_contrib(
    services: ServicesDep, response: Response
) -> list[DatasetDefinition]:
    return await get_exportable_datasets(services, response)


@router.get(
    "/api/experiment_profiles/running/experiments/{experiment}",
    response_model=list[RunningProfile],
    responses=error_responses(),
)
async def get_running_profiles_at_old_path(
    experiment: ExperimentPath, services: ServicesDep
) -> list[RunningProfile]:
    return await get_running_profiles(experiment, services)


UnitConfigs = dict[str, dict[str, dict[str, str]]]


@router.get(
    "/api/workers/{pioreactor_unit}/configuration",
    response_model=UnitConfigs,
    responses=error_responses(502),
)
async def get_worker_configuration(pioreactor_unit: UnitPath, services: ServicesDep) -> UnitConfigs:
    """Each unit's effective configuration, ``{unit: {section: {key: value}}}``."""
    return (await get_config_for_pioreactor_unit(pioreactor_unit, services)).configs


@router.get(
    "/api/units/{pioreactor_unit}/configuration",
    response_model=UnitConfigs,
    responses=error_responses(502),
)
async def get_unit_configuration(pioreactor_unit: UnitPath, services: ServicesDep) -> UnitConfigs:
    """The same, under /api/units."""
    return await get_worker_configuration(pioreactor_unit, services)
