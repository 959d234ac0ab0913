"""The unit API's reports about its computer, which the UI shows for the leader and in its
header: GET /unit_api/system/disk_space, GET /unit_api/system/memory,
GET /unit_api/system/ipv4, GET /unit_api/long_running_jobs/running, and the leader page's
file browser, GET /unit_api/system/path/{filepath} (only inside the data directory).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from pioleader.errors import ApiError, error_responses, not_found
from pioleader.unit import system
from pioleader.unit.archive_router import require_file_access
from pioleader.unit.deps import UnitDep
from pioleader.unit.models import DirectoryListing, Ipv4Address, RunningJob, SpaceBytes

router = APIRouter(prefix="/unit_api", tags=["unit api"])


@router.get("/system/disk_space", response_model=SpaceBytes, responses=error_responses())
async def get_disk_space(unit: UnitDep) -> SpaceBytes:
    """Free and total bytes of the filesystem holding this unit's data."""
    available, total = await asyncio.to_thread(system.disk_space, unit.config_files.data_dir)
    return SpaceBytes(available_bytes=available, total_bytes=total)


@router.get("/system/memory", response_model=SpaceBytes, responses=error_responses())
async def get_memory(unit: UnitDep) -> SpaceBytes:
    """Available and total bytes of this unit's memory."""
    available, total = await asyncio.to_thread(system.memory)
    return SpaceBytes(available_bytes=available, total_bytes=total)


@router.get("/system/ipv4", response_model=Ipv4Address, responses=error_responses())
async def get_system_ipv4(unit: UnitDep) -> Ipv4Address:
    """This unit's IPv4 address in the cluster's configuration ("" when not an address)."""
    address = await asyncio.to_thread(
        system.ipv4_address, unit.config_files, unit.name, unit.leader
    )
    return Ipv4Address(ipv4_address=address)


@router.get(
    "/long_running_jobs/running", response_model=list[RunningJob], responses=error_responses()
)
async def get_all_long_running_jobs(unit: UnitDep) -> list[RunningJob]:
    """Running jobs that outlive experiments (such as monitor)."""
    rows = await unit.registry.running()
    return [RunningJob(**row) for row in rows if row["is_long_running_job"]]


FilePath = Annotated[
    str,
    PathParam(
        description="A directory or file inside the unit's data directory, e.g. storage.",
        max_length=1024,
    ),
]
BROWSED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A directory's listing (JSON), or a file's content (text/plain).",
        "content": {
            "application/json": {"schema": DirectoryListing.model_json_schema()},
            "text/plain": {"schema": {"type": "string"}},
        },
    },
    **error_responses(403, 404),
}


def _browsed(data_dir: Path, filepath: str) -> tuple[Path, DirectoryListing | None]:
    """The real path, and its listing if it is a directory (from a thread)."""
    try:
        target = system.inside_data_dir(data_dir, filepath)
    except system.OutsideDataDir as problem:
        raise ApiError(
            400,
            "The path leaves the data directory.",
            cause=f"filepath {filepath!r} is not inside the unit's data directory.",
            remediation="Name a path relative to the data directory, without '..' (e.g. storage).",
        ) from problem
    try:
        if target.is_dir():
            dirs, files = system.list_directory(target)
            return target, DirectoryListing(dirs=dirs, files=files)
        found = target.is_file()
    except OSError:  # a name too long, a directory not readable: nothing to show either way
        found = False
    if not found:
        raise not_found("Path", filepath, "GET /unit_api/system/path/ lists the data directory.")
    return target, None


@router.get("/system/path/", response_model=None, responses=BROWSED)
async def list_data_directory(unit: UnitDep) -> DirectoryListing | FileResponse:
    """The top of the unit's data directory, as ``{dirs, files}``."""
    return await get_system_path(unit, "")


@router.get("/system/path/{filepath:path}", response_model=None, responses=BROWSED)
async def get_system_path(unit: UnitDep, filepath: FilePath) -> DirectoryListing | FileResponse:
    """A directory of the unit's data directory as ``{dirs, files}``, or a file's content.
    Nothing outside the data directory is served; symbolic links are not followed out."""
    await require_file_access(unit)
    target, listing = await asyncio.to_thread(_browsed, unit.data_dir, filepath)
    if listing is not None:
        return listing
    return FileResponse(target, media_type="text/plain")
