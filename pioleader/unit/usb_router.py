"""The unit API's USB endpoints: GET /unit_api/usb, GET /unit_api/usb/artifacts,
POST /unit_api/usb/mount, POST /unit_api/usb/eject (``usb.py`` says what the drive is).

Mount and eject are tasks under ``usb-lock``, the lock exports to USB take as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from pioleader.errors import ApiError, error_responses
from pioleader.tasks import TaskAccepted
from pioleader.unit.deps import UnitDep
from pioleader.unit.models import UsbArtifacts, UsbDevice, UsbStatus
from pioleader.unit.services import UnitServices
from pioleader.unit.usb import UsbDrive, UsbProblem

router = APIRouter(prefix="/unit_api/usb", tags=["unit api"])


async def drive_of(unit: UnitServices) -> UsbDrive:
    config = await asyncio.to_thread(unit.config_files.merged)
    return UsbDrive.of(unit.data_dir, config)


async def on_drive(unit: UnitServices, action: Callable[[UsbDrive], Any]) -> Any:
    """Run a blocking drive action in a thread; its UsbProblem becomes the error answer."""
    drive = await drive_of(unit)
    try:
        return await asyncio.to_thread(action, drive)
    except UsbProblem as problem:
        raise ApiError(
            problem.status,
            "USB drive not ready.",
            cause=str(problem),
            remediation=problem.remediation,
        ) from problem


@router.get(
    "", response_model=UsbStatus, response_model_exclude_unset=True, responses=error_responses()
)
async def get_usb_status(unit: UnitDep) -> UsbStatus:
    """Whether a drive is present and mounted."""
    return UsbStatus(**await on_drive(unit, UsbDrive.status))


@router.get("/artifacts", response_model=UsbArtifacts, responses=error_responses(409))
async def get_usb_artifacts(unit: UnitDep) -> UsbArtifacts:
    """Update archives and plugin files on the mounted drive. 409 if nothing is mounted."""
    return UsbArtifacts(**await on_drive(unit, UsbDrive.artifacts))


async def _locked(unit: UnitServices, name: str, action: Callable[[UsbDrive], Any]) -> TaskAccepted:
    async def work() -> Any:
        return await on_drive(unit, action)

    return await unit.tasks.submit(name, work, lock="usb-lock")


@router.post("/mount", status_code=202, response_model=TaskAccepted, responses=error_responses())
async def mount_usb(unit: UnitDep, body: UsbDevice | None = None) -> TaskAccepted:
    """Mount the drive (a task); its result is `{result, device, display_name, mountpoint, msg}`.

    The body is optional.
    """
    device = body.device if body else None
    return await _locked(unit, "mount usb", lambda drive: drive.mount(device))


@router.post("/eject", status_code=202, response_model=TaskAccepted, responses=error_responses())
async def eject_usb(unit: UnitDep, body: UsbDevice | None = None) -> TaskAccepted:
    """Unmount the drive so that it can be removed (a task). The body is optional."""
    device = body.device if body else None
    return await _locked(unit, "eject usb", lambda drive: drive.eject(device))
