"""Endpoints for units' USB drives: GET /api/units/{pioreactor_unit}/usb,
GET .../usb/artifacts, POST .../usb/mount, POST .../usb/eject.

One registered unit at a time (`$broadcast` is a 400, as upstream); each is a task whose
result is `{unit: envelope}` with the unit's answer as the envelope's value.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from pioleader.api.dispatch import fanout_task
from pioleader.cluster import UnitRequest
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses
from pioleader.services import Services
from pioleader.tasks import TaskAccepted
from pioleader.unit.models import UsbDevice

router = APIRouter(tags=["usb"])

UnitPath = Annotated[str, Path(description="Unit name (not `$broadcast`).")]


async def _usb_task(
    services: Services, pioreactor_unit: str, name: str, request: UnitRequest
) -> TaskAccepted:
    unit = await services.targets.single_unit(pioreactor_unit)
    return await fanout_task(services, f"{name} on {unit}", [unit], request)


@router.get(
    "/api/units/{pioreactor_unit}/usb",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def get_usb_status_on_machine(
    pioreactor_unit: UnitPath, services: ServicesDep
) -> TaskAccepted:
    """Whether the unit's drive is present and mounted (a task): `{status, partitions,
    active_mount}`."""
    return await _usb_task(
        services, pioreactor_unit, "usb status", UnitRequest("GET", "/unit_api/usb")
    )


@router.get(
    "/api/units/{pioreactor_unit}/usb/artifacts",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def get_usb_artifacts_on_machine(
    pioreactor_unit: UnitPath, services: ServicesDep
) -> TaskAccepted:
    """Update archives and plugin files on the unit's mounted drive (a task)."""
    return await _usb_task(
        services, pioreactor_unit, "usb artifacts", UnitRequest("GET", "/unit_api/usb/artifacts")
    )


@router.post(
    "/api/units/{pioreactor_unit}/usb/mount",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def mount_usb_on_machine(
    pioreactor_unit: UnitPath, services: ServicesDep, body: UsbDevice | None = None
) -> TaskAccepted:
    """Mount the unit's drive (a task). The body `{device}` is optional."""
    return await _usb_task(
        services,
        pioreactor_unit,
        "mount usb",
        UnitRequest("POST", "/unit_api/usb/mount", json=(body or UsbDevice()).model_dump()),
    )


@router.post(
    "/api/units/{pioreactor_unit}/usb/eject",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def eject_usb_on_machine(
    pioreactor_unit: UnitPath, services: ServicesDep, body: UsbDevice | None = None
) -> TaskAccepted:
    """Unmount the unit's drive (a task). The body `{device}` is optional."""
    return await _usb_task(
        services,
        pioreactor_unit,
        "eject usb",
        UnitRequest("POST", "/unit_api/usb/eject", json=(body or UsbDevice()).model_dump()),
    )
