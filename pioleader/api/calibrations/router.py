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

from fastapi import APIRouter, Request, Response

from pioleader.api.calibrations.forwarding import (
    Forward,
    for_calibration,
    for_device,
    for_unit,
    register,
)
from pioleader.api.calibrations.service import WORKER_PREFIX, UnitPath, to_workers
from pioleader.api.calibrations.service import zipped_calibrations as zip_of_workers
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses
from pioleader.tasks import TaskAccepted
from pioleader.unit.calibrations import handlers
from pioleader.unit.calibrations.handlers import DevicePath, check_calibration
from pioleader.unit.calibrations.models import CreateCalibration

router = APIRouter(prefix=WORKER_PREFIX, tags=["calibrations"])

ONE = "/calibrations/{device}/{calibration_name}"
register(
    router,
    [
        Forward("GET", "/calibrations", "get_all_calibrations",
                "Each worker's calibrations by device, with is_active.", for_unit),
        Forward("GET", "/calibrations/{device}", "get_calibrations",
                "The worker's calibrations of one device.", for_device),
        Forward("GET", ONE, "get_calibration", "One calibration.", for_calibration),
        Forward("DELETE", ONE, "delete_calibration",
                "Delete a calibration; a device whose active one it was has none.",
                for_calibration),
        Forward("GET", "/active_calibrations", "get_all_active_calibrations",
                "The active calibration of each device.", for_unit),
        Forward("PATCH", "/active_calibrations/{device}/{calibration_name}",
                "set_active_calibration", "Make a stored calibration the device's active one.",
                for_calibration),
        Forward("DELETE", "/active_calibrations/{device}", "remove_active_status_calibration",
                "The device has no active calibration any more.", for_device),
        Forward("GET", "/calibration_protocols", "get_calibration_protocols",
                "The guided-session protocols each worker offers.", for_unit),
    ],
)  # fmt: skip


@router.post(
    "/calibrations/{device}", status_code=202, response_model=TaskAccepted,
    responses=error_responses(),
)  # fmt: skip
async def create_calibration(
    pioreactor_unit: UnitPath,
    device: DevicePath,
    body: CreateCalibration,
    services: ServicesDep,
    request: Request,
) -> TaskAccepted:
    """Store a calibration (YAML text) on the worker(s), optionally as the active one.

    The YAML is checked here first: a bad one is a 400 and reaches no worker.
    """
    check_calibration(device, body.calibration_data)
    return await to_workers(services, request, json=body.model_dump())


@router.get(
    "/zipped_calibrations",
    response_class=Response,
    responses=handlers.zip_responses("<worker>/<device>/<name>.yaml"),
)
async def get_zipped_calibrations(pioreactor_unit: UnitPath, services: ServicesDep) -> Response:
    """Every calibration of the worker(s) in one zip; workers that do not answer are left out."""
    return handlers.zip_response(await zip_of_workers(services, pioreactor_unit))
