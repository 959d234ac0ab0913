"""Estimator endpoints of the leader; each reaches the worker's /unit_api (a task), or every
worker for ``$broadcast``.

GET /api/workers/{pioreactor_unit}/estimators,
GET /api/workers/{pioreactor_unit}/estimators/{device},
GET|DELETE /api/workers/{pioreactor_unit}/estimators/{device}/{estimator_name},
GET /api/workers/{pioreactor_unit}/active_estimators,
PATCH /api/workers/{pioreactor_unit}/active_estimators/{device}/{estimator_name},
DELETE /api/workers/{pioreactor_unit}/active_estimators/{device}.
"""

from __future__ import annotations

from fastapi import APIRouter

from pioleader.api.calibrations.router import ACCEPTED, UnitPath
from pioleader.api.calibrations.service import to_workers
from pioleader.cluster import UnitRequest
from pioleader.deps import ServicesDep
from pioleader.tasks import TaskAccepted
from pioleader.unit.calibrations.handlers import DevicePath, NamePath, check_name

router = APIRouter(prefix="/api/workers/{pioreactor_unit}", tags=["estimators"])


def _one(device: str, estimator_name: str) -> str:
    return f"{check_name(device, 'device')}/{check_name(estimator_name, 'estimator_name')}"


@router.get("/estimators", **ACCEPTED)
async def get_all_estimators(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """Each worker's estimators by device (a task; result `{worker: envelope}`)."""
    request = UnitRequest("GET", "/unit_api/estimators")
    return await to_workers(services, pioreactor_unit, "get estimators", request)


@router.get("/estimators/{device}", **ACCEPTED)
async def get_estimators_by_device(
    pioreactor_unit: UnitPath, device: DevicePath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("GET", f"/unit_api/estimators/{check_name(device, 'device')}")
    return await to_workers(services, pioreactor_unit, "get estimators", request)


@router.get("/estimators/{device}/{estimator_name}", **ACCEPTED)
async def get_estimator(
    pioreactor_unit: UnitPath, device: DevicePath, estimator_name: NamePath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("GET", f"/unit_api/estimators/{_one(device, estimator_name)}")
    return await to_workers(services, pioreactor_unit, "get estimator", request)


@router.delete("/estimators/{device}/{estimator_name}", **ACCEPTED)
async def delete_estimator(
    pioreactor_unit: UnitPath, device: DevicePath, estimator_name: NamePath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("DELETE", f"/unit_api/estimators/{_one(device, estimator_name)}")
    return await to_workers(services, pioreactor_unit, "delete estimator", request)


@router.get("/active_estimators", **ACCEPTED)
async def get_all_active_estimators(
    pioreactor_unit: UnitPath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("GET", "/unit_api/active_estimators")
    return await to_workers(services, pioreactor_unit, "get active estimators", request)


@router.patch("/active_estimators/{device}/{estimator_name}", **ACCEPTED)
async def set_active_estimator(
    pioreactor_unit: UnitPath, device: DevicePath, estimator_name: NamePath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("PATCH", f"/unit_api/active_estimators/{_one(device, estimator_name)}")
    return await to_workers(services, pioreactor_unit, "set active estimator", request)


@router.delete("/active_estimators/{device}", **ACCEPTED)
async def remove_active_status_estimator(
    pioreactor_unit: UnitPath, device: DevicePath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("DELETE", f"/unit_api/active_estimators/{check_name(device, 'device')}")
    return await to_workers(services, pioreactor_unit, "clear active estimator", request)
