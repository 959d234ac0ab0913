"""Exportable datasets and exports: definitions, preview, the zip's contents row by row, both
body shapes, time zones, retention, the USB copy, and failures that leave nothing behind."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import sqlite3
import time
import zipfile
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest
from fastapi import FastAPI

from pioleader.app import create_app
from pioleader.bus import RecordingBus
from pioleader.clock import ManualClock
from pioleader.services import Overrides, Services
from pioleader.settings import LeaderSettings
from tests.conftest import create_experiment, poll_task
from tests.fakes import FakeUnits

ROWS = [
    # experiment, unit, timestamp, od, angle, channel
    ("exp1", "pio01", "2026-01-01T10:00:00.000Z", 0.10, 90, 2),
    ("exp1", "pio01", "2026-01-01T11:00:00.000Z", 0.20, 90, 2),
    ("exp1", "pio02", "2026-01-01T10:30:00.000Z", 0.15, 90, 2),
    ("exp2", "pio01", "2026-01-01T10:45:00.000Z", 0.90, 45, 1),
]


async def seed(client: httpx.AsyncClient, services: Services) -> None:
    await create_experiment(client, "exp1")
    await create_experiment(client, "exp2")

    def insert(connection: sqlite3.Connection) -> None:
        connection.executemany(
            "INSERT INTO od_readings (experiment, pioreactor_unit, timestamp, od_reading, angle,"
            " channel) VALUES (?, ?, ?, ?, ?, ?)",
            ROWS,
        )
        connection.execute(
            "INSERT INTO logs VALUES ('exp1', 'pio01', '2026-01-01T10:05:00.000Z', 'hello',"
            " 'app', 'INFO', 'stirring')"
        )

    await services.db.write(insert)


def read_zip(path: Any) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(path) as archive:
        tables = {}
        for name in archive.namelist():
            if name.endswith(".csv"):
                text = archive.read(name).decode("utf-8")
                tables[name] = list(csv.DictReader(io.StringIO(text)))
        return tables


async def export(
    client: httpx.AsyncClient, services: Services, body: dict[str, Any], *, path: str = "export"
) -> dict[str, Any]:
    response = await client.post(f"/api/datasets/exportable/{path}", json=body)
    return await poll_task(client, services, response)


async def test_exportable_datasets_and_overrides(
    client: httpx.AsyncClient, settings: LeaderSettings
) -> None:
    """It should list the built-in datasets, a user's addition, and skip a broken file."""
    names = [d["dataset_name"] for d in (await client.get("/api/datasets/exportable")).json()]
    for expected in ("pioreactor_unit_activity_data", "od_readings", "logs", "growth_rates"):
        assert expected in names
    folder = settings.data_dir / "exportable_datasets"
    folder.mkdir()
    (folder / "mine.yaml").write_text(
        "dataset_name: od_by_unit\ndisplay_name: Mine\ndescription: x\n"
        "query: SELECT pioreactor_unit, COUNT(*) AS n FROM od_readings GROUP BY 1\n"
        "has_experiment: false\nhas_unit: true\n"
    )
    (folder / "broken.yaml").write_text("dataset_name: [\n")
    listed = {d["dataset_name"]: d for d in (await client.get("/api/datasets/exportable")).json()}
    assert listed["od_by_unit"]["query"].startswith("SELECT")
    assert "broken" not in listed


async def test_preview(client: httpx.AsyncClient, services: Services) -> None:
    """It should show the first rows, and refuse unknown datasets and bad n_rows."""
    await seed(client, services)
    rows = (await client.get("/api/datasets/exportable/od_readings/preview?n_rows=2")).json()
    assert [row["od_reading"] for row in rows] == [0.10, 0.20]
    assert set(rows[0]) == {
        "experiment",
        "pioreactor_unit",
        "timestamp",
        "od_reading",
        "angle",
        "channel",
    }
    assert (await client.get("/api/datasets/exportable/nope/preview")).status_code == 404
    for bad in ("0", "101", "x"):
        response = await client.get(f"/api/datasets/exportable/od_readings/preview?n_rows={bad}")
        assert response.status_code == 400 and "n_rows" in response.json()["cause"]


