"""Faults on real processes: a worker killed in the middle of a fan-out, the broker restarted
while a job publishes and the ingester writes, the leader killed in the middle of writes and of
an export, and many clients at once."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from pioleader.settings import load_leader_settings
from pioleader.up import DEMO_EXPERIMENT, SimulatedCluster
from tests.integration.conftest import LeaderProcess, poll_until_done, task_result

pytestmark = pytest.mark.integration

E = DEMO_EXPERIMENT


async def until(condition: Callable[[], Awaitable[bool]], what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {within} s"
        await asyncio.sleep(0.05)


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def worker(cluster: SimulatedCluster, name: str) -> int:
    return next(p.popen.pid for p in cluster.processes if p.name == name)


async def test_a_worker_killed_mid_fan_out_fails_alone(
    cluster: SimulatedCluster, api: httpx.AsyncClient
) -> None:
    """It should answer for every unit when one dies while its request is in flight."""
    pid = worker(cluster, "pio02")
    os.killpg(pid, signal.SIGSTOP)  # it accepts the request and never answers...
    try:
        pending = await api.get("/api/units/$broadcast/versions/app")
        assert pending.status_code == 202
        url = pending.json()["result_url_path"]

        async def in_flight() -> bool:
            return bool((await api.get(url)).json()["status"] == "running")

        await until(in_flight, "the fan-out")
    finally:
        os.killpg(pid, signal.SIGKILL)  # ...and dies with the request still open
    versions = (await poll_until_done(api, url))["result"]
    assert versions["pio01"]["ok"] and versions["leader"]["ok"]
    assert versions["pio02"]["ok"] is False
    assert versions["pio02"]["retryable"] is True
    assert (await api.get("/api/workers")).status_code == 200


def od_timestamps(database: Path, unit: str) -> list[datetime]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT timestamp FROM od_readings WHERE experiment = ? AND pioreactor_unit = ?"
            " AND channel = '2' ORDER BY timestamp",
            (E, unit),
        ).fetchall()
    return [datetime.fromisoformat(row[0].replace("Z", "+00:00")) for row in rows]


async def test_no_reading_is_lost_across_a_broker_restart(
    cluster: SimulatedCluster, api: httpx.AsyncClient
) -> None:
    """It should store every reading a job took while the broker was down."""
    interval = 0.25
    database = load_leader_settings(cluster.data_dir).database_path
    started = await task_result(
        api,
        await api.post(
            f"/api/workers/pio01/jobs/run/job_name/od_reading/experiments/{E}",
            json={"options": {"interval": interval}},
        ),
    )
    assert started["pio01"]["ok"], started

    async def stored(count: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(await asyncio.to_thread(od_timestamps, database, "pio01")) >= count

        return check

    await until(await stored(4), "the first readings")
    broker = cluster.broker
    assert broker is not None
    broker.stop()
    # The outage itself (not a wait for something): readings go on being taken meanwhile.
    outage = 16 * interval
    await asyncio.sleep(outage)
    broker.start()  # same port and persistence, as after a restart of the service
    before = len(await asyncio.to_thread(od_timestamps, database, "pio01"))
    await until(await stored(before + 16), "readings after the restart")

    stamps = await asyncio.to_thread(od_timestamps, database, "pio01")
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(stamps)]
    # A lost outage shows as a gap as long as the outage; a busy machine delays readings by
    # far less than half of it.
    assert max(gaps) < outage / 2, f"a gap of {max(gaps):.2f} s: readings were lost"


async def test_the_leader_killed_mid_write_keeps_a_whole_database(
    start_leader: Callable[[], LeaderProcess], http: httpx.AsyncClient
) -> None:
    """It should keep every acknowledged write and an intact database after a SIGKILL."""
    leader = start_leader()
    acknowledged: list[str] = []

    async def create(name: str) -> None:
        try:
            response = await http.post(f"{leader.url}/api/experiments", json={"experiment": name})
        except httpx.HTTPError:
            return  # cut off by the kill: it may or may not have been written
        if response.status_code == 201:
            acknowledged.append(name)

    writers = [asyncio.create_task(create(f"exp{n:04d}")) for n in range(400)]

    async def some_written() -> bool:
        return len(acknowledged) >= 50

    await until(some_written, "the first writes")
    await asyncio.to_thread(leader.kill)
    await asyncio.gather(*writers)
    assert len(acknowledged) < 400, "every write finished before the kill; nothing was tested"

    settings = load_leader_settings(leader.data_dir)
    assert integrity(settings.database_path) == "ok"
    assert integrity(settings.task_database_path) == "ok"
    leader.start()
    listed = (await http.get(f"{leader.url}/api/experiments")).json()
    assert set(acknowledged) <= {row["experiment"] for row in listed}


def add_readings(database: Path, rows: int) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("INSERT INTO experiments (experiment, created_at) VALUES ('big', '')")
        connection.executemany(
            "INSERT INTO od_readings (experiment, pioreactor_unit, timestamp, od_reading, angle,"
            " channel) VALUES ('big', 'pio01', ?, ?, 90, '2')",
            (
                (
                    f"2026-01-01T{n // 3_600_000 % 24:02d}:{n // 60_000 % 60:02d}:"
                    f"{n // 1000 % 60:02d}.{n % 1000:03d}Z",
                    n / rows,
                )
                for n in range(rows)
            ),
        )


async def test_the_leader_killed_mid_export_leaves_no_partial_file(
    start_leader: Callable[[], LeaderProcess], http: httpx.AsyncClient
) -> None:
    """It should fail the cut-off export, remove its partial file at the next start and export
    normally after."""
    leader = start_leader()
    leader.stop()
    settings = load_leader_settings(leader.data_dir)
    await asyncio.to_thread(add_readings, settings.database_path, 600_000)
    leader.start()
    body = {"datasets": ["od_readings"], "experiments": ["big"]}
    pending = await http.post(f"{leader.url}/api/datasets/exportable/export", json=body)
    assert pending.status_code == 202, pending.text
    url = f"{leader.url}{pending.json()['result_url_path']}"

    async def writing() -> bool:
        partials = list(settings.exports_dir.glob("*.zip.tmp"))
        return bool(partials) and partials[0].stat().st_size > 0

    await until(writing, "the export's first bytes")
    await asyncio.to_thread(leader.kill)
    assert list(settings.exports_dir.glob("*.zip.tmp")), "the export finished before the kill"

    leader.start()
    cut = (await http.get(url)).json()
    assert cut["status"] == "failed"
    assert list(settings.exports_dir.glob("*.zip.tmp")) == []
    assert integrity(settings.database_path) == "ok"
    again = await http.post(f"{leader.url}/api/datasets/exportable/export", json=body)
    done = await poll_until_done(http, f"{leader.url}{again.json()['result_url_path']}", within=120)
    assert done["status"] == "succeeded"
    assert done["result"]["rows"] == {"od_readings": 600_000}


async def test_two_hundred_clients_at_once(
    cluster: SimulatedCluster, api: httpx.AsyncClient
) -> None:
    """It should answer 200 simultaneous clients on experiments and time series, every one."""
    base = f"http://127.0.0.1:{cluster.leader_port}"
    paths = [
        "/api/experiments",
        f"/api/experiments/{E}",
        "/api/experiments/active",
        f"/api/experiments/{E}/time_series/od_readings?lookback=4",
        f"/api/experiments/{E}/time_series/growth_rates",
        f"/api/workers/pio01/experiments/{E}/time_series/temperature_readings",
        f"/api/experiments/{E}/recent_logs",
        "/api/workers",
    ]
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)

    async def one_client(n: int) -> int:
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            return (await client.get(paths[n % len(paths)])).status_code

    statuses = await asyncio.gather(*(one_client(n) for n in range(200)))
    assert statuses == [200] * 200
