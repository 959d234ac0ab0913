"""Endpoints for UI descriptors.

GET /api/jobs/descriptors, /api/automations/descriptors/{automation_type},
/api/settings/descriptors, /api/charts/descriptors: the leader's own files.
GET /api/workers/{pioreactor_unit}/jobs/descriptors, …/automations/descriptors/{automation_type},
…/settings/descriptors: the worker's, through its unit API.
GET /unit_api/jobs/descriptors, /unit_api/automations/descriptors/{automation_type},
/unit_api/settings/descriptors: this unit's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from pioleader.api.descriptors.models import (
    AutomationDescriptor,
    ChartDescriptor,
    JobDescriptor,
    SettingsDescriptor,
)
from pioleader.api.descriptors.store import AUTOMATION_TYPES
from pioleader.cluster import UnitRequest, fanout
from pioleader.deps import ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.services import Services
from pioleader.unit.deps import UnitDep

router = APIRouter(tags=["descriptors"])
unit_router = APIRouter(prefix="/unit_api", tags=["unit api"])

AutomationTypePath = Annotated[
    str, Path(description="Automation type: dosing, led or temperature.", max_length=64)
]
WorkerPath = Annotated[str, Path(description="Worker name.")]


def _check_type(automation_type: str) -> str:
    if automation_type not in AUTOMATION_TYPES:
        raise ApiError(
            404,
            f"Unknown automation type {automation_type!r}.",
            cause=f"automation_type must be one of {', '.join(AUTOMATION_TYPES)}.",
            remediation="Use dosing, led or temperature.",
        )
    return automation_type


async def _from_worker(services: Services, pioreactor_unit: str, path: str) -> Any:
    """The worker's answer to ``GET path``; 502 if it fails or does not answer."""
    worker = await services.targets.require_worker(pioreactor_unit)
    envelope = (await fanout(services.units, [worker], UnitRequest("GET", path)))[worker]
    if not envelope["ok"]:
        raise ApiError(
            502,
            f"{worker} did not return its descriptors.",
            cause=envelope["error"]["message"],
            remediation=f"Check that {worker} is online: GET /api/workers/{worker}.",
        )
    return envelope["value"]


# -- the leader's own descriptors -----------------------------------------------------------


@router.get(
    "/api/jobs/descriptors", response_model=list[JobDescriptor], responses=error_responses()
)
async def get_job_descriptors(services: ServicesDep) -> list[JobDescriptor]:
    """Every background job the UI can show, with its displayed settings."""
    return await services.unit.descriptors.jobs()


@router.get(
    "/api/automations/descriptors/{automation_type}",
    response_model=list[AutomationDescriptor],
    responses=error_responses(404),
)
async def get_automation_descriptors(
    automation_type: AutomationTypePath, services: ServicesDep
) -> list[AutomationDescriptor]:
    """The automations of one type, with the fields a user fills in to start them."""
    return await services.unit.descriptors.automations(_check_type(automation_type))


@router.get(
    "/api/settings/descriptors",
    response_model=list[SettingsDescriptor],
    responses=error_responses(),
)
async def get_settings_descriptors(services: ServicesDep) -> list[SettingsDescriptor]:
    """Unit-level settings the UI shows (bioreactor values, LEDs)."""
    return await services.unit.descriptors.settings()


@router.get(
    "/api/charts/descriptors", response_model=list[ChartDescriptor], responses=error_responses()
)
async def get_chart_descriptors(services: ServicesDep) -> list[ChartDescriptor]:
    """The charts of the experiment overview: data source, MQTT topic, axis."""
    return await services.unit.descriptors.charts()


# -- a worker's, through its unit API -------------------------------------------------------


@router.get(
    "/api/workers/{pioreactor_unit}/jobs/descriptors",
    response_model=list[JobDescriptor],
    responses=error_responses(502),
)
async def get_job_descriptors_for_worker(pioreactor_unit: WorkerPath, services: ServicesDep) -> Any:
    """The worker's job descriptors. 400 for an unknown worker, 502 if it does not answer."""
    return await _from_worker(services, pioreactor_unit, "/unit_api/jobs/descriptors")


@router.get(
    "/api/workers/{pioreactor_unit}/automations/descriptors/{automation_type}",
    response_model=list[AutomationDescriptor],
    responses=error_responses(404, 502),
)
async def get_automation_descriptors_for_worker(
    pioreactor_unit: WorkerPath, automation_type: AutomationTypePath, services: ServicesDep
) -> Any:
    """The worker's automation descriptors of one type."""
    path = f"/unit_api/automations/descriptors/{_check_type(automation_type)}"
    return await _from_worker(services, pioreactor_unit, path)


@router.get(
    "/api/workers/{pioreactor_unit}/settings/descriptors",
    response_model=list[SettingsDescriptor],
    responses=error_responses(502),
)
async def get_settings_descriptors_for_worker(
    pioreactor_unit: WorkerPath, services: ServicesDep
) -> Any:
    """The worker's settings descriptors."""
    return await _from_worker(services, pioreactor_unit, "/unit_api/settings/descriptors")


# -- this unit's ----------------------------------------------------------------------------


@unit_router.get(
    "/jobs/descriptors", response_model=list[JobDescriptor], responses=error_responses()
)
async def get_unit_job_descriptors(unit: UnitDep) -> list[JobDescriptor]:
    """This unit's job descriptors."""
    return await unit.descriptors.jobs()


@unit_router.get(
    "/automations/descriptors/{automation_type}",
    response_model=list[AutomationDescriptor],
    responses=error_responses(404),
)
async def get_unit_automation_descriptors(
    automation_type: AutomationTypePath, unit: UnitDep
) -> list[AutomationDescriptor]:
    """This unit's automation descriptors of one type."""
    return await unit.descriptors.automations(_check_type(automation_type))


@unit_router.get(
    "/settings/descriptors", response_model=list[SettingsDescriptor], responses=error_responses()
)
async def get_unit_settings_descriptors(unit: UnitDep) -> list[SettingsDescriptor]:
    """This unit's settings descriptors."""
    return await unit.descriptors.settings()