async def test_export_contents_row_by_row(
    client: httpx.AsyncClient, services: Services, settings: LeaderSettings
) -> None:
    """It should write one CSV per experiment and unit with the database's rows and extras."""
    await seed(client, services)
    done = await export(
        client,
        services,
        {
            "datasets": ["od_readings", "logs"],
            "experiments": ["exp1"],
            "partition_by_experiment": True,
            "partition_by_unit": True,
        },
    )
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert result["result"] is True and result["msg"] == "Finished"
    assert result["rows"] == {"od_readings": 3, "logs": 1}
    assert done["progress"]["rows_written"] == 4

    tables = read_zip(settings.exports_dir / result["filename"])
    by_partition = {
        name.split("-")[2]: rows for name, rows in tables.items() if name.startswith("od_readings/")
    }
    assert sorted(by_partition) == ["pio01", "pio02"]
    pio01 = by_partition["pio01"]
    assert [(r["experiment"], r["timestamp"], float(r["od_reading"])) for r in pio01] == [
        ("exp1", "2026-01-01T10:00:00.000Z", 0.10),
        ("exp1", "2026-01-01T11:00:00.000Z", 0.20),
    ]
    assert list(pio01[0]) == [
        "experiment",
        "pioreactor_unit",
        "timestamp",
        "od_reading",
        "angle",
        "channel",
        "timestamp_localtime",
        "hours_since_experiment_created",
    ]
    assert all(
        name.startswith(("od_readings/od_readings-exp1-", "logs/logs-exp1-")) for name in tables
    )
    with zipfile.ZipFile(settings.exports_dir / result["filename"]) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["datasets"]["od_readings"]["rows"] == 3

    download = await client.get(f"/exports/{result['filename']}")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert download.content == (settings.exports_dir / result["filename"]).read_bytes()


async def test_newer_body_and_time_zones(
    client: httpx.AsyncClient, services: Services, settings: LeaderSettings
) -> None:
    """It should accept `experiment`, and bound times given in any explicit time zone."""
    await seed(client, services)
    done = await export(
        client,
        services,
        {
            "datasets": ["od_readings"],
            "experiment": "exp1",
            # 11:15+01:00 is 10:15Z, 12:00+01:00 is 11:00Z (inclusive)
            "start_time": "2026-01-01T11:15:00+01:00",
            "end_time": "2026-01-01T12:00:00+01:00",
        },
    )
    tables = read_zip(settings.exports_dir / done["result"]["filename"])
    (rows,) = tables.values()
    assert [r["timestamp"] for r in rows] == [
        "2026-01-01T10:30:00.000Z",
        "2026-01-01T11:00:00.000Z",
    ]
    assert next(iter(tables)).startswith("od_readings/od_readings-all_experiments-all_units-")


async def test_all_experiments_in_one_file(
    client: httpx.AsyncClient, services: Services, settings: LeaderSettings
) -> None:
    """It should export every experiment when the list is empty."""
    await seed(client, services)
    done = await export(client, services, {"datasets": ["od_readings"], "experiments": []})
    (rows,) = read_zip(settings.exports_dir / done["result"]["filename"]).values()
    assert len(rows) == len(ROWS)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"datasets": ["od_readings"], "start_time": "2026-01-01T10:00:00"}, 400, "start_time"),
        ({"datasets": ["od_readings"], "end_time": "yesterday"}, 400, "end_time"),
        ({"datasets": []}, 400, "datasets"),
        ({"datasets": ["nope"]}, 400, "nope"),
        ({"datasets": ["od_readings"], "experiments": ["missing"]}, 404, "missing"),
        ({"datasets": ["od_readings"], "experiment": "e", "experiments": ["e"]}, 400, "experiment"),
        ({"datasets": ["od_readings"], "partition_by_unit": "yes"}, 400, "partition_by_unit"),
        (
            {
                "datasets": ["od_readings"],
                "start_time": "2026-01-02T00:00:00Z",
                "end_time": "2026-01-01T00:00:00Z",
            },
            400,
            "start_time",
        ),
    ],
)
async def test_bad_export_requests(
    client: httpx.AsyncClient,
    services: Services,
    settings: LeaderSettings,
    body: dict,
    status: int,
    field: str,
) -> None:
    """It should refuse a bad export request, naming the field, and start nothing."""
    response = await client.post("/api/datasets/exportable/export", json=body)
    assert response.status_code == status, response.text
    assert field in response.json()["cause"]
    assert not settings.exports_dir.exists() or not any(settings.exports_dir.iterdir())


async def test_old_exports_are_removed(
    client: httpx.AsyncClient, services: Services, settings: LeaderSettings
) -> None:
    """It should remove exports past their retention, and no export's partial file."""
    await seed(client, services)
    settings.exports_dir.mkdir(parents=True)
    old = settings.exports_dir / "export_20200101000000_00000000.zip"
    old.write_bytes(b"x")
    long_ago = time.time() - 2 * settings.export_retention_seconds
    os.utime(old, (long_ago, long_ago))
    # Another export, still being written: it must not lose its file to this one's clean-up.
    running = settings.exports_dir / "export_20200101000000_11111111.zip.tmp"
    running.write_bytes(b"x")
    os.utime(running, (long_ago, long_ago))
    done = await export(client, services, {"datasets": ["logs"]})
    assert sorted(p.name for p in settings.exports_dir.iterdir()) == sorted(
        [done["result"]["filename"], running.name]
    )


