"""Calibration endpoints of the leader; each reaches the worker's /unit_api (a task), or every
worker for ``$broadcast``.

GET /api/workers/{pioreactor_unit}/calibrations,
GET|POST /api/workers/{pioreactor_unit}/calibrations/{device},
GET|DELETE /api/workers/{pioreactor_unit}/calibrations/{device}/{calibration_name},
GET /api/workers/{pioreactor_unit}/active_calibrations,
PATCH /api/workers/{pioreactor_unit}/active_calibrations/{device}/{calibration_name},
DELETE /api/workers/{pioreactor_unit}/active_calibrations/{device},
GET /api/workers/{pioreactor_unit}/calibration_protocols,
GET /api/workers/{pioreactor_unit}/zipped_calibrations.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from pioleader.api.calibrations.service import to_workers, zipped_calibrations
from pioleader.cluster import UnitRequest
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses
from pioleader.tasks import TaskAccepted
from pioleader.unit.calibrations.handlers import DevicePath, NamePath, check_calibration, check_name
from pioleader.unit.calibrations.models import CreateCalibration

router = APIRouter(prefix="/api/workers/{pioreactor_unit}", tags=["calibrations"])

UnitPath = Annotated[str, Path(description="Worker name, or `$broadcast` for every worker.")]
ACCEPTED: dict[str, Any] = {
    "status_code": 202,
    "response_model": TaskAccepted,
    "responses": error_responses(),
}


def _one(device: str, calibration_name: str) -> str:
    return f"{check_name(device, 'device')}/{check_name(calibration_name, 'calibration_name')}"


@router.get("/calibrations", **ACCEPTED)
async def get_all_calibrations(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """Each worker's calibrations by device (a task; result `{worker: envelope}`)."""
    request = UnitRequest("GET", "/unit_api/calibrations")
    return await to_workers(services, pioreactor_unit, "get calibrations", request)


@router.get("/calibrations/{device}", **ACCEPTED)
async def get_calibrations(
    pioreactor_unit: UnitPath, device: DevicePath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("GET", f"/unit_api/calibrations/{check_name(device, 'device')}")
    return await to_workers(services, pioreactor_unit, "get calibrations", request)


@router.post("/calibrations/{device}", **ACCEPTED)
async def create_calibration(
    pioreactor_unit: UnitPath, device: DevicePath, body: CreateCalibration, services: ServicesDep
) -> TaskAccepted:
    """Store a calibration (YAML text) on the worker(s), optionally as the active one.

    The YAML is checked here first: a bad one is a 400 and reaches no worker.
    """
    check_calibration(device, body.calibration_data)
    request = UnitRequest("POST", f"/unit_api/calibrations/{device}", json=body.model_dump())
    return await to_workers(services, pioreactor_unit, "create calibration", request)


@router.get("/calibrations/{device}/{calibration_name}", **ACCEPTED)
async def get_calibration(
    pioreactor_unit: UnitPath, device: DevicePath, calibration_name: NamePath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("GET", f"/unit_api/calibrations/{_one(device, calibration_name)}")
    return await to_workers(services, pioreactor_unit, "get calibration", request)


@router.delete("/calibrations/{device}/{calibration_name}", **ACCEPTED)
async def delete_calibration(
    pioreactor_unit: UnitPath, device: DevicePath, calibration_name: NamePath, services: ServicesDep
) -> TaskAccepted:
    """Delete the calibration file; a device whose active calibration it was has none."""
    request = UnitRequest("DELETE", f"/unit_api/calibrations/{_one(device, calibration_name)}")
    return await to_workers(services, pioreactor_unit, "delete calibration", request)


@router.get("/active_calibrations", **ACCEPTED)
async def get_all_active_calibrations(
    pioreactor_unit: UnitPath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("GET", "/unit_api/active_calibrations")
    return await to_workers(services, pioreactor_unit, "get active calibrations", request)


@router.patch("/active_calibrations/{device}/{calibration_name}", **ACCEPTED)
async def set_active_calibration(
    pioreactor_unit: UnitPath, device: DevicePath, calibration_name: NamePath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest(
        "PATCH", f"/unit_api/active_calibrations/{_one(device, calibration_name)}"
    )
    return await to_workers(services, pioreactor_unit, "set active calibration", request)


@router.delete("/active_calibrations/{device}", **ACCEPTED)
async def remove_active_status_calibration(
    pioreactor_unit: UnitPath, device: DevicePath, services: ServicesDep
) -> TaskAccepted:
    request = UnitRequest("DELETE", f"/unit_api/active_calibrations/{check_name(device, 'device')}")
    return await to_workers(services, pioreactor_unit, "clear active calibration", request)


@router.get("/calibration_protocols", **ACCEPTED)
async def get_calibration_protocols(
    pioreactor_unit: UnitPath, services: ServicesDep
) -> TaskAccepted:
    """The guided-session protocols each worker offers."""
    request = UnitRequest("GET", "/unit_api/calibration_protocols")
    return await to_workers(services, pioreactor_unit, "get calibration protocols", request)


@router.get(
    "/zipped_calibrations",
    response_class=Response,
    responses={
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "calibration_yamls.zip: <worker>/<device>/<name>.yaml entries.",
        },
        **error_responses(),
    },
)
async def get_zipped_calibrations(pioreactor_unit: UnitPath, services: ServicesDep) -> Response:
    """Every calibration of the worker(s) in one zip; workers that do not answer are left out."""
    return Response(
        await zipped_calibrations(services, pioreactor_unit),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="calibration_yamls.zip"'},
    )
