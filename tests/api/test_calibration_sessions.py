"""A guided pump calibration driven through the leader's API to a real (in-process) worker with
simulated hardware: field rules, the pump really moving water, the saved and active result,
its use for dosing, and its survival across a worker restart."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.clock import SystemClock
from pioleader.services import Services
from pioleader.settings import MqttSettings
from pioleader.unit.hardware import CultureParameters, SimulatedHardware
from pioleader.unit.services import UnitServices
from pioleader.worker.app import WorkerOverrides, WorkerSettings, create_worker_app
from tests.conftest import UNIT_PORTS, add_worker, poll_task
from tests.fakes import AsgiUnits
from tests.unit.conftest import run_body

SESSIONS = "/api/workers/pio01/calibrations/sessions"
DURATIONS = [0.4, 0.8, 1.2]


@pytest.fixture
def hardware() -> SimulatedHardware:
    return SimulatedHardware(SystemClock(), CultureParameters.for_unit("pio01", capacity_ml=40.0))


class Worker:
    """pio01 as an in-process app behind the leader's transport, which can be restarted."""

    def __init__(self, data_dir: Path, mqtt_port: int, hardware: SimulatedHardware) -> None:
        self.settings = WorkerSettings(
            name="pio01", data_dir=data_dir, port=0, mqtt=MqttSettings(port=mqtt_port)
        )
        self.hardware = hardware
        self.units = AsgiUnits()
        self._running = contextlib.AsyncExitStack()

    @property
    def unit(self) -> UnitServices:
        services: UnitServices = self.units.apps[UNIT_PORTS["pio01"]].state.unit
        return services

    def client(self) -> httpx.AsyncClient:
        """A client of the worker's own unit API."""
        app = self.units.apps[UNIT_PORTS["pio01"]]
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pio01")

    async def start(self) -> None:
        app = create_worker_app(self.settings, WorkerOverrides(hardware=self.hardware))
        await self._running.enter_async_context(app.router.lifespan_context(app))
        self.units.apps[UNIT_PORTS["pio01"]] = app

    async def stop(self) -> None:
        self.units.apps.clear()
        await self._running.aclose()


@pytest.fixture
async def worker(
    tmp_path: Path, broker: Mosquitto, hardware: SimulatedHardware
) -> AsyncIterator[Worker]:
    worker = Worker(tmp_path / "pio01", broker.port, hardware)
    await worker.start()
    yield worker
    await worker.stop()


@pytest.fixture
def units(worker: Worker) -> AsgiUnits:
    return worker.units


async def step(client: httpx.AsyncClient, session_id: str, **inputs: Any) -> dict[str, Any]:
    response = await client.post(f"{SESSIONS}/{session_id}/inputs", json={"inputs": inputs})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def refused(client: httpx.AsyncClient, session_id: str, fragment: str, **inputs: Any) -> None:
    """The inputs are a 400 naming the problem, and the session has not moved."""
    before = (await client.get(f"{SESSIONS}/{session_id}")).json()
    response = await client.post(f"{SESSIONS}/{session_id}/inputs", json={"inputs": inputs})
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"], response.json()
    assert (await client.get(f"{SESSIONS}/{session_id}")).json() == before


async def test_pump_session_through_the_leader(
    client: httpx.AsyncClient,
    services: Services,
    worker: Worker,
    hardware: SimulatedHardware,
) -> None:
    """It should end with an active calibration within 5 % of the pump's true flow, which the
    next dosing uses, and which a worker restart keeps."""
    await add_worker(client, "pio01")
    started = await client.post(
        SESSIONS, json={"target_device": "media_pump", "protocol_name": "duration_based"}
    )
    assert started.status_code == 201, started.text
    session_id = started.json()["session"]["session_id"]
    assert started.json()["step"]["step_id"] == "intro"

    settings = await step(client, session_id)
    assert settings["step"]["step_id"] == "settings"
    assert {f["name"] for f in settings["step"]["fields"]} == {"dc", "hz", "durations_s"}
    await refused(client, session_id, "'dc' must be a number", dc="fast")
    await refused(client, session_id, "'dc' must be <= 100", dc=150)
    await refused(client, session_id, "'durations_s[1]' must be >= 0.1", durations_s=[1, 0])
    await refused(client, session_id, "between 2 and 12", durations_s=[1.0])
    await refused(client, session_id, "Unknown input 'speed'", speed=3)

    answer = await step(client, session_id, dc=100, durations_s=DURATIONS)
    for duration in DURATIONS:
        assert answer["step"]["step_id"] == "run_pump"
        assert f"{duration:g} s" in answer["step"]["title"]
        before = hardware.snapshot().volume_ml
        answer = await step(client, session_id)
        moved = hardware.snapshot().volume_ml - before  # what a scale would weigh
        assert moved > 0  # the pump really ran
        assert answer["step"]["step_id"] == "record_volume"
        await refused(client, session_id, "Missing 'volume_ml'")
        await refused(client, session_id, "'volume_ml' must be >= 0", volume_ml=-1)
        answer = await step(client, session_id, volume_ml=round(moved, 3))

    assert answer["session"]["status"] == "complete"
    assert answer["step"]["step_type"] == "result"
    name = answer["session"]["result"]["calibration_name"]
    over = await client.post(f"{SESSIONS}/{session_id}/inputs", json={"inputs": {}})
    assert over.status_code == 409

    active = await poll_task(
        client, services, await client.get("/api/workers/pio01/active_calibrations")
    )
    calibration = active["result"]["pio01"]["value"]["media_pump"]
    assert calibration["calibration_name"] == name and calibration["is_active"] is True
    slope = calibration["curve_data_"]["coefficients"][0]
    true_flow = hardware.model.pump_flow("media", 100)
    assert abs(slope - true_flow) / true_flow < 0.05, (slope, true_flow)
    # Without the calibration, add_media would use the nominal 0.75 mL/s: far enough off that
    # the check below tells the two apart.
    assert abs(true_flow - 0.75) / 0.75 > 0.05

    # The next add_media of 1 mL runs the pump for the time the calibration says.
    before = hardware.snapshot().volume_ml
    async with worker.client() as unit_api:
        started = await unit_api.post(
            "/unit_api/jobs/run/job_name/add_media", json=run_body(ml=1.0)
        )
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 20
        while (await unit_api.get("/unit_api/jobs/running")).json() or not (
            hardware.snapshot().volume_ml > before
        ):
            assert time.monotonic() < deadline, "add_media did not finish"
            await asyncio.sleep(0.05)
    assert abs(hardware.snapshot().volume_ml - before - 1.0) < 0.05

    # A restarted worker still has the file and its active pointer.
    await worker.stop()
    await worker.start()
    again = await poll_task(
        client, services, await client.get("/api/workers/pio01/active_calibrations")
    )
    assert again["result"]["pio01"]["value"]["media_pump"]["calibration_name"] == name
