"""The unit API's system reports (disk, memory, address, long-running jobs), as the UI asks
them of the leader."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

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


async def test_file_browser_lists_the_data_directory_and_serves_files(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should list a directory of the data directory as dirs and files (sorted), and serve
    a file's content as text, as the leader page's file browser asks."""
    data_dir = services.settings.data_dir
    (data_dir / "notes").mkdir()
    (data_dir / "notes" / "b.txt").write_text("second\n")
    (data_dir / "notes" / "a.txt").write_text("first\n")
    (data_dir / "notes" / "inner").mkdir()
    top = await client.get("/unit_api/system/path/")
    assert top.status_code == 200
    assert "notes" in top.json()["dirs"] and "config.ini" in top.json()["files"]
    assert top.json()["dirs"] == sorted(top.json()["dirs"])
    listing = await client.get("/unit_api/system/path/notes")
    assert listing.json() == {"dirs": ["inner"], "files": ["a.txt", "b.txt"]}
    content = await client.get("/unit_api/system/path/notes/b.txt")
    assert content.status_code == 200 and content.text == "second\n"
    assert content.headers["content-type"].startswith("text/plain")
    assert (await client.get("/unit_api/system/path/notes/./inner")).json() == {
        "dirs": [],
        "files": [],
    }


async def test_file_browser_stays_inside_the_data_directory(
    client: httpx.AsyncClient, services: Services, tmp_path: Path
) -> None:
    """It should refuse '..' and symbolic links leading out (400), answer 404 for what does
    not exist, and leave links out of listings."""
    data_dir = services.settings.data_dir
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours\n")
    (data_dir / "escape").symlink_to(outside)
    (data_dir / "escape.txt").symlink_to(outside / "secret.txt")
    for path in ("escape", "escape/secret.txt", "escape.txt", "storage/../../x", "%2e%2e/x"):
        response = await client.get(f"/unit_api/system/path/{path}")
        assert response.status_code in (400, 404), path
        assert "not yours" not in response.text
        assert response.json()["remediation"]
    for path in ("escape/secret.txt", "escape.txt", "%2e%2e/x", "storage/%2e%2e/%2e%2e"):
        refused = await client.get(f"/unit_api/system/path/{path}")
        assert refused.status_code == 400, path
        assert "data directory" in refused.json()["error"]
    missing = await client.get("/unit_api/system/path/no/such/file")
    assert missing.status_code == 404 and "no/such/file" in missing.json()["cause"]
    listed = (await client.get("/unit_api/system/path/")).json()
    assert "escape" not in listed["dirs"] and "escape.txt" not in listed["files"]


async def test_file_browser_obeys_the_disallow_flag(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should answer 403 while DISALLOW_UI_FILE_SYSTEM is in the data directory."""
    (services.settings.data_dir / "DISALLOW_UI_FILE_SYSTEM").touch()
    response = await client.get("/unit_api/system/path/")
    assert response.status_code == 403
    assert "DISALLOW_UI_FILE_SYSTEM" in response.json()["cause"]


def test_inside_data_dir_refuses_escapes(tmp_path: Path) -> None:
    """It should resolve a relative path under the data directory and refuse the rest."""
    (tmp_path / "storage").mkdir()
    assert system.inside_data_dir(tmp_path, "storage/") == (tmp_path / "storage").resolve()
    assert system.inside_data_dir(tmp_path, "") == tmp_path.resolve()
    for bad in ("..", "storage/../..", "a\x00b"):
        with pytest.raises(system.OutsideDataDir):
            system.inside_data_dir(tmp_path, bad)
