"""A guided pump calibration driven through the leader's API to a real (in-process) worker with
simulated hardware: field rules, the pump really moving water, the saved and active result,
its use for dosing, and its survival across a worker restart."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.clock import SystemClock
from pioleader.services import Services
from pioleader.settings import MqttSettings
from pioleader.unit.calibrations.usage import plan_pump_run, run_pump
from pioleader.unit.hardware import SimulatedHardware
from pioleader.unit.services import UnitServices
from pioleader.worker.app import WorkerOverrides, WorkerSettings, create_worker_app, culture_for
from tests.conftest import UNIT_PORTS, add_worker, poll_task
from tests.fakes import AsgiUnits

SESSIONS = "/api/workers/pio01/calibrations/sessions"
DURATIONS = [0.4, 0.8, 1.2]


@pytest.fixture
def hardware() -> SimulatedHardware:
    return SimulatedHardware(SystemClock(), culture_for("pio01", 1.0))


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
        before = hardware.pumped_ml.get("media_pump", 0.0)
        answer = await step(client, session_id)
        moved = hardware.pumped_ml["media_pump"] - before
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
    true_flow = hardware.pump_flow_ml_per_second(100)
    assert abs(slope - true_flow) / true_flow < 0.05, (slope, true_flow)

    # The next dosing of 1 mL runs the pump for the time the calibration says, moving ~1 mL.
    run = await plan_pump_run(worker.unit.calibrations, "media_pump", 1.0)
    before = hardware.pumped_ml["media_pump"]
    await run_pump(hardware, run.device, run.duty_cycle, run.seconds)
    assert abs(hardware.pumped_ml["media_pump"] - before - 1.0) < 0.05

    # A restarted worker still has the file and its active pointer.
    await worker.stop()
    await worker.start()
    again = await poll_task(
        client, services, await client.get("/api/workers/pio01/active_calibrations")
    )
    assert again["result"]["pio01"]["value"]["media_pump"]["calibration_name"] == name
