"""Calibration endpoints of the unit API.

GET /unit_api/calibrations, GET|POST /unit_api/calibrations/{device},
GET|DELETE /unit_api/calibrations/{device}/{calibration_name}, GET /unit_api/active_calibrations,
PATCH /unit_api/active_calibrations/{device}/{calibration_name},
DELETE /unit_api/active_calibrations/{device}, GET /unit_api/calibration_protocols,
GET /unit_api/zipped_calibrations.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from pioleader.errors import error_responses
from pioleader.unit.calibrations import handlers
from pioleader.unit.calibrations.handlers import DevicePath, NamePath
from pioleader.unit.calibrations.models import (
    CalibrationCreated,
    CalibrationProtocol,
    CreateCalibration,
    Document,
    Success,
)
from pioleader.unit.calibrations.protocols import PROTOCOLS
from pioleader.unit.deps import UnitDep

router = APIRouter(prefix="/unit_api", tags=["unit api: calibrations"])


@router.get(
    "/calibrations",
    response_model=dict[str, list[Document]],
    responses=error_responses(),
)
async def get_all_calibrations(unit: UnitDep) -> dict[str, list[Document]]:
    """Every stored calibration by device, each with is_active and pioreactor_unit."""
    return await unit.calibrations.list_all()


@router.get(
    "/calibrations/{device}",
    response_model=list[Document],
    responses=error_responses(404),
)
async def get_calibrations_by_device(device: DevicePath, unit: UnitDep) -> list[Document]:
    return await handlers.list_device(unit.calibrations, device, missing_is_empty=False)


@router.post(
    "/calibrations/{device}",
    status_code=201,
    response_model=CalibrationCreated,
    responses=error_responses(),
)
async def create_calibration(
    device: DevicePath, body: CreateCalibration, unit: UnitDep
) -> CalibrationCreated:
    """Store the YAML verbatim as <device>/<calibration_name>.yaml (replacing one of that
    name), and make it active when set_as_active is true."""
    name, _ = handlers.check_calibration(device, body.calibration_data)
    path = await unit.calibrations.save(device, name, body.calibration_data)
    if body.set_as_active:
        await unit.calibrations.set_active(device, name)
    return CalibrationCreated(msg=f"Calibration {name} saved for {device}.", path=str(path))


@router.get(
    "/calibrations/{device}/{calibration_name}",
    response_model=Document,
    responses=error_responses(404, 409),
)
async def get_calibration(
    device: DevicePath, calibration_name: NamePath, unit: UnitDep
) -> Document:
    return await handlers.get_one(unit.calibrations, device, calibration_name)


@router.delete(
    "/calibrations/{device}/{calibration_name}",
    response_model=Success,
    responses=error_responses(404),
)
async def delete_calibration(
    device: DevicePath, calibration_name: NamePath, unit: UnitDep
) -> Success:
    """Delete the file; if it was the device's active calibration, the device has none."""
    await handlers.delete_one(unit.calibrations, device, calibration_name)
    return Success()


@router.get("/active_calibrations", response_model=dict[str, Document], responses=error_responses())
async def get_all_active_calibrations(unit: UnitDep) -> dict[str, Document]:
    return await unit.calibrations.active_documents()


@router.patch(
    "/active_calibrations/{device}/{calibration_name}",
    response_model=Success,
    responses=error_responses(404),
)
async def set_active_calibration(
    device: DevicePath, calibration_name: NamePath, unit: UnitDep
) -> Success:
    await handlers.set_active(unit.calibrations, device, calibration_name)
    return Success()


@router.delete("/active_calibrations/{device}", response_model=Success, responses=error_responses())
async def remove_active_status_calibration(device: DevicePath, unit: UnitDep) -> Success:
    await handlers.clear_active(unit.calibrations, device)
    return Success()


@router.get(
    "/calibration_protocols",
    response_model=list[CalibrationProtocol],
    responses=error_responses(),
)
async def get_calibration_protocols() -> list[CalibrationProtocol]:
    """The protocols a guided session can follow, by device, priority and title."""
    listed = [
        CalibrationProtocol(
            id=f"{device}_{protocol.protocol_name}",
            target_device=device,
            protocol_name=protocol.protocol_name,
            priority=protocol.priority,
            title=protocol.title,
            description=protocol.description,
            requirements=list(protocol.requirements),
        )
        for protocol in PROTOCOLS
        for device in protocol.devices
    ]
    return sorted(listed, key=lambda p: (p.target_device, p.priority, p.title))


@router.get(
    "/zipped_calibrations",
    response_class=Response,
    responses=handlers.zip_responses("<unit>/<device>/<name>.yaml"),
)
async def get_zipped_calibrations(unit: UnitDep) -> Response:
    return handlers.zip_response(await unit.calibrations.zipped())
