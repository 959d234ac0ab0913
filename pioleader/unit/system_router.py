"""The unit API's reports about its computer, which the UI shows for the leader and in its
header: GET /unit_api/system/disk_space, GET /unit_api/system/memory,
GET /unit_api/system/ipv4, GET /unit_api/long_running_jobs/running.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from pioleader.errors import error_responses
from pioleader.unit import system
from pioleader.unit.deps import UnitDep
from pioleader.unit.models import Ipv4Address, RunningJob, SpaceBytes

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