async def test_partial_exports_of_an_earlier_run_go_at_start_up(
    settings: LeaderSettings, clock: ManualClock, bus: RecordingBus, units: FakeUnits
) -> None:
    """It should delete what a killed leader's exports left, and keep finished exports."""
    settings.exports_dir.mkdir(parents=True)
    cut_off = settings.exports_dir / "export_20200101000000_22222222.zip.tmp"
    cut_off.write_bytes(b"half a zip")
    finished = settings.exports_dir / "export_20200101000000_33333333.zip"
    finished.write_bytes(b"a zip")
    async with exporting_app(settings, Overrides(clock=clock, bus=bus, unit_transport=units)):
        assert sorted(p.name for p in settings.exports_dir.iterdir()) == [finished.name]


async def test_unknown_download_is_404(client: httpx.AsyncClient) -> None:
    """It should refuse names that are not finished exports."""
    for name in ("export_20260101000000_deadbeef.zip", "..%2Fconfig.ini", "config.ini"):
        assert (await client.get(f"/exports/{name}")).status_code == 404


async def test_export_to_usb(
    client: httpx.AsyncClient, services: Services, settings: LeaderSettings
) -> None:
    """It should refuse without a drive, and copy the export to the drive when there is one."""
    await seed(client, services)
    missing = await client.post(
        "/api/datasets/exportable/export-to-usb", json={"datasets": ["logs"]}
    )
    assert missing.status_code == 409
    settings.usb_dir.mkdir()
    done = await export(client, services, {"datasets": ["logs"]}, path="export-to-usb")
    copied = settings.usb_dir / "pioreactor" / "exports" / done["result"]["filename"]
    assert done["result"]["path"] == str(copied)
    assert copied.read_bytes() == (settings.exports_dir / done["result"]["filename"]).read_bytes()


@contextlib.asynccontextmanager
async def exporting_app(
    settings: LeaderSettings, overrides: Overrides
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """An app of its own, for tests that change the settings or the file system's behaviour."""
    app: FastAPI = create_app(settings, overrides)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://leader.test") as client:
            yield client, app.state.services


async def failed_export(client: httpx.AsyncClient, services: Services) -> dict[str, Any]:
    response = await client.post("/api/datasets/exportable/export", json={"datasets": ["logs"]})
    assert response.status_code == 202
    await services.tasks.wait_idle()
    final: dict[str, Any] = (await client.get(response.json()["result_url_path"])).json()
    assert final["status"] == "failed"
    return final


async def test_not_enough_disk_leaves_nothing(
    settings: LeaderSettings, clock: ManualClock, bus: RecordingBus, units: FakeUnits
) -> None:
    """It should fail clearly when the disk is too full and leave no file behind."""
    roomy = Overrides(clock=clock, bus=bus, unit_transport=units)
    async with exporting_app(replace(settings, export_min_free_bytes=2**62), roomy) as (c, s):
        final = await failed_export(c, s)
    assert "MB free" in final["cause"]
    assert list(settings.exports_dir.iterdir()) == []


class FillingDisk:
    """Files that take ``room`` bytes in all, then fail as a full disk does (ENOSPC)."""

    def __init__(self, room: int) -> None:
        self.room = room

    def __call__(self, path: Path) -> BinaryIO:
        disk = self

        class Filling(io.FileIO):
            def write(self, data: Any) -> int:
                if len(data) > disk.room:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
                disk.room -= len(data)
                return super().write(data)

        return io.BufferedWriter(Filling(path, "w"))


async def test_disk_filling_up_during_an_export_leaves_nothing(
    client: httpx.AsyncClient,
    settings: LeaderSettings,
    clock: ManualClock,
    bus: RecordingBus,
    units: FakeUnits,
) -> None:
    """It should fail with a disk error when the disk fills part-way, keep no partial file, and
    export normally once there is room again."""
    disk = FillingDisk(room=300)
    overrides = Overrides(clock=clock, bus=bus, unit_transport=units, export_opener=disk)
    async with exporting_app(settings, overrides) as (client, services):
        await seed(client, services)
        final = await failed_export(client, services)
        assert final["error"] == "Export failed."
        assert "disk filled up" in final["cause"]
        assert disk.room <= 300  # it did write, then the disk was full
        assert list(settings.exports_dir.iterdir()) == []
        disk.room = 10**9
        done = await export(client, services, {"datasets": ["logs"]})
        assert done["status"] == "succeeded"
        assert [p.name for p in settings.exports_dir.iterdir()] == [done["result"]["filename"]]
