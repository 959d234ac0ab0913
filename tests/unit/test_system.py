"""The unit API's system reports (disk, memory, address, long-running jobs), as the UI asks
them of the leader."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from pioleader.services import Services
from pioleader.unit import system


async def test_disk_space_of_the_data_directory(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should report the free and total bytes where the unit keeps its data."""
    body = (await client.get("/unit_api/system/disk_space")).json()
    total = shutil.disk_usage(services.settings.data_dir).total
    assert body["total_bytes"] == total
    assert 0 < body["available_bytes"] <= total


async def test_memory(client: httpx.AsyncClient) -> None:
    """It should report available memory no larger than the total."""
    body = (await client.get("/unit_api/system/memory")).json()
    assert 0 < body["available_bytes"] <= body["total_bytes"]


def test_memory_reads_meminfo(tmp_path: Path) -> None:
    """It should take Linux's MemAvailable and MemTotal (kB) as bytes."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  2048 kB\nMemFree:  10 kB\nMemAvailable:  1024 kB\n")
    assert system.memory(meminfo) == (1024 * 1024, 2048 * 1024)
    missing = system.memory(tmp_path / "none")
    assert 0 < missing[0] <= missing[1]


async def test_ipv4_of_the_leader(client: httpx.AsyncClient, services: Services) -> None:
    """It should answer the leader's address from the configuration, "" for a host name."""
    assert (await client.get("/unit_api/system/ipv4")).json() == {"ipv4_address": "127.0.0.1"}
    services.settings.config_files.set_shared_values(
        {("cluster.topology", "leader_address"): "leader.local"}
    )
    assert (await client.get("/unit_api/system/ipv4")).json() == {"ipv4_address": ""}


def test_ipv4_of_a_worker(services: Services) -> None:
    """It should answer a worker's [cluster.addresses] entry without its port."""
    files = services.settings.config_files
    assert system.ipv4_address(files, "pio01", "leader") == "127.0.0.1"
    assert system.ipv4_address(files, "nobody", "leader") == ""


async def test_long_running_jobs_only(client: httpx.AsyncClient, services: Services) -> None:
    """It should list only running long-running jobs."""
    registry = services.unit.registry
    now = services.clock.now()
    common = {"experiment": "$experiment", "job_source": "user", "pid": 1, "now": now}
    await registry.register(job_name="monitor", long_running=True, **common)
    await registry.register(job_name="stirring", long_running=False, **common)
    body = (await client.get("/unit_api/long_running_jobs/running")).json()
    assert [job["job_name"] for job in body] == ["monitor"]
